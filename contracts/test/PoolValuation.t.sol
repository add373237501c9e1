// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketParams, RiskParams, Ledger} from "../interfaces/IBulkhead.sol";
import {IOracleErrors} from "../interfaces/IOracleErrors.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice LP share pricing against capped settlement (DESIGN "Solvency rules (v2)", issue 11
/// findings 1 and 7): a deposit made while trader PnL is past its cap, or while a position is in
/// bad debt, cannot take value from the LPs already in; one bad feed on a market without open
/// interest does not block LP flows. Default parameters of `test/helpers/fixture.ts`.
contract PoolValuationTest is BaseTest {
    address internal alice = address(0xA11CE);
    address internal carol = address(0xCA201);
    address internal bob = address(0xB0B);
    address internal keeper = address(0x4EE9E2);

    function setUp() public {
        _deploySystem();
    }

    // ---------------------------------------------------------------- helpers

    function _open(address trader, bool isLong, uint256 collateral, uint256 size) internal returns (uint256 id) {
        _mint(trader, collateral + collateral); // collateral and (more than) the open fee
        vm.startPrank(trader);
        token.approve(address(engine), type(uint256).max);
        id = engine.open(ETH_MARKET, isLong, collateral, size, isLong ? FAR * WAD : 0, FAR);
        vm.stopPrank();
    }

    function _close(address trader, uint256 id, bool isLong) internal {
        vm.prank(trader);
        engine.close(id, isLong ? 0 : FAR * WAD, FAR);
    }

    /// @dev Liquidates the position when it is liquidatable, else its owner closes it.
    function _settle(address trader, uint256 id, bool isLong) internal {
        if (engine.previewLiquidation(id).liquidatable) {
            vm.prank(keeper);
            engine.liquidate(id);
        } else {
            _close(trader, id, isLong);
        }
    }

    /// @dev Redeems what free liquidity allows and values the rest of the shares.
    function _exitValue(address who) internal returns (uint256) {
        uint256 shares = pool.maxRedeem(who);
        vm.prank(who);
        uint256 out = pool.redeem(shares, who, who);
        return out + pool.convertToAssets(pool.balanceOf(who));
    }

    function _price(int256 answer) internal {
        ethFeed.updateAnswer(answer);
    }

    function _deposit(address who, uint256 assets) internal returns (uint256 shares) {
        _mint(who, assets);
        vm.startPrank(who);
        token.approve(address(pool), assets);
        shares = pool.deposit(assets, who);
        vm.stopPrank();
    }

    /// @dev Zero trading and borrow fees: LP value moves only with settled PnL, so a round trip
    /// compares exactly.
    function _noFees() internal {
        MarketParams memory p = _defaultParams(one);
        p.openFeeRate = 0;
        p.closeFeeRate = 0;
        p.baseBorrowRate = 0;
        p.borrowRateSlope = 0;
        engine.setMarketParams(ETH_MARKET, p);
    }

    function _lowerBound() internal view returns (uint256) {
        Ledger memory l = engine.ledger();
        return l.lpAssets > l.reserved ? l.lpAssets - l.reserved : 0;
    }

    // ---------------------------------------------------------------- finding 1: attacks

    /// @notice Alice longs 600 ETH at 3,000 (reserve 900k), ETH +60 %: uncapped PnL 1.08M is more
    /// than LP assets. On v1 totalAssets read 0 and a 1-unit deposit took ~all of the ~104k the LPs
    /// still own once Alice closed at her cap.
    function test_pool_oneUnitDepositCannotTakeThePoolPastTheCap() public {
        uint256 id = _open(alice, true, 100_000 * one, 600e18);
        _price(4800e8);
        uint256 fair = engine.ledger().lpAssets - 900_000 * one; // borrow fees only add to it
        assertGe(pool.totalAssets(), fair, "totalAssets below LP assets - capped profit");
        _deposit(bob, one);
        _close(alice, id, true);
        uint256 out = _exitValue(bob);
        // Bob shares the close fee and borrow fee pro rata (~2.6 % of the pool), nothing more.
        assertLe(out, one + one / 20, string.concat("1-unit deposit redeemed ", _str(out)));
    }

    /// @notice maxProfitFactorBps 1000 at ~50 % utilisation: a +20 % move made totalAssets 0 on v1
    /// (Bob took ~501k with 1 unit).
    function test_pool_oneUnitDepositCannotTakeThePoolAtTenPercentCap() public {
        RiskParams memory r = _defaultRisk(one);
        r.maxProfitFactorBps = 1000;
        engine.setRiskParams(ETH_MARKET, r);
        uint256 id = _open(alice, true, 200_000 * one, 1670e18);
        _price(3600e8);
        _deposit(bob, one);
        _close(alice, id, true);
        uint256 out = _exitValue(bob);
        assertLe(out, one + one / 20, string.concat("1-unit deposit redeemed ", _str(out)));
    }

    /// @notice 200 ETH long, ETH doubles: v1 valued the pool at ~400,600 against a fair ~700,600,
    /// so a 400k deposit was worth ~550k once Alice closed at her cap.
    function test_pool_depositCannotDiluteLpsPastTheCap() public {
        _noFees();
        uint256 id = _open(alice, true, 100_000 * one, 200e18);
        _price(6000e8);
        uint256 lpAssets = engine.ledger().lpAssets;
        assertEq(pool.totalAssets(), lpAssets - 300_000 * one, "totalAssets is LP assets - capped profit");
        _deposit(bob, 400_000 * one);
        _close(alice, id, true);
        uint256 out = _exitValue(bob);
        assertLe(out, 400_000 * one, string.concat("400k deposit redeemed ", _str(out)));
        assertApproxEqAbs(out, 400_000 * one, 1, "and loses only rounding");
    }

    // ---------------------------------------------------------------- degenerate valuation

    /// @notice LP assets below what capped profits claim (no trader flow reaches it with the
    /// default bounds: only keeper rewards the pool pays on bad debt lower LP assets relative to
    /// reserved, so it is forced in storage). Deposits revert instead of pricing shares at 0,
    /// which would hand every later recovery to the depositor.
    function test_pool_depositRevertsWhileTheValuationIsNotPositive() public {
        _noFees();
        _open(alice, false, 50_000 * one, 100e18); // cap 150k
        _price(1000e8); // PnL 200k, past the cap
        _setLpAssets(100_000 * one);
        int256 value = pool.valuation();
        assertEq(value, -50_000 * int256(one), "LP assets - the short's capped claim");
        assertEq(pool.totalAssets(), 0, "floored for ERC-4626");
        assertEq(pool.maxDeposit(bob), 0, "maxDeposit 0");
        assertEq(pool.maxMint(bob), 0, "maxMint 0");
        uint256 supply = pool.totalSupply();
        _mint(bob, one);
        vm.startPrank(bob);
        token.approve(address(pool), one);
        vm.expectRevert(abi.encodeWithSignature("PoolInsolvent(int256,uint256)", value, supply));
        pool.deposit(one, bob);
        vm.expectRevert(abi.encodeWithSignature("PoolInsolvent(int256,uint256)", value, supply));
        pool.mint(1e6, bob);
        vm.stopPrank();
    }

    /// @dev Rewrites the ledger's LP assets (low 112 bits of the slot holding lpAssets and reserved).
    function _setLpAssets(uint256 lpAssets) internal {
        Ledger memory l = engine.ledger();
        uint256 mask = type(uint112).max;
        for (uint256 slot; slot < 64; ++slot) {
            uint256 w = uint256(vm.load(address(engine), bytes32(slot)));
            if (w & mask == l.lpAssets && (w >> 112) & mask == l.reserved) {
                vm.store(address(engine), bytes32(slot), bytes32((w & ~mask) | lpAssets));
                return;
            }
        }
        fail("ledger slot not found");
    }

    // ---------------------------------------------------------------- finding 7: idle feed

    /// @notice BTC has no open interest and its feed answers 0: LP valuation and flows do not read
    /// it (v1 reverted every deposit and withdrawal).
    function test_pool_invalidFeedOnAMarketWithoutOpenInterestDoesNotBlockLps() public {
        _open(alice, true, 1_000 * one, 10e18);
        btcFeed.updateAnswer(0);
        uint256 total = pool.totalAssets();
        assertGt(total, 0, "valued");
        assertEq(pool.maxDeposit(bob), type(uint256).max, "deposits open");
        assertGt(pool.maxWithdraw(lp), 0, "withdrawals open");
        _deposit(bob, 1_000 * one);
        vm.prank(lp);
        pool.withdraw(1_000 * one, lp, lp);
    }

    /// @notice A market with open interest and an invalid feed still cannot be valued: LP flows
    /// revert with the oracle error and the max* views are 0.
    function test_pool_invalidFeedOnAMarketWithOpenInterestStillBlocksLps() public {
        _open(alice, true, 1_000 * one, 10e18);
        _price(0);
        vm.expectRevert(abi.encodeWithSelector(IOracleErrors.NonPositivePrice.selector, address(ethFeed), int256(0)));
        pool.totalAssets();
        assertEq(pool.maxDeposit(bob), 0, "maxDeposit 0");
        assertEq(pool.maxWithdraw(lp), 0, "maxWithdraw 0");
    }

    // ---------------------------------------------------------------- mixed regime residual

    /// @notice The documented residual of the per-side bound: Alice's first long is 30k past its
    /// cap (cap 150k, PnL 180k) while her second, opened at the current price, has 240k of
    /// headroom. The side claims min(U, R) = 180k where settlement pays 150k: the valuation
    /// understates LP value by min(E, H) = 30k, and a deposit made then gains its share of that
    /// 30k once the first position closes. Asserted to be exactly that share, not 0.
    function test_pool_mixedRegimeResidualIsBoundedByExcessPastTheCap() public {
        _noFees();
        uint256 first = _open(alice, true, 10_000 * one, 100e18);
        _price(4800e8);
        _open(alice, true, 10_000 * one, 100e18);
        uint256 v = pool.totalAssets();
        uint256 lpAssets = engine.ledger().lpAssets;
        assertEq(v, lpAssets - 180_000 * one, "side claims its uncapped 180k");
        uint256 residual = 30_000 * one; // min(E = 180k - 150k, H = 240k)
        uint256 d = 1_000_000 * one;
        _deposit(bob, d);
        _close(alice, first, true);
        uint256 bobValue = pool.convertToAssets(pool.balanceOf(bob));
        uint256 share = residual * d / (v + d);
        assertGt(bobValue, d, "the residual is real");
        assertApproxEqAbs(bobValue - d, share, 2, "gain = depositor's share of min(E, H)");
    }

    /// @notice The residual's bound, fuzzed: two longs on one side, the first opened at 3,000
    /// (cap 50 % of its entry notional, so past its cap above 4,500), the second at a random later
    /// price (all headroom). A deposit made then, after the first closes, has gained exactly its
    /// share of min(E, H) (E = the first's PnL past its cap, H = the second's whole cap) and
    /// nothing else: 0 wherever the side is not mixed (the first below its cap). No fees, so the
    /// close moves LP value only by the capped payout.
    function testFuzz_pool_mixedRegimeGainIsTheDepositorsShareOfMinExcessHeadroom(
        uint256 firstSeed,
        uint256 secondSeed,
        uint256 priceSeed,
        uint256 depositSeed
    ) public {
        _noFees();
        uint256 s1 = bound(firstSeed, 1e18, 100e18);
        uint256 s2 = bound(secondSeed, 1e18, 100e18);
        uint256 px = bound(priceSeed, 3000, 6000); // whole dollars
        uint256 d = bound(depositSeed, one, 5_000_000 * one);
        uint256 first = _open(alice, true, s1 * 300 * one / 1e18, s1); // 10x at 3,000
        _price(int256(px * 1e8));
        _open(carol, true, s2 * px * one / 10 / 1e18, s2); // 10x at the new price: PnL 0
        uint256 pnl1 = s1 * (px - 3000) * one / 1e18;
        uint256 cap1 = s1 * 1500 * one / 1e18;
        uint256 excess = pnl1 > cap1 ? pnl1 - cap1 : 0;
        uint256 headroom = s2 * px * one / 2 / 1e18;
        uint256 residual = excess < headroom ? excess : headroom;
        uint256 v = pool.totalAssets();
        _deposit(bob, d);
        _close(alice, first, true);
        uint256 bobValue = pool.convertToAssets(pool.balanceOf(bob));
        uint256 share = residual * d / (v + d);
        // Rounding: PnL and caps a unit per position, the share conversions a unit each way.
        assertApproxEqAbs(bobValue, d + share, 4, "gain = depositor's share of min(E, H)");
    }

    // ---------------------------------------------------------------- property

    struct Draw {
        uint256 deposit;
        uint256 longSize;
        uint256 shortSize;
        uint256 carolSize;
        int256 answer;
        uint256 idle;
    }


    /// @notice Fair LP pricing, fuzzed over the regimes the per-side bound covers exactly (each
    /// side's positions opened at one price with one factor, so a side is wholly past its cap or
    /// not at all): PnL past caps, a position in bad debt not yet liquidated, borrow fees unpaid.
    /// A deposit, then every other actor closes or is liquidated at the same price, then the
    /// depositor redeems: it never gets more than it put in, beyond rounding (settlement
    /// rounds PnL and borrow fees against each trader, a unit or two per position). And the valuation
    /// never falls below LP assets - reserved.
    function testFuzz_pool_depositThenWithdrawReturnsNoMoreThanDeposited(
        uint256 depositSeed,
        uint256 longSeed,
        uint256 shortSeed,
        uint256 carolSeed,
        uint256 priceSeed,
        uint256 idleSeed
    ) public {
        Draw memory d;
        d.deposit = bound(depositSeed, 1, 5_000_000 * one);
        d.longSize = bound(longSeed, 0, 150e18);
        d.shortSize = bound(shortSeed, 0, 150e18);
        d.carolSize = bound(carolSeed, 0, 10e18);
        d.answer = int256(bound(priceSeed, 300e8, 9000e8));
        d.idle = bound(idleSeed, 0, 30 days);
        // Borrow fees accrue; no close fee: the deposit earns nothing from the closes below.
        MarketParams memory p = _defaultParams(one);
        p.closeFeeRate = 0;
        engine.setMarketParams(ETH_MARKET, p);
        uint256 aliceLong;
        uint256 aliceShort;
        uint256 carolLong;
        if (d.longSize != 0) aliceLong = _open(alice, true, 50_000 * one, d.longSize);
        if (d.shortSize != 0) aliceShort = _open(alice, false, 50_000 * one, d.shortSize);
        // Carol at ~50x: a drop past ~2 % leaves her in bad debt until someone liquidates her.
        if (d.carolSize != 0) {
            uint256 margin = d.carolSize * 3000 / 50 / 1e12 + one;
            carolLong = _open(carol, true, margin < 10 * one ? 10 * one : margin, d.carolSize);
        }
        vm.warp(block.timestamp + d.idle);
        _price(d.answer);
        btcFeed.updateAnswer(BTC_ANSWER);

        uint256 before = pool.totalAssets();
        assertGe(before, _lowerBound(), "valuation below LP assets - reserved");
        _deposit(bob, d.deposit);
        if (carolLong != 0) _settle(carol, carolLong, true);
        if (aliceLong != 0) _settle(alice, aliceLong, true);
        if (aliceShort != 0) _settle(alice, aliceShort, false);
        uint256 out = _exitValue(bob);
        // Settlement rounds PnL and each borrow fee against the trader, the valuation rounds each
        // side's PnL and the market's fees against the LPs: a unit or two per position and side.
        assertLe(out, d.deposit + 9, string.concat("deposit ", _str(d.deposit), " redeemed ", _str(out)));
    }
}
