/**
 * Typed errors of trigger orders: every custom error of the order book (and the router's order
 * book setting) as a sentence with its numbers, and {@link InvalidOrderError}, which the client
 * throws before sending when an order breaks a rule the contract checks (DESIGN.md "Orders").
 * @module
 */
import { ContractRevertError, InvalidInputError, registerRevertClasses, type ErrorFormatter, type RevertClass } from "./errors.js";

const KINDS = ["None", "LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit", "TrailingStop"];
const TARGETS = ["Position", "OpenRequest", "LimitOpenOrder"];
const kindName = (k: bigint) => KINDS[Number(k)] ?? `kind ${k}`;
const targetName = (t: bigint) => TARGETS[Number(t)] ?? `target ${t}`;
const wadRatio = (x: bigint) => `${Number(x) / 1e18}`;

/**
 * An order the SDK can tell is invalid before sending it: `field` names the parameter at fault
 * (e.g. "trigger", "trailBps", "threshold", "budget") and the message says what it must be.
 */
export class InvalidOrderError extends InvalidInputError {
  override name = "InvalidOrderError";
}

/** No live order or guard has this id. */
export class OrderNotFoundError extends ContractRevertError<{ orderId: bigint }> {
  override name = "OrderNotFoundError";
  protected override describe() {
    return `order ${this.args.orderId} is not in the book: it was executed, cancelled or pruned, or never placed`;
  }
}

/** Only an order's owner may edit or cancel it. */
export class NotOrderOwnerError extends ContractRevertError<{ orderId: bigint; caller: string }> {
  override name = "NotOrderOwnerError";
  protected override describe() {
    return `${this.args.caller} does not own order ${this.args.orderId}: only its owner may edit or cancel it`;
  }
}

/** The kind or target is not valid where it was used. */
export class OrderKindInvalidError extends ContractRevertError<{ kind: bigint; target: bigint }> {
  override name = "OrderKindInvalidError";
  protected override describe() {
    return `a ${kindName(this.args.kind)} order on a ${targetName(this.args.target)} target is not valid here (a limit open names no position, a limit increase only an open position, a bracket is a stop-loss and a take-profit on one target, a trailing stop executes with two reports)`;
  }
}

/** The trigger is on the wrong side of the current price. */
export class TriggerOnWrongSideError extends ContractRevertError<{ kind: bigint; isLong: boolean; trigger: bigint; currentPrice: bigint }> {
  override name = "TriggerOnWrongSideError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    const kind = kindName(a.kind);
    const below = (kind === "TakeProfit") !== a.isLong;
    return `a ${a.isLong ? "long" : "short"}'s ${kind} must wait ${below ? "below" : "above"} the current price ${f.price(a.currentPrice)}; its trigger ${f.price(a.trigger)} would be due at once`;
  }
}

/** A stop's acceptable price can never be met once it triggers. */
export class AcceptablePriceUnreachableError extends ContractRevertError<{ trigger: bigint; acceptablePrice: bigint }> {
  override name = "AcceptablePriceUnreachableError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    if (a.acceptablePrice === 0n) return "a buying exit's acceptable price of 0 can never be met (every fill price is positive)";
    return `the stop's acceptable price ${f.price(a.acceptablePrice)} can never be met once it triggers at ${f.price(a.trigger)} (a seller's must be at most the trigger, a buyer's at least)`;
  }
}

/** `validUntil` is not in the future. */
export class ValidUntilInPastError extends ContractRevertError<{ validUntil: bigint; blockTimestamp: bigint }> {
  override name = "ValidUntilInPastError";
  protected override describe(f: ErrorFormatter) {
    return `the expiry ${f.time(this.args.validUntil)} is not after the block time ${f.time(this.args.blockTimestamp)} (0 means valid until cancelled)`;
  }
}

/** The order expired; it can only be cancelled or pruned. */
export class OrderExpiredError extends ContractRevertError<{ orderId: bigint; validUntil: bigint; blockTimestamp: bigint }> {
  override name = "OrderExpiredError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `order ${a.orderId} expired at ${f.time(a.validUntil)} (block time ${f.time(a.blockTimestamp)}): it can only be cancelled or pruned`;
  }
}

/** The open the order is attached to has not filled yet. */
export class OrderNotActiveError extends ContractRevertError<{ orderId: bigint }> {
  override name = "OrderNotActiveError";
  protected override describe() {
    return `order ${this.args.orderId} waits for the open it is attached to: it can fill once that open has filled`;
  }
}

/** The order's position is gone or no longer the owner's to trade. */
export class OrderPositionGoneError extends ContractRevertError<{ orderId: bigint; positionId: bigint }> {
  override name = "OrderPositionGoneError";
  protected override describe() {
    const a = this.args;
    return `order ${a.orderId} can never fill: its position ${a.positionId === 0n ? "was never opened" : `${a.positionId} is closed, liquidated or no longer its owner's to trade`}; anyone may prune it`;
  }
}

/** Only a dead or expired order may be pruned. */
export class OrderStillLiveError extends ContractRevertError<{ orderId: bigint }> {
  override name = "OrderStillLiveError";
  protected override describe() {
    return `order ${this.args.orderId} can still fill: only an expired order or one whose position is gone may be pruned`;
  }
}

/** The report was not observed after the order was placed (or last edited or topped up). */
export class ReportNotAfterOrderError extends ContractRevertError<{ orderId: bigint; observedAt: bigint; observedAfter: bigint }> {
  override name = "ReportNotAfterOrderError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the report observed at ${f.time(a.observedAt)} is not after order ${a.orderId} (placed, edited or last executed at ${f.time(a.observedAfter)}): only later reports fill it`;
  }
}

