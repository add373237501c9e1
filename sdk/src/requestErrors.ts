/**
 * Typed errors of two-step settlement: the trade router, the report oracle, Data Streams report
 * checks and Chainlink's own Verifier. Each explains, in a sentence with its numbers, which rule
 * a request, a report or an execution broke (DESIGN.md "Requests and price reports").
 * @module
 */
import { ContractRevertError, registerRevertClasses, type ErrorFormatter, type RevertClass } from "./errors.js";
import { formatUnits } from "./format.js";

const bps = (x: bigint) => `${Number(x) / 100}%`;

/** No pending request has this id: it was executed, cancelled, or never created. */
export class RequestNotFoundError extends ContractRevertError<{ requestId: bigint }> {
  override name = "RequestNotFoundError";
  protected override describe() {
    return `request ${this.args.requestId} is not pending: it was already executed or cancelled, or never created`;
  }
}

/** The request expired: it can only be cancelled now. */
export class RequestExpiredError extends ContractRevertError<{ requestId: bigint; expiresAt: bigint; blockTimestamp: bigint }> {
  override name = "RequestExpiredError";
  protected override describe(f: ErrorFormatter) {
    return `request ${this.args.requestId} expired at ${f.time(this.args.expiresAt)} (block time ${f.time(this.args.blockTimestamp)}): cancel it to get the escrow and the fee back`;
  }
}

/** A request can be cancelled only once it has expired: until then it can only be executed. */
export class RequestNotExpiredError extends ContractRevertError<{ requestId: bigint; expiresAt: bigint; blockTimestamp: bigint }> {
  override name = "RequestNotExpiredError";
  protected override describe(f: ErrorFormatter) {
    return `request ${this.args.requestId} can be cancelled after ${f.time(this.args.expiresAt)} (block time ${f.time(this.args.blockTimestamp)}); until then anyone may execute it at its pinned report`;
  }
}

/** Only the account that made a request may cancel it. */
export class NotRequesterError extends ContractRevertError<{ requestId: bigint; caller: string }> {
  override name = "NotRequesterError";
  protected override describe() {
    return `${this.args.caller} did not make request ${this.args.requestId}: only its account may cancel it`;
  }
}

/** The report is not the one the request settles at. */
export class ReportNotPinnedError extends ContractRevertError<{ target: bigint; validFromTimestamp: bigint; observationsTimestamp: bigint }> {
  override name = "ReportNotPinnedError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the request settles at the report covering ${f.time(a.target)}; this one covers ${f.time(a.validFromTimestamp)} to ${f.time(a.observationsTimestamp)} (fetch the report at the request's settlement time)`;
  }
}

/** The execution fee sent is below the quote for the request kind at the transaction's gas price. */
export class ExecutionFeeTooLowError extends ContractRevertError<{ paid: bigint; required: bigint }> {
  override name = "ExecutionFeeTooLowError";
  protected override describe() {
    return `execution fee ${this.args.paid} wei is below the ${this.args.required} wei the request needs at this gas price (quote it with quoteExecutionFee)`;
  }
}

/** The execution fee does not fit its storage. */
export class ExecutionFeeTooLargeError extends ContractRevertError<{ paid: bigint; max: bigint }> {
  override name = "ExecutionFeeTooLargeError";
  protected override describe() {
    return `execution fee ${this.args.paid} wei is above the maximum ${this.args.max} wei`;
  }
}

/** Nothing is owed to the account. */
export class NothingOwedError extends ContractRevertError<{ account: string }> {
  override name = "NothingOwedError";
  protected override describe() {
    return `nothing is owed to ${this.args.account}`;
  }
}

/** The market has no Data Streams stream, so it takes no request. */
export class StreamNotConfiguredError extends ContractRevertError<{ marketId: bigint }> {
  override name = "StreamNotConfiguredError";
  protected override describe() {
    return `market ${this.args.marketId} has no Data Streams stream configured: it takes no requests`;
  }
}

/** The push-feed fallback of an exit opens only once a report execution is overdue. */
export class PushFallbackNotOpenError extends ContractRevertError<{ requestId: bigint; opensAt: bigint; blockTimestamp: bigint }> {
  override name = "PushFallbackNotOpenError";
  protected override describe(f: ErrorFormatter) {
    return `request ${this.args.requestId} can be executed at a push-feed round from ${f.time(this.args.opensAt)} (block time ${f.time(this.args.blockTimestamp)}); until then only with its report`;
  }
}

