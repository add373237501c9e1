/**
 * What every module of the client shares: the connection, the contracts, the options, the
 * read-your-writes block, the risk-parameter cache, error decoding and the transaction pipeline
 * (simulate, approve, estimate, send, wait).
 * @module
 */
import {
  Contract,
  MaxUint256,
  getAddress,
  type BlockTag,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { bulkheadAbi } from "../abis/bulkhead.js";
import { bulkheadLensAbi } from "../abis/bulkheadLens.js";
import { bulkheadPoolAbi } from "../abis/bulkheadPool.js";
import { erc20Abi } from "../abis/erc20.js";
import { getDeployment, type BulkheadAddresses, type Deployment } from "../addresses.js";
import { toRiskParams } from "../decode.js";
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
} from "../errors.js";
import type { LogRangeOptions } from "../events.js";
import type { RevertReason } from "../math/BulkheadLogic.js";
import type { RiskParams } from "../types.js";
import { cloneInitCodeHash } from "../vault.js";
import type { BulkheadClient } from "../client.js";

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
  /** Native tokens sent with the call (a request's execution fee; set by the request methods). */
  value?: bigint;
}

/** A mined transaction and what it did. */
export interface TxResult {
  hash: string;
  receipt: TransactionReceipt;
  /** Receipts of approvals sent first (empty when the allowance sufficed). */
  approvals: TransactionReceipt[];
}

// ---------------------------------------------------------------- context

const isSigner = (r: Provider | Signer): r is Signer =>
  typeof (r as Signer).getAddress === "function" && typeof (r as Signer).sendTransaction === "function";

/** A transaction's receipt, the approvals sent before it and the value its simulation returned. */
export interface Executed<T> {
  receipt: TransactionReceipt;
  approvals: TransactionReceipt[];
  returned: T;
}

/** The `TxResult` fields of an executed transaction. */
export function txResult(r: Executed<unknown>): TxResult {
  return { hash: r.receipt.hash, receipt: r.receipt, approvals: r.approvals };
}

/** The facts of a connection, declared once, by {@link BulkheadClient}, which exposes them. */
export type ClientFacts = Pick<
  BulkheadClient,
  | "provider"
  | "signer"
  | "chainId"
  | "engineAddress"
  | "lensAddress"
  | "poolAddress"
  | "token"
  | "unit"
  | "vaultImplementation"
  | "startBlock"
  | "markets"
  | "options"
>;

// The context carries the client's facts under the client's names (merged from ClientFacts, so
// they are declared in one place) and adds what only the modules see.
export interface ClientContext extends ClientFacts {}

/** The state one client and all its modules share. */
export class ClientContext {
  readonly engine: Contract;
  readonly lens: Contract;
  readonly pool: Contract;
  readonly tokenContract: Contract;
  /** Init code hash of a vault clone, for the vault addresses computed off-chain. */
  readonly initCodeHash: string;
  /** Markets the client knows of: set at connect, raised by reads that meet a newer one. */
  marketCount: number;
  readonly #riskCache = new Map<string, RiskParams>();
  /** Highest block this client saw a receipt in: reads never go below it (read-your-writes). */
  #minBlock = 0;

  private constructor(facts: ClientFacts, marketCount: number) {
    Object.assign(this, facts);
    this.marketCount = marketCount;
    this.engine = new Contract(facts.engineAddress, bulkheadAbi as never, facts.provider);
    this.lens = new Contract(facts.lensAddress, bulkheadLensAbi as never, facts.provider);
    this.pool = new Contract(facts.poolAddress, bulkheadPoolAbi as never, facts.provider);
    this.tokenContract = new Contract(facts.token.address, erc20Abi as never, facts.provider);
    this.initCodeHash = cloneInitCodeHash(facts.vaultImplementation);
  }

