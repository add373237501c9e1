/**
 * What every module of the client shares: the connection, the contracts, the options, the
 * read-your-writes block, the risk-parameter cache, error decoding and the transaction pipeline
 * (simulate, approve, estimate, send, wait).
 * @module
 */
import {
  Contract,
  MaxUint256,
  ZeroAddress,
  getAddress,
  type BlockTag,
  type FunctionFragment,
  type Provider,
  type Signer,
  type TransactionReceipt,
  type TransactionResponse,
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
  NoContractError,
  TransferFromFailedError,
  ReadOnlyClientError,
  TransactionRevertedError,
  UnknownRevertError,
  WrongNetworkError,
  createRevertError,
  decodeRevert,
  extractRevertData,
  isCallException,
  walletError,
  type ErrorContext,
} from "../errors.js";
import { formatAmount } from "../format.js";
import type { LogRangeOptions } from "../events.js";
import type { RevertReason } from "../math/BulkheadLogic.js";
import type { RiskParams } from "../types.js";
import { TX_OPTION_FIELDS, validateRequest, type FieldSpec } from "../validate.js";
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
  /**
   * Called with each transaction's hash as soon as the wallet has sent it, before it is mined:
   * the approvals first (`kind: "approval"`), then the call. Errors it throws are not caught.
   */
  onSubmitted?: (hash: string, info: SubmittedInfo) => void;
}

/** What {@link TxOptions.onSubmitted} is told about a sent transaction. */
export interface SubmittedInfo {
  kind: UnsignedTransaction["kind"];
  /** Its place in the transactions of the action (0-based) and their count. */
  index: number;
  count: number;
  description: string;
}

/**
 * A transaction to sign, as wagmi/viem (`sendTransaction`), a Safe, or EIP-5792
 * `wallet_sendCalls` (value as hex) take it.
 */
export interface UnsignedTransaction {
  /** "approval": a token approval the call needs first; "call": the action itself. */
  kind: "approval" | "call";
  to: string;
  data: string;
  value: bigint;
  /** What it does, e.g. "approve 100.5 USDC for 0x5FbD…" or "open on the engine". */
  description: string;
  /**
   * The node's estimate plus `gasBufferBps` (or the caller's `gasLimit`). Absent on approvals (the
   * wallet estimates them) and on a call after an approval of the same list, which cannot be
   * estimated before the approval is mined.
   */
  gasLimit?: bigint;
}

/** The unsigned transactions of an action, in the order to send them: approvals (if any), then the call. */
export interface PreparedTransactions {
  transactions: UnsignedTransaction[];
  /**
   * True when the call itself was simulated against the current state (its revert would have
   * thrown the typed error). False when an approval must come first: the call cannot run before it,
   * and the quote's checks (and the wallet balance) stood in for the simulation.
   */
  simulated: boolean;
}

