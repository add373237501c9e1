/**
 * Mirror of the pool's share accounting: `BulkheadPool.valuation` (LP assets + borrow fees - each
 * market side's trader PnL capped at what its positions reserved), `totalAssets` (that floored at
 * zero) and OpenZeppelin 5 ERC-4626 conversions with the pool's 6-decimal virtual-share offset.
 * Same rounding as the contracts.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { ConstantsLib } from "./ConstantsLib.js";
import type { Ledger, MarketState } from "../types.js";

/**
 * One market as `valuation` reads it: its stored state, validated price and current borrow index
 * (`currentBorrowIndex(i)`, or `BorrowLib.currentIndex(market, timestamp)` locally). The price and
 * index of a market without open interest are not read (the pool skips its feed); pass null.
 */
export interface PoolMarketInput {
  market: Pick<
    MarketState,
    "longSize" | "shortSize" | "longSizeEntry" | "shortSizeEntry" | "longReserved" | "shortReserved" | "borrowIndex" | "accruedBorrowFees"
  >;
  price: bigint | null;
  currentIndex: bigint | null;
}

export namespace PoolMath {
  /** The pool's virtual-share offset exponent (`_decimalsOffset`). */
  export const DECIMALS_OFFSET = 6n;

  /**
   * `BulkheadPool.valuation()`: LP assets + accrued and pending borrow fees - Σ over market sides of
   * min(U, R), U the side's PnL rounded up (in the traders' favour), R its reserved max profit.
   */
  export function valuation(ledger: Pick<Ledger, "lpAssets">, markets: readonly PoolMarketInput[], unit: bigint): bigint {
    let value = ledger.lpAssets;
    for (const { market: m, price, currentIndex } of markets) {
      value += m.accruedBorrowFees;
      if (m.longSize === 0n && m.shortSize === 0n) continue;
      if (price === null || currentIndex === null) throw new Error("PoolMath.valuation: a market with open interest needs its price and index");
      value -= sideClaimUp(m.longSize * price, m.longSizeEntry, m.longReserved, unit);
      value -= sideClaimUp(m.shortSizeEntry, m.shortSize * price, m.shortReserved, unit);
      // Math.mulDiv(Σ size·entry, currentIndex - borrowIndex, 1e18 * unit): BorrowLib.pendingFees without its zero shortcut.
      value += MathLib.mulDivDown(m.longSizeEntry + m.shortSizeEntry, currentIndex - m.borrowIndex, ConstantsLib.WAD * unit);
    }
    return value;
  }

  /** `BulkheadPool.totalAssets()`: `valuation` floored at zero. */
  export function totalAssets(ledger: Pick<Ledger, "lpAssets">, markets: readonly PoolMarketInput[], unit: bigint): bigint {
    const value = valuation(ledger, markets, unit);
    return value > 0n ? value : 0n;
  }

  /** Whether deposits and mints revert `PoolInsolvent`: valuation negative, or zero with shares outstanding. */
  export function degenerate(valuation: bigint, totalSupply: bigint): boolean {
    return valuation < 0n || (valuation === 0n && totalSupply !== 0n);
  }

  /** `BulkheadPool._sideClaimUp`: min(gain - loss, reserved) / unit, the side's PnL rounded up, capped. */
  export function sideClaimUp(gain: bigint, loss: bigint, reserved: bigint, unit: bigint): bigint {
    if (gain < loss) return -((loss - gain) / unit);
    const pnl = MathLib.mulDivUp(gain - loss, 1n, unit);
    return pnl < reserved ? pnl : reserved;
  }

  /** ERC-4626 `convertToShares` / `previewDeposit`: assets -> shares, rounded down. */
  export function toSharesDown(assets: bigint, totalAssets: bigint, totalSupply: bigint): bigint {
    return MathLib.mulDivDown(assets, totalSupply + 10n ** DECIMALS_OFFSET, totalAssets + 1n);
  }

  /** ERC-4626 `previewWithdraw`: assets -> shares burned, rounded up. */
  export function toSharesUp(assets: bigint, totalAssets: bigint, totalSupply: bigint): bigint {
    return MathLib.mulDivUp(assets, totalSupply + 10n ** DECIMALS_OFFSET, totalAssets + 1n);
  }

  /** ERC-4626 `convertToAssets` / `previewRedeem`: shares -> assets, rounded down. */
  export function toAssetsDown(shares: bigint, totalAssets: bigint, totalSupply: bigint): bigint {
    return MathLib.mulDivDown(shares, totalAssets + 1n, totalSupply + 10n ** DECIMALS_OFFSET);
  }
}
