// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Position, RiskParams, Health} from "../interfaces/IBulkhead.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title HealthLib
/// @notice Health of one position at one price and borrow index. The engine's liquidation path
/// (`liquidate`, `liquidateMany`, `previewLiquidation`) and the lens views run this same code.
library HealthLib {
    using MathLib for uint256;

    /// @dev Every field of {Health} but `liquidationPrice` (see `withLiquidationPrice`).
    /// liquidatable <=> equity < maintenance, maintenance = notional * mmr + liquidationFee.
    function health(Position memory p, RiskParams memory risk, uint256 price, uint256 index, uint256 unit)
        internal
        pure
        returns (Health memory h)
    {
        h.price = price;
        h.notional = PositionMath.notionalUp(p.size, price, unit);
        h.pnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, price, unit);
        h.borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, index - p.borrowIndex, unit);
        h.equity = PositionMath.equity(p.collateral, h.pnl, h.borrowFee);
        h.liquidationFee = PositionMath.liquidationFeeUp(h.notional, risk.liquidationFeeRate, risk.minLiquidationFee);
        h.maintenance = h.notional.wMulUp(risk.mmr) + h.liquidationFee;
        h.liquidatable = h.equity < MathLib.toInt(h.maintenance);
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
            risk.mmr,
            risk.liquidationFeeRate,
            risk.minLiquidationFee,
            unit
        );
        return h;
    }
}
