/**
 * Typed errors. Every custom error of the contracts (engine, oracle checks, pool, token) decodes
 * to a class with a `name`, a readable `message` in token units and the decoded arguments in
 * `args`, so a front-end can show "needs 12.5 USDC more collateral: equity 40.1, required 52.6"
 * and a program can branch with `instanceof`.
 * @module
 */
import { AbiCoder, Interface, Network, dataSlice, type ErrorFragment } from "ethers";
import { bulkheadAbi } from "./abis/bulkhead.js";
import { bulkheadPoolAbi } from "./abis/bulkheadPool.js";
import { bulkheadLensAbi } from "./abis/bulkheadLens.js";
import { positionVaultAbi } from "./abis/positionVault.js";
import { erc20Abi } from "./abis/erc20.js";
import { bulkheadRouterAbi } from "./abis/bulkheadRouter.js";
import { bulkheadOracleAbi } from "./abis/bulkheadOracle.js";
import { bulkheadOrderBookAbi } from "./abis/bulkheadOrderBook.js";
import { verifierErrorsAbi } from "./abis/verifierErrors.js";
import { verifierProxyErrorsAbi } from "./abis/verifierProxyErrors.js";
import { formatAmount, formatPrice, formatSize, formatUnits } from "./format.js";
import type { RevertReason } from "./math/BulkheadLogic.js";

/** Token facts used to write amounts in messages; without them amounts print in raw token units. */
export interface ErrorContext {
  decimals: number;
  symbol: string;
}

/** Base class of every error the SDK throws on purpose. */
export class BulkheadError extends Error {
  override name = "BulkheadError";
}

/** Decoded arguments of a custom error. */
export type RevertArgs = Record<string, bigint | boolean | string>;

/** Writes the numbers of an error message (token amounts when the token is known). */
export class ErrorFormatter {
  constructor(readonly ctx?: ErrorContext) {}
  /** An amount with the token symbol. */
  amount(x: bigint, rounding: "down" | "up" = "down"): string {
    if (!this.ctx) return `${x} (token units)`;
    return formatAmount(x, this.ctx, { rounding });
  }
  /** An amount without the symbol. */
  plain(x: bigint): string {
    if (!this.ctx) return x.toString();
    return formatUnits(x, this.ctx.decimals, { maxDecimals: Math.min(6, this.ctx.decimals) });
  }
  price(x: bigint): string {
    return formatPrice(x);
  }
  size(x: bigint): string {
    return formatSize(x);
  }
  time(t: bigint): string {
    return new Date(Number(t) * 1000).toISOString();
  }
}

/** A call to a Bulkhead contract (or its token) reverted with a custom error; `args` holds its decoded arguments. */
export class ContractRevertError<A extends RevertArgs = RevertArgs> extends BulkheadError {
  override name = "ContractRevertError";
  /** The Solidity error name, e.g. "InsufficientMargin". */
  readonly errorName: string;
  /** The decoded arguments, by their Solidity names. */
  readonly args: Readonly<A>;
  /** The raw revert data, when the error came from a call. */
  readonly data: string | undefined;

  constructor(errorName: string, args: A, options: { data?: string; ctx?: ErrorContext } = {}) {
    super("");
    this.errorName = errorName;
    this.args = Object.freeze({ ...args });
    this.data = options.data;
    this.message = this.describe(new ErrorFormatter(options.ctx));
  }

  /** The readable message; subclasses explain their error in token units. */
  protected describe(_f: ErrorFormatter): string {
    const list = Object.entries(this.args)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    return `reverted with ${this.errorName}(${list})`;
  }
}

// ---------------------------------------------------------------- trader actions

/** The transaction's deadline passed before it was mined. */
export class DeadlineExpiredError extends ContractRevertError<{ deadline: bigint; blockTimestamp: bigint }> {
  override name = "DeadlineExpiredError";
  protected override describe(f: ErrorFormatter) {
    return `deadline ${f.time(this.args.deadline)} passed (block time ${f.time(this.args.blockTimestamp)})`;
  }
}

