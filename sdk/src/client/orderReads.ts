/**
 * Client reads of trigger orders: the order book (found from the router), execution-fee quotes,
 * orders and top-up guards with their state now, the orders of an owner or a position (from the
 * book's events, then their current records), order events and their watcher, and quotes of what
 * a report does to an order or a guard. The writes are in `client/orders.ts`.
 * @module
 */
import { Contract, ZeroAddress, getAddress, type Log, type TransactionReceipt } from "ethers";
import { bulkheadOrderBookAbi } from "../abis/bulkheadOrderBook.js";
import { bulkheadRouterAbi } from "../abis/bulkheadRouter.js";
import { InvalidRequestError } from "../errors.js";
import { readLogs, watchBlocks, type LogRangeOptions, type WatchOptions } from "../events.js";
import {
  OrderKind,
  OrderTarget,
  decodeOrderEvent,
  orderEventTopics,
  orderExpired,
  quoteOrderFill,
  quoteTopUp,
  quoteTrailingStopFill,
  reportQuoteOf,
  toOrder,
  toTopUpGuard,
  trailingStopPrice,
  type Order,
  type OrderEvent,
  type OrderFillQuote,
  type OrderKindName,
  type ReportQuote,
  type TopUpGuard,
  type TopUpQuote,
} from "../orders.js";
import type { PositionId } from "../types.js";
import { ClientModule } from "./context.js";
import type { Markets } from "./markets.js";
import type { Positions } from "./positions.js";
import type { ExecutionFeeQuote, Requests } from "./requests.js";

/** An order with what it acts on now. */
export interface OrderView extends Order {
  id: bigint;
  /** The other order of its bracket, null if none. */
  sibling: bigint | null;
  /** The position it trades now: its own, the one its open filled into; null for a limit open or while its open has not filled. */
  activePositionId: PositionId | null;
  /** Expired at the latest block (it can then only be cancelled or pruned). */
  expired: boolean;
}

/** A top-up guard as seen now. */
export interface TopUpGuardView extends TopUpGuard {
  id: bigint;
  expired: boolean;
}

/** The live orders and guards of an owner or a position. */
export interface OrderList {
  orders: OrderView[];
  guards: TopUpGuardView[];
}

/** Which orders {@link OrderReads.getOrders} lists: an owner's, or those acting on a position (attached ones included once their open filled). */
export type OrderFilter = { owner: string } | { positionId: PositionId };

/** A report given as the signed hex an executor sends, or as its prices. */
export type ReportInput = string | ReportQuote;

/** What a report does to a live order (see {@link OrderReads.quoteOrder}). */
export interface OrderQuote extends OrderFillQuote {
  order: OrderView;
  /** The report is at most the book's maximum report age old at the latest block (true when its time is unknown). */
  fresh: boolean;
  /** A trailing stop: the benchmark at which it is due from the peak. */
  dueAt?: bigint;
}

const toQuote = (r: ReportInput): ReportQuote => (typeof r === "string" ? reportQuoteOf(r) : r);

/** Order reads. */
export class OrderReads extends ClientModule<{ markets: Markets; positions: Positions; requests: Requests }> {
  #book: Contract | undefined;

  /** The router's order book, or null when the deployment has none (no router, or none set). */
  async getOrderBook(): Promise<string | null> {
    const c = this.ctx;
    const routerAddress = await this.uses.requests.routerAddress();
    if (!routerAddress) return null;
    const router = new Contract(routerAddress, bulkheadRouterAbi as never, c.provider);
    const book = (await c.read(() => router.getFunction("orderBook")())) as string;
    return book === ZeroAddress ? null : getAddress(book);
  }

