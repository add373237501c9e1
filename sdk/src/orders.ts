/**
 * Trigger orders (DESIGN.md "Orders"): their on-chain records and events, the pure trigger rules
 * of `contracts/libraries/OrderLogic.sol` mirrored function for function, and the quotes a
 * front-end or executor needs without a call: whether a report fills an order and at what price,
 * the price at which a trailing stop becomes due from a peak, and a top-up guard's health factor.
 * Every number is a bigint in the contract's unit (WAD prices, token-unit amounts, bps trails).
 * @module
 */
import { Interface, type Log } from "ethers";
import { bulkheadOrderBookAbi } from "./abis/bulkheadOrderBook.js";
import { ConstantsLib } from "./math/ConstantsLib.js";
import { HealthLib, type HealthInput } from "./math/HealthLib.js";
import { decodeReportV3, decodeSignedReport } from "./streams/report.js";
import type { LogMeta } from "./events.js";
import type { Health, RiskParams } from "./types.js";

const { BPS, WAD } = ConstantsLib;

/** The kinds of trigger order, numbered as the contract's `OrderKind`. */
export const OrderKind = { None: 0, LimitOpen: 1, LimitIncrease: 2, StopLoss: 3, TakeProfit: 4, TrailingStop: 5 } as const;
export type OrderKindName = Exclude<keyof typeof OrderKind, "None">;
const KIND_NAMES = ["None", "LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit", "TrailingStop"] as const;

/** What an order acts on, numbered as the contract's `OrderTarget`. */
export const OrderTarget = { Position: 0, OpenRequest: 1, LimitOpenOrder: 2 } as const;
export type OrderTargetName = keyof typeof OrderTarget;
const TARGET_NAMES = ["Position", "OpenRequest", "LimitOpenOrder"] as const;

/** Why an order left the book unfilled, numbered as the contract's `CancelReason`. */
export const CancelReason = { Owner: 0, Sibling: 1, Dead: 2 } as const;
export type CancelReasonName = keyof typeof CancelReason;
const REASON_NAMES = ["Owner", "Sibling", "Dead"] as const;

/** True for a limit open or limit increase (their trigger is their fill bound). */
export function isLimitKind(kind: OrderKindName): boolean {
  return kind === "LimitOpen" || kind === "LimitIncrease";
}

// ---------------------------------------------------------------- records

/** A live trigger order as the book stores it (`book.order(id)`). */
export interface Order {
  owner: string;
  kind: OrderKindName;
  isLong: boolean;
  marketId: number;
  /** The position, the open request or the limit-open order named by `target`; 0 for a limit open. */
  positionId: bigint;
  /** Only reports observed strictly after this second fill it (placement or last edit). */
  observedAfter: number;
  target: OrderTargetName;
  /** The limit, stop or take-profit price (WAD), or the trail in bps of a trailing stop. */
  trigger: bigint;
  /** The worst fill price (a limit's is its limit). */
  acceptablePrice: bigint;
  /** Native-token wei escrowed for the executor. */
  executionFee: bigint;
  /** Size to open or add, or to take off (0: the whole position). */
  size: bigint;
  /** Escrowed collateral of a limit open or increase, token units. */
  amount: bigint;
  /** Unix seconds of its expiry; 0: valid until cancelled. */
  validUntil: number;
}

/** A top-up guard as the book stores it (`book.topUpGuard(id)`). */
export interface TopUpGuard {
  owner: string;
  positionId: bigint;
  observedAfter: number;
  validUntil: number;
  /** Health factor (WAD) below which a top-up may be executed. */
  threshold: bigint;
  /** Token units moved into the position per top-up. */
  amount: bigint;
  /** Token units paid to the executor per top-up. */
  executorFee: bigint;
  /** What is left to spend on top-ups and their fees. */
  budget: bigint;
}

/** Decodes `book.order(id)`; null when no order is live under that id. */
export function toOrder(raw: Record<string, unknown> & unknown[]): Order | null {
  const kind = Number(raw[1]);
  if (kind === 0) return null;
  return {
    owner: String(raw[0]),
    kind: KIND_NAMES[kind] as OrderKindName,
    isLong: Boolean(raw[2]),
    marketId: Number(raw[3]),
    positionId: BigInt(raw[4] as bigint),
    observedAfter: Number(raw[5]),
    target: TARGET_NAMES[Number(raw[6])] as OrderTargetName,
    trigger: BigInt(raw[7] as bigint),
    acceptablePrice: BigInt(raw[8] as bigint),
    executionFee: BigInt(raw[9] as bigint),
    size: BigInt(raw[10] as bigint),
    amount: BigInt(raw[11] as bigint),
    validUntil: Number(raw[12]),
  };
}