/** No market with this id. */
export class MarketNotListedError extends ContractRevertError<{ marketId: bigint }> {
  override name = "MarketNotListedError";
  protected override describe() {
    return `market ${this.args.marketId} is not listed`;
  }
}

/** The market is paused for opens and increases. */
export class MarketPausedError extends ContractRevertError<{ marketId: bigint }> {
  override name = "MarketPausedError";
  protected override describe() {
    return `market ${this.args.marketId} is paused: opens and increases wait (closing, reducing and collateral changes still work)`;
  }
}

/** The market was delisted: it takes no position and its feed is not read. */
export class MarketIsDelistedError extends ContractRevertError<{ marketId: bigint }> {
  override name = "MarketIsDelistedError";
  protected override describe() {
    return `market ${this.args.marketId} is delisted: it takes no new positions and has no price (trade a market listed in its place)`;
  }
}

/** Only a market without open interest can be delisted. */
export class MarketHasOpenInterestError extends ContractRevertError<{ marketId: bigint; longSize: bigint; shortSize: bigint }> {
  override name = "MarketHasOpenInterestError";
  protected override describe(f: ErrorFormatter) {
    return `market ${this.args.marketId} still has open interest (long ${f.size(this.args.longSize)}, short ${f.size(this.args.shortSize)}): it can be delisted once every position is closed`;
  }
}

/** The whole protocol is paused for opens, increases and LP deposits. */
export class ProtocolPausedError extends ContractRevertError<{ [k: string]: never }> {
  override name = "ProtocolPausedError";
  protected override describe() {
    return "the protocol is paused: opens, increases and LP deposits wait (closing, reducing, collateral changes and withdrawals still work)";
  }
}

/** The oracle price moved beyond the acceptable price. */
export class SlippageExceededError extends ContractRevertError<{ acceptable: bigint; actual: bigint }> {
  override name = "SlippageExceededError";
  protected override describe(f: ErrorFormatter) {
    return `price moved beyond your limit: oracle price ${f.price(this.args.actual)}, acceptable ${f.price(this.args.acceptable)}`;
  }
}

/** An amount that must be positive was zero. */
export class ZeroAmountError extends ContractRevertError<{ [k: string]: never }> {
  override name = "ZeroAmountError";
  protected override describe() {
    return "amount must be greater than zero";
  }
}

/** A size or amount does not fit its storage field. */
export class AmountTooLargeError extends ContractRevertError<{ amount: bigint; max: bigint }> {
  override name = "AmountTooLargeError";
  protected override describe() {
    return `amount ${this.args.amount} is above the maximum ${this.args.max}`;
  }
}

/** Equity after the action is below the initial margin. */
export class InsufficientMarginError extends ContractRevertError<{ equity: bigint; required: bigint }> {
  override name = "InsufficientMarginError";
  /** Collateral missing to pass the initial-margin check, token units. */
  get shortfall(): bigint {
    return this.args.required - this.args.equity;
  }
  protected override describe(f: ErrorFormatter) {
    const { equity, required } = this.args;
    return `needs ${f.amount(required - equity, "up")} more collateral: equity ${f.plain(equity)}, required ${f.plain(required)}`;
  }
}

/** Collateral after the action is below the market minimum. */
export class CollateralBelowMinimumError extends ContractRevertError<{ collateral: bigint; minimum: bigint }> {
  override name = "CollateralBelowMinimumError";
  protected override describe(f: ErrorFormatter) {
    return `collateral ${f.amount(this.args.collateral)} is below the market minimum ${f.amount(this.args.minimum)}`;
  }
}

/** The market side's open interest would exceed its cap. */
export class OpenInterestCapExceededError extends ContractRevertError<{
  marketId: bigint;
  isLong: boolean;
  openInterest: bigint;
  cap: bigint;
}> {
  override name = "OpenInterestCapExceededError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `market ${a.marketId} ${a.isLong ? "long" : "short"} open interest would be ${f.size(a.openInterest)}, above its cap ${f.size(a.cap)}`;
  }
}

