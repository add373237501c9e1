// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title IBulkheadPool
/// @notice ERC-4626 vault of the collateral token: LPs are the counterparty of trader PnL. It
/// holds the LP, insurance-fund and protocol-fee tokens; the engine keeps the accounting.
interface IBulkheadPool is IERC4626 {
    /// @notice The engine is already bound.
    error EngineAlreadySet();
    /// @notice The caller is not the engine (or, for `bindEngine`, not the deployer).
    error PoolUnauthorized(address caller);
    /// @notice The engine is not bound yet.
    error EngineNotSet();

    /// @notice The pool was bound to its engine.
    event EngineBound(address indexed engine);

    /// @notice The engine allowed to move tokens out of the pool.
    function engine() external view returns (address);
    /// @notice Binds the engine once. Deployer only.
    function bindEngine(address engine) external;
    /// @notice Pays `amount` of the asset to `to`. Engine only.
    function pay(address to, uint256 amount) external;
}
