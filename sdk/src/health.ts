/**
 * Health of a position as a front-end shows it: the contract's {@link Health} (computed by the
 * HealthLib mirror, so identical to the lens) plus the ratios derived from it.
 * @module
 */
import { ConstantsLib } from "./math/ConstantsLib.js";
import { HealthLib } from "./math/HealthLib.js";
import type { Health, PositionRecord, RiskParams } from "./types.js";

const { WAD } = ConstantsLib;

/** {@link Health} plus derived ratios. Ratios are WAD fractions, truncated towards zero. */
export interface PositionHealth extends Health {
  /** Borrow fee accrued since the last settlement (alias of `borrowFee`), token units. */
  accruedFees: bigint;
  /** equity / notional (WAD, signed); liquidation happens below mmr plus the keeper fee share. */
  marginRatio: bigint;
  /** equity / maintenance (WAD, signed); below 1e18 exactly when liquidatable. null when maintenance is 0. */
  healthFactor: bigint | null;
  /** notional / equity (WAD); null when equity <= 0. */
  leverage: bigint | null;
  /**
   * How far the price may move against the position before it is liquidatable, as a signed WAD
   * fraction of the current price: (price - L) / price for a long, (L - price) / price for a
   * short. Negative once past L (liquidatable strictly past L, always one wei past it; at L
   * itself rounding decides); 1e18 (100%) for a long no positive price can liquidate (L = 0).
   */
  distanceToLiquidation: bigint;
}

/** Adds the derived ratios to a contract {@link Health}. */
export function deriveHealth(h: Health, isLong: boolean): PositionHealth {
  const { price, liquidationPrice: L } = h;
  return {
    ...h,
    accruedFees: h.borrowFee,
    marginRatio: h.notional === 0n ? 0n : (h.equity * WAD) / h.notional,
    healthFactor: h.maintenance === 0n ? null : (h.equity * WAD) / h.maintenance,
    leverage: h.equity > 0n ? (h.notional * WAD) / h.equity : null,
    distanceToLiquidation: price === 0n ? 0n : ((isLong ? price - L : L - price) * WAD) / price,
  };
}

/**
 * Health of a position at `price` and borrow `index`, computed locally exactly as the lens'
 * `health` / `healthAt` views do (HealthLib.health + withLiquidationPrice).
 */
export function positionHealth(p: PositionRecord, risk: RiskParams, price: bigint, index: bigint, unit: bigint): PositionHealth {
  const h = HealthLib.withLiquidationPrice(HealthLib.health(p, risk, price, index, unit), p, risk, unit);
  return deriveHealth(h, p.isLong);
}
