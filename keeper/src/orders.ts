/**
 * Trigger orders and top-up guards of the order book, tracked from its events (SDK
 * `getOrderEvents`), persisted in the store, indexed by the price at which they become due
 * (triggers.ts), and executed with the latest report of their market:
 * - limit, stop-loss and take-profit orders when the report crosses their trigger (the SDK's
 *   `quoteOrderFill` rule; a fill past the acceptable price is not sent);
 * - trailing stops with two reports: the best (peak) report observed after placement among the
 *   reports this keeper fetched, kept per order, and the latest once it is `trail` past it;
 * - top-up guards while `quoteTopUp` says the top-up executes (due and saves), paid in tokens,
 *   indexed by their due price from the tracker's position views (guards.ts);
 * - dead orders (expired, or their position closed) are pruned when the fee pays the gas.
 * @module
 */
import { Contract } from "ethers";
import {
  OrderLogic,
  bulkheadOrderBookAbi,
  bulkheadOrderBookInterface,
  quoteOrderFill,
  type BulkheadClient,
  type OrderKindName,
  type PositionView,
} from "@bulkhead/sdk";
import { GuardWatch } from "./guards.js";
import { mapConcurrently, type JobContext, type JobRunner } from "./jobs.js";
import { silentLogger, type Logger } from "./logger.js";
import type { Report, ReportSource } from "./reports.js";
import type { JsonStore, TrackedGuard, TrackedOrder } from "./store.js";
import { TriggerIndex, triggerOf } from "./triggers.js";

export interface OrderKeeperOptions {
  logger?: Logger;
  /** Whether a position is open (the position tracker's view); a closed position's orders are pruned. */
  isOpen?: (positionId: bigint) => boolean;
  /** The tracker's view of a position; with it, guards are indexed by due price and quoted locally (else one quote read per guard and report). */
  viewOf?: (positionId: bigint) => PositionView | undefined;
  /** A market's current borrow index (the evaluator's), null when unknown. */
  indexOf?: (market: number) => bigint | null;
}

export interface OrderCycle {
  due: number;
  sent: number;
  reports: number;
  /** Trailing-stop peaks that moved (the store must be saved). */
  peaks: number;
}

/** Executions simulated at once. */
const CONCURRENCY = 16;

const better = (isLong: boolean, price: bigint, than: bigint) => (isLong ? price > than : price < than);

export class OrderKeeper {
  readonly client: BulkheadClient;
  readonly book: string;
  readonly index = new TriggerIndex();
  readonly #store: JsonStore;
  readonly #runner: JobRunner;
  readonly #reports: ReportSource | null;
  readonly #feedIds: readonly string[];
  readonly #log: Logger;
  readonly #isOpen: (positionId: bigint) => boolean;
  readonly #viewOf: ((positionId: bigint) => PositionView | undefined) | null;
  readonly #indexOf: (market: number) => bigint | null;
  readonly guards: GuardWatch;
  readonly #iface = bulkheadOrderBookInterface();
  readonly #gas = new Map<string, bigint>();
  readonly #dirty = new Set<string>();
  /** Ids of the trailing stops (their peaks move with every report). */
  readonly #trailing = new Set<string>();
  readonly #dirtyGuards = new Set<string>();
  #maxReportAge: number | null = null;
  /** Market -> observation time of the last report its guards were quoted at. */
  readonly #guardsQuotedAt = new Map<number, number>();

  constructor(client: BulkheadClient, book: string, store: JsonStore, runner: JobRunner, reports: ReportSource | null, feedIds: readonly string[], options: OrderKeeperOptions = {}) {
    this.client = client;
    this.book = book;
    this.#store = store;
    this.#runner = runner;
    this.#reports = reports;
    this.#feedIds = feedIds;
    this.#log = options.logger ?? silentLogger;
    this.#isOpen = options.isOpen ?? (() => true);
    this.#viewOf = options.viewOf ?? null;
    this.#indexOf = options.indexOf ?? (() => null);
    this.guards = new GuardWatch(client.unit);
    for (const [id, o] of Object.entries(this.#orders)) this.#reindex(id, o);
  }

  get #orders(): Record<string, TrackedOrder> {
    return this.#store.state.jobs.orders;
  }

  get #guards(): Record<string, TrackedGuard> {
    return this.#store.state.jobs.guards;
  }

