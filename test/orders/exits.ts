// Stop-loss and take-profit orders (IBulkheadOrderBook, DESIGN.md "Orders (v2)"): placed on their
// side of the push price, triggered by a verified report's benchmark price observed after the order
// and fresh at execution, filled at the bid (long) or ask (short) within the acceptable price; an
// order whose position is gone can never fill.
import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, BTC_PRICE, ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import {
  OrderKind,
  OrderTarget,
  askOf,
  bidOf,
  deployOrderSystem,
  expectBookConserved,
  nextReport,
  openPosition,
  params,
  placeOrder,
  setPushPrice,
} from "../helpers/orders.js";
import { Kind, created, executeAt } from "../helpers/requests.js";
import { FEED_IDS, MAX_DEVIATION_BPS } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18, the push price
const BELOW = 2_980n * WAD; // a long's stop, a short's take-profit
const ABOVE = 3_020n * WAD; // a long's take-profit, a short's stop
const MAX_UINT96 = 2n ** 96n - 1n;
const MAX_UINT32 = 2n ** 32n - 1n;

async function system() {
  return deployOrderSystem(ethers);
}

/** Alice's long (position 1) and short (position 2), 1 ETH with 1,000 USDC each, at the push price. */
async function withPositions() {
  const s = await system();
  await openPosition(s, networkHelpers);
  await openPosition(s, networkHelpers, { isLong: false });
  return s;
}

const longStop = (over: Partial<Parameters<typeof params>[0]> = {}) =>
  ({ kind: OrderKind.StopLoss, positionId: 1n, trigger: BELOW, acceptablePrice: 2_900n * WAD, ...over });

async function closeByRequest(s: Awaited<ReturnType<typeof system>>, positionId: bigint) {
  const r = await created(s, s.router.connect(s.signers.alice).requestClose(positionId, 0n, { value: await s.fee(Kind.Close) }));
  await executeAt(s, networkHelpers, r, ETH_MARKET, { price: PX });
}

