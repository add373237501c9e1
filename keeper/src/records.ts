/**
 * The position records the tracker read through the lens, kept in a file next to the store
 * (`<store>.records.json`) so that a restart revives them instead of reading every position
 * again (100,000 records are 500 batched lens reads: minutes on a node). The file is a cache, not
 * the truth: it is tagged with the block the records are as of and that block's hash. A restart
 * uses it only while that block is still on the chain (else a reorg replaced it: everything is
 * read again), and re-reads every position an event touched after it. It is written apart from
 * the store (which is written on every send) and only every so many blocks, atomically.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import type { PositionView } from "@bulkhead/sdk";
import { writeFileDurably } from "./store.js";

const VERSION = 1;

/** Records as of one block. */
export interface RecordSnapshot {
  block: number;
  hash: string;
  views: PositionView[];
}

// bigints as {"$n":"123"}: a record holds amounts, indexes and its health.
const replacer = (_: string, v: unknown) => (typeof v === "bigint" ? { $n: v.toString() } : v);

/** Turns {"$n": "..."} back into bigints, in place (a walk after JSON.parse is several times faster than a reviver). */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.$n === "string") return BigInt(o.$n);
  for (const k in o) o[k] = revive(o[k]);
  return o;
}

export class RecordCache {
  readonly path: string | null;
  writes = 0;

  /** `path` null: nothing is kept (in-memory stores, tests). */
  constructor(path: string | null) {
    this.path = path;
  }

  /** The stored snapshot for this chain and engine, or null (none, another deployment's, unreadable). */
  load(deployment: { chainId: number; engine: string }): RecordSnapshot | null {
    if (this.path === null || !existsSync(this.path)) return null;
    try {
      const json = revive(JSON.parse(readFileSync(this.path, "utf8"))) as { version: number; chainId: number; engine: string } & RecordSnapshot;
      if (json.version !== VERSION || json.chainId !== deployment.chainId || json.engine.toLowerCase() !== deployment.engine.toLowerCase()) return null;
      if (!Number.isSafeInteger(json.block) || typeof json.hash !== "string" || !Array.isArray(json.views)) return null;
      return { block: json.block, hash: json.hash, views: json.views };
    } catch {
      // A cache that cannot be read costs a fresh read of every record, nothing more.
      return null;
    }
  }

  /** Writes the snapshot atomically (temporary file, fsync, rename). */
  save(deployment: { chainId: number; engine: string }, snapshot: RecordSnapshot): void {
    this.writes++;
    if (this.path === null) return;
    writeFileDurably(this.path, JSON.stringify({ version: VERSION, chainId: deployment.chainId, engine: deployment.engine, ...snapshot }, replacer));
  }
}
