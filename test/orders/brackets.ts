// Brackets (IBulkheadOrderBook.placeBracket): a stop-loss and a take-profit on one target that
// cancel each other. The fee is split in proportion to the two kinds' execution gas; executing
// either leg cancels the other and refunds its whole fee to the owner.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, WAD, wadFromFeed } from "../helpers/fixture.js";
import {
  CancelReason,
  ORDER_FEE_GAS_PRICE,
  OrderKind,
  OrderTarget,
  bidOf,
  deployOrderSystem,
  executedOf,
  expectBookConserved,
  nextReport,
  openPosition,
  params,
  placed,
} from "../helpers/orders.js";
import { Kind, created, executeAt } from "../helpers/requests.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const STOP = 2_980n * WAD;
const TARGET = 3_020n * WAD;
const TP_GAS = 450_000n; // the stop's default is 550,000: a 55/45 split

async function system() {
  return deployOrderSystem(ethers);
}

/** Alice's long of 1 ETH (position 1) and bob's (position 2); take-profit execution gas 450,000. */
async function withPositions() {
  const s = await system();
  await openPosition(s, networkHelpers);
  await openPosition(s, networkHelpers, { account: s.signers.bob });
  await (await s.book.setExecutionGas(OrderKind.TakeProfit, TP_GAS)).wait();
  return s;
}

const stopLeg = (positionId = 1n, over: Partial<Parameters<typeof params>[0]> = {}) =>
  params({ kind: OrderKind.StopLoss, positionId, trigger: STOP, acceptablePrice: 2_900n * WAD, ...over });
const tpLeg = (positionId = 1n, over: Partial<Parameters<typeof params>[0]> = {}) => params({ kind: OrderKind.TakeProfit, positionId, trigger: TARGET, ...over });

async function bracketFees(s: Awaited<ReturnType<typeof system>>) {
  const [stop, tp] = [await s.orderFee(OrderKind.StopLoss), await s.orderFee(OrderKind.TakeProfit)];
  return { stop, tp, total: stop + tp };
}

async function withBracket() {
  const s = await withPositions();
  const fees = await bracketFees(s);
  const b = await placed(s, s.book.connect(s.signers.alice).placeBracket(stopLeg(), tpLeg(), { value: fees.total }));
  return { ...s, fees, stopId: b.ids[0]!, tpId: b.ids[1]!, placedAt: b.placedAt };
}

