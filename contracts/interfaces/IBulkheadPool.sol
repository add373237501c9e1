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
    /// @notice Deposits are refused while the pool valuation is negative, or zero with `shares`
    /// outstanding: capped trader claims and socialised losses exceed LP assets and fees.
    error PoolInsolvent(int256 valuation, uint256 shares);

    /// @notice The pool was bound to its engine.
    event EngineBound(address indexed engine);

    /// @notice The engine allowed to move tokens out of the pool.
    function engine() external view returns (address);
    /// @notice Binds the engine once. Deployer only.
    function bindEngine(address engine) external;
    /// @notice Pays `amount` of the asset to `to`. Engine only.
    function pay(address to, uint256 amount) external;
    /// @notice LP value, signed: LP assets + accrued and pending borrow fees - Σ over market
    /// sides of min(U, R), where U is the side's unrealised trader PnL and R the max profit its
    /// positions reserved (what settlement can pay them). `totalAssets` is this floored at 0,
    /// and it prices deposits and withdrawals alike.
    /// @dev Bounds (per side, exact in the normal case): Σ min(pnl_i, cap_i) <= min(U, R), so,
    /// bad debt aside, this never overstates what capped settlement leaves the LPs, and it is at
    /// least lpAssets - reserved + fees. It is exact when no position of a side is past its cap, or
    /// all are. In the mixed regime (some past their cap, others not) it understates LP value by
    /// min(E, H) per side, E = Σ(pnl_i - cap_i) over positions past their cap and H = Σ(cap_i -
    /// pnl_i) over the others; a deposit made then gains at most its share of that once the
    /// positions past their cap close. A loss beyond a position's collateral (bad debt not yet
    /// liquidated) still counts as LP gain until liquidation: a withdrawal in that window is
    /// overpaid by at most its share of the unliquidated bad debt the insurance fund will not
    /// cover. Neither residual has an O(1) bound from linear per-side aggregates. Markets without
    /// open interest add only their accrued fees and their feed is not read; an invalid feed of
    /// a market with open interest reverts with its oracle error.
    function valuation() external view returns (int256);
}
