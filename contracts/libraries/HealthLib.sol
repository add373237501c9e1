// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Position, RiskParams, Health} from "../interfaces/IBulkhead.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title HealthLib
/// @notice Health of one position at one price and borrow index. The engine's liquidation path
/// (`liquidate`, `liquidateMany`, `previewLiquidation`) and the lens views run this same code.
library HealthLib {
    using MathLib for uint256;

    /// @dev Every field of {Health} but `liquidationPrice` (see `withLiquidationPrice`).
    /// liquidatable <=> equity < maintenance, maintenance = notional * mmr + liquidationFee, with
    /// the value settlement pays: equity = collateral + min(pnl, profitCap) - borrowFee.
    function health(Position memory p, RiskParams memory risk, uint256 price, uint256 index, uint256 unit)
        internal
        pure
        returns (Health memory h)
    {
        h.price = price;
        h.notional = PositionMath.notionalUp(p.size, price, unit);
        h.pnl = PositionMath.cappedPnl(
            PositionMath.pnl(p.isLong, p.size, p.entryPrice, price, unit), profitCap(p, unit)
        );
        h.borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, index - p.borrowIndex, unit);
        h.equity = PositionMath.equity(p.collateral, h.pnl, h.borrowFee);
        h.liquidationFee = PositionMath.liquidationFeeUp(h.notional, risk.liquidationFeeRate, risk.minLiquidationFee);
        h.maintenance = h.notional.wMulUp(risk.mmr) + h.liquidationFee;
        h.liquidatable = h.equity < MathLib.toInt(h.maintenance);
    }

    /// @dev The most profit settlement pays the whole position (and what the pool reserves for it),
    /// from the position's own max-profit factor (its risk version's at open, at most that after an
    /// increase): the one place that computes a position's cap.
    function profitCap(Position memory p, uint256 unit) internal pure returns (uint256) {
        return PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, unit);
    }

    /// @dev A cheap sufficient condition for "not liquidatable", on the stack: true only when
    /// `health(...)` would certainly give equity >= maintenance. Every bound is at most one or two
    /// token units looser than the exact rounded value (notional, borrow fee, each maintenance
    /// term, the pnl of a loss), so only positions within a few units of their boundary get false
    /// and go to the exact check; `liquidateMany` skips healthy ids with it. Outside the ranges the
    /// overflow argument covers (price >= 2^120, index delta >= 2^88, index below the position's)
    /// it returns false too. Field widths are the stored ones (size uint128, the rest uint96). A gain
    /// counts at most `maxProfitFactorBps` of entry notional, rounded down (the cap rounds up).
    function surelyHealthy(
        bool isLong,
        uint128 size,
        uint96 entry,
        uint96 collateral,
        uint96 positionIndex,
        uint32 maxProfitFactorBps,
        RiskParams memory risk,
        uint256 price,
        uint256 index,
        uint256 unit
    ) internal pure returns (bool) {
        if (price >= 1 << 120 || index < positionIndex || index - positionIndex >= 1 << 88) return false;
        unchecked {
            // unit >= 1e18 > 2^59: size * price < 2^248, notional < 2^189, notional * rate < 2^253,
            // (size * entry / unit + 1) * delta < 2^253; every sum below stays under 2^196.
            uint256 notional = uint256(size) * price / unit + 1; // >= notionalUp
            uint256 base = uint256(size) * entry; // < 2^224
            uint256 fee = ((base / unit + 1) * (index - positionIndex)) / ConstantsLib.WAD + 1; // >= borrowFeeUp
            uint256 liquidationFee = notional * risk.liquidationFeeRate / ConstantsLib.WAD + 1;
            if (liquidationFee < risk.minLiquidationFee) liquidationFee = risk.minLiquidationFee;
            uint256 debits = notional * risk.mmr / ConstantsLib.WAD + 1 + liquidationFee + fee; // >= maintenance + borrowFeeUp
            bool gain = isLong ? price >= entry : price <= entry;
            // floor: the exact pnl of a gain; a loss is -ceil >= -(floor + 1).
            uint256 move = uint256(size) * (price >= entry ? price - entry : entry - price) / unit;
            if (!gain) return collateral >= debits + move + 1;
            // base < 2^224 and the factor < 2^32; the floor is at most one unit under the exact cap.
            uint256 cap = base * maxProfitFactorBps / (ConstantsLib.BPS * unit);
            return collateral + (move < cap ? move : cap) >= debits;
        }
    }

    /// @dev Fills `liquidationPrice` from the closed form with the borrow fee in `h`.
    function withLiquidationPrice(Health memory h, Position memory p, RiskParams memory risk, uint256 unit)
        internal
        pure
        returns (Health memory)
    {
        h.liquidationPrice = PositionMath.liquidationPrice(
            p.isLong,
            p.size,
            p.entryPrice,
            p.collateral,
            h.borrowFee,
            profitCap(p, unit),
            risk.mmr,
            risk.liquidationFeeRate,
            risk.minLiquidationFee,
            unit
        );
        return h;
    }
}
