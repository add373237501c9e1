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

}