/** What a token-pulling call needs: `amount` allowed to `spender`, and `needed` in the wallet (default `amount`). */
export interface TokenPull {
  spender: string;
  amount: bigint;
  needed?: bigint;
  /** The allowance and balance a quote just read, so that they are not read again. */
  allowance?: bigint;
  balance?: bigint;
  /**
   * The errors a quote predicts for the call: the first is thrown when the call cannot be
   * simulated before its approval, so that no approval is asked for a call that would revert.
   */
  issues?: readonly Error[];
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

/** The prepared transactions of a call and the value its simulation returned (when it ran). */
export interface Prepared<T> extends PreparedTransactions {
  returned?: T;
}

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

/** A wallet's funds for a quote: the signer's allowance to the spender and its token balance. */
export interface WalletFunds {
  owner: string | null;
  allowance: bigint | null;
  balance: bigint | null;
}

/** A read-only client's wallet: nothing to check. */
export const NO_WALLET: WalletFunds = { owner: null, allowance: null, balance: null };

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
  /** The engine's settler once a read has seen it set (see {@link settler}). */
  #settler: string | null = null;

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
    // One lens call for every fact the engine and the token fix at deployment; a given address
    // that is not the lens's engine (or its token or pool) is named: empty, or the wrong contract.
    const lens = new Contract(getAddress(a.lens), bulkheadLensAbi as never, provider);
    const d = (await connectRead(provider, chainId, "lens", a.lens, () => lens.getFunction("readDeployment")())) as {
      engine: string;
      token: string;
      pool: string;
      unit: bigint;
      vaultImplementation: string;
      marketCount: bigint;
      tokenDecimals: bigint;
      tokenSymbol: string;
    };
    await Promise.all(
      ([["engine", a.engine, d.engine], ["token", a.token, d.token], ["pool", a.pool, d.pool]] as const).map(async ([name, given, actual]) => {
        if (given === undefined || getAddress(given) === getAddress(actual)) return;
        if ((await provider.getCode(given)) === "0x") throw new NoContractError(name, getAddress(given), chainId);
        throw new InvalidRequestError(`the ${name} address ${getAddress(given)} is not the lens's ${name} ${getAddress(actual)}: check the addresses passed to connect()`);
      }),
    );
    const [tokenAddress, poolAddress, unit, vaultImplementation, marketCount] = [d.token, d.pool, d.unit, d.vaultImplementation, d.marketCount];
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
    // ethers answers getBlockNumber from a response cache (250 ms by default): a quote pinned to
    // that number could miss a block another signer's transaction just made. A JSON-RPC provider
    // is asked directly; others (FallbackProvider) keep their own logic. Callers in the same
    // moment share one request (a page's parallel reads), none reuses an answer after it came.
    this.#blockInFlight ??= this.#askBlockNumber().finally(() => {
      this.#blockInFlight = null;
    });
    return Math.max(await this.#blockInFlight, this.#minBlock);
  }

  #blockInFlight: Promise<number> | null = null;

  async #askBlockNumber(): Promise<number> {
    const p = this.provider as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
    return typeof p.send === "function" ? Number(BigInt((await p.send("eth_blockNumber", [])) as string)) : p.getBlockNumber();
  }

  /**
   * Records that the client has seen block `n` (a watched event's block): later reads are pinned
   * to it or later, as after the client's own receipts.
   */
  sawBlock(n: number): void {
    this.#minBlock = Math.max(this.#minBlock, n);
  }

  /** Checks a public method's request object (its `fields` and the transaction options): {@link InvalidInputError} names a bad field. */
  validate(req: unknown, fields: FieldSpec): void {
    validateRequest(req, { ...fields, ...TX_OPTION_FIELDS }, this.token);
  }

  get errorContext(): ErrorContext {
    return { decimals: this.token.decimals, symbol: this.token.symbol };
  }

  toError(error: unknown): unknown {
    // Before the revert data: a rejected request's error carries the calldata, which is no revert.
    const typed = walletError(error, this.chainId);
    if (typed) return typed;
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
      const error = this.toError(e);
      throw error instanceof NoContractError && error.address === undefined ? await this.#nameEmpty(error) : error;
    }
  }

  /**
   * A read came back empty: names the contract of the deployment that has no code (a node reset
   * or a redeployment since connect), or returns the error as it is when all of them have code.
   */
  async #nameEmpty(error: NoContractError): Promise<NoContractError> {
    const known: [string, string][] = [["engine", this.engineAddress], ["lens", this.lensAddress], ["pool", this.poolAddress], ["token", this.token.address]];
    const codes = await Promise.all(known.map(([, address]) => this.provider.getCode(address).catch(() => undefined)));
    const empty = known[codes.indexOf("0x")];
    return empty ? new NoContractError(empty[0], empty[1], this.chainId, error.cause) : error;
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
   * Throws {@link WrongNetworkError} when the signer's provider is on another chain than the
   * client (a wallet switched after connecting; a static-network provider would not notice).
   */
  async checkNetwork(): Promise<void> {
    const provider = (this.signer?.provider ?? this.provider) as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
    let chainId: number;
    try {
      chainId = Number(typeof provider.send === "function" ? BigInt((await provider.send("eth_chainId", [])) as string) : (await provider.getNetwork()).chainId);
    } catch (e) {
      throw this.toError(e);
    }
    if (chainId !== this.chainId) throw new WrongNetworkError(this.chainId, chainId);
  }

  async #allowanceOf(owner: string, spender: string): Promise<bigint> {
    return (await this.read(() => this.tokenContract.getFunction("allowance")(owner, spender))) as bigint;
  }

  async #balanceOf(owner: string): Promise<bigint> {
    return (await this.read(() => this.tokenContract.getFunction("balanceOf")(owner))) as bigint;
  }

  /**
   * The approvals that set the signer's allowance to `spender` to `amount` from `current`: one
   * `approve`, preceded by a reset to zero when the token refuses to change a non-zero allowance
   * (USDT-style; found by simulating the approve).
   */
  async #approvals(spender: string, amount: bigint, current: bigint): Promise<UnsignedTransaction[]> {
    const signer = this.requireSigner("approve");
    const iface = this.tokenContract.interface;
    const to = this.token.address;
    const tx = (value: bigint): UnsignedTransaction => ({
      kind: "approval",
      to,
      data: iface.encodeFunctionData("approve", [spender, value]),
      value: 0n,
      description: value === MaxUint256 ? `approve unlimited ${this.token.symbol} for ${spender}` : `approve ${formatAmount(value, this.token)} for ${spender}`,
    });
    const out: UnsignedTransaction[] = [];
    // From zero every token accepts an approve; only a change of a non-zero one needs asking.
    if (current !== 0n) {
      try {
        await signer.call({ to, data: tx(amount).data });
      } catch {
        out.push(tx(0n));
      }
    }
    out.push(tx(amount));
    return out;
  }

  /** Sets the signer's allowance to `spender` to exactly `amount` (a reset to zero first where the token needs one). */
  async approve(spender: string, amount: bigint, opts: TxOptions = {}): Promise<TxResult> {
    const signer = this.requireSigner("approve");
    await this.checkNetwork();
    const current = await this.#allowanceOf(await signer.getAddress(), spender);
    const receipts = await this.#sendAll(await this.#approvals(spender, amount, current), opts);
    const receipt = receipts.at(-1)!;
    return { hash: receipt.hash, receipt, approvals: receipts.slice(0, -1) };
  }

  /**
   * Makes the signer's allowance to `spender` at least `needed` before a transaction that does not
   * pull at once (a top-up guard is pulled from later, by its executions): the receipts of the
   * approvals sent, none when the allowance sufficed.
   */
  async ensureAllowance(spender: string, needed: bigint, mode: ApprovalMode = "exact", opts: TxOptions = {}): Promise<TransactionReceipt[]> {
    return this.#sendAll(await this.approvalsFor(spender, needed, mode), opts);
  }

  /**
   * The engine's settler (the request router), null where trades are instant; the pool is
   * asynchronous exactly when it is set. The engine sets it once and never changes it, so once a
   * read has seen it (this one or a lens pool read, {@link sawSettler}) it is not asked again.
   */
  async settler(): Promise<string | null> {
    if (this.#settler !== null) return this.#settler;
    this.sawSettler((await this.read(() => this.engine.getFunction("settler")())) as string);
    return this.#settler;
  }

  /** Records a settler a read returned (the zero address: none yet). */
  sawSettler(settler: string): void {
    if (settler !== ZeroAddress) this.#settler = getAddress(settler);
  }

  /** The signer's allowance to `spender` and token balance at `blockTag` (owner and both null for a read-only client). */
  async wallet(spender: string, blockTag: number): Promise<WalletFunds> {
    const owner = this.signer ? getAddress(await this.signer.getAddress()) : null;
    if (owner === null) return NO_WALLET;
    const token = this.tokenContract;
    const [allowance, balance] = (await Promise.all([
      this.read(() => token.getFunction("allowance")(owner, spender, { blockTag })),
      this.read(() => token.getFunction("balanceOf")(owner, { blockTag })),
    ])) as [bigint, bigint];
    return { owner, allowance, balance };
  }

  /** The token's own `ERC20InsufficientBalance` when the wallet holds less than `needed` (what the pull would revert with). */
  shortfall(wallet: WalletFunds, needed: bigint): RevertReason | undefined {
    if (wallet.owner === null || wallet.balance === null || wallet.balance >= needed) return undefined;
    return { name: "ERC20InsufficientBalance", args: { sender: wallet.owner, balance: wallet.balance, needed } };
  }

  /** The unsigned approvals {@link ensureAllowance} would send (none when the allowance covers `needed`). */
  async approvalsFor(spender: string, needed: bigint, mode: ApprovalMode = "exact"): Promise<UnsignedTransaction[]> {
    const owner = await this.requireSigner("approve").getAddress();
    const current = await this.#allowanceOf(owner, spender);
    if (current >= needed) return [];
    if (mode === "none") throw this.reason({ name: "ERC20InsufficientAllowance", args: { spender, allowance: current, needed } });
    return this.#approvals(spender, mode === "unlimited" ? MaxUint256 : needed, current);
  }

  /** Runs a prepared call from the signer: its decoded return value, or the typed error of its revert. */
  async #simulate<T>(fragment: FunctionFragment, contract: Contract, tx: UnsignedTransaction): Promise<T> {
    try {
      const result = contract.interface.decodeFunctionResult(fragment, await this.requireSigner("simulate").call({ to: tx.to, data: tx.data, value: tx.value }));
      return (result.length === 1 ? result[0] : result) as T;
    } catch (e) {
      throw this.toError(e);
    }
  }

  async #gasLimit(tx: UnsignedTransaction, opts: TxOptions): Promise<bigint> {
    if (opts.gasLimit !== undefined) return opts.gasLimit;
    try {
      const estimate = await this.requireSigner("estimate").estimateGas({ to: tx.to, data: tx.data, value: tx.value });
      return (estimate * BigInt(10_000 + this.options.gasBufferBps)) / 10_000n;
    } catch (e) {
      throw this.toError(e);
    }
  }

  /**
   * The unsigned transactions of `method(args)` from the signer, in order. Simulates the call: a
   * revert throws its typed error. When the only obstacle is the token pull, reads the wallet
   * balance first (short: {@link InsufficientBalanceError}, nothing to sign) and the allowance,
   * then puts the approvals (per `approval`) before the call.
   */
  async prepare<T>(contract: Contract, method: string, args: unknown[], opts: TxOptions, pull?: TokenPull): Promise<Prepared<T>> {
    const signer = this.requireSigner(method);
    const fragment = contract.interface.getFunction(method);
    if (!fragment) throw new InvalidRequestError(`the contract has no function ${method}`);
    const to = getAddress(contract.target as string);
    const role = to === this.engineAddress ? "the engine" : to === this.poolAddress ? "the pool" : to;
    const call: UnsignedTransaction = {
      kind: "call",
      to,
      data: contract.interface.encodeFunctionData(fragment, args),
      value: opts.value ?? 0n,
      description: `${fragment.name} on ${role}`,
    };
    // The chain is asked beside the simulation; on another chain its result means nothing.
    const [network, simulation] = await Promise.allSettled([this.checkNetwork(), this.#simulate<T>(fragment, contract, call)]);
    if (network.status === "rejected") throw network.reason;
    if (simulation.status === "fulfilled") {
      return { transactions: [{ ...call, gasLimit: await this.#gasLimit(call, opts) }], simulated: true, returned: simulation.value };
    }
    const simulationError: unknown = simulation.reason;
    // The pool's OpenZeppelin transfers pass the token's ERC20InsufficientAllowance on; the
    // engine's Solady transfers revert with a bare TransferFromFailed, so look at both amounts.
    const pullFailed = simulationError instanceof InsufficientAllowanceError || simulationError instanceof TransferFromFailedError;
    if (!pullFailed || !pull) throw simulationError;
    const owner = await signer.getAddress();
    const needed = pull.needed ?? pull.amount;
    const [allowance, balance] = await Promise.all([pull.allowance ?? this.#allowanceOf(owner, pull.spender), pull.balance ?? this.#balanceOf(owner)]);
    // The balance before any approval: a wallet that cannot pay is not asked to sign anything.
    if (balance < needed) throw this.reason({ name: "ERC20InsufficientBalance", args: { sender: owner, balance, needed } });
    if (allowance >= pull.amount) throw simulationError;
    if (pull.issues?.[0]) throw pull.issues[0];
    const mode = opts.approval ?? "exact";
    if (mode === "none") throw this.reason({ name: "ERC20InsufficientAllowance", args: { spender: pull.spender, allowance, needed: pull.amount } });
    const approvals = await this.#approvals(pull.spender, mode === "unlimited" ? MaxUint256 : pull.amount, allowance);
    return { transactions: [...approvals, call], simulated: false };
  }

  /**
   * {@link prepare}, then sends its transactions in order, each mined before the next: when an
   * approval went first, the call is simulated again (a revert throws its typed error) and
   * estimated. Returns the call's receipt with the approvals' and the simulated return value.
   */
  async execute<T>(contract: Contract, method: string, args: unknown[], opts: TxOptions, pull?: TokenPull): Promise<Executed<T>> {
    const prepared = await this.prepare<T>(contract, method, args, opts, pull);
    const call = prepared.transactions.at(-1)!;
    const count = prepared.transactions.length;
    const approvals: TransactionReceipt[] = [];
    for (const [index, tx] of prepared.transactions.slice(0, -1).entries()) approvals.push(await this.#sendAndWait(tx, opts, index, count));
    let returned = prepared.returned as T;
    let gasLimit = call.gasLimit;
    if (!prepared.simulated) {
      returned = await this.#simulate<T>(contract.interface.getFunction(method)!, contract, call);
      gasLimit = await this.#gasLimit(call, opts);
    }
    const receipt = await this.#sendAndWait({ ...call, gasLimit }, opts, count - 1, count, opts.confirmations);
    return { receipt, approvals, returned };
  }

  async #sendAll(txs: UnsignedTransaction[], opts: TxOptions): Promise<TransactionReceipt[]> {
    const receipts: TransactionReceipt[] = [];
    for (const [index, tx] of txs.entries()) receipts.push(await this.#sendAndWait(tx, opts, index, txs.length));
    return receipts;
  }

  async #sendAndWait(tx: UnsignedTransaction, opts: TxOptions, index: number, count: number, confirmations = this.options.confirmations): Promise<TransactionReceipt> {
    const signer = this.requireSigner(tx.description);
    let sent: TransactionResponse;
    try {
      sent = await signer.sendTransaction({ to: tx.to, data: tx.data, value: tx.value, ...(tx.gasLimit !== undefined ? { gasLimit: tx.gasLimit } : {}) });
    } catch (e) {
      throw this.toError(e);
    }
    opts.onSubmitted?.(sent.hash, { kind: tx.kind, index, count, description: tx.description });
    let receipt: TransactionReceipt | null;
    try {
      receipt = await sent.wait(confirmations);
    } catch (e) {
      const typed = walletError(e, this.chainId);
      throw typed instanceof WrongNetworkError ? typed : new TransactionRevertedError(sent.hash, e);
    }
    if (!receipt || receipt.status !== 1) throw new TransactionRevertedError(sent.hash);
    this.#minBlock = Math.max(this.#minBlock, receipt.blockNumber);
    return receipt;
  }
}

/**
 * Runs one of connect()'s first reads of a contract: an empty result ("could not decode result
 * data") from an address without code becomes a {@link NoContractError} naming it.
 */
async function connectRead<T>(provider: Provider, chainId: number, contract: string, address: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const typed = walletError(e, chainId);
    if (typed instanceof NoContractError && (await provider.getCode(address)) === "0x") throw new NoContractError(contract, getAddress(address), chainId, e);
    throw typed ?? e;
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
