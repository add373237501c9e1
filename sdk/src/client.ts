/**
 * The Bulkhead client: reads, local health, quotes, transactions with typed errors, events.
 *
 * {@link BulkheadClient} is the one entry point; each concern lives in a module of `client/` that
 * it composes, and every public method here delegates to one of them:
 * - `client/context.ts`: connection, contracts, options, error decoding, the transaction pipeline;
 * - `client/markets.ts`: markets, prices, borrow index and rate, the engine's ledger;
 * - `client/positions.ts`: position snapshots, health, vault addresses, ids, liquidation previews;
 * - `client/quotes.ts`: what a trade would do now, and with what allowance and errors;
 * - `client/trades.ts`: the instant transactions (open ... liquidateMany);
 * - `client/pool.ts`: LP pool state and deposit, withdraw, redeem;
 * - `client/events.ts`: event reads, watchers, the health watch;
 * - `client/requests.ts`: two-step trades through the request router (quotes with fill ranges,
 *   requests, execution with a report or a push round, cancellation, status, events);
 * - `client/lpRequests.ts`: LP flows of an asynchronous (ERC-7540) pool: request, execute, claim;
 * - `client/orderReads.ts` and `client/orders.ts`: trigger orders (limit, stop-loss, take-profit,
 *   trailing stop, bracket) and top-up guards: reads, lists, watchers and quotes; placing,
 *   editing, cancelling and executing them.
 * A new concern is a module of its own beside these, built from the context and the modules it
 * needs in the constructor below.
 * @module
 */
import type { BlockTag, Provider, Signer } from "ethers";
import type { MarketDeployment } from "./addresses.js";
import type { ErrorContext } from "./errors.js";
import type {
  CollateralAddedEvent,
  CollateralRemovedEvent,
  LogRangeOptions,
  PositionDecreasedEvent,
  PositionEvent,
  PositionEventFilter,
  PositionEventOf,
  PositionEventType,
  PositionIncreasedEvent,
  PositionLiquidatedEvent,
  PositionOpenedEvent,
  WatchOptions,
} from "./events.js";
import { deriveHealth, positionHealth, type PositionHealth } from "./health.js";
import type { LiquidateManyPreview } from "./math/BulkheadLogic.js";
import type { Health, Ledger, LiquidationPreview, MarketId, PositionId, TokenInfo, UtilisationState } from "./types.js";
import { ClientContext, type ClientOptions, type PreparedTransactions, type TxOptions, type TxResult } from "./client/context.js";
import { Events, type PositionsUpdate, type WatchPositionsOptions } from "./client/events.js";
import { History, type TradeHistoryOptions, type TradeHistoryPage } from "./client/history.js";
import { Markets, type MarketInfo } from "./client/markets.js";
import { Pool, type DepositQuote, type LpPosition, type PoolState } from "./client/pool.js";
import { Positions, type PositionView } from "./client/positions.js";
import {
  Quotes,
  type AddCollateralQuote,
  type DecreaseQuote,
  type IncreaseQuote,
  type OpenQuote,
  type OpenRequest,
  type RemoveCollateralQuote,
} from "./client/quotes.js";
import { Trades } from "./client/trades.js";
import { Requests, type ExecutionFeeQuote, type RequestQuote, type RequestView } from "./client/requests.js";
import { LpRequests, type LpClaimable, type LpRequestEvent, type LpRequestKindName, type LpRequestQuote, type LpRequestView } from "./client/lpRequests.js";
import type { RequestCancelledEvent, RequestCreatedEvent, RequestEvent, RequestExecutedEvent, RequestKindName } from "./requests.js";
import { OrderReads, type OrderFilter, type OrderList, type OrderQuote, type OrderView, type ReportInput, type TopUpGuardView } from "./client/orderReads.js";
import { Orders, type Attached, type AttachRequest, type BracketRequest, type ExitLeg, type ExitOrderRequest, type OrderTargetSpec, type PlaceOptions, type Placed, type TopUpGuardRequest, type TrailingStopRequest } from "./client/orders.js";
import type { OrderCancelledEvent, OrderEditedEvent, OrderEvent, OrderExecutedEvent, OrderKindName, OrderPlacedEvent, TopUpExecutedEvent, TopUpGuardSetEvent, TopUpQuote } from "./orders.js";

export type { ApprovalMode, ClientOptions, TxOptions, TxResult } from "./client/context.js";
export type { PreparedTransactions, SubmittedInfo, UnsignedTransaction } from "./client/context.js";
export type { DepositQuote } from "./client/pool.js";
export type { IncreaseRequest } from "./client/quotes.js";
export type { MarketInfo } from "./client/markets.js";
export type { AbortSignalLike, PositionsUpdate, WatchPositionsOptions } from "./client/events.js";
export type { TradeAction, TradeHistoryEntry, TradeHistoryOptions, TradeHistoryPage } from "./client/history.js";
export type { PositionView } from "./client/positions.js";
export type { LpPosition, PoolState } from "./client/pool.js";
export type { ExecutionFeeQuote, RequestQuote, RequestView } from "./client/requests.js";
export type { OrderFilter, OrderList, OrderQuote, OrderView, ReportInput, TopUpGuardView } from "./client/orderReads.js";
export type { Attached, AttachRequest, BracketRequest, ExitLeg, ExitOrderRequest, OrderTargetSpec, PlaceOptions, Placed, TopUpGuardRequest, TrailingStopRequest } from "./client/orders.js";
export { LpRequestKind, type LpClaimable, type LpRequestEvent, type LpRequestKindName, type LpRequestQuote, type LpRequestView } from "./client/lpRequests.js";
export {
  acceptablePriceFor,
  sizeForLeverage,
  type AddCollateralQuote,
  type DecreaseQuote,
  type IncreaseQuote,
  type OpenQuote,
  type OpenRequest,
  type QuoteBase,
  type RemoveCollateralQuote,
} from "./client/quotes.js";

