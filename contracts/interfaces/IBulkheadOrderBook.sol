// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IExecutionFees} from "./IExecutionFees.sol";

/// @notice What a trigger order does once its report crosses it.
enum OrderKind {
    None,
    LimitOpen,
    LimitIncrease,
    StopLoss,
    TakeProfit,
    TrailingStop
}

/// @notice Which position an order acts on: an open one, or the one a pending open will create.
/// `OpenRequest` orders name a router open request, `LimitOpenOrder` orders a limit-open order of
/// this book; they become executable once that open fills, and dead if it never does.
enum OrderTarget {
    Position,
    OpenRequest,
    LimitOpenOrder
}

/// @notice Why an order left the book without filling.
enum CancelReason {
    Owner,
    Sibling,
    Dead
}

/// @notice A trigger order: two slots for a full-size stop-loss or take-profit valid until
/// cancelled, three otherwise. `positionId` is the position (or the open request or limit order of
/// `target`), 0 for a limit open. `trigger` is the limit, stop or take-profit price (WAD), or the
/// trail in bps of a trailing stop. `observedAfter` is the placement (or last edit) time: only
/// reports observed after it fill the order. `executionFee` is the native fee escrowed for the
/// executor, `size` the size to open or add, or to take off (0: the whole position), `amount` the
/// escrowed collateral of a limit open or increase (the open fee comes out of it at the fill),
/// `validUntil` its expiry (0: until cancelled).
struct Order {
    address owner;
    OrderKind kind;
    bool isLong;
    uint8 marketId;
    uint32 positionId;
    uint32 observedAfter;
    OrderTarget target;
    uint96 trigger;
    uint96 acceptablePrice;
    uint64 executionFee;
    uint128 size;
    uint96 amount;
    uint32 validUntil;
}

/// @notice An automatic top-up of one position (DESIGN.md "Orders"). While the position's health
/// factor (equity / maintenance, WAD) at a fresh verified report is below `threshold`, anyone may
/// move `amount` from the owner's wallet into the position's vault, and is paid `executorFee` (in
/// the collateral token, also from the owner's wallet). Each execution spends `amount +
/// executorFee` of `budget`; `observedAfter` moves to the report of each top-up, so one report
/// tops up once. A top-up that would not lift equity to maintenance at the report is refused.
struct TopUpGuard {
    address owner;
    uint32 positionId;
    uint32 observedAfter;
    uint32 validUntil;
    uint64 threshold;
    uint96 amount;
    uint96 executorFee;
    uint96 budget;
}

/// @notice What the owner asks for when placing a trigger order. `positionId` is the position, the
/// open request or the limit-open order named by `target` (0 for a limit open); `marketId` and
/// `isLong` are read only for a limit open. `amount` (limit open or increase) is escrowed and
/// `msg.value` is the execution fee.
struct OrderParams {
    OrderKind kind;
    OrderTarget target;
    uint256 positionId;
    uint256 marketId;
    bool isLong;
    uint256 amount;
    uint256 size;
    uint256 trigger;
    uint256 acceptablePrice;
    uint256 validUntil;
}

/// @title IBulkheadOrderBook
/// @notice Trigger orders of Bulkhead (DESIGN.md "Orders"): limit open and increase, stop-loss,
/// take-profit, brackets (one cancels the other), trailing stops and automatic top-ups. Anyone may
/// execute an order with a Chainlink Data Streams report that was observed after the order was
/// placed and is at most `maxReportAge` old; the report is verified by the protocol's oracle, the
/// trade is settled by the router at the report's ask (buying) or bid (selling).
/// @dev Triggers compare the report's benchmark price with the order's price, except limit
/// orders, which compare the price they fill at (so the limit is also the fill bound). An order
/// whose trade the engine refuses, or whose fill would pass its acceptable price, does not fill:
/// the execution reverts and the order stays. An order whose position is gone (closed, liquidated,
/// or no longer the owner's to trade) can never fill; anyone may `prune` it, and is paid its gas
/// from the order's fee like an executor, the rest and any escrow returning to the owner. Ranges
/// are checked at placement against the push-feed price: a long's stop below it, its take-profit
/// and a short's stop above it, a long's limit below it and a short's above it.
interface IBulkheadOrderBook is IExecutionFees {
    // ---------------------------------------------------------------- errors

