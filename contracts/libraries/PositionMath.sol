// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {MathLib} from "./MathLib.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title PositionMath
/// @notice Pure per-position math of Bulkhead (DESIGN.md "Position math"), mirrored function for
/// function by the SDK's `math/positionMath.ts`.
/// @dev Units: `size` in index units (WAD), prices WAD per index unit, amounts in collateral token
/// units. `unit` = 1e18 * 10**(18 - tokenDecimals) turns size * price into token units.
/// Every rounding goes against the trader: losses, fees and requirements round up; gains down.
library PositionMath {
    using MathLib for uint256;

    /// @notice size * price in token units, rounded down (used for payouts).
    function notionalDown(uint256 size, uint256 price, uint256 unit) internal pure returns (uint256) {
        return size.mulDivDown(price, unit);
    }

    /// @notice size * price in token units, rounded up (used for fees and requirements).
    function notionalUp(uint256 size, uint256 price, uint256 unit) internal pure returns (uint256) {
        return size.mulDivUp(price, unit);
    }

    /// @notice Signed profit (+) or loss (-) of `size` opened at `entry`, valued at `price`.
    /// @dev A gain rounds down and a loss rounds up: both against the trader.
    function pnl(bool isLong, uint256 size, uint256 entry, uint256 price, uint256 unit)
        internal
        pure
        returns (int256)
    {
        bool gain = isLong ? price >= entry : price <= entry;
        uint256 move = price >= entry ? price - entry : entry - price;
        return gain ? MathLib.toInt(size.mulDivDown(move, unit)) : -MathLib.toInt(size.mulDivUp(move, unit));
    }

    /// @notice Borrow fee owed by a position since its index snapshot: size * entry * indexDelta.
    /// @dev Rounds up (a trader cost). size < 2**128 and entry < 2**96, so size * entry cannot overflow.
    function borrowFeeUp(uint256 size, uint256 entry, uint256 indexDelta, uint256 unit)
        internal
        pure
        returns (uint256)
    {
        return (size * entry).mulDivUp(indexDelta, ConstantsLib.WAD * unit);
    }

    /// @notice Profit payable to a position at most: entry notional * maxProfitFactor; the pool
    /// reserves exactly this amount while the position is open.
    /// @dev Rounds up: the pool reserves (and may pay) the ceiling, never less than it reserved.
    function maxProfitUp(uint256 size, uint256 entry, uint256 maxProfitFactorBps, uint256 unit)
        internal
        pure
        returns (uint256)
    {
        return (size * entry).mulDivUp(maxProfitFactorBps, ConstantsLib.BPS * unit);
    }

    /// @notice Max-profit factor (bps of the new entry notional) a position carries after an
    /// increase at `price`: the smaller of the market's current factor and what is left of the
    /// old leg's cap (`headroom`) per unit of its `size`, so the old leg's part of the new cap,
    /// size * price * factor, never exceeds the headroom.
    /// @dev Rounds down: against the trader, whose cap it bounds.
    function carriedProfitFactorDown(
        uint256 size,
        uint256 price,
        uint256 headroom,
        uint256 currentFactorBps,
        uint256 unit
    ) internal pure returns (uint256) {
        uint256 carried = headroom.mulDivDown(ConstantsLib.BPS * unit, size * price);
        return carried < currentFactorBps ? carried : currentFactorBps;
    }

    /// @notice Liquidation fee in the maintenance requirement: max(notional * liquidationFeeRate,
    /// minLiquidationFee). Rounds up (a requirement); the keeper is paid `liquidationFeeDown`.
    function liquidationFeeUp(uint256 notional, uint256 liquidationFeeRate, uint256 minLiquidationFee)
        internal
        pure
        returns (uint256)
    {
        uint256 proportional = notional.wMulUp(liquidationFeeRate);
        return proportional > minLiquidationFee ? proportional : minLiquidationFee;
    }

    /// @notice Keeper reward: max(notionalDown * liquidationFeeRate, minLiquidationFee).
    /// @dev Rounds down (a payout, against the keeper); never above `liquidationFeeUp`.
    function liquidationFeeDown(uint256 notionalDown_, uint256 liquidationFeeRate, uint256 minLiquidationFee)
        internal
        pure
        returns (uint256)
    {
        uint256 proportional = notionalDown_.wMulDown(liquidationFeeRate);
        return proportional > minLiquidationFee ? proportional : minLiquidationFee;
    }

    /// @notice Close fee on `notional`: notional * min(closeFeeRate, mmr), where mmr is the
    /// position's snapshot. Capping the rate at mmr keeps it under maintenance, so every healthy
    /// position can pay it (and a raise of the market's close fee cannot trap an open position).
    /// @dev Rounds up (a trader cost).
    function closeFeeUp(uint256 notional, uint256 closeFeeRate, uint256 mmr) internal pure returns (uint256) {
        return notional.wMulUp(closeFeeRate < mmr ? closeFeeRate : mmr);
    }

    /// @notice Maintenance requirement: notional * mmr + liquidationFee. Rounds up.
    function maintenanceUp(uint256 notional, uint256 mmr, uint256 liquidationFeeRate, uint256 minLiquidationFee)
        internal
        pure
        returns (uint256)
    {
        return notional.wMulUp(mmr) + liquidationFeeUp(notional, liquidationFeeRate, minLiquidationFee);
    }

    /// @notice `pnl` as settlement pays it: a gain is capped at `cap` (the position's max profit).
    function cappedPnl(int256 pnl_, uint256 cap) internal pure returns (int256) {
        int256 c = MathLib.toInt(cap);
        return pnl_ < c ? pnl_ : c;
    }

    /// @notice Initial margin requirement: notional / maxLeverage. Rounds up.
    function initialMarginUp(uint256 notional, uint256 maxLeverage) internal pure returns (uint256) {
        return notional.wDivUp(maxLeverage);
    }

    /// @notice equity = collateral + pnl - borrowFee (signed; negative means bad debt).
    function equity(uint256 collateral, int256 pnl_, uint256 borrowFee) internal pure returns (int256) {
        return MathLib.toInt(collateral) + pnl_ - MathLib.toInt(borrowFee);
    }

    /// @notice equity counting a loss but no profit: collateral + min(pnl, 0) - borrowFee. What
    /// removeCollateral checks: a withdrawal comes out of collateral, never out of paper gains.
    function equityWithoutProfit(uint256 collateral, int256 pnl_, uint256 borrowFee) internal pure returns (int256) {
        return equity(collateral, pnl_ < 0 ? pnl_ : int256(0), borrowFee);
    }

    /// @notice Margin a position needs after a change: max(initial margin, maintenance), both
    /// rounded up, so it comes out with initial margin and healthy.
    function marginAfterChangeUp(
        uint256 notional,
        uint256 maxLeverage,
        uint256 mmr,
        uint256 liquidationFeeRate,
        uint256 minLiquidationFee
    ) internal pure returns (uint256) {
        uint256 initial = initialMarginUp(notional, maxLeverage);
        uint256 maintenance = maintenanceUp(notional, mmr, liquidationFeeRate, minLiquidationFee);
        return maintenance > initial ? maintenance : initial;
    }

    /// @notice The largest amount removeCollateral accepts: the largest a with
    /// equityWithoutProfit(collateral - a) >= required and collateral - a >= minCollateral, or 0.
    /// @dev Exact, no rounding of its own: equityWithoutProfit moves one for one with collateral,
    /// so removing the result passes and one unit more fails (`required` and the fee round up).
    function maxRemovableCollateral(
        uint256 collateral,
        int256 pnl_,
        uint256 borrowFee,
        uint256 required,
        uint256 minCollateral
    ) internal pure returns (uint256) {
        int256 byMargin = equityWithoutProfit(collateral, pnl_, borrowFee) - MathLib.toInt(required);
        if (byMargin <= 0 || collateral <= minCollateral) return 0;
        uint256 byMinimum = collateral - minCollateral;
        return uint256(byMargin) < byMinimum ? uint256(byMargin) : byMinimum;
    }

    /// @notice Price L at which equity(p) = maintenance(p) on the loss side, in closed form on the
    /// reals, with the borrow fee accrued so far and the gain capped at `maxProfit` (settlement's
    /// value). A long is liquidatable below L (and above `liquidationPriceHigh`), a short above L;
    /// at L itself the integer-rounded health may go either way, and at L - 1 wei (long) or
    /// L + 1 wei (short) the root is crossed.
    /// @dev Maintenance is notional*mmr + max(notional*feeRate, minFee) and equity is
    /// min(uncapped equity, collateral + maxProfit - B), so the position is liquidatable iff it is
    /// under either fee branch of either equity line. A long's uncapped line gives the loss-side
    /// root (the larger branch root); its capped line only the profit side. A short is liquidatable
    /// above every root of its four lines, so its price is the smallest. Long roots round up, short
    /// ones down. Returns 0 when no positive price solves it: a long that cannot be liquidated on
    /// the loss side, or a short that is liquidatable at any price.
    function liquidationPrice(
        bool isLong,
        uint256 size,
        uint256 entry,
        uint256 collateral,
        uint256 borrowFee,
        uint256 maxProfit,
        uint256 mmr,
        uint256 liquidationFeeRate,
        uint256 minLiquidationFee,
        uint256 unit
    ) internal pure returns (uint256) {
        uint256 proportional =
            _branchRoot(isLong, size, entry, collateral, borrowFee, mmr + liquidationFeeRate, 0, unit);
        uint256 fixedFee = _branchRoot(isLong, size, entry, collateral, borrowFee, mmr, minLiquidationFee, unit);
        if (isLong) return proportional > fixedFee ? proportional : fixedFee;
        uint256 root = proportional < fixedFee ? proportional : fixedFee;
        uint256 capped =
            liquidationPriceHigh(size, collateral, borrowFee, maxProfit, mmr, liquidationFeeRate, minLiquidationFee, unit);
        return capped < root ? capped : root;
    }

    /// @notice Price H above which the capped equity, collateral + maxProfit - borrowFee, is below
    /// maintenance (closed form on the reals, rounded down): a long is liquidatable below its
    /// `liquidationPrice` and above H, so it is healthy only in between (nowhere if H is lower);
    /// above H + 1 wei the root is crossed. 0 when the capped equity is below maintenance at any
    /// price. For a short, H bounds the same line and `liquidationPrice` already takes it.
    /// @dev Smaller root of (c + maxProfit - B) = notional(p) * (mmr + feeRate) and
    /// (c + maxProfit - B) = notional(p) * mmr + minFee: p = (c + maxProfit - B - fixedFee) * unit /
    /// (s * rate). A zero rate has no root (type(uint256).max).
    function liquidationPriceHigh(
        uint256 size,
        uint256 collateral,
        uint256 borrowFee,
        uint256 maxProfit,
        uint256 mmr,
        uint256 liquidationFeeRate,
        uint256 minLiquidationFee,
        uint256 unit
    ) internal pure returns (uint256) {
        uint256 proportional = _cappedRoot(size, collateral, borrowFee, maxProfit, mmr + liquidationFeeRate, 0, unit);
        uint256 fixedFee = _cappedRoot(size, collateral, borrowFee, maxProfit, mmr, minLiquidationFee, unit);
        return proportional < fixedFee ? proportional : fixedFee;
    }

    /// @dev Root of c + maxProfit - B = notional(p) * rate + fixedFee, rounded down.
    function _cappedRoot(
        uint256 size,
        uint256 collateral,
        uint256 borrowFee,
        uint256 maxProfit,
        uint256 rate,
        uint256 fixedFee,
        uint256 unit
    ) private pure returns (uint256) {
        uint256 credits = (collateral + maxProfit) * unit;
        uint256 debits = (borrowFee + fixedFee) * unit;
        if (credits <= debits) return 0;
        if (rate == 0) return type(uint256).max;
        return (credits - debits).mulDivDown(ConstantsLib.WAD, size * rate);
    }

    /// @dev Root of c + pnl(p) - B = notional(p) * rate + fixedFee on the reals:
    /// long  p = (s*e + (B + fixedFee - c) * unit) / (s * (1 - rate)), rounded up;
    /// short p = (s*e + (c - B - fixedFee) * unit) / (s * (1 + rate)), rounded down.
    function _branchRoot(
        bool isLong,
        uint256 size,
        uint256 entry,
        uint256 collateral,
        uint256 borrowFee,
        uint256 rate,
        uint256 fixedFee,
        uint256 unit
    ) private pure returns (uint256) {
        uint256 base = size * entry;
        uint256 debits = (borrowFee + fixedFee) * unit;
        uint256 credits = collateral * unit;
        if (isLong) {
            if (base + debits <= credits) return 0;
            return (base + debits - credits).mulDivUp(ConstantsLib.WAD, size * (ConstantsLib.WAD - rate));
        }
        if (base + credits <= debits) return 0;
        return (base + credits - debits).mulDivDown(ConstantsLib.WAD, size * (ConstantsLib.WAD + rate));
    }
}
