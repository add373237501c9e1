/**
 * Mirror of `contracts/libraries/PositionMath.sol`, function for function: same names, same
 * argument order, same rounding and the same order of operations, in bigint.
 *
 * Units: `size` in index units (WAD), prices WAD per index unit, amounts in collateral token
 * units; `unit` = 1e18 * 10**(18 - tokenDecimals) turns size * price into token units. Every
 * rounding goes against the trader: losses, fees and requirements round up; gains round down.
 * @module
 */
import { ConstantsLib } from "./ConstantsLib.js";
import { MathLib } from "./MathLib.js";
import { MAX_UINT256, i256, u256 } from "./checked.js";

const { WAD, BPS } = ConstantsLib;

export namespace PositionMath {
  /** size * price in token units, rounded down (used for payouts). */
  export function notionalDown(size: bigint, price: bigint, unit: bigint): bigint {
    return MathLib.mulDivDown(size, price, unit);
  }

  /** size * price in token units, rounded up (used for fees and requirements). */
  export function notionalUp(size: bigint, price: bigint, unit: bigint): bigint {
    return MathLib.mulDivUp(size, price, unit);
  }

  /** Signed profit (+) or loss (-) of `size` opened at `entry`, valued at `price`. A gain rounds down, a loss up. */
  export function pnl(isLong: boolean, size: bigint, entry: bigint, price: bigint, unit: bigint): bigint {
    const gain = isLong ? price >= entry : price <= entry;
    const move = price >= entry ? price - entry : entry - price;
    return gain
      ? MathLib.toInt(MathLib.mulDivDown(size, move, unit))
      : i256(-MathLib.toInt(MathLib.mulDivUp(size, move, unit)), "pnl");
  }

  /** Borrow fee owed since the position's index snapshot: size * entry * indexDelta. Rounds up. */
  export function borrowFeeUp(size: bigint, entry: bigint, indexDelta: bigint, unit: bigint): bigint {
    return MathLib.mulDivUp(u256(size * entry, "borrowFeeUp"), indexDelta, u256(WAD * unit, "borrowFeeUp"));
  }

  /** Most profit payable to a position: entry notional * maxProfitFactor (the pool reserves it). Rounds up. */
  export function maxProfitUp(size: bigint, entry: bigint, maxProfitFactorBps: bigint, unit: bigint): bigint {
    return MathLib.mulDivUp(u256(size * entry, "maxProfitUp"), maxProfitFactorBps, u256(BPS * unit, "maxProfitUp"));
  }

  /**
   * Max-profit factor (bps of the new entry notional) a position carries after an increase at
   * `price`: the smaller of the market's current factor and the old leg's cap left (`headroom`)
   * per unit of its `size`. Rounds down (against the trader).
   */
  export function carriedProfitFactorDown(
    size: bigint,
    price: bigint,
    headroom: bigint,
    currentFactorBps: bigint,
    unit: bigint,
  ): bigint {
    const carried = MathLib.mulDivDown(headroom, u256(BPS * unit, "carriedProfitFactorDown"), u256(size * price, "carriedProfitFactorDown"));
    return carried < currentFactorBps ? carried : currentFactorBps;
  }

  /**
   * Liquidation fee in the maintenance requirement: max(notional * liquidationFeeRate,
   * minLiquidationFee). Rounds up (a requirement); the keeper is paid `liquidationFeeDown`.
   */
  export function liquidationFeeUp(notional: bigint, liquidationFeeRate: bigint, minLiquidationFee: bigint): bigint {
    const proportional = MathLib.wMulUp(notional, liquidationFeeRate);
    return proportional > minLiquidationFee ? proportional : minLiquidationFee;
  }

  /** Keeper reward: max(notionalDown * liquidationFeeRate, minLiquidationFee). Rounds down (a payout). */
  export function liquidationFeeDown(notionalDown_: bigint, liquidationFeeRate: bigint, minLiquidationFee: bigint): bigint {
    const proportional = MathLib.wMulDown(notionalDown_, liquidationFeeRate);
    return proportional > minLiquidationFee ? proportional : minLiquidationFee;
  }

