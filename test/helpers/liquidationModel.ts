// An independent bigint model of DESIGN.md's liquidation math, written from the spec (not from
// the Solidity), so tests can check the contract's previews instead of trusting them.
// Roundings follow DESIGN.md "Units and rounding": trader losses, fees and requirements up,
// trader gains down.
import { indexAt, type Accumulator } from "./reference.js";

export const WAD = 10n ** 18n;
const BPS = 10_000n;

const divUp = (a: bigint, b: bigint) => (a === 0n ? 0n : (a - 1n) / b + 1n);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

export type PositionRecord = {
  size: bigint;
  entryPrice: bigint;
  isLong: boolean;
  collateral: bigint;
  borrowIndex: bigint;
};
export type Risk = { mmr: bigint; liquidationFeeRate: bigint; minLiquidationFee: bigint; maxProfitFactorBps: bigint };
export type MarketState = { borrowIndex: bigint; rateIntegral: bigint; baseBorrowRate: bigint; borrowRateSlope: bigint };
export type LedgerState = { lpAssets: bigint; reserved: bigint; insuranceFund: bigint; protocolFees: bigint };

/**
 * Market borrow index at `timestamp`: the stored index grown with the pool's utilisation path
 * (the ledger's utilisation holding since the accumulator's time; reference `indexAt`).
 */
export function borrowIndexAt(m: MarketState, l: LedgerState, a: Accumulator, timestamp: bigint): bigint {
  return indexAt(m, l, a, timestamp);
}

export type ExpectedLiquidation = {
  liquidatable: boolean;
  notional: bigint;
  pnl: bigint;
  borrowFee: bigint;
  equity: bigint;
  maintenance: bigint;
  keeperReward: bigint;
  badDebt: bigint;
  toInsurance: bigint;
  fromInsurance: bigint;
  fromPool: bigint;
  lpDelta: bigint;
};

/**
 * What liquidating `p` at price `px` (WAD) and market index `index` must do (DESIGN.md
 * "liquidate"): the keeper gets liquidationFee(p); LPs are owed the trader's realised loss and
 * borrow fee (collateral − settlement value); what the vault cannot cover after the loss and the
 * reward comes from the insurance fund, then the pool; what is left goes to the insurance fund.
 * `unit` = 1e18 · 10^(18 − token decimals). Assumes LP assets stay positive (no LP wipe-out).
 */
export function expectedLiquidation(
  p: PositionRecord,
  risk: Risk,
  px: bigint,
  index: bigint,
  vaultBalance: bigint,
  l: LedgerState,
  unit: bigint,
): ExpectedLiquidation {
  const notional = divUp(p.size * px, unit);
  const gain = p.isLong ? px >= p.entryPrice : px <= p.entryPrice;
  const move = px >= p.entryPrice ? px - p.entryPrice : p.entryPrice - px;
  // DESIGN.md v2 "Everything settles": health uses the pnl settlement pays, capped at max profit.
  const cap = divUp(p.size * p.entryPrice * risk.maxProfitFactorBps, BPS * unit);
  const pnl = min(gain ? (p.size * move) / unit : -divUp(p.size * move, unit), cap);
  const borrowFee = divUp(p.size * p.entryPrice * (index - p.borrowIndex), WAD * unit);
  const equity = p.collateral + pnl - borrowFee;
  const liquidationFee = max(divUp(notional * risk.liquidationFeeRate, WAD), risk.minLiquidationFee);
  const maintenance = divUp(notional * risk.mmr, WAD) + liquidationFee;
  // The reward is a payout: rounded down (the maintenance term above rounds up).
  const keeperReward = max(((p.size * px) / unit * risk.liquidationFeeRate) / WAD, risk.minLiquidationFee);
  const liquidatable = equity < maintenance;
  const zero = { badDebt: 0n, toInsurance: 0n, fromInsurance: 0n, fromPool: 0n, lpDelta: 0n };
  if (!liquidatable) return { liquidatable, notional, pnl, borrowFee, equity, maintenance, keeperReward, ...zero };

  const owedToLps = borrowFee - pnl;
  const rest = vaultBalance - owedToLps - keeperReward;
  let toInsurance = 0n;
  let fromInsurance = 0n;
  let fromPool = 0n;
  if (rest >= 0n) toInsurance = rest;
  else {
    fromInsurance = min(-rest, l.insuranceFund);
    fromPool = -rest - fromInsurance;
  }
  const lpDelta = owedToLps - fromPool;
  if (l.lpAssets + lpDelta < 0n) throw new Error("reference model does not cover an LP wipe-out");
  return {
    liquidatable,
    notional,
    pnl,
    borrowFee,
    equity,
    maintenance,
    keeperReward,
    badDebt: equity < 0n ? -equity : 0n,
    toInsurance,
    fromInsurance,
    fromPool,
    lpDelta,
  };
}
