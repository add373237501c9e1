/**
 * Orders indexed by the price at which they become due: per market, one sorted list per
 * direction ("due at or below its trigger", "due at or above") and per price it compares (the
 * benchmark, or the ask/bid a limit fills at). A report walks only the prefix of each list that
 * it crosses, so a price move touches the orders it makes due and no others.
 * @module
 */
import { OrderLogic, isLimitKind, trailingStopPrice, type OrderKindName } from "@bulkhead/sdk";

export type Observable = "price" | "bid" | "ask";

export interface TriggerEntry {
  market: number;
  /** Due when the observed price is at or below `trigger` (else at or above). */
  below: boolean;
  observable: Observable;
  trigger: bigint;
}

type Item = { id: string; trigger: bigint };

/** Where a limit, stop-loss or take-profit waits; a trailing stop's from its peak (null without one). */
export function triggerOf(o: { kind: OrderKindName; isLong: boolean; market: number; trigger: bigint; peak?: bigint | null }): TriggerEntry | null {
  if (o.kind === "TrailingStop") {
    if (o.peak === undefined || o.peak === null) return null;
    return { market: o.market, below: o.isLong, observable: "price", trigger: trailingStopPrice(o.isLong, o.trigger, o.peak) };
  }
  const below = (o.kind === "TakeProfit") !== o.isLong;
  const observable: Observable = isLimitKind(o.kind) ? (OrderLogic.buys(o.kind, o.isLong) ? "ask" : "bid") : "price";
  return { market: o.market, below, observable, trigger: o.trigger };
}

export class TriggerIndex {
  readonly #lists = new Map<string, Item[]>();
  readonly #entries = new Map<string, TriggerEntry>();

  get size(): number {
    return this.#entries.size;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  #key(e: Pick<TriggerEntry, "market" | "below" | "observable">): string {
    return `${e.market}:${e.below ? "b" : "a"}:${e.observable}`;
  }

  /** Position of the first item after every item that sorts before or with `trigger` (below lists descend, above lists ascend). */
  #upper(list: Item[], trigger: bigint, below: boolean): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = list[mid]!.trigger;
      if (below ? t >= trigger : t <= trigger) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds or moves `id`. */
  set(id: string, e: TriggerEntry): void {
    this.delete(id);
    const key = this.#key(e);
    let list = this.#lists.get(key);
    if (!list) this.#lists.set(key, (list = []));
    list.splice(this.#upper(list, e.trigger, e.below), 0, { id, trigger: e.trigger });
    this.#entries.set(id, e);
  }

  delete(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    const list = this.#lists.get(this.#key(e))!;
    // Items with an equal trigger sit together just before the upper bound.
    for (let i = this.#upper(list, e.trigger, e.below) - 1; i >= 0 && list[i]!.trigger === e.trigger; i--) {
      if (list[i]!.id === id) {
        list.splice(i, 1);
        return;
      }
    }
  }

  /** Ids on `market` that the prices cross (equality crosses), in the order of their triggers. */
  due(market: number, q: { price: bigint; bid: bigint; ask: bigint }): string[] {
    const out: string[] = [];
    for (const below of [true, false]) {
      for (const observable of ["price", "bid", "ask"] as const) {
        const list = this.#lists.get(this.#key({ market, below, observable }));
        if (!list) continue;
        const p = q[observable];
        for (const item of list) {
          if (below ? item.trigger < p : item.trigger > p) break;
          out.push(item.id);
        }
      }
    }
    return out;
  }
}
