/**
 * Client writes of trigger orders: placing limit opens and increases, stop-losses, take-profits,
 * trailing stops and brackets (on a position, an open request or a limit-open order), attaching
 * them to an open request, editing, cancelling and pruning, top-up guards (with the token
 * approval their executions pull through), and the executions keepers send. Every order is
 * checked as the contract checks it before anything is sent, throwing {@link InvalidOrderError}
 * with the field at fault. The reads are in `client/orderReads.ts`.
 * @module
 */
import type { TransactionReceipt } from "ethers";
import { ConstantsLib } from "../math/ConstantsLib.js";
import { InvalidOrderError } from "../orderErrors.js";
import {
  OrderKind,
  OrderLogic,
  OrderTarget,
  isLimitKind,
  type OrderCancelledEvent,
  type OrderEditedEvent,
  type OrderExecutedEvent,
  type OrderEvent,
  type OrderKindName,
  type OrderPlacedEvent,
  type OrderTargetName,
  type TopUpExecutedEvent,
  type TopUpGuardSetEvent,
} from "../orders.js";
import type { MarketId, PositionId } from "../types.js";
import { ClientModule, txResult, type Executed, type PreparedTransactions, type TxOptions, type TxResult } from "./context.js";
import type { Markets } from "./markets.js";
import type { OrderReads } from "./orderReads.js";
import type { Positions } from "./positions.js";
import { acceptablePriceFor } from "./quotes.js";
import type { ExecutionFeeQuote, RequestQuote, Requests } from "./requests.js";
import type { RequestCreatedEvent } from "../requests.js";

const { WAD, MAX_PRICE, MAX_SIZE, MAX_COLLATERAL, MIN_TRAIL_BPS, MAX_TRAIL_BPS, MAX_TOP_UP_THRESHOLD } = ConstantsLib;

const PLACE_FIELDS = { validUntil: "count?", gasPrice: "bigint?" } as const;
const TARGET_FIELDS = { positionId: "id?", openRequestId: "id?", limitOrderId: "id?" } as const;

/** What an exit order acts on: an open position, a pending open request, or a limit-open order of the book. */
export type OrderTargetSpec = { positionId: PositionId } | { openRequestId: bigint } | { limitOrderId: bigint };

/** Expiry and fee options of a placement. */
export interface PlaceOptions extends TxOptions {
  /** Unix seconds after which the order can no longer fill; 0 (default): until cancelled. */
  validUntil?: number;
  /** Gas price the execution fee is quoted at (default: the node's max fee per gas). */
  gasPrice?: bigint;
}

/** One leg of an exit: its trigger and, optionally, its worst fill price. */
export interface ExitLeg {
  /** The stop or take-profit price (WAD benchmark). */
  triggerPrice: bigint;
  /** The worst fill price; default: the trigger less `slippageBps` against the exit. */
  acceptablePrice?: bigint;
  slippageBps?: number;
}

/** A stop-loss or take-profit. `size` to take off (default 0: the whole position). */
export type ExitOrderRequest = OrderTargetSpec & ExitLeg & PlaceOptions & { size?: bigint };

/** A bracket: a stop-loss and a take-profit on one target; executing one cancels the other. */
export type BracketRequest = OrderTargetSpec & PlaceOptions & { stopLoss: ExitLeg; takeProfit: ExitLeg; size?: bigint };
/** A top-up guard on position `id` (see {@link Orders.setTopUpGuard}). */
export type TopUpGuardRequest = { id: PositionId; threshold: bigint; amount: bigint; budget: bigint; executorFee?: bigint; validUntil?: number };
/** A trailing stop: the trail in bps (10 to 5,000); without `acceptablePrice` it fills at any price, like a market stop. */
export type TrailingStopRequest = OrderTargetSpec & PlaceOptions & { trailBps: bigint; acceptablePrice?: bigint; size?: bigint };

