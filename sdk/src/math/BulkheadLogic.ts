/**
 * Mirror of the engine's own arithmetic: `contracts/Bulkhead.sol` and the logic it runs in its
 * libraries (`TradeLib`, `IncreaseLogic`, `DecreaseLogic`): what each trader action would
 * compute (`open`, `IncreaseLogic.increase`, `DecreaseLogic.decrease` / `_settleDecrease` /
 * `_bookTraderSettlement`, `removeCollateral`), the liquidation split (`_previewFromHealth`,
 * `_splitLiquidation`) and its ledger effects (`_executeLiquidation`, `liquidateMany`). Same
 * operation order and rounding as the contracts. The borrow index and rate are in {@link BorrowLib}.
 *
 * Every action that changes the ledger also refreshes the acted-on market's borrow rate from the
 * ledger after it (open, increase, decrease, close, liquidate); other markets keep theirs until
 * their own next action or an LP deposit/withdrawal (see `PoolLogic`). The previews return that
 * ledger (`ledgerAfter`) and rate (`borrowRateAfter`).
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
import { BorrowLib, type RateMarket } from "./BorrowLib.js";
import { i256, u256 } from "./checked.js";
import type { Ledger, LiquidationPreview, MarketState, PositionRecord, RiskParams } from "../types.js";

const { WAD } = ConstantsLib;

/** A custom error the engine would revert with: its name and its named arguments. */
export interface RevertReason {
  name: string;
  args: Record<string, bigint | boolean | string>;
}

/** Inputs shared by every trader-action preview. */
export interface ActionContext {
  /** 1e18 * 10**(18 - token decimals). */
  unit: bigint;
  /** Validated oracle price (WAD) at execution. */
  price: bigint;
  /** Market borrow index at execution (see `BorrowLib.currentIndex`). */
  index: bigint;
  /** The pool ledger before the action. */
  ledger: Ledger;
  /** The engine's `protocolFeeShare()` (WAD): the protocol's cut of trading fees. */
  protocolFeeShare: bigint;
}

/** What an action leaves behind in the pool ledger and its market's borrow rate. */
export interface LedgerEffects {
  /** The pool ledger after the action (as `ledger()` would return it). Meaningless when `revert` is set. */
  ledgerAfter: Ledger;
  /**
   * The market's borrow rate after the action (per second, WAD, `borrowRate(marketId)`): the rate
   * at the utilisation of `ledgerAfter`, which every market's index follows while it holds.
   */
  borrowRateAfter: bigint;
}

/** What `open` computes. */
export interface OpenPreview extends LedgerEffects {
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
export interface IncreasePreview extends LedgerEffects {
  borrowFee: bigint;
  openFee: bigint;
  /** PnL of the old size at the price, capped at its cap, settled into collateral. */
  realisedPnl: bigint;
  newSize: bigint;
  /** The price: the whole position's entry after the increase. */
  newEntryPrice: bigint;
  newCollateral: bigint;
  newNotional: bigint;
  /** The market's current risk version, which the position moves to. */
  riskVersion: number;
  /** The position's cap factor after it: min(current factor, the old leg's cap left per unit). */
  maxProfitFactorBps: bigint;
  /** Margin required after the change: max(initial margin, maintenance), so it comes out healthy. */
  initialMargin: bigint;
  /** Change of the position's reserved max profit (new cap - old cap; negative when the old leg used its cap). */
  reserveDelta: bigint;
  /** Free liquidity once the old reserve is released; it must cover the new reserve plus a realised profit. */
  freeLiquidity: bigint;
  liquidationPrice: bigint;
  /** Tokens the engine pulls from the trader: collateralDelta + open fee. */
  pulled: bigint;
  revert?: RevertReason;
}

/** What `decrease` / `close` computes. */
export interface DecreasePreview extends LedgerEffects {
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
  /** Margin the rest needs (0 on close): max(initial margin, maintenance), so it comes out healthy. */
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
  /** Equity the check counts: newCollateral + min(pnl, 0) - borrowFee (no unrealised profit). */
  equityAfter: bigint;
  /** Margin required after the change: max(initial margin, maintenance), so it comes out healthy. */
  initialMargin: bigint;
  /** The most that could be removed now (`PositionMath.maxRemovableCollateral`, the lens' `maxRemovableCollateral`). */
  maxRemovable: bigint;
  liquidationPrice: bigint;
  revert?: RevertReason;
}

/** A position as `liquidateMany` sees it (the client's `PositionView` fits). */
export interface BatchPosition {
  id: bigint;
  /** The stored record; size 0 (closed, liquidated, never opened) is skipped. */
  position: PositionRecord;
  /** Risk parameters of the position's risk version. */
  risk: RiskParams;
  /** The vault's token balance. */
  vaultBalance: bigint;
}

/** A market as `liquidateMany` reads it once per batch. */
export interface BatchMarket {
  /** Rate parameters (a {@link MarketState} fits). */
  market: RateMarket;
  /** Validated price (WAD), or null when the feed fails a check: its positions are skipped. */
  price: bigint | null;
  /** Borrow index at execution (`BorrowLib.currentIndex`). */
  index: bigint;
}

/** What `liquidateMany(ids)` would do. */
export interface LiquidateManyPreview {
  /** Aligned with the input: the executed preview, or null where the position was skipped. */
  previews: (LiquidationPreview | null)[];
  liquidated: number;
  /** Paid to the keeper once, from the pool: the sum of the executed keeper rewards. */
  reward: bigint;
  /** The pool ledger after the batch (unchanged when nothing was liquidated). */
  ledgerAfter: Ledger;
  /**
   * Borrow rate (`borrowRate(marketId)`) after the whole batch of each market with at least one
   * liquidation; every other market's rate moves with the same utilisation.
   */
  borrowRatesAfter: Map<number, bigint>;
}

export namespace BulkheadLogic {
  // ------------------------------------------------------------ checks

