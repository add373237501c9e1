/**
 * Two-step trades through the engine's request router: quotes with the range a fill can fall in,
 * the request transactions (amount and execution fee escrowed), execution with a signed report or
 * at the first push round after an overdue exit, cancellation after expiry, status reads and
 * request events. The router is the engine's settler, found from the engine itself.
 * @module
 */
import { Contract, getAddress, type Log, type TransactionReceipt } from "ethers";
import { bulkheadOracleAbi } from "../abis/bulkheadOracle.js";
import { bulkheadRouterAbi } from "../abis/bulkheadRouter.js";
import { InvalidRequestError, type BulkheadError } from "../errors.js";
import { readLogs, watchBlocks, type LogRangeOptions, type WatchOptions } from "../events.js";
import {
  RequestKind,
  buys,
  decodeRequestEvent,
  fillRange,
  requestEventTopics,
  requestOpenFee,
  requestStatus,
  settlementTime,
  expiresAt,
  toTradeRequest,
  type FillRange,
  type RequestCancelledEvent,
  type RequestCreatedEvent,
  type RequestEvent,
  type RequestExecutedEvent,
  type RequestKindName,
  type RequestStatus,
  type TradeRequest,
} from "../requests.js";
import type { MarketId, PositionId } from "../types.js";
import { ClientModule, txResult, type PreparedTransactions, type TxOptions, type TxResult } from "./context.js";
import type { Markets } from "./markets.js";
import type { Positions } from "./positions.js";
import { acceptablePriceFor } from "./quotes.js";

/** The execution fee a request needs. */
export interface ExecutionFeeQuote {
  /** Wei to send with the request. */
  fee: bigint;
  /** The gas the kind is quoted for. */
  gasLimit: bigint;
  /** The gas price (wei) the fee is quoted at: the node's max fee per gas unless given. */
  gasPrice: bigint;
}

/** What a request would do, before its report exists. */
export interface RequestQuote {
  kind: RequestKindName;
  marketId: MarketId;
  isLong: boolean;
  /** Fills at the ask (true) or the bid. */
  buying: boolean;
  /** The push price now (WAD): the report's benchmark will be within the deviation bound of the push price at execution. */
  pushPrice: bigint;
  /** The worst fill price the request accepts: a fill past it cancels the request (escrow back). */
  acceptablePrice: bigint;
  /** Where the fill can fall (see {@link fillRange}). */
  fill: FillRange;
  executionFee: ExecutionFeeQuote;
  /** Seconds after the request block whose report fills it. */
  settlementDelay: number;
  /** Seconds after the request block after which it can only be cancelled. */
  expiry: number;
  /** Open and increase: the token amount escrowed (the open fee comes out of it). */
  amount: bigint;
  /** Open and increase: the open fee over the fill range, token units. */
  openFee: { min: bigint; max: bigint };
  /** Open and increase: collateral the position receives (amount less the fee) over the fill range. */
  collateral: { min: bigint; max: bigint };
  size: bigint;
  /** The wallet's token balance when the request escrows `amount` (null for a read-only client, and when nothing is escrowed). */
  balance: bigint | null;
  /** What the SDK can tell now would make the request fail: a wallet balance below `amount` ({@link InsufficientBalanceError}). */
  issues: BulkheadError[];
  /** True when `issues` is empty. */
  ok: boolean;
}

/** A request as seen now. */
export interface RequestView extends TradeRequest {
  id: bigint;
  status: RequestStatus;
  /** The second whose report fills it. */
  settlesAt: number;
  /** Its last executable second. */
  expiresAt: number;
  /** From when an exit can be executed at a push-feed round. */
  pushFallbackAt: number | null;
}

/** A router call of a request: the quote, the call, the allowance it needs and the options with its fee. */
interface RequestPlan {
  router: Contract;
  method: string;
  args: unknown[];
  quote: RequestQuote;
  pull: { spender: string; amount: bigint } | undefined;
  opts: TxOptions;
}

/** Two-step trades. */
export class Requests extends ClientModule<{ markets: Markets; positions: Positions }> {
  #router: Contract | undefined;
  #oracle: Contract | undefined;