describe("brackets", () => {
  it("test_placeBracket_placesBothLegs_linksThem_andSplitsTheFeeInProportionToTheirExecutionGas", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { alice } = s.signers;
    const { stop, tp, total } = await bracketFees(s);
    expect(tp).to.equal(TP_GAS * ORDER_FEE_GAS_PRICE);
    // One wei more than both quotes: the stop's share rounds down, the take-profit gets the rest.
    const value = total + 1n;
    const stopFee = (value * 550_000n) / (550_000n + TP_GAS);
    expect(stopFee).to.equal(stop);
    await expect(s.book.connect(alice).placeBracket(stopLeg(), tpLeg(), { value }))
      .to.emit(s.book, "OrderPlaced")
      .withArgs(1n, alice.address, 1n, OrderKind.StopLoss, OrderTarget.Position, ETH_MARKET, true, 0n, 0n, STOP, 2_900n * WAD, stop, 0n)
      .and.to.emit(s.book, "OrderPlaced")
      .withArgs(2n, alice.address, 1n, OrderKind.TakeProfit, OrderTarget.Position, ETH_MARKET, true, 0n, 0n, TARGET, 0n, tp + 1n, 0n)
      .and.to.emit(s.book, "BracketLinked")
      .withArgs(1n, 2n);
    expect(await s.book.sibling(1n)).to.equal(2n);
    expect(await s.book.sibling(2n)).to.equal(1n);
    expect((await s.book.order(1n)).executionFee).to.equal(stop);
    expect((await s.book.order(2n)).executionFee).to.equal(tp + 1n);
    await expectBookConserved(ethers, s);
  });

  it("test_placeBracket_aFeeWhoseSplitUnderpaysALeg_revertsExecutionFeeTooLow", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { stop, total } = await bracketFees(s);
    // At the quoted gas price, one wei short of both quotes leaves the stop's share one wei short.
    const gas = { maxFeePerGas: ORDER_FEE_GAS_PRICE, maxPriorityFeePerGas: ORDER_FEE_GAS_PRICE };
    await expect(s.book.connect(s.signers.alice).placeBracket(stopLeg(), tpLeg(), { value: total - 1n, ...gas }))
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(stop - 1n, stop);
    await expect(s.book.connect(s.signers.alice).placeBracket(stopLeg(), tpLeg(), { value: total, ...gas })).to.emit(s.book, "BracketLinked");
  });

  it("test_placeBracket_legsOfTheWrongKindsOrOnDifferentTargets_revertOrderKindInvalid", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const b = s.book.connect(s.signers.alice);
    const { total } = await bracketFees(s);
    await expect(b.placeBracket(tpLeg(), tpLeg(), { value: total })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.TakeProfit, OrderTarget.Position);
    await expect(b.placeBracket(stopLeg(), stopLeg(), { value: total })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.StopLoss, OrderTarget.Position);
    await expect(b.placeBracket(tpLeg(), stopLeg(), { value: total })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.StopLoss, OrderTarget.Position);
    await expect(b.placeBracket(stopLeg(), params({ kind: OrderKind.TrailingStop, positionId: 1n, trigger: 100n }), { value: total }))
      .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
      .withArgs(OrderKind.TrailingStop, OrderTarget.Position);
    // Bob's position 2 approved to alice: both legs would be placeable alone, not as one bracket.
    await (await s.engine.connect(s.signers.bob).approve(s.signers.alice, 2n)).wait();
    await expect(b.placeBracket(stopLeg(1n), tpLeg(2n), { value: total })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.TakeProfit, OrderTarget.Position);
    await expect(b.placeBracket(stopLeg(1n), tpLeg(1n, { target: OrderTarget.OpenRequest }), { value: total }))
      .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
      .withArgs(OrderKind.TakeProfit, OrderTarget.OpenRequest);
    expect(await s.book.nextOrderId()).to.equal(1n);
  });

  it("test_executingTheStop_cancelsTheTakeProfit_reasonSibling_itsWholeFeeBackToTheOwner", async () => {
    const s = await networkHelpers.loadFixture(withBracket);
    const { alice, keeper } = s.signers;
    const eth = await ethers.provider.getBalance(alice);
    const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
    const tx = await s.book.connect(keeper).execute(s.stopId, r.report);
    await expect(tx)
      .to.emit(s.book, "OrderCancelled")
      .withArgs(s.tpId, keeper.address, CancelReason.Sibling, 0n, s.fees.tp)
      .and.to.emit(s.book, "OrderExecuted")
      .withArgs(s.stopId, keeper.address, 1n, bidOf(STOP), r.t, () => true, () => true);
    const { toExecutor, refund } = await executedOf(s, tx);
    expect(toExecutor + refund).to.equal(s.fees.stop);
    expect((await ethers.provider.getBalance(alice)) - eth).to.equal(s.fees.tp + refund);
    expect((await s.book.order(s.tpId)).kind).to.equal(OrderKind.None);
    expect([await s.book.sibling(s.stopId), await s.book.sibling(s.tpId)]).to.deep.equal([0n, 0n]);
    await expect(s.book.connect(keeper).execute(s.tpId, r.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(s.tpId);
    await expectBookConserved(ethers, s);
  });

  it("test_executingTheTakeProfit_cancelsTheStop_reasonSibling_itsWholeFeeBackToTheOwner", async () => {
    const s = await networkHelpers.loadFixture(withBracket);
    const { alice, keeper } = s.signers;
    const eth = await ethers.provider.getBalance(alice);
    const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: TARGET });
    const tx = await s.book.connect(keeper).execute(s.tpId, r.report);
    await expect(tx)
      .to.emit(s.book, "OrderCancelled")
      .withArgs(s.stopId, keeper.address, CancelReason.Sibling, 0n, s.fees.stop)
      .and.to.emit(s.book, "OrderExecuted")
      .withArgs(s.tpId, keeper.address, 1n, bidOf(TARGET), r.t, () => true, () => true);
    const { refund } = await executedOf(s, tx);
    expect((await ethers.provider.getBalance(alice)) - eth).to.equal(s.fees.stop + refund);
    expect((await s.book.order(s.stopId)).kind).to.equal(OrderKind.None);
    await expectBookConserved(ethers, s);
  });

  it("test_cancellingOneLeg_unlinksTheOther_whichThenFillsAlone", async () => {
    const s = await networkHelpers.loadFixture(withBracket);
    const { alice, keeper } = s.signers;
    await expect(s.book.connect(alice).cancel(s.stopId)).to.emit(s.book, "OrderCancelled").withArgs(s.stopId, alice.address, CancelReason.Owner, 0n, s.fees.stop);
    expect([await s.book.sibling(s.stopId), await s.book.sibling(s.tpId)]).to.deep.equal([0n, 0n]);
    const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: TARGET });
    await expect(s.book.connect(keeper).execute(s.tpId, r.report)).to.emit(s.book, "OrderExecuted").and.not.to.emit(s.book, "OrderCancelled");
    await expectBookConserved(ethers, s);
  });

  it("test_aBracketsPositionClosedByARequest_makesBothLegsPrunable", async () => {
    const s = await networkHelpers.loadFixture(withBracket);
    const { alice, bob } = s.signers;
    await expect(s.book.connect(bob).prune(s.stopId)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(s.stopId);
    const close = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
    await executeAt(s, networkHelpers, close, ETH_MARKET, { price: PX });
    await expect(s.book.connect(bob).prune(s.stopId)).to.emit(s.book, "OrderCancelled").withArgs(s.stopId, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
    expect(await s.book.sibling(s.tpId)).to.equal(0n);
    await expect(s.book.connect(bob).prune(s.tpId)).to.emit(s.book, "OrderCancelled").withArgs(s.tpId, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
    expect(await ethers.provider.getBalance(s.book)).to.equal(0n);
    await expectBookConserved(ethers, s);
  });

  it("test_aBracketOnAnOpenRequest_isLinked_andItsLegsActOnThePositionTheRequestOpens", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { alice, keeper } = s.signers;
    const req = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, true, 1_000n * 10n ** 6n, WAD, 2n ** 96n - 1n, { value: await s.fee(Kind.Open) }));
    const { total, tp } = await bracketFees(s);
    const b = await placed(
      s,
      s.book.connect(alice).placeBracket(stopLeg(req.id, { target: OrderTarget.OpenRequest }), tpLeg(req.id, { target: OrderTarget.OpenRequest }), { value: total }),
    );
    const [stopId, tpId] = b.ids as [bigint, bigint];
    expect(await s.book.sibling(stopId)).to.equal(tpId);
    await expect(executeAt(s, networkHelpers, req, ETH_MARKET, { price: PX })).to.emit(s.book, "AttachedOpenFilled").withArgs(OrderTarget.OpenRequest, req.id, 3n);
    const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
    await expect(s.book.connect(keeper).execute(stopId, r.report))
      .to.emit(s.book, "OrderCancelled")
      .withArgs(tpId, keeper.address, CancelReason.Sibling, 0n, tp)
      .and.to.emit(s.book, "OrderExecuted")
      .withArgs(stopId, keeper.address, 3n, bidOf(STOP), r.t, () => true, () => true);
    await expectBookConserved(ethers, s);
  });
});
