/**
 * The keeper's small embedded store: one JSON file, written atomically (temporary file, fsync,
 * rename), so a crash at any instant leaves either the old or the new state, never half of one.
 * It holds what a restart needs: the confirmed checkpoint (block and hash), the open positions as
 * of that block, and the liquidation transactions signed but not yet settled (write-ahead: a
 * transaction is recorded before it is broadcast, so a restarted keeper never signs a second
 * liquidation for ids it may already have sent).
 * @module
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export const STORE_VERSION = 1;

/** One signed transaction of a pending liquidation (the original or a replacement). */
export interface SentTx {
  hash: string;
  /** Signed raw transaction, re-broadcast when a node forgot it. */
  raw: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** "liquidate" carries the batch; "cancel" is a 0-value self-transfer freeing the nonce. */
  kind: "liquidate" | "cancel";
  /** Block number when it was signed. */
  block: number;
  at: number;
}

/** A nonce in flight: its batch and every transaction signed for it. */
export interface PendingLiquidation {
  nonce: number;
  ids: string[];
  txs: SentTx[];
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
}

/** The store file exists but belongs to another chain or engine, or cannot be read. */
export class StoreError extends Error {
  override name = "StoreError";
}

export function emptyState(chainId: number, engine: string, startBlock: number): StoreState {
  return { version: STORE_VERSION, chainId, engine, startBlock, checkpoint: null, positions: {}, pending: {}, liquidated: {} };
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
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(this.state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    // Make the rename itself durable (directory entry), where the platform allows it.
    try {
      const dfd = openSync(dirname(this.path), "r");
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      /* not supported here */
    }
  }
}
