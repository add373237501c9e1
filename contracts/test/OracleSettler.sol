// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBulkheadOracle} from "../interfaces/IBulkheadOracle.sol";

/// @notice Test stand-in for the request router as the engine's settler: it only tells the pool
/// which oracle verifies reports (trades still need the router itself).
contract OracleSettler {
    IBulkheadOracle public immutable oracle;

    constructor(IBulkheadOracle oracle_) {
        oracle = oracle_;
    }
}
