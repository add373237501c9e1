/**
 * Positions indexed by the price at which they can become liquidatable, so that a price move
 * touches only the positions it crosses; the evaluator then computes exactly (HealthLib) only
 * those candidates, and the answer equals the full evaluation's.
 *
 * Why the keys are safe. On the reals, a position's margin f(p) = collateral + min(pnl(p), cap) -
 * borrowFee - maintenance(p) is concave in the price (a min of linear pieces minus a max of
 * linear pieces), so {f >= eps} is an interval, bounded by the closed-form roots of
 * `PositionMath.liquidationPrice` / `liquidationPriceHigh` (long roots round up, short and capped
 * ones down: never inside the interval). The integer health differs from f by less than 5 token
 * units (the pnl rounds at most 1 against the trader, notional, maintenance and the fee at most
 * 4 up), so a position whose f is at least `EPSILON` is not liquidatable. Keys are therefore the
 * roots with `EPSILON` more debit and with the borrow fee accrued up to a per-market `keyIndex`
 * above the current borrow index: the fee only grows with the index (it never falls), so while
 * the market's index stays at or below `keyIndex` every position outside its keys is healthy.
 * Once half the headroom is used, the next keys (for the index then plus the headroom) are
 * computed a slice per block and swapped in when complete (`advance`); if the index passes
 * `keyIndex` first, the market's keys are computed again at once.
 * - long: candidate at price p iff p <= low (loss side) or p >= high (gain capped);
 * - short: candidate iff p >= low.
 * @module
 */
import { HealthLib, PositionMath, type PositionView } from "@bulkhead/sdk";

/** Token units of margin the keys leave for the integer rounding of the exact health (it needs < 5). */
export const EPSILON = 8n;
const MAX = 2n ** 256n - 1n;

type Item = { id: bigint; key: bigint };

/** A sorted list of (id, key): ascending, or descending when `desc`. */
class SortedKeys {
  items: Item[] = [];
  constructor(readonly desc: boolean) {}

