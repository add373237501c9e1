/**
 * LP flows of an asynchronous pool (ERC-7540; the pool is asynchronous once the engine has a
 * request router): request a deposit or a redemption (assets or shares and an execution fee
 * escrowed), execute it with the reports its creation pins (one per market with open interest),
 * claim what executed, cancel after expiry, and the redemption's push-round fallback.
 * @module
 */
import { Contract, getAddress, type Log, type TransactionReceipt } from "ethers";
import { bulkheadOracleAbi } from "../abis/bulkheadOracle.js";
import { InvalidInputError, InvalidRequestError, type BulkheadError } from "../errors.js";
import { PoolRequestMath } from "../math/PoolRequestMath.js";
import { benchmarkRange } from "../requests.js";
import { readLogs, watchBlocks, type LogRangeOptions, type WatchOptions } from "../events.js";
import { ClientModule, txResult, type TxOptions, type TxResult } from "./context.js";
import type { Markets } from "./markets.js";

/** Kinds of LP request, numbered as the contract's `LpRequestKind`. */
export const LpRequestKind = { Deposit: 1, Redeem: 2 } as const;
export type LpRequestKindName = keyof typeof LpRequestKind;

/** An LP request as the pool stores it, with its times. */
export interface LpRequestView {
  id: bigint;
  controller: string;
  kind: LpRequestKindName;
  /** True once executed: its result waits in the controller's claimable balance. */
  claimable: boolean;
  createdAt: number;
  /** The second whose reports fill it. */
  settlesAt: number;
  /** Its last executable second; after it, only `cancelLpRequest`. */
  expiresAt: number;
  /** Escrowed assets (deposit) or shares (redemption). */
  amount: bigint;
  executionFee: bigint;
}

/** What a controller can claim now. */
export interface LpClaimable {
  /** Shares of executed deposits (and the assets they were bought with). */
  deposits: { assets: bigint; shares: bigint };
  /** Assets of executed redemptions (and the shares redeemed for them). */
  redemptions: { assets: bigint; shares: bigint };
}

/** What an LP request would do, before its reports exist. */
export interface LpRequestQuote {
  kind: LpRequestKindName;
  /** Escrowed assets (deposit) or shares (redemption). */
  amount: bigint;
  /**
   * The shares (deposit) or assets (redemption) the fill gives, over the range the reports'
   * benchmarks can take (within each stream's deviation bound of the push prices now, no spread);
   * a report's spread moves the fill further in the pool's favour.
   */
  result: { min: bigint; max: bigint };
  executionFee: { fee: bigint; gasLimit: bigint; gasPrice: bigint };
  /** Markets whose report the execution needs. */
  reportMarkets: number[];
  settlementDelay: number;
  expiry: number;
  /** The wallet's token balance (deposit) or pool shares (redemption); null for a read-only client. */
  balance: bigint | null;
  /** What the SDK can tell now would make the request fail: a deposit above the wallet's balance ({@link InsufficientBalanceError}). */
  issues: BulkheadError[];
  ok: boolean;
}

/** An LP request event of the pool: created, executed (its result claimable) or cancelled. */
export interface LpRequestEvent {
  type: "LpRequestCreated" | "LpRequestExecuted" | "LpRequestCancelled";
  requestId: bigint;
  blockNumber: number;
  transactionHash: string;
  /** The event's arguments by their Solidity names. */
  args: Readonly<Record<string, bigint | string>>;
}

const LP_EVENTS = ["LpRequestCreated", "LpRequestExecuted", "LpRequestCancelled"] as const;
const KINDS = ["None", "Deposit", "Redeem"] as const;

/** Asynchronous LP flows. */
export class LpRequests extends ClientModule<{ markets: Markets }> {
  async isAsync(): Promise<boolean> {
    // The pool is asynchronous exactly when the engine has a settler (`BulkheadPool.isAsync`).
    return (await this.ctx.settler()) !== null;
  }