  /** See {@link BulkheadClient.connect}. */
  static async connect(runner: Provider | Signer, options: ClientOptions): Promise<ClientContext> {
    const signer = isSigner(runner) ? runner : undefined;
    const provider = signer ? signer.provider : (runner as Provider);
    if (!provider) throw new InvalidRequestError("the signer has no provider: connect it to one first");
    const chainId = Number((await provider.getNetwork()).chainId);
    const a = options.addresses ?? getDeployment(chainId);
    if ("chainId" in a && a.chainId !== chainId) {
      throw new InvalidRequestError(`the deployment is for chain ${a.chainId} but the provider is on chain ${chainId}`);
    }
    // One lens call for every fact the engine and the token fix at deployment.
    const lens = new Contract(getAddress(a.lens), bulkheadLensAbi as never, provider);
    const d = (await lens.getFunction("readDeployment")()) as {
      token: string;
      pool: string;
      unit: bigint;
      vaultImplementation: string;
      marketCount: bigint;
      tokenDecimals: bigint;
      tokenSymbol: string;
    };
    const [tokenAddress, poolAddress, unit, vaultImplementation, marketCount] = [a.token ?? d.token, a.pool ?? d.pool, d.unit, d.vaultImplementation, d.marketCount];
    const [decimals, symbol] = [d.tokenDecimals, d.tokenSymbol];
    const facts: ClientFacts = {
      provider,
      signer,
      chainId,
      engineAddress: getAddress(a.engine),
      lensAddress: getAddress(a.lens),
      poolAddress: getAddress(poolAddress),
      token: { address: getAddress(tokenAddress), decimals: Number(decimals), symbol },
      unit,
      vaultImplementation: getAddress(vaultImplementation),
      startBlock: a.startBlock ?? 0,
      markets: a.markets ?? [],
      options: {
        lensBatchSize: options.lensBatchSize ?? 200,
        logChunkSize: options.logChunkSize ?? 5_000,
        pollingInterval: options.pollingInterval ?? 4_000,
        deadlineSeconds: options.deadlineSeconds ?? 1_200,
        confirmations: options.confirmations ?? 1,
        slippageBps: options.slippageBps ?? 50,
        gasBufferBps: options.gasBufferBps ?? 2_000,
      },
    };
    return new ClientContext(facts, Number(marketCount));
  }

  // ------------------------------------------------------------ reads

  /** The lowest block a read may see (the newest block of the client's own receipts and watched events). */
  get minBlock(): number {
    return this.#minBlock;
  }