  #before(a: bigint, b: bigint): boolean {
    return this.desc ? a > b : a < b;
  }

  /** First position whose key sorts after `key` (equal keys stay before it). */
  #upper(key: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#before(key, this.items[mid]!.key)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  insert(id: bigint, key: bigint): void {
    this.items.splice(this.#upper(key), 0, { id, key });
  }

  remove(id: bigint, key: bigint): void {
    for (let i = this.#upper(key) - 1; i >= 0 && this.items[i]!.key === key; i--) {
      if (this.items[i]!.id === id) {
        this.items.splice(i, 1);
        return;
      }
    }
    throw new Error(`health index: ${id} not at key ${key}`);
  }

  sort(): void {
    this.items.sort((a, b) => (a.key === b.key ? 0 : this.#before(a.key, b.key) ? -1 : 1));
  }

  /** Ids of the prefix whose keys `reached(key)` holds for. */
  prefix(reached: (key: bigint) => boolean, out: bigint[]): void {
    for (const it of this.items) {
      if (!reached(it.key)) break;
      out.push(it.id);
    }
  }
}

interface Entry {
  view: PositionView;
  market: number;
  isLong: boolean;
  low: bigint;
  /** Longs only (MAX when the gain cap never liquidates it). */
  high: bigint;
  /** Keys for the market's next key index, while they are being computed. */
  next: { low: bigint; high: bigint; at: bigint } | null;
}

class MarketKeys {
  /** Longs by `low`, highest first (a fall reaches the highest first). */
  readonly longLow = new SortedKeys(true);
  /** Longs by `high`, lowest first. */
  readonly longHigh = new SortedKeys(false);
  /** Shorts by `low`, lowest first. */
  readonly shortLow = new SortedKeys(false);
  count = 0;
  constructor(public keyIndex: bigint) {}
}

export interface HealthIndexOptions {
  /**
   * Borrow-index headroom of the keys, WAD (default 1e15: a borrow fee of 0.1 % of the entry
   * notional accrues before a market's keys must be computed again). Larger: rarer recomputation,
   * a wider band of positions evaluated exactly each block.
   */
  headroom?: bigint;
  /** Blocks over which the next keys are computed once half the headroom is used (default 16). */
  rekeyBlocks?: number;
}

/** The same fields as the lens' record and risk: a view whose record did not change keeps its keys. */
function sameRecord(a: PositionView, b: PositionView): boolean {
  const p = a.position;
  const q = b.position;
  return (
    p.size === q.size &&
    p.entryPrice === q.entryPrice &&
    p.collateral === q.collateral &&
    p.borrowIndex === q.borrowIndex &&
    p.isLong === q.isLong &&
    p.marketId === q.marketId &&
    p.maxProfitFactorBps === q.maxProfitFactorBps &&
    a.risk.mmr === b.risk.mmr &&
    a.risk.liquidationFeeRate === b.risk.liquidationFeeRate &&
    a.risk.minLiquidationFee === b.risk.minLiquidationFee
  );
}

export class HealthIndex {
  readonly unit: bigint;
  readonly headroom: bigint;
  readonly #entries = new Map<bigint, Entry>();
  readonly #markets = new Map<number, MarketKeys>();
  readonly rekeyBlocks: number;
  /** Next keys being computed, by market. */
  readonly #builds = new Map<number, { keyIndex: bigint; ids: bigint[]; cursor: number }>();
  /** Times a market's keys were replaced: at once (the index passed `keyIndex`), or spread over blocks. */
  rekeys = 0;
  spreadRekeys = 0;

  constructor(unit: bigint, options: HealthIndexOptions = {}) {
    this.unit = unit;
    this.headroom = options.headroom ?? 10n ** 15n;
    this.rekeyBlocks = Math.max(1, options.rekeyBlocks ?? 16);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Positions indexed on `market`. */
  count(market: number): number {
    return this.#markets.get(market)?.count ?? 0;
  }

  /** The borrow index a market's keys assume (null when it has none yet). */
  keyIndex(market: number): bigint | null {
    return this.#markets.get(market)?.keyIndex ?? null;
  }

  /** The keys `id` is indexed at (undefined when it is not indexed). */
  keysFor(id: bigint): { low: bigint; high: bigint } | undefined {
    const e = this.#entries.get(id);
    return e && { low: e.low, high: e.high };
  }

  /** The keys of `v` when its market's index is at most `keyIndex`. */
  keysOf(v: PositionView, keyIndex: bigint): { low: bigint; high: bigint } {
    const p = v.position;
    const r = v.risk;
    const delta = keyIndex > p.borrowIndex ? keyIndex - p.borrowIndex : 0n;
    const debit = PositionMath.borrowFeeUp(p.size, p.entryPrice, delta, this.unit) + EPSILON;
    const cap = HealthLib.profitCap(p, this.unit);
    const low = PositionMath.liquidationPrice(p.isLong, p.size, p.entryPrice, p.collateral, debit, cap, r.mmr, r.liquidationFeeRate, r.minLiquidationFee, this.unit);
    const high = p.isLong ? PositionMath.liquidationPriceHigh(p.size, p.collateral, debit, cap, r.mmr, r.liquidationFeeRate, r.minLiquidationFee, this.unit) : MAX;
    return { low, high };
  }

  #market(id: number, index: bigint): MarketKeys {
    let m = this.#markets.get(id);
    if (!m) this.#markets.set(id, (m = new MarketKeys(index + this.headroom)));
    return m;
  }

  #add(m: MarketKeys, e: Entry, sorted: boolean): void {
    const id = e.view.id;
    m.count++;
    if (e.isLong) {
      if (sorted) {
        m.longLow.insert(id, e.low);
        m.longHigh.insert(id, e.high);
      } else {
        m.longLow.items.push({ id, key: e.low });
        m.longHigh.items.push({ id, key: e.high });
      }
    } else if (sorted) m.shortLow.insert(id, e.low);
    else m.shortLow.items.push({ id, key: e.low });
  }

  #remove(e: Entry): void {
    const m = this.#markets.get(e.market)!;
    m.count--;
    if (e.isLong) {
      m.longLow.remove(e.view.id, e.low);
      m.longHigh.remove(e.view.id, e.high);
    } else m.shortLow.remove(e.view.id, e.low);
  }

  /**
   * Brings the index to `views` (the tracker's records): new or changed records are (re)keyed,
   * missing ones removed. `indexOf(market)` is the market's current borrow index, used for a
   * market seen for the first time. Many changes at once are applied by sorting again.
   */
  sync(views: Iterable<PositionView>, indexOf: (market: number) => bigint): { added: number; changed: number; removed: number } {
    const fresh: Entry[] = [];
    let changed = 0;
    let found = 0;
    const list = [...views];
    for (const v of list) {
      const e = this.#entries.get(v.id);
      if (e) found++;
      if (e && (e.view === v || sameRecord(e.view, v))) {
        e.view = v;
        continue;
      }
      if (e) changed++;
      fresh.push({ view: v, market: v.position.marketId, isLong: v.position.isLong, low: 0n, high: MAX, next: null });
    }
    // Every indexed id was among the views (ids are unique): nothing to remove, no set to build.
    const removed: Entry[] = [];
    if (found !== this.#entries.size) {
      const seen = new Set(list.map((v) => v.id));
      for (const [id, e] of this.#entries) if (!seen.has(id)) removed.push(e);
    }
    const bulk = fresh.length + removed.length > 256;
    for (const e of removed) {
      if (!bulk) this.#remove(e);
      this.#entries.delete(e.view.id);
    }
    for (const e of fresh) {
      const old = this.#entries.get(e.view.id);
      if (old && !bulk) this.#remove(old);
      const m = this.#market(e.market, indexOf(e.market));
      Object.assign(e, this.keysOf(e.view, m.keyIndex));
      this.#entries.set(e.view.id, e);
      if (!bulk) this.#add(m, e, true);
    }
    if (bulk) this.#rebuildLists();
    return { added: fresh.length - changed, changed, removed: removed.length };
  }

  #rebuildLists(markets?: number[]): void {
    const which = markets ?? [...this.#markets.keys()];
    for (const id of which) {
      const old = this.#markets.get(id)!;
      this.#markets.set(id, new MarketKeys(old.keyIndex));
    }
    const set = new Set(which);
    for (const e of this.#entries.values()) if (set.has(e.market)) this.#add(this.#markets.get(e.market)!, e, false);
    for (const id of which) {
      const m = this.#markets.get(id)!;
      m.longLow.sort();
      m.longHigh.sort();
      m.shortLow.sort();
    }
  }

  /** True when `market`'s borrow index passed the index its keys assume. */
  needsRekey(market: number, index: bigint): boolean {
    const m = this.#markets.get(market);
    return m !== undefined && index > m.keyIndex;
  }

  /** Computes `market`'s keys again, at once, for a borrow index up to `index + headroom`. */
  rekey(market: number, index: bigint): void {
    const m = this.#markets.get(market);
    if (!m) return;
    this.#builds.delete(market);
    m.keyIndex = index + this.headroom;
    for (const e of this.#entries.values()) {
      if (e.market !== market) continue;
      Object.assign(e, this.keysOf(e.view, m.keyIndex));
      e.next = null;
    }
    this.#rebuildLists([market]);
    this.rekeys++;
  }

  /**
   * Call once per block before `candidates`, with the market's current borrow index: keeps its
   * keys valid (at once when the index passed them), and once half the headroom is used
   * computes the next keys a slice per block, swapping them in when all are computed.
   */
  advance(market: number, index: bigint): void {
    const m = this.#markets.get(market);
    if (!m) return;
    if (index > m.keyIndex) return this.rekey(market, index);
    let b = this.#builds.get(market);
    if (!b) {
      if (index <= m.keyIndex - this.headroom / 2n) return;
      const ids: bigint[] = [];
      for (const e of this.#entries.values()) if (e.market === market) ids.push(e.view.id);
      this.#builds.set(market, (b = { keyIndex: index + this.headroom, ids, cursor: 0 }));
    }
    const at = b.keyIndex;
    const end = Math.min(b.ids.length, b.cursor + Math.ceil(b.ids.length / this.rekeyBlocks));
    for (; b.cursor < end; b.cursor++) {
      const e = this.#entries.get(b.ids[b.cursor]!);
      if (e && e.next?.at !== at) e.next = { ...this.keysOf(e.view, at), at };
    }
    if (b.cursor < b.ids.length) return;
    // Complete: records added or changed meanwhile get theirs now; the lists are sorted again.
    this.#builds.delete(market);
    m.keyIndex = at;
    for (const e of this.#entries.values()) {
      if (e.market !== market) continue;
      const next = e.next?.at === at ? e.next : this.keysOf(e.view, at);
      e.low = next.low;
      e.high = next.high;
      e.next = null;
    }
    this.#rebuildLists([market]);
    this.spreadRekeys++;
  }

  /**
   * Positions of `market` that may be liquidatable at `price` while its index is at most its
   * `keyIndex` (every other one is not): views, each once.
   */
  candidates(market: number, price: bigint): PositionView[] {
    const m = this.#markets.get(market);
    if (!m) return [];
    const ids: bigint[] = [];
    m.longLow.prefix((k) => price <= k, ids);
    m.shortLow.prefix((k) => price >= k, ids);
    const out: PositionView[] = [];
    for (const id of ids) out.push(this.#entries.get(id)!.view);
    const high: bigint[] = [];
    m.longHigh.prefix((k) => price >= k, high);
    if (high.length > 0) {
      // A long can sit past both of its keys only if its healthy interval is empty.
      const low = new Set(ids);
      for (const id of high) if (!low.has(id)) out.push(this.#entries.get(id)!.view);
    }
    return out;
  }
}
