/**
 * Mirror of the engine's own arithmetic in `contracts/Bulkhead.sol` (its internal functions, which
 * are not a library): the borrow index (`_borrowRate`, `_currentIndex`, `_pendingBorrowFees`),
 * what each trader action would compute (`open`, `increase`, `_decrease` / `_settleDecrease` /
 * `_bookTraderSettlement`, `removeCollateral`) and the liquidation split (`_previewLiquidation`,
 * `_splitLiquidation`). Same operation order and rounding as the contract.
 *
 * A preview never throws on a failed business check: it returns the numbers it could compute and,
 * in `revert`, the first custom error the engine would revert with (in the engine's check order).
 * Arithmetic panics still throw {@link ArithmeticError}, as the contract would panic.
 * @module
 */
import { ConstantsLib } from "./ConstantsLib.js";
import { MathLib } from "./MathLib.js";
import { PositionMath } from "./PositionMath.js";
import { HealthLib } from "./HealthLib.js";
import { u256 } from "./checked.js";
import type { Ledger, LiquidationPreview, MarketState, PositionRecord, RiskParams } from "../types.js";

const { WAD } = ConstantsLib;

/** A custom error the engine would revert with: its name and its named arguments. */
export interface RevertReason {
  name: string;
  args: Record<string, bigint | boolean | string>;
}

/** Market fields the borrow index depends on. */
export type BorrowMarket = Pick<MarketState, "baseBorrowRate" | "borrowRateSlope" | "borrowIndex" | "lastAccrual">;

/** Inputs shared by every trader-action preview. */
export interface ActionContext {
  /** 1e18 * 10**(18 - token decimals). */
  unit: bigint;
  /** Validated oracle price (WAD) at execution. */
  price: bigint;
  /** Market borrow index at execution (see `currentIndex`). */
  index: bigint;
  /** The pool ledger before the action. */
  ledger: Ledger;
}

/** What `open` computes. */
export interface OpenPreview {
  notional: bigint;
  openFee: bigint;
  initialMargin: bigint;
  /** Max payable profit the pool reserves for this position. */
  reserve: bigint;
  freeLiquidity: bigint;
  openInterestAfter: bigint;
  /** Liquidation price right after opening (no borrow fee yet). */
  liquidationPrice: bigint;
  /** Tokens the engine pulls from the trader: collateral + open fee. */
  pulled: bigint;
  revert?: RevertReason;
}

/** What `increase` computes. */
export interface IncreasePreview {
  borrowFee: bigint;
  openFee: bigint;
  newSize: bigint;
  newEntryPrice: bigint;
  newCollateral: bigint;
  newNotional: bigint;
  initialMargin: bigint;
  reserveDelta: bigint;
  freeLiquidity: bigint;
  liquidationPrice: bigint;
  /** Tokens the engine pulls from the trader: collateralDelta + open fee. */
  pulled: bigint;
  revert?: RevertReason;
}

/** What `decrease` / `close` computes. */
export interface DecreasePreview {
  isClose: boolean;
  /** Realised PnL of the size delta, capped by its share of the max profit. */
  pnl: bigint;
  borrowFee: bigint;
  closeFee: bigint;
  /** Collateral released from the vault for the size delta. */
  released: bigint;
  newSize: bigint;
  newCollateral: bigint;
  /** Paid to the owner by the engine (after any profit the pool could not pay). */
  payout: bigint;
  /** Tokens above the recorded collateral in the vault, paid to the owner on close. */
  donation: bigint;
  /** Initial margin the rest needs (0 on close). */
  initialMargin: bigint;
  /** Equity of the rest at the execution price (0 on close). */
  equityAfter: bigint;
  /** Liquidation price of the rest (0 on close). */
  liquidationPrice: bigint;
  revert?: RevertReason;
}

/** What `removeCollateral` computes. */
export interface RemoveCollateralPreview {
  borrowFee: bigint;
  newCollateral: bigint;
  equityAfter: bigint;
  initialMargin: bigint;
  /** The most that could be removed now. */
  maxRemovable: bigint;
  liquidationPrice: bigint;
  revert?: RevertReason;
}

export namespace BulkheadLogic {
  // ------------------------------------------------------------ borrow index

  /** `_borrowRate`: baseRate + slope * utilisation, utilisation = reserved / LP assets capped at 100%. */
  export function borrowRate(m: Pick<MarketState, "baseBorrowRate" | "borrowRateSlope">, l: Pick<Ledger, "lpAssets" | "reserved">): bigint {
    const utilisation =
      l.reserved >= l.lpAssets ? (l.reserved === 0n ? 0n : WAD) : MathLib.mulDivDown(l.reserved, WAD, l.lpAssets);
    return u256(m.baseBorrowRate + MathLib.wMulDown(m.borrowRateSlope, utilisation), "borrowRate");
  }

