/**
 * Client trade history: one entry per lifecycle event of an owner's positions (opened,
 * increased, decreased, collateral added or removed, closed, liquidated), newest first, in pages.
 *
 * A page is three kinds of `eth_getLogs`, each filtered on an indexed topic and read in ranges as
 * large as the node accepts (halved when it refuses): the ERC-721 Transfers to the owner and
 * from the owner (its position ids and when it held them) and the position events of those ids.
 * A day of Arbitrum history is then a few requests, not one per 5,000 blocks.
 * @module
 */
import { getAddress, toBeHex, zeroPadValue } from "ethers";
import { InvalidRequestError } from "../errors.js";
import { POSITION_EVENT_TYPES, TRANSFER_TOPIC, positionEventTopic, readLogs, readPositionEvents, type PositionEvent } from "../events.js";
import type { PositionId } from "../types.js";
import { ClientModule } from "./context.js";

/** What a history entry did to the position. */
export type TradeAction = "opened" | "increased" | "decreased" | "collateralAdded" | "collateralRemoved" | "closed" | "liquidated";

/** One lifecycle event of a position, with what it realised and cost. */
export interface TradeHistoryEntry {
  action: TradeAction;
  id: PositionId;
  /** Its market and side (from its PositionOpened; null when that lies before the client's start block). */
  marketId: number | null;
  isLong: boolean | null;
  /** The execution (or liquidation) price, WAD; null for collateral changes. */
  price: bigint | null;
  /** Size the event added (opened, increased) or removed (decreased, closed, liquidated); 0 for collateral changes. */
  sizeDelta: bigint;
  /** Size after the event (0 once closed or liquidated). */
  size: bigint;
  /** Signed change of the position's collateral (a liquidation takes all of it). */
  collateralDelta: bigint;
  /** Collateral after the event. */
  collateral: bigint;
  /**
   * PnL the event settled, in token units: the (capped) PnL an increase folds into collateral,
   * the PnL of the part a decrease or close takes off, minus the whole collateral on a liquidation
   * (the owner receives nothing); 0 for opens and collateral changes.
   */
  realisedPnl: bigint;
  fees: {
    open: bigint;
    close: bigint;
    borrow: bigint;
    /** Keeper reward plus the insurance fund's share, on a liquidation. */
    liquidation: bigint;
  };
  /** Tokens paid to the owner (a decrease's or close's payout, collateral removed). */
  payout: bigint;
  transactionHash: string;
  blockNumber: number;
  logIndex: number;
  /** The block's timestamp (Unix seconds); null when read with `timestamps: false`. */
  timestamp: number | null;
  /** The engine event the entry was made from. */
  event: PositionEvent;
}

/** Options of {@link History.getTradeHistory}. */
export interface TradeHistoryOptions {
  /** Entries per page (default 50). */
  limit?: number;
  /** The `cursor` of the previous page: this page holds the entries older than its last entry. */
  cursor?: string;
  /** Oldest block of the history (default: the deployment's start block). */
  fromBlock?: number;
  /** Newest block of the history (default: the latest block). */
  toBlock?: number;
  /** Blocks per eth_getLogs request (default 10,000,000: the node splits what it refuses). */
  chunkSize?: number;
  /** Read each entry's block timestamp (one eth_getBlockByNumber per block on the page; default true). */
  timestamps?: boolean;
}

/** A page of trade history, newest first. */
export interface TradeHistoryPage {
  entries: TradeHistoryEntry[];
  /** Pass it as `cursor` for the next (older) page; undefined on the last page. */
  cursor: string | undefined;
}

const IDS_PER_QUERY = 100;
const topicOf = (id: bigint) => zeroPadValue(toBeHex(id), 32);
/** Chain order of two logs. */
const order = (a: { blockNumber: number; logIndex: number }, b: { blockNumber: number; logIndex: number }) =>
  a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;

function parseCursor(cursor: string): { blockNumber: number; logIndex: number } {
  const m = /^(\d+):(\d+)$/.exec(cursor);
  if (!m) throw new InvalidRequestError(`cursor must be the cursor of a previous page ("block:logIndex"), got ${JSON.stringify(cursor)}`);
  return { blockNumber: Number(m[1]), logIndex: Number(m[2]) };
}

