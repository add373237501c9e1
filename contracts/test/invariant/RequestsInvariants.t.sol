// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RequestKind, TradeRequest} from "../../interfaces/IBulkheadRouter.sol";
import {RequestSystemBase} from "./RequestSystemBase.sol";
import {RequestsHandler} from "./RequestsHandler.sol";

/// @notice DESIGN.md invariant 11 (escrow) under random two-step trading: requests of every kind
/// with execution fees, executions with the pinned report (verified by Chainlink's real Verifier,
/// signed by a local oracle set), wrong reports, push-round fallbacks, cancellations after expiry,
/// push price moves and time. A campaign of its own, so the engine suite keeps its cost.
contract RequestsInvariantsTest is RequestSystemBase {
    RequestsHandler internal handler;
    /// @dev Requests settled (filled or cancelled) by the starting book, before the first run.
    uint256 internal _setUpSettled;

    function setUp() public {
        _deployRequestSystem();
        handler = new RequestsHandler(engine, pool, router, signer, [ethFeed, btcFeed], [ETH_FEED_ID, BTC_FEED_ID]);

        // A starting book: four positions filled through requests, and two requests pending.
        _openStartingBook(handler);
        handler.requestOpen(0, 1, false, AMOUNT_1000, 8e18, 1);
        handler.requestClose(0, 1);
        _setUpSettled = _settled();

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = RequestsHandler.requestOpen.selector;
        selectors[1] = RequestsHandler.requestIncrease.selector;
        selectors[2] = RequestsHandler.requestDecrease.selector;
        selectors[3] = RequestsHandler.requestClose.selector;
        selectors[4] = RequestsHandler.execute.selector;
        selectors[5] = RequestsHandler.executeWrongReport.selector;
        selectors[6] = RequestsHandler.executeAtPushRound.selector;
        selectors[7] = RequestsHandler.cancel.selector;
        selectors[8] = RequestsHandler.movePrice.selector;
        selectors[9] = RequestsHandler.warp.selector;
        targetContract(address(handler));
        // One caller outside the accounting: with a test gas price set, the runner credits the caller
        // of each call its unused gas at that price, which would otherwise land on an actor or the router.
        targetSender(address(0xCA11E4));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---------------------------------------------------------------- 1. tokens

    /// @notice [1] The router holds exactly the pending requests' escrowed amounts, and each pending
    /// request is stored with the amount and fee it escrowed.
    function invariant_RouterTokensArePendingEscrow() public view {
        uint256[] memory pending = handler.pendingRequests();
        uint256 sum;
        for (uint256 i; i < pending.length; ++i) {
            RequestsHandler.Ghost memory g = handler.ghost(pending[i]);
            TradeRequest memory r = router.request(pending[i]);
            string memory which = string.concat("pending request ", vm.toString(pending[i]));
            assertEq(r.collateral, g.amount, string.concat(which, " stored amount != escrowed"));
            assertEq(r.executionFee, g.fee, string.concat(which, " stored fee != escrowed"));
            sum += g.amount;
        }
        assertEq(token.balanceOf(address(router)), sum, "router token balance != sum of pending amounts");
    }

    // ---------------------------------------------------------------- 2. native

    /// @notice [2] The router's native balance is exactly the pending fees plus what it owes the
    /// recipients that refused a payment.
    function invariant_RouterNativeIsPendingFeesPlusOwed() public view {
        uint256[] memory pending = handler.pendingRequests();
        uint256 fees;
        for (uint256 i; i < pending.length; ++i) {
            fees += handler.ghost(pending[i]).fee;
        }
        address[] memory actors = handler.actors();
        uint256 owed;
        for (uint256 i; i < actors.length; ++i) {
            owed += router.nativeOwed(actors[i]);
        }
        assertEq(address(router).balance, fees + owed, string.concat(
            "router native != pending fees ", vm.toString(fees), " + owed ", vm.toString(owed)
        ));
    }

    // ---------------------------------------------------------------- 3. every escrow executed or returned

    /// @notice [3] Every finished request's escrow was executed or returned, exactly: a cancelled
    /// one (at execution or by its account) returned its amount to its account to the unit and its
    /// whole fee to the executor and the account (all of it to the account when it cancelled); a
    /// filled one paid its whole fee out too, and a filled open or increase moved exactly its amount
    /// from the router into the position's vault and the pool (an open: collateral + open fee).
    function invariant_EveryEscrowExecutedOrReturnedExactly() public view {
        uint256[] memory all = handler.allRequests();
        for (uint256 i; i < all.length; ++i) {
            _assertSettledExactly(all[i]);
        }
    }

    function _assertSettledExactly(uint256 id) internal view {
        RequestsHandler.Ghost memory g = handler.ghost(id);
        if (g.outcome == RequestsHandler.Outcome.Pending) return;
        string memory which = string.concat("request ", vm.toString(id));
        assertEq(router.request(id).account, address(0), string.concat(which, " finished but still stored"));
        assertEq(g.routerTokensOut, g.amount, string.concat(which, " tokens out of the router != escrowed amount"));
        assertEq(g.toExecutor + g.refund, g.fee, string.concat(which, " executor fee + refund != fee"));
        assertEq(g.nativePaidOut, g.fee, string.concat(which, " native paid (or owed) to executor and account != fee"));
        if (g.outcome == RequestsHandler.Outcome.Filled) {
            if (g.kind == RequestKind.Open || g.kind == RequestKind.Increase) {
                assertEq(g.vaultAndPoolIn, g.amount, string.concat(which, " filled: vault + pool received != amount"));
            }
            if (g.kind == RequestKind.Open) {
                assertEq(g.collateralPlusOpenFee, g.amount, string.concat(which, " filled open: collateral + open fee != amount"));
            }
            return;
        }
        assertEq(g.returnedToAccount, g.amount, string.concat(which, " cancelled: returned to the account != amount"));
        if (g.outcome == RequestsHandler.Outcome.CancelledByAccount) {
            assertEq(g.toExecutor, 0, string.concat(which, " cancelled by its account: executor fee != 0"));
        }
    }

    // ---------------------------------------------------------------- 4. pool and vaults

    /// @notice [4] The pool holds exactly LP assets + insurance fund + protocol fees; LP assets cover
    /// the reserved max profit; every open position's vault holds at least its recorded collateral.
    function invariant_PoolConservedAndVaultsCovered() public view {
        _assertPoolConservedAndVaultsCovered(handler.openIds());
    }

    // ---------------------------------------------------------------- 5. health after a fill

    /// @notice [5] No fill left its position liquidatable at the push price (checked by the handler
    /// right after every execution that opened or changed a position).
    function invariant_NoFillLeavesAPositionLiquidatable() public view {
        _assertNoFinding(RequestsHandler.Kind.Health);
    }

    /// @notice Every request's creation escrowed what it asked for, every valid execution and every
    /// expired cancellation went through, and every wrong report reverted with the rule it broke and
    /// changed nothing.
    function invariant_HandlerExpectationsHeld() public view {
        _assertNoFinding(RequestsHandler.Kind.Escrow);
        _assertNoFinding(RequestsHandler.Kind.WrongReport);
    }

    // ---------------------------------------------------------------- end of a run

    /// @notice Every run settled requests of its own, and what is pending at its end can all be
    /// cancelled: the router is then left with no token and only the native tokens it owes.
    function afterInvariant() public {
        assertGt(_settled(), _setUpSettled, "no request was filled or cancelled in this run");
        handler.cancelAll();
        assertEq(token.balanceOf(address(router)), 0, "router kept tokens once every request was settled");
        invariant_RouterNativeIsPendingFeesPlusOwed();
        invariant_EveryEscrowExecutedOrReturnedExactly();
        invariant_HandlerExpectationsHeld();
    }

    function _settled() internal view returns (uint256) {
        return handler.calls("filled") + handler.calls("cancelledAtExecution") + handler.calls("cancelledByAccount");
    }

    // ---------------------------------------------------------------- the handler's reach

    /// @notice From the starting book the handler's actions fill requests of every kind, see fills
    /// refused (cancelled at execution), cancel after expiry, fill an exit at a push round, and
    /// refuse every kind of wrong report, with every invariant holding throughout.
    function test_handler_fillsRefusesCancelsAndRejectsWrongReports() public {
        handler.requestIncrease(0, 500e6, 1, 1);
        handler.requestDecrease(1, 1, 1);
        handler.executeWrongReport(0, 0, 1);
        handler.executeWrongReport(0, 1, 1);
        handler.executeWrongReport(0, 2, 1);
        for (uint256 i; i < 4; ++i) {
            handler.execute(0, 0, 5, 1);
        }
        // An open below its open fee is refused at execution and cancelled.
        handler.requestOpen(1, 0, true, 0, 10e18, 1);
        handler.execute(0, 0, 5, 1);
        handler.requestClose(2, 1);
        handler.executeAtPushRound(0, 1);
        handler.requestOpen(2, 1, true, AMOUNT_1000, 10e18, 1);
        handler.cancel(0);
        handler.movePrice(0, 200);
        handler.warp(60);
        _assertHappened("filled");
        _assertHappened("cancelledAtExecution");
        _assertHappened("cancelledByAccount");
        _assertHappened("pushRound");
        _assertHappened("wrong.early");
        _assertHappened("wrong.feed");
        _assertHappened("wrong.signer");
        invariant_RouterTokensArePendingEscrow();
        invariant_RouterNativeIsPendingFeesPlusOwed();
        invariant_EveryEscrowExecutedOrReturnedExactly();
        invariant_PoolConservedAndVaultsCovered();
        invariant_NoFillLeavesAPositionLiquidatable();
        invariant_HandlerExpectationsHeld();
        afterInvariant();
    }

    function _assertHappened(string memory name) internal view {
        assertGt(handler.calls(bytes32(bytes(name))), 0, string.concat(name, " never happened"));
    }

    function _assertNoFinding(RequestsHandler.Kind kind) internal view {
        string memory why = handler.violation(kind);
        if (bytes(why).length != 0) revert(why);
    }
}