  /** `_currentIndex`: the market's borrow index at `timestamp` (seconds). */
  export function currentIndex(m: BorrowMarket, l: Pick<Ledger, "lpAssets" | "reserved">, timestamp: bigint): bigint {
    return u256(m.borrowIndex + u256(borrowRate(m, l) * u256(timestamp - m.lastAccrual, "currentIndex"), "currentIndex"), "currentIndex");
  }

  /** `_pendingBorrowFees`: fees all open positions of a market owe for an index move, rounded down. */
  export function pendingBorrowFees(
    m: Pick<MarketState, "longSizeEntry" | "shortSizeEntry">,
    indexDelta: bigint,
    unit: bigint,
  ): bigint {
    if (indexDelta === 0n) return 0n;
    return MathLib.mulDivDown(u256(m.longSizeEntry + m.shortSizeEntry, "pendingBorrowFees"), indexDelta, u256(WAD * unit, "pendingBorrowFees"));
  }

  // ------------------------------------------------------------ checks

  /** `_checkSlippage`: a buyer accepts prices up to `acceptable`, a seller down to it. */
  export function checkSlippage(buying: boolean, price: bigint, acceptable: bigint): RevertReason | undefined {
    if (buying ? price > acceptable : price < acceptable) {
      return { name: "SlippageExceeded", args: { acceptable, actual: price } };
    }
    return undefined;
  }

  /** `_checkInitialMargin`: equity >= notional / maxLeverage (up) and collateral >= minCollateral. */
  export function checkInitialMargin(
    equity: bigint,
    notional: bigint,
    collateral: bigint,
    m: Pick<MarketState, "maxLeverage" | "minCollateral">,
  ): { required: bigint; revert?: RevertReason } {
    const required = PositionMath.initialMarginUp(notional, m.maxLeverage);
    if (equity < MathLib.toInt(required)) return { required, revert: { name: "InsufficientMargin", args: { equity, required } } };
    if (collateral < m.minCollateral) {
      return { required, revert: { name: "CollateralBelowMinimum", args: { collateral, minimum: m.minCollateral } } };
    }
    return { required };
  }

  function checkOpenInterest(m: MarketState, marketId: number, isLong: boolean, sizeDelta: bigint): { oi: bigint; revert?: RevertReason } {
    const oi = (isLong ? m.longSize : m.shortSize) + sizeDelta;
    const cap = isLong ? m.maxLongOpenInterest : m.maxShortOpenInterest;
    if (oi > cap) {
      return { oi, revert: { name: "OpenInterestCapExceeded", args: { marketId: BigInt(marketId), isLong, openInterest: oi, cap } } };
    }
    return { oi };
  }

  function checkFreeLiquidity(l: Ledger, reserveDelta: bigint): { free: bigint; revert?: RevertReason } {
    const free = MathLib.zeroFloorSub(l.lpAssets, l.reserved);
    if (reserveDelta > free) return { free, revert: { name: "InsufficientFreeLiquidity", args: { available: free, required: reserveDelta } } };
    return { free };
  }

  function checkPaused(m: MarketState, marketId: number, protocolPaused: boolean): RevertReason | undefined {
    if (protocolPaused) return { name: "ProtocolPaused", args: {} };
    if (m.paused) return { name: "MarketPaused", args: { marketId: BigInt(marketId) } };
    return undefined;
  }

  // ------------------------------------------------------------ actions

