// The demo's executor: an account with no rights of its own that fills what is due, as any outside
// executor would. Reports come from the Data Streams API (on a local chain, the local report
// service) through Chainlink's official client; executions go through the SDK, which simulates each
// one first and turns a refusal into a sentence. Requests fill at the report their creation pins;
// orders and guards are tried at every new report of their market.
import type { DataStreamsClient } from "@chainlink/data-streams-sdk";
import { reportQuoteOf, type BulkheadClient, type OrderKindName, type PositionId } from "@bulkhead/sdk";

/** What one sweep did to one order or guard. */
export type Execution = {
  orderId: bigint;
  kind: OrderKindName | "TopUp";
  positionId: PositionId;
  /** The report's benchmark price and second. */
  benchmark: bigint;
  observedAt: number;
  /** Stop, take-profit, trailing stop: the price the position closed at. */
  fillPrice?: bigint;
  /** Trailing stop: the peak report's benchmark and second. */
  peak?: { price: bigint; observedAt: number };
  /** Top-up: the amount moved into the vault, its fee, and the health factor before it. */
  topUp?: { amount: bigint; fee: bigint; healthFactor: bigint };
  gasUsed: bigint;
};

type Watched = { orderId: bigint; kind: OrderKindName | "TopUp"; marketId: number; positionId: PositionId; peak?: { report: string; price: bigint; observedAt: number } };

export class DemoExecutor {
  readonly #watched = new Map<bigint, Watched>();

  constructor(
    readonly client: BulkheadClient,
    readonly api: DataStreamsClient,
    readonly streamOf: (marketId: number) => string,
  ) {}

  /** The signed report of `marketId` observed at second `t`, from the API. */
  async report(marketId: number, t: number): Promise<string> {
    return (await this.api.getReportByTimestamp(this.streamOf(marketId), t)).fullReport;
  }

  /** Fills trade request `requestId` at the report of `settlesAt`, the second its creation pinned. */
  async executeRequest(requestId: bigint, marketId: number, settlesAt: number) {
    return this.client.executeRequest({ requestId, report: await this.report(marketId, settlesAt) });
  }

  /** Fills LP request `requestId` at the reports of `settlesAt`, one per market (the pool reads those with open interest). */
  async executeLpRequest(requestId: bigint, settlesAt: number) {
    const reports = await Promise.all(this.client.markets.map((m) => this.report(m.id, settlesAt)));
    return this.client.executeLpRequest({ requestId, reports });
  }

  /** Tries an order or guard at every sweep of its market from now on. */
  watch(w: Omit<Watched, "peak">): void {
    this.#watched.set(w.orderId, { ...w });
  }

  /**
   * One look at `marketId` at the second `t` (a second whose block exists, so its report carries
   * the push price then): every watched order the report fills is executed, every guard whose
   * position is below its threshold topped up once (the next top-up needs a report after this one).
   */
  async sweep(marketId: number, t: number): Promise<Execution[]> {
    const watched = [...this.#watched.values()].filter((w) => w.marketId === marketId);
    if (watched.length === 0) return [];
    const report = await this.report(marketId, t);
    const q = reportQuoteOf(report);
    const done: Execution[] = [];
    for (const w of watched) {
      const base = { orderId: w.orderId, kind: w.kind, positionId: w.positionId, benchmark: q.price, observedAt: q.observedAt };
      if (w.kind === "TopUp") {
        // A guard ends when its budget cannot pay another top-up or its position is gone.
        if (!(await this.client.getTopUpGuard(w.orderId)) || !(await this.client.getPosition(w.positionId))) {
          this.#watched.delete(w.orderId);
          continue;
        }
        if (!(await this.client.quoteTopUp({ orderId: w.orderId, report })).executes) continue;
        const r = await this.client.executeTopUp({ orderId: w.orderId, report });
        done.push({ ...base, topUp: { amount: r.event.amount, fee: r.event.executorFee, healthFactor: r.event.healthFactor }, gasUsed: r.receipt.gasUsed });
        continue;
      }
      const order = await this.client.getOrder(w.orderId);
      if (!order) {
        this.#watched.delete(w.orderId);
        continue;
      }
      if (w.kind === "TrailingStop") {
        // The running peak: the best report since placement, kept to prove the trail later.
        const better = order.isLong ? q.price > (w.peak?.price ?? 0n) : q.price < (w.peak?.price ?? 2n ** 255n);
        if (better && q.observedAt > order.observedAfter) {
          w.peak = { report, price: q.price, observedAt: q.observedAt };
          continue;
        }
        if (!w.peak) continue;
        const quote = await this.client.quoteOrder({ orderId: w.orderId, report, peak: w.peak.report });
        if (!quote.fills || !quote.fresh) continue;
        const r = await this.client.executeTrailingStop({ orderId: w.orderId, peakReport: w.peak.report, report });
        done.push({ ...base, fillPrice: r.event.price, peak: { price: w.peak.price, observedAt: w.peak.observedAt }, gasUsed: r.receipt.gasUsed });
      } else {
        const quote = await this.client.quoteOrder({ orderId: w.orderId, report });
        if (!quote.fills || !quote.fresh) continue;
        const r = await this.client.executeOrder({ orderId: w.orderId, report });
        done.push({ ...base, fillPrice: r.event.price, gasUsed: r.receipt.gasUsed });
      }
      this.#watched.delete(w.orderId);
    }
    return done;
  }
}