  /** The order book contract (read-only runner); throws when the deployment has none. */
  async book(): Promise<Contract> {
    if (this.#book) return this.#book;
    const address = await this.getOrderBook();
    if (!address) throw new InvalidRequestError("this deployment has no order book (the router's orderBook() is not set)");
    this.#book = new Contract(address, bulkheadOrderBookAbi as never, this.ctx.provider);
    return this.#book;
  }

  /** The execution fee an order of `kind` (or a bracket, both of its kinds) needs at `gasPrice` (default: the node's max fee per gas). */
  async quoteOrderFee(kind: OrderKindName | "Bracket", gasPrice?: bigint): Promise<ExecutionFeeQuote> {
    const c = this.ctx;
    const book = await this.book();
    let price = gasPrice;
    if (price === undefined) {
      const data = await c.provider.getFeeData();
      price = data.maxFeePerGas ?? data.gasPrice ?? 0n;
    }
    const kinds: OrderKindName[] = kind === "Bracket" ? ["StopLoss", "TakeProfit"] : [kind];
    let gasLimit = 0n;
    for (const k of kinds) gasLimit += (await c.read(() => book.getFunction("executionGas")(OrderKind[k]))) as bigint;
    return { fee: gasLimit * price, gasLimit, gasPrice: price };
  }

  /** The book's maximum report age, seconds. */
  async maxReportAge(): Promise<number> {
    const book = await this.book();
    return Number(await this.ctx.read(() => book.getFunction("maxReportAge")()));
  }

  async #now(): Promise<number> {
    const c = this.ctx;
    const block = await c.provider.getBlock(await c.latestBlock());
    return block?.timestamp ?? Math.floor(Date.now() / 1000);
  }

  /** A live order with what it acts on now, or null. */
  async getOrder(orderId: bigint): Promise<OrderView | null> {
    const c = this.ctx;
    const book = await this.book();
    const blockTag = await c.latestBlock();
    const o = toOrder((await c.read(() => book.getFunction("order")(orderId, { blockTag }))) as never);
    if (!o) return null;
    const [sibling, attached, now] = await Promise.all([
      c.read(() => book.getFunction("sibling")(orderId, { blockTag })) as Promise<bigint>,
      o.target === "Position" ? Promise.resolve(o.positionId) : (c.read(() => book.getFunction("attachedPosition")(OrderTarget[o.target], o.positionId, { blockTag })) as Promise<bigint>),
      this.#now(),
    ]);
    return { ...o, id: orderId, sibling: sibling === 0n ? null : sibling, activePositionId: attached === 0n ? null : attached, expired: orderExpired(o.validUntil, now) };
  }

  /** A live top-up guard, or null. */
  async getTopUpGuard(orderId: bigint): Promise<TopUpGuardView | null> {
    const c = this.ctx;
    const book = await this.book();
    const blockTag = await c.latestBlock();
    const g = toTopUpGuard((await c.read(() => book.getFunction("topUpGuard")(orderId, { blockTag }))) as never);
    return g ? { ...g, id: orderId, expired: orderExpired(g.validUntil, await this.#now()) } : null;
  }

  /**
   * Order book events over a block range (default: deployment to latest), in chain order. With
   * `owner`, only the events of that owner's orders placed within the range.
   */
  async getOrderEvents(range: Partial<LogRangeOptions> & { owner?: string } = {}): Promise<OrderEvent[]> {
    const c = this.ctx;
    const book = await this.book();
    const out: OrderEvent[] = [];
    const owner = range.owner ? getAddress(range.owner) : undefined;
    const mine = new Set<bigint>();
    for await (const page of readLogs(c.provider, { address: await book.getAddress(), topics: [orderEventTopics()] }, await c.range(range))) {
      for (const log of page) {
        const e = decodeOrderEvent(log);
        if (!e) continue;
        if (owner) {
          if ((e.type === "OrderPlaced" || e.type === "TopUpGuardSet") && getAddress(e.owner) === owner) mine.add(e.orderId);
          const id = e.type === "BracketLinked" ? e.stopLossId : e.type === "AttachedOpenFilled" ? null : e.orderId;
          if (id === null || !mine.has(id)) continue;
        }
        out.push(e);
      }
    }
    return out;
  }

  /**
   * The live orders and guards of an owner, or of a position (its own orders, attached orders
   * whose open filled into it, its guards): the ids from the book's placement events minus those
   * that ended, then each one's current record.
   */
  async getOrders(filter: OrderFilter, range: Partial<LogRangeOptions> = {}): Promise<OrderList> {
    const events = await this.getOrderEvents(range);
    const ended = new Set<bigint>();
    const filled = new Map<string, bigint>();
    for (const e of events) {
      if (e.type === "OrderExecuted" || e.type === "OrderCancelled") ended.add(e.orderId);
      if (e.type === "AttachedOpenFilled") filled.set(`${e.target}:${e.sourceId}`, e.positionId);
    }
    const owner = "owner" in filter ? getAddress(filter.owner) : undefined;
    const orderIds = new Set<bigint>();
    const guardIds = new Set<bigint>();
    for (const e of events) {
      if (e.type !== "OrderPlaced" && e.type !== "TopUpGuardSet") continue;
      if (ended.has(e.orderId)) continue;
      let match: boolean;
      if (owner) match = getAddress(e.owner) === owner;
      else {
        const id = (filter as { positionId: bigint }).positionId;
        const acts = e.type === "OrderPlaced" && e.target !== "Position" ? filled.get(`${e.target}:${e.positionId}`) : e.positionId;
        match = e.type === "OrderPlaced" && e.kind === "LimitOpen" ? false : acts === id;
      }
      if (match) (e.type === "OrderPlaced" ? orderIds : guardIds).add(e.orderId);
    }
    const [orders, guards] = await Promise.all([
      Promise.all([...orderIds].map((id) => this.getOrder(id))),
      Promise.all([...guardIds].map((id) => this.getTopUpGuard(id))),
    ]);
    return { orders: orders.filter((o): o is OrderView => o !== null), guards: guards.filter((g): g is TopUpGuardView => g !== null) };
  }

  /** Calls `onEvent` for every new order book event; returns a function that stops watching. */
  watchOrders(onEvent: (event: OrderEvent) => void, options: WatchOptions = {}): () => void {
    const c = this.ctx;
    return watchBlocks(
      c.provider,
      async (fromBlock, toBlock) => {
        for (const e of await this.getOrderEvents({ fromBlock, toBlock })) {
          c.sawBlock(e.blockNumber);
          onEvent(e);
        }
      },
      { pollingInterval: c.options.pollingInterval, ...options },
    );
  }

  /** The order book events of a receipt. */
  async eventsIn(receipt: TransactionReceipt): Promise<OrderEvent[]> {
    const book = getAddress(await (await this.book()).getAddress());
    const out: OrderEvent[] = [];
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== book) continue;
      const e = decodeOrderEvent(log);
      if (e) out.push(e);
    }
    return out;
  }