  /** What `open(marketId, isLong, collateral, size, acceptablePrice, ...)` computes at `ctx.price`. */
  export function previewOpen(
    ctx: ActionContext & { market: MarketState; marketId: number; risk: RiskParams; protocolPaused: boolean },
    isLong: boolean,
    collateral: bigint,
    size: bigint,
    acceptablePrice?: bigint,
  ): OpenPreview {
    const { market: m, unit, price } = ctx;
    const reasons: (RevertReason | undefined)[] = [];
    reasons.push(checkPaused(m, ctx.marketId, ctx.protocolPaused));
    if (collateral === 0n || size === 0n) reasons.push({ name: "ZeroAmount", args: {} });
    if (size > ConstantsLib.MAX_SIZE) reasons.push({ name: "AmountTooLarge", args: { amount: size, max: ConstantsLib.MAX_SIZE } });
    if (collateral > ConstantsLib.MAX_COLLATERAL) {
      reasons.push({ name: "AmountTooLarge", args: { amount: collateral, max: ConstantsLib.MAX_COLLATERAL } });
    }
    if (acceptablePrice !== undefined) reasons.push(checkSlippage(isLong, price, acceptablePrice));
    const notional = PositionMath.notionalUp(size, price, unit);
    const margin = checkInitialMargin(MathLib.toInt(collateral), notional, collateral, m);
    reasons.push(margin.revert);
    const oi = checkOpenInterest(m, ctx.marketId, isLong, size);
    reasons.push(oi.revert);
    const reserve = size === 0n ? 0n : PositionMath.maxProfitUp(size, price, ctx.risk.maxProfitFactorBps, unit);
    const free = checkFreeLiquidity(ctx.ledger, reserve);
    reasons.push(free.revert);
    const openFee = MathLib.wMulUp(notional, m.openFeeRate);
    const liquidationPrice =
      size === 0n
        ? 0n
        : PositionMath.liquidationPrice(
            isLong, size, price, collateral, 0n, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
          );
    return {
      notional,
      openFee,
      initialMargin: margin.required,
      reserve,
      freeLiquidity: free.free,
      openInterestAfter: oi.oi,
      liquidationPrice,
      pulled: collateral + openFee,
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /** What `increase(id, collateralDelta, sizeDelta, acceptablePrice, ...)` computes. */
  export function previewIncrease(
    ctx: ActionContext & { market: MarketState; risk: RiskParams; protocolPaused: boolean },
    p: PositionRecord,
    collateralDelta: bigint,
    sizeDelta: bigint,
    acceptablePrice?: bigint,
  ): IncreasePreview {
    const { market: m, unit, price, index } = ctx;
    const reasons: (RevertReason | undefined)[] = [];
    reasons.push(checkPaused(m, p.marketId, ctx.protocolPaused));
    if (sizeDelta === 0n) reasons.push({ name: "ZeroAmount", args: {} });
    const newSize = p.size + sizeDelta;
    if (newSize > ConstantsLib.MAX_SIZE) reasons.push({ name: "AmountTooLarge", args: { amount: newSize, max: ConstantsLib.MAX_SIZE } });
    const withCollateral = p.collateral + collateralDelta;
    if (withCollateral > ConstantsLib.MAX_COLLATERAL) {
      reasons.push({ name: "AmountTooLarge", args: { amount: withCollateral, max: ConstantsLib.MAX_COLLATERAL } });
    }
    if (acceptablePrice !== undefined) reasons.push(checkSlippage(p.isLong, price, acceptablePrice));
    const borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, u256(index - p.borrowIndex, "increase"), unit);
    const oldBase = p.size * p.entryPrice;
    const newBase = u256(oldBase + u256(sizeDelta * price, "increase"), "increase");
    const newEntryPrice = p.isLong ? MathLib.mulDivUp(newBase, 1n, newSize) : newBase / newSize;
    const newNotional = PositionMath.notionalUp(newSize, price, unit);
    let newCollateral = 0n;
    let initialMargin = PositionMath.initialMarginUp(newNotional, m.maxLeverage);
    if (borrowFee > withCollateral) {
      reasons.push({
        name: "InsufficientMargin",
        args: { equity: MathLib.toInt(withCollateral) - MathLib.toInt(borrowFee), required: initialMargin },
      });
    } else {
      newCollateral = withCollateral - borrowFee;
      const margin = checkInitialMargin(
        PositionMath.equity(newCollateral, PositionMath.pnl(p.isLong, newSize, newEntryPrice, price, unit), 0n),
        newNotional,
        newCollateral,
        m,
      );
      initialMargin = margin.required;
      reasons.push(margin.revert);
    }
    reasons.push(checkOpenInterest(m, p.marketId, p.isLong, sizeDelta).revert);
    const profitFactor = ctx.risk.maxProfitFactorBps;
    const openFee = MathLib.wMulUp(PositionMath.notionalUp(sizeDelta, price, unit), m.openFeeRate);
    const reserveDelta =
      PositionMath.maxProfitUp(newSize, newEntryPrice, profitFactor, unit) -
      PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, unit);
    const free = checkFreeLiquidity(ctx.ledger, reserveDelta);
    reasons.push(free.revert);
    const liquidationPrice = PositionMath.liquidationPrice(
      p.isLong, newSize, newEntryPrice, newCollateral, 0n, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
    );
    return {
      borrowFee,
      openFee,
      newSize,
      newEntryPrice,
      newCollateral,
      newNotional,
      initialMargin,
      reserveDelta,
      freeLiquidity: free.free,
      liquidationPrice,
      pulled: collateralDelta + openFee,
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /**
   * What `decrease(id, sizeDelta, ...)` (or `close`, with sizeDelta = "close") computes, including
   * `_bookTraderSettlement`'s unpaid profit (only after socialised bad debt emptied LP assets).
   */
  export function previewDecrease(
    ctx: ActionContext & { market: MarketState; risk: RiskParams; protocolFeeShare: bigint; vaultBalance: bigint; id: bigint },
    p: PositionRecord,
    sizeDelta: bigint | "close",
    acceptablePrice?: bigint,
  ): DecreasePreview {
    const { market: m, unit, price, index } = ctx;
    const isClose = sizeDelta === "close";
    const reasons: (RevertReason | undefined)[] = [];
    if (sizeDelta !== "close") {
      if (sizeDelta === 0n) reasons.push({ name: "ZeroAmount", args: {} });
      if (sizeDelta >= p.size) reasons.push({ name: "SizeDeltaTooLarge", args: { sizeDelta, size: p.size } });
    }
    const delta = sizeDelta === "close" || sizeDelta > p.size ? p.size : sizeDelta;
    if (acceptablePrice !== undefined) reasons.push(checkSlippage(!p.isLong, price, acceptablePrice));
    const newSize = p.size - delta;
    const borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, u256(index - p.borrowIndex, "decrease"), unit);
    const profitFactor = ctx.risk.maxProfitFactorBps;
    const reserve = PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, unit);
    let pnl = PositionMath.pnl(p.isLong, delta, p.entryPrice, price, unit);
    const cap = MathLib.toInt(MathLib.mulDivDown(reserve, delta, p.size));
    if (pnl > cap) pnl = cap;
    const closeFee = MathLib.wMulUp(PositionMath.notionalUp(delta, price, unit), m.closeFeeRate);
    const released = isClose ? p.collateral : MathLib.mulDivDown(p.collateral, delta, p.size);

    // _settleDecrease
    const net = MathLib.toInt(released) + pnl - MathLib.toInt(u256(borrowFee + closeFee, "decrease"));
    let newCollateral = 0n;
    let payout = 0n;
    if (net >= 0n) {
      newCollateral = p.collateral - released;
      payout = net;
    } else if (isClose || -net > p.collateral - released) {
      reasons.push({ name: "PositionUnderwater", args: { id: ctx.id, net } });
    } else {
      newCollateral = p.collateral - released + net;
    }
    let initialMargin = 0n;
    let equityAfter = 0n;
    let liquidationPrice = 0n;
    if (!isClose && newSize > 0n && delta > 0n) {
      equityAfter = PositionMath.equity(newCollateral, PositionMath.pnl(p.isLong, newSize, p.entryPrice, price, unit), 0n);
      const margin = checkInitialMargin(equityAfter, PositionMath.notionalUp(newSize, price, unit), newCollateral, m);
      initialMargin = margin.required;
      reasons.push(margin.revert);
      liquidationPrice = PositionMath.liquidationPrice(
        p.isLong, newSize, p.entryPrice, newCollateral, 0n, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
      );
    }
    payout -= bookTraderSettlement(ctx.ledger, ctx.protocolFeeShare, borrowFee, closeFee, pnl, payout);
    const donation = isClose ? MathLib.zeroFloorSub(ctx.vaultBalance, p.collateral) : 0n;
    return {
      isClose,
      pnl,
      borrowFee,
      closeFee,
      released,
      newSize,
      newCollateral,
      payout,
      donation,
      initialMargin,
      equityAfter,
      liquidationPrice,
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /** `_bookTraderSettlement`'s return value: the profit neither LP assets nor insurance can pay (at most `payout`). */
  export function bookTraderSettlement(
    l: Ledger,
    protocolFeeShare: bigint,
    borrowFee: bigint,
    closeFee: bigint,
    pnl: bigint,
    payout: bigint,
  ): bigint {
    const protocolCut = MathLib.wMulDown(closeFee, protocolFeeShare);
    const lpDelta = MathLib.toInt(borrowFee + closeFee - protocolCut) - pnl;
    if (lpDelta >= 0n) return 0n;
    let owed = -lpDelta;
    if (owed <= l.lpAssets) return 0n;
    owed -= l.lpAssets;
    const fromInsurance = owed < l.insuranceFund ? owed : l.insuranceFund;
    const unpaid = owed - fromInsurance;
    return unpaid > payout ? payout : unpaid;
  }

  /** What `removeCollateral(id, amount)` computes (the borrow fee is counted, not settled). */
  export function previewRemoveCollateral(
    ctx: Omit<ActionContext, "ledger"> & { market: Pick<MarketState, "maxLeverage" | "minCollateral">; risk: RiskParams },
    p: PositionRecord,
    amount: bigint,
  ): RemoveCollateralPreview {
    const { market: m, unit, price, index } = ctx;
    const reasons: (RevertReason | undefined)[] = [];
    if (amount === 0n) reasons.push({ name: "ZeroAmount", args: {} });
    if (amount > p.collateral) reasons.push({ name: "CollateralTooLow", args: { requested: amount, collateral: p.collateral } });
    const newCollateral = amount > p.collateral ? 0n : p.collateral - amount;
    const borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, u256(index - p.borrowIndex, "removeCollateral"), unit);
    const pnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, price, unit);
    const equityAfter = PositionMath.equity(newCollateral, pnl, borrowFee);
    const notional = PositionMath.notionalUp(p.size, price, unit);
    const margin = checkInitialMargin(equityAfter, notional, newCollateral, m);
    reasons.push(margin.revert);
    // equity(c - a) = c - a + pnl - B >= required  and  c - a >= minCollateral
    const byMargin = MathLib.toInt(p.collateral) + pnl - MathLib.toInt(borrowFee) - MathLib.toInt(margin.required);
    const byMinimum = p.collateral - m.minCollateral;
    let maxRemovable = byMargin < byMinimum ? byMargin : byMinimum;
    if (maxRemovable > p.collateral) maxRemovable = p.collateral;
    if (maxRemovable < 0n) maxRemovable = 0n;
    const liquidationPrice = PositionMath.liquidationPrice(
      p.isLong, p.size, p.entryPrice, newCollateral, borrowFee, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
    );
    return {
      borrowFee,
      newCollateral,
      equityAfter,
      initialMargin: margin.required,
      maxRemovable,
      liquidationPrice,
      revert: reasons.find((r) => r !== undefined),
    };
  }

