/**
 * Mirror of the liquidity hooks of `contracts/libraries/PoolLogic.sol` (`onDeposit`,
 * `onWithdraw`): the pool's utilisation integrals move to the block first (`BorrowLib.checkpoint`),
 * then LP assets change. No market is touched: every borrow index follows the integrals. The
 * engine checks the protocol pause before `onDeposit`; that check is not part of this mirror.
 * @module
 */
import { MathLib } from "./MathLib.js";
import { BorrowLib } from "./BorrowLib.js";
import { u256 } from "./checked.js";
import type { RevertReason } from "./BulkheadLogic.js";
import type { Ledger, UtilisationAccumulator } from "../types.js";

const MAX_UINT112 = (1n << 112n) - 1n;

/** The ledger and the utilisation accumulator after an LP liquidity change. */
export interface LiquidityChange {
  ledger: Ledger;
  utilisation: UtilisationAccumulator;
  /** Set when the hook would revert; `ledger` and `utilisation` are then the inputs, unchanged. */
  revert?: RevertReason;
}

export namespace PoolLogic {
  /** `onDeposit(assets)` at `timestamp`: checkpoint, then LP assets grow. */
  export function onDeposit(ledger: Ledger, utilisation: UtilisationAccumulator, assets: bigint, timestamp: bigint): LiquidityChange {
    const lpAssets = u256(ledger.lpAssets + assets, "onDeposit");
    if (lpAssets > MAX_UINT112) {
      return { ledger, utilisation, revert: { name: "AmountTooLarge", args: { amount: lpAssets, max: MAX_UINT112 } } };
    }
    const checked = BorrowLib.checkpoint({ ...ledger, utilisation }, timestamp);
    return { ledger: { ...ledger, lpAssets }, utilisation: checked.utilisation };
  }

  /** `onWithdraw(assets)` at `timestamp`: reverts beyond free liquidity; otherwise like `onDeposit`. */
  export function onWithdraw(ledger: Ledger, utilisation: UtilisationAccumulator, assets: bigint, timestamp: bigint): LiquidityChange {
    const free = MathLib.zeroFloorSub(ledger.lpAssets, ledger.reserved);
    if (assets > free) {
      return { ledger, utilisation, revert: { name: "InsufficientFreeLiquidity", args: { available: free, required: assets } } };
    }
    const checked = BorrowLib.checkpoint({ ...ledger, utilisation }, timestamp);
    return { ledger: { ...ledger, lpAssets: ledger.lpAssets - assets }, utilisation: checked.utilisation };
  }
}
