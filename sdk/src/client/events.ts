/**
 * Client event reads and watchers: typed position events over a block range, polling
 * subscriptions, and a per-block health watch of one position.
 * @module
 */
import {
  readPositionEvents,
  watchBlocks,
  type LogRangeOptions,
  type PositionEvent,
  type PositionEventFilter,
  type PositionEventOf,
  type PositionEventType,
  type WatchOptions,
} from "../events.js";
import { getAddress, isAddress, zeroPadValue } from "ethers";
import { InvalidRequestError } from "../errors.js";
import { TRANSFER_TOPIC, readLogs } from "../events.js";
import type { PositionId } from "../types.js";
import { ClientModule } from "./context.js";
import type { PositionView, Positions } from "./positions.js";

/** The part of an `AbortSignal` a watcher uses (the SDK's types name no DOM or Node global). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** What {@link Events.watchPositions} reports: at once, then after each new block that changed something. */
export interface PositionsUpdate {
  /** Every watched position that is open now, by id. */
  views: PositionView[];
  /** The positions that are new or differ from the previous update (all of them the first time). */
  changed: PositionView[];
  /** Ids that were open in the previous update and are gone: closed, liquidated or transferred away. */
  removed: PositionId[];
  blockNumber: number;
}

/** Options of {@link Events.watchPositions}. */
export interface WatchPositionsOptions {
  /** Called with every failed poll (the watch goes on, waiting longer after each failure in a row). */
  onError: (error: unknown) => void;
  /** Stops the watch: no request is sent after it aborts. */
  signal?: AbortSignalLike;
  /** Milliseconds between polls (default: the client's `pollingInterval`). */
  pollingInterval?: number;
  /** Longest wait between polls after failures in a row (default 60,000 ms; the wait doubles from `pollingInterval`). */
  maxBackoff?: number;
}

type Timers = { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
const timers = globalThis as unknown as Timers;

/** Whether two views of a position show the same thing (record, owner, vault balance, price, borrow index). */
function sameView(a: PositionView, b: PositionView): boolean {
  const p = a.position;
  const q = b.position;
  return (
    a.owner === b.owner && a.vaultBalance === b.vaultBalance && a.price === b.price && a.index === b.index &&
    p.size === q.size && p.entryPrice === q.entryPrice && p.collateral === q.collateral && p.borrowIndex === q.borrowIndex &&
    p.riskVersion === q.riskVersion && p.maxProfitFactorBps === q.maxProfitFactorBps
  );
}

/** Event reads and watchers. */
export class Events extends ClientModule<{ positions: Positions }> {
  async *readPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions>): AsyncGenerator<PositionEvent, void, undefined> {
    const c = this.ctx;
    yield* readPositionEvents(c.provider, c.engineAddress, { ...filter, ...(await c.range(filter)) });
  }

  async getPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions>): Promise<PositionEvent[]> {
    const out: PositionEvent[] = [];
    for await (const e of this.readPositionEvents(filter)) out.push(e);
    return out;
  }

  watchPositionEvents(onEvent: (event: PositionEvent) => void, options: PositionEventFilter & WatchOptions): () => void {
    const c = this.ctx;
    return watchBlocks(
      c.provider,
      async (fromBlock, toBlock) => {
        for await (const e of readPositionEvents(c.provider, c.engineAddress, { ...options, fromBlock, toBlock, chunkSize: c.options.logChunkSize })) {
          onEvent(e);
        }
      },
      { pollingInterval: c.options.pollingInterval, ...options },
    );
  }

  on<T extends PositionEventType>(type: T, handler: (event: PositionEventOf<T>) => void, options: Omit<PositionEventFilter, "types"> & WatchOptions): () => void {
    return this.watchPositionEvents((e) => handler(e as PositionEventOf<T>), { ...options, types: [type] });
  }

  watchHealth(id: PositionId, onHealth: (view: PositionView | null) => void, options: WatchOptions): () => void {
    const c = this.ctx;
    const stop = watchBlocks(
      c.provider,
      async (_from, toBlock) => {
        const view = (await this.uses.positions.getPositions([id], toBlock))[0] ?? null;
        onHealth(view);
        if (view === null) stop();
      },
      { pollingInterval: c.options.pollingInterval, ...options },
    );
    return stop;
  }

  /**
   * Watches an owner's positions (every position ever transferred to it that it still holds) or
   * a list of ids. Reports the open ones at once, then after each new block the ones that changed
   * and the ones gone. Each poll is one eth_blockNumber and, when the block advanced, one lens
   * call (plus one eth_getLogs for an owner's new positions). Returns a function that stops it.
   */
  watchPositions(target: string | readonly PositionId[], onUpdate: (update: PositionsUpdate) => void, options: WatchPositionsOptions): () => void {
    const c = this.ctx;
    if (typeof options?.onError !== "function") throw new InvalidRequestError("watchPositions needs an onError callback: its errors are not swallowed");
    if (typeof target === "string" && !isAddress(target)) throw new InvalidRequestError(`watchPositions needs an owner address or a list of ids, got ${JSON.stringify(target)}`);
    const owner = typeof target === "string" ? getAddress(target) : undefined;
    const ids = new Set<PositionId>(typeof target === "string" ? [] : target);
    const interval = options.pollingInterval ?? c.options.pollingInterval;
    const maxBackoff = options.maxBackoff ?? 60_000;
    let current = new Map<PositionId, PositionView>();
    let scanned: number | undefined; // last block whose Transfers to the owner were read
    let shown: number | undefined; // block of the last update
    let failures = 0;
    let stopped = false;
    let handle: unknown;

    const poll = async () => {
      const latest = await c.latestBlock();
      if (shown !== undefined && latest <= shown) return;
      if (owner !== undefined) {
        const topics = [TRANSFER_TOPIC, null, zeroPadValue(owner, 32)];
        const range = { fromBlock: scanned === undefined ? c.startBlock : scanned + 1, toBlock: latest, chunkSize: 10_000_000 };
        for await (const page of readLogs(c.provider, { address: c.engineAddress, topics }, range)) {
          for (const log of page) if (log.topics.length === 4) ids.add(BigInt(log.topics[3]!));
        }
        scanned = latest;
      }
      if (stopped) return;
      const views = ids.size === 0 ? [] : await this.uses.positions.getPositions([...ids], latest);
      const next = new Map<PositionId, PositionView>();
      for (const v of views) if (v !== null && (owner === undefined || v.owner === owner)) next.set(v.id, v);
      // Ids are never reused: an owner's closed or transferred ids come back only with a new Transfer to it.
      if (owner !== undefined) for (const id of ids) if (!next.has(id)) ids.delete(id);
      const changed = [...next.values()].filter((v) => {
        const before = current.get(v.id);
        return before === undefined || !sameView(before, v);
      });
      const removed = [...current.keys()].filter((id) => !next.has(id));
      const first = shown === undefined;
      current = next;
      shown = latest;
      if (stopped || (!first && changed.length === 0 && removed.length === 0)) return;
      onUpdate({ views: [...next.values()], changed, removed, blockNumber: latest });
    };

    const tick = async () => {
      try {
        await poll();
        failures = 0;
      } catch (e) {
        failures++;
        if (!stopped) options.onError(e);
      }
      if (stopped) return;
      const wait = failures === 0 ? interval : Math.min(maxBackoff, interval * 2 ** failures);
      handle = timers.setTimeout(() => void tick(), wait);
    };
    const stop = () => {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      options.signal?.removeEventListener("abort", stop);
    };
    if (options.signal?.aborted) return stop;
    options.signal?.addEventListener("abort", stop, { once: true });
    void tick();
    return stop;
  }
}