  /** The router (the engine's settler), or null when the deployment trades instantly. */
  async routerAddress(): Promise<string | null> {
    return this.ctx.settler();
  }

  async #contracts(): Promise<{ router: Contract; oracle: Contract }> {
    if (this.#router && this.#oracle) return { router: this.#router, oracle: this.#oracle };
    const address = await this.routerAddress();
    if (!address) throw new InvalidRequestError("this deployment trades instantly (the engine has no request router): use open/increase/decrease/close");
    const c = this.ctx;
    this.#router = new Contract(address, bulkheadRouterAbi as never, c.provider);
    const oracle = (await c.read(() => this.#router!.getFunction("oracle")())) as string;
    this.#oracle = new Contract(oracle, bulkheadOracleAbi as never, c.provider);
    return { router: this.#router, oracle: this.#oracle };
  }

  async quoteExecutionFee(kind: RequestKindName, gasPrice?: bigint): Promise<ExecutionFeeQuote> {
    const { router } = await this.#contracts();
    const c = this.ctx;
    let price = gasPrice;
    if (price === undefined) {
      const data = await c.provider.getFeeData();
      price = data.maxFeePerGas ?? data.gasPrice ?? 0n;
    }
    const gasLimit = (await c.read(() => router.getFunction("executionGas")(RequestKind[kind]))) as bigint;
    return { fee: gasLimit * price, gasLimit, gasPrice: price };
  }

  async #quote(
    kind: RequestKindName,
    marketId: number,
    isLong: boolean,
    size: bigint,
    amount: bigint,
    opts: { slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint },
  ): Promise<RequestQuote> {
    const c = this.ctx;
    const { oracle } = await this.#contracts();
    const owner = amount > 0n && c.signer ? await c.signer.getAddress() : null;
    const [market, stream, timing, executionFee, balance] = await Promise.all([
      this.uses.markets.getMarket(marketId),
      c.read(() => oracle.getFunction("stream")(marketId)) as Promise<{ feedId: string; maxDeviationBps: bigint }>,
      c.read(() => oracle.getFunction("timing")()) as Promise<{ settlementDelay: bigint; expiry: bigint }>,
      this.quoteExecutionFee(kind, opts.gasPrice),
      owner === null ? null : (c.read(() => c.tokenContract.getFunction("balanceOf")(owner)) as Promise<bigint>),
    ]);
    const issues: BulkheadError[] = [];
    if (owner !== null && balance !== null && balance < amount) issues.push(c.reason({ name: "ERC20InsufficientBalance", args: { sender: owner, balance, needed: amount } }));
    if (BigInt(stream.feedId) === 0n) throw c.reason({ name: "StreamNotConfigured", args: { marketId: BigInt(marketId) } });
    if (market.price === null) throw market.priceError ?? new InvalidRequestError(`market ${marketId} has no price`);
    const buying = buys(kind, isLong);
    const acceptablePrice = opts.acceptablePrice ?? acceptablePriceFor(buying, market.price, opts.slippageBps ?? c.options.slippageBps);
    const fill = fillRange(market.price, BigInt(stream.maxDeviationBps), buying, acceptablePrice);
    const takesFee = kind === "Open" || kind === "Increase";
    const fee = (p: bigint) => (takesFee ? requestOpenFee(size, p, market.openFeeRate, c.unit) : 0n);
    const openFee = { min: fee(fill.min), max: fee(fill.max) };
    const floor = (x: bigint) => (x > 0n ? x : 0n);
    return {
      kind,
      marketId,
      isLong,
      buying,
      pushPrice: market.price,
      acceptablePrice,
      fill,
      executionFee,
      settlementDelay: Number(timing.settlementDelay),
      expiry: Number(timing.expiry),
      amount,
      openFee,
      collateral: takesFee ? { min: floor(amount - openFee.max), max: floor(amount - openFee.min) } : { min: 0n, max: 0n },
      size,
      balance,
      issues,
      ok: issues.length === 0,
    };
  }

  async quoteRequestOpen(req: { market: MarketId; side: "long" | "short"; amount: bigint; size: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    this.ctx.validate(req, { market: "market", side: "side", amount: "amount", size: "size", gasPrice: "bigint?" });
    if (req.amount <= 0n || req.size <= 0n) throw new InvalidRequestError("amount and size must be positive");
    return this.#quote("Open", req.market, req.side === "long", req.size, req.amount, req);
  }

  async #position(id: PositionId) {
    const view = await this.uses.positions.getPosition(id);
    if (!view) throw this.ctx.reason({ name: "PositionNotFound", args: { id } });
    return view.position;
  }

  async quoteRequestIncrease(req: { id: PositionId; amount: bigint; sizeDelta: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    this.ctx.validate(req, { id: "id", amount: "amount", sizeDelta: "size", gasPrice: "bigint?" });
    if (req.sizeDelta <= 0n) throw new InvalidRequestError("sizeDelta must be positive");
    const p = await this.#position(req.id);
    return this.#quote("Increase", p.marketId, p.isLong, req.sizeDelta, req.amount, req);
  }

  async quoteRequestDecrease(req: { id: PositionId; sizeDelta: bigint; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    this.ctx.validate(req, { id: "id", sizeDelta: "size", gasPrice: "bigint?" });
    const p = await this.#position(req.id);
    if (req.sizeDelta <= 0n || req.sizeDelta >= p.size) throw this.ctx.reason({ name: "SizeDeltaTooLarge", args: { sizeDelta: req.sizeDelta, size: p.size } });
    return this.#quote("Decrease", p.marketId, p.isLong, req.sizeDelta, 0n, req);
  }

  async quoteRequestClose(req: { id: PositionId; slippageBps?: number; acceptablePrice?: bigint; gasPrice?: bigint }): Promise<RequestQuote> {
    this.ctx.validate(req, { id: "id", gasPrice: "bigint?" });
    const p = await this.#position(req.id);
    return this.#quote("Close", p.marketId, p.isLong, p.size, 0n, req);
  }

  /** The router call of a request, with its fee and what it escrows (the router is approved for `amount` when needed). */
  async #plan(method: string, args: unknown[], quote: RequestQuote, opts: TxOptions): Promise<RequestPlan> {
    const { router } = await this.#contracts();
    const spender = await router.getAddress();
    const pull = quote.amount > 0n ? { spender, amount: quote.amount } : undefined;
    return { router, method, args, quote, pull, opts: { ...opts, value: quote.executionFee.fee } };
  }

  async #prepare(plan: RequestPlan): Promise<PreparedTransactions & { quote: RequestQuote }> {
    const { transactions, simulated } = await this.ctx.prepare(plan.router, plan.method, plan.args, plan.opts, plan.pull);
    return { transactions, simulated, quote: plan.quote };
  }

  async #send(plan: RequestPlan): Promise<TxResult & { requestId: bigint; event: RequestCreatedEvent; quote: RequestQuote }> {
    const r = await this.ctx.execute<bigint>(plan.router, plan.method, plan.args, plan.opts, plan.pull);
    const event = this.#eventsIn(r.receipt).find((e): e is RequestCreatedEvent => e.type === "RequestCreated")!;
    return { ...txResult(r), requestId: event.requestId, event, quote: plan.quote };
  }

  async #planOpen(req: Parameters<Requests["quoteRequestOpen"]>[0] & TxOptions) {
    this.ctx.requireSigner("requestOpen");
    const q = await this.quoteRequestOpen(req);
    return this.#plan("requestOpen", [req.market, q.isLong, req.amount, req.size, q.acceptablePrice], q, req);
  }

