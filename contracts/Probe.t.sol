// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
import {Probe} from "./Probe.sol";
contract ProbeTest { Probe p; function setUp() public { p = new Probe(); } function testFuzz_f(uint128 x) public view { require(p.f(x) == uint256(x) + 1); } }
