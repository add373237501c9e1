// The SDK's trigger orders (client/orders.ts, client/orderReads.ts, orders.ts) against the order
// book on Hardhat's in-process network: every kind placed, listed and watched through the client;
// its quotes equal the contract's decisions (a report the SDK says fills executes, one it says is
// not due reverts TriggerNotCrossed / TrailNotReached / PositionHealthy); edits, cancels, prunes
// and executions of each kind; readable errors before sending and for the contract's reverts.
import { expect } from "chai";
import { Interface } from "ethers";
import { network } from "hardhat";
import {
  BulkheadClient,
  FillPastAcceptablePriceError,
  InvalidOrderError,
  NotOrderOwnerError,
  OrderNotActiveError,
  OrderStillLiveError,
  PositionHealthyError,
  ReportNotAfterOrderError,
  ReportTooOldError,
  TrailNotReachedError,
  TrailingReportsOutOfOrderError,
  TriggerNotCrossedError,
  acceptablePriceFor,
  erc20Abi,
  reportQuoteOf,
  trailingStopPrice,
  type OrderEvent,
} from "../../sdk/src/index.js";
import { ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { Kind, created, executeAt } from "../helpers/requests.js";
import { deployOrderSystem, type OrderSystem } from "../helpers/orders.js";
import type { Quote } from "../helpers/streams.js";
import { expectRejection } from "./helpers/system.js";

const { ethers, networkHelpers } = await network.create();
const PX = wadFromFeed(ETH_PRICE);
const ETH = Number(ETH_MARKET);
const MAX96 = 2n ** 96n - 1n;
const pct = (x: bigint, bps: bigint) => (x * (10_000n + bps)) / 10_000n;

async function system() {
  const s = await deployOrderSystem(ethers);
  const addresses = { engine: await s.engine.getAddress(), lens: await s.lens.getAddress(), startBlock: 0 };
  return { s, addresses };
}

describe("SDK: trigger orders", function () {
  this.timeout(300_000);
  let s: OrderSystem;
  let addresses: Awaited<ReturnType<typeof system>>["addresses"];
  let alice: BulkheadClient;
  let keeper: BulkheadClient;

  beforeEach(async () => {
    ({ s, addresses } = await networkHelpers.loadFixture(system));
    alice = await BulkheadClient.connect(s.signers.alice, { addresses, pollingInterval: 10 });
    keeper = await BulkheadClient.connect(s.signers.keeper, { addresses, pollingInterval: 10 });
  });

  /** Opens a position of alice's through a request filled at PX; returns its id. */
  async function open(isLong: boolean, amount = 1_000n * USDC, size = WAD) {
    const id = await s.engine.nextPositionId();
    const r = await created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, isLong, amount, size, isLong ? MAX96 : 0n, { value: await s.fee(Kind.Open) }));
    await (await executeAt(s, networkHelpers, r, ETH_MARKET, { price: PX })).wait();
    return id;
  }
  /** Moves the push feed to `price` (reports must be within 1 % of it). */
  const setPrice = async (price: bigint) => (await s.ethFeed.updateAnswer(price / 10n ** 10n)).wait();
  /** A report observed one second after the latest block. */
  async function report(q: Quote) {
    await networkHelpers.time.increase(1);
    return s.signAt(ETH_MARKET, await networkHelpers.time.latest(), q);
  }

  it("test_sdk_placesEveryKind_listsThemByOwnerAndPosition_andWatchesThem", async () => {
    const id = await open(true);
    expect(await alice.getOrderBook()).to.equal(await s.book.getAddress());
    const seen: OrderEvent[] = [];
    const stop = alice.watchOrders((e) => seen.push(e));
    await new Promise((r) => setTimeout(r, 50));

    const sl = await alice.placeStopLoss({ positionId: id, triggerPrice: pct(PX, -500n) });
    const tp = await alice.placeTakeProfit({ positionId: id, triggerPrice: pct(PX, 1_000n), size: WAD / 2n });
    const ts = await alice.placeTrailingStop({ positionId: id, trailBps: 100n });
    const br = await alice.placeBracket({ positionId: id, stopLoss: { triggerPrice: pct(PX, -1_000n) }, takeProfit: { triggerPrice: pct(PX, 2_000n) } });
    const li = await alice.placeLimitIncrease({ id, amount: 100n * USDC, sizeDelta: WAD / 10n, limitPrice: pct(PX, -100n) });
    const now = await networkHelpers.time.latest();
    const lo = await alice.placeLimitOpen({ market: ETH, side: "short", amount: 500n * USDC, size: WAD / 10n, limitPrice: pct(PX, 100n), validUntil: now + 3_600 });
    const att = await alice.attachOrders({ limitOrderId: lo.orderId, stopLoss: { triggerPrice: pct(PX, 500n) } });
    const ro = await alice.requestOpenWithOrders({ market: ETH, side: "long", amount: 1_000n * USDC, size: WAD, stopLoss: { triggerPrice: pct(PX, -500n) }, takeProfit: { triggerPrice: pct(PX, 500n) } });
    const g = await alice.setTopUpGuard({ id, threshold: 2n * WAD, amount: 50n * USDC, budget: 200n * USDC, executorFee: USDC });

    // What the book stored is what the SDK sent: the default acceptable price is the slippage bound.
    const o = (await alice.getOrder(sl.orderId))!;
    expect([o.kind, o.target, o.isLong, o.positionId, o.activePositionId, o.sibling]).to.deep.equal(["StopLoss", "Position", true, id, id, null]);
    expect(o.trigger).to.equal(pct(PX, -500n));
    expect(o.acceptablePrice).to.equal(acceptablePriceFor(false, pct(PX, -500n), 50));
    expect(o.executionFee).to.equal(sl.executionFee.fee);
    expect(sl.executionFee.gasLimit).to.equal(await s.book.executionGas(3n));
    expect((await alice.getOrder(br.stopLossId))!.sibling).to.equal(br.takeProfitId);
    expect((await alice.getOrder(ts.orderId))!.acceptablePrice).to.equal(0n); // a long's trailing stop sells at any price unless bounded
    const attached = (await alice.getOrder(att.stopLossId!))!;
    expect([attached.target, attached.positionId, attached.activePositionId]).to.deep.equal(["LimitOpenOrder", lo.orderId, null]);
    expect((await alice.getOrder(lo.orderId))!.amount).to.equal(500n * USDC);
    expect((await alice.getTopUpGuard(g.orderId))!.budget).to.equal(200n * USDC);

    const mine = await alice.getOrders({ owner: s.signers.alice.address });
    const all = [sl.orderId, tp.orderId, ts.orderId, br.stopLossId, br.takeProfitId, li.orderId, lo.orderId, att.stopLossId!, ro.orders.stopLossId!, ro.orders.takeProfitId!];
    expect(mine.orders.map((x) => x.id)).to.have.members(all);
    expect(mine.guards.map((x) => x.id)).to.deep.equal([g.orderId]);
    const onPosition = await alice.getPositionOrders(id);
    expect(onPosition.orders.map((x) => x.id)).to.have.members([sl.orderId, tp.orderId, ts.orderId, br.stopLossId, br.takeProfitId, li.orderId]);
    expect(onPosition.guards.map((x) => x.id)).to.deep.equal([g.orderId]);
    expect((await alice.getPosition(id, { withOrders: true }))!.orders).to.deep.equal(onPosition);
    expect((await alice.getPosition(id))!.orders).to.equal(undefined);
    expect((await keeper.getOrders({ owner: s.signers.keeper.address })).orders).to.deep.equal([]);
    const history = await alice.getOrderEvents({ owner: s.signers.alice.address });
    expect(history.filter((e) => e.type === "OrderPlaced").map((e) => (e as { orderId: bigint }).orderId)).to.deep.equal([...all].sort((a, b) => Number(a - b)));
    expect(await keeper.getOrderEvents({ owner: s.signers.keeper.address })).to.deep.equal([]);

    // The attached bracket acts on the position its open request fills into.
    const openedId = await s.engine.nextPositionId();
    await (await executeAt(s, networkHelpers, { id: ro.request.requestId, settlesAt: BigInt(ro.request.event.settlesAt) }, ETH_MARKET, { price: PX })).wait();
    const later = await alice.getPositionOrders(openedId);
    expect(later.orders.map((x) => [x.id, x.target, x.activePositionId])).to.have.deep.members([
      [ro.orders.stopLossId!, "OpenRequest", openedId],
      [ro.orders.takeProfitId!, "OpenRequest", openedId],
    ]);

    for (let i = 0; i < 100 && seen.filter((e) => e.type === "OrderPlaced").length < all.length; i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen.filter((e) => e.type === "OrderPlaced").map((e) => (e as { orderId: bigint }).orderId)).to.have.members(all);
    expect(seen.some((e) => e.type === "BracketLinked")).to.equal(true);
    expect(seen.some((e) => e.type === "TopUpGuardSet")).to.equal(true);
  });

  it("test_sdk_quoteOrder_equalsTheContract_dueExecutesAndNotDueRevertsTriggerNotCrossed", async () => {
    const longId = await open(true);
    const shortId = await open(false);
    const orders: bigint[] = [];
    for (const [positionId, dir] of [[longId, 1n], [shortId, -1n]] as const) {
      orders.push((await alice.placeStopLoss({ positionId, triggerPrice: pct(PX, -200n * dir) })).orderId);
      orders.push((await alice.placeTakeProfit({ positionId, triggerPrice: pct(PX, 200n * dir) })).orderId);
      orders.push((await alice.placeLimitIncrease({ id: positionId, amount: 100n * USDC, sizeDelta: WAD / 10n, limitPrice: pct(PX, -200n * dir) })).orderId);
    }
    const counts = { filled: 0, notCrossed: 0, pastAcceptable: 0 };
    for (const orderId of orders) {
      const { trigger } = (await alice.getOrder(orderId))!;
      const quotes: Quote[] = [-90n, -4n, 0n, 4n, 90n].map((bps) => ({ price: pct(trigger, bps) }));
      quotes.push({ price: trigger, bid: trigger, ask: trigger });
      for (const q of quotes) {
        const snapshot = await networkHelpers.takeSnapshot();
        const executor = await BulkheadClient.connect(s.signers.keeper, { addresses });
        await setPrice(q.price);
        const signed = await report(q);
        const quote = await alice.quoteOrder({ orderId, report: signed });
        expect([quote.fresh, quote.afterOrder]).to.deep.equal([true, true]);
        if (quote.fills) {
          const done = await executor.executeOrder({ orderId, report: signed });
          expect(done.event.price).to.equal(quote.fillPrice);
          expect(await alice.getOrder(orderId)).to.equal(null);
          counts.filled++;
        } else if (!quote.due) {
          const e = await expectRejection(executor.executeOrder({ orderId, report: signed }), TriggerNotCrossedError);
          expect(e.args.reportPrice).to.equal(quote.observed);
          counts.notCrossed++;
        } else {
          const e = await expectRejection(executor.executeOrder({ orderId, report: signed }), FillPastAcceptablePriceError);
          expect(e.args.fillPrice).to.equal(quote.fillPrice);
          counts.pastAcceptable++;
        }
        await snapshot.restore();
      }
    }
    expect(counts.filled).to.be.greaterThan(6);
    expect(counts.notCrossed).to.be.greaterThan(6);
    expect(counts.pastAcceptable).to.be.greaterThan(0);
  });

  it("test_sdk_trailingStop_dueExactlyAtTheQuotedPriceFromThePeak", async () => {
    for (const isLong of [true, false]) {
      const id = await open(isLong);
      const ts = await alice.placeTrailingStop({ positionId: id, trailBps: 200n });
      const peakPrice = pct(PX, isLong ? 50n : -50n);
      const peak = await report({ price: peakPrice });
      const dueAt = trailingStopPrice(isLong, 200n, peakPrice);
      expect(dueAt).to.equal(isLong ? (peakPrice * 9_800n) / 10_000n : (peakPrice * 10_200n + 9_999n) / 10_000n);
      await setPrice(dueAt);
      const early = await report({ price: isLong ? dueAt + 1n : dueAt - 1n });
      const notDue = await alice.quoteOrder({ orderId: ts.orderId, peak, report: early });
      expect([notDue.due, notDue.dueAt]).to.deep.equal([false, dueAt]);
      await expectRejection(keeper.executeTrailingStop({ orderId: ts.orderId, peakReport: peak, report: early }), TrailNotReachedError);
      const signed = await report({ price: dueAt });
      await expectRejection(keeper.executeTrailingStop({ orderId: ts.orderId, peakReport: signed, report: early }), TrailingReportsOutOfOrderError);
      const due = await alice.quoteOrder({ orderId: ts.orderId, peak, report: signed });
      expect([due.due, due.fills]).to.deep.equal([true, true]);
      const done = await keeper.executeTrailingStop({ orderId: ts.orderId, peakReport: peak, report: signed });
      expect(done.event.price).to.equal(due.fillPrice);
      expect(done.positionId).to.equal(id);
      expect((await s.engine.position(id)).size).to.equal(0n); // size 0: the whole position closed
      await setPrice(PX);
    }
  });

  it("test_sdk_topUpGuard_approvesTheBudget_andTopsUpExactlyWhenTheSdkSaysDue", async () => {
    const trader = (await ethers.getSigners())[10]!;
    await s.fund(trader.address, 10_000n * USDC);
    const t = await BulkheadClient.connect(trader, { addresses });
    // About 18x: health factor about 5.4 at PX, about 4.5 at 1 % lower.
    const req = await t.requestOpen({ market: ETH, side: "long", amount: 1_000n * USDC, size: 6n * WAD, acceptablePrice: MAX96 });
    await networkHelpers.time.increaseTo(req.event.settlesAt);
    const filled = await keeper.executeRequest({ requestId: req.requestId, report: s.signAt(ETH_MARKET, req.event.settlesAt, { price: PX }) });
    const id = (filled.event as { positionId: bigint }).positionId;
    // Prepared, it is the book's approval for the budget, then the guard; nothing is signed.
    const guardReq = { id, threshold: 5n * WAD, amount: 100n * USDC, budget: 202n * USDC, executorFee: USDC };
    const nonce = await ethers.provider.getTransactionCount(trader.address);
    const prepared = await t.prepareSetTopUpGuard(guardReq);
    expect(prepared.transactions.map((x) => [x.kind, x.to])).to.deep.equal([["approval", await s.token.getAddress()], ["call", await s.book.getAddress()]]);
    expect(new Interface(erc20Abi).decodeFunctionData("approve", prepared.transactions[0]!.data)).to.deep.equal([await s.book.getAddress(), 202n * USDC]);
    expect(s.book.interface.parseTransaction({ data: prepared.transactions[1]!.data })!.args.toArray()).to.deep.equal([id, 5n * WAD, 100n * USDC, 202n * USDC, USDC, 0n]);
    expect(await ethers.provider.getTransactionCount(trader.address)).to.equal(nonce);
    const g = await t.setTopUpGuard(guardReq);
    expect(g.approvals.length).to.equal(1);
    expect(await s.token.allowance(trader.address, await s.book.getAddress())).to.equal(202n * USDC);

    const healthy = await report({ price: PX });
    const q1 = await t.quoteTopUp({ orderId: g.orderId, report: healthy });
    expect(q1.due).to.equal(false);
    const e = await expectRejection(keeper.executeTopUp({ orderId: g.orderId, report: healthy }), PositionHealthyError);
    expect(e.args.threshold).to.equal(5n * WAD);

    await setPrice(pct(PX, -100n));
    const low = await report({ price: pct(PX, -100n) });
    const q2 = await t.quoteTopUp({ orderId: g.orderId, report: low });
    expect([q2.due, q2.saves, q2.executes, q2.withinBudget, q2.budgetLeft, q2.lastTopUp]).to.deep.equal([true, true, true, true, 101n * USDC, false]);
    const before = (await s.engine.position(id)).collateral;
    const keeperBefore = await s.token.balanceOf(s.signers.keeper.address);
    const done = await keeper.executeTopUp({ orderId: g.orderId, report: low });
    // The execution block's borrow index is a few seconds past the quote's: the factor differs in
    // its last digits only (the decision, below the threshold, is the same).
    expect(done.event.healthFactor).to.be.closeTo(q2.healthFactor!, 10n ** 12n);
    expect(done.event.budgetLeft).to.equal(q2.budgetLeft);
    expect((await s.engine.position(id)).collateral - before).to.equal(100n * USDC);
    expect((await s.token.balanceOf(s.signers.keeper.address)) - keeperBefore).to.equal(USDC);
    expect((await t.getTopUpGuard(g.orderId))!.budget).to.equal(101n * USDC);
    // One report tops up once.
    await expectRejection(keeper.executeTopUp({ orderId: g.orderId, report: low }), ReportNotAfterOrderError);
    const edited = await t.editTopUpGuard({ orderId: g.orderId, threshold: 6n * WAD });
    expect(edited.event.threshold).to.equal(6n * WAD);
    expect((await t.getTopUpGuard(g.orderId))!.budget).to.equal(101n * USDC);
    // A second guard: the one allowance covers both budgets.
    const g2 = await t.setTopUpGuard({ id, threshold: 3n * WAD, amount: 20n * USDC, budget: 50n * USDC });
    expect(g2.approvals.length).to.equal(1);
    expect(await s.token.allowance(trader.address, await s.book.getAddress())).to.equal(151n * USDC);
    expect((await t.getPositionOrders(id)).guards.map((x) => x.id)).to.deep.equal([g.orderId, g2.orderId]);
  });

  it("test_sdk_editsCancelsPrunesAndExecutesBracketsLimitsAndAttachedOrders", async () => {
    const id = await open(true);
    const bracket = { positionId: id, stopLoss: { triggerPrice: pct(PX, -500n) }, takeProfit: { triggerPrice: pct(PX, 500n) } };
    const preparedBracket = await alice.preparePlaceBracket(bracket);
    expect(preparedBracket.transactions.map((x) => [x.kind, x.to, x.value])).to.deep.equal([["call", await s.book.getAddress(), preparedBracket.executionFee.fee]]);
    expect([preparedBracket.simulated, s.book.interface.parseTransaction({ data: preparedBracket.transactions[0]!.data })!.name]).to.deep.equal([true, "placeBracket"]);
    const br = await alice.placeBracket(bracket);
    const edited = await alice.editOrder({ orderId: br.stopLossId, triggerPrice: pct(PX, -400n) });
    expect(edited.event.trigger).to.equal(pct(PX, -400n));
    const o = (await alice.getOrder(br.stopLossId))!;
    expect(o.acceptablePrice).to.equal(acceptablePriceFor(false, pct(PX, -400n), 50));
    const bob = await BulkheadClient.connect(s.signers.bob, { addresses });
    await expectRejection(bob.cancelOrder({ orderId: br.stopLossId }), NotOrderOwnerError, new RegExp(`does not own order ${br.stopLossId}`));

    // Executing the take-profit cancels the stop-loss (its fee refunded) and closes the position.
    await setPrice(pct(PX, 500n));
    const tp = await keeper.executeOrder({ orderId: br.takeProfitId, report: await report({ price: pct(PX, 500n) }) });
    const sibling = tp.events.find((e) => e.type === "OrderCancelled")!;
    expect(sibling).to.deep.include({ orderId: br.stopLossId, reason: "Sibling", refund: o.executionFee });
    expect(await alice.getOrder(br.stopLossId)).to.equal(null);
    expect((await s.engine.position(id)).size).to.equal(0n);

    // A limit open with a stop attached: the stop acts on the position the limit opens.
    const lo = await alice.placeLimitOpen({ market: ETH, side: "short", amount: 500n * USDC, size: WAD / 10n, limitPrice: pct(PX, 600n) });
    const att = await alice.attachOrders({ limitOrderId: lo.orderId, stopLoss: { triggerPrice: pct(PX, 1_000n) } });
    await expectRejection(keeper.executeOrder({ orderId: att.stopLossId!, report: await report({ price: pct(PX, 500n) }) }), OrderNotActiveError);
    await setPrice(pct(PX, 650n));
    const opened = await keeper.executeOrder({ orderId: lo.orderId, report: await report({ price: pct(PX, 650n) }) });
    expect((await s.engine.position(opened.positionId)).isLong).to.equal(false);
    expect((await alice.getOrder(att.stopLossId!))!.activePositionId).to.equal(opened.positionId);
    const cancelled = await alice.cancelOrder({ orderId: att.stopLossId! });
    expect(cancelled.event).to.deep.include({ reason: "Owner", toExecutor: 0n });
    expect((await alice.getOrders({ owner: s.signers.alice.address })).orders).to.deep.equal([]);

    // A limit increase fills at the ask, bounded by its limit.
    const li = await alice.placeLimitIncrease({ id: opened.positionId, amount: 100n * USDC, sizeDelta: WAD / 10n, limitPrice: pct(PX, 700n) });
    await setPrice(pct(PX, 720n));
    const inc = await keeper.executeOrder({ orderId: li.orderId, report: await report({ price: pct(PX, 720n) }) });
    expect((await s.engine.position(opened.positionId)).size).to.equal(WAD / 5n);
    expect(inc.event.price).to.equal(reportQuoteOf(s.signAt(ETH_MARKET, 1, { price: pct(PX, 720n) })).bid);

    // An expiring order can be pruned by anyone once expired, not before.
    const now = await networkHelpers.time.latest();
    const tpShort = await alice.placeTakeProfit({ positionId: opened.positionId, triggerPrice: pct(PX, 500n), validUntil: now + 10 });
    await expectRejection(keeper.pruneOrder({ orderId: tpShort.orderId }), OrderStillLiveError);
    await networkHelpers.time.increase(20);
    const pruned = await keeper.pruneOrder({ orderId: tpShort.orderId });
    expect(pruned.event).to.deep.include({ orderId: tpShort.orderId, reason: "Dead" });
  });

  it("test_sdk_invalidOrders_throwNamingTheField_beforeSending", async () => {
    const id = await open(true);
    const short = await open(false);
    const nonce = await ethers.provider.getTransactionCount(s.signers.alice.address);
    const field = async (p: Promise<unknown>, name: string, message: RegExp) => {
      const e = await expectRejection(p, InvalidOrderError, message);
      expect(e.field).to.equal(name);
    };
    await field(alice.placeStopLoss({ positionId: id, triggerPrice: pct(PX, 100n) }), "trigger", /^trigger: a long's StopLoss must be below the current price/);
    await field(alice.placeTakeProfit({ positionId: id, triggerPrice: PX }), "trigger", /must be above the current price/);
    await field(alice.placeStopLoss({ positionId: id, triggerPrice: pct(PX, -100n), acceptablePrice: PX }), "acceptablePrice", /can never be met/);
    await field(alice.placeTrailingStop({ positionId: id, trailBps: 5n }), "trailBps", /10 to 5000 bps, got 5/);
    await field(alice.placeTakeProfit({ positionId: short, triggerPrice: pct(PX, -100n), acceptablePrice: 0n }), "acceptablePrice", /^acceptablePrice: a short's TakeProfit buys to close: an acceptable price of 0 can never be met/);
    await field(alice.placeTrailingStop({ positionId: short, trailBps: 500n, acceptablePrice: 0n }), "acceptablePrice", /a short's TrailingStop buys to close/);
    await field(alice.placeTrailingStop({ positionId: id, trailBps: 5_001n }), "trailBps", /got 5001/);
    await field(alice.placeLimitOpen({ market: ETH, side: "long", amount: 100n * USDC, size: WAD, limitPrice: pct(PX, 100n) }), "trigger", /a long's LimitOpen must be below/);
    await field(alice.placeLimitOpen({ market: ETH, side: "long", amount: 0n, size: WAD, limitPrice: pct(PX, -100n) }), "amount", /got 0/);
    await field(alice.placeLimitIncrease({ id, amount: USDC, sizeDelta: 0n, limitPrice: pct(PX, -100n) }), "size", /positive/);
    await field(alice.placeStopLoss({ positionId: id, triggerPrice: pct(PX, -100n), validUntil: 1 }), "validUntil", /after the latest block time/);
    await field(alice.setTopUpGuard({ id, threshold: WAD, amount: USDC, budget: 2n * USDC }), "threshold", /above 1 and at most 10/);
    await field(alice.setTopUpGuard({ id, threshold: 11n * WAD, amount: USDC, budget: 2n * USDC }), "threshold", /got 11000000000000000000/);
    await field(alice.setTopUpGuard({ id, threshold: 2n * WAD, amount: 0n, budget: 2n * USDC }), "amount", /got 0/);
    await field(alice.setTopUpGuard({ id, threshold: 2n * WAD, amount: USDC, budget: USDC, executorFee: 1n }), "budget", /at least one top-up and its fee \(1000001\)/);
    expect(await ethers.provider.getTransactionCount(s.signers.alice.address)).to.equal(nonce);
  });

  it("test_sdk_contractReverts_readAsSentences", async () => {
    const id = await open(true);
    const sl = await alice.placeStopLoss({ positionId: id, triggerPrice: pct(PX, -100n) });
    const placedAt = (await sl.receipt.getBlock()).timestamp;
    const at = s.signAt(ETH_MARKET, placedAt, { price: pct(PX, -200n) });
    await setPrice(pct(PX, -200n));
    await expectRejection(keeper.executeOrder({ orderId: sl.orderId, report: at }), ReportNotAfterOrderError, /is not after order/);
    await networkHelpers.time.increase(100);
    const old = s.signAt(ETH_MARKET, placedAt + 1, { price: pct(PX, -200n) });
    await setPrice(pct(PX, -200n));
    await expectRejection(keeper.executeOrder({ orderId: sl.orderId, report: old }), ReportTooOldError, /is more than 30s old/);
    // The quote says the same before sending.
    const q = await alice.quoteOrder({ orderId: sl.orderId, report: old });
    expect([q.due, q.fresh]).to.deep.equal([true, false]);
  });
});
