/**
 * The path every request and order execution takes (requests.ts, orders.ts): one in flight per
 * key, simulated first (a gas estimate is an eth_call that also reports a revert), sent only
 * when it pays, through the executor's write-ahead send (shared nonce, replacement, restart
 * recovery). What an execution pays the executor (ExecutionFeeLib.split): the gas it used at
 * min(gas price, fee / gasLimit), capped at the fee, so it covers the gas exactly when the
 * fee's quoted price reaches the gas price and the estimate at that price fits in the fee. A
 * top-up pays a token fee instead, worth sending when it reaches `minTopUpFee`.
 * @module
 */
import { Contract, type TransactionReceipt } from "ethers";
import { ContractRevertError, UnknownRevertError, bulkheadOracleAbi, bulkheadRouterAbi, type BulkheadClient } from "@bulkhead/sdk";
import type { Executor } from "./executor.js";
import { silentLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics.js";
import type { JobRecord } from "./store.js";

/** The chain at the cycle's block. */
export interface JobContext {
  block: number;
  timestamp: number;
  baseFeePerGas: bigint;
}

/** How an execution is paid: a native fee split by ExecutionFeeLib, or a token fee (top-ups). */
export type Pay = { fee: bigint; gasLimit: bigint } | { tokenFee: bigint };

/** "deferred": another peer keeper owns the job and its grace has not run out. */
export type RunOutcome = "sent" | "busy" | "deferred" | "unprofitable" | "reverted" | "capped" | "dry";

export interface JobRunnerOptions {
  dryRun?: boolean;
  /** Least executor fee of a top-up, token units, for it to be sent (default 1: any fee above 0). */
  minTopUpFee?: bigint;
  /** Blocks a key whose simulation reverted waits before it is simulated again (default 2). */
  retryBlocks?: number;
  /** Blocks an unprofitable key waits before it is priced again (default 10). */
  unprofitableRetryBlocks?: number;
  logger?: Logger;
  metrics?: Metrics;
}

/** ExecutionFeeLib.split's executor share for `gas` at `gasPrice`. */
export function executorPay(fee: bigint, gasLimit: bigint, gas: bigint, gasPrice: bigint): bigint {
  const quoted = gasLimit === 0n ? 0n : fee / gasLimit;
  const pay = gas * (gasPrice < quoted ? gasPrice : quoted);
  return pay > fee ? fee : pay;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the results in order. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

const isRevert = (e: unknown) => e instanceof ContractRevertError || e instanceof UnknownRevertError;

/** Reads the streams (feed ids) and request timing every execution module needs. */
export async function loadStreams(client: BulkheadClient): Promise<{ router: string; oracle: Contract; feedIds: string[]; pushFallbackDelay: number } | null> {
  const router = await client.getRequestRouter();
  if (!router) return null;
  const oracleAddress = (await new Contract(router, bulkheadRouterAbi as never, client.provider).getFunction("oracle")()) as string;
  const oracle = new Contract(oracleAddress, bulkheadOracleAbi as never, client.provider);
  const markets = await client.getMarkets();
  const feedIds = await Promise.all(markets.map(async (m) => String(((await oracle.getFunction("stream")(m.id)) as { feedId: string }).feedId).toLowerCase()));
  const timing = (await oracle.getFunction("timing")()) as { pushFallbackDelay: bigint };
  return { router, oracle, feedIds, pushFallbackDelay: Number(timing.pushFallbackDelay) };
}

export class JobRunner {
  readonly client: BulkheadClient;
  readonly executor: Executor;
  readonly metrics: Metrics;
  readonly #log: Logger;
  readonly #dryRun: boolean;
  readonly #minTopUpFee: bigint;
  readonly #retryBlocks: number;
  readonly #unprofitableRetryBlocks: number;
  /** Key -> block until which it is not simulated again. */
  readonly #setAside = new Map<string, number>();
  /** Keys already logged and counted as unprofitable (once each). */
  readonly #unprofitable = new Set<string>();
  readonly #wouldExecute = new Set<string>();
  /** Sends one at a time (nonces are taken in order); simulations run concurrently. */
  #sending: Promise<unknown> = Promise.resolve();
  readonly #settled: { job: JobRecord; receipt: TransactionReceipt | null; how: string }[] = [];
  /** Called for every settled execution, after the metrics (the trackers re-read what it touched). */
  onSettled: (job: JobRecord, ok: boolean) => void = () => {};

  constructor(client: BulkheadClient, executor: Executor, options: JobRunnerOptions = {}) {
    this.client = client;
    this.executor = executor;
    this.#dryRun = options.dryRun ?? false;
    this.#minTopUpFee = options.minTopUpFee ?? 1n;
    this.#retryBlocks = options.retryBlocks ?? 2;
    this.#unprofitableRetryBlocks = options.unprofitableRetryBlocks ?? 10;
    this.#log = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics();
    executor.onJobSettled = (job, receipt, how) => this.#settled.push({ job, receipt, how });
    const m = this.metrics;
    m.declare("keeper_executions_total", "counter", "Requests and orders this keeper executed (mined, status 1), by kind");
    m.declare("keeper_execution_failures_total", "counter", "Executions that failed, by kind and reason (simulation, reverted, dropped)");
    m.declare("keeper_execution_latency_seconds_sum", "counter", "Sum over executions of report observation to inclusion, seconds");
    m.declare("keeper_execution_latency_seconds_count", "counter", "Executions in the latency sum");
  }

  /** Whether `key` may be simulated now (not in flight, not set aside). */
  idle(key: string, block: number): boolean {
    if (this.executor.busyJobs().has(key)) return false;
    const until = this.#setAside.get(key);
    if (until !== undefined && until > block) return false;
    return true;
  }

  /** In flight (an unsettled transaction of ours). */
  inFlight(key: string): boolean {
    return this.executor.busyJobs().has(key);
  }

  /** Simulates `job`, checks it pays, and sends it. */
  async run(job: Omit<JobRecord, "expectedPay">, pay: Pay, ctx: JobContext): Promise<RunOutcome> {
    if (!this.idle(job.key, ctx.block)) return "busy";
    if (!this.executor.peers.ready(job.key, ctx.block)) return "deferred";
    const fees = this.executor.feesAt(ctx.baseFeePerGas);
    if (!fees) {
      this.metrics.inc("keeper_failures_total", 1, { kind: "fee_cap" });
      return "capped";
    }
    let gas: bigint;
    try {
      gas = await this.client.provider.estimateGas({ from: this.executor.address, to: job.to, data: job.data });
    } catch (e) {
      const err = this.client.toError(e);
      if (!isRevert(err)) throw err;
      this.#setAside.set(job.key, ctx.block + this.#retryBlocks);
      this.metrics.inc("keeper_execution_failures_total", 1, { kind: job.kind, reason: "simulation" });
      this.#log.debug("execution.simulationReverted", { key: job.key, kind: job.kind, error: (err as Error).message });
      return "reverted";
    }
    const gasPrice = ctx.baseFeePerGas + fees.maxPriorityFeePerGas;
    let expected: bigint;
    let pays: boolean;
    if ("tokenFee" in pay) {
      expected = pay.tokenFee;
      pays = pay.tokenFee >= this.#minTopUpFee;
    } else {
      expected = executorPay(pay.fee, pay.gasLimit, gas, gasPrice);
      pays = expected >= gas * gasPrice;
    }
    if (!pays) {
      if (!this.#unprofitable.has(job.key)) {
        this.#unprofitable.add(job.key);
        this.metrics.inc("keeper_skipped_total", 1, { reason: "unprofitable", kind: job.kind });
        this.#log.info("execution.unprofitable", {
          key: job.key,
          kind: job.kind,
          ...("tokenFee" in pay ? { tokenFee: pay.tokenFee, minTopUpFee: this.#minTopUpFee } : { fee: pay.fee, gasLimit: pay.gasLimit, gas, gasPriceGwei: Number(gasPrice) / 1e9, pay: expected, cost: gas * gasPrice }),
        });
      }
      this.#setAside.set(job.key, ctx.block + this.#unprofitableRetryBlocks);
      return "unprofitable";
    }
    this.#unprofitable.delete(job.key);
    if (this.#dryRun) {
      // Logged once per key; checked again a few blocks later (it may have been done by then).
      if (!this.#wouldExecute.has(job.key)) this.#log.info("dryrun.wouldExecute", { key: job.key, kind: job.kind, gas, expectedPay: expected });
      this.#wouldExecute.add(job.key);
      this.#setAside.set(job.key, ctx.block + this.#unprofitableRetryBlocks);
      this.metrics.set("keeper_dry_run_would_execute", this.#wouldExecute.size, {}, "Executions a dry run would have sent (distinct requests and orders)");
      return "dry";
    }
    const send = () => this.executor.sendJob({ ...job, expectedPay: expected.toString() }, this.executor.gasLimitFor(gas), fees, ctx.block);
    const sending = this.#sending.then(send, send);
    this.#sending = sending.catch(() => {});
    return (await sending) ? "sent" : "busy";
  }

  /** Turns the settled executions into metrics and logs (needs the inclusion block's time). */
  async drain(ctx: JobContext): Promise<number> {
    const done = this.#settled.splice(0);
    for (const { job, receipt, how } of done) {
      const ok = receipt !== null && receipt.status === 1;
      if (ok) {
        this.metrics.inc("keeper_executions_total", 1, { kind: job.kind });
        const fields: Record<string, unknown> = { key: job.key, kind: job.kind, hash: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed };
        if (job.reportAt !== null) {
          const block = await this.client.provider.getBlock(receipt.blockNumber);
          const latency = (block?.timestamp ?? ctx.timestamp) - job.reportAt;
          this.metrics.inc("keeper_execution_latency_seconds_sum", latency, { kind: job.kind });
          this.metrics.inc("keeper_execution_latency_seconds_count", 1, { kind: job.kind });
          this.metrics.set("keeper_execution_latency_seconds_last", latency, { kind: job.kind }, "Report observation to inclusion of the last execution, seconds");
          fields.latencyS = latency;
        }
        this.#log.info("execution.mined", fields);
      } else {
        const reason = how === "mined" ? "reverted" : how;
        this.metrics.inc("keeper_execution_failures_total", 1, { kind: job.kind, reason });
        // A revert here is usually another keeper first in the same block: nothing to retry.
        this.#log.warn(`execution.${reason}`, { key: job.key, kind: job.kind, hash: receipt?.hash ?? null });
        this.#setAside.set(job.key, ctx.block + this.#retryBlocks);
      }
      this.onSettled(job, ok);
    }
    return done.length;
  }
}
