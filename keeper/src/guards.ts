/**
 * Top-up guards indexed by the price at which they become due, like trigger orders: from the
 * position the tracker already holds (no read per guard), the benchmark price at which
 * `equity * WAD < threshold * maintenance` starts to hold is found by bisection on the SDK's
 * `quoteTopUp` (HealthLib mirror; health is monotonic in the price), and the guard waits in a
 * trigger index a margin past it (the borrow index creeps up between refreshes). A report that
 * crosses it is checked exactly with the same pure quote at the report's price and the market's
 * current borrow index; the book's own check (simulated first) has the last word.
 * @module
 */
import { quoteTopUp, type PositionView } from "@bulkhead/sdk";
import type { TrackedGuard } from "./store.js";
import { TriggerIndex } from "./triggers.js";

/** Margin of the indexed price past the computed due price, in bps (1 %). */
const MARGIN_BPS = 100n;
const BPS = 10_000n;
const TOP = 2n ** 128n;

type GuardPrices = Pick<TrackedGuard, "threshold" | "amount" | "executorFee" | "budget">;

const toGuard = (g: TrackedGuard) => ({ threshold: BigInt(g.threshold), amount: BigInt(g.amount), executorFee: BigInt(g.executorFee), budget: BigInt(g.budget) });

/**
 * The due boundary of a guard: for a long the highest price up to its max-profit price at which
 * a top-up is due (due at and below it), for a short the lowest (due at and above it); null when
 * it is due at no price.
 */
export function guardDuePrice(g: ReturnType<typeof toGuard>, view: Pick<PositionView, "position" | "risk">, index: bigint, unit: bigint): bigint | null {
  const due = (p: bigint) => quoteTopUp(g, view.position, view.risk, p, index, unit).due;
  const long = view.position.isLong;
  // Long: due on [1, P]; short: due on [P, TOP). Bisection on the monotone predicate. A long's
  // gain stops at its max profit (entry * (1 + factor)), above which maintenance keeps growing
  // with equity flat: the search stays below that price, where health rises with the price.
  let lo = 1n;
  let hi = long ? (view.position.entryPrice * (BPS + view.position.maxProfitFactorBps)) / BPS : TOP;
  if (long ? !due(lo) : !due(hi - 1n)) return null;
  if (long && due(hi)) return hi;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (due(mid) === long) lo = mid;
    else hi = mid;
  }
  return long ? lo : hi;
}

export class GuardWatch {
  readonly index = new TriggerIndex();
  readonly #unit: bigint;
  /** Guard id -> the position view its entry was computed from (a new view recomputes it). */
  readonly #from = new Map<string, PositionView>();

  constructor(unit: bigint) {
    this.#unit = unit;
  }

  forget(id: string): void {
    this.index.delete(id);
    this.#from.delete(id);
  }

  /** (Re)indexes the guards whose position view changed since their entry was computed. */
  refresh(guards: Record<string, TrackedGuard>, viewOf: (id: bigint) => PositionView | undefined, indexOf: (market: number) => bigint | null): void {
    for (const [id, g] of Object.entries(guards)) {
      const view = viewOf(BigInt(g.positionId));
      if (!view) {
        this.forget(id);
        continue;
      }
      if (this.#from.get(id) === view) continue;
      this.#from.set(id, view);
      const p = guardDuePrice(toGuard(g), view, indexOf(g.market) ?? view.index, this.#unit);
      if (p === null) {
        this.index.delete(id);
        continue;
      }
      const long = view.position.isLong;
      this.index.set(id, { market: g.market, below: long, observable: "price", trigger: long ? (p * (BPS + MARGIN_BPS)) / BPS : (p * (BPS - MARGIN_BPS)) / BPS });
    }
  }

  /** Marks a guard for recomputation (its record changed). */
  touch(id: string): void {
    this.#from.delete(id);
  }

  /** Whether a top-up at `price` executes exactly (due and saves), by the pure quote. */
  executes(g: GuardPrices, view: Pick<PositionView, "position" | "risk" | "index">, price: bigint, index: bigint | null): boolean {
    return quoteTopUp(toGuard(g as TrackedGuard), view.position, view.risk, price, index ?? view.index, this.#unit).executes;
  }
}