const ZERO_ADDRESS = /^0x0{40}$/i;

/** Decodes `book.topUpGuard(id)`; null when no guard is live under that id. */
export function toTopUpGuard(raw: Record<string, unknown> & unknown[]): TopUpGuard | null {
  const owner = String(raw[0]);
  if (ZERO_ADDRESS.test(owner)) return null;
  return {
    owner,
    positionId: BigInt(raw[1] as bigint),
    observedAfter: Number(raw[2]),
    validUntil: Number(raw[3]),
    threshold: BigInt(raw[4] as bigint),
    amount: BigInt(raw[5] as bigint),
    executorFee: BigInt(raw[6] as bigint),
    budget: BigInt(raw[7] as bigint),
  };
}

/** True when an order or guard with `validUntil` has expired at `now` (strictly after it). */
export function orderExpired(validUntil: number, now: number): boolean {
  return validUntil !== 0 && now > validUntil;
}

// ---------------------------------------------------------------- OrderLogic mirror

/** Mirror of `contracts/libraries/OrderLogic.sol`: the trigger rules, exactly. */
export namespace OrderLogic {
  /** Whether an order of `kind` buys (a long's limit open or increase, a short's exits): it fills at the ask. */
  export function buys(kind: OrderKindName, isLong: boolean): boolean {
    return isLimitKind(kind) === isLong;
  }

  /**
   * Whether `trigger` is on the side of `current` where it waits: below for a long's limit and
   * stop and a short's take-profit, above for the rest. Equality is refused (due at once).
   */
  export function waitsAt(kind: OrderKindName, isLong: boolean, trigger: bigint, current: bigint): boolean {
    const below = (kind === "TakeProfit") !== isLong;
    return below ? trigger < current : trigger > current;
  }

  /**
   * Whether a report crosses a limit, stop or take-profit: a limit compares the price it fills at
   * (`fill`), the others the benchmark `price`; equality crosses.
   */
  export function crossed(kind: OrderKindName, isLong: boolean, trigger: bigint, price: bigint, fill: bigint): boolean {
    const observed = isLimitKind(kind) ? fill : price;
    const below = (kind === "TakeProfit") !== isLong;
    return below ? observed <= trigger : observed >= trigger;
  }

  /** Whether `price` is at least `trailBps` past `peak` against the position, exactly in integers. */
  export function trailReached(isLong: boolean, trailBps: bigint, peak: bigint, price: bigint): boolean {
    return isLong ? price * BPS <= peak * (BPS - trailBps) : price * BPS >= peak * (BPS + trailBps);
  }

  /** Whether a stop's acceptable price can be met when it triggers (a seller fills at most the trigger, a buyer at least). */
  export function stopReachable(isLong: boolean, trigger: bigint, acceptablePrice: bigint): boolean {
    return isLong ? acceptablePrice <= trigger : acceptablePrice >= trigger;
  }
}

// ---------------------------------------------------------------- quotes

/** The prices of a report an order is executed with (WAD): benchmark `price`, `bid` <= price <= `ask`. */
export interface ReportQuote {
  bid: bigint;
  price: bigint;
  ask: bigint;
  /** Unix seconds of the observation, when known (checked against the order's `observedAfter`). */
  observedAt?: number;
}

/** The prices and observation time of a signed v3 report (hex, as the Data Streams API's `fullReport`). */
export function reportQuoteOf(signedReport: string): Required<ReportQuote> {
  const r = decodeReportV3(decodeSignedReport(signedReport).reportData);
  return { bid: r.bid, price: r.price, ask: r.ask, observedAt: r.observationsTimestamp };
}

/** What a report does to an order (see {@link quoteOrderFill}). */
export interface OrderFillQuote {
  /** Fills at the ask (true) or the bid. */
  buying: boolean;
  /** The price the trigger is compared with: the fill price for a limit, the benchmark otherwise. */
  observed: bigint;
  /** The report crosses the trigger (a trailing stop: reaches the trail past the peak). */
  due: boolean;
  /** The price the order fills at: the ask when buying, the bid when selling. */
  fillPrice: bigint;
  /** The fill price is within the acceptable price (else the execution reverts FillPastAcceptablePrice). */
  acceptable: boolean;
  /** The report was observed after the order (unknown observation time: true). */
  afterOrder: boolean;
  /** Due, acceptable and after the order: an execution with this report fills (freshness and the position aside). */
  fills: boolean;
}

