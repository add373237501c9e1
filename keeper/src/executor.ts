/**
 * Sends liquidations and sees them through.
 *
 * - Batches: candidates (largest reward first) in `liquidateMany` batches of at most
 *   `maxBatchSize`, each simulated first (eth_call from the keeper): a batch the chain would
 *   liquidate nothing of is dropped (another keeper was first), one that would liquidate only
 *   some is pruned with the lens' `previewLiquidations`, one that reverts is split until the
 *   offending id is found and set aside. Batches whose gas estimate passes `maxBatchGas` are
 *   halved.
 * - Profitability (optional): a batch is sent only if its simulated reward minus its expected
 *   gas cost (converted at a native-coin price) reaches `minProfit`.
 * - Transactions: EIP-1559 with the fee capped at `maxFeePerGas`; the nonce is kept locally
 *   (resynchronised from the node when it disagrees); each transaction is written to the store
 *   before it is broadcast, and a restart settles it instead of sending the same ids again; a
 *   transaction not mined after `replaceAfterBlocks` is replaced with bumped fees (or cancelled
 *   with a 0-value self-transfer when nothing in it is liquidatable any more); receipts are
 *   checked and their `PositionLiquidated` events counted.
 * @module
 */
import { Transaction, type Provider, type TransactionReceipt, type TransactionRequest } from "ethers";
import {
  ContractRevertError,
  UnknownRevertError,
  bulkheadInterface,
  decodePositionEvent,
  type BulkheadClient,
  type PositionLiquidatedEvent,
} from "@bulkhead/sdk";
import { silentLogger, type Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { RpcUnavailableError } from "./rpc.js";
import type { JobRecord, JsonStore, PendingLiquidation, SentTx } from "./store.js";
import type { Candidate } from "./evaluator.js";
import { PeerSchedule } from "./peers.js";

const GWEI = 10n ** 9n;

/** Signs transactions (an ethers Wallet). */
export interface TxSigner {
  signTransaction(tx: TransactionRequest): Promise<string>;
}

/** Converts a native-coin amount to collateral token units for the profitability check. */
export type NativePrice = { wad: bigint } | { market: number };

export interface ExecutorOptions {
  /** Report what would be liquidated; sign and send nothing. */
  dryRun?: boolean;
  /** Ids per liquidateMany (default 50). */
  maxBatchSize?: number;
  /** Gas estimate above which a batch is halved (default 8,000,000). */
  maxBatchGas?: bigint;
  /** Fee cap per gas, wei (default 100 gwei): nothing is sent above it. */
  maxFeePerGas?: bigint;
  /** Priority fee per gas, wei (default 1 gwei). */
  priorityFeePerGas?: bigint;
  /** Replacement bump, percent of the previous fees (default 20, nodes ask for at least 10). */
  feeBumpPercent?: number;
  /** Blocks without a receipt before a transaction is replaced (default 3). */
  replaceAfterBlocks?: number;
  /** Most liquidation transactions in flight at once (default 4). */
  maxPendingTxs?: number;
  /** Gas limit = estimate * this / 100 (default 130). */
  gasLimitPercent?: number;
  /** Least reward minus gas cost, token units, for a batch to be sent (default: no floor). */
  minProfit?: bigint | null;
  /** Native coin price for the floor: a fixed WAD price in token value, or a market's price. */
  nativePrice?: NativePrice | null;
  /** Blocks an id whose liquidation reverts alone is set aside (default 50). */
  quarantineBlocks?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Asks the tracker to re-read ids whose record looks out of date. */
  onStale?: (ids: bigint[]) => void;
  /** Test hook: called at named points of the send path (a test kills the process there). */
  onCheckpoint?: (point: "recorded" | "broadcast") => void;
  /** Addresses of the keepers sharing the chain, this one included (default: none, every job is this keeper's); see peers.ts. */
  peers?: readonly string[];
  /** Blocks this keeper waits for a job's owner among `peers` before trying it (default 2). */
  peerGraceBlocks?: number;
  /** Called when an execution (request or order) settles: mined (receipt), cancelled or dropped (null). */
  onJobSettled?: (job: JobRecord, receipt: TransactionReceipt | null, how: "mined" | "cancelled" | "dropped") => void;
}

export interface ChainContext {
  block: number;
  baseFeePerGas: bigint;
  /** Market prices (WAD) by market id, for a market-based native price. */
  prices?: readonly (bigint | null)[];
}

type PlannedBatch = { ids: bigint[]; liquidated: bigint; reward: bigint; gas: bigint };

type Simulation = { ok: true; liquidated: bigint; reward: bigint } | { ok: false; error: unknown };

function errorText(e: unknown): string {
  const o = e as { code?: unknown; message?: unknown; shortMessage?: unknown; info?: { error?: { message?: unknown } }; error?: { message?: unknown } };
  return [o?.code, o?.message, o?.shortMessage, o?.info?.error?.message, o?.error?.message].filter((x) => x !== undefined).join(" | ");
}

const isRevert = (e: unknown) => e instanceof ContractRevertError || e instanceof UnknownRevertError;
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);