describe("stop-loss and take-profit orders", () => {
  describe("placement", () => {
    it("test_placeStopLoss_storesAndEmitsEveryField_andEscrowsOnlyItsFee", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const fee = await s.orderFee(OrderKind.StopLoss);
      const tokens = await s.token.balanceOf(alice);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(s.book.connect(alice).place(params(longStop({ size: WAD / 2n, validUntil: t + 60n })), { value: fee }))
        .to.emit(s.book, "OrderPlaced")
        .withArgs(1n, alice.address, 1n, OrderKind.StopLoss, OrderTarget.Position, ETH_MARKET, true, 0n, WAD / 2n, BELOW, 2_900n * WAD, fee, t + 60n);
      const o = await s.book.order(1n);
      expect([o.owner, o.kind, o.isLong, o.marketId, o.positionId, o.observedAfter, o.target, o.trigger, o.acceptablePrice, o.executionFee, o.size, o.amount, o.validUntil]).to.deep.equal([
        alice.address, OrderKind.StopLoss, true, ETH_MARKET, 1n, t, OrderTarget.Position, BELOW, 2_900n * WAD, fee, WAD / 2n, 0n, t + 60n,
      ]);
      expect(await s.token.balanceOf(alice)).to.equal(tokens);
      expect(await ethers.provider.getBalance(s.book)).to.equal(fee);
      await expectBookConserved(ethers, s);
    });

    it("test_placeShortStop_anAcceptablePriceAboveThePriceRange_isStoredAsTheHighestPrice", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const fee = await s.orderFee(OrderKind.StopLoss);
      await expect(s.book.connect(s.signers.alice).place(params({ kind: OrderKind.StopLoss, positionId: 2n, trigger: ABOVE, acceptablePrice: ethers.MaxUint256 }), { value: fee }))
        .to.emit(s.book, "OrderPlaced")
        .withArgs(1n, s.signers.alice.address, 2n, OrderKind.StopLoss, OrderTarget.Position, ETH_MARKET, false, 0n, 0n, ABOVE, MAX_UINT96, fee, 0n);
      expect((await s.book.order(1n)).acceptablePrice).to.equal(MAX_UINT96);
    });

    it("test_placeExit_atOrOnTheWrongSideOfThePushPrice_revertsTriggerOnWrongSide_longAndShort", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.StopLoss);
      const cases: [bigint, bigint, boolean, bigint][] = [
        [OrderKind.StopLoss, 1n, true, PX],
        [OrderKind.StopLoss, 1n, true, PX + 1n],
        [OrderKind.TakeProfit, 1n, true, PX],
        [OrderKind.TakeProfit, 1n, true, PX - 1n],
        [OrderKind.StopLoss, 2n, false, PX],
        [OrderKind.StopLoss, 2n, false, PX - 1n],
        [OrderKind.TakeProfit, 2n, false, PX],
        [OrderKind.TakeProfit, 2n, false, PX + 1n],
      ];
      for (const [kind, positionId, isLong, trigger] of cases) {
        await expect(b.place(params({ kind, positionId, trigger, acceptablePrice: isLong ? 0n : MAX_UINT96 }), { value }))
          .to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide")
          .withArgs(kind, isLong, trigger, PX);
      }
      // One wei on the side where each waits is accepted.
      for (const [kind, positionId, trigger] of [
        [OrderKind.StopLoss, 1n, PX - 1n],
        [OrderKind.TakeProfit, 1n, PX + 1n],
        [OrderKind.StopLoss, 2n, PX + 1n],
        [OrderKind.TakeProfit, 2n, PX - 1n],
      ]) {
        await expect(b.place(params({ kind, positionId, trigger, acceptablePrice: positionId === 1n ? 0n : MAX_UINT96 }), { value })).to.emit(s.book, "OrderPlaced");
      }
    });

    it("test_placeStopLoss_anAcceptablePriceTheFillCanNeverMeet_revertsAcceptablePriceUnreachable", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.StopLoss);
      // A long's stop sells at the bid, at most the trigger; a short's buys at the ask, at least it.
      await expect(b.place(params(longStop({ acceptablePrice: BELOW + 1n })), { value }))
        .to.be.revertedWithCustomError(s.book, "AcceptablePriceUnreachable")
        .withArgs(BELOW, BELOW + 1n);
      await expect(b.place(params({ kind: OrderKind.StopLoss, positionId: 2n, trigger: ABOVE, acceptablePrice: ABOVE - 1n }), { value }))
        .to.be.revertedWithCustomError(s.book, "AcceptablePriceUnreachable")
        .withArgs(ABOVE, ABOVE - 1n);
      await expect(b.place(params(longStop({ acceptablePrice: BELOW })), { value })).to.emit(s.book, "OrderPlaced");
      await expect(b.place(params({ kind: OrderKind.StopLoss, positionId: 2n, trigger: ABOVE, acceptablePrice: ABOVE }), { value })).to.emit(s.book, "OrderPlaced");
    });

    it("test_placeExit_aShortsBuyingExitWithAcceptablePriceZero_revertsAcceptablePriceUnreachable", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const b = s.book.connect(s.signers.alice);
      // A short's take-profit and trailing stop buy at the ask: a bound of 0 never fills, so it is
      // refused at placement rather than standing unexecutable; a long's 0 (a seller's) is no bound.
      await expect(b.place(params({ kind: OrderKind.TakeProfit, positionId: 2n, trigger: BELOW, acceptablePrice: 0n }), { value: await s.orderFee(OrderKind.TakeProfit) }))
        .to.be.revertedWithCustomError(s.book, "AcceptablePriceUnreachable")
        .withArgs(BELOW, 0n);
      await expect(b.place(params({ kind: OrderKind.TrailingStop, positionId: 2n, trigger: 500n, acceptablePrice: 0n }), { value: await s.orderFee(OrderKind.TrailingStop) }))
        .to.be.revertedWithCustomError(s.book, "AcceptablePriceUnreachable")
        .withArgs(500n, 0n);
      await expect(b.place(params({ kind: OrderKind.TrailingStop, positionId: 1n, trigger: 500n, acceptablePrice: 0n }), { value: await s.orderFee(OrderKind.TrailingStop) }))
        .to.emit(s.book, "OrderPlaced");
      await expect(b.place(params({ kind: OrderKind.TakeProfit, positionId: 2n, trigger: BELOW, acceptablePrice: 1n }), { value: await s.orderFee(OrderKind.TakeProfit) }))
        .to.emit(s.book, "OrderPlaced");
    });

    it("test_placeExit_aZeroTrigger_anAmount_orValuesPastTheirStorage_revert", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.TakeProfit);
      await expect(b.place(params(longStop({ trigger: 0n, acceptablePrice: 0n })), { value })).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      // An exit escrows nothing.
      await expect(b.place(params(longStop({ amount: 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(1n, 0n);
      await expect(b.place(params({ kind: OrderKind.TakeProfit, positionId: 1n, trigger: MAX_UINT96 + 1n }), { value }))
        .to.be.revertedWithCustomError(s.book, "AmountTooLarge")
        .withArgs(MAX_UINT96 + 1n, MAX_UINT96);
      await expect(b.place(params(longStop({ positionId: MAX_UINT32 + 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(MAX_UINT32 + 1n, MAX_UINT32);
      await expect(b.place(params(longStop({ validUntil: MAX_UINT32 + 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(MAX_UINT32 + 1n, MAX_UINT32);
      await expect(b.place(params(longStop({ size: 2n ** 128n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(2n ** 128n, 2n ** 128n - 1n);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(b.place(params(longStop({ validUntil: t - 1n })), { value })).to.be.revertedWithCustomError(s.book, "ValidUntilInPast").withArgs(t - 1n, t);
    });
  });

  describe("execution", () => {
    it("test_executeLongStopLoss_closesTheWholePositionAtTheBid_onceTheBenchmarkIsAtTheStop", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, longStop());
      const not = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW + 1n });
      await expect(s.book.connect(keeper).execute(o.id, not.report)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(o.id, BELOW, BELOW + 1n);
      const tokens = await s.token.balanceOf(alice);
      const at = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      const tx = await s.book.connect(keeper).execute(o.id, at.report);
      await expect(tx)
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD, bidOf(BELOW), () => true, () => true, () => true, () => true, 0n, () => true, () => true)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, bidOf(BELOW), at.t, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      const receipt = (await tx.wait())!;
      const ev = receipt.logs.map((l) => { try { return s.engine.interface.parseLog(l); } catch { return null; } }).find((p) => p?.name === "PositionDecreased")!;
      expect((await s.token.balanceOf(alice)) - tokens).to.equal(ev.args.payout as bigint);
      expect((await s.engine.position(1n)).size).to.equal(0n);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.None);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLongTakeProfit_closesAtTheBid_onceTheBenchmarkIsAtTheTarget", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, { kind: OrderKind.TakeProfit, positionId: 1n, trigger: ABOVE });
      const not = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE - 1n });
      await expect(s.book.connect(keeper).execute(o.id, not.report)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(o.id, ABOVE, ABOVE - 1n);
      const at = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE });
      await expect(s.book.connect(keeper).execute(o.id, at.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD, bidOf(ABOVE), (v: bigint) => v > 0n, () => true, () => true, () => true, 0n, () => true, () => true)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, bidOf(ABOVE), at.t, () => true, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_executeShortStopLossAndTakeProfit_closeAtTheAsk", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const stop = await placeOrder(s, alice, { kind: OrderKind.StopLoss, positionId: 2n, trigger: ABOVE, acceptablePrice: MAX_UINT96 });
      const notStop = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE - 1n });
      await expect(s.book.connect(keeper).execute(stop.id, notStop.report)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(stop.id, ABOVE, ABOVE - 1n);
      const atStop = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE });
      await expect(s.book.connect(keeper).execute(stop.id, atStop.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(2n, alice.address, WAD, askOf(ABOVE), (v: bigint) => v < 0n, () => true, () => true, () => true, 0n, () => true, () => true);
      const third = await openPosition(s, networkHelpers, { isLong: false });
      const tp = await placeOrder(s, alice, { kind: OrderKind.TakeProfit, positionId: third, trigger: BELOW, acceptablePrice: MAX_UINT96 });
      const notTp = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW + 1n });
      await expect(s.book.connect(keeper).execute(tp.id, notTp.report)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(tp.id, BELOW, BELOW + 1n);
      const atTp = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(keeper).execute(tp.id, atTp.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(third, alice.address, WAD, askOf(BELOW), (v: bigint) => v > 0n, () => true, () => true, () => true, 0n, () => true, () => true)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(tp.id, keeper.address, third, askOf(BELOW), atTp.t, () => true, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_executeExit_aPartialSizeDecreases_aSizeAtLeastThePositionsCloses", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const half = await placeOrder(s, alice, longStop({ size: WAD / 2n }));
      const more = await placeOrder(s, alice, { kind: OrderKind.TakeProfit, positionId: 1n, size: 2n * WAD, trigger: ABOVE });
      const down = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(keeper).execute(half.id, down.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD / 2n, bidOf(BELOW), () => true, () => true, () => true, () => true, WAD / 2n, () => true, () => true);
      expect((await s.engine.position(1n)).size).to.equal(WAD / 2n);
      const up = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE });
      await expect(s.book.connect(keeper).execute(more.id, up.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD / 2n, bidOf(ABOVE), () => true, () => true, () => true, () => true, 0n, () => true, () => true);
      expect(await s.engine.balanceOf(alice)).to.equal(1n); // the short only
      await expectBookConserved(ethers, s);
    });

    it("test_executeStopLoss_aFillPastItsAcceptablePrice_revertsFillPastAcceptablePrice_theOrderStays_andFillsOnABetterReport", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const acceptable = bidOf(BELOW) + 1n;
      const o = await placeOrder(s, alice, longStop({ acceptablePrice: acceptable }));
      const gap = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(keeper).execute(o.id, gap.report))
        .to.be.revertedWithCustomError(s.book, "FillPastAcceptablePrice")
        .withArgs(o.id, acceptable, bidOf(BELOW));
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.StopLoss);
      const better = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW, bid: acceptable });
      await expect(s.book.connect(keeper).execute(o.id, better.report))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, acceptable, better.t, () => true, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_executeShortStopLoss_anAskPastItsAcceptablePrice_revertsFillPastAcceptablePrice", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const acceptable = askOf(ABOVE) - 1n;
      const o = await placeOrder(s, s.signers.alice, { kind: OrderKind.StopLoss, positionId: 2n, trigger: ABOVE, acceptablePrice: acceptable });
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report))
        .to.be.revertedWithCustomError(s.book, "FillPastAcceptablePrice")
        .withArgs(o.id, acceptable, askOf(ABOVE));
    });
    it("test_anOrderOnTheSecondMarket_fillsOnItsOwnStream_andRefusesTheFirstMarketsReport", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const btc = wadFromFeed(BTC_PRICE);
      const id = await openPosition(s, networkHelpers, { marketId: BTC_MARKET, size: WAD / 20n });
      const stop = (btc * 99n) / 100n + WAD;
      const o = await placeOrder(s, alice, { kind: OrderKind.StopLoss, positionId: id, trigger: stop, acceptablePrice: 0n });
      const eth = await nextReport(s, networkHelpers, ETH_MARKET, { price: PX });
      await expect(s.book.connect(keeper).execute(o.id, eth.report)).to.be.revertedWithCustomError(s.oracle, "ReportFeedMismatch").withArgs(FEED_IDS[1], FEED_IDS[0]);
      const r = await nextReport(s, networkHelpers, BTC_MARKET, { price: stop });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(id, alice.address, WAD / 20n, bidOf(stop), () => true, () => true, () => true, () => true, 0n, () => true, () => true);
      await expectBookConserved(ethers, s);
    });
  });

  describe("reports an order does not fill at", () => {
    it("test_execute_aCrossingReportObservedAtOrBeforePlacement_revertsReportNotAfterOrder_soAStaleCrossingCannotBeReplayed", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const early = BigInt(await networkHelpers.time.latest());
      const before = s.signAt(ETH_MARKET, early, { price: BELOW - WAD });
      const o = await placeOrder(s, s.signers.alice, longStop());
      const at = s.signAt(ETH_MARKET, o.placedAt, { price: BELOW - WAD });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, before))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(o.id, early, o.placedAt);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, at))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(o.id, o.placedAt, o.placedAt);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, o.placedAt + 1n, { price: BELOW - WAD }))).to.emit(s.book, "OrderExecuted");
    });

    it("test_execute_aReportOlderThanMaxReportAge_revertsReportTooOld_atTheAgeItFills", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop());
      const t = o.placedAt + 1n;
      const report = s.signAt(ETH_MARKET, t, { price: BELOW });
      expect(await s.book.maxReportAge()).to.equal(30n);
      await networkHelpers.time.setNextBlockTimestamp(t + 31n);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, report)).to.be.revertedWithCustomError(s.book, "ReportTooOld").withArgs(t, 30n, t + 31n);
      const late = await placeOrder(s, s.signers.alice, longStop());
      const t2 = late.placedAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t2 + 30n);
      await expect(s.book.connect(s.signers.keeper).execute(late.id, s.signAt(ETH_MARKET, t2, { price: BELOW }))).to.emit(s.book, "OrderExecuted");
      await expectBookConserved(ethers, s);
    });

    it("test_execute_aReportOfAnotherMarketsStream_revertsReportFeedMismatch", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop());
      const r = await nextReport(s, networkHelpers, BTC_MARKET, { price: wadFromFeed(BTC_PRICE) });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report))
        .to.be.revertedWithCustomError(s.oracle, "ReportFeedMismatch")
        .withArgs(FEED_IDS[0], FEED_IDS[1]);
    });

    it("test_execute_aReportFartherFromThePushFeedThanTheStreamsDeviation_revertsReportDeviatesFromFeed", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop());
      const edge = PX - (PX * MAX_DEVIATION_BPS) / 10_000n;
      const far = await nextReport(s, networkHelpers, ETH_MARKET, { price: edge - 1n });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, far.report))
        .to.be.revertedWithCustomError(s.oracle, "ReportDeviatesFromFeed")
        .withArgs(edge - 1n, PX, MAX_DEVIATION_BPS);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: edge });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.emit(s.book, "OrderExecuted");
    });

    it("test_execute_anExpiredReport_bidAboveAsk_orAForeignSigner_revertInTheOracleOrTheVerifier", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop());
      const t = o.placedAt + 1n;
      const expiring = s.signAt(ETH_MARKET, t, { price: BELOW }, { expiresAt: Number(t) + 5 });
      await networkHelpers.time.setNextBlockTimestamp(t + 6n);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, expiring)).to.be.revertedWithCustomError(s.oracle, "ReportExpired").withArgs(t + 5n, t + 6n);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, t, { price: BELOW, bid: BELOW + 1n, ask: BELOW + 2n })))
        .to.be.revertedWithCustomError(s.oracle, "ReportPricesInvalid")
        .withArgs(BELOW + 1n, BELOW, BELOW + 2n);
      const stranger = new ethers.SigningKey(ethers.keccak256(ethers.toUtf8Bytes("not an oracle")));
      const forged = s.sign(s.report(ETH_MARKET, t, { price: BELOW }), { keys: [s.oracleSet.keys[0]!, stranger] });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, forged)).to.be.revertedWithCustomError(s.verifier, "BadVerification");
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.StopLoss);
    });

    it("test_execute_afterValidUntil_revertsOrderExpired_atValidUntilItFills", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      const validUntil = BigInt(await networkHelpers.time.latest()) + 100n;
      const a = await placeOrder(s, alice, longStop({ size: WAD / 4n, validUntil }));
      const b = await placeOrder(s, alice, longStop({ size: WAD / 4n, validUntil }));
      await networkHelpers.time.setNextBlockTimestamp(validUntil);
      await expect(s.book.connect(keeper).execute(a.id, s.signAt(ETH_MARKET, validUntil - 1n, { price: BELOW }))).to.emit(s.book, "OrderExecuted");
      await networkHelpers.time.setNextBlockTimestamp(validUntil + 1n);
      await expect(s.book.connect(keeper).execute(b.id, s.signAt(ETH_MARKET, validUntil, { price: BELOW })))
        .to.be.revertedWithCustomError(s.book, "OrderExpired")
        .withArgs(b.id, validUntil, validUntil + 1n);
      await expectBookConserved(ethers, s);
    });

    it("test_execute_aSecondTime_withTheSameOrAnotherReport_revertsOrderNotFound", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop({ size: WAD / 2n }));
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await (await s.book.connect(s.signers.keeper).execute(o.id, r.report)).wait();
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(o.id);
      const again = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW - WAD });
      await expect(s.book.connect(s.signers.bob).execute(o.id, again.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(o.id);
      expect((await s.engine.position(1n)).size).to.equal(WAD / 2n);
      await expect(s.book.execute(99n, again.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(99n);
      await expectBookConserved(ethers, s);
    });
  });

  describe("an order whose position is gone", () => {
    it("test_execute_onAPositionClosedByARequest_revertsOrderPositionGone", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const o = await placeOrder(s, s.signers.alice, longStop());
      await closeByRequest(s, 1n);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 1n);
      await expectBookConserved(ethers, s);
    });

    it("test_execute_onALiquidatedPosition_revertsOrderPositionGone", async () => {
      const s = await networkHelpers.loadFixture(system);
      // 1 ETH on 100 USDC: liquidatable about 65 USDC below its entry.
      const id = await openPosition(s, networkHelpers, { amount: 100n * USDC });
      const o = await placeOrder(s, s.signers.alice, { kind: OrderKind.TakeProfit, positionId: id, trigger: ABOVE });
      await setPushPrice(s, ETH_MARKET, 2_900n * WAD);
      await expect(s.engine.connect(s.signers.keeper).liquidate(id)).to.emit(s.engine, "PositionLiquidated");
      await setPushPrice(s, ETH_MARKET, PX);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: ABOVE });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, id);
      await expectBookConserved(ethers, s);
    });

    it("test_execute_afterThePositionWasTransferred_revertsOrderPositionGone_andTheNewOwnersOrderFills", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, bob, keeper } = s.signers;
      const old = await placeOrder(s, alice, longStop());
      await (await s.engine.connect(alice).transferFrom(alice, bob, 1n)).wait();
      const mine = await placeOrder(s, bob, longStop());
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(keeper).execute(old.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(old.id, 1n);
      const tokens = await s.token.balanceOf(bob);
      await expect(s.book.connect(keeper).execute(mine.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, bob.address, WAD, bidOf(BELOW), () => true, () => true, () => true, () => true, 0n, () => true, () => true);
      expect(await s.token.balanceOf(bob)).to.be.greaterThan(tokens);
      await expectBookConserved(ethers, s);
    });

    it("test_anApprovedAccountsStop_closesTheOwnersPosition_andPaysTheOwner_untilTheApprovalIsRevoked", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, carol, keeper } = s.signers;
      await (await s.engine.connect(alice).approve(carol, 1n)).wait();
      const byCarol = await placeOrder(s, carol, longStop({ size: WAD / 2n }));
      const revoked = await placeOrder(s, carol, longStop({ size: WAD / 2n }));
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: BELOW });
      await expect(s.book.connect(keeper).execute(byCarol.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD / 2n, bidOf(BELOW), () => true, () => true, () => true, () => true, WAD / 2n, () => true, () => true);
      await (await s.engine.connect(alice).approve(ethers.ZeroAddress, 1n)).wait();
      await expect(s.book.connect(keeper).execute(revoked.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(revoked.id, 1n);
      await expectBookConserved(ethers, s);
    });
  });
});
