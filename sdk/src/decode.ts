/**
 * Converters from ethers `Result`s (positional and named) to the SDK's plain objects.
 * @internal
 */
import type { Health, Ledger, LiquidationPreview, MarketState, PositionRecord, RiskParams, UtilisationAccumulator } from "./types.js";

type R = Record<string, unknown> & ArrayLike<unknown>;
const big = (v: unknown): bigint => BigInt(v as bigint);

export function toMarketState(r: unknown): MarketState {
  const o = r as R;
  return {
    feed: String(o.feed),
    heartbeat: big(o.heartbeat),
    feedDecimals: Number(o.feedDecimals),
    paused: Boolean(o.paused),
    riskVersion: Number(o.riskVersion),
    delisted: Boolean(o.delisted),
    openFeeRate: big(o.openFeeRate),
    closeFeeRate: big(o.closeFeeRate),
    baseBorrowRate: big(o.baseBorrowRate),
    borrowRateSlope: big(o.borrowRateSlope),
    maxLeverage: big(o.maxLeverage),
    minCollateral: big(o.minCollateral),
    maxLongOpenInterest: big(o.maxLongOpenInterest),
    maxShortOpenInterest: big(o.maxShortOpenInterest),
    borrowIndex: big(o.borrowIndex),
    rateIntegral: big(o.rateIntegral),
    accruedBorrowFees: big(o.accruedBorrowFees),
    longSize: big(o.longSize),
    shortSize: big(o.shortSize),
    longSizeEntry: big(o.longSizeEntry),
    shortSizeEntry: big(o.shortSizeEntry),
    longReserved: big(o.longReserved),
    shortReserved: big(o.shortReserved),
  };
}

export function toUtilisationAccumulator(r: unknown): UtilisationAccumulator {
  const o = r as R;
  return { updatedAt: big(o.updatedAt), utilisationTime: big(o.utilisationTime), aboveTargetTime: big(o.aboveTargetTime) };
}

export function toRiskParams(r: unknown): RiskParams {
  const o = r as R;
  return {
    mmr: big(o.mmr),
    liquidationFeeRate: big(o.liquidationFeeRate),
    minLiquidationFee: big(o.minLiquidationFee),
    maxProfitFactorBps: big(o.maxProfitFactorBps),
  };
}

export function toPositionRecord(r: unknown): PositionRecord {
  const o = r as R;
  return {
    size: big(o.size),
    entryPrice: big(o.entryPrice),
    marketId: Number(o.marketId),
    isLong: Boolean(o.isLong),
    collateral: big(o.collateral),
    borrowIndex: big(o.borrowIndex),
    riskVersion: Number(o.riskVersion),
    maxProfitFactorBps: big(o.maxProfitFactorBps),
  };
}

export function toHealth(r: unknown): Health {
  const o = r as R;
  return {
    price: big(o.price),
    notional: big(o.notional),
    pnl: big(o.pnl),
    borrowFee: big(o.borrowFee),
    equity: big(o.equity),
    maintenance: big(o.maintenance),
    liquidationFee: big(o.liquidationFee),
    liquidationPrice: big(o.liquidationPrice),
    liquidatable: Boolean(o.liquidatable),
  };
}

export function toLiquidationPreview(r: unknown): LiquidationPreview {
  const o = r as R;
  return {
    liquidatable: Boolean(o.liquidatable),
    price: big(o.price),
    equity: big(o.equity),
    maintenance: big(o.maintenance),
    keeperReward: big(o.keeperReward),
    badDebt: big(o.badDebt),
    toInsurance: big(o.toInsurance),
    fromInsurance: big(o.fromInsurance),
    fromPool: big(o.fromPool),
    lpDelta: big(o.lpDelta),
  };
}

export function toLedger(r: unknown): Ledger {
  const o = r as R;
  return { lpAssets: big(o.lpAssets), reserved: big(o.reserved), insuranceFund: big(o.insuranceFund), protocolFees: big(o.protocolFees) };
}