/** Free pool liquidity cannot cover the required reserve (or withdrawal). */
export class InsufficientFreeLiquidityError extends ContractRevertError<{ available: bigint; required: bigint }> {
  override name = "InsufficientFreeLiquidityError";
  protected override describe(f: ErrorFormatter) {
    return `the pool's free liquidity ${f.amount(this.args.available)} cannot cover ${f.amount(this.args.required)}`;
  }
}

/** A governance value is outside its hard-coded bounds. */
export class ParameterOutOfBoundsError extends ContractRevertError<{ name: string; value: bigint; min: bigint; max: bigint }> {
  override name = "ParameterOutOfBoundsError";
  protected override describe() {
    const a = this.args;
    return `${a.name} = ${a.value} is outside its bounds [${a.min}, ${a.max}]`;
  }
}

/** A contract was re-entered during one of its own calls (a token or receiver calling back). */
export class ReentrantCallError extends ContractRevertError<{ [k: string]: never }> {
  override name = "ReentrantCallError";
  protected override describe() {
    return "a call re-entered the contract while it was running (a token or receiver calling back): refused";
  }
}

/** No open position with this id. */
export class PositionNotFoundError extends ContractRevertError<{ id: bigint }> {
  override name = "PositionNotFoundError";
  protected override describe() {
    return `position ${this.args.id} does not exist (closed, liquidated or never opened)`;
  }
}

/** The caller is neither the owner of the position nor approved for it. */
export class NotPositionOwnerError extends ContractRevertError<{ id: bigint; caller: string }> {
  override name = "NotPositionOwnerError";
  protected override describe() {
    return `${this.args.caller} is not the owner of position ${this.args.id} nor approved for it`;
  }
}

/** The position is healthy: equity is not below maintenance. */
export class PositionNotLiquidatableError extends ContractRevertError<{ id: bigint; equity: bigint; maintenance: bigint }> {
  override name = "PositionNotLiquidatableError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    return `position ${a.id} is not liquidatable: equity ${f.amount(a.equity)} is not below maintenance ${f.amount(a.maintenance)}`;
  }
}

/** Closing would leave the trader owing; only liquidation can close it. */
export class PositionUnderwaterError extends ContractRevertError<{ id: bigint; net: bigint }> {
  override name = "PositionUnderwaterError";
  protected override describe(f: ErrorFormatter) {
    return `position ${this.args.id} is underwater by ${f.amount(-this.args.net, "up")}: only liquidation can close it`;
  }
}

/** decrease() was asked for the whole size (use close). */
export class SizeDeltaTooLargeError extends ContractRevertError<{ sizeDelta: bigint; size: bigint }> {
  override name = "SizeDeltaTooLargeError";
  protected override describe(f: ErrorFormatter) {
    return `cannot reduce by ${f.size(this.args.sizeDelta)}: the position's size is ${f.size(this.args.size)} (use close for all of it)`;
  }
}

/** The pool refuses deposits while its valuation is negative, or zero with shares outstanding. */
export class PoolInsolventError extends ContractRevertError<{ valuation: bigint; shares: bigint }> {
  override name = "PoolInsolventError";
  protected override describe(f: ErrorFormatter) {
    const { valuation, shares } = this.args;
    return valuation < 0n
      ? `the pool is insolvent: capped trader claims exceed LP assets and fees by ${f.amount(-valuation, "up")}; deposits are refused`
      : `the pool is valued at 0 with ${shares} shares outstanding; deposits are refused`;
  }
}

/** removeCollateral asked for more than the position holds. */
export class CollateralTooLowError extends ContractRevertError<{ requested: bigint; collateral: bigint }> {
  override name = "CollateralTooLowError";
  protected override describe(f: ErrorFormatter) {
    return `cannot remove ${f.amount(this.args.requested)}: the position holds ${f.amount(this.args.collateral)}`;
  }
}

/** The token delivered a different amount than requested (fee-on-transfer tokens are unsupported). */
export class TransferAmountMismatchError extends ContractRevertError<{ expected: bigint; received: bigint }> {
  override name = "TransferAmountMismatchError";
  protected override describe(f: ErrorFormatter) {
    return `token transfer delivered ${f.amount(this.args.received)} instead of ${f.amount(this.args.expected)}`;
  }
}