export class Executor {
  readonly client: BulkheadClient;
  readonly provider: Provider;
  readonly address: string;
  readonly store: JsonStore;
  readonly dryRun: boolean;
  readonly #signer: TxSigner | null;
  readonly #o: Required<Omit<ExecutorOptions, "logger" | "metrics" | "onStale" | "onCheckpoint" | "onJobSettled" | "minProfit" | "nativePrice" | "dryRun" | "peers" | "peerGraceBlocks">>;
  /** Who tries which job first (liquidations here, requests and orders in jobs.ts). */
  readonly peers: PeerSchedule;
  onJobSettled: NonNullable<ExecutorOptions["onJobSettled"]>;
  readonly #minProfit: bigint | null;
  readonly #nativePrice: NativePrice | null;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #onStale: (ids: bigint[]) => void;
  readonly #onCheckpoint: (point: "recorded" | "broadcast") => void;
  readonly #iface = bulkheadInterface();
  #nonce = -1;
  /** Nonce of an entry -> first block its nonce was seen used without a receipt of ours. */
  readonly #orphans = new Map<number, number>();
  /** Id -> block until which it is set aside. */
  readonly #quarantine = new Map<bigint, number>();
  /** Last dry-run report, to log only changes. */
  #lastDryRun = "";
  #lastCapWarning = 0;

