/**
 * The keeper's small embedded store: one JSON file, written atomically (temporary file, fsync,
 * rename), so a crash at any instant leaves either the old or the new state, never half of one.
 * It holds what a restart needs: the confirmed checkpoint (block and hash), the open positions as
 * of that block, the requests and orders being watched (version 2), and the transactions signed
 * but not yet settled (write-ahead: a transaction is recorded before it is broadcast, so a
 * restarted keeper never signs a second liquidation or execution it may already have sent).
 * @module
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export const STORE_VERSION = 2;

/** What an execution transaction (not a liquidation) does: one request or order, keyed so that only one is ever in flight. */
export interface JobRecord {
  /** "request:<id>", "lp:<id>", "order:<id>", "topup:<id>", "prune:<id>". */
  key: string;
  kind: "request" | "pushRound" | "lp" | "order" | "trailingStop" | "topUp" | "prune";
  to: string;
  data: string;
  /** Observation time of the (latest) report it carries, for the latency metric; null without one. */
  reportAt: number | null;
  /** What the executor expects to be paid (wei, or token units for a top-up), as decimal text. */
  expectedPay: string;
}

/** A trade request (router) being watched until it executes, is cancelled or expires. */
export interface TrackedRequest {
  market: number;
  kind: string;
  createdAt: number;
  settlesAt: number;
  expiresAt: number;
  /** From when an exit may execute at a push round; null for opens and increases. */
  pushFallbackAt: number | null;
  fee: string;
  gasLimit: number;
}

/** An LP request (pool) being watched. */
export interface TrackedLpRequest {
  kind: "Deposit" | "Redeem";
  createdAt: number;
  settlesAt: number;
  expiresAt: number;
  fee: string;
}

/** A trigger order as the book stores it (bigints as decimal text). */
export interface TrackedOrder {
  kind: string;
  isLong: boolean;
  market: number;
  positionId: string;
  target: string;
  trigger: string;
  acceptablePrice: string;
  fee: string;
  observedAfter: number;
  validUntil: number;
  /** Trailing stops: the best report seen after placement (signed hex, its benchmark and time). */
  peak?: { report: string; price: string; observedAt: number };
}

/** A top-up guard (bigints as decimal text); `market` is its position's. */
export interface TrackedGuard {
  positionId: string;
  market: number;
  threshold: string;
  amount: string;
  executorFee: string;
  budget: string;
  observedAfter: number;
  validUntil: number;
}

/** Requests and orders (store version 2). `scanned`: last block whose router, pool and book events are applied. */
export interface JobsState {
  scanned: number;
  requests: Record<string, TrackedRequest>;
  lpRequests: Record<string, TrackedLpRequest>;
  orders: Record<string, TrackedOrder>;
  guards: Record<string, TrackedGuard>;
}

export const emptyJobs = (startBlock: number): JobsState => ({ scanned: startBlock - 1, requests: {}, lpRequests: {}, orders: {}, guards: {} });

/** One signed transaction of a pending liquidation (the original or a replacement). */
export interface SentTx {
  hash: string;
  /** Signed raw transaction, re-broadcast when a node forgot it. */
  raw: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** "liquidate" carries the batch, "job" an execution; "cancel" is a 0-value self-transfer freeing the nonce. */
  kind: "liquidate" | "job" | "cancel";
  /** Block number when it was signed. */
  block: number;
  at: number;
}

/** A nonce in flight: its batch (or execution) and every transaction signed for it. */
export interface PendingLiquidation {
  nonce: number;
  /** Liquidated ids; empty for an execution. */
  ids: string[];
  txs: SentTx[];
  /** Set for the execution of a request or order. */
  job?: JobRecord;
}