/** The report is older than the book's maximum report age. */
export class ReportTooOldError extends ContractRevertError<{ observedAt: bigint; maxAge: bigint; blockTimestamp: bigint }> {
  override name = "ReportTooOldError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the report observed at ${f.time(a.observedAt)} is more than ${a.maxAge}s old at block time ${f.time(a.blockTimestamp)}: execute with a fresh report`;
  }
}

/** The report has not crossed the order's trigger. */
export class TriggerNotCrossedError extends ContractRevertError<{ orderId: bigint; trigger: bigint; reportPrice: bigint }> {
  override name = "TriggerNotCrossedError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the report's price ${f.price(a.reportPrice)} has not crossed order ${a.orderId}'s trigger ${f.price(a.trigger)}`;
  }
}

/** The fill price is past the order's acceptable price: the order does not fill and stays. */
export class FillPastAcceptablePriceError extends ContractRevertError<{ orderId: bigint; acceptablePrice: bigint; fillPrice: bigint }> {
  override name = "FillPastAcceptablePriceError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `order ${a.orderId} would fill at ${f.price(a.fillPrice)}, past its acceptable price ${f.price(a.acceptablePrice)}: it does not fill and stays in the book`;
  }
}

/** A trailing stop's peak report must be observed before its second report. */
export class TrailingReportsOutOfOrderError extends ContractRevertError<{ peakObservedAt: bigint; observedAt: bigint }> {
  override name = "TrailingReportsOutOfOrderError";
  protected override describe(f: ErrorFormatter) {
    return `the peak report (observed ${f.time(this.args.peakObservedAt)}) must be observed before the fill report (observed ${f.time(this.args.observedAt)})`;
  }
}

/** The second report is less than the trail past the peak report. */
export class TrailNotReachedError extends ContractRevertError<{ orderId: bigint; peakPrice: bigint; price: bigint; trailBps: bigint }> {
  override name = "TrailNotReachedError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `trailing stop ${a.orderId} is not due: the price ${f.price(a.price)} is less than ${Number(a.trailBps) / 100}% past the peak ${f.price(a.peakPrice)}`;
  }
}

/** The position's health factor is not below the guard's threshold. */
export class PositionHealthyError extends ContractRevertError<{ orderId: bigint; healthFactor: bigint; threshold: bigint }> {
  override name = "PositionHealthyError";
  protected override describe() {
    const a = this.args;
    return `guard ${a.orderId} cannot top up: the position's health factor ${wadRatio(a.healthFactor)} at the report is not below its threshold ${wadRatio(a.threshold)}`;
  }
}

/** A top-up of the guard's amount would leave the position below maintenance at the report. */
export class TopUpCannotSaveError extends ContractRevertError<{ orderId: bigint; equityAfter: bigint; maintenance: bigint }> {
  override name = "TopUpCannotSaveError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    const equity = a.equityAfter < 0n ? `-${f.amount(-a.equityAfter)}` : f.amount(a.equityAfter);
    return `guard ${a.orderId} would not save the position: its equity after the top-up would be ${equity}, below the ${f.amount(a.maintenance)} maintenance at the report, so the top-up would only add to a liquidation (raise the amount per top-up)`;
  }
}

/** The router's order book is set once. */
export class OrderBookAlreadySetError extends ContractRevertError<{ orderBook: string }> {
  override name = "OrderBookAlreadySetError";
  protected override describe() {
    return `the router's order book is already ${this.args.orderBook}; it is set once`;
  }
}

/** The order book must have been deployed for this router. */
export class OrderBookMismatchError extends ContractRevertError<{ orderBook: string }> {
  override name = "OrderBookMismatchError";
  protected override describe() {
    return `${this.args.orderBook} is not an order book of this router (its router() is another contract)`;
  }
}

/** The classes above by Solidity error name (merged into the SDK's decoder). */
export const ORDER_ERROR_CLASSES: Record<string, RevertClass> = {
  OrderNotFound: OrderNotFoundError as unknown as RevertClass,
  NotOrderOwner: NotOrderOwnerError as unknown as RevertClass,
  OrderKindInvalid: OrderKindInvalidError as unknown as RevertClass,
  TriggerOnWrongSide: TriggerOnWrongSideError as unknown as RevertClass,
  AcceptablePriceUnreachable: AcceptablePriceUnreachableError as unknown as RevertClass,
  ValidUntilInPast: ValidUntilInPastError as unknown as RevertClass,
  OrderExpired: OrderExpiredError as unknown as RevertClass,
  OrderNotActive: OrderNotActiveError as unknown as RevertClass,
  OrderPositionGone: OrderPositionGoneError as unknown as RevertClass,
  OrderStillLive: OrderStillLiveError as unknown as RevertClass,
  ReportNotAfterOrder: ReportNotAfterOrderError as unknown as RevertClass,
  ReportTooOld: ReportTooOldError as unknown as RevertClass,
  TriggerNotCrossed: TriggerNotCrossedError as unknown as RevertClass,
  FillPastAcceptablePrice: FillPastAcceptablePriceError as unknown as RevertClass,
  TrailingReportsOutOfOrder: TrailingReportsOutOfOrderError as unknown as RevertClass,
  TrailNotReached: TrailNotReachedError as unknown as RevertClass,
  PositionHealthy: PositionHealthyError as unknown as RevertClass,
  TopUpCannotSave: TopUpCannotSaveError as unknown as RevertClass,
  OrderBookAlreadySet: OrderBookAlreadySetError as unknown as RevertClass,
  OrderBookMismatch: OrderBookMismatchError as unknown as RevertClass,
};

registerRevertClasses(ORDER_ERROR_CLASSES);
