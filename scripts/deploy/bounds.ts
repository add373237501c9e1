// The governance bounds of contracts/libraries/ConstantsLib.sol and the checks of
// MarketConfigLogic.sol and the Bulkhead constructor, mirrored one for one so that a bad parameter
// file is refused before any transaction is sent. Same names, same order, same integer rounding as
// the contracts; test/deploy/bounds.ts holds the two together by calling the contract.

/** 1.0 in 18-decimal fixed point. */
export const WAD = 10n ** 18n;
/** Basis points in one whole (maxProfitFactorBps). */
export const BPS = 10_000n;
/** Seconds in a 365-day year, for annual rate bounds. */
export const YEAR = 365n * 24n * 3600n;

/** Highest number of markets. */
export const MAX_MARKETS = 16n;
/** Bounds on maxLeverage (WAD multiple of collateral). */
export const MIN_MAX_LEVERAGE = 11n * 10n ** 17n; // 1.1e18
export const MAX_MAX_LEVERAGE = 100n * WAD;
/** Bounds on the maintenance margin rate (WAD). */
export const MIN_MMR = 10n ** 15n; // 0.001e18
export const MAX_MMR = 5n * 10n ** 17n; // 0.5e18
/** Upper bound on the proportional liquidation fee rate (WAD). */
export const MAX_LIQUIDATION_FEE_RATE = 5n * 10n ** 16n; // 0.05e18
/** Upper bound on the open and close fee rates (WAD). */
export const MAX_TRADING_FEE_RATE = 10n ** 16n; // 0.01e18
/** Upper bound on the protocol's share of trading fees (WAD). */
export const MAX_PROTOCOL_FEE_SHARE = 5n * 10n ** 17n; // 0.5e18
/** Bounds on the borrow rate, per second (WAD), floored like Solidity's integer division. */
export const MAX_BASE_BORROW_RATE = WAD / YEAR;
export const MAX_BORROW_RATE_SLOPE = (4n * WAD) / YEAR;
/** Bounds on the max-profit factor, basis points of entry notional. */
export const MIN_MAX_PROFIT_FACTOR_BPS = 1_000n;
export const MAX_MAX_PROFIT_FACTOR_BPS = 100_000n;
/** Bounds on a feed's heartbeat (staleness threshold), seconds. */
export const MIN_HEARTBEAT = 60n;
export const MAX_HEARTBEAT = 2n * 24n * 3600n;
/** Highest feed decimals the engine accepts. */
export const MAX_FEED_DECIMALS = 36n;
/** Bound on the L2 sequencer grace period, seconds. */
export const MAX_SEQUENCER_GRACE_PERIOD = 24n * 3600n;
/** Highest collateral token decimals (UnsupportedDecimals above). */
export const MAX_TOKEN_DECIMALS = 18n;
/** Highest position size (index units, WAD) and collateral (token units). */
export const MAX_SIZE = 2n ** 128n - 1n;
export const MAX_COLLATERAL = 2n ** 96n - 1n;

/** Trading parameters, as the `MarketParams` struct. */
export type MarketParams = {
  maxLeverage: bigint;
  openFeeRate: bigint;
  closeFeeRate: bigint;
  baseBorrowRate: bigint;
  borrowRateSlope: bigint;
  minCollateral: bigint;
  maxLongOpenInterest: bigint;
  maxShortOpenInterest: bigint;
};

/** Risk parameters, as the `RiskParams` struct. */
export type RiskParams = {
  mmr: bigint;
  liquidationFeeRate: bigint;
  minLiquidationFee: bigint;
  maxProfitFactorBps: bigint;
};

/** Bit widths of the RiskParams fields: wider values cannot even be ABI-encoded. */
export const RISK_FIELD_BITS: Record<keyof RiskParams, number> = {
  mmr: 64,
  liquidationFeeRate: 64,
  minLiquidationFee: 96,
  maxProfitFactorBps: 32,
};

/** What `ParameterOutOfBounds(name, value, min, max)` would carry. */
export type BoundsViolation = { name: string; value: bigint; min: bigint; max: bigint };

/** The contract's `checkBounds`: undefined when min <= value <= max. */
export function checkBounds(name: string, value: bigint, min: bigint, max: bigint): BoundsViolation | undefined {
  return value < min || value > max ? { name, value, min, max } : undefined;
}

const wMulUp = (x: bigint, y: bigint) => (x * y + WAD - 1n) / WAD;
const wMulDown = (x: bigint, y: bigint) => (x * y) / WAD;
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** MarketConfigLogic._validateFeed after the code check: heartbeat, then feed decimals. */
export function feedViolations(heartbeat: bigint, feedDecimals: bigint): BoundsViolation[] {
  return defined([
    checkBounds("heartbeat", heartbeat, MIN_HEARTBEAT, MAX_HEARTBEAT),
    checkBounds("feedDecimals", feedDecimals, 0n, MAX_FEED_DECIMALS),
  ]);
}

