/**
 * Two-step trade requests (DESIGN.md "Requests and price reports"): their on-chain record and
 * events, and the pure rules a front-end or executor needs without a call: which report a request
 * settles at, which side of the book fills it, when it expires and when its push-feed fallback
 * opens, and the range its fill can fall in.
 * @module
 */
import { Interface, type Log } from "ethers";
import { bulkheadRouterAbi } from "./abis/bulkheadRouter.js";
import { MathLib } from "./math/MathLib.js";
import { PositionMath } from "./math/PositionMath.js";
import type { LogMeta } from "./events.js";

/** The kinds of request, numbered as the contract's `RequestKind`. */
export const RequestKind = { Open: 1, Increase: 2, Decrease: 3, Close: 4 } as const;
export type RequestKindName = keyof typeof RequestKind;
const KIND_NAMES = ["None", "Open", "Increase", "Decrease", "Close"] as const;

/** A pending request as the router stores it (`router.request(id)`). */
export interface TradeRequest {
  account: string;
  kind: RequestKindName;
  isLong: boolean;
  marketId: number;
  /** Unix seconds of the block that created it. */
  createdAt: number;
  settlementDelay: number;
  /** 0 for an open. */
  positionId: bigint;
  acceptablePrice: bigint;
  /** Native-token wei escrowed for the executor. */
  executionFee: bigint;
  expiry: number;
  gasLimit: number;
  /** 0 for a close (all of the position at execution). */
  size: bigint;
  /** Escrowed token units (open, increase): the open fee comes out of it at the fill. */
  collateral: bigint;
}

/** Decodes `router.request(id)`; null when no request is pending under that id. */
export function toTradeRequest(raw: Record<string, unknown> & unknown[]): TradeRequest | null {
  const kind = Number(raw[1]);
  if (kind === 0) return null;
  return {
    account: String(raw[0]),
    kind: KIND_NAMES[kind] as RequestKindName,
    isLong: Boolean(raw[2]),
    marketId: Number(raw[3]),
    createdAt: Number(raw[4]),
    settlementDelay: Number(raw[5]),
    positionId: BigInt(raw[6] as bigint),
    acceptablePrice: BigInt(raw[7] as bigint),
    executionFee: BigInt(raw[8] as bigint),
    expiry: Number(raw[9]),
    gasLimit: Number(raw[10]),
    size: BigInt(raw[11] as bigint),
    collateral: BigInt(raw[12] as bigint),
  };
}

/** The second whose report fills the request: creation time plus the settlement delay. */
export function settlementTime(r: Pick<TradeRequest, "createdAt" | "settlementDelay">): number {
  return r.createdAt + r.settlementDelay;
}

/** The last second at which the request can be executed; after it, only cancelled. */
export function expiresAt(r: Pick<TradeRequest, "createdAt" | "expiry">): number {
  return r.createdAt + r.expiry;
}

/** True when the trade buys the index (a long's open or increase, a short's decrease or close): it fills at the ask. */
export function buys(kind: RequestKindName, isLong: boolean): boolean {
  return (kind === "Open" || kind === "Increase") === isLong;
}

/** True when `report`'s window [validFrom, observations] contains the request's settlement time. */
export function reportSettles(r: Pick<TradeRequest, "createdAt" | "settlementDelay">, report: { validFromTimestamp: number; observationsTimestamp: number }): boolean {
  const t = settlementTime(r);
  return report.validFromTimestamp <= t && t <= report.observationsTimestamp;
}

/** Where a request stands at time `now` (Unix seconds). */
export type RequestStatus = "waiting-for-report" | "executable" | "expired";

export function requestStatus(r: Pick<TradeRequest, "createdAt" | "settlementDelay" | "expiry">, now: number): RequestStatus {
  if (now > expiresAt(r)) return "expired";
  return now < settlementTime(r) ? "waiting-for-report" : "executable";
}

/** The fill price range of a request, from the push price and the stream's deviation bound. */
export interface FillRange {
  /** Lowest price the fill can have (WAD). */
  min: bigint;
  /** Highest price the fill can have (WAD). */
  max: bigint;
}

/**
 * The range a fill can fall in: the report's benchmark is within `maxDeviationBps` of the push
 * price at execution, and a fill past the acceptable price cancels the request instead. The
 * bid/ask spread around the benchmark is bounded only by the acceptable price, so the buy side's
 * top (and the sell side's bottom) is the acceptable price itself.
 */