  constructor(client: BulkheadClient, signer: TxSigner | null, address: string, store: JsonStore, options: ExecutorOptions = {}) {
    this.client = client;
    this.provider = client.provider;
    this.#signer = signer;
    this.address = address;
    this.store = store;
    this.dryRun = options.dryRun ?? false;
    if (!this.dryRun && !signer) throw new Error("the executor needs a signer unless it runs dry");
    this.#o = {
      maxBatchSize: options.maxBatchSize ?? 50,
      maxBatchGas: options.maxBatchGas ?? 8_000_000n,
      maxFeePerGas: options.maxFeePerGas ?? 100n * GWEI,
      priorityFeePerGas: options.priorityFeePerGas ?? 1n * GWEI,
      feeBumpPercent: options.feeBumpPercent ?? 20,
      replaceAfterBlocks: options.replaceAfterBlocks ?? 3,
      maxPendingTxs: options.maxPendingTxs ?? 4,
      gasLimitPercent: options.gasLimitPercent ?? 130,
      quarantineBlocks: options.quarantineBlocks ?? 50,
    };
    this.#minProfit = options.minProfit ?? null;
    this.#nativePrice = options.nativePrice ?? null;
    this.#log = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#onStale = options.onStale ?? (() => {});
    this.#onCheckpoint = options.onCheckpoint ?? (() => {});
    this.onJobSettled = options.onJobSettled ?? (() => {});
    this.peers = options.peers?.length ? new PeerSchedule({ peers: options.peers, self: address, graceBlocks: options.peerGraceBlocks }) : PeerSchedule.solo(address);
  }

  // ------------------------------------------------------------ state

  get #pending(): PendingLiquidation[] {
    const key = this.address.toLowerCase();
    return (this.store.state.pending[key] ??= []);
  }

  /** Liquidation transactions signed and not settled. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Liquidation transactions (not executions) in flight. */
  get #liquidationsInFlight(): number {
    return this.#pending.filter((p) => !p.job).length;
  }

  /** Keys of the executions in flight (a key is never sent twice while its transaction is unsettled). */
  busyJobs(): Set<string> {
    return new Set(this.#pending.flatMap((p) => (p.job ? [p.job.key] : [])));
  }

  /** Ids in a transaction in flight, or liquidated by us and not yet confirmed closed, or set aside. */
  busyIds(block: number): Set<bigint> {
    const out = new Set<bigint>();
    for (const p of this.#pending) for (const id of p.ids) out.add(BigInt(id));
    for (const id of Object.keys(this.store.state.liquidated)) out.add(BigInt(id));
    for (const [id, until] of this.#quarantine) {
      if (until > block) out.add(id);
      else this.#quarantine.delete(id);
    }
    return out;
  }

  /** Synchronises the nonce with the node and the store (call once before the first cycle). */
  async init(): Promise<void> {
    if (this.dryRun) return;
    await this.#syncNonce();
    if (this.#pending.length > 0) {
      this.#log.info("tx.recovered", {
        pending: this.#pending.map((p) => ({ nonce: p.nonce, ids: p.ids.length, hashes: p.txs.map((t) => t.hash) })),
      });
    }
  }

  async #syncNonce(): Promise<void> {
    const onChain = await this.provider.getTransactionCount(this.address, "pending");
    const stored = this.#pending.reduce((m, p) => Math.max(m, p.nonce + 1), 0);
    this.#nonce = Math.max(onChain, stored);
  }

  /**
   * Forgets "liquidated by us" marks once the tracker no longer has the position (its closing
   * event is confirmed), and drops marks whose transaction was reorged out (position still open
   * well after the block).
   */
  pruneLiquidated(open: (id: bigint) => boolean, confirmedBlock: number, isLive: (id: bigint) => boolean): void {
    const marks = this.store.state.liquidated;
    let changed = false;
    for (const [key, block] of Object.entries(marks)) {
      const id = BigInt(key);
      if (!open(id)) {
        delete marks[key];
        changed = true;
      } else if (block <= confirmedBlock && isLive(id)) {
        this.#log.warn("liquidation.reorged", { id, block, action: "the position is open again: liquidating it again" });
        delete marks[key];
        changed = true;
      }
    }
    if (changed) this.store.save();
  }

  // ------------------------------------------------------------ simulation

  async #simulate(ids: readonly bigint[]): Promise<Simulation> {
    const data = this.#iface.encodeFunctionData("liquidateMany", [ids]);
    try {
      const ret = await this.provider.call({ from: this.address, to: this.client.engineAddress, data });
      const [liquidated, reward] = this.#iface.decodeFunctionResult("liquidateMany", ret) as unknown as [bigint, bigint];
      return { ok: true, liquidated, reward };
    } catch (e) {
      const err = this.client.toError(e);
      // Anything but a revert (RPC trouble) is not a verdict about the batch: the cycle fails and retries.
      if (!isRevert(err)) throw err;
      return { ok: false, error: err };
    }
  }

  /** Why `liquidate(id)` reverts (the error), or undefined when it would go through. */
  async #simulateOne(id: bigint): Promise<unknown> {
    const data = this.#iface.encodeFunctionData("liquidate", [id]);
    try {
      await this.provider.call({ from: this.address, to: this.client.engineAddress, data });
      return undefined;
    } catch (e) {
      const err = this.client.toError(e);
      if (!isRevert(err)) throw err;
      return err;
    }
  }

  /** Gas estimate of liquidating `ids`; null when the estimate reverts (RPC trouble throws). */
  async #estimate(ids: readonly bigint[]): Promise<bigint | null> {
    try {
      return await this.provider.estimateGas({ from: this.address, to: this.client.engineAddress, data: this.#iface.encodeFunctionData("liquidateMany", [ids]) });
    } catch (e) {
      const err = this.client.toError(e);
      if (!isRevert(err)) throw err;
      return null;
    }
  }

  /**
   * Turns candidates into batches the chain would execute: simulated, pruned, split by gas.
   * Returns the batches with their simulated outcome and gas estimate.
   */
  async #plan(ids: bigint[], block: number): Promise<PlannedBatch[]> {
    // Batches are planned concurrently (their reads are independent), then kept in reward order.
    const chunks: bigint[][] = [];
    for (let i = 0; i < ids.length; i += this.#o.maxBatchSize) chunks.push(ids.slice(i, i + this.#o.maxBatchSize));
    return (await Promise.all(chunks.map((c) => this.#planChunk(c, block)))).flat();
  }

  async #planChunk(ids: bigint[], block: number): Promise<PlannedBatch[]> {
    const out: PlannedBatch[] = [];
    const queue: bigint[][] = [ids];
    let guard = 0;
    while (queue.length > 0 && guard++ < 4 * ids.length + 16) {
      let batch = queue.shift()!;
      // The gas estimate runs alongside the simulation: when the whole batch would go through
      // (the usual case) it is the one to use, and the batch costs one round trip, not two.
      const [first, estimated] = await Promise.all([this.#simulate(batch), this.#estimate(batch)]);
      let sim = first;
      if (sim.ok && sim.liquidated === BigInt(batch.length) && estimated !== null) {
        if (estimated > this.#o.maxBatchGas && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
        } else {
          out.push({ ids: batch, liquidated: sim.liquidated, reward: sim.reward, gas: estimated });
        }
        continue;
      }
      if (!sim.ok) {
        if (batch.length === 1) {
          this.#quarantine.set(batch[0]!, block + this.#o.quarantineBlocks);
          this.#metrics?.inc("keeper_failures_total", 1, { kind: "simulation_revert" });
          this.#log.error("liquidation.simulationReverted", {
            id: batch[0],
            error: (sim.error as Error)?.message ?? String(sim.error),
            action: `set aside for ${this.#o.quarantineBlocks} blocks`,
          });
          continue;
        }
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        continue;
      }
      if (sim.liquidated === 0n && batch.length === 1 && (await this.client.previewLiquidations(batch))[0]?.liquidatable) {
        // Liquidatable, yet the batch skips it: its own liquidation reverts (e.g. its vault's
        // transfer); `liquidate` gives the reason. Set aside like a reverting batch of one.
        const error = await this.#simulateOne(batch[0]!);
        this.#quarantine.set(batch[0]!, block + this.#o.quarantineBlocks);
        this.#metrics?.inc("keeper_failures_total", 1, { kind: "simulation_revert" });
        this.#log.error("liquidation.simulationReverted", {
          id: batch[0],
          error: (error as Error)?.message ?? String(error),
          action: `set aside for ${this.#o.quarantineBlocks} blocks`,
        });
        continue;
      }
      if (sim.liquidated === 0n) {
        this.#log.info("liquidation.skipped", { ids: batch.length, reason: "nothing liquidatable on chain (taken by another keeper, or healthy again)" });
        this.#metrics?.inc("keeper_skipped_total", batch.length, { reason: "not_liquidatable_on_chain" });
        this.#onStale(batch);
        continue;
      }
      if (sim.liquidated < BigInt(batch.length)) {
        const previews = await this.client.previewLiquidations(batch);
        const keep = batch.filter((_, i) => previews[i]?.liquidatable);
        const gone = batch.filter((_, i) => !previews[i]?.liquidatable);
        if (gone.length > 0) {
          this.#log.info("liquidation.skipped", { ids: gone.length, reason: "not liquidatable on chain (taken by another keeper, or healthy again)" });
          this.#metrics?.inc("keeper_skipped_total", gone.length, { reason: "not_liquidatable_on_chain" });
          this.#onStale(gone);
        }
        if (keep.length === 0) continue;
        if (keep.length !== batch.length) {
          batch = keep;
          sim = await this.#simulate(batch);
          if (!sim.ok || sim.liquidated === 0n) {
            queue.unshift(...(sim.ok ? [] : [batch]));
            continue;
          }
        }
        if (sim.liquidated < BigInt(batch.length)) {
          // Every id is liquidatable, yet the chain skips some: their own liquidation reverts
          // (liquidateMany isolates it). Halve until the failing ones stand alone.
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          continue;
        }
      }
      const gas = await this.#estimate(batch);
      if (gas === null) {
        queue.unshift(batch); // state moved between call and estimate: simulate again
        continue;
      }
      if (gas > this.#o.maxBatchGas && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        continue;
      }
      out.push({ ids: batch, liquidated: sim.liquidated, reward: sim.reward, gas });
    }
    return out;
  }

  // ------------------------------------------------------------ fees

  /** The fees a transaction sent now gets, or null above the cap. */
  feesAt(baseFee: bigint): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | null {
    return this.#fees(baseFee);
  }

  /** The gas limit a transaction with this estimate gets. */
  gasLimitFor(estimate: bigint): bigint {
    return (estimate * BigInt(this.#o.gasLimitPercent)) / 100n;
  }

  /**
   * Signs, records (write-ahead) and broadcasts one execution. Returns false when the node
   * refused it (the record is dropped; nothing was sent) or another transaction for the key is
   * in flight.
   */
  async sendJob(job: JobRecord, gasLimit: bigint, fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }, block: number): Promise<boolean> {
    if (this.dryRun) return false;
    if (this.busyJobs().has(job.key)) return false;
    if (this.#nonce < 0) await this.#syncNonce();
    const nonce = this.#nonce;
    const tx: TransactionRequest = { type: 2, chainId: this.client.chainId, nonce, to: job.to, data: job.data, value: 0n, gasLimit, ...fees };
    const { raw, hash } = await this.#sign(tx);
    const entry: PendingLiquidation = {
      nonce,
      ids: [],
      job,
      txs: [{ hash, raw, kind: "job", block, at: Date.now(), maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() }],
    };
    this.#pending.push(entry);
    this.#nonce = nonce + 1;
    this.store.save();
    this.#onCheckpoint("recorded");
    const outcome = await this.#broadcast(raw, hash);
    this.#onCheckpoint("broadcast");
    if (outcome === "sent" || outcome === "unknown") {
      this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: job.kind });
      this.#log.info("execution.sent", { key: job.key, kind: job.kind, nonce, hash, expectedPay: job.expectedPay, maxFeeGwei: Number(fees.maxFeePerGas) / 1e9 });
      return true;
    }
    this.#pending.splice(this.#pending.indexOf(entry), 1);
    this.store.save();
    this.#metrics?.inc("keeper_failures_total", 1, { kind: `send_${outcome}` });
    await this.#syncNonce();
    return false;
  }

  #fees(baseFee: bigint): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | null {
    const cap = this.#o.maxFeePerGas;
    if (baseFee >= cap) return null;
    const tip = minBig(this.#o.priorityFeePerGas, cap - baseFee);
    return { maxFeePerGas: minBig(baseFee * 2n + tip, cap), maxPriorityFeePerGas: tip };
  }

  #gasCostInTokens(gas: bigint, pricePerGas: bigint, ctx: ChainContext): bigint | null {
    if (!this.#nativePrice) return null;
    const wad = "wad" in this.#nativePrice ? this.#nativePrice.wad : (ctx.prices?.[this.#nativePrice.market] ?? null);
    if (wad === null || wad === undefined) return null;
    const wei = gas * pricePerGas;
    const scale = 10n ** 36n;
    return (wei * wad * 10n ** BigInt(this.client.token.decimals) + scale - 1n) / scale;
  }

  // ------------------------------------------------------------ submit

  /** Plans and sends (or, dry, reports) liquidations of `candidates` not already in flight. */
  async submit(candidates: readonly Candidate[], ctx: ChainContext): Promise<{ sent: number; ids: number }> {
    const busy = this.busyIds(ctx.block);
    const ids = candidates.map((c) => c.id).filter((id) => !busy.has(id) && this.peers.ready(`liquidate:${id}`, ctx.block));
    if (ids.length === 0) {
      if (this.dryRun && this.#lastDryRun !== "") {
        this.#lastDryRun = "";
        this.#log.info("dryrun.nothing", { block: ctx.block });
      }
      return { sent: 0, ids: 0 };
    }
    if (!this.dryRun && this.#liquidationsInFlight >= this.#o.maxPendingTxs) {
      this.#log.debug("liquidation.waiting", { pending: this.#pending.length, candidates: ids.length });
      return { sent: 0, ids: 0 };
    }
    const fees = this.#fees(ctx.baseFeePerGas);
    if (!fees) {
      if (Date.now() - this.#lastCapWarning > 30_000) {
        this.#lastCapWarning = Date.now();
        this.#log.warn("fee.capped", {
          baseFeeGwei: Number(ctx.baseFeePerGas) / 1e9,
          capGwei: Number(this.#o.maxFeePerGas) / 1e9,
          holding: ids.length,
          action: "raise --max-fee-gwei to liquidate now",
        });
      }
      this.#metrics?.inc("keeper_failures_total", 1, { kind: "fee_cap" });
      return { sent: 0, ids: 0 };
    }
    const batches = await this.#plan(ids, ctx.block);
    if (this.dryRun) {
      const report = batches.map((b) => b.ids.join(",")).join(";");
      if (report !== this.#lastDryRun) {
        this.#lastDryRun = report;
        for (const b of batches) {
          this.#log.info("dryrun.wouldLiquidate", {
            block: ctx.block,
            count: Number(b.liquidated),
            ids: b.ids.map(String),
            reward: b.reward,
            gas: b.gas,
          });
        }
      }
      this.#metrics?.set("keeper_dry_run_would_liquidate", batches.reduce((s, b) => s + b.ids.length, 0));
      return { sent: 0, ids: 0 };
    }
    let sent = 0;
    let sentIds = 0;
    for (const b of batches) {
      if (this.#liquidationsInFlight >= this.#o.maxPendingTxs) break;
      const expectedPrice = ctx.baseFeePerGas + fees.maxPriorityFeePerGas;
      if (this.#minProfit !== null) {
        const cost = this.#gasCostInTokens(b.gas, expectedPrice, ctx);
        if (cost === null) {
          this.#log.warn("profit.unknown", { reason: "the native-coin price is not available (market feed invalid?)", ids: b.ids.length });
          continue;
        }
        if (b.reward - cost < this.#minProfit) {
          this.#log.info("liquidation.unprofitable", { ids: b.ids.length, reward: b.reward, gasCost: cost, minProfit: this.#minProfit });
          this.#metrics?.inc("keeper_skipped_total", b.ids.length, { reason: "unprofitable" });
          continue;
        }
      }
      const gasLimit = (b.gas * BigInt(this.#o.gasLimitPercent)) / 100n;
      const ok = await this.#send(b.ids, gasLimit, fees, ctx.block, b);
      if (ok) {
        sent++;
        sentIds += b.ids.length;
      }
    }
    return { sent, ids: sentIds };
  }

  async #sign(tx: TransactionRequest): Promise<{ raw: string; hash: string }> {
    const raw = await this.#signer!.signTransaction(tx);
    return { raw, hash: Transaction.from(raw).hash! };
  }

  async #send(
    ids: bigint[],
    gasLimit: bigint,
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
    block: number,
    plan: { liquidated: bigint; reward: bigint; gas: bigint },
  ): Promise<boolean> {
    if (this.#nonce < 0) await this.#syncNonce();
    const nonce = this.#nonce;
    const tx: TransactionRequest = {
      type: 2,
      chainId: this.client.chainId,
      nonce,
      to: this.client.engineAddress,
      data: this.#iface.encodeFunctionData("liquidateMany", [ids]),
      value: 0n,
      gasLimit,
      ...fees,
    };
    const { raw, hash } = await this.#sign(tx);
    const entry: PendingLiquidation = {
      nonce,
      ids: ids.map(String),
      txs: [{ hash, raw, kind: "liquidate", block, at: Date.now(), maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() }],
    };
    // Write-ahead: a restart finds this nonce and settles it instead of sending these ids again.
    this.#pending.push(entry);
    this.#nonce = nonce + 1;
    this.store.save();
    this.#onCheckpoint("recorded");
    const outcome = await this.#broadcast(raw, hash);
    this.#onCheckpoint("broadcast");
    if (outcome === "sent" || outcome === "unknown") {
      this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: "liquidate" });
      this.#log.info("liquidation.sent", {
        nonce,
        hash,
        ids: entry.ids,
        expected: Number(plan.liquidated),
        reward: plan.reward,
        gas: plan.gas,
        maxFeeGwei: Number(fees.maxFeePerGas) / 1e9,
        ...(outcome === "unknown" ? { note: "broadcast not confirmed by the node; will check" } : {}),
      });
      return true;
    }
    // Rejected: the nonce was not used by this transaction.
    this.#pending.splice(this.#pending.indexOf(entry), 1);
    this.store.save();
    this.#metrics?.inc("keeper_failures_total", 1, { kind: `send_${outcome}` });
    await this.#syncNonce();
    return false;
  }

  /**
   * Broadcasts a signed transaction. "sent": the node has it; "unknown": every RPC failed (it
   * may have gone out: the pending entry stays and is checked); otherwise the reason it was refused.
   */
  async #broadcast(raw: string, hash: string): Promise<"sent" | "unknown" | "nonce" | "funds" | "underpriced" | "rejected"> {
    try {
      await (this.provider as Provider & { send(method: string, params: unknown[]): Promise<unknown> }).send("eth_sendRawTransaction", [raw]);
      return "sent";
    } catch (e) {
      const text = errorText(e);
      if (/already known|known transaction|ALREADY_KNOWN/i.test(text)) return "sent";
      if (e instanceof RpcUnavailableError) {
        this.#log.warn("tx.broadcastUncertain", { hash, error: text });
        return "unknown";
      }
      if (/nonce too low|nonce has already been used|NONCE_EXPIRED|replacement.*underpriced|REPLACEMENT_UNDERPRICED/i.test(text)) {
        // A retried broadcast whose first attempt got through lands here too: is ours there?
        if (await this.#known(hash)) return "sent";
        const underpriced = /underpriced/i.test(text);
        this.#log.warn("tx.rejected", { hash, reason: underpriced ? "underpriced" : "nonce used", error: text });
        return underpriced ? "underpriced" : "nonce";
      }
      if (/insufficient funds|INSUFFICIENT_FUNDS/i.test(text)) {
        this.#log.error("tx.rejected", { hash, reason: "insufficient funds for gas", account: this.address, action: "fund the keeper account" });
        return "funds";
      }
      this.#log.error("tx.rejected", { hash, error: text });
      return "rejected";
    }
  }

  /** Whether a stuck execution would still go through (a revert means someone else did it, or it is no longer due). */
  async #stillExecutes(job: JobRecord): Promise<boolean> {
    try {
      await this.provider.call({ from: this.address, to: job.to, data: job.data });
      return true;
    } catch (e) {
      if (!isRevert(this.client.toError(e))) throw e;
      return false;
    }
  }

  async #known(hash: string): Promise<boolean> {
    const [tx, receipt] = await Promise.all([this.provider.getTransaction(hash), this.provider.getTransactionReceipt(hash)]);
    return tx !== null || receipt !== null;
  }

  // ------------------------------------------------------------ settle

  /** Checks every pending transaction: receipts, forgotten transactions, replacements. */
  async settle(ctx: ChainContext): Promise<{ mined: number; liquidated: bigint[] }> {
    if (this.dryRun || this.#pending.length === 0) return { mined: 0, liquidated: [] };
    const liquidated: bigint[] = [];
    let mined = 0;
    const latestNonce = await this.provider.getTransactionCount(this.address, "latest");
    for (const entry of [...this.#pending]) {
      const receipts = await Promise.all(entry.txs.map((t) => this.provider.getTransactionReceipt(t.hash)));
      const i = receipts.findIndex((r) => r !== null);
      if (i >= 0) {
        mined++;
        liquidated.push(...this.#onReceipt(entry, entry.txs[i]!, receipts[i]!));
        this.#pending.splice(this.#pending.indexOf(entry), 1);
        this.#orphans.delete(entry.nonce);
        this.store.save();
        continue;
      }
      if (latestNonce > entry.nonce) {
        // The nonce is used but no receipt of ours is visible (yet: a lagging node may show it later).
        const since = this.#orphans.get(entry.nonce) ?? ctx.block;
        this.#orphans.set(entry.nonce, since);
        if (ctx.block - since >= 3) {
          this.#log.warn("tx.dropped", { nonce: entry.nonce, hashes: entry.txs.map((t) => t.hash), reason: "nonce used by a transaction this keeper has no receipt for" });
          this.#pending.splice(this.#pending.indexOf(entry), 1);
          this.#orphans.delete(entry.nonce);
          this.#onStale(entry.ids.map(BigInt));
          if (entry.job) this.onJobSettled(entry.job, null, "dropped");
          this.store.save();
        }
        continue;
      }
      const last = entry.txs[entry.txs.length - 1]!;
      if (ctx.block - last.block >= this.#o.replaceAfterBlocks) {
        await this.#replace(entry, ctx);
      } else if (!(await this.#known(last.hash))) {
        // The node forgot it (restart, mempool eviction, a broadcast that never arrived): send again.
        this.#log.info("tx.rebroadcast", { nonce: entry.nonce, hash: last.hash });
        await this.#broadcast(last.raw, last.hash);
      }
    }
    this.#metrics?.set("keeper_pending_txs", this.#pending.length);
    return { mined, liquidated };
  }

  #onReceipt(entry: PendingLiquidation, tx: SentTx, receipt: TransactionReceipt): bigint[] {
    if (entry.job) {
      this.#metrics?.inc("keeper_txs_mined_total", 1, { status: receipt.status === 1 ? "success" : "reverted" });
      this.onJobSettled(entry.job, tx.kind === "cancel" ? null : receipt, tx.kind === "cancel" ? "cancelled" : "mined");
      return [];
    }
    const ours: PositionLiquidatedEvent[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.client.engineAddress.toLowerCase()) continue;
      const e = decodePositionEvent(log);
      if (e?.type === "PositionLiquidated" && e.keeper.toLowerCase() === this.address.toLowerCase()) ours.push(e);
    }
    const fields = {
      nonce: entry.nonce,
      hash: tx.hash,
      block: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      effectiveGasPriceGwei: Number(receipt.gasPrice) / 1e9,
    };
    this.#onStale(entry.ids.map(BigInt));
    if (receipt.status !== 1) {
      this.#metrics?.inc("keeper_txs_mined_total", 1, { status: "reverted" });
      this.#metrics?.inc("keeper_failures_total", 1, { kind: "tx_reverted" });
      this.#log.error("liquidation.reverted", { ...fields, ids: entry.ids.length });
      return [];
    }
    this.#metrics?.inc("keeper_txs_mined_total", 1, { status: "success" });
    if (tx.kind === "cancel") {
      this.#log.info("tx.cancelled", { ...fields, ids: entry.ids.length });
      return [];
    }
    const reward = ours.reduce((s, e) => s + e.keeperReward, 0n);
    for (const e of ours) this.store.state.liquidated[e.id.toString()] = receipt.blockNumber;
    this.#metrics?.inc("keeper_liquidations_total", ours.length);
    this.#metrics?.inc("keeper_rewards_total", Number(reward) / 10 ** this.client.token.decimals);
    this.#log.info("liquidation.mined", {
      ...fields,
      liquidated: ours.length,
      skipped: entry.ids.length - ours.length,
      reward,
      ids: ours.map((e) => e.id.toString()),
    });
    return ours.map((e) => e.id);
  }

  async #replace(entry: PendingLiquidation, ctx: ChainContext): Promise<void> {
    const last = entry.txs[entry.txs.length - 1]!;
    const bump = (x: bigint) => (x * BigInt(100 + this.#o.feeBumpPercent) + 99n) / 100n;
    const cap = this.#o.maxFeePerGas;
    const market = this.#fees(ctx.baseFeePerGas);
    const maxFee = minBig(maxBig(bump(BigInt(last.maxFeePerGas)), market?.maxFeePerGas ?? 0n), cap);
    let tip = minBig(maxBig(bump(BigInt(last.maxPriorityFeePerGas)), market?.maxPriorityFeePerGas ?? 0n), maxFee);
    if (maxFee <= BigInt(last.maxFeePerGas)) {
      if (Date.now() - this.#lastCapWarning > 30_000) {
        this.#lastCapWarning = Date.now();
        this.#log.warn("tx.stuck", { nonce: entry.nonce, hash: last.hash, capGwei: Number(cap) / 1e9, action: "at the fee cap: raise --max-fee-gwei" });
      }
      return;
    }
    if (tip > maxFee) tip = maxFee;
    const cancel = entry.job ? !(await this.#stillExecutes(entry.job)) : await this.#simulate(entry.ids.map(BigInt)).then((sim) => !sim.ok || sim.liquidated === 0n);
    const base = { type: 2, chainId: this.client.chainId, nonce: entry.nonce, value: 0n, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
    const request: TransactionRequest = cancel
      ? { ...base, to: this.address, data: "0x", gasLimit: 21_000n }
      : entry.job
        ? { ...base, to: entry.job.to, data: entry.job.data, gasLimit: Transaction.from(entry.txs[0]!.raw).gasLimit }
        : { ...base, to: this.client.engineAddress, data: this.#iface.encodeFunctionData("liquidateMany", [entry.ids.map(BigInt)]), gasLimit: Transaction.from(entry.txs[0]!.raw).gasLimit };
    const { raw, hash } = await this.#sign(request);
    entry.txs.push({ hash, raw, kind: cancel ? "cancel" : entry.job ? "job" : "liquidate", block: ctx.block, at: Date.now(), maxFeePerGas: maxFee.toString(), maxPriorityFeePerGas: tip.toString() });
    this.store.save();
    const outcome = await this.#broadcast(raw, hash);
    this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: cancel ? "cancel" : "replacement" });
    this.#log.info(cancel ? "tx.cancelling" : "tx.replaced", {
      nonce: entry.nonce,
      was: last.hash,
      hash,
      maxFeeGwei: Number(maxFee) / 1e9,
      tipGwei: Number(tip) / 1e9,
      outcome,
    });
    if (outcome !== "sent" && outcome !== "unknown") {
      // Not accepted: forget this attempt; the previous transaction still holds the nonce.
      entry.txs.pop();
      this.store.save();
    }
  }
}