    /// @notice No live order or guard has this id.
    error OrderNotFound(uint256 orderId);
    /// @notice Only the order's owner may edit or cancel it.
    error NotOrderOwner(uint256 orderId, address caller);
    /// @notice The caller may not trade this position (not its owner or approved).
    error NotPositionOwner(uint256 positionId, address caller);
    /// @notice No open position has this id.
    error PositionNotFound(uint256 positionId);
    /// @notice The order kind or target is not valid where it was used.
    error OrderKindInvalid(OrderKind kind, OrderTarget target);
    /// @notice The trigger is on the wrong side of the current price for this kind and side.
    error TriggerOnWrongSide(OrderKind kind, bool isLong, uint256 trigger, uint256 currentPrice);
    /// @notice The acceptable price can never be met: a stop's once it triggers, or a buying
    /// exit's (a short's take-profit or trailing stop) of 0. `trigger` is a trailing stop's trail.
    error AcceptablePriceUnreachable(uint256 trigger, uint256 acceptablePrice);
    /// @notice `validUntil` is in the past (0 means valid until cancelled).
    error ValidUntilInPast(uint256 validUntil, uint256 blockTimestamp);
    /// @notice The order expired at `validUntil`; it can only be pruned or cancelled.
    error OrderExpired(uint256 orderId, uint256 validUntil, uint256 blockTimestamp);
    /// @notice The open this order is attached to has not filled yet.
    error OrderNotActive(uint256 orderId);
    /// @notice The order's position is gone (closed, liquidated, never opened, or not the owner's).
    error OrderPositionGone(uint256 orderId, uint256 positionId);
    /// @notice Only a dead or expired order may be pruned.
    error OrderStillLive(uint256 orderId);
    /// @notice Only reports observed after the order was placed (or last edited or executed) fill it.
    error ReportNotAfterOrder(uint256 orderId, uint256 observedAt, uint256 observedAfter);
    /// @notice The report is older than `maxReportAge`.
    error ReportTooOld(uint256 observedAt, uint256 maxAge, uint256 blockTimestamp);
    /// @notice The report's price has not crossed the order's trigger.
    error TriggerNotCrossed(uint256 orderId, uint256 trigger, uint256 reportPrice);
    /// @notice The fill price is past the order's acceptable price: the order does not fill.
    error FillPastAcceptablePrice(uint256 orderId, uint256 acceptablePrice, uint256 fillPrice);
    /// @notice A trailing stop's peak report must be observed before its second report.
    error TrailingReportsOutOfOrder(uint256 peakObservedAt, uint256 observedAt);
    /// @notice The second report is less than the trail past the peak report.
    error TrailNotReached(uint256 orderId, uint256 peakPrice, uint256 price, uint256 trailBps);
    /// @notice The position's health factor (WAD) at the report is not below the guard's threshold.
    error PositionHealthy(uint256 orderId, int256 healthFactor, uint256 threshold);
    /// @notice A top-up of the guard's amount would leave the position liquidatable at the report
    /// (equity after it below maintenance): it would only add the owner's money to a liquidation.
    error TopUpCannotSave(uint256 orderId, int256 equityAfter, uint256 maintenance);
    /// @notice A zero amount, size or threshold where one is required.
    error ZeroAmount();
    /// @notice A value does not fit its storage or bound.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice The caller is not allowed (governance: the engine's owner; hooks: the router).
    error Unauthorized(address caller);
    /// @notice A governance or order value is outside its hard-coded bounds.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);

    // ---------------------------------------------------------------- events

    /// @notice A trigger order was placed; `positionId` is its target's id (see {OrderTarget}).
    event OrderPlaced(
        uint256 indexed orderId,
        address indexed owner,
        uint256 indexed positionId,
        OrderKind kind,
        OrderTarget target,
        uint256 marketId,
        bool isLong,
        uint256 amount,
        uint256 size,
        uint256 trigger,
        uint256 acceptablePrice,
        uint256 executionFee,
        uint256 validUntil
    );
    /// @notice Two orders on one position form a bracket: executing either cancels the other.
    event BracketLinked(uint256 indexed stopLossId, uint256 indexed takeProfitId);
    /// @notice The owner changed an order; it fills only on reports observed after this.
    event OrderEdited(
        uint256 indexed orderId, uint256 size, uint256 trigger, uint256 acceptablePrice, uint256 validUntil
    );
    /// @notice An order filled at `price` (the report's ask or bid); the executor was paid `toExecutor`.
    event OrderExecuted(
        uint256 indexed orderId,
        address indexed executor,
        uint256 indexed positionId,
        uint256 price,
        uint256 observedAt,
        uint256 toExecutor,
        uint256 refund
    );
    /// @notice An order or guard left the book unfilled; its escrow returned to the owner.
    event OrderCancelled(
        uint256 indexed orderId, address indexed by, CancelReason reason, uint256 toExecutor, uint256 refund
    );
    /// @notice A top-up guard was set or changed.
    event TopUpGuardSet(
        uint256 indexed orderId,
        address indexed owner,
        uint256 indexed positionId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    );
    /// @notice A guard topped its position up at a report where its health factor was `healthFactor`.
    event TopUpExecuted(
        uint256 indexed orderId,
        address indexed executor,
        uint256 indexed positionId,
        uint256 amount,
        uint256 executorFee,
        uint256 budgetLeft,
        int256 healthFactor,
        uint256 observedAt
    );
    /// @notice The router's open (request or limit order) that orders were attached to has filled.
    event AttachedOpenFilled(OrderTarget target, uint256 indexed sourceId, uint256 indexed positionId);
    event ExecutionGasSet(OrderKind kind, uint256 gasLimit);
    event MaxReportAgeSet(uint256 maxReportAge);

