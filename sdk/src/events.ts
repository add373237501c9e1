/**
 * Position events, typed: decoding, a paginated log reader (block ranges in chunks, halved when a
 * node refuses a range) and a polling watcher that works on every provider (HTTP, wallets,
 * Hardhat) without relying on filter subscriptions.
 * @module
 */
import { Interface, id as keccakId, zeroPadValue, toBeHex, type Log, type Provider } from "ethers";
import { bulkheadAbi } from "./abis/bulkhead.js";

/** Where a log sits on chain. */
export interface LogMeta {
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
}

/** A position was opened into its own vault. */
export interface PositionOpenedEvent extends LogMeta {
  type: "PositionOpened";
  id: bigint;
  owner: string;
  marketId: number;
  isLong: boolean;
  size: bigint;
  price: bigint;
  collateral: bigint;
  openFee: bigint;
  riskVersion: number;
  borrowIndex: bigint;
}

/**
 * A position grew: its PnL at `price` (capped) and its borrow fee were settled into collateral,
 * then it became `newSize` at entry `newEntryPrice` (= price) on risk version `riskVersion` with
 * its own cap factor `maxProfitFactorBps`.
 */
export interface PositionIncreasedEvent extends LogMeta {
  type: "PositionIncreased";
  id: bigint;
  sizeDelta: bigint;
  collateralDelta: bigint;
  price: bigint;
  realisedPnl: bigint;
  openFee: bigint;
  borrowFee: bigint;
  newSize: bigint;
  newEntryPrice: bigint;
  newCollateral: bigint;
  borrowIndex: bigint;
  riskVersion: number;
  maxProfitFactorBps: bigint;
}

/** A position shrank; newSize = 0 means it was closed. */
export interface PositionDecreasedEvent extends LogMeta {
  type: "PositionDecreased";
  id: bigint;
  owner: string;
  sizeDelta: bigint;
  price: bigint;
  pnl: bigint;
  borrowFee: bigint;
  closeFee: bigint;
  payout: bigint;
  newSize: bigint;
  newCollateral: bigint;
  borrowIndex: bigint;
}

/** Someone topped up a position. */
export interface CollateralAddedEvent extends LogMeta {
  type: "CollateralAdded";
  id: bigint;
  from: string;
  amount: bigint;
  newCollateral: bigint;
}

/** The owner took collateral out. */
export interface CollateralRemovedEvent extends LogMeta {
  type: "CollateralRemoved";
  id: bigint;
  owner: string;
  amount: bigint;
  borrowFee: bigint;
  newCollateral: bigint;
  borrowIndex: bigint;
}

/** A position was liquidated; the amounts are its `previewLiquidation`. */
export interface PositionLiquidatedEvent extends LogMeta {
  type: "PositionLiquidated";
  id: bigint;
  keeper: string;
  owner: string;
  price: bigint;
  equity: bigint;
  maintenance: bigint;
  keeperReward: bigint;
  badDebt: bigint;
  toInsurance: bigint;
  fromInsurance: bigint;
  fromPool: bigint;
  lpDelta: bigint;
}

/** Every event about one position. */
export type PositionEvent =
  | PositionOpenedEvent
  | PositionIncreasedEvent
  | PositionDecreasedEvent
  | CollateralAddedEvent
  | CollateralRemovedEvent
  | PositionLiquidatedEvent;

/** The name of a position event. */
export type PositionEventType = PositionEvent["type"];
/** The event type of a name. */
export type PositionEventOf<T extends PositionEventType> = Extract<PositionEvent, { type: T }>;

/** Names of the position events, in no particular order. */
export const POSITION_EVENT_TYPES: readonly PositionEventType[] = [
  "PositionOpened",
  "PositionIncreased",
  "PositionDecreased",
  "CollateralAdded",
  "CollateralRemoved",
  "PositionLiquidated",
];

const engineInterface = new Interface(bulkheadAbi as never);
/** The engine's ABI as an ethers Interface. */
export function bulkheadInterface(): Interface {
  return engineInterface;
}

const TOPICS = new Map<string, PositionEventType>(
  POSITION_EVENT_TYPES.map((t) => [engineInterface.getEvent(t)!.topicHash, t]),
);

/** topic0 of each position event. */
export function positionEventTopic(type: PositionEventType): string {
  return engineInterface.getEvent(type)!.topicHash;
}

const SMALL = new Set(["marketId", "riskVersion"]);

