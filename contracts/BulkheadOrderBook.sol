// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";

import {IBulkhead, Health, Position} from "./interfaces/IBulkhead.sol";
import {IBulkheadOracle, ReportPrices} from "./interfaces/IBulkheadOracle.sol";
import {
    CancelReason,
    IBulkheadOrderBook,
    Order,
    OrderKind,
    OrderParams,
    OrderTarget,
    TopUpGuard
} from "./interfaces/IBulkheadOrderBook.sol";
import {IBulkheadRouter, RequestKind, TradeRequest} from "./interfaces/IBulkheadRouter.sol";
import {IExecutionFees} from "./interfaces/IExecutionFees.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {ExecutionFeeLib} from "./libraries/ExecutionFeeLib.sol";
import {HealthLib} from "./libraries/HealthLib.sol";
import {OrderLogic} from "./libraries/OrderLogic.sol";
import {TradeLib} from "./libraries/TradeLib.sol";

/// @title BulkheadOrderBook
/// @notice Trigger orders and top-up guards of Bulkhead; see {IBulkheadOrderBook}. Its trades are
/// filled by the router (`fillOrder`), its reports verified by the router's oracle.
/// @dev Every external entry is nonReentrant. An order is deleted before anything it escrowed
/// moves, so it fills, is cancelled or is pruned once. The engine and the router may pull this
/// contract's tokens (approved once, here): the engine only inside `addCollateral` called from
/// here, the router only inside `fillOrder` called from here, each for the amount of that call.
contract BulkheadOrderBook is IBulkheadOrderBook, ReentrancyGuardTransient {
    /// @dev An attached order's source has orders waiting for its position.
    uint256 internal constant AWAITING = type(uint256).max;

    IBulkhead internal immutable _engine;
    IBulkheadRouter internal immutable _router;
    IBulkheadOracle internal immutable _oracle;
    address internal immutable _token;
    uint256 internal immutable _unit;

    uint256 internal _lastOrderId;
    uint256 internal _maxReportAge;
    mapping(uint256 orderId => Order) internal _orders;
    mapping(uint256 orderId => TopUpGuard) internal _guards;
    mapping(uint256 orderId => uint256 otherOrderId) internal _sibling;
    mapping(uint256 requestId => uint256 positionId) internal _requestPosition;
    mapping(uint256 limitOrderId => uint256 positionId) internal _limitPosition;
    mapping(OrderKind kind => uint256 gasLimit) internal _executionGas;
    mapping(address account => uint256 amount) internal _nativeOwed;

    /// @param router_ The router that fills this book's trades (it must then `setOrderBook` to it).
    constructor(IBulkheadRouter router_) {
        _router = router_;
        _engine = IBulkhead(router_.engine());
        _oracle = router_.oracle();
        _token = _engine.token();
        _unit = _engine.unit();
        _setMaxReportAge(ConstantsLib.DEFAULT_MAX_REPORT_AGE);
        // What `npm run bench:gas` measured per kind, with headroom for a cold market.
        _setExecutionGas(OrderKind.LimitOpen, 700_000);
        _setExecutionGas(OrderKind.LimitIncrease, 700_000);
        _setExecutionGas(OrderKind.StopLoss, 550_000);
        _setExecutionGas(OrderKind.TakeProfit, 550_000);
        _setExecutionGas(OrderKind.TrailingStop, 650_000);
        SafeTransferLib.safeApprove(_token, address(_engine), type(uint256).max);
        SafeTransferLib.safeApprove(_token, address(router_), type(uint256).max);
    }

    modifier onlyEngineOwner() {
        if (msg.sender != Ownable(address(_engine)).owner()) revert Unauthorized(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- placing

    /// @inheritdoc IBulkheadOrderBook
    function place(OrderParams calldata p) external payable nonReentrant returns (uint256 orderId) {
        orderId = _place(p, msg.value);
    }

    /// @inheritdoc IBulkheadOrderBook
    function placeBracket(OrderParams calldata stopLoss, OrderParams calldata takeProfit)
        external
        payable
        nonReentrant
        returns (uint256 stopLossId, uint256 takeProfitId)
    {
        if (
            stopLoss.kind != OrderKind.StopLoss || takeProfit.kind != OrderKind.TakeProfit
                || stopLoss.target != takeProfit.target || stopLoss.positionId != takeProfit.positionId
        ) revert OrderKindInvalid(takeProfit.kind, takeProfit.target);
        uint256 stopGas = _executionGas[OrderKind.StopLoss];
        uint256 stopFee = msg.value * stopGas / (stopGas + _executionGas[OrderKind.TakeProfit]);
        stopLossId = _place(stopLoss, stopFee);
        takeProfitId = _place(takeProfit, msg.value - stopFee);
        _sibling[stopLossId] = takeProfitId;
        _sibling[takeProfitId] = stopLossId;
        emit BracketLinked(stopLossId, takeProfitId);
    }

    /// @dev Checks and stores one order, then escrows a limit order's amount.
    function _place(OrderParams calldata p, uint256 fee) internal returns (uint256 orderId) {
        bool limit = p.kind == OrderKind.LimitOpen || p.kind == OrderKind.LimitIncrease;
        (uint256 marketId, bool isLong) = _targetOf(p);
        if (limit) {
            if (p.amount == 0 || p.size == 0) revert ZeroAmount();
            if (p.amount > ConstantsLib.MAX_COLLATERAL) revert AmountTooLarge(p.amount, ConstantsLib.MAX_COLLATERAL);
        } else if (p.amount != 0) {
            revert AmountTooLarge(p.amount, 0); // exits escrow nothing
        }
        (uint96 trigger, uint96 acceptable) = _checkOrder(p.kind, isLong, marketId, p.trigger, p.acceptablePrice);
        _checkValidUntil(p.validUntil);
        if (p.size > ConstantsLib.MAX_SIZE) revert AmountTooLarge(p.size, ConstantsLib.MAX_SIZE);
        ExecutionFeeLib.checkPaid(fee, _executionGas[p.kind], type(uint64).max);
        orderId = ++_lastOrderId;
        _orders[orderId] = Order({
            owner: msg.sender,
            kind: p.kind,
            isLong: isLong,
            marketId: uint8(marketId),
            positionId: uint32(p.positionId),
            observedAfter: uint32(block.timestamp),
            target: p.target,
            trigger: trigger,
            acceptablePrice: acceptable,
            executionFee: uint64(fee),
            size: uint128(p.size),
            amount: uint96(p.amount),
            validUntil: uint32(p.validUntil)
        });
        emit OrderPlaced(
            orderId,
            msg.sender,
            p.positionId,
            p.kind,
            p.target,
            marketId,
            isLong,
            p.amount,
            p.size,
            trigger,
            acceptable,
            fee,
            p.validUntil
        );
        if (limit) TradeLib.pullExact(_token, msg.sender, address(this), p.amount);
    }

    /// @dev The market and side an order acts on, once the caller's right to it is checked: the
    /// position's, the pending open request's or the limit-open order's (both the caller's own, and
    /// marked as awaiting their position), or a limit open's own.
    function _targetOf(OrderParams calldata p) internal returns (uint256 marketId, bool isLong) {
        if (p.kind == OrderKind.None || p.kind > OrderKind.TrailingStop) revert OrderKindInvalid(p.kind, p.target);
        if (p.kind == OrderKind.LimitOpen) {
            if (p.target != OrderTarget.Position || p.positionId != 0) revert OrderKindInvalid(p.kind, p.target);
            if (_oracle.stream(p.marketId).feedId == bytes32(0)) revert IBulkheadOracle.StreamNotConfigured(p.marketId);
            return (p.marketId, p.isLong);
        }
        if (p.positionId > type(uint32).max) revert AmountTooLarge(p.positionId, type(uint32).max);
        if (p.target == OrderTarget.Position) {
            Position memory pos = TradeLib.authorizedPosition(_engine, p.positionId, msg.sender);
            return (pos.marketId, pos.isLong);
        }
        if (p.kind == OrderKind.LimitIncrease) revert OrderKindInvalid(p.kind, p.target);
        address account;
        if (p.target == OrderTarget.OpenRequest) {
            TradeRequest memory r = _router.request(p.positionId);
            if (r.kind != RequestKind.Open) revert PositionNotFound(p.positionId);
            (account, marketId, isLong) = (r.account, r.marketId, r.isLong);
            if (_requestPosition[p.positionId] == 0) _requestPosition[p.positionId] = AWAITING;
        } else {
            Order memory o = _orders[p.positionId];
            if (o.kind != OrderKind.LimitOpen) revert PositionNotFound(p.positionId);
            (account, marketId, isLong) = (o.owner, o.marketId, o.isLong);
            if (_limitPosition[p.positionId] == 0) _limitPosition[p.positionId] = AWAITING;
        }
        if (account != msg.sender) revert NotPositionOwner(p.positionId, msg.sender);
    }

    /// @dev The stored trigger and acceptable price of an order, checked: a trailing stop's trail
    /// within its bounds; any other trigger non-zero, in range and waiting on its side of the push
    /// price; a stop's acceptable price reachable, a buyer's non-zero; a limit's bound is its limit. A buyer's
    /// acceptable price above MAX_PRICE means MAX_PRICE (no fill is higher).
    function _checkOrder(OrderKind kind, bool isLong, uint256 marketId, uint256 trigger, uint256 acceptablePrice)
        internal
        view
        returns (uint96, uint96)
    {
        if (kind == OrderKind.TrailingStop) {
            if (trigger < ConstantsLib.MIN_TRAIL_BPS || trigger > ConstantsLib.MAX_TRAIL_BPS) {
                revert ParameterOutOfBounds("trailBps", trigger, ConstantsLib.MIN_TRAIL_BPS, ConstantsLib.MAX_TRAIL_BPS);
            }
        } else {
            if (trigger == 0) revert ZeroAmount();
            if (trigger > ConstantsLib.MAX_PRICE) revert AmountTooLarge(trigger, ConstantsLib.MAX_PRICE);
            uint256 current = _engine.price(marketId);
            if (!OrderLogic.waitsAt(kind, isLong, trigger, current)) {
                revert TriggerOnWrongSide(kind, isLong, trigger, current);
            }
            if (kind == OrderKind.LimitOpen || kind == OrderKind.LimitIncrease) acceptablePrice = trigger;
            if (kind == OrderKind.StopLoss && !OrderLogic.stopReachable(isLong, trigger, acceptablePrice)) {
                revert AcceptablePriceUnreachable(trigger, acceptablePrice);
            }
        }
        // A buyer's bound of 0 is never met (every fill price is positive); a seller's 0 is no bound.
        if (acceptablePrice == 0 && OrderLogic.buys(kind, isLong)) revert AcceptablePriceUnreachable(trigger, 0);
        if (acceptablePrice > ConstantsLib.MAX_PRICE) acceptablePrice = ConstantsLib.MAX_PRICE;
        return (uint96(trigger), uint96(acceptablePrice));
    }

    function _checkValidUntil(uint256 validUntil) internal view {
        if (validUntil != 0 && validUntil <= block.timestamp) revert ValidUntilInPast(validUntil, block.timestamp);
        if (validUntil > type(uint32).max) revert AmountTooLarge(validUntil, type(uint32).max);
    }

    /// @inheritdoc IBulkheadOrderBook
    function edit(uint256 orderId, uint256 size, uint256 trigger, uint256 acceptablePrice, uint256 validUntil)
        external
        nonReentrant
    {
        Order storage o = _orders[orderId];
        _requireOwner(orderId, o.owner);
        OrderKind kind = o.kind;
        if (kind == OrderKind.LimitOpen || kind == OrderKind.LimitIncrease) {
            if (size == 0) revert ZeroAmount();
        }
        if (size > ConstantsLib.MAX_SIZE) revert AmountTooLarge(size, ConstantsLib.MAX_SIZE);
        (uint96 t, uint96 a) = _checkOrder(kind, o.isLong, o.marketId, trigger, acceptablePrice);
        _checkValidUntil(validUntil);
        (o.observedAfter, o.trigger, o.acceptablePrice, o.size, o.validUntil) =
            (uint32(block.timestamp), t, a, uint128(size), uint32(validUntil));
        emit OrderEdited(orderId, size, t, a, validUntil);
    }

    /// @inheritdoc IBulkheadOrderBook
    function setTopUpGuard(
        uint256 positionId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    ) external nonReentrant returns (uint256 orderId) {
        if (positionId > type(uint32).max) revert AmountTooLarge(positionId, type(uint32).max);
        TradeLib.authorizedPosition(_engine, positionId, msg.sender);
        orderId = ++_lastOrderId;
        _storeGuard(orderId, msg.sender, positionId, threshold, amount, budget, executorFee, validUntil);
    }

    /// @inheritdoc IBulkheadOrderBook
    function editTopUpGuard(
        uint256 orderId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    ) external nonReentrant {
        TopUpGuard memory g = _guards[orderId];
        _requireOwner(orderId, g.owner);
        _storeGuard(orderId, g.owner, g.positionId, threshold, amount, budget, executorFee, validUntil);
    }

    /// @dev Checks a guard's values (a threshold above the liquidation boundary, a budget that pays
    /// at least one top-up and its fee) and stores it, observed from now.
    function _storeGuard(
        uint256 orderId,
        address owner,
        uint256 positionId,
        uint256 threshold,
        uint256 amount,
        uint256 budget,
        uint256 executorFee,
        uint256 validUntil
    ) internal {
        if (threshold <= ConstantsLib.WAD || threshold > ConstantsLib.MAX_TOP_UP_THRESHOLD) {
            revert ParameterOutOfBounds("threshold", threshold, ConstantsLib.WAD + 1, ConstantsLib.MAX_TOP_UP_THRESHOLD);
        }
        if (amount == 0) revert ZeroAmount();
        if (amount > ConstantsLib.MAX_COLLATERAL) revert AmountTooLarge(amount, ConstantsLib.MAX_COLLATERAL);
        if (executorFee > ConstantsLib.MAX_COLLATERAL) revert AmountTooLarge(executorFee, ConstantsLib.MAX_COLLATERAL);
        if (budget < amount + executorFee || budget > ConstantsLib.MAX_COLLATERAL) {
            revert ParameterOutOfBounds("budget", budget, amount + executorFee, ConstantsLib.MAX_COLLATERAL);
        }
        _checkValidUntil(validUntil);
        _guards[orderId] = TopUpGuard({
            owner: owner,
            positionId: uint32(positionId),
            observedAfter: uint32(block.timestamp),
            validUntil: uint32(validUntil),
            threshold: uint64(threshold),
            amount: uint96(amount),
            executorFee: uint96(executorFee),
            budget: uint96(budget)
        });
        emit TopUpGuardSet(orderId, owner, positionId, threshold, amount, budget, executorFee, validUntil);
    }

    function _requireOwner(uint256 orderId, address owner) internal view {
        if (owner == address(0)) revert OrderNotFound(orderId);
        if (msg.sender != owner) revert NotOrderOwner(orderId, msg.sender);
    }

    // ---------------------------------------------------------------- leaving the book

    /// @inheritdoc IBulkheadOrderBook
    function cancel(uint256 orderId) external nonReentrant {
        Order memory o = _orders[orderId];
        if (o.kind == OrderKind.None) {
            _requireOwner(orderId, _guards[orderId].owner);
            delete _guards[orderId];
            emit OrderCancelled(orderId, msg.sender, CancelReason.Owner, 0, 0);
            return;
        }
        _requireOwner(orderId, o.owner);
        _remove(orderId, o, CancelReason.Owner, 0);
    }

    /// @inheritdoc IBulkheadOrderBook
    function prune(uint256 orderId) external nonReentrant {
        uint256 gasStart = gasleft();
        Order memory o = _orders[orderId];
        if (o.kind == OrderKind.None) {
            TopUpGuard memory g = _guards[orderId];
            if (g.owner == address(0)) revert OrderNotFound(orderId);
            if (!_expired(g.validUntil) && _canTrade(g.positionId, g.owner)) revert OrderStillLive(orderId);
            delete _guards[orderId];
            emit OrderCancelled(orderId, msg.sender, CancelReason.Dead, 0, 0);
            return;
        }
        if (!_expired(o.validUntil)) {
            // A limit open lives until it expires; the others while their position may still trade.
            if (o.kind == OrderKind.LimitOpen) revert OrderStillLive(orderId);
            (uint256 positionId, bool pending) = _positionOf(o);
            if (pending || _canTrade(positionId, o.owner)) revert OrderStillLive(orderId);
        }
        _remove(orderId, o, CancelReason.Dead, gasStart);
    }

    /// @dev Deletes an order (and its bracket link) and returns its escrow to the owner; then, for a
    /// prune (`gasStart` != 0), pays the caller the gas used so far from the fee, as an executor
    /// (the two native payments after it are not counted, as for executions); the rest of the fee
    /// goes to the owner.
    function _remove(uint256 orderId, Order memory o, CancelReason reason, uint256 gasStart) internal {
        delete _orders[orderId];
        _unlink(orderId);
        if (o.amount != 0) SafeTransferLib.safeTransfer(_token, o.owner, o.amount);
        (uint256 toExecutor, uint256 refund) = gasStart == 0
            ? (0, uint256(o.executionFee))
            : ExecutionFeeLib.split(o.executionFee, _executionGas[o.kind], gasStart);
        emit OrderCancelled(orderId, msg.sender, reason, toExecutor, refund);
        ExecutionFeeLib.pay(_nativeOwed, msg.sender, toExecutor);
        ExecutionFeeLib.pay(_nativeOwed, o.owner, refund);
    }

    /// @dev Removes a bracket link; returns the other order's id (0 if none).
    function _unlink(uint256 orderId) internal returns (uint256 other) {
        other = _sibling[orderId];
        if (other != 0) {
            delete _sibling[orderId];
            delete _sibling[other];
        }
    }

    // ---------------------------------------------------------------- execution

    /// @inheritdoc IBulkheadOrderBook
    function execute(uint256 orderId, bytes calldata signedReport) external nonReentrant returns (uint256 positionId) {
        uint256 gasStart = gasleft();
        Order memory o = _live(orderId);
        if (o.kind == OrderKind.TrailingStop) revert OrderKindInvalid(o.kind, o.target);
        uint256 size;
        (positionId, size) = _active(orderId, o);
        ReportPrices memory r = _freshReport(orderId, o.marketId, o.observedAfter, signedReport);
        bool buying = OrderLogic.buys(o.kind, o.isLong);
        uint256 fillPrice = buying ? r.ask : r.bid;
        if (!OrderLogic.crossed(o.kind, o.isLong, o.trigger, r.price, fillPrice)) {
            bool limit = o.kind == OrderKind.LimitOpen || o.kind == OrderKind.LimitIncrease;
            revert TriggerNotCrossed(orderId, o.trigger, limit ? fillPrice : r.price);
        }
        return _fill(orderId, o, positionId, size, fillPrice, r.observedAt, buying, gasStart);
    }

    /// @inheritdoc IBulkheadOrderBook
    function executeTrailingStop(uint256 orderId, bytes calldata peakReport, bytes calldata signedReport)
        external
        nonReentrant
        returns (uint256 positionId)
    {
        uint256 gasStart = gasleft();
        Order memory o = _live(orderId);
        if (o.kind != OrderKind.TrailingStop) revert OrderKindInvalid(o.kind, o.target);
        uint256 size;
        (positionId, size) = _active(orderId, o);
        ReportPrices memory peak = _oracle.verifyReport(o.marketId, peakReport, false);
        if (peak.observedAt <= o.observedAfter) revert ReportNotAfterOrder(orderId, peak.observedAt, o.observedAfter);
        ReportPrices memory r = _freshReport(orderId, o.marketId, o.observedAfter, signedReport);
        if (peak.observedAt >= r.observedAt) revert TrailingReportsOutOfOrder(peak.observedAt, r.observedAt);
        if (!OrderLogic.trailReached(o.isLong, o.trigger, peak.price, r.price)) {
            revert TrailNotReached(orderId, peak.price, r.price, o.trigger);
        }
        bool buying = !o.isLong;
        return _fill(orderId, o, positionId, size, buying ? r.ask : r.bid, r.observedAt, buying, gasStart);
    }

    /// @dev An order that exists and has not expired.
    function _live(uint256 orderId) internal view returns (Order memory o) {
        o = _orders[orderId];
        if (o.kind == OrderKind.None) revert OrderNotFound(orderId);
        if (_expired(o.validUntil)) revert OrderExpired(orderId, o.validUntil, block.timestamp);
    }

    /// @dev The position an order trades and its size, if it can be traded by the order's owner
    /// (0 and 0 for a limit open).
    function _active(uint256 orderId, Order memory o) internal view returns (uint256 positionId, uint256 size) {
        if (o.kind == OrderKind.LimitOpen) return (0, 0);
        bool pending;
        (positionId, pending) = _positionOf(o);
        if (pending) revert OrderNotActive(orderId);
        size = positionId == 0 ? 0 : _engine.position(positionId).size;
        if (size == 0 || !TradeLib.mayTrade(_engine, positionId, o.owner)) revert OrderPositionGone(orderId, positionId);
    }

    /// @dev The position of an order's target: its own, or the one its source opened (`pending`
    /// while the source may still open one: it exists and has not expired; 0 when it never will).
    function _positionOf(Order memory o) internal view returns (uint256 positionId, bool pending) {
        if (o.target == OrderTarget.Position) return (o.positionId, false);
        bool fromRequest = o.target == OrderTarget.OpenRequest;
        positionId = fromRequest ? _requestPosition[o.positionId] : _limitPosition[o.positionId];
        if (positionId != AWAITING) return (positionId, false);
        if (fromRequest) {
            TradeRequest memory r = _router.request(o.positionId);
            pending = r.kind != RequestKind.None && block.timestamp <= uint256(r.createdAt) + r.expiry;
        } else {
            Order memory l = _orders[o.positionId];
            pending = l.kind != OrderKind.None && !_expired(l.validUntil);
        }
        positionId = 0;
    }

    /// @dev Whether `account` may still trade position `positionId` (it exists, and `account` owns
    /// it, is approved for it or is the owner's operator): what the engine checks at the fill.
    function _canTrade(uint256 positionId, address account) internal view returns (bool) {
        return positionId != 0 && _engine.position(positionId).size != 0 && TradeLib.mayTrade(_engine, positionId, account);
    }

    function _expired(uint256 validUntil) internal view returns (bool) {
        return validUntil != 0 && block.timestamp > validUntil;
    }

    /// @dev A live report (see {IBulkheadOracle-verifyReport}) observed after `observedAfter` and
    /// at most `maxReportAge` old.
    function _freshReport(uint256 orderId, uint256 marketId, uint256 observedAfter, bytes calldata signedReport)
        internal
        returns (ReportPrices memory r)
    {
        r = _oracle.verifyReport(marketId, signedReport, true);
        if (r.observedAt <= observedAfter) revert ReportNotAfterOrder(orderId, r.observedAt, observedAfter);
        if (r.observedAt + _maxReportAge < block.timestamp) {
            revert ReportTooOld(r.observedAt, _maxReportAge, block.timestamp);
        }
    }

    /// @dev Checks the acceptable price, deletes the order and cancels its bracket sibling, then has
    /// the router fill the trade (an exit of at least the position's size closes it) and pays the
    /// executor from the fee, the rest to the owner.
    function _fill(
        uint256 orderId,
        Order memory o,
        uint256 positionId,
        uint256 positionSize,
        uint256 fillPrice,
        uint256 observedAt,
        bool buying,
        uint256 gasStart
    ) internal returns (uint256) {
        if (buying ? fillPrice > o.acceptablePrice : fillPrice < o.acceptablePrice) {
            revert FillPastAcceptablePrice(orderId, o.acceptablePrice, fillPrice);
        }
        delete _orders[orderId];
        // A bracket's other leg (same owner, no escrow) leaves with it; its fee joins the refund.
        uint256 other = _unlink(orderId);
        uint256 otherFee;
        if (other != 0) {
            otherFee = _orders[other].executionFee;
            delete _orders[other];
            emit OrderCancelled(other, msg.sender, CancelReason.Sibling, 0, otherFee);
        }
        RequestKind kind;
        if (o.kind == OrderKind.LimitOpen) kind = RequestKind.Open;
        else if (o.kind == OrderKind.LimitIncrease) kind = RequestKind.Increase;
        else kind = o.size == 0 || o.size >= positionSize ? RequestKind.Close : RequestKind.Decrease;
        positionId = _router.fillOrder(
            TradeRequest({
                account: o.owner,
                kind: kind,
                isLong: o.isLong,
                marketId: o.marketId,
                createdAt: 0,
                settlementDelay: 0,
                positionId: uint32(positionId),
                acceptablePrice: o.acceptablePrice,
                executionFee: 0,
                expiry: 0,
                gasLimit: 0,
                size: kind == RequestKind.Close ? 0 : o.size,
                collateral: o.amount
            }),
            fillPrice
        );
        if (o.kind == OrderKind.LimitOpen && _limitPosition[orderId] == AWAITING) {
            _limitPosition[orderId] = positionId;
            emit AttachedOpenFilled(OrderTarget.LimitOpenOrder, orderId, positionId);
        }
        (uint256 toExecutor, uint256 refund) =
            ExecutionFeeLib.split(o.executionFee, _executionGas[o.kind], gasStart);
        emit OrderExecuted(orderId, msg.sender, positionId, fillPrice, observedAt, toExecutor, refund);
        ExecutionFeeLib.pay(_nativeOwed, msg.sender, toExecutor);
        ExecutionFeeLib.pay(_nativeOwed, o.owner, refund + otherFee);
        return positionId;
    }

    /// @inheritdoc IBulkheadOrderBook
    /// @dev Health is the settlement value of {HealthLib} at the report's benchmark price; the
    /// decision compares equity * WAD with threshold * maintenance exactly, the event reports the
    /// factor rounded towards zero. Writes, then the two pulls and the engine's `addCollateral`.
    function executeTopUp(uint256 orderId, bytes calldata signedReport) external nonReentrant {
        TopUpGuard memory g = _guards[orderId];
        if (g.owner == address(0)) revert OrderNotFound(orderId);
        if (_expired(g.validUntil)) revert OrderExpired(orderId, g.validUntil, block.timestamp);
        Position memory p = _engine.position(g.positionId);
        if (p.size == 0 || !TradeLib.mayTrade(_engine, g.positionId, g.owner)) revert OrderPositionGone(orderId, g.positionId);
        ReportPrices memory r = _freshReport(orderId, p.marketId, g.observedAfter, signedReport);
        Health memory h = HealthLib.health(
            p, _engine.riskParams(p.marketId, p.riskVersion), r.price, _engine.currentBorrowIndex(p.marketId), _unit
        );
        int256 factor = h.equity * int256(ConstantsLib.WAD) / int256(h.maintenance);
        if (h.equity * int256(ConstantsLib.WAD) >= int256(uint256(g.threshold) * h.maintenance)) {
            revert PositionHealthy(orderId, factor, g.threshold);
        }
        int256 equityAfter = h.equity + int256(uint256(g.amount));
        if (equityAfter < int256(h.maintenance)) revert TopUpCannotSave(orderId, equityAfter, h.maintenance);
        // A stored guard's budget always pays one more top-up (checked when set, deleted below).
        uint256 needed = uint256(g.amount) + g.executorFee;
        uint256 left = g.budget - needed;
        if (left < needed) {
            delete _guards[orderId];
        } else {
            _guards[orderId].budget = uint96(left);
            _guards[orderId].observedAfter = uint32(r.observedAt);
        }
        emit TopUpExecuted(orderId, msg.sender, g.positionId, g.amount, g.executorFee, left, factor, r.observedAt);
        if (left < needed) emit OrderCancelled(orderId, msg.sender, CancelReason.Dead, 0, 0);
        TradeLib.pullExact(_token, g.owner, address(this), g.amount);
        _engine.addCollateral(g.positionId, g.amount);
        if (g.executorFee != 0) SafeTransferLib.safeTransferFrom(_token, g.owner, msg.sender, g.executorFee);
    }

    /// @inheritdoc IBulkheadOrderBook
    function onOpenFilled(uint256 requestId, uint256 positionId) external nonReentrant {
        if (msg.sender != address(_router)) revert Unauthorized(msg.sender);
        if (_requestPosition[requestId] == AWAITING) {
            _requestPosition[requestId] = positionId;
            emit AttachedOpenFilled(OrderTarget.OpenRequest, requestId, positionId);
        }
    }

    /// @inheritdoc IExecutionFees
    function withdrawNative() external nonReentrant {
        ExecutionFeeLib.withdraw(_nativeOwed);
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IBulkheadOrderBook
    function setExecutionGas(OrderKind kind, uint256 gasLimit) external onlyEngineOwner {
        if (kind == OrderKind.None) revert OrderKindInvalid(kind, OrderTarget.Position);
        _setExecutionGas(kind, gasLimit);
    }

    function _setExecutionGas(OrderKind kind, uint256 gasLimit) internal {
        if (gasLimit < ConstantsLib.MIN_EXECUTION_GAS || gasLimit > ConstantsLib.MAX_EXECUTION_GAS) {
            revert ParameterOutOfBounds(
                "executionGas", gasLimit, ConstantsLib.MIN_EXECUTION_GAS, ConstantsLib.MAX_EXECUTION_GAS
            );
        }
        _executionGas[kind] = gasLimit;
        emit ExecutionGasSet(kind, gasLimit);
    }

    /// @inheritdoc IBulkheadOrderBook
    function setMaxReportAge(uint256 maxReportAge_) external onlyEngineOwner {
        _setMaxReportAge(maxReportAge_);
    }

    function _setMaxReportAge(uint256 maxReportAge_) internal {
        if (maxReportAge_ == 0 || maxReportAge_ > ConstantsLib.MAX_MAX_REPORT_AGE) {
            revert ParameterOutOfBounds("maxReportAge", maxReportAge_, 1, ConstantsLib.MAX_MAX_REPORT_AGE);
        }
        _maxReportAge = maxReportAge_;
        emit MaxReportAgeSet(maxReportAge_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IBulkheadOrderBook
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @inheritdoc IBulkheadOrderBook
    function router() external view returns (address) {
        return address(_router);
    }

    /// @inheritdoc IBulkheadOrderBook
    function order(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IBulkheadOrderBook
    function topUpGuard(uint256 orderId) external view returns (TopUpGuard memory) {
        return _guards[orderId];
    }

    /// @inheritdoc IBulkheadOrderBook
    function sibling(uint256 orderId) external view returns (uint256) {
        return _sibling[orderId];
    }

    /// @inheritdoc IBulkheadOrderBook
    function attachedPosition(OrderTarget target, uint256 sourceId) external view returns (uint256) {
        uint256 id = target == OrderTarget.OpenRequest
            ? _requestPosition[sourceId]
            : target == OrderTarget.LimitOpenOrder ? _limitPosition[sourceId] : sourceId;
        return id == AWAITING ? 0 : id;
    }

    /// @inheritdoc IBulkheadOrderBook
    function nextOrderId() external view returns (uint256) {
        return _lastOrderId + 1;
    }

    /// @inheritdoc IBulkheadOrderBook
    function executionGas(OrderKind kind) external view returns (uint256) {
        return _executionGas[kind];
    }

    /// @inheritdoc IBulkheadOrderBook
    function maxReportAge() external view returns (uint256) {
        return _maxReportAge;
    }

    /// @inheritdoc IBulkheadOrderBook
    function quoteExecutionFee(OrderKind kind, uint256 gasPrice) external view returns (uint256) {
        return _executionGas[kind] * gasPrice;
    }

    /// @inheritdoc IExecutionFees
    function nativeOwed(address account) external view returns (uint256) {
        return _nativeOwed[account];
    }
}