export function fillRange(pushPrice: bigint, maxDeviationBps: bigint, buying: boolean, acceptablePrice: bigint): FillRange {
  const { min, max } = benchmarkRange(pushPrice, maxDeviationBps);
  return buying ? { min, max: acceptablePrice } : { min: acceptablePrice, max };
}

/**
 * The benchmark prices a report can carry and still pass the oracle's deviation check against
 * `pushPrice` (`DataStreamsLib.check`: |price - push| * BPS <= push * bps), both ends inclusive.
 */
export function benchmarkRange(pushPrice: bigint, maxDeviationBps: bigint): FillRange {
  return { min: MathLib.mulDivUp(pushPrice, 10_000n - maxDeviationBps, 10_000n), max: MathLib.mulDivDown(pushPrice, 10_000n + maxDeviationBps, 10_000n) };
}

/** The open fee of `size` at `price`, as the router takes it from the amount (mirrors the contract, rounded up). */
export function requestOpenFee(size: bigint, price: bigint, openFeeRate: bigint, unit: bigint): bigint {
  return MathLib.wMulUp(PositionMath.notionalUp(size, price, unit), openFeeRate);
}

// ---------------------------------------------------------------- events

export interface RequestCreatedEvent extends LogMeta {
  type: "RequestCreated";
  requestId: bigint;
  account: string;
  kind: RequestKindName;
  marketId: number;
  positionId: bigint;
  isLong: boolean;
  collateral: bigint;
  size: bigint;
  acceptablePrice: bigint;
  executionFee: bigint;
  settlesAt: number;
  expiresAt: number;
}

export interface RequestExecutedEvent extends LogMeta {
  type: "RequestExecuted";
  requestId: bigint;
  executor: string;
  positionId: bigint;
  fillPrice: bigint;
  executorFee: bigint;
  refund: bigint;
}

export interface RequestCancelledEvent extends LogMeta {
  type: "RequestCancelled";
  requestId: bigint;
  by: string;
  /** The engine's revert data when an execution cancelled it, "0x" when its account did. */
  reason: string;
  executorFee: bigint;
  refund: bigint;
}

export type RequestEvent = RequestCreatedEvent | RequestExecutedEvent | RequestCancelledEvent;

let routerInterface: Interface | undefined;
/** The router's interface (ABI from the artifacts). */
export function bulkheadRouterInterface(): Interface {
  routerInterface ??= new Interface(bulkheadRouterAbi as never);
  return routerInterface;
}

/** The topic0 of each request event. */
export function requestEventTopics(): string[] {
  const i = bulkheadRouterInterface();
  return ["RequestCreated", "RequestExecuted", "RequestCancelled"].map((n) => i.getEvent(n)!.topicHash);
}

/** Decodes a router log into its request event, or null for any other log. */
export function decodeRequestEvent(log: Pick<Log, "topics" | "data" | "blockNumber" | "transactionHash" | "index">): RequestEvent | null {
  let parsed;
  try {
    parsed = bulkheadRouterInterface().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return null;
  }
  if (!parsed) return null;
  const meta: LogMeta = { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.index };
  const a = parsed.args;
  switch (parsed.name) {
    case "RequestCreated":
      return {
        ...meta,
        type: "RequestCreated",
        requestId: a.requestId as bigint,
        account: a.account as string,
        kind: KIND_NAMES[Number(a.kind)] as RequestKindName,
        marketId: Number(a.marketId),
        positionId: a.positionId as bigint,
        isLong: a.isLong as boolean,
        collateral: a.collateral as bigint,
        size: a.size as bigint,
        acceptablePrice: a.acceptablePrice as bigint,
        executionFee: a.executionFee as bigint,
        settlesAt: Number(a.settlesAt),
        expiresAt: Number(a.expiresAt),
      };
    case "RequestExecuted":
      return { ...meta, type: "RequestExecuted", requestId: a.requestId as bigint, executor: a.executor as string, positionId: a.positionId as bigint, fillPrice: a.fillPrice as bigint, executorFee: a.executorFee as bigint, refund: a.refund as bigint };
    case "RequestCancelled":
      return { ...meta, type: "RequestCancelled", requestId: a.requestId as bigint, by: a.by as string, reason: a.reason as string, executorFee: a.executorFee as bigint, refund: a.refund as bigint };
    default:
      return null;
  }
}