/** Decodes one engine log into its typed position event, or null for other logs. */
export function decodePositionEvent(log: Pick<Log, "topics" | "data" | "blockNumber" | "transactionHash" | "index">): PositionEvent | null {
  const type = TOPICS.get(log.topics[0] ?? "");
  if (!type) return null;
  const parsed = engineInterface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return null;
  const out: Record<string, unknown> = {
    type,
    blockNumber: log.blockNumber,
    transactionHash: log.transactionHash,
    logIndex: log.index,
  };
  parsed.fragment.inputs.forEach((input, i) => {
    const v = parsed.args[i];
    out[input.name] = SMALL.has(input.name) ? Number(v) : v;
  });
  return out as unknown as PositionEvent;
}

/** Options of {@link readLogs}. */
export interface LogRangeOptions {
  fromBlock: number;
  /** Inclusive; default: the latest block when the read starts. */
  toBlock?: number;
  /** Blocks per eth_getLogs request (default 5,000); halved automatically when a node refuses a range. */
  chunkSize?: number;
}

const RANGE_ERROR = /range|limit|too many|exceed|more than|10000|response size|timeout/i;

/**
 * Reads logs page by page (block ranges of `chunkSize`), yielding each page's logs in chain
 * order. A page the node refuses as too large is split in halves and retried.
 */
export async function* readLogs(
  provider: Provider,
  filter: { address: string; topics: (string | string[] | null)[] },
  options: LogRangeOptions,
): AsyncGenerator<Log[], void, undefined> {
  const toBlock = options.toBlock ?? (await provider.getBlockNumber());
  let chunk = Math.max(1, options.chunkSize ?? 5_000);
  let from = options.fromBlock;
  while (from <= toBlock) {
    const to = Math.min(toBlock, from + chunk - 1);
    let logs: Log[];
    try {
      logs = await provider.getLogs({ address: filter.address, topics: filter.topics, fromBlock: from, toBlock: to });
    } catch (e) {
      if (to > from && RANGE_ERROR.test(String((e as Error)?.message ?? e))) {
        chunk = Math.max(1, Math.floor((to - from + 1) / 2));
        continue;
      }
      throw e;
    }
    yield [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    from = to + 1;
  }
}

/** Filter of {@link readPositionEvents}. */
export interface PositionEventFilter {
  /** Only these event types (default: all). */
  types?: readonly PositionEventType[];
  /** Only these position ids. */
  ids?: readonly bigint[];
}

/** The topics selecting position events (every one has the id as first indexed topic). */
export function positionEventTopics(filter: PositionEventFilter = {}): (string | string[] | null)[] {
  const types = filter.types ?? POSITION_EVENT_TYPES;
  const topics: (string | string[] | null)[] = [types.map(positionEventTopic)];
  if (filter.ids && filter.ids.length > 0) topics.push(filter.ids.map((i) => zeroPadValue(toBeHex(i), 32)));
  return topics;
}

/** Reads typed position events of an engine, page by page. */
export async function* readPositionEvents(
  provider: Provider,
  engine: string,
  options: LogRangeOptions & PositionEventFilter,
): AsyncGenerator<PositionEvent, void, undefined> {
  for await (const page of readLogs(provider, { address: engine, topics: positionEventTopics(options) }, options)) {
    for (const log of page) {
      const e = decodePositionEvent(log);
      if (e) yield e;
    }
  }
}

/** The ERC-721 Transfer topic (position tokens are minted, moved and burned with it). */
export const TRANSFER_TOPIC = keccakId("Transfer(address,address,uint256)");

type Timers = { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
const timers = globalThis as unknown as Timers;

/** Options of {@link watchBlocks}. */
export interface WatchOptions {
  /** Milliseconds between polls (default 4,000). */
  pollingInterval?: number;
  /** First block to report (default: the next block). */
  fromBlock?: number;
  /** Called when a poll fails; polling goes on. Default: ignore. */
  onError?: (error: unknown) => void;
}

/**
 * Polls the block number and calls `onRange(from, to)` for every new range of blocks, in order,
 * one call at a time. Returns a function that stops it.
 */
export function watchBlocks(
  provider: Provider,
  onRange: (fromBlock: number, toBlock: number) => Promise<void> | void,
  options: WatchOptions = {},
): () => void {
  const interval = options.pollingInterval ?? 4_000;
  let stopped = false;
  let handle: unknown;
  let next = options.fromBlock;
  const tick = async () => {
    try {
      const latest = await provider.getBlockNumber();
      if (next === undefined) next = latest + 1;
      if (!stopped && latest >= next) {
        await onRange(next, latest);
        next = latest + 1;
      }
    } catch (e) {
      options.onError?.(e);
    }
    if (!stopped) handle = timers.setTimeout(() => void tick(), interval);
  };
  void tick();
  return () => {
    stopped = true;
    if (handle !== undefined) timers.clearTimeout(handle);
  };
}