/** The caller may not call this function. */
export class UnauthorizedError extends ContractRevertError<{ caller: string }> {
  override name = "UnauthorizedError";
  protected override describe() {
    return `${this.args.caller} is not allowed to call this function`;
  }
}

// ---------------------------------------------------------------- oracle

/** Base class of the oracle's failed price checks. */
export class OracleError<A extends RevertArgs = RevertArgs> extends ContractRevertError<A> {
  override name = "OracleError";
}

/** The feed call reverted (or ran out of its bounded gas). */
export class PriceFeedCallFailedError extends OracleError<{ feed: string }> {
  override name = "PriceFeedCallFailedError";
  protected override describe() {
    return `price feed ${this.args.feed} failed to answer`;
  }
}

/** The feed answered zero or a negative price. */
export class NonPositivePriceError extends OracleError<{ feed: string; answer: bigint }> {
  override name = "NonPositivePriceError";
  protected override describe() {
    return `price feed ${this.args.feed} answered a non-positive price (${this.args.answer})`;
  }
}

/** The feed answered fewer than five words, or round ids that do not fit uint80. */
export class InvalidFeedResponseError extends OracleError<{ feed: string; returnDataSize: bigint }> {
  override name = "InvalidFeedResponseError";
  protected override describe() {
    return `price feed ${this.args.feed} gave a malformed answer (${this.args.returnDataSize} bytes): it cannot be trusted`;
  }
}

/** The feed's round has no update timestamp. */
export class PriceNotUpdatedError extends OracleError<{ feed: string }> {
  override name = "PriceNotUpdatedError";
  protected override describe() {
    return `price feed ${this.args.feed} has never been updated`;
  }
}

/** The feed's update timestamp lies in the future. */
export class PriceFromFutureError extends OracleError<{ feed: string; updatedAt: bigint; blockTimestamp: bigint }> {
  override name = "PriceFromFutureError";
  protected override describe(f: ErrorFormatter) {
    return `price feed ${this.args.feed} reports an update at ${f.time(this.args.updatedAt)}, after the block time ${f.time(this.args.blockTimestamp)}`;
  }
}

/** The feed's last update is older than its heartbeat. */
export class StalePriceError extends OracleError<{ feed: string; updatedAt: bigint; heartbeat: bigint }> {
  override name = "StalePriceError";
  protected override describe(f: ErrorFormatter) {
    return `price feed ${this.args.feed} is stale: last update ${f.time(this.args.updatedAt)}, heartbeat ${this.args.heartbeat}s`;
  }
}

/** The normalised price is zero or above the supported maximum. */
export class PriceOutOfRangeError extends OracleError<{ feed: string; answer: bigint }> {
  override name = "PriceOutOfRangeError";
  protected override describe() {
    return `price feed ${this.args.feed} answered ${this.args.answer}, outside the supported range`;
  }
}

/** The L2 sequencer is down. */
export class SequencerDownError extends OracleError<{ sequencerFeed: string }> {
  override name = "SequencerDownError";
  protected override describe() {
    return "the L2 sequencer is down: prices are not trusted until it is back";
  }
}

/** The L2 sequencer came back less than the grace period ago. */
export class SequencerGracePeriodError extends OracleError<{ upSince: bigint; gracePeriod: bigint }> {
  override name = "SequencerGracePeriodError";
  protected override describe(f: ErrorFormatter) {
    return `the L2 sequencer is back since ${f.time(this.args.upSince)}; prices count after a ${this.args.gracePeriod}s grace period`;
  }
}

// ---------------------------------------------------------------- token and pool

/** The token allowance is below what the action pulls. */
export class InsufficientAllowanceError extends ContractRevertError<{ spender: string; allowance: bigint; needed: bigint }> {
  override name = "InsufficientAllowanceError";
  protected override describe(f: ErrorFormatter) {
    return `token allowance for ${this.args.spender} is ${f.amount(this.args.allowance)}, needs ${f.amount(this.args.needed)}`;
  }
}

