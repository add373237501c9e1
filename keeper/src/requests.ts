/**
 * Two-step requests: router trade requests and the pool's LP requests, tracked from their
 * events (SDK `getRequestEvents`, `getLpRequestEvents`), persisted in the store, and executed
 * once their settlement second has passed:
 * - a trade request with the report at its `settlesAt` (the report it pins), fetched with the
 *   client's report-at-timestamp call; an exit with no such report past its push-fallback time
 *   at the first push round after its creation (`executeAtPushRound`);
 * - an LP request with one report per market with open interest, each at its `settlesAt`
 *   ("0x" for the others), as `executeDeposit`/`executeRedeem` take them; a redemption with no
 *   such report past its push-fallback time at each market's first push round after its
 *   creation (`executeRedeemAtPushRounds`).
 * Expired requests are dropped (their owner cancels). Each execution goes through the runner
 * (simulated, paid, write-ahead, one in flight per request).
 * @module
 */
import { Contract, Interface } from "ethers";
import { bulkheadPoolAbi, bulkheadRouterInterface, type BulkheadClient } from "@bulkhead/sdk";
import { mapConcurrently, type JobContext, type JobRunner } from "./jobs.js";
import { silentLogger, type Logger } from "./logger.js";
import type { ReportSource } from "./reports.js";
import type { JsonStore, TrackedLpRequest, TrackedRequest } from "./store.js";

/** Requests simulated at once. */
const CONCURRENCY = 16;

export interface RequestKeeperOptions {
  logger?: Logger;
}

export interface RequestSetup {
  router: string;
  feedIds: readonly string[];
  pushFallbackDelay: number;
}

export class RequestKeeper {
  readonly client: BulkheadClient;
  readonly #store: JsonStore;
  readonly #runner: JobRunner;
  readonly #reports: ReportSource | null;
  readonly #setup: RequestSetup;
  readonly #log: Logger;
  readonly #router = bulkheadRouterInterface();
  readonly #pool = new Interface(bulkheadPoolAbi as never);
  #lpAsync: boolean | null = null;
  readonly #lpGas = new Map<string, bigint>();
  /** Ids whose record must be (re-)read from the chain. */
  readonly #dirty = new Set<string>();
  readonly #dirtyLp = new Set<string>();

  constructor(client: BulkheadClient, store: JsonStore, runner: JobRunner, reports: ReportSource | null, setup: RequestSetup, options: RequestKeeperOptions = {}) {
    this.client = client;
    this.#store = store;
    this.#runner = runner;
    this.#reports = reports;
    this.#setup = setup;
    this.#log = options.logger ?? silentLogger;
  }

