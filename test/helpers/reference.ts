// Independent reference of DESIGN.md "Position math", written from the spec (not from the
// contracts) so unit tests can compute every expected amount themselves. bigint only.
// Rounding follows DESIGN.md "Units and rounding": trader losses, fees and requirements round
// up; trader gains and payouts round down.

export const WAD = 10n ** 18n;
export const BPS = 10_000n;

export const ceilDiv = (x: bigint, d: bigint): bigint => (x === 0n ? 0n : (x - 1n) / d + 1n);
export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Risk parameters a position keeps (RiskParams). */
export type Risk = { mmr: bigint; liquidationFeeRate: bigint; minLiquidationFee: bigint; maxProfitFactorBps: bigint };

/**
 * Converts "index units (WAD) x WAD price" to token units of a token with `decimals` decimals:
 * size * price / 1e36 * 10**decimals, rounded as asked.
 */
export class Units {
  readonly scale: bigint;
  constructor(readonly decimals: number) {
    this.scale = 10n ** 36n / 10n ** BigInt(decimals);
  }
  up(sizeTimesPrice: bigint): bigint {
    return ceilDiv(sizeTimesPrice, this.scale);
  }
  down(sizeTimesPrice: bigint): bigint {
    return sizeTimesPrice / this.scale;
  }
  /** notional(p) = size * p, rounded up (used for fees and requirements). */
  notional(size: bigint, price: bigint): bigint {
    return this.up(size * price);
  }
  /** pnl(p) = size * (p - entry) for a long, size * (entry - p) for a short; gains down, losses up. */
  pnl(isLong: boolean, size: bigint, entry: bigint, price: bigint): bigint {
    const diff = isLong ? price - entry : entry - price;
    return diff >= 0n ? this.down(size * diff) : -this.up(size * -diff);
  }
  /** borrowFee = size * entry * indexDelta (index is WAD per second), rounded up. */
  borrowFee(size: bigint, entry: bigint, indexDelta: bigint): bigint {
    return ceilDiv(size * entry * indexDelta, this.scale * WAD);
  }
  /** Max payable profit = entry notional * maxProfitFactorBps / 1e4, rounded up (the reserve). */
  maxProfit(size: bigint, entry: bigint, bps: bigint): bigint {
    return ceilDiv(size * entry * bps, this.scale * BPS);
  }
}

export const wMulUp = (x: bigint, y: bigint): bigint => ceilDiv(x * y, WAD);
export const wMulDown = (x: bigint, y: bigint): bigint => (x * y) / WAD;

/** liquidationFee(p) = max(notional * liquidationFeeRate, minLiquidationFee). */
export const liquidationFee = (notional: bigint, r: Risk): bigint =>
  max(wMulUp(notional, r.liquidationFeeRate), r.minLiquidationFee);

/** maintenance(p) = notional * mmr + liquidationFee(p). */
export const maintenance = (notional: bigint, r: Risk): bigint => wMulUp(notional, r.mmr) + liquidationFee(notional, r);

/** Initial margin = notional / maxLeverage, rounded up. */
export const initialMargin = (notional: bigint, maxLeverage: bigint): bigint => ceilDiv(notional * WAD, maxLeverage);

/**
 * Borrow rate per second at a utilisation u = reserved / lpAssets (capped at 100%): base + slope·u
 * + kink slope·(u − target)⁺, rounded down.
 */
export const borrowRate = (base: bigint, slope: bigint, reserved: bigint, lpAssets: bigint): bigint => {
  const u = utilisationOf(lpAssets, reserved);
  const above = u > TARGET_UTILISATION ? u - TARGET_UTILISATION : 0n;
  return base + (slope * u + ABOVE_TARGET_BORROW_RATE_SLOPE * above) / WAD;
};

/** The pool's utilisation integrals as the engine stores them (`utilisationAccumulator()`). */
export type Accumulator = { updatedAt: bigint; utilisationTime: bigint; aboveTargetTime: bigint };