/** The token balance is below what the action pulls. */
export class InsufficientBalanceError extends ContractRevertError<{ sender: string; balance: bigint; needed: bigint }> {
  override name = "InsufficientBalanceError";
  protected override describe(f: ErrorFormatter) {
    return `needs ${f.amount(this.args.needed - this.args.balance, "up")} more in the wallet: balance ${f.plain(this.args.balance)}, needed ${f.plain(this.args.needed)}`;
  }
}

/**
 * A token `transferFrom` made by the engine failed (Solady `SafeTransferLib`, which does not pass
 * the token's own error on): the allowance to the engine or the wallet balance is too low, or the
 * token refused. The client's transactions check both and throw {@link InsufficientAllowanceError}
 * or {@link InsufficientBalanceError} instead when one of them is the cause.
 */
export class TransferFromFailedError extends ContractRevertError<{ [k: string]: never }> {
  override name = "TransferFromFailedError";
  protected override describe() {
    return "token transferFrom failed: allowance or balance too low, or the token refused the transfer";
  }
}

/** A token `transfer` made by the engine or a vault failed (Solady `SafeTransferLib`). */
export class TransferFailedError extends ContractRevertError<{ [k: string]: never }> {
  override name = "TransferFailedError";
  protected override describe() {
    return "token transfer failed: the token refused it";
  }
}

/** An LP deposit or withdrawal is above what the pool allows now. */
export class PoolLimitExceededError extends ContractRevertError<{ account: string; amount: bigint; max: bigint }> {
  override name = "PoolLimitExceededError";
  protected override describe(f: ErrorFormatter) {
    const a = this.args;
    const what = this.errorName.replace("ERC4626ExceededMax", "").toLowerCase();
    const unitText = what === "redeem" || what === "mint" ? `${a.amount} shares (max ${a.max})` : `${f.amount(a.amount)} (max ${f.amount(a.max)} now)`;
    return `cannot ${what} ${unitText}${what === "withdraw" || what === "redeem" ? ": withdrawals are limited to free liquidity and your balance" : ""}`;
  }
}

// ---------------------------------------------------------------- built-in and SDK-side errors

/** The call reverted with `Error(string)` (a require message). */
export class RevertStringError extends ContractRevertError<{ reason: string }> {
  override name = "RevertStringError";
  protected override describe() {
    return `reverted: ${this.args.reason}`;
  }
}

/** The call panicked (`Panic(uint256)`): overflow, division by zero, ... */
export class PanicError extends ContractRevertError<{ code: bigint }> {
  override name = "PanicError";
  protected override describe() {
    const reasons: Record<string, string> = { "1": "assertion failed", "17": "arithmetic overflow or underflow", "18": "division by zero", "50": "array index out of bounds" };
    return `panicked: ${reasons[this.args.code.toString()] ?? `code 0x${this.args.code.toString(16)}`}`;
  }
}

/** The call reverted without data, or with data no known ABI decodes. */
export class UnknownRevertError extends BulkheadError {
  override name = "UnknownRevertError";
  constructor(readonly data: string | undefined, override readonly cause?: unknown) {
    super(data && data !== "0x" ? `reverted with unknown data ${data}` : "reverted without a reason");
  }
}

/** A transaction was mined but reverted (state changed between the simulation and the block). */
export class TransactionRevertedError extends BulkheadError {
  override name = "TransactionRevertedError";
  constructor(readonly hash: string, override readonly cause?: unknown) {
    super(`transaction ${hash} reverted on-chain after a successful simulation (the state changed in between)`);
  }
}

/** A transaction was asked of a client created from a provider. */
export class ReadOnlyClientError extends BulkheadError {
  override name = "ReadOnlyClientError";
  constructor(action: string) {
    super(`${action} needs a signer: this client was created from a provider (read-only)`);
  }
}

/** A request the SDK can tell is invalid before asking the chain. */
export class InvalidRequestError extends BulkheadError {
  override name = "InvalidRequestError";
}

