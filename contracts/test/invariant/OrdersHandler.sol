// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {Bulkhead} from "../../Bulkhead.sol";
import {BulkheadOrderBook} from "../../BulkheadOrderBook.sol";
import {BulkheadPool} from "../../BulkheadPool.sol";
import {BulkheadRouter} from "../../BulkheadRouter.sol";
import {Health, IBulkhead, Position} from "../../interfaces/IBulkhead.sol";
import {
    CancelReason,
    IBulkheadOrderBook,
    Order,
    OrderKind,
    OrderParams,
    OrderTarget,
    TopUpGuard
} from "../../interfaces/IBulkheadOrderBook.sol";
import {IBulkheadRouter, RequestKind, TradeRequest} from "../../interfaces/IBulkheadRouter.sol";
import {HealthLib} from "../../libraries/HealthLib.sol";
import {MathLib} from "../../libraries/MathLib.sol";
import {OrderLogic} from "../../libraries/OrderLogic.sol";
import {PositionMath} from "../../libraries/PositionMath.sol";
import {ReportSigner} from "../utils/ReportSigner.sol";
import {Vm} from "../utils/Vm.sol";
import {RequestsHandler} from "./RequestsHandler.sol";

/// @notice Drives the order book on top of two-step trading (it is a {RequestsHandler}: positions
/// open through router requests filled at their pinned report). Owners place orders of every kind
/// (limit open and increase, stop-loss, take-profit, brackets, trailing stops, top-up guards, some
/// attached to a pending open request or limit order), edit and cancel them (strangers try and are
/// refused); executors fill them with reports that cross (the push feed moved to the trigger) and
/// that do not, or that are too early or too old (each refused with its exact error, changing
/// nothing); trailing stops are proved with the push feed's own history as the DON's reports;
/// anyone prunes, liquidates, and the price moves and crashes. Every order's escrow and fee and
/// what became of them is ghost state; a broken expectation is recorded (first per check), never
/// reverted on.
contract OrdersHandler is RequestsHandler {
    using MathLib for uint256;

    uint256 internal constant MAX_LIVE = 24;
    /// @dev An amount seed of 1,000 tokens-ish for {requestOpen} (not one of its few-unit amounts).
    uint256 internal constant AMOUNT_SEED_1000 = (1_000e6 << 3) | 1;
    address internal constant STRANGER = address(0x5757);

    /// @notice How an order left the book (or `Live`).
    enum End {
        Live,
        Executed,
        CancelledByOwner,
        CancelledSibling,
        Pruned,
        Exhausted
    }

    /// @notice What a finding breaks (see OrdersInvariants.t.sol).
    enum Check {
        Book, // an order or guard was stored, ended or counted other than the handler expected
        Guard, // a top-up pulled past its budget, or topped up (or refused) against its health
        Health, // a fill left its position liquidatable at the push price
        Trail, // a trailing stop filled before the true trailing stop on the push history
        Refusal // a refused call reverted for another reason, or changed state
    }

    /// @notice One order or guard as the handler saw it, and what its ending moved.
    struct OrderGhost {
        address owner;
        OrderKind kind; // None: a top-up guard
        uint256 amount;
        uint256 fee;
        End end;
        uint256 ends;
        /// @dev Tokens the ending took out of the book, and returned to the owner (cancel, prune).
        uint256 bookTokensOut;
        uint256 returnedToOwner;
        /// @dev Executed limit order: tokens that reached the position's vault plus the pool, and
        /// (an open) the new position's collateral plus its open fee at the fill price.
        uint256 vaultAndPoolIn;
        uint256 collateralPlusOpenFee;
        /// @dev The fee split the book emitted, and the native tokens that reached (or are owed to)
        /// the executor or pruner and the owner.
        uint256 toExecutor;
        uint256 refund;
        uint256 nativePaidOut;
    }

    /// @notice A guard's budget as last set and what its top-ups pulled from the owner.
    struct GuardGhost {
        uint256 budget;
        uint256 pulledSinceSet;
        uint256 pulledTotal;
        uint256 budgetsSet;
        uint256 topUps;
    }

    BulkheadOrderBook public immutable book;

    mapping(uint256 orderId => OrderGhost) internal _order;
    mapping(uint256 orderId => GuardGhost) internal _guard;
    uint256[] internal _orderIds;
    uint256[] internal _live;
    mapping(Check => string) public finding;

    constructor(
        Bulkhead engine_,
        BulkheadPool pool_,
        BulkheadRouter router_,
        ReportSigner signer_,
        MockV3Aggregator[2] memory feeds,
        bytes32[2] memory feedIds,
        BulkheadOrderBook book_
    ) RequestsHandler(engine_, pool_, router_, signer_, feeds, feedIds) {
        book = book_;
        for (uint256 i; i < _traders.length; ++i) {
            vm.prank(_traders[i]);
            token.approve(address(book_), type(uint256).max);
        }
    }

    // ================================================================ positions

    /// @notice A trader opens a position through a request, filled at once at its pinned report.
    function openPosition(
        uint256 actorSeed,
        uint256 marketSeed,
        bool isLong,
        uint256 amountSeed,
        uint256 leverageSeed,
        uint256 executorSeed
    ) external {
        uint256 id = router.nextRequestId();
        requestOpen(actorSeed, marketSeed, isLong, amountSeed, leverageSeed, 1);
        if (router.nextRequestId() == id) return;
        Ghost storage g = _ghost[id];
        uint256 settlesAt = _settlesAt(g);
        if (block.timestamp < settlesAt) _warpTo(settlesAt);
        uint256 push = engine.price(g.marketId);
        bytes memory payload = signer.sign(signer.report(_feedIds[g.marketId], settlesAt, push, push, push));
        _settle(id, _executor(executorSeed, g.account), abi.encodeCall(IBulkheadRouter.execute, (id, payload)), push);
    }

    /// @notice A keeper liquidates a liquidatable position; its orders are then dead (prunable).
    function liquidate(uint256 seed, uint256 keeperSeed) external {
        uint256 n = _openIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _openIds[(seed % n + i) % n];
            if (!engine.isLiquidatable(id)) continue;
            vm.prank(_executors[keeperSeed % 2]);
            try engine.liquidate(id) {
                _removeOpen(id);
                ++calls["liquidated"];
            } catch (bytes memory err) {
                _check(Check.Refusal, string.concat("liquidation of ", vm.toString(id), " reverted ", _selector(err)));
            }
            return;
        }
    }

    /// @notice The push price of a market jumps 4-12% (runs see stops, trails and top-ups trigger
    /// and positions become liquidatable).
    function crashPrice(uint256 marketSeed, uint256 bpsSeed) external {
        MockV3Aggregator feed = _feeds[marketSeed % 2];
        int256 answer = feed.latestAnswer();
        int256 delta = answer * int256(_bound(bpsSeed >> 1, 400, 1_200)) / int256(BPS);
        feed.updateAnswer(bpsSeed % 2 == 0 ? answer + delta : answer - delta);
        ++calls["crashPrice"];
    }

    // ================================================================ placing

    /// @notice The owner of a position places a stop-loss, take-profit, trailing stop or limit
    /// increase on it, the trigger 0.2-4% from the push price on its waiting side.
    function placeOnPosition(uint256 idSeed, uint256 kindSeed, uint256 distSeed, uint256 sizeSeed, uint256 feeSeed)
        external
    {
        (bool found, uint256 id, Position memory p, address owner) = _pickPosition(idSeed);
        if (!found || _live.length >= MAX_LIVE) return;
        OrderKind kind = [OrderKind.StopLoss, OrderKind.TakeProfit, OrderKind.TrailingStop, OrderKind.LimitIncrease][kindSeed % 4];
        OrderParams memory o = _params(kind, OrderTarget.Position, id, p.marketId, p.isLong, distSeed, kindSeed >> 2);
        if (kind == OrderKind.LimitIncrease) {
            o.amount = _bound(sizeSeed, 20 * one, 2_000 * one);
            o.size = _sizeFor(o.amount, sizeSeed >> 64, o.trigger);
        } else {
            o.size = sizeSeed % 2 == 0 ? 0 : _bound(sizeSeed >> 1, 1, p.size);
        }
        _place(owner, o, _orderFee(kind, feeSeed));
    }

    /// @notice A trader places a limit open 0.2-4% on the good side of the push price.
    function placeLimitOpen(
        uint256 actorSeed,
        uint256 marketSeed,
        bool isLong,
        uint256 amountSeed,
        uint256 distSeed,
        uint256 feeSeed
    ) external {
        if (_live.length >= MAX_LIVE) return;
        address owner = _traders[actorSeed % _traders.length];
        OrderParams memory o = _params(OrderKind.LimitOpen, OrderTarget.Position, 0, marketSeed % 2, isLong, distSeed, 0);
        o.amount = _bound(amountSeed, 20 * one, 5_000 * one);
        o.size = _sizeFor(o.amount, amountSeed >> 64, o.trigger);
        _place(owner, o, _orderFee(OrderKind.LimitOpen, feeSeed));
    }

    /// @notice The owner of a position places a bracket: a stop-loss and a take-profit that
    /// cancel each other.
    function placeBracket(uint256 idSeed, uint256 stopSeed, uint256 takeSeed, uint256 sizeSeed, uint256 feeSeed)
        external
    {
        (bool found, uint256 id, Position memory p, address owner) = _pickPosition(idSeed);
        if (!found || _live.length + 2 > MAX_LIVE) return;
        OrderParams memory sl = _params(OrderKind.StopLoss, OrderTarget.Position, id, p.marketId, p.isLong, stopSeed, stopSeed >> 64);
        OrderParams memory tp = _params(OrderKind.TakeProfit, OrderTarget.Position, id, p.marketId, p.isLong, takeSeed, takeSeed >> 64);
        sl.size = sizeSeed % 2 == 0 ? 0 : _bound(sizeSeed >> 1, 1, p.size);
        tp.size = sl.size;
        uint256 k = 1 + feeSeed % 3;
        uint256 slFee = book.quoteExecutionFee(OrderKind.StopLoss, GAS_PRICE) * k;
        uint256 tpFee = book.quoteExecutionFee(OrderKind.TakeProfit, GAS_PRICE) * k;
        uint256 nativeBefore = address(book).balance;
        vm.txGasPrice(GAS_PRICE);
        vm.prank(owner);
        try book.placeBracket{value: slFee + tpFee}(sl, tp) returns (uint256 slId, uint256 tpId) {
            _placed(slId, owner, OrderKind.StopLoss, 0, slFee);
            _placed(tpId, owner, OrderKind.TakeProfit, 0, tpFee);
            if (book.sibling(slId) != tpId || book.sibling(tpId) != slId) {
                _check(Check.Book, string.concat("bracket ", vm.toString(slId), " not linked"));
            }
            if (address(book).balance != nativeBefore + slFee + tpFee) _check(Check.Book, "bracket fee not escrowed");
            ++calls["place.bracket"];
        } catch (bytes memory err) {
            _check(Check.Book, string.concat("placeBracket reverted ", _selector(err)));
        }
    }

    /// @notice A stop-loss, take-profit or trailing stop attached to an open that has not filled:
    /// a new open request (filled later by `execute`, or never), or a live limit-open order.
    function placeAttached(uint256 seed, uint256 kindSeed, uint256 distSeed, uint256 feeSeed) external {
        if (_live.length >= MAX_LIVE) return;
        OrderKind kind = [OrderKind.StopLoss, OrderKind.TakeProfit, OrderKind.TrailingStop][kindSeed % 3];
        (bool found, uint256 limitId) = seed % 2 == 0 ? _pickLive(seed >> 1, OrderKind.LimitOpen) : (false, 0);
        OrderParams memory o;
        address owner;
        if (found) {
            Order memory l = book.order(limitId);
            owner = l.owner;
            o = _params(kind, OrderTarget.LimitOpenOrder, limitId, l.marketId, l.isLong, distSeed, kindSeed >> 2);
        } else {
            uint256 requestId = router.nextRequestId();
            requestOpen(seed >> 1, seed >> 8, seed % 3 == 0, AMOUNT_SEED_1000, 10e18 + (seed >> 16) % 20e18, 1);
            if (router.nextRequestId() == requestId) return;
            Ghost storage g = _ghost[requestId];
            owner = g.account;
            o = _params(kind, OrderTarget.OpenRequest, requestId, g.marketId, g.isLong, distSeed, kindSeed >> 2);
        }
        _place(owner, o, _orderFee(kind, feeSeed));
        ++calls[found ? bytes32("place.attachedToLimit") : bytes32("place.attachedToRequest")];
    }

    /// @notice The owner of a position sets a top-up guard: a threshold of 1.1-10x maintenance, an
    /// amount and executor fee, a budget of one to four top-ups (funded in the owner's wallet).
    function setTopUpGuard(uint256 idSeed, uint256 thresholdSeed, uint256 amountSeed, uint256 budgetSeed, uint256 expirySeed)
        external
    {
        (bool found, uint256 id,, address owner) = _pickPosition(idSeed);
        if (!found || _live.length >= MAX_LIVE) return;
        (uint256 threshold, uint256 amount, uint256 fee, uint256 budget) = _guardValues(thresholdSeed, amountSeed, budgetSeed);
        uint256 validUntil = _validUntil(expirySeed);
        vm.prank(owner);
        try book.setTopUpGuard(id, threshold, amount, budget, fee, validUntil) returns (uint256 guardId) {
            _placed(guardId, owner, OrderKind.None, 0, 0);
            _guardSet(guardId, budget);
            TopUpGuard memory g = book.topUpGuard(guardId);
            if (g.owner != owner || g.budget != budget || g.amount != amount || g.executorFee != fee) {
                _check(Check.Book, string.concat("guard ", vm.toString(guardId), " stored other than set"));
            }
            ++calls["place.guard"];
        } catch (bytes memory err) {
            _check(Check.Book, string.concat("setTopUpGuard reverted ", _selector(err)));
        }
    }

    /// @dev The params of an order of `kind` on a target of `marketId`/`isLong`: a trigger 0.2-4%
    /// from the push price on the side it waits (a trail of 0.1-3% for a trailing stop), and an
    /// acceptable price that is none, or up to 2% past the trigger.
    function _params(
        OrderKind kind,
        OrderTarget target,
        uint256 positionId,
        uint256 marketId,
        bool isLong,
        uint256 distSeed,
        uint256 acceptSeed
    ) internal view returns (OrderParams memory o) {
        (o.kind, o.target, o.positionId, o.marketId, o.isLong) = (kind, target, positionId, marketId, isLong);
        uint256 push = engine.price(marketId);
        bool sells = !OrderLogic.buys(kind, isLong);
        if (kind == OrderKind.TrailingStop) {
            o.trigger = _bound(distSeed, 10, 300);
        } else {
            uint256 d = _bound(distSeed, 20, 400);
            bool below = (kind == OrderKind.TakeProfit) != isLong;
            o.trigger = below ? push * (BPS - d) / BPS : push * (BPS + d) / BPS;
        }
        uint256 reference_ = kind == OrderKind.TrailingStop ? push : o.trigger;
        uint256 slip = _bound(acceptSeed >> 2, 0, 200);
        if (acceptSeed % 3 == 0) o.acceptablePrice = sells ? 0 : type(uint256).max;
        else o.acceptablePrice = sells ? reference_ * (BPS - slip) / BPS : reference_ * (BPS + slip) / BPS;
        o.validUntil = _validUntil(acceptSeed >> 16);
    }

    /// @dev A limit order's size: its amount at 2-30x leverage at its limit.
    function _sizeFor(uint256 amount, uint256 leverageSeed, uint256 limit) internal view returns (uint256) {
        uint256 size = (amount * _bound(leverageSeed, 2e18, 30e18)).mulDivDown(unit, WAD * limit);
        return size == 0 ? 1 : size;
    }

    function _guardValues(uint256 thresholdSeed, uint256 amountSeed, uint256 budgetSeed)
        internal
        view
        returns (uint256 threshold, uint256 amount, uint256 fee, uint256 budget)
    {
        threshold = _bound(thresholdSeed, 1.1e18, 10e18);
        amount = _bound(amountSeed, one, 300 * one);
        fee = _bound(amountSeed >> 128, 0, 2 * one);
        budget = _bound(budgetSeed, amount + fee, 4 * (amount + fee));
    }

    /// @dev Valid until cancelled three times in four, else for 1-600 s.
    function _validUntil(uint256 seed) internal view returns (uint256) {
        return seed % 4 != 3 ? 0 : block.timestamp + _bound(seed >> 2, 1, 600);
    }

    /// @dev The kind's quote at the test gas price, times 1-3.
    function _orderFee(OrderKind kind, uint256 seed) internal view returns (uint256) {
        return book.quoteExecutionFee(kind, GAS_PRICE) * (1 + seed % 3);
    }

    /// @dev Places one order and checks that exactly its amount and fee were escrowed and stored.
    function _place(address owner, OrderParams memory o, uint256 fee) internal {
        _fund(owner, o.amount);
        uint256 tokensBefore = token.balanceOf(address(book));
        uint256 nativeBefore = address(book).balance;
        vm.txGasPrice(GAS_PRICE);
        vm.prank(owner);
        try book.place{value: fee}(o) returns (uint256 id) {
            _placed(id, owner, o.kind, o.amount, fee);
            Order memory stored = book.order(id);
            if (stored.owner != owner || stored.amount != o.amount || stored.executionFee != fee || stored.kind != o.kind) {
                _check(Check.Book, string.concat("order ", vm.toString(id), " stored other than placed"));
            }
            if (token.balanceOf(address(book)) != tokensBefore + o.amount || address(book).balance != nativeBefore + fee) {
                _check(Check.Book, string.concat("order ", vm.toString(id), " escrowed other than its amount and fee"));
            }
            ++calls[bytes32(bytes(string.concat("place.", vm.toString(uint256(o.kind)))))];
        } catch (bytes memory err) {
            _check(Check.Book, string.concat("place of kind ", vm.toString(uint256(o.kind)), " reverted ", _selector(err)));
        }
    }

    function _placed(uint256 id, address owner, OrderKind kind, uint256 amount, uint256 fee) internal {
        if (_order[id].owner != address(0)) _check(Check.Book, string.concat("order id ", vm.toString(id), " reused"));
        OrderGhost storage g = _order[id];
        (g.owner, g.kind, g.amount, g.fee) = (owner, kind, amount, fee);
        _orderIds.push(id);
        _live.push(id);
    }

    function _guardSet(uint256 id, uint256 budget) internal {
        GuardGhost storage g = _guard[id];
        (g.budget, g.pulledSinceSet) = (budget, 0);
        g.budgetsSet += budget;
    }

    // ================================================================ editing, cancelling, pruning

    /// @notice The owner edits an order (a new trigger from the push price, size, expiry); one time
    /// in four a stranger tries and is refused.
    function editOrder(uint256 seed, uint256 distSeed, uint256 sizeSeed, uint256 acceptSeed) external {
        (bool found, uint256 id) = _pickLive(seed, OrderKind.None);
        if (!found || _order[id].kind == OrderKind.None) return;
        Order memory o = book.order(id);
        OrderParams memory p = _params(o.kind, o.target, o.positionId, o.marketId, o.isLong, distSeed, acceptSeed);
        uint256 size = o.kind == OrderKind.LimitOpen || o.kind == OrderKind.LimitIncrease
            ? _bound(sizeSeed, 1, uint256(o.size) * 2)
            : sizeSeed % 2 == 0 ? 0 : _bound(sizeSeed, 1, 100e18);
        bytes memory call = abi.encodeCall(IBulkheadOrderBook.edit, (id, size, p.trigger, p.acceptablePrice, p.validUntil));
        if (seed % 4 == 0) {
            _expectRefused(id, STRANGER, call, abi.encodeWithSelector(IBulkheadOrderBook.NotOrderOwner.selector, id, STRANGER), "stranger.edit");
            return;
        }
        vm.prank(o.owner);
        (bool ok, bytes memory err) = address(book).call(call);
        if (!ok) {
            _check(Check.Book, string.concat("edit of ", vm.toString(id), " reverted ", _selector(err)));
            return;
        }
        Order memory e = book.order(id);
        if (e.observedAfter != block.timestamp || e.amount != o.amount || e.executionFee != o.executionFee) {
            _check(Check.Book, string.concat("edit of ", vm.toString(id), " moved its escrow or observation time"));
        }
        ++calls["edit"];
    }

    /// @notice The owner edits a guard (its budget is set anew); one time in four a stranger tries.
    function editTopUpGuard(uint256 seed, uint256 thresholdSeed, uint256 amountSeed, uint256 budgetSeed) external {
        (bool found, uint256 id) = _pickGuard(seed);
        if (!found) return;
        (uint256 threshold, uint256 amount, uint256 fee, uint256 budget) = _guardValues(thresholdSeed, amountSeed, budgetSeed);
        bytes memory call = abi.encodeCall(IBulkheadOrderBook.editTopUpGuard, (id, threshold, amount, budget, fee, 0));
        if (seed % 4 == 0) {
            _expectRefused(id, STRANGER, call, abi.encodeWithSelector(IBulkheadOrderBook.NotOrderOwner.selector, id, STRANGER), "stranger.editGuard");
            return;
        }
        vm.prank(_order[id].owner);
        (bool ok, bytes memory err) = address(book).call(call);
        if (!ok) {
            _check(Check.Book, string.concat("editTopUpGuard of ", vm.toString(id), " reverted ", _selector(err)));
            return;
        }
        _guardSet(id, budget);
        ++calls["editGuard"];
    }

    /// @notice The owner cancels an order or guard (escrow and fee back); one time in four a
    /// stranger tries and is refused.
    function cancelOrder(uint256 seed) external {
        (bool found, uint256 id) = _pickLive(seed, OrderKind.None);
        if (!found) return;
        bytes memory call = abi.encodeCall(IBulkheadOrderBook.cancel, (id));
        if (seed % 4 == 0) {
            _expectRefused(id, STRANGER, call, abi.encodeWithSelector(IBulkheadOrderBook.NotOrderOwner.selector, id, STRANGER), "stranger.cancel");
            return;
        }
        if (_ending(id, _order[id].owner, call, End.Pruned)) ++calls["cancelled"];
    }

    /// @notice Anyone prunes an order or guard: it succeeds exactly when the order has expired or
    /// can never fill (its position is gone, its open never filled), else is refused.
    function prune(uint256 seed, uint256 callerSeed) external {
        (bool found, uint256 id) = _pickLive(seed, OrderKind.None);
        if (!found) return;
        address caller = _executors[callerSeed % _executors.length];
        bytes memory call = abi.encodeCall(IBulkheadOrderBook.prune, (id));
        if (!_prunable(id)) {
            _expectRefused(id, caller, call, abi.encodeWithSelector(IBulkheadOrderBook.OrderStillLive.selector, id), "pruneLive");
            return;
        }
        if (_ending(id, caller, call, End.Pruned)) ++calls["pruned"];
    }

    /// @notice Cancels every live order and guard (the end of a run).
    function cancelAllOrders() external {
        while (_live.length != 0) {
            uint256 id = _live[_live.length - 1];
            if (!_ending(id, _order[id].owner, abi.encodeCall(IBulkheadOrderBook.cancel, (id)), End.Pruned)) {
                _removeLive(id); // keeps the loop finite; the escrow invariants report it
            }
        }
    }

    /// @dev Runs a cancel or prune by `caller` and records what it returned to the owner.
    function _ending(uint256 id, address caller, bytes memory call, End deadMeans) internal returns (bool) {
        OrderGhost storage g = _order[id];
        uint256 bookBefore = token.balanceOf(address(book));
        uint256 ownerBefore = token.balanceOf(g.owner);
        uint256 nativeBefore = _bookNative(caller, g.owner);
        vm.txGasPrice(GAS_PRICE);
        vm.recordLogs();
        vm.prank(caller);
        (bool ok, bytes memory err) = address(book).call(call);
        if (!ok) {
            _check(Check.Book, string.concat("ending order ", vm.toString(id), " reverted ", _selector(err)));
            return false;
        }
        _readEndings(id, deadMeans);
        if (g.end == End.Live) _check(Check.Book, string.concat("order ", vm.toString(id), " ended without an event"));
        g.bookTokensOut = bookBefore - token.balanceOf(address(book));
        g.returnedToOwner = token.balanceOf(g.owner) - ownerBefore;
        g.nativePaidOut = _bookNative(caller, g.owner) - nativeBefore;
        return true;
    }

    // ================================================================ executing

    /// @notice An executor fills a limit, stop-loss or take-profit order with a report that crosses
    /// it: the push feed moves to the trigger and the report is at it (a limit: its fill side).
    /// It fills, or is refused with a named reason (its acceptable price, exactly when the fill is
    /// past it; the engine's margin and bounds) and changes nothing. An order that is expired,
    /// waiting for its open or whose position is gone is refused with that error.
    function executeCrossing(uint256 seed, uint256 spreadSeed, uint256 executorSeed) external {
        (bool found, uint256 id, Order memory o) = _pickExecutable(seed, false);
        if (!found) return;
        address executor = _executor(executorSeed, o.owner);
        if (_refusedForStatus(id, o, executor)) return;
        uint256 trigger = o.trigger;
        _setPush(o.marketId, trigger);
        bool buying = OrderLogic.buys(o.kind, o.isLong);
        bool limit = o.kind == OrderKind.LimitOpen || o.kind == OrderKind.LimitIncrease;
        uint256 half = trigger * _bound(spreadSeed, 0, 30) / BPS;
        uint256 price = !limit ? trigger : buying ? trigger - half : trigger + half;
        uint256 fill = buying ? price + half : price - half;
        bytes memory report = signer.sign(signer.report(_feedIds[o.marketId], block.timestamp, price, price - half, price + half));
        bytes memory call = abi.encodeCall(IBulkheadOrderBook.execute, (id, report));
        if (buying ? fill > o.acceptablePrice : fill < o.acceptablePrice) {
            bytes memory expected = abi.encodeWithSelector(
                IBulkheadOrderBook.FillPastAcceptablePrice.selector, id, o.acceptablePrice, fill
            );
            _expectRefused(id, executor, call, expected, "refused.acceptable");
            return;
        }
        _execute(id, o, executor, call, fill);
    }

    /// @notice An executor tries a report that must not fill: one that does not cross (the push
    /// feed 1.5% on the order's waiting side), one observed when the order was placed or edited,
    /// or one older than the book's maximum age. Each reverts with its exact error and changes nothing.
    function executeNotCrossing(uint256 seed, uint256 variantSeed, uint256 spreadSeed, uint256 executorSeed) external {
        (bool found, uint256 id, Order memory o) = _pickExecutable(seed, false);
        if (!found) return;
        uint256 variant = variantSeed % 3;
        uint256 maxAge = book.maxReportAge();
        if (variant == 1 && block.timestamp - o.observedAfter > 3_000) variant = 0;
        if (variant == 2 && block.timestamp < o.observedAfter + maxAge + 2) _warpTo(o.observedAfter + maxAge + 2);
        address executor = _executor(executorSeed, o.owner);
        if (_refusedForStatus(id, o, executor)) return;
        bytes32 feedId = _feedIds[o.marketId];
        bytes memory report;
        bytes memory expected;
        if (variant == 0) {
            bool below = (o.kind == OrderKind.TakeProfit) != o.isLong;
            uint256 price = _setPush(o.marketId, below ? uint256(o.trigger) * (BPS + 150) / BPS : uint256(o.trigger) * (BPS - 150) / BPS);
            uint256 half = price * _bound(spreadSeed, 0, 20) / BPS;
            report = signer.sign(signer.report(feedId, block.timestamp, price, price - half, price + half));
            bool limit = o.kind == OrderKind.LimitOpen || o.kind == OrderKind.LimitIncrease;
            uint256 observed = !limit ? price : OrderLogic.buys(o.kind, o.isLong) ? price + half : price - half;
            expected = abi.encodeWithSelector(IBulkheadOrderBook.TriggerNotCrossed.selector, id, o.trigger, observed);
        } else {
            uint256 push = engine.price(o.marketId);
            uint256 t = variant == 1 ? o.observedAfter : block.timestamp - maxAge - 1;
            report = signer.sign(signer.report(feedId, t, push, push, push));
            expected = variant == 1
                ? abi.encodeWithSelector(IBulkheadOrderBook.ReportNotAfterOrder.selector, id, t, o.observedAfter)
                : abi.encodeWithSelector(IBulkheadOrderBook.ReportTooOld.selector, t, maxAge, block.timestamp);
        }
        _expectRefused(
            id,
            executor,
            abi.encodeCall(IBulkheadOrderBook.execute, (id, report)),
            expected,
            variant == 0 ? bytes32("refused.notCrossed") : variant == 1 ? bytes32("refused.notAfterOrder") : bytes32("refused.tooOld")
        );
    }

    /// @notice An executor proves a trailing stop with the push feed's history as the DON's
    /// reports: the extreme round observed after the order and before now, and a report at the
    /// push price now. It fills exactly when that pair is the trail apart (else TrailNotReached);
    /// a peak observed when the order was placed, or at the second report's time, is refused. A
    /// fill is checked against the true trailing stop on the whole history since placement.
    function executeTrailingStop(uint256 seed, uint256 variantSeed, uint256 executorSeed) external {
        (bool found, uint256 id, Order memory o) = _pickExecutable(seed, true);
        if (!found) return;
        address executor = _executor(executorSeed, o.owner);
        (uint256 peak, uint256 peakAt, uint256 trueExtreme) = _history(o.marketId, o.isLong, o.observedAfter);
        if (peakAt == 0) {
            // A round after the order and before now, for the peak report.
            _warpTo(block.timestamp);
            _warpTo(block.timestamp + 1);
            (peak, peakAt, trueExtreme) = _history(o.marketId, o.isLong, o.observedAfter);
        }
        if (_refusedForStatus(id, o, executor)) return;
        uint256 push = engine.price(o.marketId);
        bytes32 feedId = _feedIds[o.marketId];
        uint256 variant = variantSeed % 4; // one in two honest
        if (variant == 2) (peak, peakAt) = (push, o.observedAfter);
        if (variant == 3) (peak, peakAt) = (push, block.timestamp);
        bytes memory call = abi.encodeCall(
            IBulkheadOrderBook.executeTrailingStop,
            (
                id,
                signer.sign(signer.report(feedId, peakAt, peak, peak, peak)),
                signer.sign(signer.report(feedId, block.timestamp, push, push, push))
            )
        );
        if (variant == 2) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.ReportNotAfterOrder.selector, id, peakAt, o.observedAfter), "refused.peakNotAfterOrder");
        } else if (variant == 3) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.TrailingReportsOutOfOrder.selector, peakAt, peakAt), "refused.peakOutOfOrder");
        } else if (!OrderLogic.trailReached(o.isLong, o.trigger, peak, push)) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.TrailNotReached.selector, id, peak, push, o.trigger), "refused.trailNotReached");
        } else if (o.isLong ? push < o.acceptablePrice : push > o.acceptablePrice) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.FillPastAcceptablePrice.selector, id, o.acceptablePrice, push), "refused.acceptable");
        } else {
            bool due = o.isLong
                ? push * BPS <= trueExtreme * (BPS - o.trigger)
                : push * BPS >= trueExtreme * (BPS + o.trigger);
            if (_execute(id, o, executor, call, push) && !due) {
                _check(Check.Trail, string.concat("trailing stop ", vm.toString(id), " filled before the true trailing stop"));
            }
        }
    }

    /// @notice An executor tops up a guarded position at a report at the push price: it moves the
    /// amount into the vault and the fee to the executor exactly when the health factor there is
    /// below the threshold, else is refused (PositionHealthy) and changes nothing.
    function executeTopUp(uint256 seed, uint256 executorSeed) external {
        (bool found, uint256 id) = _pickGuard(seed);
        if (!found) return;
        TopUpGuard memory g = book.topUpGuard(id);
        if (block.timestamp <= g.observedAfter) _warpTo(uint256(g.observedAfter) + 1);
        address executor = _executors[executorSeed % 2];
        Position memory p = engine.position(g.positionId);
        bool gone = !_canTrade(g.positionId, g.owner);
        uint256 push = engine.price(p.marketId);
        bytes memory call = abi.encodeCall(
            IBulkheadOrderBook.executeTopUp, (id, signer.sign(signer.report(_feedIds[p.marketId], block.timestamp, push, push, push)))
        );
        if (g.validUntil != 0 && block.timestamp > g.validUntil) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.OrderExpired.selector, id, g.validUntil, block.timestamp), "refused.expired");
            return;
        }
        if (gone) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.OrderPositionGone.selector, id, g.positionId), "refused.gone");
            return;
        }
        Health memory h = HealthLib.health(
            p, engine.riskParams(p.marketId, p.riskVersion), push, engine.currentBorrowIndex(p.marketId), unit
        );
        if (h.equity * int256(WAD) >= int256(uint256(g.threshold) * h.maintenance)) {
            int256 factor = h.equity * int256(WAD) / int256(h.maintenance);
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.PositionHealthy.selector, id, factor, g.threshold), "refused.healthy");
            return;
        }
        int256 equityAfter = h.equity + int256(uint256(g.amount));
        if (equityAfter < int256(h.maintenance)) {
            _expectRefused(id, executor, call, abi.encodeWithSelector(IBulkheadOrderBook.TopUpCannotSave.selector, id, equityAfter, h.maintenance), "refused.cannotSave");
            return;
        }
        _topUp(id, g, executor, call);
    }

    function _topUp(uint256 id, TopUpGuard memory g, address executor, bytes memory call) internal {
        _fund(g.owner, uint256(g.amount) + g.executorFee);
        address vault = engine.vaultOf(g.positionId);
        uint256 ownerBefore = token.balanceOf(g.owner);
        uint256 vaultBefore = token.balanceOf(vault);
        uint256 executorBefore = token.balanceOf(executor);
        uint256 collateralBefore = engine.position(g.positionId).collateral;
        vm.recordLogs();
        vm.prank(executor);
        (bool ok, bytes memory err) = address(book).call(call);
        if (!ok) {
            _check(Check.Guard, string.concat("top-up of ", vm.toString(id), " below its threshold reverted ", _selector(err)));
            return;
        }
        _readEndings(id, End.Exhausted);
        GuardGhost storage gg = _guard[id];
        uint256 pulled = ownerBefore - token.balanceOf(g.owner);
        gg.pulledSinceSet += pulled;
        gg.pulledTotal += pulled;
        ++gg.topUps;
        ++calls["topUp"];
        if (pulled != uint256(g.amount) + g.executorFee) _check(Check.Guard, "top-up pulled other than amount + fee");
        if (token.balanceOf(vault) - vaultBefore != g.amount || engine.position(g.positionId).collateral != collateralBefore + g.amount) {
            _check(Check.Guard, "top-up moved other than its amount into the vault");
        }
        if (token.balanceOf(executor) - executorBefore != g.executorFee) _check(Check.Guard, "top-up paid the executor other than its fee");
        TopUpGuard memory after_ = book.topUpGuard(id);
        if (_order[id].end == End.Live) {
            if (after_.budget != gg.budget - gg.pulledSinceSet) _check(Check.Guard, "guard budget left != set - pulled");
        } else if (after_.owner != address(0) || gg.budget - gg.pulledSinceSet >= pulled) {
            _check(Check.Guard, "guard deleted while it could pay another top-up, or kept after");
        }
    }

    /// @dev Runs an execution expected to fill (or be refused by a named rule of the engine or the
    /// router) and records what it moved: the book's tokens, the fee split and the native tokens
    /// paid, a limit's escrow into the vault and pool. Returns whether it filled.
    function _execute(uint256 id, Order memory o, address executor, bytes memory call, uint256 fill)
        internal
        returns (bool)
    {
        OrderGhost storage g = _order[id];
        (uint256 positionId,) = _positionOf(o);
        address vault = engine.vaultOf(o.kind == OrderKind.LimitOpen ? engine.nextPositionId() : positionId);
        uint256 bookBefore = token.balanceOf(address(book));
        uint256 vaultPoolBefore = token.balanceOf(vault) + token.balanceOf(address(pool));
        uint256 nativeBefore = _bookNative(executor, g.owner);
        bytes32 before = _state(id);
        vm.txGasPrice(GAS_PRICE);
        vm.recordLogs();
        vm.prank(executor);
        (bool ok, bytes memory ret) = address(book).call(call);
        if (!ok) {
            if (!_namedRefusal(ret)) {
                _check(Check.Refusal, string.concat("crossed order ", vm.toString(id), " reverted ", _selector(ret)));
            }
            if (_state(id) != before) _check(Check.Refusal, string.concat("a refused fill changed order ", vm.toString(id)));
            ++calls["refused.engine"];
            return false;
        }
        uint256 siblingPaid = _readEndings(id, End.Pruned);
        if (g.end != End.Executed) _check(Check.Book, string.concat("order ", vm.toString(id), " filled without OrderExecuted"));
        g.bookTokensOut = bookBefore - token.balanceOf(address(book));
        g.nativePaidOut = _bookNative(executor, g.owner) - nativeBefore - siblingPaid;
        ++calls[bytes32(bytes(string.concat("executed.", vm.toString(uint256(o.kind)))))];
        if (o.kind == OrderKind.LimitOpen) {
            positionId = abi.decode(ret, (uint256));
            _openIds.push(positionId);
            uint256 openFee = PositionMath.notionalUp(engine.position(positionId).size, fill, unit).wMulUp(
                engine.market(o.marketId).openFeeRate
            );
            g.collateralPlusOpenFee = engine.position(positionId).collateral + openFee;
        }
        if (o.kind == OrderKind.LimitOpen || o.kind == OrderKind.LimitIncrease) {
            g.vaultAndPoolIn = token.balanceOf(vault) + token.balanceOf(address(pool)) - vaultPoolBefore;
        }
        if (engine.position(positionId).size == 0) {
            _removeOpen(positionId);
        } else if (engine.isLiquidatable(positionId)) {
            _check(Check.Health, string.concat("position ", vm.toString(positionId), " liquidatable right after order ", vm.toString(id)));
        }
        return true;
    }

    /// @dev Runs a call that must revert with exactly `expected` and leave the order, the book's
    /// balances and the positions unchanged.
    function _expectRefused(uint256 id, address caller, bytes memory call, bytes memory expected, bytes32 name) internal {
        bytes32 before = _state(id);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(caller);
        (bool ok, bytes memory err) = address(book).call(call);
        if (ok) {
            _check(Check.Refusal, string.concat(_name(name), ": order ", vm.toString(id), " went through"));
        } else if (keccak256(err) != keccak256(expected)) {
            _check(Check.Refusal, string.concat(_name(name), ": reverted with ", _hex(err), " not ", _hex(expected)));
        }
        if (_state(id) != before) _check(Check.Refusal, string.concat(_name(name), ": changed order ", vm.toString(id)));
        ++calls[name];
    }

    /// @dev Refuses, with the book's exact error, an order that has expired, waits for its open,
    /// or whose position is gone; returns whether it did.
    function _refusedForStatus(uint256 id, Order memory o, address executor) internal returns (bool) {
        bytes memory expected;
        bytes32 name;
        (uint256 positionId, bool pending) = _positionOf(o);
        if (o.validUntil != 0 && block.timestamp > o.validUntil) {
            (expected, name) = (abi.encodeWithSelector(IBulkheadOrderBook.OrderExpired.selector, id, o.validUntil, block.timestamp), "refused.expired");
        } else if (o.kind == OrderKind.LimitOpen) {
            return false;
        } else if (pending) {
            (expected, name) = (abi.encodeWithSelector(IBulkheadOrderBook.OrderNotActive.selector, id), "refused.notActive");
        } else if (!_canTrade(positionId, o.owner)) {
            (expected, name) = (abi.encodeWithSelector(IBulkheadOrderBook.OrderPositionGone.selector, id, positionId), "refused.gone");
        } else {
            return false;
        }
        uint256 push = engine.price(o.marketId);
        bytes memory report = signer.sign(signer.report(_feedIds[o.marketId], block.timestamp, push, push, push));
        bytes memory call = o.kind == OrderKind.TrailingStop
            ? abi.encodeCall(IBulkheadOrderBook.executeTrailingStop, (id, report, report))
            : abi.encodeCall(IBulkheadOrderBook.execute, (id, report));
        _expectRefused(id, executor, call, expected, name);
        return true;
    }

    /// @dev The engine's and router's named refusals of a crossed order's trade.
    function _namedRefusal(bytes memory err) internal pure returns (bool) {
        if (err.length < 4) return false;
        bytes4 s = bytes4(err);
        return s == IBulkhead.InsufficientMargin.selector || s == IBulkhead.CollateralBelowMinimum.selector
            || s == IBulkhead.OpenInterestCapExceeded.selector || s == IBulkhead.InsufficientFreeLiquidity.selector
            || s == IBulkhead.PositionUnderwater.selector || s == IBulkhead.AmountTooLarge.selector
            || s == IBulkhead.CollateralTooLow.selector || s == IBulkheadRouter.LiquidatableAfterFill.selector
            || s == IBulkheadRouter.AmountBelowOpenFee.selector;
    }

    /// @dev Reads the book's endings in the recorded logs: each marks its ghost ended (once) with
    /// the fee split it emitted. Returns the native tokens the endings other than the caller's
    /// own order paid (a cancelled bracket sibling's refund), which the caller's measurement includes.
    function _readEndings(uint256 orderId, End deadMeans) internal returns (uint256 othersPaid) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(book)) continue;
            bytes32 topic = logs[i].topics[0];
            End end;
            uint256 toExecutor;
            uint256 refund;
            if (topic == IBulkheadOrderBook.OrderExecuted.selector) {
                (,, toExecutor, refund) = abi.decode(logs[i].data, (uint256, uint256, uint256, uint256));
                end = End.Executed;
            } else if (topic == IBulkheadOrderBook.OrderCancelled.selector) {
                CancelReason reason;
                (reason, toExecutor, refund) = abi.decode(logs[i].data, (CancelReason, uint256, uint256));
                end = reason == CancelReason.Owner ? End.CancelledByOwner : reason == CancelReason.Sibling ? End.CancelledSibling : deadMeans;
            } else {
                continue;
            }
            uint256 id = uint256(logs[i].topics[1]);
            OrderGhost storage g = _order[id];
            if (g.owner == address(0)) _check(Check.Book, string.concat("unknown order ", vm.toString(id), " ended"));
            if (++g.ends > 1) _check(Check.Book, string.concat("order ", vm.toString(id), " ended twice"));
            (g.end, g.toExecutor, g.refund) = (end, toExecutor, refund);
            _removeLive(id);
            if (id != orderId) {
                // A sibling's whole fee goes to the owner, measured with the executed order's payout.
                g.nativePaidOut = refund;
                othersPaid += refund;
            }
        }
    }

    // ================================================================ views for the invariants

    function allOrders() external view returns (uint256[] memory) {
        return _orderIds;
    }

    function liveOrders() external view returns (uint256[] memory) {
        return _live;
    }

    function orderGhost(uint256 id) external view returns (OrderGhost memory) {
        return _order[id];
    }

    function guardGhost(uint256 id) external view returns (GuardGhost memory) {
        return _guard[id];
    }

    // ================================================================ helpers

    /// @dev A live order (of `kind`, or any kind for None).
    function _pickLive(uint256 seed, OrderKind kind) internal view returns (bool, uint256) {
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _live[(seed % n + i) % n];
            if (kind == OrderKind.None || _order[id].kind == kind) return (true, id);
        }
        return (false, 0);
    }

    /// @dev A live top-up guard.
    function _pickGuard(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _live[(seed % n + i) % n];
            if (_order[id].kind == OrderKind.None) return (true, id);
        }
        return (false, 0);
    }

    /// @dev A live order executable with `execute` (or, if `trailing`, a trailing stop), with time
    /// moved past its observation second so a report now is after it.
    function _pickExecutable(uint256 seed, bool trailing) internal returns (bool, uint256, Order memory o) {
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _live[(seed % n + i) % n];
            OrderKind kind = _order[id].kind;
            if (kind == OrderKind.None || (kind == OrderKind.TrailingStop) != trailing) continue;
            o = book.order(id);
            if (block.timestamp <= o.observedAfter) _warpTo(uint256(o.observedAfter) + 1);
            return (true, id, o);
        }
        return (false, 0, o);
    }

    /// @dev The book's view of an order's position: its own, or its source's (pending while that
    /// open may still fill: it exists and has not expired).
    function _positionOf(Order memory o) internal view returns (uint256 positionId, bool pending) {
        if (o.kind == OrderKind.LimitOpen) return (0, false);
        if (o.target == OrderTarget.Position) return (o.positionId, false);
        positionId = book.attachedPosition(o.target, o.positionId);
        if (positionId != 0) return (positionId, false);
        if (o.target == OrderTarget.OpenRequest) {
            TradeRequest memory r = router.request(o.positionId);
            pending = r.kind != RequestKind.None && block.timestamp <= uint256(r.createdAt) + r.expiry;
        } else {
            Order memory l = book.order(o.positionId);
            pending = l.kind != OrderKind.None && (l.validUntil == 0 || block.timestamp <= l.validUntil);
        }
    }

    /// @dev The handler approves no one: a position can be traded by its owner only.
    function _canTrade(uint256 positionId, address owner) internal view returns (bool) {
        return positionId != 0 && engine.position(positionId).size != 0 && engine.ownerOf(positionId) == owner;
    }

    function _prunable(uint256 id) internal view returns (bool) {
        if (_order[id].kind == OrderKind.None) {
            TopUpGuard memory g = book.topUpGuard(id);
            return (g.validUntil != 0 && block.timestamp > g.validUntil) || !_canTrade(g.positionId, g.owner);
        }
        Order memory o = book.order(id);
        if (o.validUntil != 0 && block.timestamp > o.validUntil) return true;
        if (o.kind == OrderKind.LimitOpen) return false;
        (uint256 positionId, bool pending) = _positionOf(o);
        return !pending && !_canTrade(positionId, o.owner);
    }

    /// @dev The extreme price (max for a long, min for a short) of the push feed's rounds observed
    /// after `observedAfter` and before now, its time, and the true extreme including now.
    function _history(uint256 marketId, bool isLong, uint256 observedAfter)
        internal
        view
        returns (uint256 peak, uint256 peakAt, uint256 trueExtreme)
    {
        MockV3Aggregator feed = _feeds[marketId];
        uint256 scale = 10 ** (18 - feed.decimals());
        for (uint80 round = uint80(feed.latestRound()); round != 0; --round) {
            (, int256 answer,, uint256 updatedAt,) = feed.getRoundData(round);
            if (updatedAt <= observedAfter) break;
            uint256 price = uint256(answer) * scale;
            if (trueExtreme == 0 || (isLong ? price > trueExtreme : price < trueExtreme)) trueExtreme = price;
            if (updatedAt >= block.timestamp) continue;
            if (peak == 0 || (isLong ? price > peak : price < peak)) (peak, peakAt) = (price, updatedAt);
        }
    }

    /// @dev Sets the push feed as close to `price` as its decimals allow; returns the WAD price set.
    function _setPush(uint256 marketId, uint256 price) internal returns (uint256) {
        MockV3Aggregator feed = _feeds[marketId];
        uint256 scale = 10 ** (18 - feed.decimals());
        feed.updateAnswer(int256(price / scale));
        return price / scale * scale;
    }

    /// @dev What a refused call must leave unchanged: the order or guard, its bracket link, the
    /// book's balances and its next id, and the order's position.
    function _state(uint256 id) internal view returns (bytes32) {
        Order memory o = book.order(id);
        uint256 positionId = o.target == OrderTarget.Position ? o.positionId : book.attachedPosition(o.target, o.positionId);
        if (o.kind == OrderKind.None) positionId = book.topUpGuard(id).positionId;
        return keccak256(
            abi.encode(
                o,
                book.topUpGuard(id),
                book.sibling(id),
                token.balanceOf(address(book)),
                address(book).balance,
                book.nextOrderId(),
                engine.position(positionId)
            )
        );
    }

    /// @dev Native tokens of `a` and `b` (once if the same), paid or owed by the book.
    function _bookNative(address a, address b) internal view returns (uint256 sum) {
        sum = a.balance + book.nativeOwed(a);
        if (b != a) sum += b.balance + book.nativeOwed(b);
    }

    function _removeLive(uint256 id) internal {
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            if (_live[i] == id) {
                _live[i] = _live[n - 1];
                _live.pop();
                return;
            }
        }
    }

    function _name(bytes32 name) internal pure returns (string memory out) {
        uint256 n;
        while (n < 32 && name[n] != 0) ++n;
        out = new string(n);
        for (uint256 i; i < n; ++i) bytes(out)[i] = name[i];
    }

    function _hex(bytes memory b) internal pure returns (string memory) {
        bytes memory out = new bytes(2 * b.length);
        bytes16 digits = "0123456789abcdef";
        for (uint256 i; i < b.length; ++i) {
            (out[2 * i], out[2 * i + 1]) = (digits[uint8(b[i]) >> 4], digits[uint8(b[i]) & 15]);
        }
        return string(out);
    }

    function _check(Check kind, string memory why) internal {
        if (bytes(finding[kind]).length == 0) finding[kind] = why;
    }
}
