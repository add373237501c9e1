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
import type { PositionId } from "../types.js";
import { ClientModule } from "./context.js";
import type { PositionView, Positions } from "./positions.js";

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
}