  /** `_checkSlippage`: a buyer accepts prices up to `acceptable`, a seller down to it. */
  export function checkSlippage(buying: boolean, price: bigint, acceptable: bigint): RevertReason | undefined {
    if (buying ? price > acceptable : price < acceptable) {
      return { name: "SlippageExceeded", args: { acceptable, actual: price } };
    }
    return undefined;
  }

  /**
   * `checkMarginAfterChange` (open, increase, decrease, collateral removal): initial margin, and
   * the position comes out healthy, so `required` = max(initial margin, maintenance). `equity`
   * uses the capped pnl, as health does.
   */
  export function checkMarginAfterChange(
    equity: bigint,
    notional: bigint,
    collateral: bigint,
    m: Pick<MarketState, "maxLeverage" | "minCollateral">,
    risk: Pick<RiskParams, "mmr" | "liquidationFeeRate" | "minLiquidationFee">,
  ): { required: bigint; revert?: RevertReason } {
    const required = PositionMath.marginAfterChangeUp(notional, m.maxLeverage, risk.mmr, risk.liquidationFeeRate, risk.minLiquidationFee);
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

  /**
   * `TradeLib.reserveAndBookFee`: reserves `reserveDelta` of free liquidity (LP assets - reserved)
   * and books a trading fee (protocol share rounded down, the rest to LPs) plus `lpIncome` (a
   * settled borrow fee). Returns the ledger after it, the free liquidity it checked and, when the
   * reserve exceeds it, the revert.
   */
  export function reserveAndBookFee(
    l: Ledger,
    protocolFeeShare: bigint,
    reserveDelta: bigint,
    fee: bigint,
    lpIncome: bigint,
  ): { ledger: Ledger; free: bigint; revert?: RevertReason } {
    const { free, revert } = checkFreeLiquidity(l, reserveDelta);
    const protocolCut = MathLib.wMulDown(fee, protocolFeeShare);
    const ledger: Ledger = {
      lpAssets: u256(l.lpAssets + fee - protocolCut + lpIncome, "reserveAndBookFee"),
      reserved: u256(l.reserved + reserveDelta, "reserveAndBookFee"),
      insuranceFund: l.insuranceFund,
      protocolFees: u256(l.protocolFees + protocolCut, "reserveAndBookFee"),
    };
    return revert ? { ledger, free, revert } : { ledger, free };
  }

  /** The market's rate once an action left the ledger at `l` (`BorrowLib.rateAt`, the engine's `borrowRate`). */
  function rateAfter(m: RateMarket, l: Ledger): bigint {
    return BorrowLib.rateAt(m, l.lpAssets, l.reserved);
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
    const margin = checkMarginAfterChange(MathLib.toInt(collateral), notional, collateral, m, ctx.risk);
    reasons.push(margin.revert);
    const oi = checkOpenInterest(m, ctx.marketId, isLong, size);
    reasons.push(oi.revert);
    const reserve = size === 0n ? 0n : PositionMath.maxProfitUp(size, price, ctx.risk.maxProfitFactorBps, unit);
    const openFee = MathLib.wMulUp(notional, m.openFeeRate);
    const booked = reserveAndBookFee(ctx.ledger, ctx.protocolFeeShare, reserve, openFee, 0n);
    reasons.push(booked.revert);
    const liquidationPrice =
      size === 0n
        ? 0n
        : PositionMath.liquidationPrice(
            isLong, size, price, collateral, 0n, reserve, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
          );
    return {
      notional,
      openFee,
      initialMargin: margin.required,
      reserve,
      freeLiquidity: booked.free,
      openInterestAfter: oi.oi,
      liquidationPrice,
      pulled: collateral + openFee,
      ledgerAfter: booked.ledger,
      borrowRateAfter: rateAfter(m, booked.ledger),
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /**
   * What `increase(id, collateralDelta, sizeDelta, acceptablePrice, ...)` computes
   * (`IncreaseLogic.increase`, `_bookIncrease`): the position settles at the price (PnL capped at
   * its own cap, borrow fee) into collateral, then takes entry = price, the market's current risk
   * version (`ctx.risk` must be that version's parameters) and the carried cap factor.
   */
  export function previewIncrease(
    ctx: ActionContext & { market: MarketState; risk: RiskParams; protocolPaused: boolean },
    p: PositionRecord,
    collateralDelta: bigint,
    sizeDelta: bigint,
    acceptablePrice?: bigint,
  ): IncreasePreview {
    const { market: m, unit, price, index } = ctx;
    const op = "increase";
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
    const borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, u256(index - p.borrowIndex, op), unit);
    const oldReserve = PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, unit);
    let realisedPnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, price, unit);
    const cap = MathLib.toInt(oldReserve);
    if (realisedPnl > cap) realisedPnl = cap;
    const maxProfitFactorBps = PositionMath.carriedProfitFactorDown(p.size, price, cap - realisedPnl, ctx.risk.maxProfitFactorBps, unit);
    const newNotional = PositionMath.notionalUp(newSize, price, unit);
    const collateralAfter = MathLib.toInt(withCollateral) + realisedPnl - MathLib.toInt(borrowFee);
    let newCollateral = 0n;
    let initialMargin = PositionMath.initialMarginUp(newNotional, m.maxLeverage);
    if (collateralAfter < 0n) {
      reasons.push({ name: "InsufficientMargin", args: { equity: collateralAfter, required: initialMargin } });
    } else {
      newCollateral = collateralAfter;
      if (newCollateral > ConstantsLib.MAX_COLLATERAL) {
        reasons.push({ name: "AmountTooLarge", args: { amount: newCollateral, max: ConstantsLib.MAX_COLLATERAL } });
      }
      const margin = checkMarginAfterChange(MathLib.toInt(newCollateral), newNotional, newCollateral, m, ctx.risk);
      initialMargin = margin.required;
      reasons.push(margin.revert);
    }
    reasons.push(checkOpenInterest(m, p.marketId, p.isLong, sizeDelta).revert);
    const openFee = MathLib.wMulUp(PositionMath.notionalUp(sizeDelta, price, unit), m.openFeeRate);
    const newReserve = PositionMath.maxProfitUp(newSize, price, maxProfitFactorBps, unit);
    const booked = bookIncrease(ctx.ledger, ctx.protocolFeeShare, oldReserve, newReserve, realisedPnl, openFee, borrowFee);
    reasons.push(booked.revert);
    const liquidationPrice = PositionMath.liquidationPrice(
      p.isLong, newSize, price, newCollateral, 0n, newReserve, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
    );
    return {
      borrowFee,
      openFee,
      realisedPnl,
      newSize,
      newEntryPrice: price,
      newCollateral,
      newNotional,
      riskVersion: m.riskVersion,
      maxProfitFactorBps,
      initialMargin,
      reserveDelta: newReserve - oldReserve,
      freeLiquidity: booked.free,
      liquidationPrice,
      pulled: collateralDelta + openFee,
      ledgerAfter: booked.ledger,
      borrowRateAfter: rateAfter(m, booked.ledger),
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /**
   * `IncreaseLogic._bookIncrease`: releases the old reserve, pays a realised profit out of LP
   * assets (a loss goes to them), reserves the new cap and books the open fee (protocol share
   * rounded down) and the borrow fee. `free` is the free liquidity after the release, which must
   * cover the new reserve plus the profit.
   */
  export function bookIncrease(
    l: Ledger,
    protocolFeeShare: bigint,
    oldReserve: bigint,
    newReserve: bigint,
    realisedPnl: bigint,
    openFee: bigint,
    borrowFee: bigint,
  ): { ledger: Ledger; free: bigint; revert?: RevertReason } {
    const op = "bookIncrease";
    const reserved = u256(l.reserved - oldReserve, op);
    const free = MathLib.zeroFloorSub(l.lpAssets, reserved);
    const profit = realisedPnl > 0n ? realisedPnl : 0n;
    const protocolCut = MathLib.wMulDown(openFee, protocolFeeShare);
    if (newReserve + profit > free) {
      return {
        ledger: l,
        free,
        revert: { name: "InsufficientFreeLiquidity", args: { available: free, required: newReserve + profit } },
      };
    }
    const ledger: Ledger = {
      lpAssets: u256(i256(MathLib.toInt(l.lpAssets + openFee - protocolCut + borrowFee) - realisedPnl, op), op),
      reserved: u256(reserved + newReserve, op),
      insuranceFund: l.insuranceFund,
      protocolFees: u256(l.protocolFees + protocolCut, op),
    };
    return { ledger, free };
  }

  /**
   * What `decrease(id, sizeDelta, ...)` (or `close`, with sizeDelta = "close") computes, including
   * `_bookTraderSettlement`'s unpaid profit (only after socialised bad debt emptied LP assets).
   */
  export function previewDecrease(
    ctx: ActionContext & { market: MarketState; risk: RiskParams; vaultBalance: bigint; id: bigint },
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
    const profitFactor = p.maxProfitFactorBps;
    const reserve = PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, unit);
    const newReserve = PositionMath.maxProfitUp(newSize, p.entryPrice, profitFactor, unit);
    let pnl = PositionMath.pnl(p.isLong, delta, p.entryPrice, price, unit);
    const cap = MathLib.toInt(MathLib.mulDivDown(reserve, delta, p.size));
    if (pnl > cap) pnl = cap;
    const closeFee = PositionMath.closeFeeUp(PositionMath.notionalUp(delta, price, unit), m.closeFeeRate, ctx.risk.mmr);
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
      equityAfter = PositionMath.equity(
        newCollateral,
        PositionMath.cappedPnl(PositionMath.pnl(p.isLong, newSize, p.entryPrice, price, unit), newReserve),
        0n,
      );
      const margin = checkMarginAfterChange(equityAfter, PositionMath.notionalUp(newSize, price, unit), newCollateral, m, ctx.risk);
      initialMargin = margin.required;
      reasons.push(margin.revert);
      liquidationPrice = PositionMath.liquidationPrice(
        p.isLong, newSize, p.entryPrice, newCollateral, 0n, newReserve, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
      );
    }
    const unreserved = { ...ctx.ledger, reserved: u256(ctx.ledger.reserved - (reserve - newReserve), "decrease") };
    const settled = bookTraderSettlement(unreserved, ctx.protocolFeeShare, borrowFee, closeFee, pnl, payout);
    payout -= settled.unpaid;
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
      ledgerAfter: settled.ledger,
      borrowRateAfter: rateAfter(m, settled.ledger),
      revert: reasons.find((r) => r !== undefined),
    };
  }