/** Opening requests never execute at a push-feed round. */
export class PushFallbackNotForOpeningError extends ContractRevertError<{ requestId: bigint }> {
  override name = "PushFallbackNotForOpeningError";
  protected override describe() {
    return `request ${this.args.requestId} opens or increases a position: it executes only with its report, else it expires and is cancelled`;
  }
}

/** The round is not the first push-feed round published after the request. */
export class RoundNotFirstAfterError extends ContractRevertError<{ roundId: bigint; updatedAt: bigint; previousUpdatedAt: bigint; createdAt: bigint }> {
  override name = "RoundNotFirstAfterError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `round ${a.roundId} (updated ${f.time(a.updatedAt)}, previous round ${f.time(a.previousUpdatedAt)}) is not the first round after the request at ${f.time(a.createdAt)}`;
  }
}

/** The round's answer is not a usable price. */
export class RoundInvalidError extends ContractRevertError<{ roundId: bigint; answer: bigint }> {
  override name = "RoundInvalidError";
  protected override describe() {
    return `round ${this.args.roundId} answered ${this.args.answer}, which is not a usable price`;
  }
}

/** The escrowed amount cannot pay the open fee at the fill price. */
export class AmountBelowOpenFeeError extends ContractRevertError<{ amount: bigint; openFee: bigint }> {
  override name = "AmountBelowOpenFeeError";
  protected override describe(f: ErrorFormatter) {
    return `the amount ${f.amount(this.args.amount)} cannot pay the open fee ${f.amount(this.args.openFee, "up")} at the fill price: the fee comes out of the amount`;
  }
}

/** The fill would have left the position liquidatable at the push-feed price. */
export class LiquidatableAfterFillError extends ContractRevertError<{ positionId: bigint }> {
  override name = "LiquidatableAfterFillError";
  protected override describe() {
    return `the fill would leave position ${this.args.positionId} liquidatable at the push-feed price: add collateral or trade less size`;
  }
}

/** The executor sent too little gas for the trade: the execution reverts rather than cancel the request. */
export class InsufficientExecutionGasError extends ContractRevertError<{ gasLeft: bigint }> {
  override name = "InsufficientExecutionGasError";
  protected override describe() {
    return `the execution ran out of gas inside the trade (${this.args.gasLeft} left): send it with more gas`;
  }
}

/** The router's oracle belongs to another engine. */
export class OracleEngineMismatchError extends ContractRevertError<{ oracleEngine: string; engine: string }> {
  override name = "OracleEngineMismatchError";
  protected override describe() {
    return `the oracle is of engine ${this.args.oracleEngine}, not ${this.args.engine}`;
  }
}

/** The engine takes trades only through requests to its settler. */
export class TradesRequireRequestError extends ContractRevertError<{ settler: string }> {
  override name = "TradesRequireRequestError";
  protected override describe() {
    return `trades settle through requests: send a request to the router ${this.args.settler} (it fills at a report published after the request)`;
  }
}

/** The engine's settler is set once. */
export class SettlerAlreadySetError extends ContractRevertError<{ settler: string }> {
  override name = "SettlerAlreadySetError";
  protected override describe() {
    return `the settler is already ${this.args.settler}; it is set once`;
  }
}

/** The settler must be a contract. */
export class SettlerHasNoCodeError extends ContractRevertError<{ settler: string }> {
  override name = "SettlerHasNoCodeError";
  protected override describe() {
    return `${this.args.settler} has no code: the settler must be the request router`;
  }
}

/** The report's schema is not v3. */
export class ReportSchemaUnsupportedError extends ContractRevertError<{ feedId: string; version: bigint }> {
  override name = "ReportSchemaUnsupportedError";
  protected override describe() {
    return `stream ${this.args.feedId} is of report schema v${this.args.version}; Bulkhead reads v3 (crypto) reports`;
  }
}

/** The report is of another stream than the market's. */
export class ReportFeedMismatchError extends ContractRevertError<{ expected: string; actual: string }> {
  override name = "ReportFeedMismatchError";
  protected override describe() {
    return `the report is of stream ${this.args.actual}, the market's stream is ${this.args.expected}`;
  }
}