type FillInput = Pick<Order, "kind" | "isLong" | "trigger" | "acceptablePrice" | "observedAfter">;

function fillQuote(o: FillInput, q: ReportQuote, observed: bigint, due: boolean): OrderFillQuote {
  const buying = OrderLogic.buys(o.kind, o.isLong);
  const fillPrice = buying ? q.ask : q.bid;
  const acceptable = buying ? fillPrice <= o.acceptablePrice : fillPrice >= o.acceptablePrice;
  const afterOrder = q.observedAt === undefined || q.observedAt > o.observedAfter;
  return { buying, observed, due, fillPrice, acceptable, afterOrder, fills: due && acceptable && afterOrder };
}

/**
 * Whether a report fills a limit, stop-loss or take-profit order, and at what price, as
 * `book.execute` decides: due when it crosses (`TriggerNotCrossed` otherwise), then the fill
 * price must hold the acceptable price (`FillPastAcceptablePrice` otherwise).
 */
export function quoteOrderFill(o: FillInput, q: ReportQuote): OrderFillQuote {
  if (o.kind === "TrailingStop") throw new TypeError("a trailing stop fills with two reports: use quoteTrailingStopFill");
  const buying = OrderLogic.buys(o.kind, o.isLong);
  const fill = buying ? q.ask : q.bid;
  const due = OrderLogic.crossed(o.kind, o.isLong, o.trigger, q.price, fill);
  return fillQuote(o, q, isLimitKind(o.kind) ? fill : q.price, due);
}

/**
 * Whether a trailing stop fills with a peak report's benchmark `peakPrice` and a later report
 * `q`, as `book.executeTrailingStop` decides (`TrailNotReached` when not due).
 */
export function quoteTrailingStopFill(o: FillInput, peakPrice: bigint, q: ReportQuote): OrderFillQuote {
  if (o.kind !== "TrailingStop") throw new TypeError("not a trailing stop: use quoteOrderFill");
  return fillQuote(o, q, q.price, OrderLogic.trailReached(o.isLong, o.trigger, peakPrice, q.price));
}

/**
 * The benchmark price at which a trailing stop with `trailBps` becomes due from `peak`: for a
 * long the highest price with price * BPS <= peak * (BPS - trail) (rounded down), for a short
 * the lowest with price * BPS >= peak * (BPS + trail) (rounded up). Exactly the boundary of
 * {@link OrderLogic.trailReached}.
 */
export function trailingStopPrice(isLong: boolean, trailBps: bigint, peak: bigint): bigint {
  if (isLong) return (peak * (BPS - trailBps)) / BPS;
  const n = peak * (BPS + trailBps);
  return (n + BPS - 1n) / BPS;
}

/** A top-up guard's view of a position at one price (see {@link quoteTopUp}). */
export interface TopUpQuote {
  health: Health;
  /** equity * WAD / maintenance, rounded towards zero (what `TopUpExecuted` reports); null when maintenance is 0. */
  healthFactor: bigint | null;
  /** equity * WAD < threshold * maintenance, exactly: a top-up at this price is allowed. */
  due: boolean;
  /** The guard's budget pays another top-up and its fee. */
  withinBudget: boolean;
  /** equity + amount >= maintenance: the top-up lifts the position out of liquidation at this price
   * (else the book refuses it, `TopUpCannotSave`). */
  saves: boolean;
  /** due && saves: an execution at this price tops up. */
  executes: boolean;
  /** What the top-up spends from the budget (amount + executor fee), and what is left after it. */
  spend: bigint;
  budgetLeft: bigint;
  /** The guard is deleted after this top-up (the rest cannot pay another). */
  lastTopUp: boolean;
}

/**
 * What `book.executeTopUp` decides at benchmark `price` and borrow `index`: the position's
 * health by the HealthLib mirror, due exactly when equity * WAD < threshold * maintenance.
 */
export function quoteTopUp(
  g: Pick<TopUpGuard, "threshold" | "amount" | "executorFee" | "budget">,
  p: HealthInput,
  risk: RiskParams,
  price: bigint,
  index: bigint,
  unit: bigint,
): TopUpQuote {
  const health = HealthLib.health(p, risk, price, index, unit);
  const healthFactor = health.maintenance === 0n ? null : (health.equity * WAD) / health.maintenance;
  const due = health.equity * WAD < g.threshold * health.maintenance;
  const spend = g.amount + g.executorFee;
  const withinBudget = spend <= g.budget;
  const budgetLeft = withinBudget ? g.budget - spend : g.budget;
  const saves = health.equity + g.amount >= health.maintenance;
  return { health, healthFactor, due, withinBudget, saves, executes: due && saves, spend, budgetLeft, lastTopUp: withinBudget && budgetLeft < spend };
}