  /**
   * `DecreaseLogic._bookTraderSettlement`: books a trader's realised borrow fee, close fee and PnL
   * in the ledger. Returns the ledger after it and `unpaid`, the profit neither LP assets nor
   * insurance can pay (only after socialised bad debt; at most `payout`, the protocol's fee cut
   * of this very trade giving back any excess).
   */
  export function bookTraderSettlement(
    l: Ledger,
    protocolFeeShare: bigint,
    borrowFee: bigint,
    closeFee: bigint,
    pnl: bigint,
    payout: bigint,
  ): { unpaid: bigint; ledger: Ledger } {
    const op = "bookTraderSettlement";
    const protocolCut = MathLib.wMulDown(closeFee, protocolFeeShare);
    const ledger: Ledger = { ...l, protocolFees: u256(l.protocolFees + protocolCut, op) };
    const lpDelta = i256(MathLib.toInt(u256(borrowFee + closeFee - protocolCut, op)) - pnl, op);
    if (lpDelta >= 0n) return { unpaid: 0n, ledger: { ...ledger, lpAssets: u256(l.lpAssets + lpDelta, op) } };
    let owed = -lpDelta;
    if (owed <= l.lpAssets) return { unpaid: 0n, ledger: { ...ledger, lpAssets: l.lpAssets - owed } };
    ledger.lpAssets = 0n;
    owed -= l.lpAssets;
    const fromInsurance = owed < l.insuranceFund ? owed : l.insuranceFund;
    ledger.insuranceFund = l.insuranceFund - fromInsurance;
    let unpaid = owed - fromInsurance;
    if (unpaid > payout) {
      ledger.protocolFees = u256(ledger.protocolFees - (unpaid - payout), op);
      unpaid = payout;
    }
    return { unpaid, ledger };
  }