/** The report's validity window is inverted. */
export class ReportTimestampsInvalidError extends ContractRevertError<{ validFromTimestamp: bigint; observationsTimestamp: bigint }> {
  override name = "ReportTimestampsInvalidError";
  protected override describe(f: ErrorFormatter) {
    return `the report is valid from ${f.time(this.args.validFromTimestamp)}, after its own observation at ${f.time(this.args.observationsTimestamp)}`;
  }
}

/** The report expired before the block. */
export class ReportExpiredError extends ContractRevertError<{ expiresAt: bigint; blockTimestamp: bigint }> {
  override name = "ReportExpiredError";
  protected override describe(f: ErrorFormatter) {
    return `the report expired at ${f.time(this.args.expiresAt)} (block time ${f.time(this.args.blockTimestamp)})`;
  }
}

/** LINK carries 18 decimals on every network where Chainlink bills Data Streams verification. */
const LINK_DECIMALS = 18;

/**
 * The report oracle holds less LINK than Chainlink's fee manager charges to verify the report
 * (public networks with on-chain billing): the protocol must fund the oracle with LINK. The
 * request stays pending.
 */
export class VerificationFeeUnpaidError extends ContractRevertError<{ token: string; fee: bigint; balance: bigint }> {
  override name = "VerificationFeeUnpaidError";
  protected override describe() {
    const link = (x: bigint) => `${formatUnits(x, LINK_DECIMALS)} LINK`;
    return (
      `the report oracle cannot pay Chainlink's verification fee of ${link(this.args.fee)}: it holds ` +
      `${link(this.args.balance)} (token ${this.args.token}); the protocol must fund it with LINK`
    );
  }
}

/** The report breaks 0 < bid <= price <= ask. */
export class ReportPricesInvalidError extends ContractRevertError<{ bid: bigint; price: bigint; ask: bigint }> {
  override name = "ReportPricesInvalidError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the report's prices are out of order: bid ${f.price(a.bid)}, price ${f.price(a.price)}, ask ${f.price(a.ask)} (needs 0 < bid <= price <= ask)`;
  }
}

/** The report's price is too far from the market's push feed. */
export class ReportDeviatesFromFeedError extends ContractRevertError<{ reportPrice: bigint; feedPrice: bigint; maxDeviationBps: bigint }> {
  override name = "ReportDeviatesFromFeedError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `the report's price ${f.price(a.reportPrice)} is more than ${bps(a.maxDeviationBps)} from the push feed's ${f.price(a.feedPrice)}`;
  }
}

/** Chainlink's Verifier refused the signatures (a key outside the oracle set, a duplicate, or a tampered report). */
export class BadVerificationError extends ContractRevertError<{ [k: string]: never }> {
  override name = "BadVerificationError";
  protected override describe() {
    return "Chainlink's Verifier refused the report's signatures: it was not signed by the stream's oracle set, or it was altered";
  }
}

/** The report carries another number of signatures than the Verifier requires (f + 1). */
export class IncorrectSignatureCountError extends ContractRevertError<{ numSigners: bigint; expectedNumSigners: bigint }> {
  override name = "IncorrectSignatureCountError";
  protected override describe() {
    return `the report carries ${this.args.numSigners} signatures; the Verifier requires ${this.args.expectedNumSigners}`;
  }
}

/** The VerifierProxy knows no Verifier for the report's config digest. */
export class VerifierNotFoundError extends ContractRevertError<{ configDigest: string }> {
  override name = "VerifierNotFoundError";
  protected override describe() {
    return `no Verifier is registered for config digest ${this.args.configDigest}: the report is of another network or oracle configuration`;
  }
}

// ---------------------------------------------------------------- LP requests (ERC-7540 pool)

/** LP requests need the engine's settler: this pool is synchronous ERC-4626 (local development configurations). */
export class PoolIsSynchronousError extends ContractRevertError<{ [k: string]: never }> {
  override name = "PoolIsSynchronousError";
  protected override describe() {
    return "this pool is synchronous (no settler on the engine): deposit and redeem directly instead of requesting";
  }
}

/** The pool is asynchronous (ERC-7540): previews have no price and LP flows go through requests. */
export class PoolIsAsynchronousError extends ContractRevertError<{ [k: string]: never }> {
  override name = "PoolIsAsynchronousError";
  protected override describe() {
    return "this pool is asynchronous (ERC-7540): request a deposit or redemption, and claim it once executed; previews are not available";
  }
}