/**
 * A connection to one Bulkhead deployment through an ethers v6 `Provider` (read-only) or
 * `Signer` (reads and transactions). Create it with {@link BulkheadClient.connect}.
 */
export class BulkheadClient {
  /** The provider every read goes through. */
  readonly provider: Provider;
  /** The signer transactions go through; undefined for a read-only client. */
  readonly signer: Signer | undefined;
  readonly chainId: number;
  readonly engineAddress: string;
  readonly lensAddress: string;
  readonly poolAddress: string;
  readonly token: TokenInfo;
  /** 1e18 * 10**(18 - token decimals). */
  readonly unit: bigint;
  /** The implementation every position vault clones. */
  readonly vaultImplementation: string;
  /** First block of the deployment (log scans start here). */
  readonly startBlock: number;
  readonly markets: readonly MarketDeployment[];
  readonly options: Required<Omit<ClientOptions, "addresses">>;

  readonly #ctx: ClientContext;
  readonly #markets: Markets;
  readonly #positions: Positions;
  readonly #quotes: Quotes;
  readonly #trades: Trades;
  readonly #pool: Pool;
  readonly #events: Events;
  readonly #history: History;
  readonly #requests: Requests;
  readonly #lp: LpRequests;
  readonly #orderReads: OrderReads;
  readonly #orders: Orders;

  private constructor(ctx: ClientContext) {
    this.provider = ctx.provider;
    this.signer = ctx.signer;
    this.chainId = ctx.chainId;
    this.engineAddress = ctx.engineAddress;
    this.lensAddress = ctx.lensAddress;
    this.poolAddress = ctx.poolAddress;
    this.token = ctx.token;
    this.unit = ctx.unit;
    this.vaultImplementation = ctx.vaultImplementation;
    this.startBlock = ctx.startBlock;
    this.markets = ctx.markets;
    this.options = ctx.options;
    this.#ctx = ctx;
    this.#markets = new Markets(ctx, {});
    this.#positions = new Positions(ctx, {});
    this.#quotes = new Quotes(ctx, { markets: this.#markets, positions: this.#positions });
    this.#trades = new Trades(ctx, { positions: this.#positions, quotes: this.#quotes });
    this.#pool = new Pool(ctx, { markets: this.#markets });
    this.#events = new Events(ctx, { positions: this.#positions });
    this.#history = new History(ctx, {});
    this.#requests = new Requests(ctx, { markets: this.#markets, positions: this.#positions });
    this.#lp = new LpRequests(ctx, { markets: this.#markets });
    this.#orderReads = new OrderReads(ctx, { markets: this.#markets, positions: this.#positions, requests: this.#requests });
    this.#orders = new Orders(ctx, { markets: this.#markets, positions: this.#positions, requests: this.#requests, reads: this.#orderReads });
  }

  /**
   * Connects to Bulkhead. With a `Signer` the client can send transactions; with a `Provider` it
   * is read-only. Reads the token, the vault implementation and the market count once (one
   * round of parallel calls).
   */
  static async connect(runner: Provider | Signer, options: ClientOptions = {}): Promise<BulkheadClient> {
    return new BulkheadClient(await ClientContext.connect(runner, options));
  }

  /**
   * The block reads are pinned to: the provider's latest block, but never one before a receipt
   * this client already received (providers cache eth_blockNumber for a moment, and a read pinned
   * to a stale block would not see the client's own last transaction).
   */
  async latestBlock(): Promise<number> {
    return this.#ctx.latestBlock();
  }

  /** True when the client has no signer. */
  get readOnly(): boolean {
    return this.signer === undefined;
  }

  /** Token facts for error messages. */
  get errorContext(): ErrorContext {
    return this.#ctx.errorContext;
  }

  // ------------------------------------------------------------ errors

  /** Turns anything a call threw into the SDK's typed error when it is a revert. */
  toError(error: unknown): unknown {
    return this.#ctx.toError(error);
  }

  // ------------------------------------------------------------ vaults

  /** The vault address of position `id`, computed off-chain (equals `engine.vaultOf(id)`). */
  vaultOf(id: PositionId): string {
    return this.#positions.vaultOf(id);
  }

  // ------------------------------------------------------------ reads: markets and prices (client/markets.ts)

  /** The validated oracle price of a market (WAD); throws the typed oracle error (e.g. StalePriceError). */
  async getPrice(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    return this.#markets.getPrice(marketId, blockTag);
  }

  /**
   * Every listed market with parameters, current risk parameters, price and borrow index (the
   * rate now is `getBorrowRate`). A delisted market is listed with `delisted: true` and
   * `price: null` and no `priceError`: its feed is not read (it has no positions, and the engine's
   * `price` reverts `MarketIsDelisted` for it).
   */
  async getMarkets(): Promise<MarketInfo[]> {
    return this.#markets.getMarkets();
  }

  /** One market (see {@link getMarkets}). */
  async getMarket(marketId: MarketId): Promise<MarketInfo> {
    return this.#markets.getMarket(marketId);
  }

  // ------------------------------------------------------------ reads: positions (client/positions.ts)

  /**
   * Positions by id in one batched snapshot pinned to one block: lens `positions(ids)` in chunks
   * of `lensBatchSize`, the borrow index of every market, and (once per risk version) the risk
   * parameters. Health is computed locally from that data and equals the lens' views. The
   * result is aligned with `ids`; null where no position exists.
   */
  async getPositions(ids: readonly PositionId[], blockTag?: number): Promise<(PositionView | null)[]> {
    return this.#positions.getPositions(ids, blockTag);
  }