/**
 * A market's borrow index at `ts`, from DESIGN.md's rule: the stored index plus the growth since
 * its last accrual of base·t + (slope·∫u + kink slope·∫(u − target)⁺) / WAD (rounded down on the
 * integrals from the pool's genesis), the ledger's utilisation holding since the accumulator's time.
 */
export function indexAt(
  m: { borrowIndex: bigint; rateIntegral: bigint; baseBorrowRate: bigint; borrowRateSlope: bigint },
  l: { lpAssets: bigint; reserved: bigint },
  a: Accumulator,
  ts: bigint,
): bigint {
  const u = utilisationOf(l.lpAssets, l.reserved);
  const dt = ts - a.updatedAt;
  const cumulative = a.utilisationTime + u * dt;
  const above = a.aboveTargetTime + (u > TARGET_UTILISATION ? u - TARGET_UTILISATION : 0n) * dt;
  const integral = m.baseBorrowRate * ts + (m.borrowRateSlope * cumulative + ABOVE_TARGET_BORROW_RATE_SLOPE * above) / WAD;
  return m.borrowIndex + integral - m.rateIntegral;
}

export type Pos = { isLong: boolean; size: bigint; entry: bigint; collateral: bigint; borrowIndex: bigint };

/** Keeper reward: max(notional rounded down * liquidationFeeRate rounded down, minLiquidationFee) (a payout). */
export const keeperRewardDown = (u: Units, size: bigint, price: bigint, r: Risk): bigint =>
  max(wMulDown(u.down(size * price), r.liquidationFeeRate), r.minLiquidationFee);

/**
 * Health of a position at price p and market borrow index `index`, on the value settlement pays
 * (DESIGN.md v2 "Everything settles"): the pnl is capped at the position's max profit.
 */
export function health(u: Units, p: Pos, r: Risk, price: bigint, index: bigint) {
  const notional = u.notional(p.size, price);
  const pnl = min(u.pnl(p.isLong, p.size, p.entry, price), u.maxProfit(p.size, p.entry, r.maxProfitFactorBps));
  const fee = u.borrowFee(p.size, p.entry, index - p.borrowIndex);
  const equity = p.collateral + pnl - fee;
  const liqFee = liquidationFee(notional, r);
  const maint = maintenance(notional, r);
  return { notional, pnl, borrowFee: fee, equity, liquidationFee: liqFee, maintenance: maint, liquidatable: equity < maint };
}

/**
 * What a liquidation moves (DESIGN.md "liquidate"): LPs settle the position at pnl capped at the
 * max profit, minus the borrow fee; the keeper gets liquidationFee(p) from the vault first, any
 * shortfall from the insurance fund then the pool; the vault's remainder goes to insurance.
 */
export function liquidationSplit(
  u: Units,
  p: Pos,
  r: Risk,
  price: bigint,
  index: bigint,
  vaultBalance: bigint,
  insuranceFund: bigint,
) {
  const h = health(u, p, r, price, index);
  // What the vault owes LPs: the realised loss plus the borrow fee (negative: LPs pay a gain).
  const owedToLps = h.borrowFee - h.pnl;
  const keeperReward = keeperRewardDown(u, p.size, price, r);
  const rest = vaultBalance - owedToLps - keeperReward;
  let toInsurance = 0n;
  let fromInsurance = 0n;
  let fromPool = 0n;
  if (rest >= 0n) toInsurance = rest;
  else {
    fromInsurance = min(-rest, insuranceFund);
    fromPool = -rest - fromInsurance;
  }
  return {
    ...h,
    keeperReward,
    badDebt: h.equity < 0n ? -h.equity : 0n,
    toInsurance,
    fromInsurance,
    fromPool,
    lpDelta: owedToLps - fromPool,
  };
}