/** Trade history reads. */
export class History extends ClientModule {
  async getTradeHistory(owner: string, options: TradeHistoryOptions = {}): Promise<TradeHistoryPage> {
    const c = this.ctx;
    const who = getAddress(owner);
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidRequestError(`limit must be a positive integer, got ${limit}`);
    const before = options.cursor === undefined ? undefined : parseCursor(options.cursor);
    const fromBlock = options.fromBlock ?? c.startBlock;
    const toBlock = Math.min(options.toBlock ?? (await c.latestBlock()), before?.blockNumber ?? Infinity);
    // Scanned from the start block: a liquidation's lost collateral and a position's market come
    // from its earlier events, which may lie before `fromBlock`.
    const range = { fromBlock: c.startBlock, toBlock, chunkSize: options.chunkSize ?? 10_000_000 };
    const ownerTopic = zeroPadValue(who, 32);

    const holdings: { blockNumber: number; logIndex: number; id: bigint; to: boolean }[] = [];
    await Promise.all(
      [
        { topics: [TRANSFER_TOPIC, null, ownerTopic], to: true },
        { topics: [TRANSFER_TOPIC, ownerTopic], to: false },
      ].map(async ({ topics, to }) => {
        for await (const page of readLogs(c.provider, { address: c.engineAddress, topics }, range)) {
          for (const log of page) {
            if (log.topics.length === 4) holdings.push({ blockNumber: log.blockNumber, logIndex: log.index, id: BigInt(log.topics[3]!), to });
          }
        }
      }),
    );
    holdings.sort(order);
    const ids = [...new Set(holdings.filter((h) => h.to).map((h) => h.id))];

    const events: PositionEvent[] = [];
    await Promise.all(
      Array.from({ length: Math.ceil(ids.length / IDS_PER_QUERY) }, async (_, k) => {
        const chunk = ids.slice(k * IDS_PER_QUERY, (k + 1) * IDS_PER_QUERY);
        for await (const e of readPositionEvents(c.provider, c.engineAddress, { ...range, ids: chunk, types: POSITION_EVENT_TYPES })) events.push(e);
      }),
    );
    events.sort(order);

    const entries = this.#entries(events, holdings, who).filter(
      (e) => e.blockNumber >= fromBlock && (before === undefined || order(e, before) < 0),
    );
    entries.reverse();
    const page = entries.slice(0, limit);
    if (options.timestamps ?? true) {
      const blocks = [...new Set(page.map((e) => e.blockNumber))];
      const times = new Map(
        await Promise.all(
          blocks.map(async (b) => {
            const block = await c.read(() => c.provider.getBlock(b));
            return [b, block?.timestamp ?? null] as const;
          }),
        ),
      );
      for (const e of page) e.timestamp = times.get(e.blockNumber) ?? null;
    }
    const last = page.at(-1);
    return { entries: page, cursor: entries.length > limit && last ? `${last.blockNumber}:${last.logIndex}` : undefined };
  }

  /** The owner's entries among the events of its ids (chain order), replaying each position's state. */
  #entries(events: readonly PositionEvent[], holdings: readonly { blockNumber: number; logIndex: number; id: bigint; to: boolean }[], owner: string): TradeHistoryEntry[] {
    const state = new Map<bigint, { marketId: number | null; isLong: boolean | null; size: bigint; collateral: bigint }>();
    /** Whether `owner` held `id` at the event (its last Transfer of the id before it was to the owner). */
    const held = (e: PositionEvent) => {
      let to = false;
      for (const h of holdings) {
        if (order(h, e) > 0) break;
        if (h.id === e.id) to = h.to;
      }
      return to;
    };
    const out: TradeHistoryEntry[] = [];
    const none = { open: 0n, close: 0n, borrow: 0n, liquidation: 0n };
    for (const e of events) {
      const s = state.get(e.id) ?? { marketId: null, isLong: null, size: 0n, collateral: 0n };
      state.set(e.id, s);
      const meta = { id: e.id, transactionHash: e.transactionHash, blockNumber: e.blockNumber, logIndex: e.logIndex, timestamp: null, event: e };
      let entry: Omit<TradeHistoryEntry, keyof typeof meta | "marketId" | "isLong"> | undefined;
      let mine: boolean;
      switch (e.type) {
        case "PositionOpened":
          mine = getAddress(e.owner) === owner;
          Object.assign(s, { marketId: e.marketId, isLong: e.isLong, size: e.size, collateral: e.collateral });
          entry = { action: "opened", price: e.price, sizeDelta: e.size, size: e.size, collateralDelta: e.collateral, collateral: e.collateral, realisedPnl: 0n, fees: { ...none, open: e.openFee }, payout: 0n };
          break;
        case "PositionIncreased":
          mine = held(e);
          entry = { action: "increased", price: e.price, sizeDelta: e.sizeDelta, size: e.newSize, collateralDelta: e.newCollateral - s.collateral, collateral: e.newCollateral, realisedPnl: e.realisedPnl, fees: { ...none, open: e.openFee, borrow: e.borrowFee }, payout: 0n };
          break;
        case "PositionDecreased":
          mine = getAddress(e.owner) === owner;
          entry = { action: e.newSize === 0n ? "closed" : "decreased", price: e.price, sizeDelta: e.sizeDelta, size: e.newSize, collateralDelta: e.newCollateral - s.collateral, collateral: e.newCollateral, realisedPnl: e.pnl, fees: { ...none, close: e.closeFee, borrow: e.borrowFee }, payout: e.payout };
          break;
        case "CollateralAdded":
          mine = held(e);
          entry = { action: "collateralAdded", price: null, sizeDelta: 0n, size: s.size, collateralDelta: e.amount, collateral: e.newCollateral, realisedPnl: 0n, fees: none, payout: 0n };
          break;
        case "CollateralRemoved":
          mine = getAddress(e.owner) === owner;
          entry = { action: "collateralRemoved", price: null, sizeDelta: 0n, size: s.size, collateralDelta: -e.amount, collateral: e.newCollateral, realisedPnl: 0n, fees: { ...none, borrow: e.borrowFee }, payout: e.amount };
          break;
        case "PositionLiquidated":
          mine = getAddress(e.owner) === owner;
          entry = { action: "liquidated", price: e.price, sizeDelta: s.size, size: 0n, collateralDelta: -s.collateral, collateral: 0n, realisedPnl: -s.collateral, fees: { ...none, liquidation: e.keeperReward + e.toInsurance }, payout: 0n };
          break;
      }
      s.size = entry.size;
      s.collateral = entry.collateral;
      if (mine) out.push({ ...entry, ...meta, marketId: s.marketId, isLong: s.isLong });
    }
    return out;
  }
}