  /**
   * One position, or null when it does not exist. With `withOrders` its live trigger orders and
   * top-up guards are listed in `orders` (a scan of the order book's events; see {@link getPositionOrders}).
   */
  async getPosition(id: PositionId, opts: { withOrders?: boolean } = {}): Promise<PositionView | null> {
    const view = await this.#positions.getPosition(id);
    if (view && opts.withOrders) view.orders = await this.#orderReads.getOrders({ positionId: id });
    return view;
  }

  /**
   * The most `removeCollateral(id, amount)` accepts at the current price and block (lens
   * `maxRemovableCollateral`; no unrealised profit counts). A transaction mined later owes a little
   * more borrow fee: {@link quoteRemoveCollateral} leaves a buffer for that.
   */
  async getMaxRemovableCollateral(id: PositionId, blockTag?: BlockTag): Promise<bigint> {
    return this.#positions.getMaxRemovableCollateral(id, blockTag);
  }

  /** Health of a read position at another price (same borrow index), computed locally. */
  healthAt(view: Pick<PositionView, "position" | "risk" | "index">, price: bigint): PositionHealth {
    return this.#positions.healthAt(view, price);
  }

  /**
   * Every open position owned by `owner` now. The engine is a Solady ERC-721 (not enumerable): the
   * candidates come from the Transfer logs into `owner`, then one batched read keeps those it
   * still owns.
   */
  async getPositionsOf(owner: string, range: Partial<LogRangeOptions> = {}): Promise<PositionView[]> {
    return this.#positions.getPositionsOf(owner, range);
  }

  /** Ids of every open position (minted and not burned), from the ERC-721 Transfer logs. */
  async getOpenPositionIds(range: Partial<LogRangeOptions> = {}): Promise<bigint[]> {
    return this.#positions.getOpenPositionIds(range);
  }

  /** What `liquidate(id)` would do now, for many ids in batched lens calls (liquidatable false when unknown or the price is invalid). */
  async previewLiquidations(ids: readonly PositionId[]): Promise<LiquidationPreview[]> {
    return this.#positions.previewLiquidations(ids);
  }

  /**
   * Liquidation previews computed locally from one snapshot (the BulkheadLogic mirror of
   * `_previewLiquidation`), for keepers that re-evaluate on every price tick without RPC.
   */
  previewLiquidationLocal(view: PositionView, ledger: Ledger, price = view.price): LiquidationPreview | null {
    return this.#positions.previewLiquidationLocal(view, ledger, price);
  }

  /**
   * What `liquidateMany(ids)` would do, computed locally from one snapshot (views from
   * {@link getPositions} in the order of `ids`, the ledger and the markets read at the same
   * block): the ledger threaded through the batch, the reward, the ledger after it and the new
   * borrow rate of each market with a liquidation (refreshed from the final ledger).
   */
  previewLiquidateManyLocal(views: readonly (PositionView | null)[], ledger: Ledger, markets: readonly MarketInfo[]): LiquidateManyPreview {
    return this.#positions.previewLiquidateManyLocal(views, ledger, markets);
  }

  // ------------------------------------------------------------ reads: ledger and borrow rate (client/markets.ts)

  /** The engine's pool ledger. */
  async getLedger(blockTag?: BlockTag): Promise<Ledger> {
    return this.#markets.getLedger(blockTag);
  }

  /** LP assets, reserved and the pool's utilisation integrals: what every borrow index follows (`BorrowLib`). */
  async getUtilisationState(blockTag?: BlockTag): Promise<UtilisationState> {
    return this.#markets.getUtilisationState(blockTag);
  }

  /** A market's borrow rate per second (WAD) at the pool's utilisation now (`borrowRate`). */
  async getBorrowRate(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    return this.#markets.getBorrowRate(marketId, blockTag);
  }

  // ------------------------------------------------------------ reads: pool (client/pool.ts)

  /** Pool state: assets, reserved, free liquidity, share price. */
  async getPool(): Promise<PoolState> {
    return this.#pool.getPool();
  }

  /** An account's LP shares, their value and what it can withdraw now. */
  async getLpPosition(account: string): Promise<LpPosition> {
    return this.#pool.getLpPosition(account);
  }

  /** {@link getPool} and {@link getLpPosition} of `account` in one read (an account panel's load). */
  async getPoolWithLp(account: string): Promise<{ pool: PoolState; lp: LpPosition }> {
    return this.#pool.getPoolWithLp(account);
  }

  /** {@link getMarkets}, {@link getPool} and {@link getLpPosition} of `account` in one read at one block (a trading page's load before its positions). */
  async getOverview(account: string): Promise<{ markets: MarketInfo[]; pool: PoolState; lp: LpPosition }> {
    return this.#pool.getOverview(account);
  }

  // ------------------------------------------------------------ quotes (client/quotes.ts)

  /**
   * Quote for opening a position: size (from leverage or given), fees, the acceptable entry
   * price, liquidation price, required allowance, and the typed errors it would revert with.
   */
  async quoteOpen(req: OpenRequest): Promise<OpenQuote> {
    return this.#quotes.quoteOpen(req);
  }