/** Everything persisted. */
export interface StoreState {
  version: number;
  chainId: number;
  engine: string;
  /** First block scanned (the deployment's start block). */
  startBlock: number;
  /** Last confirmed block whose events are applied to `positions`, with its hash (reorg check). */
  checkpoint: { block: number; hash: string } | null;
  /** Open positions as of the checkpoint: id -> market id. */
  positions: Record<string, number>;
  /** Keeper account -> its unsettled liquidations. */
  pending: Record<string, PendingLiquidation[]>;
  /** Ids this keeper liquidated (mined, event in the receipt) not yet confirmed closed: id -> block. */
  liquidated: Record<string, number>;
  /** Requests and orders watched (version 2). */
  jobs: JobsState;
}

/** The store file exists but belongs to another chain or engine, or cannot be read. */
export class StoreError extends Error {
  override name = "StoreError";
}

export function emptyState(chainId: number, engine: string, startBlock: number): StoreState {
  return { version: STORE_VERSION, chainId, engine, startBlock, checkpoint: null, positions: {}, pending: {}, liquidated: {}, jobs: emptyJobs(startBlock) };
}

/**
 * Upgrades an older state in place. Version 1 had no requests or orders: they are scanned from
 * the start block; its positions, checkpoint and pending liquidations carry over unchanged.
 */
export function migrate(state: StoreState): StoreState {
  if (state.version === 1) {
    state.jobs = emptyJobs(state.startBlock);
    state.version = 2;
  }
  return state;
}

/** Reads and writes the state file. `path` null keeps everything in memory (tests, dry runs without a store). */
export class JsonStore {
  readonly path: string | null;
  state: StoreState;
  /** True when the file did not exist (a first start). */
  readonly fresh: boolean;
  writes = 0;

  private constructor(path: string | null, state: StoreState, fresh: boolean) {
    this.path = path;
    this.state = state;
    this.fresh = fresh;
  }

  /**
   * Opens (or starts) the store for one deployment. Refuses a file written for another chain or
   * engine: its positions would be someone else's.
   */
  static open(path: string | null, deployment: { chainId: number; engine: string; startBlock: number }): JsonStore {
    const { chainId, engine, startBlock } = deployment;
    if (path === null || !existsSync(path)) return new JsonStore(path, emptyState(chainId, engine, startBlock), true);
    let state: StoreState;
    try {
      state = JSON.parse(readFileSync(path, "utf8")) as StoreState;
    } catch (e) {
      throw new StoreError(`cannot read the store ${path}: ${(e as Error).message}; move it away to start a fresh scan`);
    }
    if (state?.version === 1) state = migrate(state);
    if (state?.version !== STORE_VERSION) {
      throw new StoreError(`the store ${path} has version ${String(state?.version)}, this keeper writes version ${STORE_VERSION}; move it away to start a fresh scan`);
    }
    if (state.chainId !== chainId || state.engine.toLowerCase() !== engine.toLowerCase()) {
      throw new StoreError(
        `the store ${path} belongs to engine ${state.engine} on chain ${state.chainId}, not engine ${engine} on chain ${chainId}; pass another --store`,
      );
    }
    state.positions ??= {};
    state.pending ??= {};
    state.liquidated ??= {};
    state.jobs ??= emptyJobs(state.startBlock);
    if (state.startBlock !== startBlock) {
      // The deployment file moved its start block: scan again from it.
      state = { ...emptyState(chainId, engine, startBlock), pending: state.pending, liquidated: state.liquidated };
    }
    return new JsonStore(path, state, false);
  }

  /** Writes the state atomically: a temporary file next to it, fsync, rename over the old one. */
  save(): void {
    this.writes++;
    if (this.path === null) return;
    writeFileDurably(this.path, JSON.stringify(this.state));
  }
}

/**
 * Writes `text` to `path` atomically and durably: a temporary file next to it (mode 0600), fsync,
 * rename over the old one, then fsync of the directory entry where the platform allows it. A
 * crash leaves the old file or the new one, never a torn one.
 */
export function writeFileDurably(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* not supported here */
  }
}