  // ------------------------------------------------------------ liquidation

  /**
   * `_previewLiquidation`: what `liquidate` does for a position at `price` and `index`, given its
   * vault's token balance and the ledger. `previewLiquidation(id)` returns exactly this.
   */
  export function previewLiquidation(
    p: PositionRecord,
    risk: RiskParams,
    price: bigint,
    index: bigint,
    unit: bigint,
    vaultBalance: bigint,
    l: Ledger,
  ): LiquidationPreview {
    const h = HealthLib.health(p, risk, price, index, unit);
    const r: LiquidationPreview = {
      liquidatable: h.liquidatable,
      price,
      equity: h.equity,
      maintenance: h.maintenance,
      keeperReward: h.liquidationFee,
      badDebt: 0n,
      toInsurance: 0n,
      fromInsurance: 0n,
      fromPool: 0n,
      lpDelta: 0n,
    };
    if (!r.liquidatable) return r;
    if (r.equity < 0n) r.badDebt = -r.equity;
    const cap = MathLib.toInt(PositionMath.maxProfitUp(p.size, p.entryPrice, risk.maxProfitFactorBps, unit));
    r.lpDelta = MathLib.toInt(h.borrowFee) - (h.pnl < cap ? h.pnl : cap);
    return splitLiquidation(r, vaultBalance, l);
  }

