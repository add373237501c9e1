/**
 * Tracks every open position of the engine from its events.
 *
 * - Backfill: from the deployment block (or the stored checkpoint) in chunked eth_getLogs
 *   queries; the checkpoint is saved after each chunk, so an interrupted backfill resumes.
 * - Reorgs: only blocks at least `confirmations` deep are applied to the persisted set and the
 *   checkpoint; the unconfirmed tip is re-read on every sync and only overlaid in memory. The
 *   checkpoint's hash is checked each time; a reorg deeper than `confirmations` (the checkpoint
 *   block replaced) throws the persisted set away and scans again from the deployment block.
 * - Records: each open position's record is read with the lens in batches (SDK `getPositions`)
 *   when an event touches it (open, increase, decrease, collateral, liquidation), after a tip
 *   reorg, and on a rolling refresh: each block re-reads the ids whose `id mod
 *   fullRefreshBlocks` is the block's, so every record is re-read once per `fullRefreshBlocks`
 *   blocks without a burst; between those nothing about a position changes except the price and
 *   its market's borrow index, which the evaluator reads per block.
 * - Restarts: the records are saved every `recordSaveBlocks` blocks (and at stop) to a record
 *   cache (records.ts); a restart revives them while the cache's block is still on the chain and
 *   reads only the positions an event touched since.
 * @module
 */
import type { BulkheadClient, PositionEvent, PositionView } from "@bulkhead/sdk";
import { silentLogger, type Logger } from "./logger.js";
import type { RecordCache } from "./records.js";
import type { JsonStore } from "./store.js";

export interface TrackerOptions {
  /** Blocks behind the head before events count as final (default 2). */
  confirmations?: number;
  /** Blocks per eth_getLogs query (default 5,000; the SDK halves it when a node refuses a range). */
  logChunkSize?: number;
  /** Re-read every record once per this many blocks, a slice each block (default 100; 0 never). */
  fullRefreshBlocks?: number;
  /** Where the records are kept across restarts (default: nowhere, a restart reads them all). */
  records?: RecordCache | null;
  /** Blocks between two saves of the records (default 1,000: a save of 100,000 records takes about a second; a restart reads what changed since, whatever its age). */
  recordSaveBlocks?: number;
  logger?: Logger;
}

export interface SyncResult {
  head: number;
  headHash: string;
  headTimestamp: number;
  headBaseFeePerGas: bigint;
  /** Ids whose record was (re)read in this sync. */
  refreshed: number;
  /** True when a reorg was seen in the tip (records re-read) or below the checkpoint (rescan). */
  reorg: "none" | "tip" | "deep";
}

const TYPES = ["PositionOpened", "PositionIncreased", "PositionDecreased", "CollateralAdded", "CollateralRemoved", "PositionLiquidated"] as const;

export class PositionTracker {
  readonly client: BulkheadClient;
  readonly store: JsonStore;
  readonly confirmations: number;
  readonly logChunkSize: number;
  readonly fullRefreshBlocks: number;
  readonly #log: Logger;
  /** Latest records of open positions (confirmed set plus tip openings). */
  readonly views = new Map<bigint, PositionView>();
  /** Positions opened in the unconfirmed tip: id -> market. */
  #tip = new Map<bigint, number>();
  #lastHead: { number: number; hash: string } | null = null;
  /** Hashes of recent heads (number -> hash). */
  readonly #recent = new Map<number, string>();
  /** Last block whose slice of the rolling refresh was read (null before the first sync). */
  #rolledThrough: number | null = null;
  readonly #records: RecordCache | null;
  readonly #recordSaveBlocks: number;
  #recordsTried = false;
  #recordsSavedAt = -Infinity;
  #last: { block: number; hash: string } | null = null;
  /** Highest block whose events already marked their positions for a read. */
  #seenThrough = -1;
  /** Ids whose record must be read again (e.g. one of our liquidations was mined). */
  readonly #dirty = new Set<bigint>();
  reorgs = 0;

  constructor(client: BulkheadClient, store: JsonStore, options: TrackerOptions = {}) {
    this.client = client;
    this.store = store;
    this.confirmations = Math.max(0, options.confirmations ?? 2);
    this.logChunkSize = Math.max(1, options.logChunkSize ?? 5_000);
    this.fullRefreshBlocks = options.fullRefreshBlocks ?? 100;
    this.#records = options.records ?? null;
    this.#recordSaveBlocks = Math.max(1, options.recordSaveBlocks ?? 1_000);
    this.#log = options.logger ?? silentLogger;
  }