  /**
   * What `report` does to live order `orderId` (a trailing stop also takes its `peak` report or
   * peak price): due or not, the fill price, whether the acceptable price holds, whether it was
   * observed after the order and is fresh. `fills` true means `book.execute` (or
   * `executeTrailingStop`) with these reports fills, the position still being tradable.
   */
  async quoteOrder(req: { orderId: bigint; report: ReportInput; peak?: ReportInput | bigint }): Promise<OrderQuote> {
    const c = this.ctx;
    const order = await this.getOrder(req.orderId);
    if (!order) throw c.reason({ name: "OrderNotFound", args: { orderId: req.orderId } });
    const q = toQuote(req.report);
    const [maxAge, now] = await Promise.all([this.maxReportAge(), this.#now()]);
    const fresh = q.observedAt === undefined || q.observedAt + maxAge >= now;
    if (order.kind !== "TrailingStop") return { ...quoteOrderFill(order, q), order, fresh };
    if (req.peak === undefined) throw new InvalidRequestError("a trailing stop's quote needs its peak report (or peak price)");
    const peak = typeof req.peak === "bigint" ? { price: req.peak, bid: req.peak, ask: req.peak } : toQuote(req.peak);
    const fill = quoteTrailingStopFill(order, peak.price, q);
    const peakAfter = peak.observedAt === undefined || peak.observedAt > order.observedAfter;
    const ordered = peak.observedAt === undefined || q.observedAt === undefined || peak.observedAt < q.observedAt;
    const afterOrder = fill.afterOrder && peakAfter && ordered;
    return { ...fill, afterOrder, fills: fill.fills && afterOrder, order, fresh, dueAt: trailingStopPrice(order.isLong, order.trigger, peak.price) };
  }

  /**
   * A guard's position at a benchmark price (a report, a price, or the push price now), with the
   * borrow index now: its health factor, whether a top-up is due, and what it spends.
   */
  async quoteTopUp(req: { orderId: bigint; report?: ReportInput; price?: bigint }): Promise<TopUpQuote & { guard: TopUpGuardView; price: bigint }> {
    const c = this.ctx;
    const guard = await this.getTopUpGuard(req.orderId);
    if (!guard) throw c.reason({ name: "OrderNotFound", args: { orderId: req.orderId } });
    const view = await this.uses.positions.getPosition(guard.positionId);
    if (!view) throw c.reason({ name: "OrderPositionGone", args: { orderId: req.orderId, positionId: guard.positionId } });
    const price = req.report !== undefined ? toQuote(req.report).price : req.price ?? (await this.uses.markets.getPrice(view.position.marketId));
    return { ...quoteTopUp(guard, view.position, view.risk, price, view.index, c.unit), guard, price };
  }
}
