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
import { ClientModule, txResult, type TxOptions, type TxResult } from "./context.js";
import type { Positions } from "./positions.js";
import type { DecreaseQuote, IncreaseQuote, OpenQuote, OpenRequest, Quotes } from "./quotes.js";

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

  async open(req: OpenRequest & TxOptions): Promise<TxResult & { id: PositionId; vault: string; event: PositionOpenedEvent; quote: OpenQuote }> {
    const c = this.ctx;
    c.requireSigner("open");
    const quote = await this.uses.quotes.quoteOpen(req);
    const acceptablePrice = req.acceptablePrice ?? quote.acceptablePrice;
    const args = [req.market, req.side === "long", req.collateral, quote.size, acceptablePrice, await c.deadline(req)];
    const r = await c.execute<bigint>(c.engine, "open", args, req, { spender: c.engineAddress, amount: quote.requiredAllowance });
    const event = this.#events(r.receipt, "PositionOpened")[0]!;
    return { ...txResult(r), id: event.id, vault: this.uses.positions.vaultOf(event.id), event, quote };
  }

  async increase(req: { id: PositionId; sizeDelta: bigint; collateralDelta?: bigint } & TxOptions): Promise<TxResult & { event: PositionIncreasedEvent; quote: IncreaseQuote }> {
    const c = this.ctx;
    c.requireSigner("increase");
    const quote = await this.uses.quotes.quoteIncrease(req);
    const args = [req.id, quote.collateralDelta, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    const r = await c.execute(c.engine, "increase", args, req, { spender: c.engineAddress, amount: quote.requiredAllowance });
    return { ...txResult(r), event: this.#events(r.receipt, "PositionIncreased")[0]!, quote };
  }

  async decrease(req: { id: PositionId; sizeDelta: bigint } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    const c = this.ctx;
    c.requireSigner("decrease");
    const quote = await this.uses.quotes.quoteDecrease(req);
    const args = [req.id, req.sizeDelta, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    const r = await c.execute(c.engine, "decrease", args, req);
    return { ...txResult(r), event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  async close(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionDecreasedEvent; quote: DecreaseQuote }> {
    const c = this.ctx;
    c.requireSigner("close");
    const quote = await this.uses.quotes.quoteClose(req);
    const args = [req.id, req.acceptablePrice ?? quote.acceptablePrice, await c.deadline(req)];
    const r = await c.execute(c.engine, "close", args, req);
    return { ...txResult(r), event: this.#events(r.receipt, "PositionDecreased")[0]!, quote };
  }

  async addCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralAddedEvent }> {
    const c = this.ctx;
    const r = await c.execute(c.engine, "addCollateral", [req.id, req.amount], req, { spender: c.engineAddress, amount: req.amount });
    return { ...txResult(r), event: this.#events(r.receipt, "CollateralAdded")[0]! };
  }

  async removeCollateral(req: { id: PositionId; amount: bigint } & TxOptions): Promise<TxResult & { event: CollateralRemovedEvent }> {
    const c = this.ctx;
    const r = await c.execute(c.engine, "removeCollateral", [req.id, req.amount], req);
    return { ...txResult(r), event: this.#events(r.receipt, "CollateralRemoved")[0]! };
  }

  async liquidate(req: { id: PositionId } & TxOptions): Promise<TxResult & { event: PositionLiquidatedEvent; preview: LiquidationPreview }> {
    const c = this.ctx;
    const r = await c.execute<unknown>(c.engine, "liquidate", [req.id], req);
    const event = this.#events(r.receipt, "PositionLiquidated")[0]!;
    // What the mined transaction did (the simulation ran a block earlier, with less borrow fee).
    const { price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta } = event;
    const preview: LiquidationPreview = { liquidatable: true, price, equity, maintenance, keeperReward, badDebt, toInsurance, fromInsurance, fromPool, lpDelta };
    return { ...txResult(r), event, preview };
  }

  async liquidateMany(req: { ids: readonly PositionId[] } & TxOptions): Promise<TxResult & { liquidated: number; reward: bigint; events: PositionLiquidatedEvent[] }> {
    if (req.ids.length === 0) throw new InvalidRequestError("liquidateMany needs at least one id");
    const c = this.ctx;
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