/**
 * A field of a request object has the wrong type, value or unit (a form's string where a bigint
 * belongs, `"LONG"` for a side, a leverage not scaled to 18 decimals): `field` names it and the
 * message says what it must be.
 */
export class InvalidInputError extends InvalidRequestError {
  override name = "InvalidInputError";
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

// ---------------------------------------------------------------- wallet and network

/** The wallet's user refused to sign (EIP-1193 code 4001, ethers `ACTION_REJECTED`): nothing was sent. */
export class UserRejectedError extends BulkheadError {
  override name = "UserRejectedError";
  constructor(override readonly cause?: unknown) {
    super("you rejected the transaction in your wallet");
  }
}

const CHAIN_NAMES: Record<number, string> = { 31337: "a local Hardhat or anvil chain" };

/** A readable name of a chain id ("arbitrum", "sepolia", ...), or undefined when unknown. */
export function chainName(chainId: number): string | undefined {
  if (CHAIN_NAMES[chainId]) return CHAIN_NAMES[chainId];
  const name = Network.from(chainId).name;
  return name === "unknown" ? undefined : name;
}

const chainText = (id: number) => {
  const name = chainName(id);
  return name ? `chain ${id} (${name})` : `chain ${id}`;
};

/** The wallet or provider is on another chain than the one the client connected to (e.g. the user switched networks). */
export class WrongNetworkError extends BulkheadError {
  override name = "WrongNetworkError";
  constructor(readonly expectedChainId: number, readonly actualChainId: number, override readonly cause?: unknown) {
    super(`the wallet is on ${chainText(actualChainId)} but this client is connected to ${chainText(expectedChainId)}: switch the wallet to chain ${expectedChainId}, or connect a new client`);
  }
}

/** An address the client was given holds no contract on this chain (a wrong or other chain's address, or a node reset since the deployment). */
export class NoContractError extends BulkheadError {
  override name = "NoContractError";
  constructor(readonly contract: string | undefined, readonly address: string | undefined, readonly chainId: number | undefined, override readonly cause?: unknown) {
    super(
      contract && address
        ? `no contract at ${address} (the ${contract}) on ${chainId === undefined ? "this chain" : chainText(chainId)}: check the addresses passed to connect()`
        : `a call returned no data: the address it called holds no contract on ${chainId === undefined ? "this chain" : chainText(chainId)} (check the addresses passed to connect())`,
    );
  }
}

/** The error code of a wallet error anywhere in an ethers error's chain of causes. */
function walletCode(error: unknown): number | string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): number | string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 6) return undefined;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (o.code === 4001 || o.code === "ACTION_REJECTED") return o.code;
    for (const key of ["error", "info", "cause", "data"]) {
      const found = visit(o[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(error, 0);
}

/** True when the wallet's user rejected the request (EIP-1193 4001 or ethers ACTION_REJECTED, possibly wrapped). */
export function isUserRejection(error: unknown): boolean {
  return walletCode(error) !== undefined;
}

/**
 * The wallet and network errors of a raw provider error, as typed errors: a rejection, ethers'
 * "network changed: A => B" (for a client on `chainId`), or "could not decode result data" of an
 * empty result (a call to an address without code). undefined for anything else.
 */
export function walletError(error: unknown, chainId?: number): BulkheadError | undefined {
  if (error instanceof BulkheadError) return error;
  if (isUserRejection(error)) return new UserRejectedError(error);
  const o = (error ?? {}) as { code?: unknown; event?: unknown; message?: unknown; value?: unknown };
  const message = typeof o.message === "string" ? o.message : "";
  const changed = /network changed: (\d+) => (\d+)/.exec(message);
  if (changed) return new WrongNetworkError(chainId ?? Number(changed[1]), Number(changed[2]), error);
  if (o.code === "BAD_DATA" && o.value === "0x") return new NoContractError(undefined, undefined, chainId, error);
  return undefined;
}

export type RevertClass = new (errorName: string, args: RevertArgs, options: { data?: string; ctx?: ErrorContext }) => ContractRevertError;

const CLASSES: Record<string, RevertClass> = {
  DeadlineExpired: DeadlineExpiredError as unknown as RevertClass,
  MarketNotListed: MarketNotListedError as unknown as RevertClass,
  MarketPaused: MarketPausedError as unknown as RevertClass,
  MarketIsDelisted: MarketIsDelistedError as unknown as RevertClass,
  MarketHasOpenInterest: MarketHasOpenInterestError as unknown as RevertClass,
  ProtocolPaused: ProtocolPausedError as unknown as RevertClass,
  SlippageExceeded: SlippageExceededError as unknown as RevertClass,
  ZeroAmount: ZeroAmountError as unknown as RevertClass,
  AmountTooLarge: AmountTooLargeError as unknown as RevertClass,
  InsufficientMargin: InsufficientMarginError as unknown as RevertClass,
  CollateralBelowMinimum: CollateralBelowMinimumError as unknown as RevertClass,
  OpenInterestCapExceeded: OpenInterestCapExceededError as unknown as RevertClass,
  InsufficientFreeLiquidity: InsufficientFreeLiquidityError as unknown as RevertClass,
  PositionNotFound: PositionNotFoundError as unknown as RevertClass,
  NotPositionOwner: NotPositionOwnerError as unknown as RevertClass,
  PositionNotLiquidatable: PositionNotLiquidatableError as unknown as RevertClass,
  PositionUnderwater: PositionUnderwaterError as unknown as RevertClass,
  PoolInsolvent: PoolInsolventError as unknown as RevertClass,
  SizeDeltaTooLarge: SizeDeltaTooLargeError as unknown as RevertClass,
  CollateralTooLow: CollateralTooLowError as unknown as RevertClass,
  TransferAmountMismatch: TransferAmountMismatchError as unknown as RevertClass,
  Unauthorized: UnauthorizedError as unknown as RevertClass,
  PriceFeedCallFailed: PriceFeedCallFailedError as unknown as RevertClass,
  InvalidFeedResponse: InvalidFeedResponseError as unknown as RevertClass,
  NonPositivePrice: NonPositivePriceError as unknown as RevertClass,
  PriceNotUpdated: PriceNotUpdatedError as unknown as RevertClass,
  PriceFromFuture: PriceFromFutureError as unknown as RevertClass,
  StalePrice: StalePriceError as unknown as RevertClass,
  PriceOutOfRange: PriceOutOfRangeError as unknown as RevertClass,
  SequencerDown: SequencerDownError as unknown as RevertClass,
  SequencerGracePeriod: SequencerGracePeriodError as unknown as RevertClass,
  ERC20InsufficientAllowance: InsufficientAllowanceError as unknown as RevertClass,
  ERC20InsufficientBalance: InsufficientBalanceError as unknown as RevertClass,
  TransferFromFailed: TransferFromFailedError as unknown as RevertClass,
  TransferFailed: TransferFailedError as unknown as RevertClass,
  ParameterOutOfBounds: ParameterOutOfBoundsError as unknown as RevertClass,
  ReentrancyGuardReentrantCall: ReentrantCallError as unknown as RevertClass,
};

/**
 * Errors the contracts raise from inlined Solady `SafeTransferLib` assembly: they are in no
 * compiled ABI, so the SDK declares them itself.
 */
const SOLADY_ERRORS = [
  { type: "error", name: "TransferFromFailed", inputs: [] },
  { type: "error", name: "TransferFailed", inputs: [] },
] as const;

const POOL_LIMITS = new Set([
  "ERC4626ExceededMaxDeposit",
  "ERC4626ExceededMaxMint",
  "ERC4626ExceededMaxWithdraw",
  "ERC4626ExceededMaxRedeem",
]);

/**
 * Adds typed errors of another module (requestErrors.ts registers the router's, the oracle's and
 * the Verifier's when the SDK loads; modules cannot import each other's classes both ways).
 */
export function registerRevertClasses(classes: Record<string, RevertClass>): void {
  for (const [name, cls] of Object.entries(classes)) CLASSES[name] ??= cls;
}

/** Builds the typed error for a custom error name and its named arguments. */
export function createRevertError(reason: RevertReason, options: { data?: string; ctx?: ErrorContext } = {}): ContractRevertError {
  if (POOL_LIMITS.has(reason.name)) {
    const [account, amount, max] = Object.values(reason.args);
    return new PoolLimitExceededError(reason.name, { account: String(account), amount: amount as bigint, max: max as bigint }, options);
  }
  const Cls = CLASSES[reason.name] ?? (ContractRevertError as RevertClass);
  return new Cls(reason.name, reason.args, options);
}

let errorInterface: Interface | undefined;
/** One interface holding every custom error of the engine (and its libraries), pool, lens, vault, router, oracle, order book, token and Solady. */
function errorsInterface(): Interface {
  if (errorInterface) return errorInterface;
  const seen = new Set<string>();
  const fragments: unknown[] = [];
  for (const abi of [bulkheadAbi, bulkheadPoolAbi, bulkheadLensAbi, positionVaultAbi, erc20Abi, bulkheadRouterAbi, bulkheadOracleAbi, bulkheadOrderBookAbi, verifierErrorsAbi, verifierProxyErrorsAbi, SOLADY_ERRORS] as readonly (readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[])[]) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`;
      if (seen.has(key)) continue;
      seen.add(key);
      fragments.push(item);
    }
  }
  errorInterface = new Interface(fragments as never);
  return errorInterface;
}

const ERROR_STRING = "0x08c379a0";
const PANIC = "0x4e487b71";

/**
 * Decodes revert data into its typed error (a {@link ContractRevertError} subclass), or an
 * {@link UnknownRevertError} when no Bulkhead ABI knows the selector.
 */
export function decodeRevert(data: string | undefined, ctx?: ErrorContext): ContractRevertError | UnknownRevertError {
  if (!data || data.length < 10) return new UnknownRevertError(data);
  const selector = data.slice(0, 10).toLowerCase();
  const coder = AbiCoder.defaultAbiCoder();
  try {
    if (selector === ERROR_STRING) {
      return new RevertStringError("Error", { reason: coder.decode(["string"], dataSlice(data, 4))[0] as string }, { data, ctx });
    }
    if (selector === PANIC) {
      return new PanicError("Panic", { code: coder.decode(["uint256"], dataSlice(data, 4))[0] as bigint }, { data, ctx });
    }
    const parsed = errorsInterface().parseError(data);
    if (!parsed) return new UnknownRevertError(data);
    return createRevertError({ name: parsed.name, args: namedArgs(parsed.fragment, parsed.args) }, { data, ctx });
  } catch {
    return new UnknownRevertError(data);
  }
}

function namedArgs(fragment: ErrorFragment, values: readonly unknown[]): RevertArgs {
  const out: RevertArgs = {};
  fragment.inputs.forEach((input, i) => {
    out[input.name || `arg${i}`] = values[i] as bigint | boolean | string;
  });
  return out;
}

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * Finds the revert data inside an error thrown by ethers or by a JSON-RPC provider (the shapes
 * differ between ethers' own providers, Hardhat, anvil and wallets). undefined when there is none.
 */
export function extractRevertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 6) return undefined;
    seen.add(e);
    const o = e as Record<string, unknown>;
    for (const key of ["data", "revert", "error", "info", "cause", "payload", "body"]) {
      const v = o[key];
      if (typeof v === "string" && HEX.test(v) && v.length >= 10) return v;
      if (key === "body" && typeof v === "string") {
        try {
          const found = visit(JSON.parse(v), depth + 1);
          if (found) return found;
        } catch {
          /* not JSON */
        }
      }
      if (typeof v === "object") {
        const found = visit(v, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(error, 0);
}

/** True when an error is a contract revert (as opposed to a network or user-rejection error). */
export function isCallException(error: unknown): boolean {
  if (extractRevertData(error) !== undefined) return true;
  const o = error as { code?: unknown; message?: unknown } | null;
  return o?.code === "CALL_EXCEPTION" || (typeof o?.message === "string" && /revert/i.test(o.message));
}
