/**
 * The keeper loop: on every new block, sync the tracked positions (tracker), settle the
 * transactions in flight (executor), evaluate every position at the block (evaluator),
 * liquidate what is liquidatable (executor), then execute the requests and orders that are due
 * (requests.ts, orders.ts, through jobs.ts). A failed cycle is logged, counted and retried with
 * backoff; nothing short of `stop()` ends the loop.
 * @module
 */
import type { BulkheadClient } from "@bulkhead/sdk";
import { Evaluator, type Evaluation } from "./evaluator.js";
import { Executor, type ExecutorOptions, type TxSigner } from "./executor.js";
import { silentLogger, type Logger } from "./logger.js";
import { Metrics, type HealthReport } from "./metrics.js";
import { PositionTracker, type TrackerOptions } from "./tracker.js";
import { JobRunner, loadStreams, type JobContext } from "./jobs.js";
import { OrderKeeper } from "./orders.js";
import type { ReportSource } from "./reports.js";
import { RequestKeeper } from "./requests.js";
import type { JsonStore } from "./store.js";
import type { RpcStats } from "./rpc.js";

export interface KeeperOptions extends Omit<TrackerOptions, "logger">, Omit<ExecutorOptions, "logger" | "metrics" | "onStale"> {
  /** Milliseconds between polls for a new block (default 1,000). */
  pollIntervalMs?: number;
  /** Longest pause after failed cycles (default 30,000 ms). */
  maxBackoffMs?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Counters of the RPC transport, exported as metrics. */
  rpcStats?: RpcStats;
  /** Signed reports (the Data Streams API); null: requests execute only at push rounds, orders not at all. */
  reports?: ReportSource | null;
  /** Least top-up executor fee, token units (default 1). */
  minTopUpFee?: bigint;
  /** Blocks an execution whose simulation reverted waits (default 2). */
  retryBlocks?: number;
}