  get pending(): { orders: number; guards: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    for (const o of Object.values(this.#orders)) byKind[o.kind] = (byKind[o.kind] ?? 0) + 1;
    return { orders: Object.keys(this.#orders).length, guards: Object.keys(this.#guards).length, byKind };
  }

  #reindex(id: string, o: TrackedOrder): void {
    if (o.kind === "TrailingStop") this.#trailing.add(id);
    const e = triggerOf({ kind: o.kind as OrderKindName, isLong: o.isLong, market: o.market, trigger: BigInt(o.trigger), peak: o.peak ? BigInt(o.peak.price) : null });
    if (e) this.index.set(id, e);
    else this.index.delete(id);
  }

  #forget(id: string): void {
    delete this.#orders[id];
    delete this.#guards[id];
    this.#trailing.delete(id);
    this.index.delete(id);
    this.guards.forget(id);
    this.#dirty.delete(id);
    this.#dirtyGuards.delete(id);
  }

  /** Applies the book's events of blocks `from..to` (replays are harmless: records are re-read). */
  async applyEvents(from: number, to: number): Promise<number> {
    if (from > to) return 0;
    const events = await this.client.getOrderEvents({ fromBlock: from, toBlock: to });
    for (const e of events) {
      if (e.type === "OrderPlaced" || e.type === "OrderEdited") this.#dirty.add(e.orderId.toString());
      else if (e.type === "TopUpGuardSet" || e.type === "TopUpExecuted") this.#dirtyGuards.add(e.orderId.toString());
      else if (e.type === "OrderExecuted" || e.type === "OrderCancelled") this.#forget(e.orderId.toString());
    }
    return events.length;
  }

  async #refresh(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    // In chunks: a cold start re-reads every live order.
    const views: Awaited<ReturnType<BulkheadClient["getOrder"]>>[] = [];
    for (let i = 0; i < ids.length; i += 100) views.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => this.client.getOrder(BigInt(id))))));
    ids.forEach((id, i) => {
      const v = views[i];
      if (!v) return this.#forget(id);
      const old = this.#orders[id];
      // An edit moves observedAfter: a peak observed before it no longer counts.
      const peak = old?.peak && old.peak.observedAt > v.observedAfter && old.trigger === v.trigger.toString() ? old.peak : undefined;
      const o: TrackedOrder = {
        kind: v.kind,
        isLong: v.isLong,
        market: v.marketId,
        positionId: v.positionId.toString(),
        target: v.target,
        trigger: v.trigger.toString(),
        acceptablePrice: v.acceptablePrice.toString(),
        fee: v.executionFee.toString(),
        observedAfter: v.observedAfter,
        validUntil: v.validUntil,
        ...(peak ? { peak } : {}),
      };
      this.#orders[id] = o;
      this.#reindex(id, o);
    });
    const gids = [...this.#dirtyGuards];
    this.#dirtyGuards.clear();
    for (const id of gids) {
      const g = await this.client.getTopUpGuard(BigInt(id));
      const position = g ? await this.client.getPosition(g.positionId) : null;
      if (!g || !position) {
        delete this.#guards[id];
        continue;
      }
      this.#guards[id] = {
        positionId: g.positionId.toString(),
        market: position.position.marketId,
        threshold: g.threshold.toString(),
        amount: g.amount.toString(),
        executorFee: g.executorFee.toString(),
        budget: g.budget.toString(),
        observedAfter: g.observedAfter,
        validUntil: g.validUntil,
      };
      this.#guardsQuotedAt.delete(position.position.marketId);
      this.guards.touch(id);
    }
  }

  /** Forgets what an execution of ours removed; a guard is re-read (its budget and time moved). */
  settled(key: string): void {
    const [what, id] = key.split(":");
    if (what === "topUp") this.#dirtyGuards.add(id!);
    else if (what === "order" || what === "trailingStop" || what === "prune") this.#dirty.add(id!);
  }

  async #gasLimit(kind: OrderKindName): Promise<bigint> {
    let g = this.#gas.get(kind);
    if (g === undefined) {
      g = (await this.client.quoteOrderFee(kind, 1n)).gasLimit;
      this.#gas.set(kind, g);
    }
    return g;
  }

  async #latest(market: number): Promise<Report | null> {
    const feed = this.#feedIds[market];
    if (!this.#reports || !feed) return null;
    try {
      return await this.#reports.latest(feed);
    } catch (e) {
      this.#log.warn("report.unavailable", { market, error: (e as Error).message });
      return null;
    }
  }

  /** One pass: reports of the markets with orders, peaks, due orders, top-ups, prunes. */
  async execute(ctx: JobContext): Promise<OrderCycle> {
    await this.#refresh();
    this.#maxReportAge ??= Number(await new Contract(this.book, bulkheadOrderBookAbi as never, this.client.provider).getFunction("maxReportAge")());
    const markets = new Set<number>([...Object.values(this.#orders).map((o) => o.market), ...Object.values(this.#guards).map((g) => g.market)]);
    const out: OrderCycle = { due: 0, sent: 0, reports: 0, peaks: 0 };
    if (this.#viewOf) this.guards.refresh(this.#guards, this.#viewOf, this.#indexOf);
    for (const market of markets) {
      const report = await this.#latest(market);
      // The next block is at least a second later: a report that old by then is refused.
      if (!report || report.observedAt + this.#maxReportAge < ctx.timestamp + 1) continue;
      out.reports++;
      out.peaks += this.#observePeaks(market, report);
      const due = this.index.due(market, report).filter((id) => {
        const o = this.#orders[id];
        return o !== undefined && (o.validUntil === 0 || ctx.timestamp <= o.validUntil);
      });
      out.due += due.length;
      const done = await mapConcurrently(due, CONCURRENCY, (id) => this.#executeOrder(id, this.#orders[id]!, report, ctx));
      out.sent += done.filter((r) => r === "sent").length;
      if (this.#viewOf) {
        const viewOf = this.#viewOf;
        const guards = this.guards.index.due(market, report).filter((id) => {
          const g = this.#guards[id];
          const view = g && viewOf(BigInt(g.positionId));
          return g !== undefined && view !== undefined && report.observedAt > g.observedAfter && this.guards.executes(g, view, report.price, this.#indexOf(market));
        });
        out.due += guards.length;
        const topUps = await mapConcurrently(guards, CONCURRENCY, (id) => this.#executeTopUp(id, this.#guards[id]!, report, ctx, true));
        out.sent += topUps.filter((r) => r === "sent").length;
      } else if (this.#guardsQuotedAt.get(market) !== report.observedAt) {
        this.#guardsQuotedAt.set(market, report.observedAt);
        for (const [id, g] of Object.entries(this.#guards)) {
          if (g.market !== market || report.observedAt <= g.observedAfter) continue;
          const r = await this.#executeTopUp(id, g, report, ctx);
          if (r !== "skip") out.due++;
          if (r === "sent") out.sent++;
          // Not sent (set aside, reverted, not due): quote again with the next report.
          if (r !== "sent" && r !== "skip") this.#guardsQuotedAt.delete(market);
        }
      }
    }
    out.sent += await this.#prune(ctx);
    return out;
  }

  /** Keeps, per trailing stop, the best report observed after its placement. */
  #observePeaks(market: number, report: Report): number {
    let moved = 0;
    for (const id of this.#trailing) {
      const o = this.#orders[id];
      if (!o || o.market !== market || report.observedAt <= o.observedAfter) continue;
      if (o.peak && (!better(o.isLong, report.price, BigInt(o.peak.price)) || report.observedAt <= o.peak.observedAt)) continue;
      o.peak = { report: report.fullReport, price: report.price.toString(), observedAt: report.observedAt };
      this.#reindex(id, o);
      moved++;
      this.#log.debug("trailingStop.peak", { id, price: report.price, observedAt: report.observedAt });
    }
    return moved;
  }

  async #executeOrder(id: string, o: TrackedOrder, report: Report, ctx: JobContext) {
    const key = `order:${id}`;
    if (!this.#runner.idle(key, ctx.block)) return "busy";
    const kind = o.kind as OrderKindName;
    const fill = { kind, isLong: o.isLong, trigger: BigInt(o.trigger), acceptablePrice: BigInt(o.acceptablePrice), observedAfter: o.observedAfter };
    let data: string;
    if (kind === "TrailingStop") {
      const peak = o.peak;
      if (!peak || peak.observedAt >= report.observedAt || !OrderLogic.trailReached(o.isLong, fill.trigger, BigInt(peak.price), report.price)) return "busy";
      const buying = !o.isLong;
      const price = buying ? report.ask : report.bid;
      if (buying ? price > fill.acceptablePrice : price < fill.acceptablePrice) return "busy";
      data = this.#iface.encodeFunctionData("executeTrailingStop", [BigInt(id), peak.report, report.fullReport]);
    } else {
      const q = quoteOrderFill(fill, report);
      if (!q.fills) return "busy";
      data = this.#iface.encodeFunctionData("execute", [BigInt(id), report.fullReport]);
    }
    const pay = { fee: BigInt(o.fee), gasLimit: await this.#gasLimit(kind) };
    return this.#runner.run({ key, kind: kind === "TrailingStop" ? "trailingStop" : "order", to: this.book, data, reportAt: report.observedAt }, pay, ctx);
  }

  async #executeTopUp(id: string, g: TrackedGuard, report: Report, ctx: JobContext, quoted = false): Promise<"sent" | "skip" | string> {
    const key = `topUp:${id}`;
    if (!this.#runner.idle(key, ctx.block)) return "skip";
    if (g.validUntil !== 0 && ctx.timestamp > g.validUntil) return "skip";
    if (!quoted) {
      let executes: boolean;
      try {
        executes = (await this.client.quoteTopUp({ orderId: BigInt(id), report: report.fullReport })).executes;
      } catch (e) {
        this.#log.debug("topUp.quoteFailed", { id, error: (e as Error).message });
        return "skip";
      }
      if (!executes) return "skip";
    }
    const data = this.#iface.encodeFunctionData("executeTopUp", [BigInt(id), report.fullReport]);
    return this.#runner.run({ key, kind: "topUp", to: this.book, data, reportAt: report.observedAt }, { tokenFee: BigInt(g.executorFee) }, ctx);
  }

  /** Prunes orders that can no longer execute (expired, or their position closed) when the fee pays. */
  async #prune(ctx: JobContext): Promise<number> {
    let sent = 0;
    // A guard pays nothing to prune: once its position is closed, it is only forgotten.
    for (const [id, g] of Object.entries(this.#guards)) {
      if (this.#isOpen(BigInt(g.positionId))) continue;
      delete this.#guards[id];
      this.guards.forget(id);
    }
    const dead = Object.entries(this.#orders).filter(([id, o]) => {
      const expired = o.validUntil !== 0 && ctx.timestamp > o.validUntil;
      const gone = o.target === "Position" && o.kind !== "LimitOpen" && !this.#isOpen(BigInt(o.positionId));
      return (expired || gone) && this.#runner.idle(`prune:${id}`, ctx.block);
    });
    const done = await mapConcurrently(dead, CONCURRENCY, async ([id, o]) => {
      const data = this.#iface.encodeFunctionData("prune", [BigInt(id)]);
      const pay = { fee: BigInt(o.fee), gasLimit: await this.#gasLimit(o.kind as OrderKindName) };
      return this.#runner.run({ key: `prune:${id}`, kind: "prune", to: this.book, data, reportAt: null }, pay, ctx);
    });
    sent += done.filter((r) => r === "sent").length;
    return sent;
  }
}