/** The caller is neither the account (an LP request's owner or controller) nor an operator it approved. */
export class NotOperatorError extends ContractRevertError<{ account: string; caller: string }> {
  override name = "NotOperatorError";
  protected override describe() {
    return `${this.args.caller} is neither ${this.args.account} nor an operator it approved (setOperator)`;
  }
}

/** LP deposit requests never execute at push-feed rounds. */
export class PushFallbackNotForDepositsError extends ContractRevertError<{ requestId: bigint }> {
  override name = "PushFallbackNotForDepositsError";
  protected override describe() {
    return `LP request ${this.args.requestId} is a deposit: it executes only with its reports, or expires and is cancelled`;
  }
}

/** A market with open interest got no report (or push round) in an LP request's execution. */
export class MarketPriceMissingError extends ContractRevertError<{ marketId: bigint }> {
  override name = "MarketPriceMissingError";
  protected override describe() {
    return `market ${this.args.marketId} has open interest: the execution needs its report (or push-feed round)`;
  }
}

/** The classes above by Solidity error name (merged into the SDK's decoder). */
export const REQUEST_ERROR_CLASSES: Record<string, RevertClass> = {
  RequestNotFound: RequestNotFoundError as unknown as RevertClass,
  RequestExpired: RequestExpiredError as unknown as RevertClass,
  RequestNotExpired: RequestNotExpiredError as unknown as RevertClass,
  NotRequester: NotRequesterError as unknown as RevertClass,
  ReportNotPinned: ReportNotPinnedError as unknown as RevertClass,
  ExecutionFeeTooLow: ExecutionFeeTooLowError as unknown as RevertClass,
  ExecutionFeeTooLarge: ExecutionFeeTooLargeError as unknown as RevertClass,
  NothingOwed: NothingOwedError as unknown as RevertClass,
  StreamNotConfigured: StreamNotConfiguredError as unknown as RevertClass,
  PushFallbackNotOpen: PushFallbackNotOpenError as unknown as RevertClass,
  PushFallbackNotForOpening: PushFallbackNotForOpeningError as unknown as RevertClass,
  RoundNotFirstAfter: RoundNotFirstAfterError as unknown as RevertClass,
  RoundInvalid: RoundInvalidError as unknown as RevertClass,
  AmountBelowOpenFee: AmountBelowOpenFeeError as unknown as RevertClass,
  LiquidatableAfterFill: LiquidatableAfterFillError as unknown as RevertClass,
  InsufficientExecutionGas: InsufficientExecutionGasError as unknown as RevertClass,
  OracleEngineMismatch: OracleEngineMismatchError as unknown as RevertClass,
  TradesRequireRequest: TradesRequireRequestError as unknown as RevertClass,
  SettlerAlreadySet: SettlerAlreadySetError as unknown as RevertClass,
  SettlerHasNoCode: SettlerHasNoCodeError as unknown as RevertClass,
  ReportSchemaUnsupported: ReportSchemaUnsupportedError as unknown as RevertClass,
  ReportFeedMismatch: ReportFeedMismatchError as unknown as RevertClass,
  ReportTimestampsInvalid: ReportTimestampsInvalidError as unknown as RevertClass,
  ReportExpired: ReportExpiredError as unknown as RevertClass,
  ReportPricesInvalid: ReportPricesInvalidError as unknown as RevertClass,
  ReportDeviatesFromFeed: ReportDeviatesFromFeedError as unknown as RevertClass,
  VerificationFeeUnpaid: VerificationFeeUnpaidError as unknown as RevertClass,
  BadVerification: BadVerificationError as unknown as RevertClass,
  IncorrectSignatureCount: IncorrectSignatureCountError as unknown as RevertClass,
  VerifierNotFound: VerifierNotFoundError as unknown as RevertClass,
  PoolIsSynchronous: PoolIsSynchronousError as unknown as RevertClass,
  PoolIsAsynchronous: PoolIsAsynchronousError as unknown as RevertClass,
  NotOperator: NotOperatorError as unknown as RevertClass,
  PushFallbackNotForDeposits: PushFallbackNotForDepositsError as unknown as RevertClass,
  MarketPriceMissing: MarketPriceMissingError as unknown as RevertClass,
};

registerRevertClasses(REQUEST_ERROR_CLASSES);
