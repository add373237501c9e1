/**
 * Mirror of the ERC-7540 LP-request math of `BulkheadPool` and `contracts/libraries/PoolRequestLogic.sol`:
 * the valuation an execution uses (each market side at the end of the report's spread that
 * protects the LPs who stay), the fill of a deposit or redemption at it, and the split of a
 * controller's aggregated claim. Same rounding as the contracts.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { ConstantsLib } from "./ConstantsLib.js";
import { PoolMath, type PoolMarketInput } from "./PoolMath.js";
import type { Ledger } from "../types.js";

/**
 * One market as an LP-request execution reads it: its state and current borrow index, and the
 * report's bid and ask (or a push-feed round's price as both). Null prices for a market without
 * open interest, whose report is not read.
 */
export interface PoolRequestMarketInput extends Omit<PoolMarketInput, "price"> {
  bid: bigint | null;
  ask: bigint | null;
}

export namespace PoolRequestMath {
  /** The pool's virtual shares, 10 ** `_decimalsOffset`. */
  export const VIRTUAL_SHARES = 10n ** PoolMath.DECIMALS_OFFSET;

  /**
   * `BulkheadPool._valuationAtReports`: the valuation at each market's report, longs at the bid
   * and shorts at the ask for a deposit (no lower than fair), the other way round for a
   * redemption (no higher than fair). For a push-round execution pass the round's price as bid and ask.
   */
  export function valuationAt(
    ledger: Pick<Ledger, "lpAssets">,
    markets: readonly PoolRequestMarketInput[],
    unit: bigint,
    isDeposit: boolean,
  ): bigint {
    let value = ledger.lpAssets;
    markets.forEach(({ market: m, bid, ask, currentIndex }, i) => {
      value += m.accruedBorrowFees;
      if (m.longSize === 0n && m.shortSize === 0n) return;
      if (bid === null || ask === null || currentIndex === null) throw new Error(`PoolRequestMath.valuationAt: market ${i} has open interest and needs its report`);
      const [longPx, shortPx] = isDeposit ? [bid, ask] : [ask, bid];
      value -= PoolMath.sideClaimUp(m.longSize * longPx, m.longSizeEntry, m.longReserved, unit);
      value -= PoolMath.sideClaimUp(m.shortSizeEntry, m.shortSize * shortPx, m.shortReserved, unit);
      value += MathLib.mulDivDown(m.longSizeEntry + m.shortSizeEntry, currentIndex - m.borrowIndex, ConstantsLib.WAD * unit);
    });
    return value;
  }

  /** `PoolRequestLogic.toSharesDown`: a deposit's shares at valuation `value`, rounded down. */
  export function toSharesDown(assets: bigint, value: bigint, supply: bigint): bigint {
    return MathLib.mulDivDown(assets, supply + VIRTUAL_SHARES, value + 1n);
  }

  /** `PoolRequestLogic.toAssetsDown`: a redemption's assets at valuation `value`, rounded down. */
  export function toAssetsDown(shares: bigint, value: bigint, supply: bigint): bigint {
    return MathLib.mulDivDown(shares, value + 1n, supply + VIRTUAL_SHARES);
  }

  /** `PoolRequestLogic.claimPartDown`: what claiming `part` of `total` gives of `other`, rounded down; all of it for the whole claim. */
  export function claimPartDown(part: bigint, total: bigint, other: bigint): bigint {
    return part === total ? other : MathLib.mulDivDown(part, other, total);
  }

  /** `PoolRequestLogic.claimPartUp`: what claiming `part` of `total` costs of `other`, rounded up. */
  export function claimPartUp(part: bigint, total: bigint, other: bigint): bigint {
    return part === total ? other : MathLib.mulDivUp(part, other, total);
  }

  /** What `executeDeposit` does at `value`: "cancel" when the pool would refuse it (paused, degenerate valuation), else the shares. */
  export function fillDeposit(assets: bigint, value: bigint, supply: bigint, paused: boolean): { cancelled: boolean; shares: bigint } {
    if (paused || PoolMath.degenerate(value, supply)) return { cancelled: true, shares: 0n };
    return { cancelled: false, shares: toSharesDown(assets, value, supply) };
  }

  /** What `executeRedeem` does at `value`: cancelled at a degenerate valuation or beyond free liquidity, else the assets. */
  export function fillRedeem(shares: bigint, value: bigint, supply: bigint, ledger: Pick<Ledger, "lpAssets" | "reserved">): { cancelled: boolean; assets: bigint } {
    if (PoolMath.degenerate(value, supply)) return { cancelled: true, assets: 0n };
    const assets = toAssetsDown(shares, value, supply);
    const free = ledger.lpAssets > ledger.reserved ? ledger.lpAssets - ledger.reserved : 0n;
    return assets > free ? { cancelled: true, assets } : { cancelled: false, assets };
  }
}