// ---------------------------------------------------------------- events

export interface OrderPlacedEvent extends LogMeta {
  type: "OrderPlaced";
  orderId: bigint;
  owner: string;
  /** The target's id (position, open request or limit order; 0 for a limit open). */
  positionId: bigint;
  kind: OrderKindName;
  target: OrderTargetName;
  marketId: number;
  isLong: boolean;
  amount: bigint;
  size: bigint;
  trigger: bigint;
  acceptablePrice: bigint;
  executionFee: bigint;
  validUntil: number;
}

export interface BracketLinkedEvent extends LogMeta {
  type: "BracketLinked";
  stopLossId: bigint;
  takeProfitId: bigint;
}

export interface OrderEditedEvent extends LogMeta {
  type: "OrderEdited";
  orderId: bigint;
  size: bigint;
  trigger: bigint;
  acceptablePrice: bigint;
  validUntil: number;
}

export interface OrderExecutedEvent extends LogMeta {
  type: "OrderExecuted";
  orderId: bigint;
  executor: string;
  positionId: bigint;
  price: bigint;
  observedAt: number;
  toExecutor: bigint;
  refund: bigint;
}

export interface OrderCancelledEvent extends LogMeta {
  type: "OrderCancelled";
  orderId: bigint;
  by: string;
  reason: CancelReasonName;
  toExecutor: bigint;
  refund: bigint;
}

export interface TopUpGuardSetEvent extends LogMeta {
  type: "TopUpGuardSet";
  orderId: bigint;
  owner: string;
  positionId: bigint;
  threshold: bigint;
  amount: bigint;
  budget: bigint;
  executorFee: bigint;
  validUntil: number;
}

export interface TopUpExecutedEvent extends LogMeta {
  type: "TopUpExecuted";
  orderId: bigint;
  executor: string;
  positionId: bigint;
  amount: bigint;
  executorFee: bigint;
  budgetLeft: bigint;
  healthFactor: bigint;
  observedAt: number;
}

export interface AttachedOpenFilledEvent extends LogMeta {
  type: "AttachedOpenFilled";
  target: OrderTargetName;
  sourceId: bigint;
  positionId: bigint;
}

export type OrderEvent =
  | OrderPlacedEvent
  | BracketLinkedEvent
  | OrderEditedEvent
  | OrderExecutedEvent
  | OrderCancelledEvent
  | TopUpGuardSetEvent
  | TopUpExecutedEvent
  | AttachedOpenFilledEvent;

export type OrderEventType = OrderEvent["type"];
const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  "OrderPlaced",
  "BracketLinked",
  "OrderEdited",
  "OrderExecuted",
  "OrderCancelled",
  "TopUpGuardSet",
  "TopUpExecuted",
  "AttachedOpenFilled",
];

let bookInterface: Interface | undefined;
/** The order book's interface (ABI from the artifacts). */
export function bulkheadOrderBookInterface(): Interface {
  bookInterface ??= new Interface(bulkheadOrderBookAbi as never);
  return bookInterface;
}

/** The topic0 of each order event. */
export function orderEventTopics(): string[] {
  const i = bulkheadOrderBookInterface();
  return ORDER_EVENT_TYPES.map((n) => i.getEvent(n)!.topicHash);
}

const SMALL = new Set(["marketId", "validUntil", "observedAt"]);

/** Decodes an order book log into its order event, or null for any other log. */
export function decodeOrderEvent(log: Pick<Log, "topics" | "data" | "blockNumber" | "transactionHash" | "index">): OrderEvent | null {
  let parsed;
  try {
    parsed = bulkheadOrderBookInterface().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return null;
  }
  if (!parsed || !(ORDER_EVENT_TYPES as readonly string[]).includes(parsed.name)) return null;
  const out: Record<string, unknown> = { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.index, type: parsed.name };
  parsed.fragment.inputs.forEach((input, i) => {
    const v = parsed.args[i] as unknown;
    if (input.name === "kind") out.kind = KIND_NAMES[Number(v)];
    else if (input.name === "target") out.target = TARGET_NAMES[Number(v)];
    else if (input.name === "reason") out.reason = REASON_NAMES[Number(v)];
    else out[input.name] = SMALL.has(input.name) ? Number(v) : v;
  });
  return out as unknown as OrderEvent;
}
