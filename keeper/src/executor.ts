/**
 * Sends liquidations and executions and sees them through, from three parts:
 * - planner.ts: candidates (largest reward first) into simulated, pruned, gas-bounded
 *   `liquidateMany` batches, a reverting id set aside;
 * - profit.ts: with a floor, a batch is sent only if its simulated reward minus its expected gas
 *   cost (converted at a native-coin price) reaches `minProfit`;
 * - sender.ts: EIP-1559 fees under a cap, the local nonce, write-ahead sends, receipts,
 *   replacement of stuck transactions (or their cancellation when nothing in them would still
 *   go through).
 * This module picks what to send (peers' jobs wait their grace, in-flight ids and set-aside ids
 * are skipped), reads the receipts' `PositionLiquidated` events, and hands executions (requests
 * and orders, jobs.ts) their settlement.
 * @module
 */
import type { Provider, TransactionReceipt } from "ethers";
import { ContractRevertError, UnknownRevertError, decodePositionEvent, type BulkheadClient, type PositionLiquidatedEvent } from "@bulkhead/sdk";
import type { Candidate } from "./evaluator.js";
import { silentLogger, type Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { PeerSchedule } from "./peers.js";
import { LiquidationPlanner } from "./planner.js";
import { batchPays, type NativePrice } from "./profit.js";
import { TxSender, type Fees, type SettleHandler, type TxSigner } from "./sender.js";
import type { JobRecord, JsonStore, PendingLiquidation, SentTx } from "./store.js";

export type { NativePrice } from "./profit.js";
export type { TxSigner } from "./sender.js";

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

const isRevert = (e: unknown) => e instanceof ContractRevertError || e instanceof UnknownRevertError;

export class Executor {
  readonly client: BulkheadClient;
  readonly provider: Provider;
  readonly address: string;
  readonly store: JsonStore;
  readonly dryRun: boolean;
  /** Who tries which job first (liquidations here, requests and orders in jobs.ts). */
  readonly peers: PeerSchedule;
  onJobSettled: NonNullable<ExecutorOptions["onJobSettled"]>;
  readonly #sender: TxSender;
  readonly #planner: LiquidationPlanner;
  readonly #maxPendingTxs: number;
  readonly #minProfit: bigint | null;
  readonly #nativePrice: NativePrice | null;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #onStale: (ids: bigint[]) => void;
  /** Last dry-run report, to log only changes. */
  #lastDryRun = "";

  constructor(client: BulkheadClient, signer: TxSigner | null, address: string, store: JsonStore, options: ExecutorOptions = {}) {
    this.client = client;
    this.provider = client.provider;
    this.address = address;
    this.store = store;
    this.dryRun = options.dryRun ?? false;
    if (!this.dryRun && !signer) throw new Error("the executor needs a signer unless it runs dry");
    this.#log = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#onStale = options.onStale ?? (() => {});
    this.#sender = new TxSender(client, signer, address, store, {
      maxFeePerGas: options.maxFeePerGas,
      priorityFeePerGas: options.priorityFeePerGas,
      feeBumpPercent: options.feeBumpPercent,
      replaceAfterBlocks: options.replaceAfterBlocks,
      gasLimitPercent: options.gasLimitPercent,
      logger: this.#log,
      metrics: this.#metrics,
      onCheckpoint: options.onCheckpoint,
    });
    this.#planner = new LiquidationPlanner(client, address, {
      maxBatchSize: options.maxBatchSize,
      maxBatchGas: options.maxBatchGas,
      quarantineBlocks: options.quarantineBlocks,
      logger: this.#log,
      metrics: this.#metrics,
      onStale: this.#onStale,
    });
    this.#maxPendingTxs = options.maxPendingTxs ?? 4;
    this.#minProfit = options.minProfit ?? null;
    this.#nativePrice = options.nativePrice ?? null;
    this.onJobSettled = options.onJobSettled ?? (() => {});
    this.peers = options.peers?.length ? new PeerSchedule({ peers: options.peers, self: address, graceBlocks: options.peerGraceBlocks }) : PeerSchedule.solo(address);
  }

  // ------------------------------------------------------------ state

  get #pending(): PendingLiquidation[] {
    return this.#sender.pending;
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
    this.#planner.addSetAside(out, block);
    return out;
  }

  /** Synchronises the nonce with the node and the store (call once before the first cycle). */
  async init(): Promise<void> {
    if (this.dryRun) return;
    await this.#sender.init();
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

  // ------------------------------------------------------------ fees

  /** The fees a transaction sent now gets, or null above the cap. */
  feesAt(baseFee: bigint): Fees | null {
    return this.#sender.feesAt(baseFee);
  }

  /** The gas limit a transaction with this estimate gets. */
  gasLimitFor(estimate: bigint): bigint {
    return this.#sender.gasLimitFor(estimate);
  }

  // ------------------------------------------------------------ submit

  /**
   * Signs, records (write-ahead) and broadcasts one execution. Returns false when the node
   * refused it (the record is dropped; nothing was sent) or another transaction for the key is
   * in flight.
   */
  async sendJob(job: JobRecord, gasLimit: bigint, fees: Fees, block: number): Promise<boolean> {
    if (this.dryRun) return false;
    if (this.busyJobs().has(job.key)) return false;
    const r = await this.#sender.send({ to: job.to, data: job.data, gasLimit, fees, block, ids: [], job });
    if (!r.ok) return false;
    this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: job.kind });
    this.#log.info("execution.sent", { key: job.key, kind: job.kind, nonce: r.nonce, hash: r.hash, expectedPay: job.expectedPay, maxFeeGwei: Number(fees.maxFeePerGas) / 1e9 });
    return true;
  }

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
    if (!this.dryRun && this.#liquidationsInFlight >= this.#maxPendingTxs) {
      this.#log.debug("liquidation.waiting", { pending: this.#pending.length, candidates: ids.length });
      return { sent: 0, ids: 0 };
    }
    const fees = this.feesAt(ctx.baseFeePerGas);
    if (!fees) {
      if (this.#sender.capWarningDue()) {
        this.#log.warn("fee.capped", {
          baseFeeGwei: Number(ctx.baseFeePerGas) / 1e9,
          capGwei: Number(this.#sender.maxFeePerGas) / 1e9,
          holding: ids.length,
          action: "raise --max-fee-gwei to liquidate now",
        });
      }
      this.#metrics?.inc("keeper_failures_total", 1, { kind: "fee_cap" });
      return { sent: 0, ids: 0 };
    }
    const batches = await this.#planner.plan(ids, ctx.block);
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
      if (this.#liquidationsInFlight >= this.#maxPendingTxs) break;
      const expectedPrice = ctx.baseFeePerGas + fees.maxPriorityFeePerGas;
      const verdict = batchPays(b.reward, b.gas, expectedPrice, this.#minProfit, this.#nativePrice, ctx.prices, this.client.token.decimals);
      if (!verdict.pays) {
        if (verdict.cost === null) {
          this.#log.warn("profit.unknown", { reason: "the native-coin price is not available (market feed invalid?)", ids: b.ids.length });
        } else {
          this.#log.info("liquidation.unprofitable", { ids: b.ids.length, reward: b.reward, gasCost: verdict.cost, minProfit: this.#minProfit });
          this.#metrics?.inc("keeper_skipped_total", b.ids.length, { reason: "unprofitable" });
        }
        continue;
      }
      const r = await this.#sender.send({ to: this.client.engineAddress, data: this.#planner.encode(b.ids), gasLimit: this.gasLimitFor(b.gas), fees, block: ctx.block, ids: b.ids.map(String) });
      if (!r.ok) continue;
      this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: "liquidate" });
      this.#log.info("liquidation.sent", {
        nonce: r.nonce,
        hash: r.hash,
        ids: b.ids.map(String),
        expected: Number(b.liquidated),
        reward: b.reward,
        gas: b.gas,
        maxFeeGwei: Number(fees.maxFeePerGas) / 1e9,
        ...(r.outcome === "unknown" ? { note: "broadcast not confirmed by the node; will check" } : {}),
      });
      sent++;
      sentIds += b.ids.length;
    }
    return { sent, ids: sentIds };
  }

  // ------------------------------------------------------------ settle

  /** Checks every pending transaction: receipts, forgotten transactions, replacements. */
  async settle(ctx: ChainContext): Promise<{ mined: number; liquidated: bigint[] }> {
    if (this.dryRun || this.#pending.length === 0) return { mined: 0, liquidated: [] };
    const liquidated: bigint[] = [];
    const handler: SettleHandler = {
      mined: (entry, tx, receipt) => liquidated.push(...this.#onReceipt(entry, tx, receipt)),
      dropped: (entry) => {
        this.#onStale(entry.ids.map(BigInt));
        if (entry.job) this.onJobSettled(entry.job, null, "dropped");
      },
      stillWorth: (entry) => (entry.job ? this.#stillExecutes(entry.job) : this.#planner.simulate(entry.ids.map(BigInt)).then((sim) => sim.ok && sim.liquidated > 0n)),
    };
    const mined = await this.#sender.settle(ctx, handler);
    this.#metrics?.set("keeper_pending_txs", this.#pending.length);
    return { mined, liquidated };
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
}