  /** `_splitLiquidation`: splits the vault between LPs, keeper and insurance (returns a new preview). */
  export function splitLiquidation(preview: LiquidationPreview, vaultBalance: bigint, l: Ledger): LiquidationPreview {
    const r = { ...preview };
    const rest = MathLib.toInt(vaultBalance) - r.lpDelta - MathLib.toInt(r.keeperReward);
    if (rest >= 0n) {
      r.toInsurance = rest;
    } else {
      const shortfall = -rest;
      r.fromInsurance = shortfall < l.insuranceFund ? shortfall : l.insuranceFund;
      r.fromPool = shortfall - r.fromInsurance;
      r.lpDelta -= MathLib.toInt(r.fromPool);
    }
    const lpAfter = MathLib.toInt(l.lpAssets) + r.lpDelta;
    if (lpAfter < 0n) {
      const unpaid = -lpAfter;
      r.lpDelta -= lpAfter;
      const fromRemainder = unpaid < r.toInsurance ? unpaid : r.toInsurance;
      r.toInsurance -= fromRemainder;
      const fromReward = unpaid - fromRemainder;
      r.keeperReward = u256(r.keeperReward - fromReward, "splitLiquidation");
      r.fromPool = r.fromPool > fromReward ? r.fromPool - fromReward : 0n;
    }
    return r;
  }
}