  get #requests(): Record<string, TrackedRequest> {
    return this.#store.state.jobs.requests;
  }

  get #lp(): Record<string, TrackedLpRequest> {
    return this.#store.state.jobs.lpRequests;
  }

  get pending(): { requests: number; lpRequests: number } {
    return { requests: Object.keys(this.#requests).length, lpRequests: Object.keys(this.#lp).length };
  }

  /** Applies router and pool events of blocks `from..to` (replayed ranges are harmless: every record is re-read). */
  async applyEvents(from: number, to: number): Promise<number> {
    if (from > to) return 0;
    const events = await this.client.getRequestEvents({ fromBlock: from, toBlock: to });
    for (const e of events) {
      const id = e.requestId.toString();
      if (e.type === "RequestCreated") this.#dirty.add(id);
      else {
        this.#dirty.delete(id);
        delete this.#requests[id];
      }
    }
    this.#lpAsync ??= await this.client.isPoolAsync();
    if (!this.#lpAsync) return events.length;
    const lpEvents = await this.client.getLpRequestEvents({ fromBlock: from, toBlock: to });
    for (const e of lpEvents) {
      const id = e.requestId.toString();
      if (e.type === "LpRequestCreated") this.#dirtyLp.add(id);
      else {
        this.#dirtyLp.delete(id);
        delete this.#lp[id];
      }
    }
    return events.length + lpEvents.length;
  }

  /** Reads the records of new requests (null: gone, executed or cancelled since). */
  async #refresh(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    const views: Awaited<ReturnType<BulkheadClient["getRequest"]>>[] = [];
    for (let i = 0; i < ids.length; i += 100) views.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => this.client.getRequest(BigInt(id))))));
    ids.forEach((id, i) => {
      const v = views[i];
      if (!v) {
        delete this.#requests[id];
        return;
      }
      this.#requests[id] = {
        market: v.marketId,
        kind: v.kind,
        createdAt: v.createdAt,
        settlesAt: v.settlesAt,
        expiresAt: v.expiresAt,
        pushFallbackAt: v.pushFallbackAt,
        fee: v.executionFee.toString(),
        gasLimit: v.gasLimit,
      };
    });
    const lpIds = [...this.#dirtyLp];
    this.#dirtyLp.clear();
    const lps = await Promise.all(lpIds.map((id) => this.client.getLpRequest(BigInt(id))));
    lpIds.forEach((id, i) => {
      const v = lps[i];
      if (!v || v.claimable) {
        delete this.#lp[id];
        return;
      }
      this.#lp[id] = { kind: v.kind, createdAt: v.createdAt, settlesAt: v.settlesAt, expiresAt: v.expiresAt, fee: v.executionFee.toString() };
    });
  }

  /** Forgets a request whose execution of ours was mined (its event, read later, agrees). */
  settled(key: string): void {
    const [what, id] = key.split(":");
    if (what === "request") delete this.#requests[id!];
    if (what === "lp") delete this.#lp[id!];
  }

  /** Executes every request whose settlement second has passed. */
  async execute(ctx: JobContext): Promise<{ sent: number; due: number }> {
    await this.#refresh();
    let due = 0;
    const ready: [string, TrackedRequest][] = [];
    for (const [id, r] of Object.entries(this.#requests)) {
      if (ctx.timestamp > r.expiresAt) {
        this.#log.info("request.expired", { id, kind: r.kind, expiresAt: r.expiresAt });
        delete this.#requests[id];
        continue;
      }
      if (ctx.timestamp < r.settlesAt) continue;
      due++;
      if (this.#runner.idle(`request:${id}`, ctx.block)) ready.push([id, r]);
    }
    const done = await mapConcurrently(ready, CONCURRENCY, ([id, r]) => this.#executeRequest(BigInt(id), r, ctx));
    let sent = done.filter((r) => r === "sent").length;
    for (const [id, r] of Object.entries(this.#lp)) {
      if (ctx.timestamp > r.expiresAt) {
        this.#log.info("lpRequest.expired", { id, kind: r.kind, expiresAt: r.expiresAt });
        delete this.#lp[id];
        continue;
      }
      if (ctx.timestamp < r.settlesAt) continue;
      due++;
      if (!this.#runner.idle(`lp:${id}`, ctx.block)) continue;
      if ((await this.#executeLp(BigInt(id), r, ctx)) === "sent") sent++;
    }
    return { sent, due };
  }

  async #report(market: number, at: number) {
    if (!this.#reports) return null;
    const feed = this.#setup.feedIds[market];
    if (!feed) return null;
    try {
      return await this.#reports.at(feed, at);
    } catch (e) {
      this.#log.warn("report.unavailable", { market, at, error: (e as Error).message });
      return null;
    }
  }

  async #executeRequest(id: bigint, r: TrackedRequest, ctx: JobContext) {
    const key = `request:${id}`;
    const pay = { fee: BigInt(r.fee), gasLimit: BigInt(r.gasLimit) };
    const report = await this.#report(r.market, r.settlesAt);
    if (report) {
      const data = this.#router.encodeFunctionData("execute", [id, report.fullReport]);
      return this.#runner.run({ key, kind: "request", to: this.#setup.router, data, reportAt: report.observedAt }, pay, ctx);
    }
    if (r.pushFallbackAt !== null && ctx.timestamp >= r.pushFallbackAt) {
      let roundId: bigint;
      try {
        roundId = await this.#firstRoundAfter(r.market, r.createdAt);
      } catch (e) {
        this.#log.debug("request.noPushRound", { id, error: (e as Error).message });
        return "busy";
      }
      const data = this.#router.encodeFunctionData("executeAtPushRound", [id, roundId]);
      this.#log.info("request.pushFallback", { id, kind: r.kind, market: r.market, roundId, reason: "no report at its settlement second" });
      return this.#runner.run({ key, kind: "pushRound", to: this.#setup.router, data, reportAt: null }, pay, ctx);
    }
    return "busy";
  }

  /** The first push-feed round updated after `createdAt` (what `executeAtPushRound` takes), walking back from the latest. */
  async #firstRoundAfter(market: number, createdAt: number): Promise<bigint> {
    const info = await this.client.getMarket(market);
    const feed = new Contract(info.feed, ["function latestRoundData() view returns (uint80,int256,uint256,uint256,uint80)", "function getRoundData(uint80) view returns (uint80,int256,uint256,uint256,uint80)"], this.client.provider);
    let [roundId, , , updatedAt] = (await feed.getFunction("latestRoundData")()) as bigint[];
    if (Number(updatedAt) <= createdAt) throw new Error(`market ${market}'s push feed has no round since the request`);
    for (;;) {
      const previous = roundId! - 1n;
      if ((previous & 0xffff_ffff_ffff_ffffn) === 0n) return roundId!;
      const prev = (await feed.getFunction("getRoundData")(previous)) as bigint[];
      if (Number(prev[3]) <= createdAt) return roundId!;
      roundId = previous;
    }
  }

  async #executeLp(id: bigint, r: TrackedLpRequest, ctx: JobContext) {
    const markets = await this.client.lpReportMarkets();
    const reports: string[] = this.#setup.feedIds.map(() => "0x");
    let reportAt: number | null = null;
    let missing = false;
    for (const m of markets) {
      const report = await this.#report(m, r.settlesAt);
      if (!report) {
        missing = true;
        break;
      }
      reports[m] = report.fullReport;
      reportAt = report.observedAt;
    }
    let gasLimit = this.#lpGas.get(r.kind);
    if (gasLimit === undefined) {
      gasLimit = (await this.client.quoteLpExecutionFee(r.kind, 1n)).gasLimit;
      this.#lpGas.set(r.kind, gasLimit);
    }
    const pay = { fee: BigInt(r.fee), gasLimit };
    if (!missing) {
      const data = this.#pool.encodeFunctionData(r.kind === "Deposit" ? "executeDeposit" : "executeRedeem", [id, reports]);
      return this.#runner.run({ key: `lp:${id}`, kind: "lp", to: this.client.poolAddress, data, reportAt }, pay, ctx);
    }
    if (r.kind !== "Redeem" || ctx.timestamp < r.createdAt + this.#setup.pushFallbackDelay) return "busy";
    const roundIds: bigint[] = this.#setup.feedIds.map(() => 0n);
    try {
      for (const m of markets) roundIds[m] = await this.#firstRoundAfter(m, r.createdAt);
    } catch (e) {
      this.#log.debug("lpRequest.noPushRound", { id, error: (e as Error).message });
      return "busy";
    }
    this.#log.info("lpRequest.pushFallback", { id, kind: r.kind, roundIds, reason: "no report at its settlement second" });
    const data = this.#pool.encodeFunctionData("executeRedeemAtPushRounds", [id, roundIds]);
    return this.#runner.run({ key: `lp:${id}`, kind: "pushRound", to: this.client.poolAddress, data, reportAt: null }, pay, ctx);
  }
}
