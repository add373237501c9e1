/**
 * Mirror of the pool's share accounting: `BulkheadPool.totalAssets` (LP assets - unrealised trader
 * PnL + accrued borrow fees, floored at zero) and OpenZeppelin 5 ERC-4626 conversions with the
 * pool's 6-decimal virtual-share offset. Same rounding as the contracts.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { ConstantsLib } from "./ConstantsLib.js";
import type { Ledger, MarketState } from "../types.js";

/**
 * One market as `totalAssets` reads it: its stored state, validated price and current borrow
 * index (`currentBorrowIndex(i)`, or `BorrowLib.currentIndex(market, timestamp)` locally).
 */
export interface PoolMarketInput {
  market: Pick<MarketState, "longSize" | "shortSize" | "longSizeEntry" | "shortSizeEntry" | "borrowIndex" | "accruedBorrowFees">;
  price: bigint;
  currentIndex: bigint;
}

export namespace PoolMath {
  /** The pool's virtual-share offset exponent (`_decimalsOffset`). */
  export const DECIMALS_OFFSET = 6n;

  /** `BulkheadPool.totalAssets()` from the ledger and every market (in market id order). */
  export function totalAssets(ledger: Pick<Ledger, "lpAssets">, markets: readonly PoolMarketInput[], unit: bigint): bigint {
    let value = ledger.lpAssets;
    for (const { market: m, price, currentIndex } of markets) {
      const longSide = m.longSize * price + m.shortSizeEntry;
      const shortSide = m.longSizeEntry + m.shortSize * price;
      if (longSide >= shortSide) value -= MathLib.mulDivUp(longSide - shortSide, 1n, unit);
      else value += (shortSide - longSide) / unit;
      // Math.mulDiv(Σ size·entry, currentIndex - borrowIndex, 1e18 * unit): BorrowLib.pendingFees without its zero shortcut.
      const pending = MathLib.mulDivDown(m.longSizeEntry + m.shortSizeEntry, currentIndex - m.borrowIndex, ConstantsLib.WAD * unit);
      value += m.accruedBorrowFees + pending;
    }
    return value > 0n ? value : 0n;
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
