/**
 * The Bulkhead client: reads, local health, quotes, transactions with typed errors, events.
 * @module
 */
import {
  Contract,
  MaxUint256,
  ZeroAddress,
  getAddress,
  zeroPadValue,
  type BlockTag,
  type ContractTransactionResponse,
  type Log,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { decodeTupleArray } from "./abiDecode.js";
import { bulkheadAbi } from "./abis/bulkhead.js";
import { bulkheadLensAbi } from "./abis/bulkheadLens.js";
import { bulkheadPoolAbi } from "./abis/bulkheadPool.js";
import { erc20Abi } from "./abis/erc20.js";
import { getDeployment, type BulkheadAddresses, type Deployment, type MarketDeployment } from "./addresses.js";
import { toHealth, toLedger, toLiquidationPreview, toMarketState, toPositionRecord, toRiskParams, toUtilisationAccumulator } from "./decode.js";
import {
  BulkheadError,
  ContractRevertError,
  InsufficientAllowanceError,
  InvalidRequestError,
  TransferFromFailedError,
  ReadOnlyClientError,
  TransactionRevertedError,
  UnknownRevertError,
  createRevertError,
  decodeRevert,
  extractRevertData,
  isCallException,
  type ErrorContext,
} from "./errors.js";
import {
  TRANSFER_TOPIC,
  bulkheadInterface,
  decodePositionEvent,
  readLogs,
  readPositionEvents,
  watchBlocks,
  type CollateralAddedEvent,
  type CollateralRemovedEvent,
  type LogRangeOptions,
  type PositionDecreasedEvent,
  type PositionEvent,
  type PositionEventFilter,
  type PositionEventOf,
  type PositionEventType,
  type PositionIncreasedEvent,
  type PositionLiquidatedEvent,
  type PositionOpenedEvent,
  type WatchOptions,
} from "./events.js";
import { deriveHealth, positionHealth, type PositionHealth } from "./health.js";
import {
  BulkheadLogic,
  type DecreasePreview,
  type IncreasePreview,
  type LedgerEffects,
  type LiquidateManyPreview,
  type RemoveCollateralPreview,
  type RevertReason,
} from "./math/BulkheadLogic.js";
import { BorrowLib } from "./math/BorrowLib.js";
import { ConstantsLib } from "./math/ConstantsLib.js";
import { MathLib } from "./math/MathLib.js";
import { PoolMath } from "./math/PoolMath.js";
import { PositionMath } from "./math/PositionMath.js";
import { cloneInitCodeHash, computeVaultAddress } from "./vault.js";
import type {
  Health,
  Ledger,
  LiquidationPreview,
  MarketId,
  MarketParams,
  MarketState,
  PositionId,
  PositionRecord,
  RiskParams,
  Side,
  TokenInfo,
  UtilisationState,
} from "./types.js";

const { WAD, BPS } = ConstantsLib;

// ---------------------------------------------------------------- public types

/** Options of {@link BulkheadClient.connect}. */
export interface ClientOptions {
  /** The deployment or addresses; default: the registered deployment of the provider's chain. */
  addresses?: BulkheadAddresses | Deployment;
  /** Position ids per lens `positions(ids)` call (default 200, about 8M gas per call). */
  lensBatchSize?: number;
  /** Blocks per eth_getLogs request (default 5,000). */
  logChunkSize?: number;
  /** Milliseconds between polls of watchers (default 4,000). */
  pollingInterval?: number;
  /** Seconds from the latest block until a transaction's deadline (default 1,200). */
  deadlineSeconds?: number;
  /** Confirmations a transaction waits for (default 1). */
  confirmations?: number;
  /** Default slippage tolerance in basis points (default 50 = 0.5%). */
  slippageBps?: number;
  /**
   * Headroom added to a gas estimate, in basis points (default 2,000 = +20%). An estimate is made
   * against the latest block; the block the transaction lands in is later, and the borrow-fee
   * accrual that elapsed time triggers writes storage the estimate did not pay for.
   */
  gasBufferBps?: number;
}

/** A market with its parameters, current risk parameters and live values. */
export interface MarketInfo extends MarketState {
  id: MarketId;
  /** From the deployment file, when known. */
  symbol?: string;
  params: MarketParams;
  /** Risk parameters new positions get (version `riskVersion`). */
  risk: RiskParams;
  /** The validated oracle price (WAD), or null when the feed fails a check (see `priceError`). */
  price: bigint | null;
  priceError?: BulkheadError;
  /**
   * Borrow index as of the read block: `BorrowLib.currentIndex(market, pool, timestamp)`, the
   * stored index grown with the pool's utilisation path since the market's last accrual.
   */
  currentIndex: bigint;
  blockNumber: number;
}

/** A position with everything a front-end shows, read in one batched snapshot. */
export interface PositionView {
  id: PositionId;
  owner: string;
  vault: string;
  /** The vault's token balance (>= collateral; more only after a donation). */
  vaultBalance: bigint;
  position: PositionRecord;
  /** Risk parameters the position was opened under. */
  risk: RiskParams;
  /** Validated oracle price of its market at the read block, null when the feed fails a check. */
  price: bigint | null;
  /** Market borrow index at the read block. */
  index: bigint;
  /** Health at `price`, computed locally (equal to the lens' `health(id)`); null without a valid price. */
  health: PositionHealth | null;
  blockNumber: number;
}

/** Pool (LP) state. */
export interface PoolState {
  /** ERC-4626 totalAssets; null while a market feed is invalid (the pool refuses to price shares). */
  totalAssets: bigint | null;
  totalSupply: bigint;
  shareDecimals: number;
  /** Token units per whole share (10**shareDecimals shares), rounded down; null with totalAssets. */
  sharePrice: bigint | null;
  lpAssets: bigint;
  reserved: bigint;
  /** lpAssets - reserved, floored at 0: what LPs can withdraw and new positions can reserve. */
  freeLiquidity: bigint;
  /** reserved / lpAssets (WAD), capped at 1e18. */
  utilisation: bigint;
  insuranceFund: bigint;
  protocolFees: bigint;
  paused: boolean;
  blockNumber: number;
}

/** An account's LP position. */
export interface LpPosition {
  shares: bigint;
  /** Value of the shares now (rounded down); null while a market feed is invalid (the pool cannot price shares). */
  assets: bigint | null;
  /** Most assets withdrawable now (limited by free liquidity; 0 while a market feed is invalid). */
  maxWithdraw: bigint;
}

/** A request for an open quote: give `leverage` (WAD multiple of collateral) or `size` (WAD). */
export interface OpenRequest {
  market: MarketId;
  side: Side;
  /** Collateral in token units (the open fee is pulled on top). */
  collateral: bigint;
  /** Leverage as a WAD multiple, e.g. 10n * 10n**18n for 10x. */
  leverage?: bigint;
  /** Position size in index units (WAD). */
  size?: bigint;
  /** Tolerance in basis points (default: the client's). */
  slippageBps?: number;
}

/** Common fields of every quote. */
export interface QuoteBase {
  /** The oracle price the quote uses (WAD). */
  price: bigint;
  /** The worst price the transaction accepts (max for a buyer, min for a seller). */
  acceptablePrice: bigint;
  /** Tokens the engine pulls from the wallet (0 when none). */
  requiredAllowance: bigint;
  /** The wallet's current allowance to the engine (null for a read-only client). */
  allowance: bigint | null;
  needsApproval: boolean;
  /** Typed errors the transaction would revert with at the quoted price, in the engine's check order. */
  issues: ContractRevertError[];
  /** True when `issues` is empty. */
  ok: boolean;
  blockNumber: number;
}

/** A quote for `open`. `borrowRateAfter` is the market's rate (`borrowRate`) once the position is open. */
export interface OpenQuote extends QuoteBase, LedgerEffects {
  market: MarketId;
  side: Side;
  collateral: bigint;
  size: bigint;
  /** notional / collateral (WAD). */
  leverage: bigint;
  maxLeverage: bigint;
  notional: bigint;
  openFee: bigint;
  initialMargin: bigint;
  liquidationPrice: bigint;
  /** Max profit the pool reserves for the position. */
  reserve: bigint;
  /** At the edge of the slippage band: the liquidation price if the entry is the acceptable price, the open fee at the highest band price, and whether initial margin still holds there. */
  worstCase: { liquidationPrice: bigint; openFee: bigint; marginOk: boolean };
}

/** A quote for `increase`. */
export interface IncreaseQuote extends QuoteBase, IncreasePreview {
  id: PositionId;
  sizeDelta: bigint;
  collateralDelta: bigint;
}

/** A quote for `decrease` or `close`. */
export interface DecreaseQuote extends QuoteBase, DecreasePreview {
  id: PositionId;
  sizeDelta: bigint;
  /** What the owner receives (payout + donation on close) at the quoted price. */
  received: bigint;
  /** What the owner receives if the price is the acceptable one. */
  minReceived: bigint;
}

/** A quote for `removeCollateral`. */
export interface RemoveCollateralQuote extends QuoteBase, RemoveCollateralPreview {
  id: PositionId;
  amount: bigint;
}

/** A quote for `addCollateral`. */
export interface AddCollateralQuote extends QuoteBase {
  id: PositionId;
  amount: bigint;
  newCollateral: bigint;
  liquidationPrice: bigint;
}

/** How a transaction gets its token allowance. */
export type ApprovalMode = "exact" | "unlimited" | "none";

/** Options every transaction accepts. */
export interface TxOptions {
  /** "exact" (default) approves exactly what is missing; "unlimited" approves 2**256-1; "none" never approves. */
  approval?: ApprovalMode;
  /** Unix seconds; default: latest block time + `deadlineSeconds`. */
  deadline?: bigint;
  /** Overrides the acceptable price computed from the slippage tolerance. */
  acceptablePrice?: bigint;
  slippageBps?: number;
  confirmations?: number;
  /** Gas limit of the transaction; default: the node's estimate plus `gasBufferBps`. */
  gasLimit?: bigint;
}

/** A mined transaction and what it did. */
export interface TxResult {
  hash: string;
  receipt: TransactionReceipt;
  /** Receipts of approvals sent first (empty when the allowance sufficed). */
  approvals: TransactionReceipt[];
}

// ---------------------------------------------------------------- helpers

const isSigner = (r: Provider | Signer): r is Signer =>
  typeof (r as Signer).getAddress === "function" && typeof (r as Signer).sendTransaction === "function";

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** price * (1 ± bps), rounded against the trader (up for a buyer's max, down for a seller's min). */
export function acceptablePriceFor(buying: boolean, price: bigint, slippageBps: number): bigint {
  const bps = BigInt(slippageBps);
  if (bps < 0n || bps >= BPS) throw new InvalidRequestError(`slippageBps must be in [0, 10000), got ${slippageBps}`);
  return buying ? MathLib.mulDivUp(price, BPS + bps, BPS) : MathLib.mulDivDown(price, BPS - bps, BPS);
}

/**
 * The largest size whose initial margin `collateral` covers at `leverage` (WAD) and `price`:
 * notional N = floor(collateral * leverage / WAD), size = floor(N * unit / price), so that
 * notionalUp(size, price) <= N and initialMarginUp(N, leverage) <= collateral hold exactly.
 */
export function sizeForLeverage(collateral: bigint, leverage: bigint, price: bigint, unit: bigint): bigint {
  const notional = MathLib.mulDivDown(collateral, leverage, WAD);
  return MathLib.mulDivDown(notional, unit, price);
}

// ---------------------------------------------------------------- client

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

  readonly #engine: Contract;
  readonly #lens: Contract;
  readonly #pool: Contract;
  readonly #token: Contract;
  readonly #initCodeHash: string;
  readonly #riskCache = new Map<string, RiskParams>();
  #marketCount = 0;
  /** Highest block this client saw a receipt in: reads never go below it (read-your-writes). */
  #minBlock = 0;

  private constructor(init: {
    provider: Provider;
    signer: Signer | undefined;
    chainId: number;
    engine: string;
    lens: string;
    pool: string;
    token: TokenInfo;
    unit: bigint;
    vaultImplementation: string;
    startBlock: number;
    markets: MarketDeployment[];
    options: ClientOptions;
    marketCount: number;
  }) {
    this.provider = init.provider;
    this.signer = init.signer;
    this.chainId = init.chainId;
    this.engineAddress = init.engine;
    this.lensAddress = init.lens;
    this.poolAddress = init.pool;
    this.token = init.token;
    this.unit = init.unit;
    this.vaultImplementation = init.vaultImplementation;
    this.startBlock = init.startBlock;
    this.markets = init.markets;
    this.#marketCount = init.marketCount;
    const o = init.options;
    this.options = {
      lensBatchSize: o.lensBatchSize ?? 200,
      logChunkSize: o.logChunkSize ?? 5_000,
      pollingInterval: o.pollingInterval ?? 4_000,
      deadlineSeconds: o.deadlineSeconds ?? 1_200,
      confirmations: o.confirmations ?? 1,
      slippageBps: o.slippageBps ?? 50,
      gasBufferBps: o.gasBufferBps ?? 2_000,
    };
    this.#engine = new Contract(init.engine, bulkheadAbi as never, init.provider);
    this.#lens = new Contract(init.lens, bulkheadLensAbi as never, init.provider);
    this.#pool = new Contract(init.pool, bulkheadPoolAbi as never, init.provider);
    this.#token = new Contract(init.token.address, erc20Abi as never, init.provider);
    this.#initCodeHash = cloneInitCodeHash(init.vaultImplementation);
  }

  /**
   * Connects to Bulkhead. With a `Signer` the client can send transactions; with a `Provider` it
   * is read-only. Reads the token, the vault implementation and the market count once (one
   * round of parallel calls).
   */
  static async connect(runner: Provider | Signer, options: ClientOptions = {}): Promise<BulkheadClient> {
    const signer = isSigner(runner) ? runner : undefined;
    const provider = signer ? signer.provider : (runner as Provider);
    if (!provider) throw new InvalidRequestError("the signer has no provider: connect it to one first");
    const chainId = Number((await provider.getNetwork()).chainId);
    const a = options.addresses ?? getDeployment(chainId);
    if ("chainId" in a && a.chainId !== chainId) {
      throw new InvalidRequestError(`the deployment is for chain ${a.chainId} but the provider is on chain ${chainId}`);
    }
    const engine = new Contract(getAddress(a.engine), bulkheadAbi as never, provider);
    const [tokenAddress, poolAddress, unit, vaultImplementation, marketCount] = (await Promise.all([
      a.token ?? engine.getFunction("token")(),
      a.pool ?? engine.getFunction("pool")(),
      engine.getFunction("unit")(),
      engine.getFunction("vaultImplementation")(),
      engine.getFunction("marketCount")(),
    ])) as [string, string, bigint, string, bigint];
    const token = new Contract(tokenAddress, erc20Abi as never, provider);
    const [decimals, symbol] = (await Promise.all([token.getFunction("decimals")(), token.getFunction("symbol")()])) as [
      bigint,
      string,
    ];
    return new BulkheadClient({
      provider,
      signer,
      chainId,
      engine: getAddress(a.engine),
      lens: getAddress(a.lens),
      pool: getAddress(poolAddress),
      token: { address: getAddress(tokenAddress), decimals: Number(decimals), symbol },
      unit,
      vaultImplementation: getAddress(vaultImplementation),
      startBlock: a.startBlock ?? 0,
      markets: a.markets ?? [],
      options,
      marketCount: Number(marketCount),
    });
  }

  /**
   * The block reads are pinned to: the provider's latest block, but never one before a receipt
   * this client already received (providers cache eth_blockNumber for a moment, and a read pinned
   * to a stale block would not see the client's own last transaction).
   */
  async latestBlock(): Promise<number> {
    const n = await this.provider.getBlockNumber();
    return Math.max(n, this.#minBlock);
  }

  /** True when the client has no signer. */
  get readOnly(): boolean {
    return this.signer === undefined;
  }

  /** Token facts for error messages. */
  get errorContext(): ErrorContext {
    return { decimals: this.token.decimals, symbol: this.token.symbol };
  }

  // ------------------------------------------------------------ errors

  /** Turns anything a call threw into the SDK's typed error when it is a revert. */
  toError(error: unknown): unknown {
    if (error instanceof BulkheadError) return error;
    const data = extractRevertData(error);
    if (data !== undefined) return decodeRevert(data, this.errorContext);
    if (isCallException(error)) return new UnknownRevertError(undefined, error);
    return error;
  }

  async #read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw this.toError(e);
    }
  }

  #reason(r: RevertReason): ContractRevertError {
    return createRevertError(r, { ctx: this.errorContext });
  }

  // ------------------------------------------------------------ vaults

  /** The vault address of position `id`, computed off-chain (equals `engine.vaultOf(id)`). */
  vaultOf(id: PositionId): string {
    return computeVaultAddress(this.engineAddress, this.vaultImplementation, id, this.#initCodeHash);
  }

  // ------------------------------------------------------------ reads: markets and prices

  async #risk(marketId: number, version: number, blockTag?: BlockTag): Promise<RiskParams> {
    const key = `${marketId}:${version}`;
    const cached = this.#riskCache.get(key);
    if (cached) return cached;
    // A risk version never changes once set, so it is cached for the life of the client.
    const risk = toRiskParams(await this.#read(() => this.#engine.getFunction("riskParams")(marketId, version, { blockTag })));
    this.#riskCache.set(key, risk);
    return risk;
  }

  /** The validated oracle price of a market (WAD); throws the typed oracle error (e.g. StalePriceError). */
  async getPrice(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    return this.#read(() => this.#engine.getFunction("price")(marketId, { blockTag }) as Promise<bigint>);
  }

  /**
   * Every listed market with parameters, current risk parameters, price and borrow index (the
   * rate now is `getBorrowRate`). A delisted market is listed with `delisted: true` and
   * `price: null` and no `priceError`: its feed is not read (it has no positions, and the engine's
   * `price` reverts `MarketIsDelisted` for it).
   */
  async getMarkets(): Promise<MarketInfo[]> {
    const blockNumber = await this.latestBlock();
    const count = Number(await this.#read(() => this.#engine.getFunction("marketCount")({ blockTag: blockNumber })));
    this.#marketCount = count;
    return Promise.all(Array.from({ length: count }, (_, i) => this.#market(i, blockNumber)));
  }

  /** One market (see {@link getMarkets}). */
  async getMarket(marketId: MarketId): Promise<MarketInfo> {
    return this.#market(marketId, await this.latestBlock());
  }

  async #market(id: number, blockNumber: number): Promise<MarketInfo> {
    const e = this.#engine;
    const blockTag = blockNumber;
    const [raw, index] = await Promise.all([
      this.#read(() => e.getFunction("market")(id, { blockTag })),
      this.#read(() => e.getFunction("currentBorrowIndex")(id, { blockTag }) as Promise<bigint>),
    ]);
    const m = toMarketState(raw);
    const price: { p: bigint | null } | { err: unknown } = m.delisted
      ? { p: null }
      : await this.getPrice(id, blockTag).then(
          (p) => ({ p }),
          (err: unknown) => ({ err }),
        );
    const risk = await this.#risk(id, m.riskVersion, blockTag);
    const info: MarketInfo = {
      ...m,
      id,
      params: {
        maxLeverage: m.maxLeverage,
        openFeeRate: m.openFeeRate,
        closeFeeRate: m.closeFeeRate,
        baseBorrowRate: m.baseBorrowRate,
        borrowRateSlope: m.borrowRateSlope,
        minCollateral: m.minCollateral,
        maxLongOpenInterest: m.maxLongOpenInterest,
        maxShortOpenInterest: m.maxShortOpenInterest,
      },
      risk,
      price: "p" in price ? price.p : null,
      currentIndex: index,
      blockNumber,
    };
    const symbol = this.markets.find((d) => d.id === id)?.symbol;
    if (symbol !== undefined) info.symbol = symbol;
    if ("err" in price) {
      if (!(price.err instanceof BulkheadError)) throw price.err;
      info.priceError = price.err;
    }
    return info;
  }

  // ------------------------------------------------------------ reads: positions

  /**
   * Positions by id in one batched snapshot pinned to one block: lens `positions(ids)` in chunks
   * of `lensBatchSize`, the borrow index of every market, and (once per risk version) the risk
   * parameters. Health is computed locally from that data and equals the lens' views. The
   * result is aligned with `ids`; null where no position exists.
   */
  async getPositions(ids: readonly PositionId[], blockTag?: number): Promise<(PositionView | null)[]> {
    if (ids.length === 0) return [];
    const blockNumber = blockTag ?? (await this.latestBlock());
    const marketIds = Array.from({ length: this.#marketCount }, (_, i) => i);
    const [pages, indexes] = await Promise.all([
      Promise.all(
        chunk(ids, this.options.lensBatchSize).map((c) => this.#lensRows("positions", c, blockNumber)),
      ),
      Promise.all(
        marketIds.map((m) =>
          this.#read(() => this.#engine.getFunction("currentBorrowIndex")(m, { blockTag: blockNumber }) as Promise<bigint>),
        ),
      ),
    ]);
    const rows = pages.flat() as Record<string, unknown>[];
    const out: (PositionView | null)[] = [];
    for (const row of rows) {
      const position = toPositionRecord(row.position);
      if (position.size === 0n) {
        out.push(null);
        continue;
      }
      if (position.marketId >= indexes.length) {
        // A market listed after this client connected.
        this.#marketCount = position.marketId + 1;
        return this.getPositions(ids, blockNumber);
      }
      const risk = await this.#risk(position.marketId, position.riskVersion, blockNumber);
      const priceValid = Boolean(row.priceValid);
      const price = priceValid ? toHealth(row.health).price : null;
      const index = indexes[position.marketId]!;
      out.push({
        id: BigInt(row.id as bigint),
        owner: getAddress(String(row.owner)),
        vault: getAddress(String(row.vault)),
        vaultBalance: BigInt(row.vaultBalance as bigint),
        position,
        risk,
        price,
        index,
        health: price === null ? null : positionHealth(position, risk, price, index, this.unit),
        blockNumber,
      });
    }
    return out;
  }

  /** One batched lens read (`positions` or `previewLiquidations`), decoded row by row in linear time. */
  async #lensRows(method: "positions" | "previewLiquidations", ids: readonly PositionId[], blockTag: number): Promise<Record<string, unknown>[]> {
    const iface = this.#lens.interface;
    const data = iface.encodeFunctionData(method, [ids]);
    const ret = await this.#read(() => this.provider.call({ to: this.lensAddress, data, blockTag }));
    return decodeTupleArray(iface, method, ret);
  }

  /** One position, or null when it does not exist. */
  async getPosition(id: PositionId): Promise<PositionView | null> {
    return (await this.getPositions([id]))[0] ?? null;
  }

  /**
   * The most `removeCollateral(id, amount)` accepts at the current price and block (lens
   * `maxRemovableCollateral`; no unrealised profit counts). A transaction mined later owes a little
   * more borrow fee: {@link quoteRemoveCollateral} leaves a buffer for that.
   */
  async getMaxRemovableCollateral(id: PositionId, blockTag?: BlockTag): Promise<bigint> {
    return this.#read(() => this.#lens.getFunction("maxRemovableCollateral")(id, { blockTag }) as Promise<bigint>);
  }

  /** Health of a read position at another price (same borrow index), computed locally. */
  healthAt(view: Pick<PositionView, "position" | "risk" | "index">, price: bigint): PositionHealth {
    return positionHealth(view.position, view.risk, price, view.index, this.unit);
  }

  /** Ids of position tokens ever minted to or transferred to `owner` (from Transfer logs). */
  async #idsReceivedBy(owner: string, range: Partial<LogRangeOptions>): Promise<bigint[]> {
    const ids = new Set<bigint>();
    const topics = [TRANSFER_TOPIC, null, zeroPadValue(getAddress(owner), 32)];
    for await (const page of readLogs(this.provider, { address: this.engineAddress, topics }, await this.#range(range))) {
      for (const log of page) if (log.topics.length === 4) ids.add(BigInt(log.topics[3]!));
    }
    return [...ids].sort((a, b) => (a < b ? -1 : 1));
  }

  async #range(range: Partial<LogRangeOptions>): Promise<LogRangeOptions> {
    return {
      fromBlock: range.fromBlock ?? this.startBlock,
      toBlock: range.toBlock ?? (await this.latestBlock()),
      chunkSize: range.chunkSize ?? this.options.logChunkSize,
    };
  }

  /**
   * Every open position owned by `owner` now. The engine is a Solady ERC-721 (not enumerable): the
   * candidates come from the Transfer logs into `owner`, then one batched read keeps those it
   * still owns.
   */
  async getPositionsOf(owner: string, range: Partial<LogRangeOptions> = {}): Promise<PositionView[]> {
    const candidates = await this.#idsReceivedBy(owner, range);
    const views = await this.getPositions(candidates);
    const who = getAddress(owner);
    return views.filter((v): v is PositionView => v !== null && v.owner === who);
  }

  /** Ids of every open position (minted and not burned), from the ERC-721 Transfer logs. */
  async getOpenPositionIds(range: Partial<LogRangeOptions> = {}): Promise<bigint[]> {
    const open = new Set<bigint>();
    const zero = zeroPadValue(ZeroAddress, 32);
    const topics = [TRANSFER_TOPIC, null, null];
    for await (const page of readLogs(this.provider, { address: this.engineAddress, topics }, await this.#range(range))) {
      for (const log of page) {
        if (log.topics.length !== 4) continue;
        const id = BigInt(log.topics[3]!);
        if (log.topics[1] === zero) open.add(id);
        if (log.topics[2] === zero) open.delete(id);
      }
    }
    return [...open].sort((a, b) => (a < b ? -1 : 1));
  }

  /** What `liquidate(id)` would do now, for many ids in batched lens calls (liquidatable false when unknown or the price is invalid). */
  async previewLiquidations(ids: readonly PositionId[]): Promise<LiquidationPreview[]> {
    const blockTag = await this.latestBlock();
    const pages = await Promise.all(
      chunk(ids, this.options.lensBatchSize).map((c) => this.#lensRows("previewLiquidations", c, blockTag)),
    );
    return pages.flat().map(toLiquidationPreview);
  }

  /**
   * Liquidation previews computed locally from one snapshot (the BulkheadLogic mirror of
   * `_previewLiquidation`), for keepers that re-evaluate on every price tick without RPC.
   */
  previewLiquidationLocal(view: PositionView, ledger: Ledger, price = view.price): LiquidationPreview | null {
    if (price === null) return null;
    return BulkheadLogic.previewLiquidation(view.position, view.risk, price, view.index, this.unit, view.vaultBalance, ledger);
  }

  /**
   * What `liquidateMany(ids)` would do, computed locally from one snapshot (views from
   * {@link getPositions} in the order of `ids`, the ledger and the markets read at the same
   * block): the ledger threaded through the batch, the reward, the ledger after it and the new
   * borrow rate of each market with a liquidation (refreshed from the final ledger).
   */
  previewLiquidateManyLocal(views: readonly (PositionView | null)[], ledger: Ledger, markets: readonly MarketInfo[]): LiquidateManyPreview {
    const batchMarkets = markets.map((m) => ({ market: m, price: m.price, index: m.currentIndex }));
    return BulkheadLogic.previewLiquidateMany(views, batchMarkets, ledger, this.unit);
  }

  // ------------------------------------------------------------ reads: pool

  /** The engine's pool ledger. */
  async getLedger(blockTag?: BlockTag): Promise<Ledger> {
    return toLedger(await this.#read(() => this.#engine.getFunction("ledger")({ blockTag })));
  }

  /** LP assets, reserved and the pool's utilisation integrals: what every borrow index follows (`BorrowLib`). */
  async getUtilisationState(blockTag?: BlockTag): Promise<UtilisationState> {
    const [ledger, raw] = await Promise.all([
      this.getLedger(blockTag),
      this.#read(() => this.#engine.getFunction("utilisationAccumulator")({ blockTag })),
    ]);
    return { lpAssets: ledger.lpAssets, reserved: ledger.reserved, utilisation: toUtilisationAccumulator(raw) };
  }

  /** A market's borrow rate per second (WAD) at the pool's utilisation now (`borrowRate`). */
  async getBorrowRate(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    return this.#read(() => this.#engine.getFunction("borrowRate")(marketId, { blockTag }) as Promise<bigint>);
  }

  /** Pool state: assets, reserved, free liquidity, share price. */
  async getPool(): Promise<PoolState> {
    const blockTag = await this.latestBlock();
    const [ledger, totalSupply, shareDecimals, paused, totalAssets] = await Promise.all([
      this.getLedger(blockTag),
      this.#read(() => this.#pool.getFunction("totalSupply")({ blockTag }) as Promise<bigint>),
      this.#read(() => this.#pool.getFunction("decimals")({ blockTag }) as Promise<bigint>),
      this.#read(() => this.#engine.getFunction("paused")({ blockTag }) as Promise<boolean>),
      this.#read(() => this.#pool.getFunction("totalAssets")({ blockTag }) as Promise<bigint>).catch((e: unknown) => {
        if (e instanceof BulkheadError) return null;
        throw e;
      }),
    ]);
    const sd = Number(shareDecimals);
    const { lpAssets, reserved } = ledger;
    return {
      totalAssets,
      totalSupply,
      shareDecimals: sd,
      sharePrice: totalAssets === null ? null : PoolMath.toAssetsDown(10n ** BigInt(sd), totalAssets, totalSupply),
      ...ledger,
      freeLiquidity: MathLib.zeroFloorSub(lpAssets, reserved),
      utilisation: reserved >= lpAssets ? (reserved === 0n ? 0n : WAD) : MathLib.mulDivDown(reserved, WAD, lpAssets),
      paused,
      blockNumber: blockTag,
    };
  }

  /** An account's LP shares, their value and what it can withdraw now. */
  async getLpPosition(account: string): Promise<LpPosition> {
    const blockTag = await this.latestBlock();
    const shares = (await this.#read(() => this.#pool.getFunction("balanceOf")(account, { blockTag }))) as bigint;
    const [assets, maxWithdraw] = (await Promise.all([
      // convertToAssets needs totalAssets, which reverts with the oracle error while a feed is invalid.
      this.#read(() => this.#pool.getFunction("convertToAssets")(shares, { blockTag }) as Promise<bigint>).catch((e: unknown) => {
        if (e instanceof BulkheadError) return null;
        throw e;
      }),
      this.#read(() => this.#pool.getFunction("maxWithdraw")(account, { blockTag }) as Promise<bigint>),
    ])) as [bigint | null, bigint];
    return { shares, assets, maxWithdraw };
  }

  // ------------------------------------------------------------ quotes

  async #account(): Promise<string | null> {
    return this.signer ? getAddress(await this.signer.getAddress()) : null;
  }

  async #allowance(spender: string, blockTag: number): Promise<bigint | null> {
    const owner = await this.#account();
    if (owner === null) return null;
    return (await this.#read(() => this.#token.getFunction("allowance")(owner, spender, { blockTag }))) as bigint;
  }

  #base(
    price: bigint,
    acceptablePrice: bigint,
    requiredAllowance: bigint,
    allowance: bigint | null,
    reasons: (RevertReason | undefined)[],
    blockNumber: number,
  ): QuoteBase {
    const issues = reasons.filter((r): r is RevertReason => r !== undefined).map((r) => this.#reason(r));
    return {
      price,
      acceptablePrice,
      requiredAllowance,
      allowance,
      needsApproval: allowance !== null && allowance < requiredAllowance,
      issues,
      ok: issues.length === 0,
      blockNumber,
    };
  }

  /** The market, price, ledger, pause flag, protocol fee share and now-index at one block. */
  async #tradeState(marketId: number, blockNumber: number) {
    const blockTag = blockNumber;
    const [raw, price, ledger, paused, index, protocolFeeShare] = await Promise.all([
      this.#read(() => this.#engine.getFunction("market")(marketId, { blockTag })),
      this.getPrice(marketId, blockTag),
      this.getLedger(blockTag),
      this.#read(() => this.#engine.getFunction("paused")({ blockTag }) as Promise<boolean>),
      this.#read(() => this.#engine.getFunction("currentBorrowIndex")(marketId, { blockTag }) as Promise<bigint>),
      this.#read(() => this.#engine.getFunction("protocolFeeShare")({ blockTag }) as Promise<bigint>),
    ]);
    return { market: toMarketState(raw), price, ledger, paused, index, protocolFeeShare };
  }

  /**
   * Quote for opening a position: size (from leverage or given), fees, the acceptable entry
   * price, liquidation price, required allowance, and the typed errors it would revert with.
   */
  async quoteOpen(req: OpenRequest): Promise<OpenQuote> {
    if ((req.leverage === undefined) === (req.size === undefined)) {
      throw new InvalidRequestError("quoteOpen needs exactly one of `leverage` and `size`");
    }
    const blockNumber = await this.latestBlock();
    const [s, allowance] = await Promise.all([
      this.#tradeState(req.market, blockNumber),
      this.#allowance(this.engineAddress, blockNumber),
    ]);
    const risk = await this.#risk(req.market, s.market.riskVersion, blockNumber);
    const isLong = req.side === "long";
    const slippage = req.slippageBps ?? this.options.slippageBps;
    const acceptablePrice = acceptablePriceFor(isLong, s.price, slippage);
    const size = req.size ?? sizeForLeverage(req.collateral, req.leverage!, s.price, this.unit);
    const ctx = {
      market: s.market, marketId: req.market, risk, protocolPaused: s.paused, unit: this.unit, price: s.price, index: s.index,
      ledger: s.ledger, protocolFeeShare: s.protocolFeeShare,
    };
    const p = BulkheadLogic.previewOpen(ctx, isLong, req.collateral, size);
    // The edge of the band: the highest price any fill can have is the buyer's limit (long) or,
    // for a short (whose limit is a minimum), the same distance above the oracle price.
    const upper = acceptablePriceFor(true, s.price, slippage);
    const atUpper = BulkheadLogic.previewOpen({ ...ctx, price: upper }, isLong, req.collateral, size);
    const atEntry = isLong ? atUpper : BulkheadLogic.previewOpen({ ...ctx, price: acceptablePrice }, isLong, req.collateral, size);
    const requiredAllowance = req.collateral + atUpper.openFee;
    return {
      ...this.#base(s.price, acceptablePrice, requiredAllowance, allowance, [p.revert], blockNumber),
      market: req.market,
      side: req.side,
      collateral: req.collateral,
      size,
      leverage: req.collateral === 0n ? 0n : MathLib.mulDivDown(p.notional, WAD, req.collateral),
      maxLeverage: s.market.maxLeverage,
      notional: p.notional,
      openFee: p.openFee,
      initialMargin: p.initialMargin,
      liquidationPrice: p.liquidationPrice,
      reserve: p.reserve,
      ledgerAfter: p.ledgerAfter,
      borrowRateAfter: p.borrowRateAfter,
      worstCase: {
        liquidationPrice: atEntry.liquidationPrice,
        openFee: atUpper.openFee,
        marginOk: atUpper.revert?.name !== "InsufficientMargin",
      },
    };
  }

  async #positionState(id: PositionId) {
    const blockNumber = await this.latestBlock();
    const view = (await this.getPositions([id], blockNumber))[0];
    if (!view) throw this.#reason({ name: "PositionNotFound", args: { id } });
    const s = await this.#tradeState(view.position.marketId, blockNumber);
    return { view, ...s, blockNumber };
  }

  /**
   * Quote for `increase`: the PnL realised at the price (capped), new size, entry (the price),
   * collateral (after the realised PnL and the settled borrow fee), the cap factor and risk
   * version it moves to, fees, liquidation price, and the ledger and market borrow rate after it.
   */
  async quoteIncrease(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint; slippageBps?: number }): Promise<IncreaseQuote> {
    const s = await this.#positionState(req.id);
    const p = s.view.position;
    const collateralDelta = req.collateralDelta ?? 0n;
    const acceptablePrice = acceptablePriceFor(p.isLong, s.price, req.slippageBps ?? this.options.slippageBps);
    // An increase moves the position to the market's current risk version.
    const risk = await this.#risk(p.marketId, s.market.riskVersion, s.blockNumber);
    const ctx = {
      market: s.market, risk, protocolPaused: s.paused, unit: this.unit, price: s.price, index: s.index, ledger: s.ledger,
      protocolFeeShare: s.protocolFeeShare,
    };
    const preview = BulkheadLogic.previewIncrease(ctx, p, collateralDelta, req.sizeDelta);
    const upper = acceptablePriceFor(true, s.price, req.slippageBps ?? this.options.slippageBps);
    const worst = BulkheadLogic.previewIncrease({ ...ctx, price: upper }, p, collateralDelta, req.sizeDelta);
    const allowance = await this.#allowance(this.engineAddress, s.blockNumber);
    return {
      ...preview,
      ...this.#base(s.price, acceptablePrice, collateralDelta + worst.openFee, allowance, [preview.revert], s.blockNumber),
      id: req.id,
      sizeDelta: req.sizeDelta,
      collateralDelta,
    };
  }

  /**
   * Quote for `decrease` (sizeDelta below the size) or, with sizeDelta "close", for `close`:
   * PnL, fees, payout, and the ledger and market borrow rate after it.
   */
  async quoteDecrease(req: { id: PositionId; sizeDelta: bigint | "close"; slippageBps?: number }): Promise<DecreaseQuote> {
    const s = await this.#positionState(req.id);
    const p = s.view.position;
    const acceptablePrice = acceptablePriceFor(!p.isLong, s.price, req.slippageBps ?? this.options.slippageBps);
    const ctx = {
      market: s.market, risk: s.view.risk, protocolFeeShare: s.protocolFeeShare, vaultBalance: s.view.vaultBalance, id: req.id,
      unit: this.unit, price: s.price, index: s.index, ledger: s.ledger,
    };
    const preview = BulkheadLogic.previewDecrease(ctx, p, req.sizeDelta);
    const worst = BulkheadLogic.previewDecrease({ ...ctx, price: acceptablePrice }, p, req.sizeDelta);
    return {
      ...preview,
      ...this.#base(s.price, acceptablePrice, 0n, null, [preview.revert], s.blockNumber),
      id: req.id,
      sizeDelta: req.sizeDelta === "close" ? p.size : req.sizeDelta,
      received: preview.payout + preview.donation,
      minReceived: worst.revert ? 0n : worst.payout + worst.donation,
    };
  }

  /** Quote for `close`. */
  async quoteClose(req: { id: PositionId; slippageBps?: number }): Promise<DecreaseQuote> {
    return this.quoteDecrease({ ...req, sizeDelta: "close" });
  }

  /**
   * Quote for `removeCollateral`. Unrealised profit does not count toward a withdrawal (a loss
   * does). `maxRemovable` is the most that keeps initial margin and health if the
   * transaction is mined within `feeBufferSeconds` (default 300) at the quoted price: the borrow
   * fee keeps accruing until then, so the exact "now" maximum would fail a block later.
   */
  async quoteRemoveCollateral(req: { id: PositionId; amount: bigint; feeBufferSeconds?: number }): Promise<RemoveCollateralQuote> {
    const s = await this.#positionState(req.id);
    const ctx = { market: s.market, risk: s.view.risk, unit: this.unit, price: s.price, index: s.index };
    const preview = BulkheadLogic.previewRemoveCollateral(ctx, s.view.position, req.amount);
    const [block, pool] = await Promise.all([this.provider.getBlock(s.blockNumber), this.getUtilisationState(s.blockNumber)]);
    const later = BigInt(block!.timestamp) + BigInt(req.feeBufferSeconds ?? 300);
    // Projected at the utilisation now; a higher one meanwhile grows the fee faster.
    const laterIndex = BorrowLib.currentIndex(s.market, pool, later);
    const buffered = BulkheadLogic.previewRemoveCollateral({ ...ctx, index: laterIndex }, s.view.position, req.amount);
    return {
      ...preview,
      maxRemovable: buffered.maxRemovable,
      ...this.#base(s.price, s.price, 0n, null, [preview.revert], s.blockNumber),
      id: req.id,
      amount: req.amount,
    };
  }

  /** Quote for `addCollateral`: the new collateral and liquidation price (borrow fee accrued so far counted). */
  async quoteAddCollateral(req: { id: PositionId; amount: bigint }): Promise<AddCollateralQuote> {
    const blockNumber = await this.latestBlock();
    const view = (await this.getPositions([req.id], blockNumber))[0];
    if (!view) throw this.#reason({ name: "PositionNotFound", args: { id: req.id } });
    const allowance = await this.#allowance(this.engineAddress, blockNumber);
    const p = { ...view.position, collateral: view.position.collateral + req.amount };
    const price = view.price ?? view.position.entryPrice;
    const liquidationPrice = positionHealth(p, view.risk, price, view.index, this.unit).liquidationPrice;
    const reasons: RevertReason[] = [];
    if (req.amount === 0n) reasons.push({ name: "ZeroAmount", args: {} });
    if (p.collateral > ConstantsLib.MAX_COLLATERAL) reasons.push({ name: "AmountTooLarge", args: { amount: p.collateral, max: ConstantsLib.MAX_COLLATERAL } });
    return {
      ...this.#base(price, price, req.amount, allowance, reasons, blockNumber),
      id: req.id,
      amount: req.amount,
      newCollateral: p.collateral,
      liquidationPrice,
    };
  }

  // ------------------------------------------------------------ transactions

  #requireSigner(action: string): Signer {
    if (!this.signer) throw new ReadOnlyClientError(action);
    return this.signer;
  }

  async #deadline(opts: TxOptions): Promise<bigint> {
    if (opts.deadline !== undefined) return opts.deadline;
    const block = await this.provider.getBlock("latest");
    return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000)) + BigInt(this.options.deadlineSeconds);
  }

  /** Approves `spender` for what `needed` exceeds the current allowance (never unlimited unless asked). */
  async #approve(spender: string, needed: bigint, mode: ApprovalMode): Promise<TransactionReceipt[]> {
    const signer = this.#requireSigner("approve");
    const owner = await signer.getAddress();
    const current = (await this.#read(() => this.#token.getFunction("allowance")(owner, spender))) as bigint;
    if (current >= needed) return [];
    if (mode === "none") {
      throw this.#reason({ name: "ERC20InsufficientAllowance", args: { spender, allowance: current, needed } });
    }
    const amount = mode === "unlimited" ? MaxUint256 : needed;
    const token = this.#token.connect(signer) as Contract;
    const receipts: TransactionReceipt[] = [];
    try {
      await token.getFunction("approve").staticCall(spender, amount);
    } catch (e) {
      // Tokens like USDT refuse to change a non-zero allowance: reset it to zero first.
      if (current === 0n) throw this.toError(e);
      receipts.push(await this.#sendAndWait(() => token.getFunction("approve")(spender, 0n) as Promise<ContractTransactionResponse>));
    }
    receipts.push(await this.#sendAndWait(() => token.getFunction("approve")(spender, amount) as Promise<ContractTransactionResponse>));
    return receipts;
  }

  async #sendAndWait(send: () => Promise<ContractTransactionResponse>, confirmations = this.options.confirmations): Promise<TransactionReceipt> {
    let tx: ContractTransactionResponse;
    try {
      tx = await send();
    } catch (e) {
      throw this.toError(e);
    }
    let receipt: TransactionReceipt | null;
    try {
      receipt = await tx.wait(confirmations);
    } catch (e) {
      throw new TransactionRevertedError(tx.hash, e);
    }
    if (!receipt || receipt.status !== 1) throw new TransactionRevertedError(tx.hash);
    this.#minBlock = Math.max(this.#minBlock, receipt.blockNumber);
    return receipt;
  }

  /**
   * Simulates `method(args)` from the signer; on a revert throws the typed error. When the only
   * obstacle is the token allowance, approves (per `approval`) and simulates again. Then sends,
   * waits and returns the receipt with the simulated return value.
   */
  async #execute<T>(
    contract: Contract,
    method: string,
    args: unknown[],
    opts: TxOptions,
    allowance?: { spender: string; amount: bigint },
  ): Promise<{ receipt: TransactionReceipt; approvals: TransactionReceipt[]; returned: T }> {
    const signer = this.#requireSigner(method);
    const c = contract.connect(signer) as Contract;
    const fn = c.getFunction(method);
    let approvals: TransactionReceipt[] = [];
    let returned: T;
    try {
      returned = (await fn.staticCall(...args)) as T;
    } catch (e) {
      const err = this.toError(e);
      // The pool's OpenZeppelin transfers pass the token's ERC20InsufficientAllowance on; the
      // engine's Solady transfers revert with a bare TransferFromFailed, so look at the allowance.
      const pullFailed = err instanceof InsufficientAllowanceError || err instanceof TransferFromFailedError;
      if (!pullFailed || !allowance) throw err;
      approvals = await this.#approve(allowance.spender, allowance.amount, opts.approval ?? "exact");
      if (approvals.length === 0) throw await this.#diagnosePull(err, allowance.amount);
      try {
        returned = (await fn.staticCall(...args)) as T;
      } catch (e2) {
        throw this.toError(e2);
      }
    }
    let gasLimit = opts.gasLimit;
    if (gasLimit === undefined) {
      try {
        gasLimit = ((await fn.estimateGas(...args)) * BigInt(10_000 + this.options.gasBufferBps)) / 10_000n;
      } catch (e) {
        throw this.toError(e);
      }
    }
    const receipt = await this.#sendAndWait(() => fn(...args, { gasLimit }) as Promise<ContractTransactionResponse>, opts.confirmations);
    return { receipt, approvals, returned };
  }

  /**
   * A pull failed although the allowance covers it: a balance below the amount becomes an
   * {@link InsufficientBalanceError}; anything else is thrown as it came.
   */
  async #diagnosePull(err: unknown, needed: bigint): Promise<unknown> {
    if (!(err instanceof TransferFromFailedError)) return err;
    const sender = await this.#requireSigner("transfer").getAddress();
    const balance = (await this.#read(() => this.#token.getFunction("balanceOf")(sender))) as bigint;
    if (balance >= needed) return err;
    return this.#reason({ name: "ERC20InsufficientBalance", args: { sender, balance, needed } });
  }

  #events<T extends PositionEventType>(receipt: TransactionReceipt, type: T): PositionEventOf<T>[] {
    const out: PositionEventOf<T>[] = [];
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== this.engineAddress) continue;
      const e = decodePositionEvent(log);
      if (e && e.type === type) out.push(e as PositionEventOf<T>);
    }
    return out;
  }

  #throwFirst(issues: ContractRevertError[], allowed: (e: ContractRevertError) => boolean = () => false): void {
    const blocking = issues.find((e) => !allowed(e));
    if (blocking) throw blocking;
  }

  /**
   * Opens a position: quotes, simulates (throwing the typed error if it would revert, e.g.
   * "needs 12.5 USDC more collateral: ..."), approves exactly what is missing, sends, and
   * returns the id, vault and `PositionOpened` event.
   */
  async open(req: OpenRequest & TxOptions): Promise<TxResult & { id: PositionId; vault: string; event: PositionOpenedEvent; quote: OpenQuote }> {
    this.#requireSigner("open");
    const quote = await this.quoteOpen(req);
    const acceptablePrice = req.acceptablePrice ?? quote.acceptablePrice;
    const args = [req.market, req.side === "long", req.collateral, quote.size, acceptablePrice, await this.#deadline(req)];
    const r = await this.#execute<bigint>(this.#engine, "open", args, req, { spender: this.engineAddress, amount: quote.requiredAllowance });
    const event = this.#events(r.receipt, "PositionOpened")[0]!;
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, id: event.id, vault: this.vaultOf(event.id), event, quote };
  }

  /** Adds size (and optional collateral) to a position. */
  async increase(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint } & TxOptions): Promise<TxResult & { event: PositionIncreasedEvent; quote: IncreaseQuote }> {
    this.#requireSigner("increase");
    const quote = await this.quoteIncrease(req);
    const args = [req.id, quote.collateralDelta, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await this.#deadline(req)];
    const r = await this.#execute(this.#engine, "increase", args, req, { spender: this.engineAddress, amount: quote.requiredAllowance });
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event: this.#events(r.receipt, "PositionIncreased")[0]!, quote };
  }

  /** Realises part of a position (sizeDelta below its size; use {@link close} for all of it). */
  async decrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    this.#requireSigner("decrease");
    const quote = await this.quoteDecrease(req);
    const args = [req.id, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await this.#deadline(req)];
    const r = await this.#execute(this.#engine, "decrease", args, req);
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  /** Closes a position: pays the owner and burns the token. */
  async close(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    this.#requireSigner("close");
    const quote = await this.quoteClose(req);
    const args = [req.id, req.acceptablePrice ?? quote.acceptablePrice, await this.#deadline(req)];
    const r = await this.#execute(this.#engine, "close", args, req);
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  /** Tops up any position's vault (works while paused or while the feed is stale). */
  async addCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralAddedEvent }> {
    const r = await this.#execute(this.#engine, "addCollateral", [req.id, req.amount], req, { spender: this.engineAddress, amount: req.amount });
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event: this.#events(r.receipt, "CollateralAdded")[0]! };
  }

  /** Takes collateral out of the owner's position (it must keep initial margin). */
  async removeCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralRemovedEvent }> {
    const r = await this.#execute(this.#engine, "removeCollateral", [req.id, req.amount], req);
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event: this.#events(r.receipt, "CollateralRemoved")[0]! };
  }

  /**
   * Liquidates one position (throws PositionNotLiquidatableError when healthy); `preview` is what
   * the mined transaction did (from its `PositionLiquidated` event). The keeper reward
   * comes from the position's vault first, the pool paying any rest; the amount is the preview's
   * `keeperReward` either way.
   */
  async liquidate(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionLiquidatedEvent; preview: LiquidationPreview }> {
    const r = await this.#execute<unknown>(this.#engine, "liquidate", [req.id], req);
    const event = this.#events(r.receipt, "PositionLiquidated")[0]!;
    // What the mined transaction did (the simulation ran a block earlier, with less borrow fee).
    const { price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta } = event;
    const preview: LiquidationPreview = { liquidatable: true, price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta };
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, event, preview };
  }

  /** Liquidates those of `ids` that are liquidatable and skips the rest without reverting. */
  async liquidateMany(req: { ids: readonly PositionId[] } & TxOptions): Promise<TxResult & { liquidated: number; reward: bigint; events: PositionLiquidatedEvent[] }> {
    if (req.ids.length === 0) throw new InvalidRequestError("liquidateMany needs at least one id");
    const r = await this.#execute<[bigint, bigint]>(this.#engine, "liquidateMany", [req.ids], req);
    const events = this.#events(r.receipt, "PositionLiquidated");
    return {
      hash: r.receipt.hash,
      receipt: r.receipt,
      approvals: r.approvals,
      liquidated: events.length,
      reward: events.reduce((s, e) => s + e.keeperReward, 0n),
      events,
    };
  }

  /** LP deposit of `assets` into the pool; returns the shares minted. */
  async deposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const signer = this.#requireSigner("deposit");
    const receiver = req.receiver ?? (await signer.getAddress());
    const r = await this.#execute<bigint>(this.#pool, "deposit", [req.assets, receiver], req, { spender: this.poolAddress, amount: req.assets });
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, shares: this.#poolEventShares(r.receipt, "Deposit") ?? r.returned };
  }

  /** LP withdrawal of `assets` (limited to free liquidity); returns the shares burned. */
  async withdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const signer = this.#requireSigner("withdraw");
    const me = await signer.getAddress();
    const r = await this.#execute<bigint>(this.#pool, "withdraw", [req.assets, req.receiver ?? me, me], req);
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, shares: this.#poolEventShares(r.receipt, "Withdraw") ?? r.returned };
  }

  /** LP redemption of `shares`; returns the assets paid. */
  async redeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<TxResult & { assets: bigint }> {
    const signer = this.#requireSigner("redeem");
    const me = await signer.getAddress();
    const r = await this.#execute<bigint>(this.#pool, "redeem", [req.shares, req.receiver ?? me, me], req);
    return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals, assets: r.returned };
  }

  #poolEventShares(receipt: TransactionReceipt, name: "Deposit" | "Withdraw"): bigint | undefined {
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== this.poolAddress) continue;
      const parsed = this.#pool.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === name) return parsed.args.getValue("shares") as bigint;
    }
    return undefined;
  }

  // ------------------------------------------------------------ events

  /** Typed position events in a block range, read in chunks (default: from the deployment block). */
  async *readPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions> = {}): AsyncGenerator<PositionEvent, void, undefined> {
    yield* readPositionEvents(this.provider, this.engineAddress, { ...filter, ...(await this.#range(filter)) });
  }

  /** All typed position events in a range, collected into an array. */
  async getPositionEvents(filter: PositionEventFilter & Partial<LogRangeOptions> = {}): Promise<PositionEvent[]> {
    const out: PositionEvent[] = [];
    for await (const e of this.readPositionEvents(filter)) out.push(e);
    return out;
  }

  /**
   * Calls `onEvent` for every new position event, in chain order, by polling (works with every
   * provider). Returns a function that stops watching.
   */
  watchPositionEvents(onEvent: (event: PositionEvent) => void, options: PositionEventFilter & WatchOptions = {}): () => void {
    return watchBlocks(
      this.provider,
      async (fromBlock, toBlock) => {
        for await (const e of readPositionEvents(this.provider, this.engineAddress, { ...options, fromBlock, toBlock, chunkSize: this.options.logChunkSize })) {
          onEvent(e);
        }
      },
      { pollingInterval: this.options.pollingInterval, ...options },
    );
  }

  /** Typed subscription to one event type: `client.on("PositionLiquidated", (e) => ...)`. Returns an unsubscribe function. */
  on<T extends PositionEventType>(type: T, handler: (event: PositionEventOf<T>) => void, options: Omit<PositionEventFilter, "types"> & WatchOptions = {}): () => void {
    return this.watchPositionEvents((e) => handler(e as PositionEventOf<T>), { ...options, types: [type] });
  }

  /**
   * Calls `onHealth` with a fresh snapshot of position `id` on every new block (null once it is
   * closed or liquidated, after which watching stops). Returns a function that stops it.
   */
  watchHealth(id: PositionId, onHealth: (view: PositionView | null) => void, options: WatchOptions = {}): () => void {
    const stop = watchBlocks(
      this.provider,
      async (_from, toBlock) => {
        const view = (await this.getPositions([id], toBlock))[0] ?? null;
        onHealth(view);
        if (view === null) stop();
      },
      { pollingInterval: this.options.pollingInterval, ...options },
    );
    return stop;
  }
}

export { deriveHealth, positionHealth };
export type { Health };