/**
 * A decrease of `sizeDelta` (the whole size: a close) at `price` (DESIGN.md "Actions"): PnL on the
 * delta capped at its share of the max profit, the whole borrow fee, the close fee on the delta's
 * notional, the delta's share of collateral released (rounded down); net = released + pnl - fees
 * is paid when positive, else taken from the remaining collateral.
 */
export function decreaseSettlement(
  u: Units,
  p: Pos,
  sizeDelta: bigint,
  price: bigint,
  index: bigint,
  closeFeeRate: bigint,
  maxProfitFactorBps: bigint,
  mmr?: bigint,
) {
  const isClose = sizeDelta === p.size;
  const reserve = u.maxProfit(p.size, p.entry, maxProfitFactorBps);
  const newReserve = u.maxProfit(p.size - sizeDelta, p.entry, maxProfitFactorBps);
  const cap = (reserve * sizeDelta) / p.size;
  const rawPnl = u.pnl(p.isLong, sizeDelta, p.entry, price);
  const pnl = min(rawPnl, cap);
  const borrowFee = u.borrowFee(p.size, p.entry, index - p.borrowIndex);
  // The close fee rate is capped at the position's mmr (so maintenance always covers it).
  const closeFee = wMulUp(u.notional(sizeDelta, price), mmr !== undefined && mmr < closeFeeRate ? mmr : closeFeeRate);
  const released = isClose ? p.collateral : (p.collateral * sizeDelta) / p.size;
  const net = released + pnl - borrowFee - closeFee;
  const payout = net > 0n ? net : 0n;
  const newCollateral = net >= 0n ? p.collateral - released : p.collateral - released + net;
  const vaultOut = p.collateral - newCollateral;
  const vaultToOwner = min(payout, vaultOut);
  return {
    isClose,
    reserveReleased: reserve - newReserve,
    rawPnl,
    pnl,
    borrowFee,
    closeFee,
    released,
    net,
    payout,
    newCollateral,
    newSize: p.size - sizeDelta,
    vaultToOwner,
    vaultToPool: vaultOut - vaultToOwner,
    poolToOwner: payout - vaultToOwner,
  };
}

/** Pool utilisation reserved / lpAssets (WAD, rounded down), 100 % when reserved covers it all. */
export const utilisationOf = (lpAssets: bigint, reserved: bigint): bigint =>
  reserved >= lpAssets ? (reserved === 0n ? 0n : WAD) : (reserved * WAD) / lpAssets;

/** DESIGN.md "Solvency rules": above the target utilisation the rate rises steeply (kink). */
export const TARGET_UTILISATION = (9n * WAD) / 10n;
/** Extra rate per second per unit of utilisation above the target: +3,000 % a year, +300 % at 100 %. */
export const ABOVE_TARGET_BORROW_RATE_SLOPE = (30n * WAD) / (365n * 24n * 3600n);

/** A stretch of time the pool held one utilisation. */
export type UtilisationSegment = { utilisation: bigint; seconds: bigint };

/**
 * Index growth of a market over a utilisation path: base * T + slope * ∫u dt + kink * ∫(u - target)⁺ dt,
 * the last two rounded down once over the whole path (the engine rounds its cumulative integral, so
 * a given window can differ from this by 1 wei).
 */
export function pathIndexGrowth(params: { baseBorrowRate: bigint; borrowRateSlope: bigint }, path: UtilisationSegment[]): bigint {
  let seconds = 0n;
  let cumulative = 0n;
  let aboveTarget = 0n;
  for (const { utilisation, seconds: dt } of path) {
    seconds += dt;
    cumulative += utilisation * dt;
    if (utilisation > TARGET_UTILISATION) aboveTarget += (utilisation - TARGET_UTILISATION) * dt;
  }
  return params.baseBorrowRate * seconds + (params.borrowRateSlope * cumulative + ABOVE_TARGET_BORROW_RATE_SLOPE * aboveTarget) / WAD;
}
