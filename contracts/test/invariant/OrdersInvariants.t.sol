// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BulkheadOrderBook} from "../../BulkheadOrderBook.sol";
import {Order, OrderKind, TopUpGuard} from "../../interfaces/IBulkheadOrderBook.sol";
import {RequestsHandler} from "./RequestsHandler.sol";
import {OrdersHandler} from "./OrdersHandler.sol";
import {RequestSystemBase} from "./RequestSystemBase.sol";

/// @notice DESIGN.md invariant 11 (escrow) for trigger orders, with 2, 5 and 12: orders of every
/// kind placed, edited, cancelled, pruned and executed with reports verified by Chainlink's real
/// Verifier (crossing and not, too early, too old; trailing stops proved on the push history),
/// top-up guards executed, positions opened through requests, liquidated, prices moved and crashed.
/// forge-config: default.invariant.runs = 128
/// forge-config: default.invariant.depth = 60
contract OrdersInvariantsTest is RequestSystemBase {
    BulkheadOrderBook internal book;
    OrdersHandler internal handler;
    /// @dev Orders ended by the starting book, before the first run.
    uint256 internal _setUpEnded;

    function setUp() public {
        _deployRequestSystem();
        book = new BulkheadOrderBook(router);
        router.setOrderBook(address(book));
        handler = new OrdersHandler(engine, pool, router, signer, [ethFeed, btcFeed], [ETH_FEED_ID, BTC_FEED_ID], book);

        // A starting book: four positions, and on them a bracket, a trailing stop, a limit
        // increase and a top-up guard; a limit open on each market.
        _openStartingBook(handler);
        handler.placeBracket(0, 100, 200, 0, 0);
        handler.placeOnPosition(1, 2, 50, 0, 0);
        handler.placeOnPosition(2, 3, 100, 500e6, 0);
        handler.setTopUpGuard(2, 5e18, 50e6, 200e6, 0);
        handler.placeLimitOpen(0, 0, true, 1_000e6, 150, 0);
        handler.placeLimitOpen(1, 1, false, 1_000e6, 150, 0);
        _setUpEnded = _ended();

        bytes4[] memory selectors = new bytes4[](20);
        selectors[0] = OrdersHandler.openPosition.selector;
        selectors[1] = OrdersHandler.placeOnPosition.selector;
        selectors[2] = OrdersHandler.placeLimitOpen.selector;
        selectors[3] = OrdersHandler.placeBracket.selector;
        selectors[4] = OrdersHandler.placeAttached.selector;
        selectors[5] = OrdersHandler.setTopUpGuard.selector;
        selectors[6] = OrdersHandler.editOrder.selector;
        selectors[7] = OrdersHandler.editTopUpGuard.selector;
        selectors[8] = OrdersHandler.cancelOrder.selector;
        selectors[9] = OrdersHandler.prune.selector;
        selectors[10] = OrdersHandler.executeCrossing.selector;
        selectors[11] = OrdersHandler.executeNotCrossing.selector;
        selectors[12] = OrdersHandler.executeTrailingStop.selector;
        selectors[13] = OrdersHandler.executeTopUp.selector;
        selectors[14] = OrdersHandler.liquidate.selector;
        selectors[15] = OrdersHandler.crashPrice.selector;
        selectors[16] = RequestsHandler.execute.selector;
        selectors[17] = RequestsHandler.requestClose.selector;
        selectors[18] = RequestsHandler.movePrice.selector;
        selectors[19] = RequestsHandler.warp.selector;
        targetContract(address(handler));
        // One caller outside the accounting (see RequestsInvariants.t.sol).
        targetSender(address(0xCA11E4));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---------------------------------------------------------------- 1. tokens

    /// @notice [1] The book holds exactly the live limit orders' escrowed amounts, and every live
    /// order is stored with the owner, amount and fee it escrowed.
    function invariant_BookTokensEqualLiveEscrow() public view {
        uint256[] memory live = handler.liveOrders();
        uint256 sum;
        for (uint256 i; i < live.length; ++i) {
            OrdersHandler.OrderGhost memory g = handler.orderGhost(live[i]);
            if (g.kind != OrderKind.None) {
                Order memory o = book.order(live[i]);
                string memory which = string.concat("live order ", vm.toString(live[i]));
                assertEq(o.owner, g.owner, string.concat(which, " stored owner"));
                assertEq(o.amount, g.amount, string.concat(which, " stored amount != escrowed"));
                assertEq(o.executionFee, g.fee, string.concat(which, " stored fee != escrowed"));
            }
            sum += g.amount;
        }
        assertEq(token.balanceOf(address(book)), sum, "book token balance != sum of live limit amounts");
    }

    // ---------------------------------------------------------------- 2. native

    /// @notice [2] The book's native balance is exactly the live orders' fees plus what it owes the
    /// recipients that refused a payment.
    function invariant_BookNativeEqualsLiveFeesPlusOwed() public view {
        uint256[] memory live = handler.liveOrders();
        uint256 fees;
        for (uint256 i; i < live.length; ++i) {
            fees += handler.orderGhost(live[i]).fee;
        }
        address[] memory actors = handler.actors();
        uint256 owed;
        for (uint256 i; i < actors.length; ++i) {
            owed += book.nativeOwed(actors[i]);
        }
        assertEq(address(book).balance, fees + owed, string.concat(
            "book native != live fees ", vm.toString(fees), " + owed ", vm.toString(owed)
        ));
    }

    // ---------------------------------------------------------------- 3. ended once, paid out exactly

    /// @notice [3] Every order or guard placed is still live (stored) or ended exactly once
    /// (executed, cancelled by its owner or as a bracket sibling, pruned, or a guard exhausted),
    /// and is then gone from the book.
    function invariant_EveryOrderEndedOnceOrLive() public view {
        uint256[] memory all = handler.allOrders();
        for (uint256 i; i < all.length; ++i) {
            OrdersHandler.OrderGhost memory g = handler.orderGhost(all[i]);
            string memory which = string.concat("order ", vm.toString(all[i]));
            bool stored = g.kind == OrderKind.None
                ? book.topUpGuard(all[i]).owner != address(0)
                : book.order(all[i]).kind != OrderKind.None;
            assertLe(g.ends, 1, string.concat(which, " ended more than once"));
            assertEq(stored, g.end == OrdersHandler.End.Live, string.concat(which, " stored != live"));
            if (g.end == OrdersHandler.End.Live) assertEq(g.ends, 0, string.concat(which, " live but ended"));
        }
    }

    /// @notice [4] Every ended order paid out exactly: its whole fee reached (or is owed to) the
    /// executor or pruner and the owner (all of it to the owner when the owner or a sibling's fill
    /// cancelled it); its escrow came back to the owner to the unit (cancelled, pruned) or was spent
    /// on its fill (executed: the book paid out exactly the amount, which reached the vault and the
    /// pool, an open's as collateral plus open fee); an exit moved no token out of the book.
    function invariant_EveryEndedOrderPaidOutExactly() public view {
        uint256[] memory all = handler.allOrders();
        for (uint256 i; i < all.length; ++i) {
            _assertPaidOutExactly(all[i]);
        }
    }

    function _assertPaidOutExactly(uint256 id) internal view {
        OrdersHandler.OrderGhost memory g = handler.orderGhost(id);
        if (g.end == OrdersHandler.End.Live) return;
        string memory which = string.concat("order ", vm.toString(id));
        assertEq(g.toExecutor + g.refund, g.fee, string.concat(which, " executor fee + refund != fee"));
        assertEq(g.nativePaidOut, g.fee, string.concat(which, " native paid (or owed) to executor and owner != fee"));
        assertEq(g.bookTokensOut, g.amount, string.concat(which, " tokens out of the book != escrowed amount"));
        if (g.end == OrdersHandler.End.Executed) {
            if (g.kind == OrderKind.LimitOpen || g.kind == OrderKind.LimitIncrease) {
                assertEq(g.vaultAndPoolIn, g.amount, string.concat(which, " filled: vault + pool received != amount"));
            }
            if (g.kind == OrderKind.LimitOpen) {
                assertEq(g.collateralPlusOpenFee, g.amount, string.concat(which, " filled open: collateral + open fee != amount"));
            }
            return;
        }
        if (g.end == OrdersHandler.End.CancelledSibling) return; // no escrow, whole fee to the owner (above)
        assertEq(g.returnedToOwner, g.amount, string.concat(which, " ended unfilled: returned to the owner != amount"));
        if (g.end == OrdersHandler.End.CancelledByOwner) {
            assertEq(g.toExecutor, 0, string.concat(which, " cancelled by its owner: executor fee != 0"));
        }
    }

    // ---------------------------------------------------------------- 5. guards

    /// @notice [5] No guard ever pulled more than its budget: since it was last set, its top-ups
    /// (amount + executor fee each) total at most that budget, the rest is what it stores, and in
    /// all at most the budgets it was ever given.
    function invariant_GuardNeverExceedsBudget() public view {
        uint256[] memory all = handler.allOrders();
        for (uint256 i; i < all.length; ++i) {
            if (handler.orderGhost(all[i]).kind != OrderKind.None) continue;
            OrdersHandler.GuardGhost memory g = handler.guardGhost(all[i]);
            string memory which = string.concat("guard ", vm.toString(all[i]));
            assertLe(g.pulledSinceSet, g.budget, string.concat(which, " pulled past its budget"));
            assertLe(g.pulledTotal, g.budgetsSet, string.concat(which, " pulled past every budget it was set"));
            TopUpGuard memory stored = book.topUpGuard(all[i]);
            if (stored.owner != address(0)) {
                assertEq(stored.budget, g.budget - g.pulledSinceSet, string.concat(which, " stored budget != set - pulled"));
            }
        }
        _assertNoFinding(OrdersHandler.Check.Guard);
    }

    // ---------------------------------------------------------------- 6. pool, router and health

    /// @notice [6] The pool holds exactly LP assets + insurance fund + protocol fees, LP assets
    /// cover the reserved max profit, every open vault holds at least its collateral; the router
    /// holds exactly the pending requests' escrow (an order's trade passes through it in the call).
    function invariant_PoolConservedAndVaultsCovered() public view {
        _assertPoolConservedAndVaultsCovered(handler.openIds());
        uint256[] memory pending = handler.pendingRequests();
        uint256 sum;
        for (uint256 i; i < pending.length; ++i) {
            sum += handler.ghost(pending[i]).amount;
        }
        assertEq(token.balanceOf(address(router)), sum, "router token balance != sum of pending amounts");
    }

    /// @notice [7] No fill (of an order or a request) left its position liquidatable at the push
    /// price, and no trailing stop filled before the true trailing stop on the push history.
    function invariant_NoFillLeavesAPositionLiquidatable() public view {
        _assertNoFinding(OrdersHandler.Check.Health);
        _assertNoFinding(OrdersHandler.Check.Trail);
        string memory why = handler.violation(RequestsHandler.Kind.Health);
        if (bytes(why).length != 0) revert(why);
    }

    /// @notice Every placement, edit, cancellation and prune the handler expected went through and
    /// was stored as asked; every refused call reverted with its exact error and changed nothing.
    function invariant_HandlerExpectationsHeld() public view {
        _assertNoFinding(OrdersHandler.Check.Book);
        _assertNoFinding(OrdersHandler.Check.Refusal);
        string memory why = handler.violation(RequestsHandler.Kind.Escrow);
        if (bytes(why).length != 0) revert(why);
    }

    // ---------------------------------------------------------------- end of a run

    /// @notice What is live at the end of a run can all be cancelled by its owners: the book is
    /// then left with no token and only the native tokens it owes.
    function afterInvariant() public {
        handler.cancelAllOrders();
        assertEq(token.balanceOf(address(book)), 0, "book kept tokens once every order ended");
        invariant_BookNativeEqualsLiveFeesPlusOwed();
        invariant_EveryOrderEndedOnceOrLive();
        invariant_EveryEndedOrderPaidOutExactly();
        invariant_HandlerExpectationsHeld();
    }

    function _ended() internal view returns (uint256 n) {
        uint256[] memory all = handler.allOrders();
        for (uint256 i; i < all.length; ++i) {
            if (handler.orderGhost(all[i]).end != OrdersHandler.End.Live) ++n;
        }
    }

    // ---------------------------------------------------------------- the handler's reach

    /// @notice From the starting book the handler's actions execute orders of every kind, see them
    /// refused for every reason it tries, top up, prune and cancel, with every invariant holding.
    function test_handler_executesRefusesTopsUpPrunesAndCancels() public {
        handler.placeOnPosition(3, 1, 100, 0, 1);
        handler.executeNotCrossing(0, 0, 5, 1);
        handler.executeNotCrossing(1, 1, 5, 1);
        handler.executeNotCrossing(2, 2, 5, 1);
        handler.editOrder(1, 100, 0, 1);
        handler.editOrder(4, 100, 0, 1);
        handler.cancelOrder(4);
        handler.executeTopUp(0, 1);
        for (uint256 i; i < 8; ++i) {
            handler.executeCrossing(i, 5, 1);
        }
        // Both markets 1% down, then 2% up: a trailing stop of either side is due after one of them.
        handler.movePrice(0, 201);
        handler.movePrice(1, 201);
        handler.warp(0);
        handler.executeTrailingStop(0, 0, 1);
        handler.movePrice(0, 400);
        handler.movePrice(1, 400);
        handler.warp(0);
        handler.executeTrailingStop(0, 0, 1);
        // A guard on a healthy position, and take-profits on the longs a crash liquidates (dead, pruned).
        handler.setTopUpGuard(3, 0, 50e6, 200e6, 0);
        handler.executeTopUp(1, 1);
        handler.placeOnPosition(0, 1, 300, 0, 0);
        handler.placeOnPosition(1, 1, 300, 0, 0);
        handler.placeOnPosition(2, 1, 300, 0, 0);
        handler.crashPrice(0, 1_601);
        handler.crashPrice(1, 1_601);
        handler.liquidate(0, 0);
        handler.liquidate(1, 0);
        for (uint256 i; i < 8; ++i) {
            handler.prune(i, 1);
        }
        handler.placeAttached(1, 0, 100, 0);
        handler.cancelOrder(1);
        invariant_BookTokensEqualLiveEscrow();
        invariant_BookNativeEqualsLiveFeesPlusOwed();
        invariant_EveryOrderEndedOnceOrLive();
        invariant_EveryEndedOrderPaidOutExactly();
        invariant_GuardNeverExceedsBudget();
        invariant_PoolConservedAndVaultsCovered();
        invariant_NoFillLeavesAPositionLiquidatable();
        invariant_HandlerExpectationsHeld();
        _logReach();
        afterInvariant();
    }

    function _logReach() internal view {
        string[23] memory names = [
            "place.1", "place.2", "place.3", "place.4", "place.5", "place.bracket", "place.guard",
            "place.attachedToRequest", "executed.1", "executed.2", "executed.3", "executed.4", "executed.5",
            "topUp", "refused.notCrossed", "refused.notAfterOrder", "refused.tooOld", "refused.healthy",
            "stranger.cancel", "pruned", "cancelled", "edit", "liquidated"
        ];
        string memory missing;
        for (uint256 i; i < names.length; ++i) {
            if (handler.calls(bytes32(bytes(names[i]))) == 0) missing = string.concat(missing, " ", names[i]);
        }
        if (bytes(missing).length != 0) revert(string.concat("never happened:", missing));
    }

    function _assertNoFinding(OrdersHandler.Check kind) internal view {
        string memory why = handler.finding(kind);
        if (bytes(why).length != 0) revert(why);
    }
}
