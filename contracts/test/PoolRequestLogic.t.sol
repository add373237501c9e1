// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolRequestLogic} from "../libraries/PoolRequestLogic.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice A controller's aggregated claim (issue 12, ERC-7540 claims) splits against the claimer
/// and never pays out more than it holds, however it is claimed; a deposit then a redemption at
/// one valuation never returns more than was put in.
contract PoolRequestLogicTest is BaseTest {
    uint256 internal constant VIRTUAL_SHARES = 1e6;

    /// @dev Claiming a claim of (total, other) in two parts: by `part` rounded down, then the rest.
    function testFuzz_claimParts_takeExactlyTheClaim_neverMore(uint256 total, uint256 other, uint256 part) public pure {
        total = bound(total, 1, type(uint128).max);
        other = bound(other, 0, type(uint128).max);
        part = bound(part, 0, total);
        uint256 down = PoolRequestLogic.claimPartDown(part, total, other);
        uint256 up = PoolRequestLogic.claimPartUp(part, total, other);
        assertLe(down, other, "part down exceeds the claim");
        assertLe(up, other, "part up exceeds the claim");
        assertLe(down, up, "down above up");
        assertLe(up - down, 1, "up and down differ by more than a unit");
        // The rest of the claim after a first part pays exactly what is left.
        uint256 rest = PoolRequestLogic.claimPartDown(total - part, total - part, other - down);
        assertEq(down + rest, other, "parts do not sum to the claim");
        // Claiming by the other side (mint by shares, withdraw by assets) costs at least pro rata.
        if (part != total) assertGe(up * total, part * other, "part up below pro rata");
    }

    /// @dev No deposit-then-redemption gain at one valuation (DESIGN invariant 9), rounding included.
    function testFuzz_depositThenRedeem_atOneValuation_returnsAtMostTheAssets(uint256 assets, uint256 value, uint256 supply)
        public
        pure
    {
        assets = bound(assets, 0, 1e30);
        value = bound(value, 0, 1e30);
        supply = bound(supply, 0, 1e36);
        uint256 shares = PoolRequestLogic.toSharesDown(assets, value, supply, VIRTUAL_SHARES);
        uint256 back = PoolRequestLogic.toAssetsDown(shares, value + assets, supply + shares, VIRTUAL_SHARES);
        assertLe(back, assets, "round trip gained");
    }
}
