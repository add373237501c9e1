// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Position, RiskParams, Market} from "../interfaces/IBulkhead.sol";
import {PositionMath} from "../libraries/PositionMath.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice removeCollateral on random positions (side, leverage up to 50x, size), price moves of
/// up to ±40 % and up to a year of borrow fees:
/// - it never leaves a position whose equity without unrealised profit is below
///   max(initial margin, maintenance), or collateral below minCollateral;
/// - the lens' maxRemovableCollateral is exactly its boundary: removing it succeeds, one unit
///   more reverts.
contract RemoveCollateralTest is BaseTest {
    address internal constant TRADER = address(0xA11CE);

    function setUp() public {
        _deploySystem();
        _mint(TRADER, 10_000_000 * one);
        vm.prank(TRADER);
        token.approve(address(engine), type(uint256).max);
    }

    /// @dev Opens a random position on ETH, then moves the price and the clock.
    function _openAndMove(bool isLong, uint256 leverage, uint256 collateral, uint256 movePct, uint256 elapsed)
        internal
        returns (uint256 id)
    {
        collateral = bound(collateral, 10 * one, 20_000 * one);
        leverage = bound(leverage, 1, 50);
        uint256 px = uint256(ETH_ANSWER) * 1e10;
        uint256 size = collateral * leverage * 1e12 * WAD / px; // 6-decimal token: unit = 1e30
        vm.prank(TRADER);
        id = engine.open(ETH_MARKET, isLong, collateral, size, isLong ? type(uint256).max : 0, FAR);
        vm.warp(block.timestamp + bound(elapsed, 0, YEAR));
        int256 answer = ETH_ANSWER * int256(bound(movePct, 60, 140)) / 100;
        ethFeed.updateAnswer(answer);
    }

    /// @dev Equity without profit and the margin the engine requires after a change, at the current price.
    function _margin(uint256 id) internal view returns (int256 equity, uint256 required, uint256 collateral) {
        Position memory p = engine.position(id);
        RiskParams memory risk = engine.riskParams(p.marketId, p.riskVersion);
        Market memory m = engine.market(p.marketId);
        uint256 px = engine.price(p.marketId);
        uint256 unit = engine.unit();
        uint256 fee = PositionMath.borrowFeeUp(
            p.size, p.entryPrice, engine.currentBorrowIndex(p.marketId) - p.borrowIndex, unit
        );
        equity = PositionMath.equityWithoutProfit(
            p.collateral, PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit), fee
        );
        required = PositionMath.marginAfterChangeUp(
            PositionMath.notionalUp(p.size, px, unit), m.maxLeverage, risk.mmr, risk.liquidationFeeRate, risk.minLiquidationFee
        );
        collateral = p.collateral;
    }

    function testFuzz_removeCollateral_neverLeavesEquityWithoutProfitBelowMargin(
        bool isLong,
        uint256 leverage,
        uint256 collateral,
        uint256 movePct,
        uint256 elapsed,
        uint256 amount
    ) public {
        uint256 id = _openAndMove(isLong, leverage, collateral, movePct, elapsed);
        amount = bound(amount, 1, engine.position(id).collateral);
        vm.prank(TRADER);
        try engine.removeCollateral(id, amount) {
            (int256 equity, uint256 required, uint256 left) = _margin(id);
            assertGe(equity, int256(required), "equity without profit below max(IM, maintenance)");
            assertGe(left, 10 * one, "collateral below minCollateral");
            assertFalse(engine.isLiquidatable(id), "liquidatable after a withdrawal");
        } catch {
            assertLe(lens.maxRemovableCollateral(id) + 1, amount, "an amount within the maximum reverted");
        }
    }

    function testFuzz_maxRemovableCollateral_isExactlyTheBoundary(
        bool isLong,
        uint256 leverage,
        uint256 collateral,
        uint256 movePct,
        uint256 elapsed
    ) public {
        uint256 id = _openAndMove(isLong, leverage, collateral, movePct, elapsed);
        uint256 max = lens.maxRemovableCollateral(id);
        uint256 before = engine.position(id).collateral;
        vm.prank(TRADER);
        try engine.removeCollateral(id, max + 1) {
            fail(string.concat("max + 1 was accepted, max = ", _str(max)));
        } catch {}
        if (max == 0) return;
        vm.prank(TRADER);
        engine.removeCollateral(id, max);
        assertEq(engine.position(id).collateral, before - max, "collateral after removing the maximum");
        assertEq(lens.maxRemovableCollateral(id), 0, "something left to remove after the maximum");
    }
}
