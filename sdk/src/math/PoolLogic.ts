/**
 * Mirror of the liquidity hooks of `contracts/libraries/PoolLogic.sol` (`onDeposit`,
 * `onWithdraw`): an LP deposit or withdrawal changes LP assets, then every market accrues at its
 * old rate and takes the rate of the new utilisation. The engine checks the protocol pause
 * before `onDeposit`; that check is not part of this mirror.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { BorrowLib, type AccrualMarket, type RateMarket } from "./BorrowLib.js";
import { u256 } from "./checked.js";
import type { RevertReason } from "./BulkheadLogic.js";
import type { Ledger } from "../types.js";

const MAX_UINT112 = (1n << 112n) - 1n;

/** The ledger and every market (in market id order) after an LP liquidity change. */
export interface LiquidityChange<M> {
  ledger: Ledger;
  markets: M[];
  /** Set when the hook would revert; `ledger` and `markets` are then the inputs, unchanged. */
  revert?: RevertReason;
}

export namespace PoolLogic {
  /** `onDeposit(assets)` at `timestamp`: LP assets grow; every market accrues, then refreshes its rate. */
  export function onDeposit<M extends AccrualMarket & RateMarket>(
    ledger: Ledger,
    markets: readonly M[],
    unit: bigint,
    assets: bigint,
    timestamp: bigint,
  ): LiquidityChange<M> {
    const lpAssets = u256(ledger.lpAssets + assets, "onDeposit");
    if (lpAssets > MAX_UINT112) {
      return { ledger, markets: [...markets], revert: { name: "AmountTooLarge", args: { amount: lpAssets, max: MAX_UINT112 } } };
    }
    const after = { ...ledger, lpAssets };
    return { ledger: after, markets: accrueAll(markets, unit, after, timestamp) };
  }

  /** `onWithdraw(assets)` at `timestamp`: reverts beyond free liquidity; otherwise like `onDeposit`. */
  export function onWithdraw<M extends AccrualMarket & RateMarket>(
    ledger: Ledger,
    markets: readonly M[],
    unit: bigint,
    assets: bigint,
    timestamp: bigint,
  ): LiquidityChange<M> {
    const free = MathLib.zeroFloorSub(ledger.lpAssets, ledger.reserved);
    if (assets > free) {
      return { ledger, markets: [...markets], revert: { name: "InsufficientFreeLiquidity", args: { available: free, required: assets } } };
    }
    const after = { ...ledger, lpAssets: ledger.lpAssets - assets };
    return { ledger: after, markets: accrueAll(markets, unit, after, timestamp) };
  }

  function accrueAll<M extends AccrualMarket & RateMarket>(markets: readonly M[], unit: bigint, l: Ledger, timestamp: bigint): M[] {
    return markets.map((m) => BorrowLib.refreshRate(BorrowLib.accrue(m, unit, timestamp).market, l.lpAssets, l.reserved));
  }
}