/** The exits to attach to one target; both legs form a bracket (one cancels the other). */
export interface AttachRequest {
  stopLoss?: ExitLeg;
  takeProfit?: ExitLeg;
  trailingStop?: { trailBps: bigint; acceptablePrice?: bigint };
  /** Size the exits take off (default 0: the whole position). */
  exitSize?: bigint;
}

/** A placed order. */
export type Placed = TxResult & { orderId: bigint; event: OrderPlacedEvent; executionFee: ExecutionFeeQuote };

/** The orders {@link Orders.attachOrders} placed, by leg. */
export interface Attached {
  stopLossId?: bigint;
  takeProfitId?: bigint;
  trailingStopId?: bigint;
  results: TxResult[];
}

interface Resolved {
  target: OrderTargetName;
  positionId: bigint;
  marketId: number;
  isLong: boolean;
}

interface Params {
  kind: number;
  target: number;
  positionId: bigint;
  marketId: bigint;
  isLong: boolean;
  amount: bigint;
  size: bigint;
  trigger: bigint;
  acceptablePrice: bigint;
  validUntil: bigint;
}

/** Trigger-order transactions. */
export class Orders extends ClientModule<{ markets: Markets; positions: Positions; requests: Requests; reads: OrderReads }> {
  async #now(): Promise<number> {
    const c = this.ctx;
    const block = await c.provider.getBlock(await c.latestBlock());
    return block?.timestamp ?? Math.floor(Date.now() / 1000);
  }

  /** The market and side of a target, once it exists (the contract checks the caller's right to it). */
  async #resolve(spec: OrderTargetSpec): Promise<Resolved> {
    const c = this.ctx;
    if ("positionId" in spec) {
      const view = await this.uses.positions.getPosition(spec.positionId);
      if (!view) throw c.reason({ name: "PositionNotFound", args: { id: spec.positionId } });
      return { target: "Position", positionId: spec.positionId, marketId: view.position.marketId, isLong: view.position.isLong };
    }
    if ("openRequestId" in spec) {
      const r = await this.uses.requests.getRequest(spec.openRequestId);
      if (!r || r.kind !== "Open") throw new InvalidOrderError("openRequestId", `request ${spec.openRequestId} is not a pending open request`);
      return { target: "OpenRequest", positionId: spec.openRequestId, marketId: r.marketId, isLong: r.isLong };
    }
    const o = await this.uses.reads.getOrder(spec.limitOrderId);
    if (!o || o.kind !== "LimitOpen") throw new InvalidOrderError("limitOrderId", `order ${spec.limitOrderId} is not a live limit-open order`);
    return { target: "LimitOpenOrder", positionId: spec.limitOrderId, marketId: o.marketId, isLong: o.isLong };
  }

  /**
   * The checks of the book's `_checkOrder` and `_checkValidUntil` against the push price now:
   * returns the acceptable price the book stores.
   */
  async #check(kind: OrderKindName, isLong: boolean, marketId: number, trigger: bigint, acceptablePrice: bigint, size: bigint, validUntil: number): Promise<bigint> {
    if (kind === "TrailingStop") {
      if (trigger < MIN_TRAIL_BPS || trigger > MAX_TRAIL_BPS) throw new InvalidOrderError("trailBps", `the trail must be ${MIN_TRAIL_BPS} to ${MAX_TRAIL_BPS} bps, got ${trigger}`);
    } else {
      if (trigger <= 0n || trigger > MAX_PRICE) throw new InvalidOrderError("trigger", `the trigger price must be in (0, ${MAX_PRICE}], got ${trigger}`);
      const current = await this.uses.markets.getPrice(marketId);
      if (!OrderLogic.waitsAt(kind, isLong, trigger, current)) {
        const below = (kind === "TakeProfit") !== isLong;
        throw new InvalidOrderError("trigger", `a ${isLong ? "long" : "short"}'s ${kind} must be ${below ? "below" : "above"} the current price ${current}, got ${trigger}`);
      }
      if (isLimitKind(kind)) acceptablePrice = trigger;
      if (kind === "StopLoss" && !OrderLogic.stopReachable(isLong, trigger, acceptablePrice)) {
        throw new InvalidOrderError("acceptablePrice", `a ${isLong ? "long" : "short"}'s stop fills at ${isLong ? "at most" : "at least"} its trigger ${trigger}: acceptable price ${acceptablePrice} can never be met`);
      }
    }
    if (acceptablePrice === 0n && OrderLogic.buys(kind, isLong)) {
      throw new InvalidOrderError("acceptablePrice", `a short's ${kind} buys to close: an acceptable price of 0 can never be met (leave it out to fill at any price)`);
    }
    if (size < 0n || size > MAX_SIZE) throw new InvalidOrderError("size", `size must be in [0, ${MAX_SIZE}], got ${size}`);
    if (isLimitKind(kind) && size === 0n) throw new InvalidOrderError("size", "a limit order's size must be positive");
    await this.#checkValidUntil(validUntil);
    return acceptablePrice > MAX_PRICE ? MAX_PRICE : acceptablePrice;
  }

  async #checkValidUntil(validUntil: number): Promise<void> {
    if (validUntil === 0) return;
    const now = await this.#now();
    if (validUntil <= now || validUntil > 0xffff_ffff) throw new InvalidOrderError("validUntil", `the expiry must be after the latest block time ${now} (or 0 for until cancelled), got ${validUntil}`);
  }

  #defaultAcceptable(kind: OrderKindName, isLong: boolean, leg: { triggerPrice?: bigint; acceptablePrice?: bigint; slippageBps?: number }): bigint {
    if (leg.acceptablePrice !== undefined) return leg.acceptablePrice;
    const buying = OrderLogic.buys(kind, isLong);
    if (kind === "TrailingStop" || leg.triggerPrice === undefined) return buying ? MAX_PRICE : 0n;
    return acceptablePriceFor(buying, leg.triggerPrice, leg.slippageBps ?? this.ctx.options.slippageBps);
  }

  async #params(kind: OrderKindName, t: Resolved, trigger: bigint, acceptable: bigint, size: bigint, amount: bigint, validUntil: number): Promise<Params> {
    const stored = await this.#check(kind, t.isLong, t.marketId, trigger, acceptable, size, validUntil);
    return {
      kind: OrderKind[kind],
      target: OrderTarget[t.target],
      positionId: t.positionId,
      marketId: BigInt(t.marketId),
      isLong: t.isLong,
      amount,
      size,
      trigger,
      acceptablePrice: stored,
      validUntil: BigInt(validUntil),
    };
  }

  async #send<T>(method: string, args: unknown[], opts: TxOptions, allowance?: bigint): Promise<Executed<T> & { events: OrderEvent[] }> {
    const c = this.ctx;
    const book = await this.uses.reads.book();
    const spender = await book.getAddress();
    const r = await c.execute<T>(book, method, args, opts, allowance ? { spender, amount: allowance } : undefined);
    return { ...r, events: await this.uses.reads.eventsIn(r.receipt) };
  }

  async #place(p: Params, opts: PlaceOptions): Promise<Placed> {
    this.ctx.requireSigner("placeOrder");
    const kind = Object.keys(OrderKind)[p.kind] as OrderKindName;
    const executionFee = await this.uses.reads.quoteOrderFee(kind, opts.gasPrice);
    const r = await this.#send<bigint>("place", [p], { ...opts, value: executionFee.fee }, p.amount);
    const event = r.events.find((e): e is OrderPlacedEvent => e.type === "OrderPlaced")!;
    return { ...txResult(r), orderId: event.orderId, event, executionFee };
  }

  /** The unsigned transactions of a placement ([approval of the book for its escrow if needed, place with its fee]). */
  async #preparePlace(p: Params, opts: PlaceOptions): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    const c = this.ctx;
    c.requireSigner("placeOrder");
    const kind = Object.keys(OrderKind)[p.kind] as OrderKindName;
    const executionFee = await this.uses.reads.quoteOrderFee(kind, opts.gasPrice);
    const book = await this.uses.reads.book();
    const pull = p.amount ? { spender: await book.getAddress(), amount: p.amount } : undefined;
    const { transactions, simulated } = await c.prepare(book, "place", [p], { ...opts, value: executionFee.fee }, pull);
    return { transactions, simulated, executionFee };
  }

  /** Prepares (unsigned transactions) or sends a placement built by `params`. */
  #placement<R>(params: (req: R) => Promise<Params>) {
    return {
      send: async (req: R & PlaceOptions) => this.#place(await params(req), req),
      prepare: async (req: R & PlaceOptions) => this.#preparePlace(await params(req), req),
    };
  }

  #positive(field: string, x: bigint): void {
    if (x <= 0n || x > MAX_COLLATERAL) throw new InvalidOrderError(field, `must be in (0, ${MAX_COLLATERAL}], got ${x}`);
  }

  readonly #limitOpen = this.#placement(async (req: { market: MarketId; side: "long" | "short"; amount: bigint; size: bigint; limitPrice: bigint } & PlaceOptions) => {
    this.ctx.validate(req, { market: "market", side: "side", amount: "amount", size: "size", limitPrice: "price", ...PLACE_FIELDS });
    this.#positive("amount", req.amount);
    const t: Resolved = { target: "Position", positionId: 0n, marketId: req.market, isLong: req.side === "long" };
    return this.#params("LimitOpen", t, req.limitPrice, 0n, req.size, req.amount, req.validUntil ?? 0);
  });

  readonly #limitIncrease = this.#placement(async (req: { id: PositionId; amount: bigint; sizeDelta: bigint; limitPrice: bigint } & PlaceOptions) => {
    this.ctx.validate(req, { id: "id", amount: "amount", sizeDelta: "size", limitPrice: "price", ...PLACE_FIELDS });
    this.#positive("amount", req.amount);
    const t = await this.#resolve({ positionId: req.id });
    return this.#params("LimitIncrease", t, req.limitPrice, 0n, req.sizeDelta, req.amount, req.validUntil ?? 0);
  });

  #exit(kind: "StopLoss" | "TakeProfit") {
    return this.#placement(async (req: ExitOrderRequest) => {
      this.ctx.validate(req, { ...TARGET_FIELDS, triggerPrice: "price", size: "size?", ...PLACE_FIELDS });
      const t = await this.#resolve(req);
      const acceptable = this.#defaultAcceptable(kind, t.isLong, req);
      return this.#params(kind, t, req.triggerPrice, acceptable, req.size ?? 0n, 0n, req.validUntil ?? 0);
    });
  }

  readonly #stopLoss = this.#exit("StopLoss");
  readonly #takeProfit = this.#exit("TakeProfit");

  readonly #trailingStop = this.#placement(async (req: TrailingStopRequest) => {
    this.ctx.validate(req, { ...TARGET_FIELDS, trailBps: "bigint", size: "size?", ...PLACE_FIELDS });
    const t = await this.#resolve(req);
    const acceptable = this.#defaultAcceptable("TrailingStop", t.isLong, req);
    return this.#params("TrailingStop", t, req.trailBps, acceptable, req.size ?? 0n, 0n, req.validUntil ?? 0);
  });

  /** Places a limit open: `amount` is escrowed in the book (approved when needed); it opens `size` once the fill price reaches `limitPrice`. */
  async placeLimitOpen(req: { market: MarketId; side: "long" | "short"; amount: bigint; size: bigint; limitPrice: bigint } & PlaceOptions): Promise<Placed> {
    return this.#limitOpen.send(req);
  }

  /** Places a limit increase of position `id`: `amount` escrowed, `sizeDelta` added once the fill price reaches `limitPrice`. */
  async placeLimitIncrease(req: { id: PositionId; amount: bigint; sizeDelta: bigint; limitPrice: bigint } & PlaceOptions): Promise<Placed> {
    return this.#limitIncrease.send(req);
  }

  /** Places a stop-loss (a long's below the price now, a short's above). */
  async placeStopLoss(req: ExitOrderRequest): Promise<Placed> {
    return this.#stopLoss.send(req);
  }

  /** Places a take-profit (a long's above the price now, a short's below). */
  async placeTakeProfit(req: ExitOrderRequest): Promise<Placed> {
    return this.#takeProfit.send(req);
  }

  /** Places a trailing stop of `trailBps` from the running peak since placement. */
  async placeTrailingStop(req: TrailingStopRequest): Promise<Placed> {
    return this.#trailingStop.send(req);
  }

  /** The unsigned transactions of the placements above, checked as they are. */
  async preparePlaceLimitOpen(req: Parameters<Orders["placeLimitOpen"]>[0]) {
    return this.#limitOpen.prepare(req);
  }

  async preparePlaceLimitIncrease(req: Parameters<Orders["placeLimitIncrease"]>[0]) {
    return this.#limitIncrease.prepare(req);
  }

  async preparePlaceStopLoss(req: ExitOrderRequest) {
    return this.#stopLoss.prepare(req);
  }

  async preparePlaceTakeProfit(req: ExitOrderRequest) {
    return this.#takeProfit.prepare(req);
  }

  async preparePlaceTrailingStop(req: TrailingStopRequest) {
    return this.#trailingStop.prepare(req);
  }

  /** Places a stop-loss and a take-profit on one target that cancel each other (one fee for both). */
  async placeBracket(req: BracketRequest): Promise<TxResult & { stopLossId: bigint; takeProfitId: bigint; events: OrderPlacedEvent[]; executionFee: ExecutionFeeQuote }> {
    const { args, executionFee } = await this.#planBracket(req);
    const r = await this.#send<[bigint, bigint]>("placeBracket", args, { ...req, value: executionFee.fee });
    const events = r.events.filter((e): e is OrderPlacedEvent => e.type === "OrderPlaced");
    return { ...txResult(r), stopLossId: events[0]!.orderId, takeProfitId: events[1]!.orderId, events, executionFee };
  }

  /** The unsigned transaction of {@link Orders.placeBracket} (with its execution fee as value). */
  async preparePlaceBracket(req: BracketRequest): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    const { args, executionFee } = await this.#planBracket(req);
    const { transactions, simulated } = await this.ctx.prepare(await this.uses.reads.book(), "placeBracket", args, { ...req, value: executionFee.fee });
    return { transactions, simulated, executionFee };
  }

  async #planBracket(req: BracketRequest) {
    const c = this.ctx;
    c.requireSigner("placeBracket");
    c.validate(req, { ...TARGET_FIELDS, size: "size?", ...PLACE_FIELDS });
    c.validate(req.stopLoss, { triggerPrice: "price" });
    c.validate(req.takeProfit, { triggerPrice: "price" });
    const t = await this.#resolve(req);
    const size = req.size ?? 0n;
    const validUntil = req.validUntil ?? 0;
    const sl = await this.#params("StopLoss", t, req.stopLoss.triggerPrice, this.#defaultAcceptable("StopLoss", t.isLong, req.stopLoss), size, 0n, validUntil);
    const tp = await this.#params("TakeProfit", t, req.takeProfit.triggerPrice, this.#defaultAcceptable("TakeProfit", t.isLong, req.takeProfit), size, 0n, validUntil);
    return { args: [sl, tp], executionFee: await this.uses.reads.quoteOrderFee("Bracket", req.gasPrice) };
  }

  /** Attaches exits to a target: a bracket when both a stop-loss and a take-profit are given, and a trailing stop. */
  async attachOrders(req: OrderTargetSpec & PlaceOptions & AttachRequest): Promise<Attached> {
    const out: Attached = { results: [] };
    const { stopLoss, takeProfit, trailingStop, exitSize, ...rest } = req;
    const spec = { ...(rest as OrderTargetSpec & PlaceOptions), size: exitSize ?? 0n };
    if (stopLoss && takeProfit) {
      const b = await this.placeBracket({ ...spec, stopLoss, takeProfit });
      Object.assign(out, { stopLossId: b.stopLossId, takeProfitId: b.takeProfitId });
      out.results.push(b);
    } else if (stopLoss || takeProfit) {
      const p = stopLoss ? await this.placeStopLoss({ ...spec, ...stopLoss }) : await this.placeTakeProfit({ ...spec, ...takeProfit! });
      out[stopLoss ? "stopLossId" : "takeProfitId"] = p.orderId;
      out.results.push(p);
    }
    if (trailingStop) {
      const p = await this.placeTrailingStop({ ...spec, ...trailingStop });
      out.trailingStopId = p.orderId;
      out.results.push(p);
    }
    return out;
  }

  /** Requests an open (client/requests.ts) and attaches exits to it: they act on the position once the request fills. */
  async requestOpenWithOrders(
    req: Parameters<Requests["requestOpen"]>[0] & AttachRequest & { validUntil?: number },
  ): Promise<{ request: TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }; orders: Attached }> {
    const { stopLoss, takeProfit, trailingStop, exitSize, validUntil, ...open } = req;
    const request = await this.uses.requests.requestOpen(open);
    const orders = await this.attachOrders({ openRequestId: request.requestId, stopLoss, takeProfit, trailingStop, exitSize, validUntil, gasPrice: req.gasPrice });
    return { request, orders };
  }

  /**
   * Changes an order's size, trigger (a trailing stop: `trailBps`), acceptable price and expiry;
   * what is not given stays (a new stop or take-profit trigger without an acceptable price gets
   * the slippage default). Only reports observed after the edit fill it.
   */
  async editOrder(req: { orderId: bigint; size?: bigint; triggerPrice?: bigint; trailBps?: bigint; acceptablePrice?: bigint; slippageBps?: number; validUntil?: number } & TxOptions): Promise<TxResult & { event: OrderEditedEvent }> {
    this.ctx.validate(req, { orderId: "id", size: "size?", triggerPrice: "price?", trailBps: "bigint?", validUntil: "count?" });
    const c = this.ctx;
    c.requireSigner("editOrder");
    const o = await this.uses.reads.getOrder(req.orderId);
    if (!o) throw c.reason({ name: "OrderNotFound", args: { orderId: req.orderId } });
    const trigger = o.kind === "TrailingStop" ? req.trailBps ?? o.trigger : req.triggerPrice ?? o.trigger;
    const acceptable = req.acceptablePrice ?? (req.triggerPrice !== undefined && o.kind !== "TrailingStop" ? this.#defaultAcceptable(o.kind, o.isLong, req) : o.acceptablePrice);
    const size = req.size ?? o.size;
    const validUntil = req.validUntil ?? o.validUntil;
    const stored = await this.#check(o.kind, o.isLong, o.marketId, trigger, acceptable, size, validUntil);
    const r = await this.#send("edit", [req.orderId, size, trigger, stored, validUntil], req);
    return { ...txResult(r), event: r.events.find((e): e is OrderEditedEvent => e.type === "OrderEdited")! };
  }

  /** Cancels an order or guard of the signer's: its escrow and fee return. */
  async cancelOrder(req: { orderId: bigint } & TxOptions): Promise<TxResult & { event: OrderCancelledEvent }> {
    this.ctx.validate(req, { orderId: "id" });
    this.ctx.requireSigner("cancelOrder");
    const r = await this.#send("cancel", [req.orderId], req);
    return { ...txResult(r), event: r.events.find((e): e is OrderCancelledEvent => e.type === "OrderCancelled")! };
  }

  /** Removes an expired order, or one whose position is gone (anyone): the caller is paid its gas from the fee. */
  async pruneOrder(req: { orderId: bigint } & TxOptions): Promise<TxResult & { event: OrderCancelledEvent }> {
    this.ctx.validate(req, { orderId: "id" });
    this.ctx.requireSigner("pruneOrder");
    const r = await this.#send("prune", [req.orderId], req);
    return { ...txResult(r), event: r.events.find((e): e is OrderCancelledEvent => e.type === "OrderCancelled")! };
  }

  /** The checks of the book's `_storeGuard`. */
  async #checkGuard(g: { threshold: bigint; amount: bigint; budget: bigint; executorFee: bigint; validUntil: number }): Promise<void> {
    if (g.threshold <= WAD || g.threshold > MAX_TOP_UP_THRESHOLD) throw new InvalidOrderError("threshold", `the health-factor threshold must be in (${WAD}, ${MAX_TOP_UP_THRESHOLD}] (WAD, above 1 and at most 10), got ${g.threshold}`);
    this.#positive("amount", g.amount);
    if (g.executorFee < 0n || g.executorFee > MAX_COLLATERAL) throw new InvalidOrderError("executorFee", `must be in [0, ${MAX_COLLATERAL}], got ${g.executorFee}`);
    if (g.budget < g.amount + g.executorFee || g.budget > MAX_COLLATERAL) throw new InvalidOrderError("budget", `the budget must pay at least one top-up and its fee (${g.amount + g.executorFee}) and be at most ${MAX_COLLATERAL}, got ${g.budget}`);
    await this.#checkValidUntil(g.validUntil);
  }

  /**
   * The allowance the book needs for the signer's guards once this one is set: nothing moves now,
   * the executions pull from the owner's wallet, so it covers this budget and those of the
   * owner's other live guards (one allowance serves them all).
   */
  async #guardAllowance(method: string, budget: bigint, editing: bigint | null): Promise<bigint> {
    const owner = await this.ctx.requireSigner(method).getAddress();
    const { guards } = await this.uses.reads.getOrders({ owner });
    return guards.reduce((sum, g) => (g.id === editing ? sum : sum + g.budget), budget);
  }

  async #guardTx(method: string, args: unknown[], budget: bigint, editing: bigint | null, opts: TxOptions): Promise<TxResult & { orderId: bigint; event: TopUpGuardSetEvent }> {
    const c = this.ctx;
    const book = await this.uses.reads.book();
    const needed = await this.#guardAllowance(method, budget, editing);
    const approvals: TransactionReceipt[] = await c.ensureAllowance(await book.getAddress(), needed, opts.approval ?? "exact", opts);
    const r = await this.#send(method, args, opts);
    const event = r.events.find((e): e is TopUpGuardSetEvent => e.type === "TopUpGuardSet")!;
    return { ...txResult(r), approvals: [...approvals, ...r.approvals], orderId: event.orderId, event };
  }

  async #planGuard(req: TopUpGuardRequest) {
    this.ctx.requireSigner("setTopUpGuard");
    this.ctx.validate(req, { id: "id", threshold: "factor", amount: "amount", budget: "amount", executorFee: "amount?", validUntil: "count?" });
    const g = { threshold: req.threshold, amount: req.amount, budget: req.budget, executorFee: req.executorFee ?? 0n, validUntil: req.validUntil ?? 0 };
    await this.#checkGuard(g);
    if (!(await this.uses.positions.getPosition(req.id))) throw this.ctx.reason({ name: "PositionNotFound", args: { id: req.id } });
    return { args: [req.id, g.threshold, g.amount, g.budget, g.executorFee, g.validUntil], budget: g.budget };
  }

  /**
   * Sets a top-up guard on position `id`: while its health factor at a fresh report is below
   * `threshold` (WAD), anyone may move `amount` from the signer's wallet into its vault and is paid
   * `executorFee`, within `budget` in all. Approves the book first for the budgets of all the
   * signer's live guards (one allowance serves them all; a limit order's escrow, pulled at
   * placement, also spends it).
   */
  async setTopUpGuard(req: TopUpGuardRequest & TxOptions): Promise<TxResult & { orderId: bigint; event: TopUpGuardSetEvent }> {
    const p = await this.#planGuard(req);
    return this.#guardTx("setTopUpGuard", p.args, p.budget, null, req);
  }

  /** The unsigned transactions of {@link Orders.setTopUpGuard}: [approval of the book for the guards' budgets if needed, setTopUpGuard]. */
  async prepareSetTopUpGuard(req: TopUpGuardRequest & TxOptions): Promise<PreparedTransactions> {
    const p = await this.#planGuard(req);
    const book = await this.uses.reads.book();
    // The guard pulls nothing when set, so it simulates without the allowance its executions need.
    const amount = await this.#guardAllowance("setTopUpGuard", p.budget, null);
    const [approvals, { transactions, simulated }] = await Promise.all([
      this.ctx.approvalsFor(await book.getAddress(), amount, req.approval ?? "exact"),
      this.ctx.prepare(book, "setTopUpGuard", p.args, req),
    ]);
    return { transactions: [...approvals, ...transactions], simulated };
  }

  /** Changes a guard (what is not given stays); its budget is set to `budget`, not added to. */
  async editTopUpGuard(req: { orderId: bigint; threshold?: bigint; amount?: bigint; budget?: bigint; executorFee?: bigint; validUntil?: number } & TxOptions): Promise<TxResult & { orderId: bigint; event: TopUpGuardSetEvent }> {
    this.ctx.validate(req, { orderId: "id", threshold: "factor?", amount: "amount?", budget: "amount?", executorFee: "amount?", validUntil: "count?" });
    const c = this.ctx;
    c.requireSigner("editTopUpGuard");
    const cur = await this.uses.reads.getTopUpGuard(req.orderId);
    if (!cur) throw c.reason({ name: "OrderNotFound", args: { orderId: req.orderId } });
    const g = { threshold: req.threshold ?? cur.threshold, amount: req.amount ?? cur.amount, budget: req.budget ?? cur.budget, executorFee: req.executorFee ?? cur.executorFee, validUntil: req.validUntil ?? cur.validUntil };
    await this.#checkGuard(g);
    return this.#guardTx("editTopUpGuard", [req.orderId, g.threshold, g.amount, g.budget, g.executorFee, g.validUntil], g.budget, req.orderId, req);
  }

  // ------------------------------------------------------------ executions (keepers)

  /** Executes a limit, stop-loss or take-profit order with a signed report that crosses it. */
  async executeOrder(req: { orderId: bigint; report: string } & TxOptions): Promise<TxResult & { positionId: PositionId; event: OrderExecutedEvent; events: OrderEvent[] }> {
    this.ctx.validate(req, { orderId: "id", report: "hex" });
    this.ctx.requireSigner("executeOrder");
    const r = await this.#send<bigint>("execute", [req.orderId, req.report], req);
    return this.#executed(r, req.orderId);
  }

  /** Executes a trailing stop with its peak report (earlier) and a fresh report at least the trail past it. */
  async executeTrailingStop(req: { orderId: bigint; peakReport: string; report: string } & TxOptions): Promise<TxResult & { positionId: PositionId; event: OrderExecutedEvent; events: OrderEvent[] }> {
    this.ctx.validate(req, { orderId: "id", peakReport: "hex", report: "hex" });
    this.ctx.requireSigner("executeTrailingStop");
    const r = await this.#send<bigint>("executeTrailingStop", [req.orderId, req.peakReport, req.report], req);
    return this.#executed(r, req.orderId);
  }

  #executed(r: Executed<bigint> & { events: OrderEvent[] }, orderId: bigint) {
    const event = r.events.find((e): e is OrderExecutedEvent => e.type === "OrderExecuted" && e.orderId === orderId)!;
    return { ...txResult(r), positionId: event.positionId, event, events: r.events };
  }

  /** Tops up a guarded position whose health factor at a fresh report is below its threshold. */
  async executeTopUp(req: { orderId: bigint; report: string } & TxOptions): Promise<TxResult & { event: TopUpExecutedEvent; events: OrderEvent[] }> {
    this.ctx.validate(req, { orderId: "id", report: "hex" });
    this.ctx.requireSigner("executeTopUp");
    const r = await this.#send("executeTopUp", [req.orderId, req.report], req);
    return { ...txResult(r), event: r.events.find((e): e is TopUpExecutedEvent => e.type === "TopUpExecuted")!, events: r.events };
  }
}
