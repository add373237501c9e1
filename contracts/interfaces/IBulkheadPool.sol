// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC7540Deposit, IERC7540Operator, IERC7540Redeem, IERC7575} from "./IERC7540.sol";
import {IExecutionFees} from "./IExecutionFees.sol";

/// @notice What an LP request does once executed.
enum LpRequestKind {
    None,
    Deposit,
    Redeem
}

/// @notice An LP request, two slots. `amount` is the escrowed assets of a deposit or shares of a
/// redemption; `claimable` is set once it executed (its result is then the controller's to claim).
/// `settlementDelay` and `expiry` are the oracle's timing at creation, kept so that governance
/// cannot move a pending request's pinned reports (as the router does).
/// `executionFee / gasLimit` is the highest gas price its executor is paid at.
struct LpRequest {
    address controller;
    LpRequestKind kind;
    bool claimable;
    uint40 createdAt;
    uint32 gasLimit;
    uint8 settlementDelay;
    uint128 amount;
    uint96 executionFee;
    uint32 expiry;
}

/// @notice Everything the pool holds for LP requests, outside LP assets: the assets of pending
/// deposits and of executed, unclaimed redemptions (tokens), and the shares of pending redemptions
/// and of executed, unclaimed deposits (the pool's own share balance).
struct LpEscrow {
    uint128 pendingDepositAssets;
    uint128 claimableDepositShares;
    uint128 pendingRedeemShares;
    uint128 claimableRedeemAssets;
}

/// @notice A controller's executed, unclaimed LP requests of one direction, aggregated: the
/// assets and shares they exchanged at their own fill prices.
struct LpClaim {
    uint128 assets;
    uint128 shares;
}

/// @title IBulkheadPool
/// @notice ERC-4626 vault of the collateral token: LPs are the counterparty of trader PnL. It
/// holds the LP, insurance-fund and protocol-fee tokens; the engine keeps the accounting.
/// @dev Two modes, fixed by the engine's settler (set once). Without one (local development
/// configurations) it is the synchronous ERC-4626 vault, priced at the push feeds. With one it is
/// a fully asynchronous ERC-7540 vault (DESIGN.md "Requests and price reports"): deposits and
/// redemptions are requests (assets or shares escrowed here, an execution fee paid) that anyone
/// executes later at the Data Streams reports their creation pins, and `deposit`/`mint`/`redeem`/
/// `withdraw` only claim what executed requests made claimable. No LP flow then fills at a price
/// the LP could know when committing. Request ids are unique (never 0); claims take no id, so
/// a controller's claimable results aggregate, each at its own fill price: a claim of part of
/// them splits the aggregate pro rata against the claimer, the last claim takes exactly the rest,
/// and `claimable*Request(id, controller)` is the executed request's amount capped at what the
/// controller has left to claim. A request's escrow and fee return to its controller on
/// cancellation; the synchronous entry points remain only in synchronous mode.
interface IBulkheadPool is IERC4626, IERC7540Operator, IERC7540Deposit, IERC7540Redeem, IERC7575, IERC165, IExecutionFees {
    /// @notice The engine is already bound.
    error EngineAlreadySet();
    /// @notice The caller is not the engine (or, for `bindEngine`, not the deployer).
    error PoolUnauthorized(address caller);
    /// @notice The engine is not bound yet.
    error EngineNotSet();
    /// @notice Deposits are refused while the pool valuation is negative, or zero with `shares`
    /// outstanding: capped trader claims and socialised losses exceed LP assets and fees.
    error PoolInsolvent(int256 valuation, uint256 shares);
    /// @notice LP requests need the engine's settler: without one the pool is synchronous ERC-4626.
    error PoolIsSynchronous();
    /// @notice The pool is asynchronous (ERC-7540): previews have no price to use, and LP flows
    /// go through requests.
    error PoolIsAsynchronous();
    /// @notice The caller is neither `account` nor an operator `account` approved.
    error NotOperator(address account, address caller);
    /// @notice No pending LP request of this kind has this id (never created, executed or cancelled).
    error RequestNotFound(uint256 requestId);
    /// @notice The request can no longer be executed (created + expiry has passed); it can be cancelled.
    error RequestExpired(uint256 requestId, uint256 expiresAt, uint256 blockTimestamp);
    /// @notice The request cannot be cancelled before it expires: until then it may only be executed.
    error RequestNotExpired(uint256 requestId, uint256 expiresAt, uint256 blockTimestamp);
    /// @notice A push-feed execution of a redemption opens at created + pushFallbackDelay.
    error PushFallbackNotOpen(uint256 requestId, uint256 opensAt, uint256 blockTimestamp);
    /// @notice Deposits never execute at push-feed rounds; they expire and are cancelled.
    error PushFallbackNotForDeposits(uint256 requestId);
    /// @notice The market has open interest, so its price counts, but the execution brought none.
    error MarketPriceMissing(uint256 marketId);
    /// @notice A zero amount was requested.
    error ZeroAmount();
    /// @notice An amount does not fit the request's storage.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice A governance value is outside its hard-coded bounds.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);