/** MarketConfigLogic._validateParams, in the contract's order. */
export function paramsViolations(p: MarketParams): BoundsViolation[] {
  return defined([
    checkBounds("maxLeverage", p.maxLeverage, MIN_MAX_LEVERAGE, MAX_MAX_LEVERAGE),
    checkBounds("openFeeRate", p.openFeeRate, 0n, MAX_TRADING_FEE_RATE),
    checkBounds("closeFeeRate", p.closeFeeRate, 0n, MAX_TRADING_FEE_RATE),
    checkBounds("baseBorrowRate", p.baseBorrowRate, 0n, MAX_BASE_BORROW_RATE),
    checkBounds("borrowRateSlope", p.borrowRateSlope, 0n, MAX_BORROW_RATE_SLOPE),
    checkBounds("minCollateral", p.minCollateral, 1n, MAX_COLLATERAL),
    checkBounds("maxLongOpenInterest", p.maxLongOpenInterest, 0n, MAX_SIZE),
    checkBounds("maxShortOpenInterest", p.maxShortOpenInterest, 0n, MAX_SIZE),
  ]);
}

/**
 * MarketConfigLogic._validateRisk, in the contract's order. The coupled checks keep a fresh
 * position at max leverage and minimum collateral out of liquidation: mmr + liquidationFeeRate <
 * 1 / maxLeverage, and minLiquidationFee < minCollateral * (1 - maxLeverage * mmr).
 */
export function riskViolations(r: RiskParams, p: MarketParams): BoundsViolation[] {
  const out = [
    checkBounds("mmr", r.mmr, MIN_MMR, MAX_MMR),
    checkBounds("liquidationFeeRate", r.liquidationFeeRate, 0n, MAX_LIQUIDATION_FEE_RATE),
    checkBounds("maxProfitFactorBps", r.maxProfitFactorBps, MIN_MAX_PROFIT_FACTOR_BPS, MAX_MAX_PROFIT_FACTOR_BPS),
  ];
  // The contract divides by maxLeverage here; it never gets this far with 0 (maxLeverage is checked first).
  if (p.maxLeverage > 0n) {
    const initialRate = (WAD * WAD) / p.maxLeverage;
    out.push(checkBounds("mmr+liquidationFeeRate", r.mmr + r.liquidationFeeRate, 0n, initialRate - 1n));
    const leveragedMmr = wMulUp(p.maxLeverage, r.mmr);
    const feeRoom = leveragedMmr >= WAD ? 0n : wMulDown(p.minCollateral, WAD - leveragedMmr);
    out.push(checkBounds("minLiquidationFee", r.minLiquidationFee, 0n, feeRoom === 0n ? 0n : feeRoom - 1n));
  }
  return defined(out);
}

/** Every violation `listMarket` checks after the feed-code check, in the order it checks them. */
export function listMarketViolations(
  heartbeat: bigint,
  feedDecimals: bigint,
  params: MarketParams,
  risk: RiskParams,
): BoundsViolation[] {
  return [...feedViolations(heartbeat, feedDecimals), ...paramsViolations(params), ...riskViolations(risk, params)];
}

/** The Bulkhead constructor's bound on the sequencer grace period. */
export function gracePeriodViolation(gracePeriod: bigint): BoundsViolation | undefined {
  return checkBounds("sequencerGracePeriod", gracePeriod, 0n, MAX_SEQUENCER_GRACE_PERIOD);
}

/** setProtocolFeeShare's bound. */
export function protocolFeeShareViolation(share: bigint): BoundsViolation | undefined {
  return checkBounds("protocolFeeShare", share, 0n, MAX_PROTOCOL_FEE_SHARE);
}

/** Bounds on a stream's report deviation from its push feed, basis points (BulkheadOracle.setStream). */
export const MIN_REPORT_DEVIATION_BPS = 1n;
export const MAX_REPORT_DEVIATION_BPS = 500n;
/** Bounds on request timing, seconds (BulkheadOracle's constructor and setTiming). */
export const MIN_SETTLEMENT_DELAY = 1n;
export const MAX_SETTLEMENT_DELAY = 60n;
export const MAX_REQUEST_EXPIRY = 24n * 3600n;
export const MIN_PUSH_FALLBACK_DELAY = 60n;
/** Data Streams report schema the oracle decodes: the first two bytes of every stream id. */
export const STREAM_SCHEMA_V3 = 3n;

/** Request timing, as the `Timing` struct. */
export type Timing = { settlementDelay: bigint; expiry: bigint; pushFallbackDelay: bigint };

/**
 * BulkheadOracle._setTiming, in the contract's order: the fallback opens after the settlement time
 * and at least a minute after the request, and the request expires no sooner than the fallback.
 */
export function timingViolations(t: Timing): BoundsViolation[] {
  const fallbackMin = MIN_PUSH_FALLBACK_DELAY > t.settlementDelay ? MIN_PUSH_FALLBACK_DELAY : t.settlementDelay + 1n;
  return defined([
    checkBounds("settlementDelay", t.settlementDelay, MIN_SETTLEMENT_DELAY, MAX_SETTLEMENT_DELAY),
    checkBounds("pushFallbackDelay", t.pushFallbackDelay, fallbackMin, MAX_REQUEST_EXPIRY),
    checkBounds("expiry", t.expiry, t.pushFallbackDelay, MAX_REQUEST_EXPIRY),
  ]);
}

/** setStream's bound on the report deviation. */
export function streamDeviationViolation(maxDeviationBps: bigint): BoundsViolation | undefined {
  return checkBounds("maxDeviationBps", maxDeviationBps, MIN_REPORT_DEVIATION_BPS, MAX_REPORT_DEVIATION_BPS);
}

/** The schema version a stream id carries (setStream reverts ReportSchemaUnsupported unless 3). */
export const streamSchemaOf = (streamId: string): bigint => BigInt(streamId.slice(0, 6));