  async #planIncrease(req: Parameters<Requests["quoteRequestIncrease"]>[0] & TxOptions) {
    this.ctx.requireSigner("requestIncrease");
    const q = await this.quoteRequestIncrease(req);
    return this.#plan("requestIncrease", [req.id, req.amount, req.sizeDelta, q.acceptablePrice], q, req);
  }

  async #planDecrease(req: Parameters<Requests["quoteRequestDecrease"]>[0] & TxOptions) {
    this.ctx.requireSigner("requestDecrease");
    const q = await this.quoteRequestDecrease(req);
    return this.#plan("requestDecrease", [req.id, req.sizeDelta, q.acceptablePrice], q, req);
  }

  async #planClose(req: Parameters<Requests["quoteRequestClose"]>[0] & TxOptions) {
    this.ctx.requireSigner("requestClose");
    const q = await this.quoteRequestClose(req);
    return this.#plan("requestClose", [req.id, q.acceptablePrice], q, req);
  }

  async requestOpen(req: Parameters<Requests["quoteRequestOpen"]>[0] & TxOptions) {
    return this.#send(await this.#planOpen(req));
  }

  async requestIncrease(req: Parameters<Requests["quoteRequestIncrease"]>[0] & TxOptions) {
    return this.#send(await this.#planIncrease(req));
  }

  async requestDecrease(req: Parameters<Requests["quoteRequestDecrease"]>[0] & TxOptions) {
    return this.#send(await this.#planDecrease(req));
  }

  async requestClose(req: Parameters<Requests["quoteRequestClose"]>[0] & TxOptions) {
    return this.#send(await this.#planClose(req));
  }

  async prepareRequestOpen(req: Parameters<Requests["quoteRequestOpen"]>[0] & TxOptions) {
    return this.#prepare(await this.#planOpen(req));
  }

  async prepareRequestIncrease(req: Parameters<Requests["quoteRequestIncrease"]>[0] & TxOptions) {
    return this.#prepare(await this.#planIncrease(req));
  }

  async prepareRequestDecrease(req: Parameters<Requests["quoteRequestDecrease"]>[0] & TxOptions) {
    return this.#prepare(await this.#planDecrease(req));
  }

  async prepareRequestClose(req: Parameters<Requests["quoteRequestClose"]>[0] & TxOptions) {
    return this.#prepare(await this.#planClose(req));
  }

  /** A pending request with its status at the latest block, or null. */
  async getRequest(requestId: bigint): Promise<RequestView | null> {
    const c = this.ctx;
    const { router, oracle } = await this.#contracts();
    const [raw, block, timing] = await Promise.all([
      c.read(() => router.getFunction("request")(requestId)),
      c.provider.getBlock(await c.latestBlock()),
      c.read(() => oracle.getFunction("timing")()) as Promise<{ pushFallbackDelay: bigint }>,
    ]);
    const r = toTradeRequest(raw as never);
    if (!r) return null;
    const exit = r.kind === "Decrease" || r.kind === "Close";
    return {
      ...r,
      id: requestId,
      status: requestStatus(r, block?.timestamp ?? Math.floor(Date.now() / 1000)),
      settlesAt: settlementTime(r),
      expiresAt: expiresAt(r),
      pushFallbackAt: exit ? r.createdAt + Number(timing.pushFallbackDelay) : null,
    };
  }

  /** Executes `requestId` with its signed report (hex, as the Data Streams API returns `fullReport`). */
  async execute(req: { requestId: bigint; report: string } & TxOptions): Promise<TxResult & { filled: boolean; event: RequestExecutedEvent | RequestCancelledEvent }> {
    this.ctx.validate(req, { requestId: "id", report: "hex" });
    const c = this.ctx;
    c.requireSigner("execute");
    const { router } = await this.#contracts();
    const r = await c.execute<boolean>(router, "execute", [req.requestId, req.report], req);
    return this.#settled(r, req.requestId);
  }

  /**
   * Executes an overdue exit at the first push-feed round after its creation; `roundId` is found
   * from the feed when not given.
   */
  async executeAtPushRound(req: { requestId: bigint; roundId?: bigint } & TxOptions): Promise<TxResult & { filled: boolean; event: RequestExecutedEvent | RequestCancelledEvent }> {
    this.ctx.validate(req, { requestId: "id", roundId: "bigint?" });
    const c = this.ctx;
    c.requireSigner("executeAtPushRound");
    const { router } = await this.#contracts();
    let roundId = req.roundId;
    if (roundId === undefined) {
      const request = await this.getRequest(req.requestId);
      if (!request) throw c.reason({ name: "RequestNotFound", args: { requestId: req.requestId } });
      roundId = await this.firstRoundAfter(request.marketId, request.createdAt);
    }
    const r = await c.execute<boolean>(router, "executeAtPushRound", [req.requestId, roundId], req);
    return this.#settled(r, req.requestId);
  }

  /** The id of the market's first push-feed round updated after `createdAt`, walking back from the latest. */
  async firstRoundAfter(marketId: MarketId, createdAt: number): Promise<bigint> {
    const c = this.ctx;
    const market = await this.uses.markets.getMarket(marketId);
    const feed = new Contract(market.feed, ["function latestRoundData() view returns (uint80,int256,uint256,uint256,uint80)", "function getRoundData(uint80) view returns (uint80,int256,uint256,uint256,uint80)"], c.provider);
    let [roundId, , , updatedAt] = (await feed.getFunction("latestRoundData")()) as [bigint, bigint, bigint, bigint, bigint];
    if (Number(updatedAt) <= createdAt) throw new InvalidRequestError(`market ${marketId}'s feed has published no round since the request (latest round ${roundId} at ${updatedAt})`);
    for (;;) {
      const previous = roundId - 1n;
      if ((previous & 0xffff_ffff_ffff_ffffn) === 0n) return roundId;
      const [, , , prevUpdated] = (await feed.getFunction("getRoundData")(previous)) as [bigint, bigint, bigint, bigint, bigint];
      if (Number(prevUpdated) <= createdAt) return roundId;
      roundId = previous;
    }
  }

  /** Cancels an expired request of the signer: its escrow and fee return. */
  async cancel(req: { requestId: bigint } & TxOptions): Promise<TxResult & { event: RequestCancelledEvent }> {
    this.ctx.validate(req, { requestId: "id" });
    const c = this.ctx;
    c.requireSigner("cancel");
    const { router } = await this.#contracts();
    const r = await c.execute(router, "cancel", [req.requestId], req);
    const event = this.#eventsIn(r.receipt).find((e): e is RequestCancelledEvent => e.type === "RequestCancelled")!;
    return { ...txResult(r), event };
  }

  #settled(r: Parameters<typeof txResult>[0] & { returned: boolean }, requestId: bigint) {
    const event = this.#eventsIn(r.receipt).find(
      (e): e is RequestExecutedEvent | RequestCancelledEvent => (e.type === "RequestExecuted" || e.type === "RequestCancelled") && e.requestId === requestId,
    )!;
    return { ...txResult(r), filled: event.type === "RequestExecuted", event };
  }

  #eventsIn(receipt: TransactionReceipt): RequestEvent[] {
    const router = this.#router ? getAddress(this.#router.target as string) : undefined;
    const out: RequestEvent[] = [];
    for (const log of receipt.logs as readonly Log[]) {
      if (router && getAddress(log.address) !== router) continue;
      const e = decodeRequestEvent(log);
      if (e) out.push(e);
    }
    return out;
  }

  /** Request events over a block range (default: deployment to latest), in chain order. */
  async getRequestEvents(range: Partial<LogRangeOptions> & { account?: string } = {}): Promise<RequestEvent[]> {
    const c = this.ctx;
    const { router } = await this.#contracts();
    const out: RequestEvent[] = [];
    for await (const page of readLogs(c.provider, { address: await router.getAddress(), topics: [requestEventTopics()] }, await c.range(range))) {
      for (const log of page) {
        const e = decodeRequestEvent(log);
        if (e && (!range.account || e.type !== "RequestCreated" || getAddress(e.account) === getAddress(range.account))) out.push(e);
      }
    }
    return out;
  }

  /** Calls `onEvent` for every new request event; returns a function that stops watching. */
  watchRequests(onEvent: (event: RequestEvent) => void, options: WatchOptions = {}): () => void {
    const c = this.ctx;
    return watchBlocks(
      c.provider,
      async (fromBlock, toBlock) => {
        for (const e of await this.getRequestEvents({ fromBlock, toBlock })) {
          // What the handler does next (read the position a fill opened) must see this block.
          c.sawBlock(e.blockNumber);
          onEvent(e);
        }
      },
      { pollingInterval: c.options.pollingInterval, ...options },
    );
  }
}
