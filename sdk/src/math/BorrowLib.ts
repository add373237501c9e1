/**
 * Mirror of `contracts/libraries/BorrowLib.sol`, function for function: a market's cumulative
 * borrow index follows the pool's actual utilisation path. The pool keeps ∫u·dt and
 * ∫(u − target)⁺·dt (u = reserved / LP assets), moved to the block before every change of LP assets
 * or reserved; a market's index grows by base·Δt + (slope·Δ∫u + kink slope·Δ∫(u − target)⁺) / WAD
 * between any two moments, whoever acted in between (no market can be steered, none needs touching).
 *
 * The Solidity functions write storage; their mirrors return the new values instead (a copy of
 * the market or accumulator with the fields the contract writes, narrowed as the storage casts
 * narrow them). `timestamp` stands for `block.timestamp`; `pool` for the engine's `StoredLedger`
 * (LP assets, reserved and the utilisation accumulator, see `getUtilisationState`).
 * @module
 */
import { ConstantsLib } from "./ConstantsLib.js";
import { MathLib } from "./MathLib.js";
import { u256 } from "./checked.js";
import type { MarketState, UtilisationAccumulator, UtilisationState } from "../types.js";

const { WAD, TARGET_UTILISATION, ABOVE_TARGET_BORROW_RATE_SLOPE } = ConstantsLib;

/** Market fields the rate depends on. */
export type RateMarket = Pick<MarketState, "baseBorrowRate" | "borrowRateSlope">;
/** Market fields the index as of a timestamp depends on. */
export type IndexMarket = RateMarket & Pick<MarketState, "borrowIndex" | "rateIntegral">;
/** Market fields an accrual reads or writes. */
export type AccrualMarket = IndexMarket & Pick<MarketState, "accruedBorrowFees" | "longSizeEntry" | "shortSizeEntry">;

export namespace BorrowLib {
  /** `utilisation`: reserved / LP assets (WAD, rounded down), 100% once reserved covers the LP assets. */
  export function utilisation(lpAssets: bigint, reserved: bigint): bigint {
    if (reserved >= lpAssets) return reserved === 0n ? 0n : WAD;
    return MathLib.mulDivDown(reserved, WAD, lpAssets);
  }

  /** `aboveTarget`: the part of a utilisation above the target (the kink), zero below it. */
  export function aboveTarget(u: bigint): bigint {
    return u > TARGET_UTILISATION ? u - TARGET_UTILISATION : 0n;
  }

  /** `rateAt`: base + slope·u + kink slope·(u − target)⁺ per second, rounded down. */
  export function rateAt(m: RateMarket, lpAssets: bigint, reserved: bigint): bigint {
    const u = utilisation(lpAssets, reserved);
    return u256(m.baseBorrowRate + (m.borrowRateSlope * u + ABOVE_TARGET_BORROW_RATE_SLOPE * aboveTarget(u)) / WAD, "rateAt");
  }

  /** `integralsNow`: the pool's integrals at `timestamp` (not before `updatedAt`). */
  export function integralsNow(pool: UtilisationState, timestamp: bigint): { cumulative: bigint; above: bigint } {
    const a = pool.utilisation;
    let cumulative = a.utilisationTime;
    let above = a.aboveTargetTime;
    const elapsed = u256(timestamp - a.updatedAt, "integralsNow");
    if (elapsed !== 0n) {
      const u = utilisation(pool.lpAssets, pool.reserved);
      cumulative += u * elapsed;
      above += aboveTarget(u) * elapsed;
    }
    return { cumulative, above };
  }

  /** `checkpoint`: the integrals at `timestamp` and the accumulator as the contract stores it. */
  export function checkpoint(
    pool: UtilisationState,
    timestamp: bigint,
  ): { cumulative: bigint; above: bigint; utilisation: UtilisationAccumulator } {
    const { cumulative, above } = integralsNow(pool, timestamp);
    const utilisation =
      pool.utilisation.updatedAt === timestamp
        ? { ...pool.utilisation }
        : {
            updatedAt: BigInt.asUintN(40, timestamp),
            utilisationTime: BigInt.asUintN(104, cumulative),
            aboveTargetTime: BigInt.asUintN(104, above),
          };
    return { cumulative, above, utilisation };
  }

  /** `rateIntegral`: base·timestamp + (slope·∫u + kink slope·∫(u − target)⁺) / WAD, rounded down. */
  export function rateIntegral(m: RateMarket, cumulative: bigint, above: bigint, timestamp: bigint): bigint {
    return u256(m.baseBorrowRate * timestamp + (m.borrowRateSlope * cumulative + ABOVE_TARGET_BORROW_RATE_SLOPE * above) / WAD, "rateIntegral");
  }

  /**
   * `currentIndex`: the index at `timestamp`, assuming the pool's utilisation now holds until
   * then (exact for the current block; a projection for a later one).
   */
  export function currentIndex(m: IndexMarket, pool: UtilisationState, timestamp: bigint): bigint {
    const { cumulative, above } = integralsNow(pool, timestamp);
    return u256(m.borrowIndex + rateIntegral(m, cumulative, above, timestamp) - m.rateIntegral, "currentIndex");
  }

  /**
   * `accrue`: checkpoints the pool, moves the index to `timestamp` and books the fees all open
   * positions accrued meanwhile, rounded down. Returns the index, a copy of `m` with
   * `borrowIndex`, `rateIntegral` and `accruedBorrowFees` as the contract stores them (unchanged
   * when the index did not move) and the pool accumulator after the checkpoint.
   */
  export function accrue<M extends AccrualMarket>(
    m: M,
    pool: UtilisationState,
    unit: bigint,
    timestamp: bigint,
  ): { index: bigint; market: M; utilisation: UtilisationAccumulator } {
    const { cumulative, above, utilisation } = checkpoint(pool, timestamp);
    const integral = rateIntegral(m, cumulative, above, timestamp);
    const delta = u256(integral - m.rateIntegral, "accrue");
    if (delta === 0n) return { index: m.borrowIndex, market: { ...m }, utilisation };
    const fees = u256(m.accruedBorrowFees + pendingFees(m, delta, unit), "accrue");
    const index = u256(m.borrowIndex + delta, "accrue");
    return {
      index,
      market: {
        ...m,
        borrowIndex: BigInt.asUintN(72, index),
        rateIntegral: BigInt.asUintN(80, integral),
        accruedBorrowFees: BigInt.asUintN(104, fees),
      },
      utilisation,
    };
  }

  /** `restartRateIntegral`: a copy of `m` whose parameters apply to its index from `timestamp` on. */
  export function restartRateIntegral<M extends IndexMarket>(m: M, pool: UtilisationState, timestamp: bigint): M {
    const { cumulative, above } = integralsNow(pool, timestamp);
    return { ...m, rateIntegral: BigInt.asUintN(80, rateIntegral(m, cumulative, above, timestamp)) };
  }

  /** `pendingFees`: borrow fees all open positions of a market owe for an index move, rounded down. */
  export function pendingFees(m: Pick<MarketState, "longSizeEntry" | "shortSizeEntry">, indexDelta: bigint, unit: bigint): bigint {
    if (indexDelta === 0n) return 0n;
    return MathLib.mulDivDown(u256(m.longSizeEntry + m.shortSizeEntry, "pendingFees"), indexDelta, u256(WAD * unit, "pendingFees"));
  }
}