  async #requireAsync(action: string): Promise<void> {
    if (!(await this.isAsync())) throw new InvalidRequestError(`${action}: this pool is synchronous (no request router): use deposit/withdraw/redeem`);
  }

  /** The execution fee an LP request of `kind` needs at `gasPrice` (default: the node's max fee per gas). */
  async quoteLpExecutionFee(kind: LpRequestKindName, gasPrice?: bigint): Promise<{ fee: bigint; gasLimit: bigint; gasPrice: bigint }> {
    const c = this.ctx;
    let price = gasPrice;
    if (price === undefined) {
      const data = await c.provider.getFeeData();
      price = data.maxFeePerGas ?? data.gasPrice ?? 0n;
    }
    const gasLimit = (await c.read(() => c.pool.getFunction("executionGas")(LpRequestKind[kind]))) as bigint;
    return { fee: gasLimit * price, gasLimit, gasPrice: price };
  }

  /** Markets whose report an LP execution needs (those with open interest), by id. */
  async marketsNeedingReports(): Promise<number[]> {
    const markets = await this.uses.markets.getMarkets();
    return markets.filter((m) => m.longSize > 0n || m.shortSize > 0n).map((m) => m.id);
  }

  /** What a deposit of `assets` (or a redemption of `shares`) would give, over the range its reports can take. */
  async quoteLpRequest(req: { kind: LpRequestKindName; amount: bigint; gasPrice?: bigint }): Promise<LpRequestQuote> {
    const c = this.ctx;
    if (req.kind !== "Deposit" && req.kind !== "Redeem") throw new InvalidInputError("kind", `must be "Deposit" or "Redeem", got ${JSON.stringify(req.kind)}`);
    c.validate(req, { amount: req.kind === "Deposit" ? "amount" : "shares", gasPrice: "bigint?" });
    await this.#requireAsync("quoteLpRequest");
    const oracle = new Contract((await c.read(() => c.pool.getFunction("oracle")())) as string, bulkheadOracleAbi as never, c.provider);
    const owner = c.signer ? await c.signer.getAddress() : null;
    const held = req.kind === "Deposit" ? c.tokenContract : c.pool;
    const [markets, ledger, supply, timing, executionFee, balance] = await Promise.all([
      this.uses.markets.getMarkets(),
      this.uses.markets.getLedger(),
      c.read(() => c.pool.getFunction("totalSupply")()) as Promise<bigint>,
      c.read(() => oracle.getFunction("timing")()) as Promise<{ settlementDelay: bigint; expiry: bigint }>,
      this.quoteLpExecutionFee(req.kind, req.gasPrice),
      owner === null ? null : (c.read(() => held.getFunction("balanceOf")(owner)) as Promise<bigint>),
    ]);
    const issues: BulkheadError[] = [];
    if (req.kind === "Deposit" && owner !== null && balance !== null && balance < req.amount) {
      issues.push(c.reason({ name: "ERC20InsufficientBalance", args: { sender: owner, balance, needed: req.amount } }));
    }
    const bounds = await Promise.all(markets.map((m) => c.read(() => oracle.getFunction("stream")(m.id)) as Promise<{ maxDeviationBps: bigint }>));
    const isDeposit = req.kind === "Deposit";
    // LP value falls as longs' price rises and shorts' falls: the two corners bound it.
    const at = (lpFavoured: boolean) =>
      PoolRequestMath.valuationAt(
        ledger,
        markets.map((m, i) => {
          const open = m.longSize > 0n || m.shortSize > 0n;
          if (!open) return { market: m, bid: null, ask: null, currentIndex: m.currentIndex };
          if (m.price === null) throw m.priceError ?? new InvalidRequestError(`market ${m.id} has open interest and no valid price`);
          const { min: low, max: high } = benchmarkRange(m.price, BigInt(bounds[i]!.maxDeviationBps));
          // valuationAt reads longs at `bid` and shorts at `ask` for a deposit, the other way for a redemption.
          const [longPx, shortPx] = lpFavoured ? [low, high] : [high, low];
          return isDeposit ? { market: m, bid: longPx, ask: shortPx, currentIndex: m.currentIndex } : { market: m, bid: shortPx, ask: longPx, currentIndex: m.currentIndex };
        }),
        c.unit,
        isDeposit,
      );
    const [valueHigh, valueLow] = [at(true), at(false)];
    const result = isDeposit
      ? { min: PoolRequestMath.toSharesDown(req.amount, valueHigh, supply), max: PoolRequestMath.toSharesDown(req.amount, valueLow, supply) }
      : { min: PoolRequestMath.toAssetsDown(req.amount, valueLow, supply), max: PoolRequestMath.toAssetsDown(req.amount, valueHigh, supply) };
    return {
      kind: req.kind,
      amount: req.amount,
      result,
      executionFee,
      reportMarkets: markets.filter((m) => m.longSize > 0n || m.shortSize > 0n).map((m) => m.id),
      settlementDelay: Number(timing.settlementDelay),
      expiry: Number(timing.expiry),
      balance,
      issues,
      ok: issues.length === 0,
    };
  }

  async requestDeposit(req: { assets: bigint; controller?: string; gasPrice?: bigint } & TxOptions): Promise<TxResult & { requestId: bigint; settlesAt: number; expiresAt: number }> {
    const c = this.ctx;
    const me = await c.requireSigner("requestDeposit").getAddress();
    c.validate(req, { assets: "amount", controller: "address?", gasPrice: "bigint?" });
    await this.#requireAsync("requestDeposit");
    if (req.assets <= 0n) throw new InvalidRequestError("assets must be positive");
    const { fee } = await this.quoteLpExecutionFee("Deposit", req.gasPrice);
    const r = await c.execute<bigint>(c.pool, "requestDeposit", [req.assets, req.controller ?? me, me], { ...req, value: fee }, { spender: c.poolAddress, amount: req.assets });
    return { ...txResult(r), ...this.#created(r.receipt) };
  }

  async requestRedeem(req: { shares: bigint; controller?: string; gasPrice?: bigint } & TxOptions): Promise<TxResult & { requestId: bigint; settlesAt: number; expiresAt: number }> {
    const c = this.ctx;
    const me = await c.requireSigner("requestRedeem").getAddress();
    c.validate(req, { shares: "shares", controller: "address?", gasPrice: "bigint?" });
    await this.#requireAsync("requestRedeem");
    if (req.shares <= 0n) throw new InvalidRequestError("shares must be positive");
    const { fee } = await this.quoteLpExecutionFee("Redeem", req.gasPrice);
    const r = await c.execute<bigint>(c.pool, "requestRedeem", [req.shares, req.controller ?? me, me], { ...req, value: fee });
    return { ...txResult(r), ...this.#created(r.receipt) };
  }

  /** The request, or null when none is stored under the id (never created, or cancelled). */
  async getLpRequest(requestId: bigint): Promise<LpRequestView | null> {
    const c = this.ctx;
    const raw = (await c.read(() => c.pool.getFunction("lpRequest")(requestId))) as unknown[];
    const kind = Number(raw[1]);
    if (kind === 0) return null;
    const createdAt = Number(raw[3]);
    return {
      id: requestId,
      controller: getAddress(String(raw[0])),
      kind: KINDS[kind] as LpRequestKindName,
      claimable: Boolean(raw[2]),
      createdAt,
      settlesAt: createdAt + Number(raw[5]),
      expiresAt: createdAt + Number(raw[8]),
      amount: BigInt(raw[6] as bigint),
      executionFee: BigInt(raw[7] as bigint),
    };
  }

  /**
   * Executes an LP request with the reports its creation pins: `reports[marketId]` is that
   * market's signed report for the request's settlement second ("0x" for a market without open
   * interest, see {@link marketsNeedingReports}). `filled` is false when the pool refused it at
   * those prices (pause, free liquidity, a degenerate valuation) and cancelled it instead.
   */
  async executeLpRequest(req: { requestId: bigint; reports: readonly string[] } & TxOptions): Promise<TxResult & { filled: boolean }> {
    this.ctx.validate(req, { requestId: "id" });
    const c = this.ctx;
    c.requireSigner("executeLpRequest");
    const r = await this.getLpRequest(req.requestId);
    if (!r) throw c.reason({ name: "RequestNotFound", args: { requestId: req.requestId } });
    const method = r.kind === "Deposit" ? "executeDeposit" : "executeRedeem";
    const x = await c.execute<boolean>(c.pool, method, [req.requestId, [...req.reports]], req);
    return { ...txResult(x), filled: x.returned };
  }

  /** Executes an overdue redemption at the first push round of each market with open interest (`roundIds[marketId]`). */
  async executeRedeemAtPushRounds(req: { requestId: bigint; roundIds: readonly bigint[] } & TxOptions): Promise<TxResult & { filled: boolean }> {
    const c = this.ctx;
    c.requireSigner("executeRedeemAtPushRounds");
    const x = await c.execute<boolean>(c.pool, "executeRedeemAtPushRounds", [req.requestId, [...req.roundIds]], req);
    return { ...txResult(x), filled: x.returned };
  }

  /** Cancels an expired LP request (controller or operator): escrow and fee return to the controller. */
  async cancelLpRequest(req: { requestId: bigint } & TxOptions): Promise<TxResult> {
    this.ctx.validate(req, { requestId: "id" });
    const c = this.ctx;
    c.requireSigner("cancelLpRequest");
    return txResult(await c.execute(c.pool, "cancelRequest", [req.requestId], req));
  }

  async getLpClaimable(controller: string): Promise<LpClaimable> {
    const c = this.ctx;
    const [d, r] = (await c.read(() => c.pool.getFunction("claimable")(controller))) as [[bigint, bigint], [bigint, bigint]];
    return { deposits: { assets: d[0], shares: d[1] }, redemptions: { assets: r[0], shares: r[1] } };
  }

  /** Claims all of the signer's claimable deposit shares, to `receiver` (default: the signer). */
  async claimDeposit(req: { receiver?: string } & TxOptions = {}): Promise<TxResult & { shares: bigint }> {
    const c = this.ctx;
    const me = await c.requireSigner("claimDeposit").getAddress();
    const { deposits } = await this.getLpClaimable(me);
    if (deposits.assets === 0n) throw new InvalidRequestError("nothing to claim: no executed deposit request waits");
    const r = await c.execute<bigint>(c.pool, "deposit(uint256,address,address)", [deposits.assets, req.receiver ?? me, me], req);
    return { ...txResult(r), shares: r.returned };
  }

  /** Claims all of the signer's claimable redemption assets, to `receiver` (default: the signer). */
  async claimRedeem(req: { receiver?: string } & TxOptions = {}): Promise<TxResult & { assets: bigint }> {
    const c = this.ctx;
    const me = await c.requireSigner("claimRedeem").getAddress();
    const { redemptions } = await this.getLpClaimable(me);
    if (redemptions.shares === 0n) throw new InvalidRequestError("nothing to claim: no executed redemption waits");
    const r = await c.execute<bigint>(c.pool, "redeem(uint256,address,address)", [redemptions.shares, req.receiver ?? me, me], req);
    return { ...txResult(r), assets: r.returned };
  }

  /** LP request events in a block range (default: from the deployment block), in chain order. */
  async getLpRequestEvents(range: Partial<LogRangeOptions> = {}): Promise<LpRequestEvent[]> {
    const c = this.ctx;
    const topics = [LP_EVENTS.map((n) => c.pool.interface.getEvent(n)!.topicHash)];
    const out: LpRequestEvent[] = [];
    for await (const page of readLogs(c.provider, { address: c.poolAddress, topics }, await c.range(range))) {
      for (const log of page) {
        const parsed = c.pool.interface.parseLog({ topics: [...log.topics], data: log.data });
        if (!parsed) continue;
        const args: Record<string, bigint | string> = {};
        parsed.fragment.inputs.forEach((input, i) => (args[input.name] = parsed.args[i] as bigint | string));
        out.push({ type: parsed.name as LpRequestEvent["type"], requestId: args.requestId as bigint, blockNumber: log.blockNumber, transactionHash: log.transactionHash, args });
      }
    }
    return out;
  }

  /** Calls `onEvent` for every new LP request event; returns a function that stops watching. */
  watchLpRequests(onEvent: (event: LpRequestEvent) => void, options: WatchOptions = {}): () => void {
    const c = this.ctx;
    return watchBlocks(
      c.provider,
      async (fromBlock, toBlock) => {
        for (const e of await this.getLpRequestEvents({ fromBlock, toBlock })) {
          c.sawBlock(e.blockNumber);
          onEvent(e);
        }
      },
      { pollingInterval: c.options.pollingInterval, ...options },
    );
  }

  #created(receipt: TransactionReceipt): { requestId: bigint; settlesAt: number; expiresAt: number } {
    const c = this.ctx;
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== c.poolAddress) continue;
      const parsed = c.pool.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "LpRequestCreated") {
        return { requestId: parsed.args.getValue("requestId") as bigint, settlesAt: Number(parsed.args.getValue("settlesAt")), expiresAt: Number(parsed.args.getValue("expiresAt")) };
      }
    }
    throw new InvalidRequestError("the request transaction emitted no LpRequestCreated event");
  }
}