    // ---------------------------------------------------------------- orders

    /// @notice Places a trigger order (see {OrderParams}); `msg.value` is its execution fee, at least
    /// its kind's execution gas times the transaction's gas price.
    /// @dev The caller must be allowed to trade the position (for an attached order: be the open's
    /// account). A limit order's `acceptablePrice` is ignored (its limit is its bound).
    function place(OrderParams calldata p) external payable returns (uint256 orderId);

    /// @notice Places a stop-loss and a take-profit on the same target that cancel each other;
    /// `msg.value` pays both fees (split in two, each at least its kind's quote).
    function placeBracket(OrderParams calldata stopLoss, OrderParams calldata takeProfit)
        external
        payable
        returns (uint256 stopLossId, uint256 takeProfitId);

    /// @notice Changes an order's size, trigger, acceptable price and expiry (the escrow and fee stay).
    /// The same range checks as at placement apply, and only reports observed after the edit fill it.
    function edit(uint256 orderId, uint256 size, uint256 trigger, uint256 acceptablePrice, uint256 validUntil)
        external;

    /// @notice Sets an automatic top-up guard on a position the caller may trade (see {TopUpGuard}).
    /// The owner approves this contract for the collateral token; nothing moves until a top-up.
    /// @param threshold Health factor (WAD) below which a top-up is allowed, in (1, 10] x WAD.
    function setTopUpGuard(
        uint256 positionId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    ) external returns (uint256 orderId);

    /// @notice Changes a guard; its budget is set to `budget` (not added to).
    function editTopUpGuard(
        uint256 orderId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    ) external;

    /// @notice Cancels an order or guard of the caller's at any time; its escrow and fee return.
    function cancel(uint256 orderId) external;

    /// @notice Removes an order that can never fill (its position is gone, or its open never filled)
    /// or has expired, or a guard that can never top up again; anyone may. The caller is paid its
    /// gas from the order's fee like an executor; the rest and the escrow return to the owner.
    function prune(uint256 orderId) external;

    // ---------------------------------------------------------------- execution

    /// @notice Executes a limit, stop-loss or take-profit order with a report that crosses it.
    /// @return positionId The position traded (the new one for a limit open).
    function execute(uint256 orderId, bytes calldata signedReport) external returns (uint256 positionId);

    /// @notice Executes a trailing stop with two reports of its market, both observed after the
    /// order: `peakReport` earlier, `signedReport` (fresh, the fill) at least the trail past it
    /// against the position. The running peak since placement was then at least `peakReport`'s
    /// price, so the stop was due by `signedReport`: it can never fill before the true trailing stop.
    function executeTrailingStop(uint256 orderId, bytes calldata peakReport, bytes calldata signedReport)
        external
        returns (uint256 positionId);

    /// @notice Tops up a guarded position whose health factor at a fresh report is below the threshold.
    function executeTopUp(uint256 orderId, bytes calldata signedReport) external;

    /// @notice The router's hook after an open request fills (records the position attached orders act on).
    function onOpenFilled(uint256 requestId, uint256 positionId) external;

    // ---------------------------------------------------------------- governance

    /// @notice Sets the execution gas an order kind's fee is quoted for (engine owner).
    function setExecutionGas(OrderKind kind, uint256 gasLimit) external;

    /// @notice Sets the oldest a report may be when it fills an order, in seconds (engine owner).
    function setMaxReportAge(uint256 maxReportAge) external;

    // ---------------------------------------------------------------- views

    function engine() external view returns (address);
    function router() external view returns (address);
    function order(uint256 orderId) external view returns (Order memory);
    function topUpGuard(uint256 orderId) external view returns (TopUpGuard memory);
    /// @notice The other order of a bracket, 0 if none.
    function sibling(uint256 orderId) external view returns (uint256);
    /// @notice The position an attached order acts on, 0 while its open has not filled.
    function attachedPosition(OrderTarget target, uint256 sourceId) external view returns (uint256);
    function nextOrderId() external view returns (uint256);
    function executionGas(OrderKind kind) external view returns (uint256);
    function maxReportAge() external view returns (uint256);
    /// @notice The fee an order of `kind` needs at `gasPrice` (a bracket needs both of its kinds').
    function quoteExecutionFee(OrderKind kind, uint256 gasPrice) external view returns (uint256);
}
