/**
 * Mirror of `contracts/libraries/HealthLib.sol`: the health of one position at one price and
 * borrow index, exactly as the engine's liquidation path and the lens compute it.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { PositionMath } from "./PositionMath.js";
import { u256 } from "./checked.js";
import type { Health, PositionRecord, RiskParams } from "../types.js";

/** The fields of a position record that its health depends on. */
export type HealthInput = Pick<PositionRecord, "isLong" | "size" | "entryPrice" | "collateral" | "borrowIndex" | "maxProfitFactorBps">;

export namespace HealthLib {
  /**
   * Every field of {@link Health} but `liquidationPrice` (0 here; see `withLiquidationPrice`).
   * liquidatable <=> equity < maintenance, maintenance = notional * mmr + liquidationFee, with the
   * value settlement pays: equity = collateral + min(pnl, profitCap) - borrowFee.
   */
  export function health(p: HealthInput, risk: RiskParams, price: bigint, index: bigint, unit: bigint): Health {
    const notional = PositionMath.notionalUp(p.size, price, unit);
    const pnl = PositionMath.cappedPnl(PositionMath.pnl(p.isLong, p.size, p.entryPrice, price, unit), profitCap(p, unit));
    const borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, u256(index - p.borrowIndex, "health"), unit);
    const equity = PositionMath.equity(p.collateral, pnl, borrowFee);
    const liquidationFee = PositionMath.liquidationFeeUp(notional, risk.liquidationFeeRate, risk.minLiquidationFee);
    const maintenance = u256(MathLib.wMulUp(notional, risk.mmr) + liquidationFee, "health");
    return {
      price,
      notional,
      pnl,
      borrowFee,
      equity,
      maintenance,
      liquidationFee,
      liquidationPrice: 0n,
      liquidatable: equity < MathLib.toInt(maintenance),
    };
  }

  /**
   * The most profit settlement pays the whole position (what the pool reserves for it), from the
   * position's own max-profit factor (its risk version's at open, at most that after an increase).
   */
  export function profitCap(p: Pick<HealthInput, "size" | "entryPrice" | "maxProfitFactorBps">, unit: bigint): bigint {
    return PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, unit);
  }

  /** A copy of `h` with `liquidationPrice` from the closed form and the borrow fee in `h`. */
  export function withLiquidationPrice(h: Health, p: HealthInput, risk: RiskParams, unit: bigint): Health {
    return {
      ...h,
      liquidationPrice: PositionMath.liquidationPrice(
        p.isLong,
        p.size,
        p.entryPrice,
        p.collateral,
        h.borrowFee,
        profitCap(p, unit),
        risk.mmr,
        risk.liquidationFeeRate,
        risk.minLiquidationFee,
        unit,
      ),
    };
  }
}
