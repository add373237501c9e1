/**
 * Client transactions that execute at once at the oracle price: open, increase, decrease, close,
 * add and remove collateral, liquidate. Each one quotes (`quotes.ts`), then goes through the
 * context's simulate-approve-send pipeline and returns the event the engine emitted.
 * @module
 */
import { getAddress, type Log, type TransactionReceipt } from "ethers";
import { InvalidRequestError } from "../errors.js";
import {
  decodePositionEvent,
  type CollateralAddedEvent,
  type CollateralRemovedEvent,
  type PositionDecreasedEvent,
  type PositionEventOf,
  type PositionEventType,
  type PositionIncreasedEvent,
  type PositionLiquidatedEvent,
  type PositionOpenedEvent,
} from "../events.js";
import type { LiquidationPreview, PositionId } from "../types.js";
import { ClientModule, txResult, type PreparedTransactions, type TokenPull, type TxOptions, type TxResult } from "./context.js";
import type { Positions } from "./positions.js";
import type { DecreaseQuote, IncreaseQuote, IncreaseRequest, OpenQuote, OpenRequest, Quotes } from "./quotes.js";

/** An engine call a trade sends: its method and arguments, the quote it came from, what it pulls. */
interface Plan<Q> {
  method: string;
  args: unknown[];
  quote: Q;
  pull?: TokenPull;
}