  /**
   * Close fee on `notional`: notional * min(closeFeeRate, mmr) with the position's snapshot mmr,
   * so it stays under maintenance and every healthy position can pay it. Rounds up.
   */
  export function closeFeeUp(notional: bigint, closeFeeRate: bigint, mmr: bigint): bigint {
    return MathLib.wMulUp(notional, closeFeeRate < mmr ? closeFeeRate : mmr);
  }

  /** `pnl` as settlement pays it: a gain capped at `cap` (the position's max profit). */
  export function cappedPnl(pnl_: bigint, cap: bigint): bigint {
    const c = MathLib.toInt(cap);
    return pnl_ < c ? pnl_ : c;
  }

  /** Maintenance requirement: notional * mmr + liquidationFee. Rounds up. */
  export function maintenanceUp(
    notional: bigint,
    mmr: bigint,
    liquidationFeeRate: bigint,
    minLiquidationFee: bigint,
  ): bigint {
    return u256(
      MathLib.wMulUp(notional, mmr) + liquidationFeeUp(notional, liquidationFeeRate, minLiquidationFee),
      "maintenanceUp",
    );
  }

  /** Initial margin requirement: notional / maxLeverage. Rounds up. */
  export function initialMarginUp(notional: bigint, maxLeverage: bigint): bigint {
    return MathLib.wDivUp(notional, maxLeverage);
  }

  /** equity = collateral + pnl - borrowFee (signed; negative means bad debt). */
  export function equity(collateral: bigint, pnl_: bigint, borrowFee: bigint): bigint {
    return i256(i256(MathLib.toInt(collateral) + pnl_, "equity") - MathLib.toInt(borrowFee), "equity");
  }

  /**
   * equity counting a loss but no profit: collateral + min(pnl, 0) - borrowFee. What
   * removeCollateral checks: a withdrawal comes out of collateral, never out of paper gains.
   */
  export function equityWithoutProfit(collateral: bigint, pnl_: bigint, borrowFee: bigint): bigint {
    return equity(collateral, pnl_ < 0n ? pnl_ : 0n, borrowFee);
  }

  /** Margin a position needs after a change: max(initial margin, maintenance), both rounded up. */
  export function marginAfterChangeUp(
    notional: bigint,
    maxLeverage: bigint,
    mmr: bigint,
    liquidationFeeRate: bigint,
    minLiquidationFee: bigint,
  ): bigint {
    const initial = initialMarginUp(notional, maxLeverage);
    const maintenance = maintenanceUp(notional, mmr, liquidationFeeRate, minLiquidationFee);
    return maintenance > initial ? maintenance : initial;
  }

  /**
   * The largest amount removeCollateral accepts: the largest a with
   * equityWithoutProfit(collateral - a) >= required and collateral - a >= minCollateral, or 0.
   * Exact: removing it passes and one unit more fails.
   */
  export function maxRemovableCollateral(
    collateral: bigint,
    pnl_: bigint,
    borrowFee: bigint,
    required: bigint,
    minCollateral: bigint,
  ): bigint {
    const byMargin = i256(equityWithoutProfit(collateral, pnl_, borrowFee) - MathLib.toInt(required), "maxRemovableCollateral");
    if (byMargin <= 0n || collateral <= minCollateral) return 0n;
    const byMinimum = collateral - minCollateral;
    return byMargin < byMinimum ? byMargin : byMinimum;
  }