  /** Ids the keeper watches: open at the checkpoint plus opened in the tip. */
  ids(): bigint[] {
    const out = new Set<bigint>();
    for (const id of Object.keys(this.store.state.positions)) out.add(BigInt(id));
    for (const id of this.#tip.keys()) out.add(id);
    return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Number of open positions tracked. */
  get size(): number {
    return this.views.size;
  }

  /** The confirmed checkpoint block (startBlock - 1 before the first scan). */
  get checkpointBlock(): number {
    return this.store.state.checkpoint?.block ?? this.store.state.startBlock - 1;
  }

  /** Asks for a fresh read of these ids at the next sync. */
  markDirty(ids: Iterable<bigint>): void {
    for (const id of ids) this.#dirty.add(id);
  }

  async #hash(block: number): Promise<{ hash: string; timestamp: number; baseFeePerGas: bigint }> {
    const b = await this.client.provider.getBlock(block);
    if (!b?.hash) throw new Error(`the node has no block ${block}`);
    return { hash: b.hash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n };
  }

  /** True when `id` is tracked (open at the checkpoint or opened in the tip). */
  has(id: bigint): boolean {
    return id.toString() in this.store.state.positions || this.#tip.has(id);
  }

  #apply(e: PositionEvent, positions: Record<string, number> | Map<bigint, number>, touched: Set<bigint>): void {
    // An event seen before (in the tip, then again once confirmed) needs no second read.
    if (e.blockNumber > this.#seenThrough) touched.add(e.id);
    const set = (id: bigint, market: number) => (positions instanceof Map ? positions.set(id, market) : (positions[id.toString()] = market));
    const del = (id: bigint) => (positions instanceof Map ? positions.delete(id) : delete positions[id.toString()]);
    if (e.type === "PositionOpened") set(e.id, e.marketId);
    else if (e.type === "PositionLiquidated" || (e.type === "PositionDecreased" && e.newSize === 0n)) del(e.id);
  }

  async #events(fromBlock: number, toBlock: number): Promise<PositionEvent[]> {
    return this.client.getPositionEvents({ fromBlock, toBlock, chunkSize: this.logChunkSize, types: TYPES });
  }