  /**
   * Quote for `increase`: the PnL realised at the price (capped), new size, entry (the price),
   * collateral (after the realised PnL and the settled borrow fee), the cap factor and risk
   * version it moves to, fees, liquidation price, and the ledger and market borrow rate after it.
   */
  async quoteIncrease(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint; slippageBps?: number }): Promise<IncreaseQuote> {
    return this.#quotes.quoteIncrease(req);
  }

  /**
   * Quote for `decrease` (sizeDelta below the size) or, with sizeDelta "close", for `close`:
   * PnL, fees, payout, and the ledger and market borrow rate after it.
   */
  async quoteDecrease(req: { id: PositionId; sizeDelta: bigint | "close"; slippageBps?: number }): Promise<DecreaseQuote> {
    return this.#quotes.quoteDecrease(req);
  }

  /** Quote for `close`. */
  async quoteClose(req: { id: PositionId; slippageBps?: number }): Promise<DecreaseQuote> {
    return this.#quotes.quoteClose(req);
  }

  /**
   * Quote for `removeCollateral`. Unrealised profit does not count toward a withdrawal (a loss
   * does). `maxRemovable` is the most that keeps initial margin and health if the
   * transaction is mined within `feeBufferSeconds` (default 300) at the quoted price: the borrow
   * fee keeps accruing until then, so the exact "now" maximum would fail a block later.
   */
  async quoteRemoveCollateral(req: { id: PositionId; amount: bigint; feeBufferSeconds?: number }): Promise<RemoveCollateralQuote> {
    return this.#quotes.quoteRemoveCollateral(req);
  }

  /** Quote for `addCollateral`: the new collateral and liquidation price (borrow fee accrued so far counted). */
  async quoteAddCollateral(req: { id: PositionId; amount: bigint }): Promise<AddCollateralQuote> {
    return this.#quotes.quoteAddCollateral(req);
  }

  // ------------------------------------------------------------ transactions: trades (client/trades.ts)

  /**
   * Opens a position: quotes, simulates (throwing the typed error if it would revert, e.g.
   * "needs 12.5 USDC more collateral: ..."), approves exactly what is missing, sends, and
   * returns the id, vault and `PositionOpened` event.
   */
  async open(req: OpenRequest & TxOptions): Promise<TxResult & { id: PositionId; vault: string; event: PositionOpenedEvent; quote: OpenQuote }> {
    return this.#trades.open(req);
  }

  /** Adds size (and optional collateral) to a position. */
  async increase(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint } & TxOptions): Promise<TxResult & { event: PositionIncreasedEvent; quote: IncreaseQuote }> {
    return this.#trades.increase(req);
  }

  /** Realises part of a position (sizeDelta below its size; use {@link close} for all of it). */
  async decrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    return this.#trades.decrease(req);
  }

  /** Closes a position: pays the owner and burns the token. */
  async close(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    return this.#trades.close(req);
  }

  /** Tops up any position's vault (works while paused or while the feed is stale). */
  async addCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralAddedEvent }> {
    return this.#trades.addCollateral(req);
  }

  /** Takes collateral out of the owner's position (it must keep initial margin). */
  async removeCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralRemovedEvent }> {
    return this.#trades.removeCollateral(req);
  }

  /**
   * Liquidates one position (throws PositionNotLiquidatableError when healthy); `preview` is what
   * the mined transaction did (from its `PositionLiquidated` event). The keeper reward
   * comes from the position's vault first, the pool paying any rest; the amount is the preview's
   * `keeperReward` either way.
   */
  async liquidate(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionLiquidatedEvent; preview: LiquidationPreview }> {
    return this.#trades.liquidate(req);
  }

  /** Liquidates those of `ids` that are liquidatable and skips the rest without reverting. */
  async liquidateMany(req: { ids: readonly PositionId[] } & TxOptions): Promise<TxResult & { liquidated: number; reward: bigint; events: PositionLiquidatedEvent[] }> {
    return this.#trades.liquidateMany(req);
  }

  // ------------------------------------------------------------ approvals and unsigned transactions (client/context.ts, trades.ts, pool.ts, requests.ts)

  /**
   * Sets the signer's token allowance to `spender` (default: the engine) to exactly `amount`
   * (resetting it to zero first on a token that refuses to change a non-zero allowance).
   */
  async approve(req: { spender?: string; amount: bigint } & Pick<TxOptions, "onSubmitted">): Promise<TxResult> {
    this.#ctx.validate(req, { spender: "address?", amount: "amount" });
    return this.#ctx.approve(req.spender ?? this.engineAddress, req.amount, req);
  }

  /**
   * The unsigned transactions of {@link open}, in order ([approval if needed, open]), as
   * `{ to, data, value }` for wagmi/viem, a Safe or `wallet_sendCalls`, with the quote. Simulated
   * first: a revert throws its typed error, a balance short of the pull throws
   * `InsufficientBalanceError`; nothing is signed.
   */
  async prepareOpen(req: OpenRequest & TxOptions): Promise<PreparedTransactions & { quote: OpenQuote }> {
    return this.#trades.prepareOpen(req);
  }

  /** The unsigned transactions of {@link increase} (see {@link prepareOpen}). */
  async prepareIncrease(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint } & TxOptions): Promise<PreparedTransactions & { quote: IncreaseQuote }> {
    return this.#trades.prepareIncrease(req);
  }

  /** The unsigned transaction of {@link decrease}, simulated. */
  async prepareDecrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<PreparedTransactions & { quote: DecreaseQuote }> {
    return this.#trades.prepareDecrease(req);
  }

  /** The unsigned transaction of {@link close}, simulated. */
  async prepareClose(req: { id: PositionId } & TxOptions): Promise<PreparedTransactions & { quote: DecreaseQuote }> {
    return this.#trades.prepareClose(req);
  }

  /** The unsigned transactions of {@link addCollateral} ([approval if needed, addCollateral]). */
  async prepareAddCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<PreparedTransactions> {
    return this.#trades.prepareAddCollateral(req);
  }

  /** The unsigned transaction of {@link removeCollateral}, simulated. */
  async prepareRemoveCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<PreparedTransactions> {
    return this.#trades.prepareRemoveCollateral(req);
  }

  /** What an LP deposit of `assets` would give now: shares, allowance and balance needed against the wallet's, typed issues. */
  async quoteDeposit(req: { assets: bigint; receiver?: string }): Promise<DepositQuote> {
    return this.#pool.quoteDeposit(req);
  }

  /** The unsigned transactions of {@link deposit} ([approval if needed, deposit]). */
  async prepareDeposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    return this.#pool.prepareDeposit(req);
  }

  /** The unsigned transaction of {@link withdraw}, simulated. */
  async prepareWithdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    return this.#pool.prepareWithdraw(req);
  }

  /** The unsigned transaction of {@link redeem}, simulated. */
  async prepareRedeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    return this.#pool.prepareRedeem(req);
  }

  /** The unsigned transactions of {@link requestOpen} ([approval of the router if needed, requestOpen with its fee as value]). */
  async prepareRequestOpen(req: Parameters<BulkheadClient["quoteRequestOpen"]>[0] & TxOptions): Promise<PreparedTransactions & { quote: RequestQuote }> {
    return this.#requests.prepareRequestOpen(req);
  }

  /** The unsigned transactions of {@link requestIncrease}. */
  async prepareRequestIncrease(req: Parameters<BulkheadClient["quoteRequestIncrease"]>[0] & TxOptions): Promise<PreparedTransactions & { quote: RequestQuote }> {
    return this.#requests.prepareRequestIncrease(req);
  }

  /** The unsigned transaction of {@link requestDecrease}. */
  async prepareRequestDecrease(req: Parameters<BulkheadClient["quoteRequestDecrease"]>[0] & TxOptions): Promise<PreparedTransactions & { quote: RequestQuote }> {
    return this.#requests.prepareRequestDecrease(req);
  }

  /** The unsigned transaction of {@link requestClose}. */
  async prepareRequestClose(req: Parameters<BulkheadClient["quoteRequestClose"]>[0] & TxOptions): Promise<PreparedTransactions & { quote: RequestQuote }> {
    return this.#requests.prepareRequestClose(req);
  }

  /** The unsigned transactions of {@link placeLimitOpen} ([approval of the book for `amount` if needed, place with its fee as value]). */
  async preparePlaceLimitOpen(req: Parameters<BulkheadClient["placeLimitOpen"]>[0]): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceLimitOpen(req);
  }

  /** The unsigned transactions of {@link placeLimitIncrease}. */
  async preparePlaceLimitIncrease(req: Parameters<BulkheadClient["placeLimitIncrease"]>[0]): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceLimitIncrease(req);
  }

  /** The unsigned transaction of {@link placeStopLoss}. */
  async preparePlaceStopLoss(req: ExitOrderRequest): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceStopLoss(req);
  }

  /** The unsigned transaction of {@link placeTakeProfit}. */
  async preparePlaceTakeProfit(req: ExitOrderRequest): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceTakeProfit(req);
  }

  /** The unsigned transaction of {@link placeTrailingStop}. */
  async preparePlaceTrailingStop(req: TrailingStopRequest): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceTrailingStop(req);
  }

  /** The unsigned transaction of {@link placeBracket}. */
  async preparePlaceBracket(req: BracketRequest): Promise<PreparedTransactions & { executionFee: ExecutionFeeQuote }> {
    return this.#orders.preparePlaceBracket(req);
  }

  /** The unsigned transactions of {@link setTopUpGuard}: [approval of the book for the guards' budgets if needed, the guard]. */
  async prepareSetTopUpGuard(req: TopUpGuardRequest & TxOptions): Promise<PreparedTransactions> {
    return this.#orders.prepareSetTopUpGuard(req);
  }

  // ------------------------------------------------------------ transactions: pool (client/pool.ts)

  /** LP deposit of `assets` into the pool; returns the shares minted. */
  async deposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    return this.#pool.deposit(req);
  }

  /** LP withdrawal of `assets` (limited to free liquidity); returns the shares burned. */
  async withdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    return this.#pool.withdraw(req);
  }

  /** LP redemption of `shares`; returns the assets paid. */
  async redeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<TxResult & { assets: bigint }> {
    return this.#pool.redeem(req);
  }

  // ------------------------------------------------------------ two-step trades (client/requests.ts)

  /** The request router (the engine's settler), or null when the deployment trades instantly. */
  async getRequestRouter(): Promise<string | null> {
    return this.#requests.routerAddress();
  }

  /** The execution fee a request of `kind` needs at `gasPrice` (default: the node's max fee per gas). */
  async quoteExecutionFee(kind: RequestKindName, gasPrice?: bigint): Promise<ExecutionFeeQuote> {
    return this.#requests.quoteExecutionFee(kind, gasPrice);
  }

  /**
   * What an open request would do: the fill range (the report's benchmark lies within the stream's
   * deviation bound of the push price; a fill past the acceptable price cancels the request), the
   * open fee and the collateral over that range (the fee comes out of `amount`), the execution fee
   * and the timing.
   */
  async quoteRequestOpen(req: { market: MarketId; side: "long" | "short"; amount: bigint; size: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    return this.#requests.quoteRequestOpen(req);
  }

  /** What an increase request would do (see {@link quoteRequestOpen}). */
  async quoteRequestIncrease(req: { id: PositionId; amount: bigint; sizeDelta: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    return this.#requests.quoteRequestIncrease(req);
  }

  /** What a decrease request would do: its fill range and execution fee. */
  async quoteRequestDecrease(req: { id: PositionId; sizeDelta: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    return this.#requests.quoteRequestDecrease(req);
  }

  /** What a close request would do: its fill range and execution fee. */
  async quoteRequestClose(req: { id: PositionId; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    return this.#requests.quoteRequestClose(req);
  }

  /** Requests an open: escrows `amount` (approving the router when needed) and the execution fee. */
  async requestOpen(req: Parameters<BulkheadClient["quoteRequestOpen"]>[0] & TxOptions): Promise<TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }> {
    return this.#requests.requestOpen(req);
  }

  /** Requests an increase of position `id` (owner or approved). */
  async requestIncrease(req: Parameters<BulkheadClient["quoteRequestIncrease"]>[0] & TxOptions): Promise<TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }> {
    return this.#requests.requestIncrease(req);
  }

  /** Requests a decrease of position `id`; the payout goes to its owner at execution. */
  async requestDecrease(req: Parameters<BulkheadClient["quoteRequestDecrease"]>[0] & TxOptions): Promise<TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }> {
    return this.#requests.requestDecrease(req);
  }

  /** Requests a close of position `id`. */
  async requestClose(req: Parameters<BulkheadClient["quoteRequestClose"]>[0] & TxOptions): Promise<TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }> {
    return this.#requests.requestClose(req);
  }

  /** A pending request and where it stands (waiting for its report, executable, expired), or null. */
  async getRequest(requestId: bigint): Promise<RequestView | null> {
    return this.#requests.getRequest(requestId);
  }

  /**
   * Executes a request with its signed report (the `fullReport` hex the Data Streams API returns
   * for the request's settlement time). `filled` is false when the engine refused the trade at that
   * price and the execution cancelled the request instead (escrow returned; `event.reason` says why).
   */
  async executeRequest(req: { requestId: bigint; report: string } & TxOptions): Promise<TxResult & { filled: boolean; event: RequestExecutedEvent | RequestCancelledEvent }> {
    return this.#requests.execute(req);
  }

  /** Executes an overdue exit at the first push-feed round after it (found from the feed unless given). */
  async executeAtPushRound(req: { requestId: bigint; roundId?: bigint } & TxOptions): Promise<TxResult & { filled: boolean; event: RequestExecutedEvent | RequestCancelledEvent }> {
    return this.#requests.executeAtPushRound(req);
  }

  /** Cancels an expired request of the signer; everything it escrowed returns. */
  async cancelRequest(req: { requestId: bigint } & TxOptions): Promise<TxResult & { event: RequestCancelledEvent }> {
    return this.#requests.cancel(req);
  }

  /** Request events in a block range (default: from the deployment block), optionally of one account's requests. */
  async getRequestEvents(range: Partial<LogRangeOptions> & { account?: string } = {}): Promise<RequestEvent[]> {
    return this.#requests.getRequestEvents(range);
  }

  /** Calls `onEvent` for every new request event (created, executed, cancelled); returns a function that stops it. */
  watchRequests(onEvent: (event: RequestEvent) => void, options: WatchOptions = {}): () => void {
    return this.#requests.watchRequests(onEvent, options);
  }

  // ------------------------------------------------------------ trigger orders (client/orderReads.ts, client/orders.ts)

  /** The order book (read from the router's `orderBook()`), or null when the deployment has none. */
  async getOrderBook(): Promise<string | null> {
    return this.#orderReads.getOrderBook();
  }

  /** The execution fee an order of `kind` (or a "Bracket": both legs) needs at `gasPrice` (default: the node's max fee per gas). */
  async quoteOrderFee(kind: OrderKindName | "Bracket", gasPrice?: bigint): Promise<ExecutionFeeQuote> {
    return this.#orderReads.quoteOrderFee(kind, gasPrice);
  }

  /** Places a limit open: `amount` is escrowed in the book (approved when needed); it opens `size` once the fill price reaches `limitPrice`. */
  async placeLimitOpen(req: { market: MarketId; side: "long" | "short"; amount: bigint; size: bigint; limitPrice: bigint } & PlaceOptions): Promise<Placed> {
    return this.#orders.placeLimitOpen(req);
  }

  /** Places a limit increase of position `id`: `amount` escrowed, `sizeDelta` added once the fill price reaches `limitPrice`. */
  async placeLimitIncrease(req: { id: PositionId; amount: bigint; sizeDelta: bigint; limitPrice: bigint } & PlaceOptions): Promise<Placed> {
    return this.#orders.placeLimitIncrease(req);
  }

  /**
   * Places a stop-loss on a position, an open request or a limit-open order (a long's below the
   * price now, a short's above). Without `acceptablePrice` the worst fill is the trigger less the
   * slippage tolerance; a fill past it does not happen (the order stays).
   */
  async placeStopLoss(req: ExitOrderRequest): Promise<Placed> {
    return this.#orders.placeStopLoss(req);
  }

  /** Places a take-profit (a long's above the price now, a short's below). */
  async placeTakeProfit(req: ExitOrderRequest): Promise<Placed> {
    return this.#orders.placeTakeProfit(req);
  }

  /** Places a trailing stop of `trailBps` (10 to 5,000) from the running peak since placement. */
  async placeTrailingStop(req: TrailingStopRequest): Promise<Placed> {
    return this.#orders.placeTrailingStop(req);
  }

  /** Places a stop-loss and a take-profit on one target that cancel each other. */
  async placeBracket(req: BracketRequest): Promise<TxResult & { stopLossId: bigint; takeProfitId: bigint; events: OrderPlacedEvent[]; executionFee: ExecutionFeeQuote }> {
    return this.#orders.placeBracket(req);
  }

  /** Attaches exits to a target (a bracket when both a stop-loss and a take-profit are given, and a trailing stop). */
  async attachOrders(req: OrderTargetSpec & PlaceOptions & AttachRequest): Promise<Attached> {
    return this.#orders.attachOrders(req);
  }

  /** Requests an open and attaches exits to it: they act on the position once the request fills. */
  async requestOpenWithOrders(req: Parameters<BulkheadClient["requestOpen"]>[0] & AttachRequest & { validUntil?: number }): Promise<{ request: TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }; orders: Attached }> {
    return this.#orders.requestOpenWithOrders(req);
  }

  /** Changes an order's size, trigger (or `trailBps`), acceptable price and expiry; what is not given stays. */
  async editOrder(req: { orderId: bigint; size?: bigint; triggerPrice?: bigint; trailBps?: bigint; acceptablePrice?: bigint; slippageBps?: number; validUntil?: number } & TxOptions): Promise<TxResult & { event: OrderEditedEvent }> {
    return this.#orders.editOrder(req);
  }

  /** Cancels an order or guard of the signer's: its escrow and fee return. */
  async cancelOrder(req: { orderId: bigint } & TxOptions): Promise<TxResult & { event: OrderCancelledEvent }> {
    return this.#orders.cancelOrder(req);
  }

  /** Removes an expired order or one whose position is gone (anyone; paid its gas from the order's fee). */
  async pruneOrder(req: { orderId: bigint } & TxOptions): Promise<TxResult & { event: OrderCancelledEvent }> {
    return this.#orders.pruneOrder(req);
  }

  /**
   * Sets a top-up guard on position `id`, approving the book first for the budgets of all the
   * signer's live guards (their executions pull from the wallet through one allowance).
   */
  async setTopUpGuard(req: TopUpGuardRequest & TxOptions): Promise<TxResult & { orderId: bigint; event: TopUpGuardSetEvent }> {
    return this.#orders.setTopUpGuard(req);
  }

  /** Changes a top-up guard (what is not given stays; the budget is set, not added to). */
  async editTopUpGuard(req: { orderId: bigint; threshold?: bigint; amount?: bigint; budget?: bigint; executorFee?: bigint; validUntil?: number } & TxOptions): Promise<TxResult & { orderId: bigint; event: TopUpGuardSetEvent }> {
    return this.#orders.editTopUpGuard(req);
  }

  /** A live order with its bracket sibling and the position it acts on now, or null. */
  async getOrder(orderId: bigint): Promise<OrderView | null> {
    return this.#orderReads.getOrder(orderId);
  }

  /** A live top-up guard, or null. */
  async getTopUpGuard(orderId: bigint): Promise<TopUpGuardView | null> {
    return this.#orderReads.getTopUpGuard(orderId);
  }

  /** The live orders and guards of `{ owner }` or `{ positionId }` (from the book's events, then their current records). */
  async getOrders(filter: OrderFilter, range: Partial<LogRangeOptions> = {}): Promise<OrderList> {
    return this.#orderReads.getOrders(filter, range);
  }

  /** The live orders and guards acting on position `id` (attached ones once their open filled). */
  async getPositionOrders(id: PositionId): Promise<OrderList> {
    return this.#orderReads.getOrders({ positionId: id });
  }

  /** Order book events in a block range (default: from the deployment block); with `owner`, those of its orders placed in the range. */
  async getOrderEvents(range: Partial<LogRangeOptions> & { owner?: string } = {}): Promise<OrderEvent[]> {
    return this.#orderReads.getOrderEvents(range);
  }

  /** Calls `onEvent` for every new order book event; returns a function that stops it. */
  watchOrders(onEvent: (event: OrderEvent) => void, options: WatchOptions = {}): () => void {
    return this.#orderReads.watchOrders(onEvent, options);
  }

  /**
   * What a report (signed hex or its prices) does to a live order: due or not, the fill price,
   * whether the acceptable price holds, whether it is after the order and fresh; a trailing stop
   * also takes its `peak` report (or price) and says at what price it is due from that peak.
   */
  async quoteOrder(req: { orderId: bigint; report: ReportInput; peak?: ReportInput | bigint }): Promise<OrderQuote> {
    return this.#orderReads.quoteOrder(req);
  }

  /** A guard's position at a report's (or a given, or the current push) price: health factor, due or not, and what a top-up spends. */
  async quoteTopUp(req: { orderId: bigint; report?: ReportInput; price?: bigint }): Promise<TopUpQuote & { guard: TopUpGuardView; price: bigint }> {
    return this.#orderReads.quoteTopUp(req);
  }

  /** Executes a limit, stop-loss or take-profit order with a signed report that crosses it (keepers). */
  async executeOrder(req: { orderId: bigint; report: string } & TxOptions): Promise<TxResult & { positionId: PositionId; event: OrderExecutedEvent; events: OrderEvent[] }> {
    return this.#orders.executeOrder(req);
  }

  /** Executes a trailing stop with its peak report and a fresh report at least the trail past it (keepers). */
  async executeTrailingStop(req: { orderId: bigint; peakReport: string; report: string } & TxOptions): Promise<TxResult & { positionId: PositionId; event: OrderExecutedEvent; events: OrderEvent[] }> {
    return this.#orders.executeTrailingStop(req);
  }

  /** Tops up a guarded position whose health factor at a fresh report is below its threshold (keepers). */
  async executeTopUp(req: { orderId: bigint; report: string } & TxOptions): Promise<TxResult & { event: TopUpExecutedEvent; events: OrderEvent[] }> {
    return this.#orders.executeTopUp(req);
  }

  // ------------------------------------------------------------ asynchronous LP flows (client/lpRequests.ts)

  /** True when the pool is asynchronous (ERC-7540: deposits and redemptions are requests). */
  async isPoolAsync(): Promise<boolean> {
    return this.#lp.isAsync();
  }

  /** The execution fee an LP request of `kind` needs at `gasPrice` (default: the node's max fee per gas). */
  async quoteLpExecutionFee(kind: LpRequestKindName, gasPrice?: bigint): Promise<{ fee: bigint; gasLimit: bigint; gasPrice: bigint }> {
    return this.#lp.quoteLpExecutionFee(kind, gasPrice);
  }

  /** Markets whose report an LP execution needs (those with open interest). */
  async lpReportMarkets(): Promise<number[]> {
    return this.#lp.marketsNeedingReports();
  }

  /**
   * What an LP request would give: the shares of a deposit of `amount` assets (or the assets of a
   * redemption of `amount` shares) over the range its reports' benchmarks can take, with the
   * execution fee, the markets whose report it needs and the timing.
   */
  async quoteLpRequest(req: { kind: LpRequestKindName; amount: bigint; gasPrice?: bigint }): Promise<LpRequestQuote> {
    return this.#lp.quoteLpRequest(req);
  }

  /** Requests a deposit of `assets` (approving the pool when needed) with its execution fee. */
  async requestDeposit(req: { assets: bigint; controller?: string; gasPrice?: bigint } & TxOptions): Promise<TxResult & { requestId: bigint; settlesAt: number; expiresAt: number }> {
    return this.#lp.requestDeposit(req);
  }

  /** Requests a redemption of `shares` with its execution fee. */
  async requestRedeem(req: { shares: bigint; controller?: string; gasPrice?: bigint } & TxOptions): Promise<TxResult & { requestId: bigint; settlesAt: number; expiresAt: number }> {
    return this.#lp.requestRedeem(req);
  }

  /** An LP request and its times, or null. */
  async getLpRequest(requestId: bigint): Promise<LpRequestView | null> {
    return this.#lp.getLpRequest(requestId);
  }

  /**
   * Executes an LP request with the reports its creation pins (`reports[marketId]`, "0x" for a
   * market without open interest); `filled` is false when the pool cancelled it instead.
   */
  async executeLpRequest(req: { requestId: bigint; reports: readonly string[] } & TxOptions): Promise<TxResult & { filled: boolean }> {
    return this.#lp.executeLpRequest(req);
  }

  /** Executes an overdue redemption at the first push round of each market with open interest. */
  async executeRedeemAtPushRounds(req: { requestId: bigint; roundIds: readonly bigint[] } & TxOptions): Promise<TxResult & { filled: boolean }> {
    return this.#lp.executeRedeemAtPushRounds(req);
  }

  /** Cancels an expired LP request (controller or operator); escrow and fee return. */
  async cancelLpRequest(req: { requestId: bigint } & TxOptions): Promise<TxResult> {
    return this.#lp.cancelLpRequest(req);
  }

  /** What `controller` can claim: shares of executed deposits, assets of executed redemptions. */
  async getLpClaimable(controller: string): Promise<LpClaimable> {
    return this.#lp.getLpClaimable(controller);
  }

  /** Claims every claimable deposit share of the signer. */
  async claimDeposit(req: { receiver?: string } & TxOptions = {}): Promise<TxResult & { shares: bigint }> {
    return this.#lp.claimDeposit(req);
  }

  /** Claims every claimable redemption asset of the signer. */
  async claimRedeem(req: { receiver?: string } & TxOptions = {}): Promise<TxResult & { assets: bigint }> {
    return this.#lp.claimRedeem(req);
  }

  /** LP request events (created, executed, cancelled) in a block range (default: from the deployment block). */
  async getLpRequestEvents(range: Partial<LogRangeOptions> = {}): Promise<LpRequestEvent[]> {
    return this.#lp.getLpRequestEvents(range);
  }

  /** Calls `onEvent` for every new LP request event; returns a function that stops it. */
  watchLpRequests(onEvent: (event: LpRequestEvent) => void, options: WatchOptions = {}): () => void {
    return this.#lp.watchLpRequests(onEvent, options);
  }

  // ------------------------------------------------------------ events (client/events.ts)

  /** Typed position events in a block range, read in chunks (default: from the deployment block). */
  async *readPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions> = {}): AsyncGenerator<PositionEvent, void, undefined> {
    yield* this.#events.readPositionEvents(filter);
  }

  /** All typed position events in a range, collected into an array. */
  async getPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions> = {}): Promise<PositionEvent[]> {
    return this.#events.getPositionEvents(filter);
  }

  /**
   * Calls `onEvent` for every new position event, in chain order, by polling (works with every
   * provider). Returns a function that stops watching.
   */
  watchPositionEvents(onEvent: (event: PositionEvent) => void, options: PositionEventFilter & WatchOptions = {}): () => void {
    return this.#events.watchPositionEvents(onEvent, options);
  }

  /** Typed subscription to one event type: `client.on("PositionLiquidated", (e) => ...)`. Returns an unsubscribe function. */
  on<T extends PositionEventType>(type: T, handler: (event: PositionEventOf<T>) => void, options: Omit<PositionEventFilter, "types"> & WatchOptions = {}): () => void {
    return this.#events.on(type, handler, options);
  }

  /**
   * Calls `onHealth` with a fresh snapshot of position `id` on every new block (null once it is
   * closed or liquidated, after which watching stops). Returns a function that stops it.
   */
  watchHealth(id: PositionId, onHealth: (view: PositionView | null) => void, options: WatchOptions = {}): () => void {
    return this.#events.watchHealth(id, onHealth, options);
  }

  // ------------------------------------------------------------ front-end reads: history and position watch (client/history.ts, client/events.ts)

  /**
   * The owner's trade history, newest first, one entry per lifecycle event of its positions
   * (opened, increased, decreased, collateral added or removed, closed, liquidated) with the
   * realised PnL, fees, price, size, transaction and block. Pages of `limit` entries: pass a
   * page's `cursor` for the next one. Starts at the deployment's start block by default; a page
   * is a few eth_getLogs filtered on indexed topics, plus one block read per block on the page
   * (`timestamps: false` skips them).
   */
  async getTradeHistory(owner: string, options: TradeHistoryOptions = {}): Promise<TradeHistoryPage> {
    return this.#history.getTradeHistory(owner, options);
  }

  /**
   * Watches an owner's open positions (or a list of ids): `onUpdate` gets them at once, then after
   * each new block the changed ones and the ids gone (closed, liquidated, transferred away).
   * Failed polls go to `onError`, and the watch waits longer after each failure in a row (up to
   * `maxBackoff`). Stops when `signal` aborts or the returned function is called.
   */
  watchPositions(target: string | readonly PositionId[], onUpdate: (update: PositionsUpdate) => void, options: WatchPositionsOptions): () => void {
    return this.#events.watchPositions(target, onUpdate, options);
  }
}

export { deriveHealth, positionHealth };
export type { Health };
