/**
 * Mirror of `contracts/libraries/BorrowLib.sol`, function for function: a market's cumulative
 * borrow index. The rate is set from the pool utilisation at the end of each action on the market
 * and applies from then until the market's next action (no retroactive charge when another market
 * moves the utilisation; LP deposits and withdrawals refresh every market).
 *
 * The Solidity functions write storage; their mirrors return the new values instead (a copy of
 * the market with the fields the contract writes, narrowed as the storage casts narrow them).
 * `timestamp` stands for `block.timestamp`.
 * @module
 */
import { ConstantsLib } from "./ConstantsLib.js";
import { MathLib } from "./MathLib.js";
import { u256 } from "./checked.js";
import type { MarketState } from "../types.js";

const { WAD } = ConstantsLib;

/** Market fields the rate depends on. */
export type RateMarket = Pick<MarketState, "baseBorrowRate" | "borrowRateSlope">;
/** Market fields the index as of a timestamp depends on. */
export type IndexMarket = Pick<MarketState, "borrowIndex" | "borrowRate" | "lastAccrual">;
/** Market fields an accrual reads or writes. */
export type AccrualMarket = IndexMarket & Pick<MarketState, "accruedBorrowFees" | "longSizeEntry" | "shortSizeEntry">;

export namespace BorrowLib {
  /** `rateAt`: base + slope * utilisation, utilisation = reserved / LP assets capped at 100%. */
  export function rateAt(m: RateMarket, lpAssets: bigint, reserved: bigint): bigint {
    const utilisation = reserved >= lpAssets ? (reserved === 0n ? 0n : WAD) : MathLib.mulDivDown(reserved, WAD, lpAssets);
    return u256(m.baseBorrowRate + MathLib.wMulDown(m.borrowRateSlope, utilisation), "rateAt");
  }

  /**
   * `refreshRate`: a copy of `m` with the rate for the utilisation after an action (stored as
   * uint64, like the contract). Call after `accrue`.
   */
  export function refreshRate<M extends RateMarket>(m: M, lpAssets: bigint, reserved: bigint): M & { borrowRate: bigint } {
    return { ...m, borrowRate: BigInt.asUintN(64, rateAt(m, lpAssets, reserved)) };
  }

  /** `currentIndex`: the index at `timestamp` (seconds, not before `lastAccrual`). */
  export function currentIndex(m: IndexMarket, timestamp: bigint): bigint {
    const elapsed = u256(timestamp - m.lastAccrual, "currentIndex");
    return elapsed === 0n ? m.borrowIndex : u256(m.borrowIndex + m.borrowRate * elapsed, "currentIndex");
  }

  /**
   * `accrue`: moves the index to `timestamp` and books the fees all open positions accrued
   * meanwhile, rounded down. Returns the index and a copy of `m` with `borrowIndex`,
   * `lastAccrual` and `accruedBorrowFees` as the contract stores them (unchanged when no time
   * passed). The rate is not touched: see `refreshRate`.
   */
  export function accrue<M extends AccrualMarket>(m: M, unit: bigint, timestamp: bigint): { index: bigint; market: M } {
    const elapsed = u256(timestamp - m.lastAccrual, "accrue");
    if (elapsed === 0n) return { index: m.borrowIndex, market: { ...m } };
    const delta = m.borrowRate * elapsed;
    const fees = u256(m.accruedBorrowFees + pendingFees(m, delta, unit), "accrue");
    const index = u256(m.borrowIndex + delta, "accrue");
    return {
      index,
      market: {
        ...m,
        borrowIndex: BigInt.asUintN(96, index),
        lastAccrual: BigInt.asUintN(40, timestamp),
        accruedBorrowFees: BigInt.asUintN(120, fees),
      },
    };
  }

  /** `pendingFees`: borrow fees all open positions of a market owe for an index move, rounded down. */
  export function pendingFees(m: Pick<MarketState, "longSizeEntry" | "shortSizeEntry">, indexDelta: bigint, unit: bigint): bigint {
    if (indexDelta === 0n) return 0n;
    return MathLib.mulDivDown(u256(m.longSizeEntry + m.shortSizeEntry, "pendingFees"), indexDelta, u256(WAD * unit, "pendingFees"));
  }
}