  async latestBlock(): Promise<number> {
    const n = await this.provider.getBlockNumber();
    return Math.max(n, this.#minBlock);
  }

  /**
   * Records that the client has seen block `n` (a watched event's block): later reads are pinned
   * to it or later, as after the client's own receipts.
   */
  sawBlock(n: number): void {
    this.#minBlock = Math.max(this.#minBlock, n);
  }

  get errorContext(): ErrorContext {
    return { decimals: this.token.decimals, symbol: this.token.symbol };
  }

  toError(error: unknown): unknown {
    if (error instanceof BulkheadError) return error;
    const data = extractRevertData(error);
    if (data !== undefined) return decodeRevert(data, this.errorContext);
    if (isCallException(error)) return new UnknownRevertError(undefined, error);
    return error;
  }

  /** Runs a contract read, throwing the typed error when it reverts. */
  async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw this.toError(e);
    }
  }

  /** The typed error of a revert the SDK predicts (a quote's issue, a missing position). */
  reason(r: RevertReason): ContractRevertError {
    return createRevertError(r, { ctx: this.errorContext });
  }

  async risk(marketId: number, version: number, blockTag?: BlockTag): Promise<RiskParams> {
    const key = `${marketId}:${version}`;
    const cached = this.#riskCache.get(key);
    if (cached) return cached;
    // A risk version never changes once set, so it is cached for the life of the client.
    const risk = toRiskParams(await this.read(() => this.engine.getFunction("riskParams")(marketId, version, { blockTag })));
    this.#riskCache.set(key, risk);
    return risk;
  }

  /** Caches the risk parameters of a version read in a batch (the lens' market and position views). */
  seedRisk(marketId: number, version: number, risk: RiskParams): void {
    this.#riskCache.set(`${marketId}:${version}`, risk);
  }

  /** A log range with the client's defaults: from the deployment block to the latest block. */
  async range(range: Partial<LogRangeOptions>): Promise<LogRangeOptions> {
    return {
      fromBlock: range.fromBlock ?? this.startBlock,
      toBlock: range.toBlock ?? (await this.latestBlock()),
      chunkSize: range.chunkSize ?? this.options.logChunkSize,
    };
  }

  // ------------------------------------------------------------ transactions

  requireSigner(action: string): Signer {
    if (!this.signer) throw new ReadOnlyClientError(action);
    return this.signer;
  }

  async deadline(opts: TxOptions): Promise<bigint> {
    if (opts.deadline !== undefined) return opts.deadline;
    const block = await this.provider.getBlock("latest");
    return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000)) + BigInt(this.options.deadlineSeconds);
  }

  /**
   * Makes the signer's allowance to `spender` at least `needed` before a transaction that does not
   * pull at once (a top-up guard is pulled from later, by its executions): the receipts of the
   * approvals sent, none when the allowance sufficed.
   */
  async ensureAllowance(spender: string, needed: bigint, mode: ApprovalMode = "exact"): Promise<TransactionReceipt[]> {
    return this.#approve(spender, needed, mode);
  }

  /** Approves `spender` for what `needed` exceeds the current allowance (never unlimited unless asked). */
  async #approve(spender: string, needed: bigint, mode: ApprovalMode): Promise<TransactionReceipt[]> {
    const signer = this.requireSigner("approve");
    const owner = await signer.getAddress();
    const current = (await this.read(() => this.tokenContract.getFunction("allowance")(owner, spender))) as bigint;
    if (current >= needed) return [];
    if (mode === "none") {
      throw this.reason({ name: "ERC20InsufficientAllowance", args: { spender, allowance: current, needed } });
    }
    const amount = mode === "unlimited" ? MaxUint256 : needed;
    const token = this.tokenContract.connect(signer) as Contract;
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
  async execute<T>(
    contract: Contract,
    method: string,
    args: unknown[],
    opts: TxOptions,
    allowance?: { spender: string; amount: bigint },
  ): Promise<Executed<T>> {
    const signer = this.requireSigner(method);
    const c = contract.connect(signer) as Contract;
    const fn = c.getFunction(method);
    let approvals: TransactionReceipt[] = [];
    let returned: T;
    const value = opts.value !== undefined ? { value: opts.value } : {};
    try {
      returned = (await fn.staticCall(...args, value)) as T;
    } catch (e) {
      const err = this.toError(e);
      // The pool's OpenZeppelin transfers pass the token's ERC20InsufficientAllowance on; the
      // engine's Solady transfers revert with a bare TransferFromFailed, so look at the allowance.
      const pullFailed = err instanceof InsufficientAllowanceError || err instanceof TransferFromFailedError;
      if (!pullFailed || !allowance) throw err;
      approvals = await this.#approve(allowance.spender, allowance.amount, opts.approval ?? "exact");
      if (approvals.length === 0) throw await this.#diagnosePull(err, allowance.amount);
      try {
        returned = (await fn.staticCall(...args, value)) as T;
      } catch (e2) {
        throw this.toError(e2);
      }
    }
    let gasLimit = opts.gasLimit;
    if (gasLimit === undefined) {
      try {
        gasLimit = ((await fn.estimateGas(...args, value)) * BigInt(10_000 + this.options.gasBufferBps)) / 10_000n;
      } catch (e) {
        throw this.toError(e);
      }
    }
    const receipt = await this.#sendAndWait(() => fn(...args, { gasLimit, ...value }) as Promise<ContractTransactionResponse>, opts.confirmations);
    return { receipt, approvals, returned };
  }

  /**
   * A pull failed although the allowance covers it: a balance below the amount becomes an
   * {@link InsufficientBalanceError}; anything else is thrown as it came.
   */
  async #diagnosePull(err: unknown, needed: bigint): Promise<unknown> {
    if (!(err instanceof TransferFromFailedError)) return err;
    const sender = await this.requireSigner("transfer").getAddress();
    const balance = (await this.read(() => this.tokenContract.getFunction("balanceOf")(sender))) as bigint;
    if (balance >= needed) return err;
    return this.reason({ name: "ERC20InsufficientBalance", args: { sender, balance, needed } });
  }
}

/** A module of the client: the shared context and the sibling modules it builds on. */
export abstract class ClientModule<Uses extends object = object> {
  protected readonly ctx: ClientContext;
  protected readonly uses: Uses;

  constructor(ctx: ClientContext, uses: Uses) {
    this.ctx = ctx;
    this.uses = uses;
  }
}