  /** The refresh slots (`id mod fullRefreshBlocks`) due at `h`: those of the blocks since the last sync; null when off. */
  #refreshSlots(h: number): Set<number> | "all" | null {
    const F = this.fullRefreshBlocks;
    if (F <= 0) return null;
    const from = this.#rolledThrough === null ? h : this.#rolledThrough + 1;
    this.#rolledThrough = Math.max(h, this.#rolledThrough ?? h);
    if (h - from + 1 >= F) return "all";
    const slots = new Set<number>();
    for (let b = from; b <= h; b++) slots.add(b % F);
    return slots;
  }

  /** Saves the records as of the last sync to the record cache. */
  saveRecords(): void {
    if (!this.#records || !this.#last) return;
    this.#records.save(this.store.state, { ...this.#last, views: [...this.views.values()] });
    this.#recordsSavedAt = this.#last.block;
  }

  /**
   * Revives the saved records when their block is still on the chain, and marks what an event
   * touched since (events after the checkpoint are in `touched` already).
   */
  async #restore(h: number, checkpoint: number, touched: Set<bigint>): Promise<void> {
    const snap = this.#records?.load(this.store.state);
    if (!snap || snap.block > h) return;
    let hash: string;
    try {
      hash = (await this.#hash(snap.block)).hash;
    } catch {
      return;
    }
    if (hash !== snap.hash) {
      this.#log.warn("records.stale", { block: snap.block, reason: "the block the saved records are of is no longer on the chain (reorg): reading every record" });
      return;
    }
    let since = 0;
    if (snap.block < checkpoint) {
      for (const e of await this.#events(snap.block + 1, checkpoint)) {
        touched.add(e.id);
        since++;
      }
    }
    const live = new Set(this.ids());
    let revived = 0;
    for (const v of snap.views) {
      if (!live.has(v.id)) continue;
      this.views.set(v.id, v);
      revived++;
    }
    this.#recordsSavedAt = snap.block;
    this.#log.info("records.restored", { block: snap.block, records: revived, eventsSince: since });
  }

  /**
   * Brings the tracked set and records up to `head` (default: the latest block). Safe to call
   * again after any failure: the persisted state only ever moves to a complete, confirmed block.
   */
  async sync(head?: number): Promise<SyncResult> {
    const state = this.store.state;
    const h = head ?? (await this.client.provider.getBlockNumber());
    const headBlock = await this.#hash(h);
    let reorg: SyncResult["reorg"] = "none";

    // A reorg below the checkpoint: the persisted set may hold events that no longer exist.
    if (state.checkpoint && state.checkpoint.block <= h) {
      const { hash } = await this.#hash(state.checkpoint.block);
      if (hash !== state.checkpoint.hash) {
        this.reorgs++;
        reorg = "deep";
        this.#log.error("reorg.deep", {
          block: state.checkpoint.block,
          stored: state.checkpoint.hash,
          now: hash,
          confirmations: this.confirmations,
          action: "rescanning from the deployment block; raise --confirmations",
        });
        state.checkpoint = null;
        state.positions = {};
        this.views.clear();
        this.#seenThrough = -1;
        this.store.save();
      }
    }

    // Confirmed range: applied and persisted chunk by chunk.
    const touched = new Set<bigint>();
    const checkpointAtStart = this.checkpointBlock;
    const target = h - this.confirmations;
    const backfilling = target - this.checkpointBlock > this.logChunkSize;
    if (backfilling) this.#log.info("sync.backfill", { from: this.checkpointBlock + 1, to: target, chunk: this.logChunkSize });
    while (this.checkpointBlock < target) {
      const from = this.checkpointBlock + 1;
      const to = Math.min(target, from + this.logChunkSize - 1);
      const toBlock = await this.#hash(to);
      const events = await this.#events(from, to);
      for (const e of events) this.#apply(e, state.positions, touched);
      state.checkpoint = { block: to, hash: toBlock.hash };
      this.store.save();
      if (backfilling) this.#log.debug("sync.chunk", { from, to, events: events.length, positions: Object.keys(state.positions).length });
    }
    if (backfilling) this.#log.info("sync.backfilled", { checkpoint: this.checkpointBlock, positions: Object.keys(state.positions).length });

    // Unconfirmed tip: re-read every time, kept in memory only.
    const tip = new Map<bigint, number>();
    if (h > this.checkpointBlock) {
      // A confirmed position closed in the tip stays in the persisted set until the close is
      // confirmed; its record (size 0) already drops it from the views.
      for (const e of await this.#events(this.checkpointBlock + 1, h)) this.#apply(e, tip, touched);
    }
    this.#tip = tip;

    // A reorg in the tip: the records read from the old branch may be wrong. A head below the
    // last one is a lagging node after a fail-over when its block is the one we saw.
    if (reorg === "none" && this.#lastHead) {
      const prev = this.#lastHead;
      let changed: string | null = null;
      if (prev.number <= h) {
        const { hash } = prev.number === h ? headBlock : await this.#hash(prev.number);
        if (hash !== prev.hash) changed = hash;
      } else if (this.#recent.get(h) !== undefined && this.#recent.get(h) !== headBlock.hash) {
        changed = headBlock.hash;
      }
      if (changed !== null) {
        this.reorgs++;
        reorg = "tip";
        this.#log.warn("reorg.tip", { block: Math.min(prev.number, h), was: prev.number <= h ? prev.hash : this.#recent.get(h), now: changed });
      }
    }
    this.#lastHead = { number: h, hash: headBlock.hash };
    this.#recent.set(h, headBlock.hash);
    for (const n of this.#recent.keys()) if (n < h - 64) this.#recent.delete(n);
    this.#seenThrough = Math.max(this.#seenThrough, h);

    // A first sync revives the saved records, if they are still of this chain.
    if (!this.#recordsTried) {
      this.#recordsTried = true;
      if (reorg === "none") await this.#restore(h, checkpointAtStart, touched);
    }

    // Records to read: new or touched ids, ids without a record, this block's refresh slice, or all of them after a reorg.
    const ids = this.ids();
    const live = new Set(ids);
    for (const id of [...this.views.keys()]) if (!live.has(id)) this.views.delete(id);
    let toRead: bigint[];
    if (reorg !== "none") {
      toRead = ids;
      this.#rolledThrough = h;
    } else {
      const due = this.#refreshSlots(h);
      const F = BigInt(this.fullRefreshBlocks);
      toRead = ids.filter((id) => touched.has(id) || this.#dirty.has(id) || !this.views.has(id) || (due !== null && (due === "all" || due.has(Number(id % F)))));
    }
    // Read only ids that are live (an id both opened and closed in a range needs no read).
    if (toRead.length > 0) {
      const views = await this.client.getPositions(toRead, h);
      toRead.forEach((id, i) => {
        const v = views[i];
        if (v) this.views.set(id, v);
        else this.views.delete(id);
      });
    }
    for (const id of toRead) this.#dirty.delete(id);
    this.#last = { block: h, hash: headBlock.hash };
    if (this.#records && h - this.#recordsSavedAt >= this.#recordSaveBlocks) this.saveRecords();
    return { head: h, headHash: headBlock.hash, headTimestamp: headBlock.timestamp, headBaseFeePerGas: headBlock.baseFeePerGas, refreshed: toRead.length, reorg };
  }
}