/** The instant trade transactions. */
export class Trades extends ClientModule<{ positions: Positions; quotes: Quotes }> {
  /** The engine's events of `type` in a receipt, in log order. */
  #events<T extends PositionEventType>(receipt: TransactionReceipt, type: T): PositionEventOf<T>[] {
    const out: PositionEventOf<T>[] = [];
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== this.ctx.engineAddress) continue;
      const e = decodePositionEvent(log);
      if (e && e.type === type) out.push(e as PositionEventOf<T>);
    }
    return out;
  }

  /** The unsigned transactions of a plan, simulated (`ClientContext.prepare`). */
  async #prepare<Q>(plan: Plan<Q>, opts: TxOptions): Promise<PreparedTransactions & { quote: Q }> {
    const p = await this.ctx.prepare(this.ctx.engine, plan.method, plan.args, opts, plan.pull);
    return { transactions: p.transactions, simulated: p.simulated, quote: plan.quote };
  }

  /** Sends a plan: the same preparation, then its transactions in order (`ClientContext.execute`). */
  async #execute<Q>(plan: Plan<Q>, opts: TxOptions) {
    return { r: await this.ctx.execute<unknown>(this.ctx.engine, plan.method, plan.args, opts, plan.pull), quote: plan.quote };
  }

  /** What `open` sends: the quote, the call and what it pulls. */
  async #planOpen(req: OpenRequest & TxOptions): Promise<Plan<OpenQuote>> {
    const c = this.ctx;
    c.requireSigner("open");
    const quote = await this.uses.quotes.quoteOpen(req);
    const acceptablePrice = req.acceptablePrice ?? quote.acceptablePrice;
    const args = [req.market, req.side === "long", req.collateral, quote.size, acceptablePrice, await c.deadline(req)];
    return { method: "open", args, quote, pull: this.#pull(quote) };
  }

  /** The engine pulls the allowance a quote asks for; the wallet must hold what the fill pulls at the quoted price. */
  #pull(quote: OpenQuote | IncreaseQuote) {
    const known = quote.allowance !== null && quote.balance !== null ? { allowance: quote.allowance, balance: quote.balance } : {};
    return { spender: this.ctx.engineAddress, amount: quote.requiredAllowance, needed: quote.requiredBalance, issues: quote.issues, ...known };
  }

  async prepareOpen(req: OpenRequest & TxOptions) {
    return this.#prepare(await this.#planOpen(req), req);
  }

  async open(req: OpenRequest & TxOptions): Promise<TxResult & { id: PositionId; vault: string; event: PositionOpenedEvent; quote: OpenQuote }> {
    const { r, quote } = await this.#execute(await this.#planOpen(req), req);
    const event = this.#events(r.receipt, "PositionOpened")[0]!;
    return { ...txResult(r), id: event.id, vault: this.uses.positions.vaultOf(event.id), event, quote };
  }

  async #planIncrease(req: IncreaseRequest & TxOptions): Promise<Plan<IncreaseQuote>> {
    const c = this.ctx;
    c.requireSigner("increase");
    const quote = await this.uses.quotes.quoteIncrease(req);
    const args = [req.id, quote.collateralDelta, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    return { method: "increase", args, quote, pull: this.#pull(quote) };
  }

  async prepareIncrease(req: IncreaseRequest & TxOptions) {
    return this.#prepare(await this.#planIncrease(req), req);
  }

  async increase(req: IncreaseRequest & TxOptions): Promise<TxResult & { event: PositionIncreasedEvent; quote: IncreaseQuote }> {
    const { r, quote } = await this.#execute(await this.#planIncrease(req), req);
    return { ...txResult(r), event: this.#events(r.receipt, "PositionIncreased")[0]!, quote };
  }

  async #planDecrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<Plan<DecreaseQuote>> {
    const c = this.ctx;
    c.requireSigner("decrease");
    c.validate(req, { id: "id", sizeDelta: "size" });
    const quote = await this.uses.quotes.quoteDecrease(req);
    const args = [req.id, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    return { method: "decrease", args, quote };
  }

  async prepareDecrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions) {
    return this.#prepare(await this.#planDecrease(req), req);
  }

  async decrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    const { r, quote } = await this.#execute(await this.#planDecrease(req), req);
    return { ...txResult(r), event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  async #planClose(req: { id: PositionId } & TxOptions): Promise<Plan<DecreaseQuote>> {
    const c = this.ctx;
    c.requireSigner("close");
    const quote = await this.uses.quotes.quoteClose(req);
    const args = [req.id, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    return { method: "close", args, quote };
  }

  async prepareClose(req: { id: PositionId } & TxOptions) {
    return this.#prepare(await this.#planClose(req), req);
  }

  async close(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    const { r, quote } = await this.#execute(await this.#planClose(req), req);
    return { ...txResult(r), event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  #planCollateral(method: "addCollateral" | "removeCollateral", req: { id: PositionId; amount: bigint } & TxOptions): Plan<undefined> {
    const c = this.ctx;
    c.requireSigner(method);
    c.validate(req, { id: "id", amount: "amount" });
    const pull = method === "addCollateral" ? { spender: c.engineAddress, amount: req.amount } : undefined;
    return { method, args: [req.id, req.amount], quote: undefined, pull };
  }

  async prepareAddCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<PreparedTransactions> {
    return this.#prepare(this.#planCollateral("addCollateral", req), req);
  }

  async addCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralAddedEvent }> {
    const { r } = await this.#execute(this.#planCollateral("addCollateral", req), req);
    return { ...txResult(r), event: this.#events(r.receipt, "CollateralAdded")[0]! };
  }

  async prepareRemoveCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<PreparedTransactions> {
    return this.#prepare(this.#planCollateral("removeCollateral", req), req);
  }

  async removeCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralRemovedEvent }> {
    const { r } = await this.#execute(this.#planCollateral("removeCollateral", req), req);
    return { ...txResult(r), event: this.#events(r.receipt, "CollateralRemoved")[0]! };
  }

  async liquidate(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionLiquidatedEvent; preview: LiquidationPreview }> {
    const c = this.ctx;
    c.validate(req, { id: "id" });
    const r = await c.execute<unknown>(c.engine, "liquidate", [req.id], req);
    const event = this.#events(r.receipt, "PositionLiquidated")[0]!;
    // What the mined transaction did (the simulation ran a block earlier, with less borrow fee).
    const { price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta } = event;
    const preview: LiquidationPreview = { liquidatable: true, price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta };
    return { ...txResult(r), event, preview };
  }

  async liquidateMany(req: { ids: readonly PositionId[] } & TxOptions): Promise<TxResult & { liquidated: number; reward: bigint; events: PositionLiquidatedEvent[] }> {
    const c = this.ctx;
    c.validate(req, { ids: "ids" });
    if (req.ids.length === 0) throw new InvalidRequestError("liquidateMany needs at least one id");
    const r = await c.execute<[bigint, bigint]>(c.engine, "liquidateMany", [req.ids], req);
    const events = this.#events(r.receipt, "PositionLiquidated");
    return {
      ...txResult(r),
      liquidated: events.length,
      reward: events.reduce((s, e) => s + e.keeperReward, 0n),
      events,
    };
  }
}