  /**
   * What `removeCollateral(id, amount)` computes (the borrow fee is counted, not settled). The
   * equity checked counts a loss but no unrealised profit (`equityWithoutProfit`). It neither
   * accrues nor touches the ledger, so the market's borrow rate stays as it is.
   */
  export function previewRemoveCollateral(
    ctx: Omit<ActionContext, "ledger" | "protocolFeeShare"> & { market: Pick<MarketState, "maxLeverage" | "minCollateral">; risk: RiskParams },
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
    const equityAfter = PositionMath.equityWithoutProfit(newCollateral, pnl, borrowFee);
    const cap = HealthLib.profitCap(p, unit);
    const notional = PositionMath.notionalUp(p.size, price, unit);
    const margin = checkMarginAfterChange(equityAfter, notional, newCollateral, m, ctx.risk);
    reasons.push(margin.revert);
    const maxRemovable = PositionMath.maxRemovableCollateral(p.collateral, pnl, borrowFee, margin.required, m.minCollateral);
    const liquidationPrice = PositionMath.liquidationPrice(
      p.isLong, p.size, p.entryPrice, newCollateral, borrowFee, cap, ctx.risk.mmr, ctx.risk.liquidationFeeRate, ctx.risk.minLiquidationFee, unit,
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
   * `_previewFromHealth`: what `liquidate` does for a position at `price` and `index`, given its
   * vault's token balance and the ledger. `previewLiquidation(id)` returns exactly this. For what
   * it leaves behind see `applyLiquidation` (one) and `previewLiquidateMany` (a batch).
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
      keeperReward: PositionMath.liquidationFeeDown(
        PositionMath.notionalDown(p.size, price, unit), risk.liquidationFeeRate, risk.minLiquidationFee,
      ),
      badDebt: 0n,
      toInsurance: 0n,
      fromInsurance: 0n,
      fromPool: 0n,
      lpDelta: 0n,
    };
    if (!r.liquidatable) return r;
    if (r.equity < 0n) r.badDebt = -r.equity;
    // h.pnl is already capped at the max profit: LPs are owed the fee minus what settlement pays.
    r.lpDelta = MathLib.toInt(h.borrowFee) - h.pnl;
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

  /**
   * `_executeLiquidation`'s ledger effects: releases the position's reserved max profit, applies
   * `r.lpDelta` to LP assets and moves the insurance fund. After it every market's rate is
   * `BorrowLib.rateAt(market, after.lpAssets, after.reserved)`.
   */
  export function applyLiquidation(l: Ledger, p: PositionRecord, risk: RiskParams, r: LiquidationPreview, unit: bigint): Ledger {
    const op = "applyLiquidation";
    return {
      lpAssets: u256(i256(MathLib.toInt(l.lpAssets) + r.lpDelta, op), op),
      reserved: u256(l.reserved - HealthLib.profitCap(p, unit), op),
      insuranceFund: u256(l.insuranceFund + r.toInsurance - r.fromInsurance, op),
      protocolFees: l.protocolFees,
    };
  }

  /**
   * `liquidateMany(ids)`: in order, skips unknown ids (and repeats), markets without a valid price
   * and healthy positions, liquidates the rest with the ledger threaded through the batch (each
   * split sees the ledger the previous ones left), then refreshes the rate of every market that
   * had a liquidation from the final ledger.
   */
  export function previewLiquidateMany(
    positions: readonly (BatchPosition | null)[],
    markets: readonly BatchMarket[],
    ledger: Ledger,
    unit: bigint,
  ): LiquidateManyPreview {
    let l = ledger;
    const done = new Set<bigint>();
    const touched = new Set<number>();
    const previews: (LiquidationPreview | null)[] = [];
    let reward = 0n;
    for (const item of positions) {
      const p = item?.position;
      if (!item || !p || p.size === 0n || done.has(item.id)) {
        previews.push(null);
        continue;
      }
      const m = markets[p.marketId];
      if (!m || m.price === null) {
        previews.push(null);
        continue;
      }
      const r = previewLiquidation(p, item.risk, m.price, m.index, unit, item.vaultBalance, l);
      if (!r.liquidatable) {
        previews.push(null);
        continue;
      }
      l = applyLiquidation(l, p, item.risk, r, unit);
      done.add(item.id);
      touched.add(p.marketId);
      reward += r.keeperReward;
      previews.push(r);
    }
    const borrowRatesAfter = new Map<number, bigint>();
    for (const id of [...touched].sort((a, b) => a - b)) borrowRatesAfter.set(id, rateAfter(markets[id]!.market, l));
    return { previews, liquidated: done.size, reward, ledgerAfter: l, borrowRatesAfter };
  }
}