    /// @notice The pool was bound to its engine.
    event EngineBound(address indexed engine);
    /// @notice An LP request was created (besides the ERC-7540 `DepositRequest`/`RedeemRequest`):
    /// its execution fee, pinned report time and last executable second.
    event LpRequestCreated(uint256 indexed requestId, uint256 executionFee, uint256 settlesAt, uint256 expiresAt);
    /// @notice An LP request executed: deposit `assets` became `shares` claimable by `controller`, or
    /// redeemed `shares` became `assets` claimable; the executor was paid `executorFee` and the
    /// controller refunded `refund` of the execution fee.
    event LpRequestExecuted(
        uint256 indexed requestId,
        address indexed controller,
        address indexed executor,
        uint256 assets,
        uint256 shares,
        uint256 executorFee,
        uint256 refund
    );
    /// @notice An LP request was cancelled and its escrow returned to `controller`: by its
    /// controller or operator after expiry (`reason` empty, the whole fee refunded), or by an
    /// execution the engine would refuse at the pinned prices (`reason` = that revert's data).
    event LpRequestCancelled(
        uint256 indexed requestId, address indexed controller, address indexed by, bytes reason, uint256 executorFee, uint256 refund
    );
    /// @notice The execution gas LP requests of `kind` are quoted for changed.
    event LpExecutionGasSet(LpRequestKind indexed kind, uint256 gasLimit);

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

    // ---------------------------------------------------------------- LP requests (ERC-7540)

    /// @notice Executes deposit request `requestId` with the reports its creation pins; anyone may
    /// call. `reports[i]` is market i's signed Data Streams report whose window contains created +
    /// settlementDelay (empty for a market without open interest, whose entry is not read). The
    /// pool is valued at those reports, each market side at the end of the spread that values LP
    /// shares higher (longs at the bid, shorts at the ask: no lower than fair), and the escrowed
    /// assets become `assets * (supply + 10^6) / (value + 1)` shares, rounded down, claimable by the
    /// controller. While the protocol is paused or the valuation is degenerate ({PoolInsolvent}) the
    /// execution cancels the request instead: escrow back to the controller, the executor paid.
    /// An invalid report always reverts with the check it failed.
    /// @return filled False when the request was cancelled instead.
    function executeDeposit(uint256 requestId, bytes[] calldata reports) external returns (bool filled);

    /// @notice Executes redeem request `requestId` like {executeDeposit}, valued at the other end
    /// of each spread (longs at the ask, shorts at the bid: no higher than fair). The escrowed
    /// shares are burned and `shares * (value + 1) / (supply + 10^6)` assets, rounded down, become
    /// claimable, within free liquidity (LP assets - reserved); beyond it, or at a degenerate
    /// valuation, the execution cancels the request (shares back to the controller).
    function executeRedeem(uint256 requestId, bytes[] calldata reports) external returns (bool filled);

    /// @notice Executes redeem request `requestId` at the first push-feed round of each market
    /// with open interest published after its creation (`roundIds[i]`, checked by the oracle),
    /// once created + pushFallbackDelay has passed; anyone may call. No LP depends on report
    /// access to leave. Both sides of a market use the round's price.
    function executeRedeemAtPushRounds(uint256 requestId, uint80[] calldata roundIds) external returns (bool filled);

    /// @notice Cancels an expired request (after created + the expiry it was made under;
    /// controller or operator) and returns its escrow and its whole execution fee to the controller.
    function cancelRequest(uint256 requestId) external;

    /// @notice The request (kind None when it never existed or was cancelled).
    function lpRequest(uint256 requestId) external view returns (LpRequest memory);
    /// @notice The id the next request will get (ids start at 1).
    function nextRequestId() external view returns (uint256);
    /// @notice The pool's escrow totals.
    function escrow() external view returns (LpEscrow memory);
    /// @notice `controller`'s claimable deposits (assets paid, shares to claim) and redemptions
    /// (assets to claim, shares redeemed).
    function claimable(address controller) external view returns (LpClaim memory deposits, LpClaim memory redemptions);
    /// @notice Whether the pool is asynchronous (the engine has a settler).
    function isAsync() external view returns (bool);
    /// @notice Where reports are verified and the request timing is set: the settler's oracle.
    function oracle() external view returns (address);
    /// @notice The execution gas requests of `kind` are quoted for.
    function executionGas(LpRequestKind kind) external view returns (uint256);
    /// @notice The execution fee a request of `kind` needs at `gasPrice`.
    function quoteExecutionFee(LpRequestKind kind, uint256 gasPrice) external view returns (uint256);
    /// @notice Sets the execution gas of `kind` (engine owner), within [MIN_EXECUTION_GAS, MAX_EXECUTION_GAS].
    function setExecutionGas(LpRequestKind kind, uint256 gasLimit) external;
}
