// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ledger, Market} from "../../interfaces/IBulkhead.sol";
import {LpEscrow} from "../../interfaces/IBulkheadPool.sol";
import {InvariantBase} from "../utils/BaseTest.sol";
import {Handler} from "./Handler.sol";

/// @notice DESIGN.md's contract invariants 1-7 under random sequences of trader, LP, keeper,
/// guardian and owner actions, price moves (±15% a step, crashes) and time. The handler checks
/// each action against its ghost state as it happens and records findings; these functions
/// assert them and the state-level properties after every call.
contract BulkheadInvariantsTest is InvariantBase {
    Handler internal handler;
    /// @dev Successful trader actions of the starting book, before the first run.
    uint256 internal _setUpTraderActions;

    function setUp() public {
        // A thin pool, so opens, withdrawals and losses push free liquidity to zero.
        _deploySystem(6, 300_000);
        engine.setProtocolFeeShare(0.2e18);
        handler = new Handler(engine, pool, ethFeed, btcFeed, guardian);
        engine.transferOwnership(address(handler));
        vm.prank(address(handler));
        engine.acceptOwnership();

        // A starting book: longs and shorts on both markets from 2x to 45x.
        handler.open(0, 0, true, 2_000e6, 20e18 + 1);
        handler.open(1, 0, false, 1_500e6, 50e18 + 1);
        handler.open(2, 1, true, 1_000e6, 90e18);
        handler.open(3, 1, false, 800e6, 10e18 + 1);
        handler.open(0, 1, true, 300e6, 4e18 + 1);
        handler.open(1, 0, true, 2_000e6, 60e18);
        _setUpTraderActions = _traderActions();

        bytes4[] memory selectors = new bytes4[](21);
        selectors[0] = Handler.open.selector;
        selectors[1] = Handler.increase.selector;
        selectors[2] = Handler.decrease.selector;
        selectors[3] = Handler.close.selector;
        selectors[4] = Handler.addCollateral.selector;
        selectors[5] = Handler.removeCollateral.selector;
        selectors[6] = Handler.donate.selector;
        selectors[7] = Handler.transferPosition.selector;
        selectors[8] = Handler.roundTrip.selector;
        selectors[9] = Handler.lpDeposit.selector;
        selectors[10] = Handler.lpWithdraw.selector;
        selectors[11] = Handler.liquidate.selector;
        selectors[12] = Handler.liquidateMany.selector;
        selectors[13] = Handler.fundInsurance.selector;
        selectors[14] = Handler.setPaused.selector;
        selectors[15] = Handler.setRiskParams.selector;
        selectors[16] = Handler.withdrawProtocolFees.selector;
        selectors[17] = Handler.movePrice.selector;
        selectors[18] = Handler.warp.selector;
        selectors[19] = Handler.shockPrice.selector;
        selectors[20] = Handler.crashPrice.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---------------------------------------------------------------- 1. isolation

    /// @notice [1] Any action on position A left every other position's record, owner and vault
    /// balance exactly as the ghost had them; liquidating A moved only A's vault and paid A's owner
    /// nothing; a risk-parameter change made no open position liquidatable.
    function invariant_IsolationOtherPositionsUntouched() public view {
        _assertNoFinding(Handler.Kind.Isolation);
        _assertNoFinding(Handler.Kind.Governance);
    }

    // ---------------------------------------------------------------- 2. conservation

    /// @notice [2] No token is created or lost: every open vault holds exactly its recorded
    /// collateral plus donations; the pool holds exactly LP assets + insurance fund + protocol fees
    /// + LP request escrow (pending deposit assets, claimable redemption assets; zero here: the
    /// suite runs the synchronous pool) and its own shares are exactly the escrowed ones;
    /// the known holders hold the whole supply, which is what the faucet minted; and every
    /// settlement moved exactly the amounts it reported.
    function invariant_TokensConserved() public view {
        uint256[] memory ids = handler.openIds();
        for (uint256 i; i < ids.length; ++i) {
            uint256 collateral = engine.position(ids[i]).collateral;
            assertEq(
                token.balanceOf(engine.vaultOf(ids[i])),
                collateral + handler.donated(ids[i]),
                string.concat("vault ", vm.toString(ids[i]), " != collateral + donations")
            );
        }
        Ledger memory l = engine.ledger();
        LpEscrow memory e = pool.escrow();
        assertEq(
            token.balanceOf(address(pool)),
            uint256(l.lpAssets) + l.insuranceFund + l.protocolFees + e.pendingDepositAssets + e.claimableRedeemAssets,
            "pool balance != lpAssets + insurance + protocolFees + LP request escrow"
        );
        assertEq(
            pool.balanceOf(address(pool)),
            uint256(e.pendingRedeemShares) + e.claimableDepositShares,
            "pool's own shares != escrowed shares"
        );
        address[] memory holders = handler.holders();
        uint256 sum;
        for (uint256 i; i < holders.length; ++i) {
            sum += token.balanceOf(holders[i]);
        }
        assertEq(token.totalSupply(), handler.ghostMinted(), "supply != minted");
        assertEq(sum, token.totalSupply(), "tracked balances != supply");
        _assertNoFinding(Handler.Kind.Conservation);
    }

    // ---------------------------------------------------------------- 3. soundness, 4. liveness

    /// @notice [3] liquidate(A) succeeded iff isLiquidatable(A) and previewLiquidation(A) said so
    /// just before, and did exactly what the preview said; isLiquidatable always equalled DESIGN's
    /// predicate recomputed from the record; liquidateMany liquidated exactly the liquidatable ids.
    function invariant_LiquidationSucceedsIffLiquidatable() public view {
        _assertNoFinding(Handler.Kind.Soundness);
    }

    /// @notice [4] After every action, every liquidatable position could be liquidated (probed and
    /// rolled back): while paused, with an empty insurance fund and with bad debt too; free LP
    /// liquidity was always withdrawable and top-ups always worked.
    function invariant_LiquidatablePositionsCanBeLiquidated() public view {
        _assertNoFinding(Handler.Kind.Liveness);
    }

    // ---------------------------------------------------------------- 5. initial margin

    /// @notice [5] After every successful open, increase, decrease and collateral removal the
    /// position had equity >= notional / maxLeverage, collateral >= minCollateral, and was not
    /// liquidatable.
    function invariant_InitialMarginHoldsAfterTraderActions() public view {
        _assertNoFinding(Handler.Kind.InitialMargin);
    }

    // ---------------------------------------------------------------- 6. payability

    /// @notice [6] The per-side reserves the pool caps trader PnL with add up to the ledger's
    /// reserved: every path that reserves or releases max profit books it on its market side.
    function invariant_SideReservesSumToReserved() public view {
        uint256 sum;
        for (uint256 i; i < engine.marketCount(); ++i) {
            Market memory m = engine.market(i);
            sum += uint256(m.longReserved) + m.shortReserved;
        }
        assertEq(sum, engine.ledger().reserved, "sum of side reserves != reserved");
    }

    /// @notice [6] LP shares are never priced below LP assets - reserved (what is left after every
    /// capped profit is paid): the valuation caps each side's PnL at its reserves.
    function invariant_ValuationNeverBelowFreeLiquidity() public view {
        Ledger memory l = engine.ledger();
        if (l.lpAssets <= l.reserved) return;
        try pool.valuation() returns (int256 value) {
            assertGe(value, int256(uint256(l.lpAssets - l.reserved)), "valuation < lpAssets - reserved");
        } catch {} // a market with open interest has an invalid feed: nothing is priced
    }

    /// @notice [6] LP assets cover the reserved max profit of every open position (DESIGN.md as written).
    function invariant_LpAssetsCoverReserved() public view {
        Ledger memory l = engine.ledger();
        assertGe(l.lpAssets, l.reserved, "lpAssets < reserved");
    }

    /// @notice [6] Every close whose net (collateral + capped pnl - fees) is not negative went
    /// through and paid exactly that net plus the vault's donations.
    function invariant_EveryPayableCloseIsPaid() public view {
        _assertNoFinding(Handler.Kind.Payability);
    }

    // ---------------------------------------------------------------- 12. settlement

    /// @notice [12] After every action, every open position was closable by its owner (its close
    /// net, collateral + capped pnl - borrow fee - close fee, not negative) or liquidatable.
    function invariant_EveryOpenPositionSettles() public view {
        _assertNoFinding(Handler.Kind.Settlement);
    }

    // ---------------------------------------------------------------- 7. no free value

    /// @notice [7] Opening and closing at an unchanged price (with increases, decreases and
    /// collateral moves in between) never returned more than was put in.
    function invariant_RoundTripReturnsNoProfit() public view {
        _assertNoFinding(Handler.Kind.FreeValue);
    }

    // ---------------------------------------------------------------- pause

    /// @notice Pausing stopped opens, increases and LP deposits; it stopped nothing else (see [4]).
    function invariant_PauseStopsRiskIncreasingActions() public view {
        _assertNoFinding(Handler.Kind.Pause);
    }

    // ---------------------------------------------------------------- handler coverage

    /// @notice Every run did something: at least one trader action succeeded after setUp. Guards
    /// against a handler whose calls all revert or return early and so prove nothing (with
    /// `failOnRevert: false` the runner would not notice).
    function afterInvariant() public view {
        assertGt(_traderActions(), _setUpTraderActions, "no trader action succeeded in this run");
    }

    function _traderActions() internal view returns (uint256 n) {
        bytes32[6] memory names = [bytes32("open"), "increase", "decrease", "close", "addCollateral", "removeCollateral"];
        for (uint256 i; i < names.length; ++i) {
            n += handler.calls(names[i]);
        }
    }

    /// @notice The handler's bounding lets the trader, LP, owner and world actions succeed from the
    /// starting book, and none of them breaks a property.
    function test_handler_tradersLpsAndOwnerActionsSucceed() public {
        handler.open(0, 0, true, 1_000e6, 10e18 + 1);
        handler.increase(0, 100e6, 1);
        handler.decrease(0, 1);
        handler.addCollateral(1, 0, 100e6);
        handler.removeCollateral(0, 1);
        handler.donate(1, 0, 5e6);
        handler.donate(0, 0, 5e6);
        handler.transferPosition(2, 1);
        handler.roundTrip(0, 0, true, 500e6, 5e18 + 1, 15);
        handler.lpDeposit(0, 1_000e6);
        handler.lpWithdraw(0, 1); // one unit of the first LP's free liquidity
        handler.close(0);
        handler.fundInsurance(1, 1_000e6);
        handler.setRiskParams(0, 0, 0, 0, 0);
        handler.withdrawProtocolFees(1);
        handler.movePrice(0, 600);
        handler.shockPrice(1, 0);
        handler.warp(1 days);
        _assertHappened("open");
        _assertHappened("increase");
        _assertHappened("decrease");
        _assertHappened("addCollateral");
        _assertHappened("removeCollateral");
        _assertHappened("donate");
        _assertHappened("transferPosition");
        _assertHappened("roundTrip");
        _assertHappened("lpDeposit");
        _assertHappened("lpWithdraw");
        _assertHappened("close");
        _assertHappened("fundInsurance");
        _assertHappened("setRiskParams");
        _assertHappened("withdrawProtocolFees");
        _assertHappened("movePrice");
        _assertHappened("shockPrice");
        _assertHappened("warp");
        _assertNoFindings();
    }

    /// @notice After 80% crashes the keeper actions liquidate with bad debt, with an empty
    /// insurance fund and while paused, every liquidatable position passes the liquidation probe
    /// in each of those states, and none of it breaks a property.
    function test_handler_liquidationsUnderStressSucceed() public {
        assertEq(engine.ledger().insuranceFund, 0, "insurance starts empty");
        handler.crashPrice(0, 5_000); // ETH -80%
        handler.liquidate(1, 0); // the first liquidatable id, with no insurance fund
        handler.setPaused(0); // paused for the next action
        handler.liquidate(5, 1);
        handler.setPaused(1); // unpaused
        handler.crashPrice(1, 5_000); // BTC -80%
        handler.liquidateMany(0, 0);
        _assertHappened("crash");
        _assertHappened("liquidate");
        _assertHappened("liquidate.badDebt");
        _assertHappened("liquidate.noInsurance");
        _assertHappened("liquidate.paused");
        _assertHappened("liquidateMany");
        _assertHappened("pause");
        _assertHappened("unpause");
        _assertHappened("probe.liquidatable");
        _assertHappened("probe.liquidatable.paused");
        _assertHappened("probe.liquidatable.noInsurance");
        _assertHappened("probe.liquidatable.badDebt");
        _assertNoFindings();
    }

    function _assertHappened(string memory name) internal view {
        assertGt(handler.calls(bytes32(bytes(name))), 0, string.concat(name, " never happened"));
    }

    function _assertNoFindings() internal view {
        for (uint8 k; k <= uint8(type(Handler.Kind).max); ++k) {
            _assertNoFinding(Handler.Kind(k));
        }
    }

    function _assertNoFinding(Handler.Kind kind) internal view {
        string memory why = handler.violation(kind);
        if (bytes(why).length != 0) revert(why);
    }
}