  /**
   * Price L at which equity(p) = maintenance(p) on the loss side, in closed form on the reals, with
   * the borrow fee accrued so far and the gain capped at `maxProfit` (settlement's value). A long is
   * liquidatable below L (and above `liquidationPriceHigh`), a short above L; always at L - 1 wei
   * (a short at L + 1 wei), where the root is crossed; at L itself the integer-rounded health may
   * go either way. Long roots round up, short ones down. 0 when no positive price solves it: a
   * long that cannot be liquidated on the loss side, or a short that is liquidatable at any price.
   */
  export function liquidationPrice(
    isLong: boolean,
    size: bigint,
    entry: bigint,
    collateral: bigint,
    borrowFee: bigint,
    maxProfit: bigint,
    mmr: bigint,
    liquidationFeeRate: bigint,
    minLiquidationFee: bigint,
    unit: bigint,
  ): bigint {
    const proportional = branchRoot(
      isLong,
      size,
      entry,
      collateral,
      borrowFee,
      u256(mmr + liquidationFeeRate, "liquidationPrice"),
      0n,
      unit,
    );
    const fixedFee = branchRoot(isLong, size, entry, collateral, borrowFee, mmr, minLiquidationFee, unit);
    if (isLong) return proportional > fixedFee ? proportional : fixedFee;
    const root = proportional < fixedFee ? proportional : fixedFee;
    const capped = liquidationPriceHigh(size, collateral, borrowFee, maxProfit, mmr, liquidationFeeRate, minLiquidationFee, unit);
    return capped < root ? capped : root;
  }

  /**
   * Price H above which the capped equity, collateral + maxProfit - borrowFee, is below
   * maintenance (rounded down): a long is healthy only between `liquidationPrice` and H (nowhere
   * if H is lower). 0 when the capped equity is below maintenance at any price.
   */
  export function liquidationPriceHigh(
    size: bigint,
    collateral: bigint,
    borrowFee: bigint,
    maxProfit: bigint,
    mmr: bigint,
    liquidationFeeRate: bigint,
    minLiquidationFee: bigint,
    unit: bigint,
  ): bigint {
    const proportional = cappedRoot(
      size, collateral, borrowFee, maxProfit, u256(mmr + liquidationFeeRate, "liquidationPrice"), 0n, unit,
    );
    const fixedFee = cappedRoot(size, collateral, borrowFee, maxProfit, mmr, minLiquidationFee, unit);
    return proportional < fixedFee ? proportional : fixedFee;
  }

  /** `_cappedRoot`: root of c + maxProfit - B = notional(p) * rate + fixedFee, rounded down. */
  function cappedRoot(
    size: bigint,
    collateral: bigint,
    borrowFee: bigint,
    maxProfit: bigint,
    rate: bigint,
    fixedFee: bigint,
    unit: bigint,
  ): bigint {
    const op = "liquidationPrice";
    const credits = u256(u256(collateral + maxProfit, op) * unit, op);
    const debits = u256(u256(borrowFee + fixedFee, op) * unit, op);
    if (credits <= debits) return 0n;
    if (rate === 0n) return MAX_UINT256;
    return MathLib.mulDivDown(credits - debits, WAD, u256(size * rate, op));
  }

  /** `_branchRoot`: root of c + pnl(p) - B = notional(p) * rate + fixedFee on the reals. */
  function branchRoot(
    isLong: boolean,
    size: bigint,
    entry: bigint,
    collateral: bigint,
    borrowFee: bigint,
    rate: bigint,
    fixedFee: bigint,
    unit: bigint,
  ): bigint {
    const op = "liquidationPrice";
    const base = u256(size * entry, op);
    const debits = u256(u256(borrowFee + fixedFee, op) * unit, op);
    const credits = u256(collateral * unit, op);
    if (isLong) {
      if (u256(base + debits, op) <= credits) return 0n;
      return MathLib.mulDivUp(base + debits - credits, WAD, u256(size * u256(WAD - rate, op), op));
    }
    if (u256(base + credits, op) <= debits) return 0n;
    return MathLib.mulDivDown(base + credits - debits, WAD, u256(size * u256(WAD + rate, op), op));
  }
}