export interface CycleReport {
  block: number;
  tracked: number;
  candidates: number;
  sent: number;
  mined: number;
  evaluation: Evaluation;
  /** Requests and orders: due now, and executions sent this cycle. */
  executions: { due: number; sent: number; settled: number };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export class Keeper {
  readonly client: BulkheadClient;
  readonly store: JsonStore;
  readonly tracker: PositionTracker;
  readonly evaluator: Evaluator;
  readonly executor: Executor;
  readonly metrics: Metrics;
  readonly jobs: JobRunner;
  requests: RequestKeeper | null = null;
  orders: OrderKeeper | null = null;
  readonly #reports: ReportSource | null;
  readonly #options: KeeperOptions;
  readonly #log: Logger;
  readonly #pollMs: number;
  readonly #maxBackoffMs: number;
  readonly #rpcStats: RpcStats | undefined;
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  #lastBlock = -1;
  #lastCycleAt = 0;
  #lastError: string | null = null;
  #consecutiveFailures = 0;
  #lastEvaluation: Evaluation | null = null;
  /** Borrow index by market at the last evaluated block (guards' local quotes). */
  #indexes: bigint[] = [];
  #started = Date.now();

  constructor(client: BulkheadClient, signer: TxSigner | null, address: string, store: JsonStore, options: KeeperOptions = {}) {
    this.client = client;
    this.store = store;
    this.#log = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics();
    this.#pollMs = options.pollIntervalMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#rpcStats = options.rpcStats;
    this.tracker = new PositionTracker(client, store, { ...options, logger: this.#log });
    this.evaluator = new Evaluator(client, { logger: this.#log });
    this.executor = new Executor(client, signer, address, store, {
      ...options,
      logger: this.#log,
      metrics: this.metrics,
      onStale: (ids) => this.tracker.markDirty(ids),
    });
    this.#reports = options.reports ?? null;
    this.#options = options;
    this.jobs = new JobRunner(client, this.executor, { dryRun: options.dryRun, minTopUpFee: options.minTopUpFee, retryBlocks: options.retryBlocks, logger: this.#log, metrics: this.metrics });
    this.jobs.onSettled = (job) => {
      this.requests?.settled(job.key);
      this.orders?.settled(job.key);
    };
    const m = this.metrics;
    m.declare("keeper_requests_pending", "gauge", "Trade and LP requests tracked, not yet executed");
    m.declare("keeper_orders_pending", "gauge", "Trigger orders and top-up guards tracked, by kind");
    m.declare("keeper_positions_tracked", "gauge", "Open positions the keeper tracks");
    m.declare("keeper_positions_liquidatable", "gauge", "Tracked positions liquidatable at the last evaluated block");
    m.declare("keeper_liquidations_total", "counter", "Positions liquidated by this keeper");
    m.declare("keeper_failures_total", "counter", "Failures by kind (cycle, tx_reverted, send_*, simulation_revert, fee_cap)");
    m.declare("keeper_last_block", "gauge", "Last block evaluated");
    m.declare("keeper_checkpoint_block", "gauge", "Last confirmed block persisted in the store");
    m.declare("keeper_pending_txs", "gauge", "Liquidation transactions in flight");
    m.declare("keeper_reorgs_total", "counter", "Reorgs seen (tip or below the checkpoint)");
    m.declare("keeper_sequencer_up", "gauge", "1 when the L2 sequencer feed reports up (1 on chains without one)");
  }

  /** Recovers pending transactions and loads the markets; call before `run`. */
  async init(): Promise<void> {
    await this.executor.init();
    await this.evaluator.loadMarkets();
    const streams = await loadStreams(this.client);
    if (streams) {
      const logger = this.#log;
      this.requests = new RequestKeeper(this.client, this.store, this.jobs, this.#reports, streams, { logger });
      const book = await this.client.getOrderBook();
      if (book) {
        this.orders = new OrderKeeper(this.client, book, this.store, this.jobs, this.#reports, streams.feedIds, {
          logger,
          isOpen: (id) => this.tracker.has(id),
          viewOf: (id) => this.tracker.views.get(id),
          indexOf: (market) => this.#indexes[market] ?? null,
        });
      }
      if (!this.#reports) logger.warn("streams.off", { reason: "no report source configured", action: "pass --streams-url and set KEEPER_STREAMS_API_KEY / KEEPER_STREAMS_USER_SECRET to execute requests and orders; exits still execute at push rounds" });
    }
  }

  /** Applies new router, pool and book events, then executes what is due. */
  async #executions(ctx: JobContext): Promise<{ due: number; sent: number; settled: number }> {
    const settled = await this.jobs.drain(ctx);
    if (!this.requests) return { due: 0, sent: 0, settled };
    const jobs = this.store.state.jobs;
    // Re-read the last `confirmations` blocks: a shallow reorg may have moved events there.
    const from = Math.max(this.store.state.startBlock, jobs.scanned + 1 - (this.#options.confirmations ?? 2));
    const events = (await this.requests.applyEvents(from, ctx.block)) + ((await this.orders?.applyEvents(from, ctx.block)) ?? 0);
    jobs.scanned = ctx.block;
    const r = await this.requests.execute(ctx);
    const o = this.orders ? await this.orders.execute(ctx) : { due: 0, sent: 0, peaks: 0 };
    // Sends saved already (write-ahead); this saves what was learnt: records, peaks, the scan.
    if (events > 0 || o.peaks > 0 || settled > 0) this.store.save();
    return { due: r.due + o.due, sent: r.sent + o.sent, settled };
  }

  /** One cycle at the latest block (tests and the loop call it). */
  async cycle(): Promise<CycleReport> {
    const t0 = performance.now();
    const sync = await this.tracker.sync();
    const baseFeePerGas = sync.headBaseFeePerGas;
    const t1 = performance.now();
    const evaluation = await this.evaluator.evaluate(this.tracker.views.values(), sync.head, sync.headTimestamp);
    const ctx = { block: sync.head, baseFeePerGas, prices: evaluation.markets.map((m) => m.price) };
    this.#indexes = evaluation.markets.map((m) => m.index);
    const t2 = performance.now();
    const settled = await this.executor.settle(ctx);
    if (settled.liquidated.length > 0) this.tracker.markDirty(settled.liquidated);
    this.executor.pruneLiquidated(
      (id) => this.tracker.has(id),
      sync.head - this.tracker.confirmations - 2,
      (id) => this.tracker.views.has(id),
    );
    const t3 = performance.now();
    const sent = await this.executor.submit(evaluation.candidates, ctx);
    const t4 = performance.now();
    const executions = await this.#executions({ block: sync.head, timestamp: sync.headTimestamp, baseFeePerGas });
    const ms = { syncMs: Math.round(t1 - t0), evaluateMs: Math.round(t2 - t1), settleMs: Math.round(t3 - t2), submitMs: Math.round(t4 - t3), executeMs: Math.round(performance.now() - t4) };
    this.#lastEvaluation = evaluation;
    this.#lastBlock = sync.head;
    this.#lastCycleAt = Date.now();
    this.#updateMetrics(evaluation, sync.reorg);
    if (evaluation.candidates.length > 0 || sent.sent > 0 || settled.mined > 0 || executions.sent > 0) {
      this.#log.info("cycle", {
        block: sync.head,
        tracked: this.tracker.size,
        liquidatable: evaluation.candidates.length,
        blocked: evaluation.blocked,
        sent: sent.sent,
        mined: settled.mined,
        executionsDue: executions.due,
        executionsSent: executions.sent,
        pending: this.executor.pendingCount,
        ...ms,
      });
    } else {
      this.#log.debug("cycle", { block: sync.head, tracked: this.tracker.size, refreshed: sync.refreshed, mathMs: Math.round(evaluation.mathMs), ...ms });
    }
    return { block: sync.head, tracked: this.tracker.size, candidates: evaluation.candidates.length, sent: sent.sent, mined: settled.mined, evaluation, executions };
  }

  #updateMetrics(e: Evaluation, reorg: "none" | "tip" | "deep"): void {
    const m = this.metrics;
    m.set("keeper_positions_tracked", this.tracker.size);
    m.set("keeper_positions_liquidatable", e.candidates.length);
    m.set("keeper_last_block", e.block);
    m.set("keeper_checkpoint_block", this.tracker.checkpointBlock);
    m.set("keeper_pending_txs", this.executor.pendingCount);
    if (this.requests) {
      const r = this.requests.pending;
      m.set("keeper_requests_pending", r.requests, { kind: "trade" });
      m.set("keeper_requests_pending", r.lpRequests, { kind: "lp" });
    }
    if (this.orders) {
      const o = this.orders.pending;
      for (const kind of ["LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit", "TrailingStop"]) m.set("keeper_orders_pending", o.byKind[kind] ?? 0, { kind });
      m.set("keeper_orders_pending", o.guards, { kind: "TopUpGuard" });
    }
    m.set("keeper_evaluation_math_ms", e.mathMs, {}, "Milliseconds of local health math in the last cycle");
    m.set("keeper_evaluation_exact", e.exact + e.backstop, {}, "Positions whose health was computed exactly in the last cycle (price index candidates and backstop slice)");
    m.set("keeper_evaluation_index_misses", this.evaluator.mismatches, {}, "Liquidatable positions the backstop found that the price index missed (a bug if above 0)");
    if (reorg !== "none") m.inc("keeper_reorgs_total", 1, { depth: reorg });
    for (const mk of e.markets) {
      if (mk.delisted) continue; // no feed to watch
      const labels = { market: mk.id, symbol: mk.symbol };
      m.set("keeper_feed_staleness_seconds", mk.staleness ?? -1, labels, "Seconds since the market feed's last update (block time)");
      m.set("keeper_feed_valid", mk.price === null ? 0 : 1, labels, "1 when the market has a valid price");
    }
    if (this.executor.peers.size > 1) m.set("keeper_peer_waiting", this.executor.peers.waiting(e.block), {}, "Due jobs owned by a peer keeper that this one waits on (their grace has not run out)");
    m.set("keeper_sequencer_up", e.sequencer === null ? 1 : e.sequencer.up && !e.sequencer.inGrace ? 1 : 0);
    const streams = this.#reports?.requests;
    if (streams) {
      m.set("keeper_report_requests_total", streams.latest, { call: "latest" }, "Data Streams API requests by call");
      m.set("keeper_report_requests_total", streams.at, { call: "at" });
      m.set("keeper_report_failures_total", streams.failed, {}, "Data Streams API requests that failed (other than a missing report)");
    }
    if (this.#rpcStats) {
      for (const [method, n] of this.#rpcStats.requests) m.set("keeper_rpc_requests_total", n, { method }, "JSON-RPC requests by method");
      m.set("keeper_rpc_retries_total", this.#rpcStats.retries, {}, "JSON-RPC attempts retried");
      m.set("keeper_rpc_failovers_total", this.#rpcStats.failovers, {}, "Moves to another RPC URL");
      m.set("keeper_rpc_failures_total", this.#rpcStats.failures, {}, "Requests that failed on every URL");
    }
  }

  /** What `/health` says. */
  health(): HealthReport {
    const e = this.#lastEvaluation;
    const staleAfter = Math.max(30_000, this.#pollMs * 10);
    const ok = this.#lastCycleAt > 0 && Date.now() - this.#lastCycleAt < staleAfter;
    return {
      ok,
      status: this.#lastCycleAt === 0 ? "starting" : ok ? "ok" : "stalled",
      dryRun: this.executor.dryRun,
      account: this.executor.address,
      lastBlock: this.#lastBlock,
      checkpoint: this.tracker.checkpointBlock,
      positionsTracked: this.tracker.size,
      liquidatable: e?.candidates.length ?? 0,
      pendingTxs: this.executor.pendingCount,
      requestsPending: this.requests?.pending ?? null,
      ordersPending: this.orders ? { orders: this.orders.pending.orders, guards: this.orders.pending.guards } : null,
      executions: this.metrics.total("keeper_executions_total"),
      liquidations: this.metrics.total("keeper_liquidations_total"),
      failures: this.metrics.total("keeper_failures_total"),
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
      lastCycleAgoMs: this.#lastCycleAt === 0 ? null : Date.now() - this.#lastCycleAt,
      uptimeS: Math.round((Date.now() - this.#started) / 1000),
      feeds: (e?.markets ?? []).filter((m) => !m.delisted).map((m) => ({ market: m.id, symbol: m.symbol, valid: m.price !== null, error: m.priceError, stalenessS: m.staleness, heartbeatS: m.heartbeat })),
      sequencer: e?.sequencer ?? null,
    };
  }

  /** Runs cycles until `stop()`; resolves when the loop has ended. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let pause = this.#pollMs;
      try {
        const head = await this.client.provider.getBlockNumber();
        if (head !== this.#lastBlock || this.executor.pendingCount > 0) await this.cycle();
        if (this.#consecutiveFailures > 0) this.#log.info("cycle.recovered", { after: this.#consecutiveFailures });
        this.#consecutiveFailures = 0;
        this.#lastError = null;
      } catch (e) {
        if (signal.aborted) break;
        this.#consecutiveFailures++;
        this.#lastError = (e as Error)?.message ?? String(e);
        this.metrics.inc("keeper_failures_total", 1, { kind: "cycle" });
        pause = Math.min(this.#maxBackoffMs, this.#pollMs * 2 ** Math.min(this.#consecutiveFailures, 6));
        this.#log.error("cycle.failed", { error: this.#lastError, consecutive: this.#consecutiveFailures, retryInMs: pause });
      }
      await sleep(pause, signal);
    }
  }

  /** Ends the loop after the current cycle and saves the store and the records. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.store.save();
    this.tracker.saveRecords();
  }
}
