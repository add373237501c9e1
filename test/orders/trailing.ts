// Trailing stops (IBulkheadOrderBook.executeTrailingStop): two verified reports of the market's
// stream, both observed after placement, the peak earlier, the second fresh and at least the trail
// past the peak against the position. The fill is at the second report's bid (long) or ask (short).
import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { FEED_IDS, HALF_SPREAD_BPS, MAX_DEVIATION_BPS } from "../helpers/streams.js";
import { OrderKind, OrderTarget, deployOrderSystem, params, placed, type OrderSystem } from "../helpers/orders.js";
import { MAX_UINT96, now, openThroughRouter, pushEth } from "../helpers/guards.js";
import { expectPoolConserved } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3,000: the push feed
const TRAIL = 100n; // 1 %
const MAX_PRICE = MAX_UINT96; // ConstantsLib.MAX_PRICE
const bidOf = (p: bigint) => p - (p * HALF_SPREAD_BPS) / 10_000n;
const askOf = (p: bigint) => p + (p * HALF_SPREAD_BPS) / 10_000n;
// A long's peak and the price exactly the trail below it: 3,030 x 0.99 = 2,999.7, within 1 % of the push feed.
const LONG_PEAK = 3_030n * WAD;
const LONG_AT = (LONG_PEAK * (10_000n - TRAIL)) / 10_000n;
// A short's low and the price exactly the trail above it: 2,970 x 1.01 = 2,999.7.
const SHORT_PEAK = 2_970n * WAD;
const SHORT_AT = (SHORT_PEAK * (10_000n + TRAIL)) / 10_000n;

/** Alice's long (1 ETH, position 1) and Bob's short (1 ETH, position 2), both at 3,000. */
async function positions() {
  const s = await deployOrderSystem(ethers);
  await openThroughRouter(s, networkHelpers, s.signers.alice, { isLong: true, amount: 1_000n * USDC, size: WAD, price: PX });
  await openThroughRouter(s, networkHelpers, s.signers.bob, { isLong: false, amount: 1_000n * USDC, size: WAD, price: PX });
  return s;
}

async function placeTrailing(
  s: OrderSystem,
  o: { positionId?: bigint; trail?: bigint; acceptable?: bigint; size?: bigint; isLong?: boolean } = {},
) {
  const isLong = o.isLong ?? true;
  const trader = isLong ? s.signers.alice : s.signers.bob;
  return placed(
    s,
    s.book.connect(trader).place(
      params({
        kind: OrderKind.TrailingStop,
        positionId: o.positionId ?? (isLong ? 1n : 2n),
        trigger: o.trail ?? TRAIL,
        acceptablePrice: o.acceptable ?? (isLong ? 0n : MAX_UINT96),
        size: o.size ?? 0n,
      }),
      { value: await s.orderFee(OrderKind.TrailingStop) },
    ),
  );
}

/** A trailing stop on Alice's long placed at `placedAt`, its peak report at +1 and second at +2, executed at +3. */
async function longTrailing(over: { trail?: bigint; acceptable?: bigint; size?: bigint } = {}) {
  const s = await networkHelpers.loadFixture(positions);
  const o = await placeTrailing(s, over);
  await networkHelpers.time.setNextBlockTimestamp(o.placedAt + 3n);
  return { s, o, peakAt: o.placedAt + 1n, at: o.placedAt + 2n };
}

describe("trailing stops", () => {
  describe("fills", () => {
    it("test_trailingStop_long_fillsAtTheSecondReportsBid_exactlyAtTheTrailBoundary_andClosesThePosition", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      expect(LONG_AT * 10_000n).to.equal(LONG_PEAK * (10_000n - TRAIL)); // the boundary itself, no rounding
      const before = await s.token.balanceOf(s.signers.alice);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, s.signers.keeper.address, 1n, bidOf(LONG_AT), at, (v: bigint) => v > 0n, (v: bigint) => v > 0n)
        .and.to.emit(s.engine, "PositionDecreased");
      expect((await s.engine.position(1n)).size).to.equal(0n);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.None);
      expect((await s.token.balanceOf(s.signers.alice)) - before).to.be.greaterThan(0n);
      expect((await s.engine.position(2n)).size).to.equal(WAD); // Bob's short is untouched
      await expectPoolConserved(s);
    });

    it("test_trailingStop_long_oneWeiAboveTheBoundary_revertsTrailNotReached_andTheOrderStays", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT + 1n })))
        .to.be.revertedWithCustomError(s.book, "TrailNotReached")
        .withArgs(o.id, LONG_PEAK, LONG_AT + 1n, TRAIL);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.TrailingStop);
    });

    it("test_trailingStop_short_fillsAtTheSecondReportsAsk_exactlyAtTheTrailAboveTheLow_oneWeiBelowReverts", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const o = await placeTrailing(s, { isLong: false });
      const [peakAt, at] = [o.placedAt + 1n, o.placedAt + 2n];
      expect(SHORT_AT * 10_000n).to.equal(SHORT_PEAK * (10_000n + TRAIL));
      await networkHelpers.time.setNextBlockTimestamp(o.placedAt + 3n);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: SHORT_PEAK }), s.signAt(ETH_MARKET, at, { price: SHORT_AT - 1n })))
        .to.be.revertedWithCustomError(s.book, "TrailNotReached")
        .withArgs(o.id, SHORT_PEAK, SHORT_AT - 1n, TRAIL);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: SHORT_PEAK }), s.signAt(ETH_MARKET, at, { price: SHORT_AT })))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, s.signers.keeper.address, 2n, askOf(SHORT_AT), at, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect((await s.engine.position(2n)).size).to.equal(0n);
      expect((await s.engine.position(1n)).size).to.equal(WAD);
      await expectPoolConserved(s);
    });

    it("test_trailingStop_theOldPeakMayBeFarFromThePushFeedAndExpired_onlyTheSecondIsLive", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const o = await placeTrailing(s);
      const peakAt = o.placedAt + 1n;
      // Two hours later (past the peak report's own expiry and the feed's heartbeat): the peak at
      // 4,000 was a third above today's push feed, and would never pass as a live report.
      await networkHelpers.time.increaseTo(peakAt + 7_200n);
      await pushEth(s, PX);
      const at = await now(networkHelpers);
      const peak = s.signAt(ETH_MARKET, peakAt, { price: 4_000n * WAD });
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, peak, peak))
        .to.be.revertedWithCustomError(s.oracle, "ReportExpired");
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, peak, s.signAt(ETH_MARKET, at, { price: PX })))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, s.signers.keeper.address, 1n, bidOf(PX), at, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
    });

    it("test_trailingStop_partial_takesOffItsSize_andLeavesTheRestOpen", async () => {
      const { s, o, peakAt, at } = await longTrailing({ size: WAD / 4n });
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, s.signers.keeper.address, 1n, bidOf(LONG_AT), at, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      const p = await s.engine.position(1n);
      expect(p.size).to.equal((WAD * 3n) / 4n);
      expect(await s.engine.ownerOf(1n)).to.equal(s.signers.alice.address);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.None);
      await expectPoolConserved(s);
    });

    it("test_trailingStop_aFillPastTheAcceptablePrice_revertsFillPastAcceptablePrice_andTheOrderStays", async () => {
      const acceptable = 2_999n * WAD; // above the 2,999.7 report's bid of 2,998.2
      const { s, o, peakAt, at } = await longTrailing({ acceptable });
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.book, "FillPastAcceptablePrice")
        .withArgs(o.id, acceptable, bidOf(LONG_AT));
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.TrailingStop);
      expect((await s.engine.position(1n)).size).to.equal(WAD);
    });
  });

  describe("reports that do not prove the trail", () => {
    it("test_trailingStop_aPeakObservedAtOrBeforePlacement_revertsReportNotAfterOrder", async () => {
      const { s, o, at } = await longTrailing();
      for (const peakAt of [o.placedAt - 5n, o.placedAt]) {
        await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
          .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
          .withArgs(o.id, peakAt, o.placedAt);
      }
    });

    it("test_trailingStop_aPeakObservedAtOrAfterTheSecondReport_revertsTrailingReportsOutOfOrder", async () => {
      const { s, o, at } = await longTrailing();
      for (const peakAt of [at, at + 1n]) {
        await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
          .to.be.revertedWithCustomError(s.book, "TrailingReportsOutOfOrder")
          .withArgs(peakAt, at);
      }
    });

    it("test_trailingStop_aSecondReportOlderThanMaxReportAge_revertsReportTooOld", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const o = await placeTrailing(s);
      const [peakAt, at] = [o.placedAt + 1n, o.placedAt + 2n];
      const age = await s.book.maxReportAge();
      const reports = [s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })] as const;
      await networkHelpers.time.setNextBlockTimestamp(at + age + 1n);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, ...reports))
        .to.be.revertedWithCustomError(s.book, "ReportTooOld")
        .withArgs(at, age, at + age + 1n);
    });

    it("test_trailingStop_theSecondReportAtMaxReportAge_stillFills", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const o = await placeTrailing(s);
      const [peakAt, at] = [o.placedAt + 1n, o.placedAt + 2n];
      const age = await s.book.maxReportAge();
      await networkHelpers.time.setNextBlockTimestamp(at + age);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.emit(s.book, "OrderExecuted");
    });

    it("test_trailingStop_aSecondReportBeyondThePushFeedDeviation_revertsReportDeviatesFromFeed", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      const far = 2_960n * WAD; // 1.33 % below the 3,000 push feed
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: far })))
        .to.be.revertedWithCustomError(s.oracle, "ReportDeviatesFromFeed")
        .withArgs(far, PX, MAX_DEVIATION_BPS);
    });

    it("test_trailingStop_aPeakOfAnotherStream_revertsReportFeedMismatch", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(BTC_MARKET, peakAt, { price: 70_000n * WAD }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.oracle, "ReportFeedMismatch")
        .withArgs(FEED_IDS[0], FEED_IDS[1]);
    });

    it("test_editTrailingStop_restartsTheProof_aPeakFromBeforeTheEditIsRefused_andTheNewTrailIsChecked", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const o = await placeTrailing(s);
      const peakAt = o.placedAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(peakAt + 1n);
      await expect(s.book.connect(s.signers.alice).edit(o.id, 0n, 5_001n, 0n, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs("trailBps", 5_001n, 10n, 5_000n);
      const editedAt = peakAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(editedAt);
      await (await s.book.connect(s.signers.alice).edit(o.id, 0n, 50n, 0n, 0n)).wait();
      const at = editedAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(at + 1n);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(o.id, peakAt, editedAt);
      // After the edit the 0.5 % trail: 3,015 -> 2,999.925 is due, one wei more is not.
      const peak = 3_015n * WAD;
      const due = (peak * 9_950n) / 10_000n;
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, at, { price: peak }), s.signAt(ETH_MARKET, at + 1n, { price: due + 1n })))
        .to.be.revertedWithCustomError(s.book, "TrailNotReached")
        .withArgs(o.id, peak, due + 1n, 50n);
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, at, { price: peak }), s.signAt(ETH_MARKET, at + 1n, { price: due })))
        .to.emit(s.book, "OrderExecuted");
    });

    it("test_attack_executorHoldingReportsFromBeforePlacement_cannotTriggerItEarly", async () => {
      // A keeper kept a report of a 3,100 high from before Alice placed her 2 % trailing stop; the
      // market has been at 3,000 since. 3,000 <= 3,100 x 0.98 = 3,038: "far enough" from that
      // high, but the high since placement is 3,000, so the stop is not due.
      const s = await networkHelpers.loadFixture(positions);
      const oldAt = (await now(networkHelpers)) + 1n;
      await networkHelpers.time.increaseTo(oldAt + 5n);
      const oldPeak = s.signAt(ETH_MARKET, oldAt, { price: 3_100n * WAD });
      const o = await placeTrailing(s, { trail: 200n });
      await networkHelpers.time.increase(10);
      const at = await now(networkHelpers);
      const fresh = s.signAt(ETH_MARKET, at, { price: PX });
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, oldPeak, fresh))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(o.id, oldAt, o.placedAt);
      // Every pair of reports observed since placement, at the prices the market really had, falls short.
      for (const peakAt of [o.placedAt + 1n, at - 1n]) {
        await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: PX }), fresh))
          .to.be.revertedWithCustomError(s.book, "TrailNotReached")
          .withArgs(o.id, PX, PX, 200n);
      }
      expect((await s.engine.position(1n)).size).to.equal(WAD);
    });
  });

  describe("kinds and bounds", () => {
    it("test_placeTrailingStop_aTrailOutsideItsBounds_revertsParameterOutOfBounds_theBoundsThemselvesPlace", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const fee = await s.orderFee(OrderKind.TrailingStop);
      for (const trail of [0n, 9n, 5_001n]) {
        await expect(s.book.connect(s.signers.alice).place(params({ kind: OrderKind.TrailingStop, positionId: 1n, trigger: trail }), { value: fee }))
          .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
          .withArgs("trailBps", trail, 10n, 5_000n);
      }
      for (const trail of [10n, 5_000n]) {
        const o = await placeTrailing(s, { trail });
        const stored = await s.book.order(o.id);
        expect([stored.kind, stored.trigger, stored.isLong, stored.observedAfter]).to.deep.equal([OrderKind.TrailingStop, trail, true, o.placedAt]);
      }
    });

    it("test_placeTrailingStop_storesTheAcceptablePriceCappedAtMaxPrice_andEmitsOrderPlaced", async () => {
      const s = await networkHelpers.loadFixture(positions);
      const fee = await s.orderFee(OrderKind.TrailingStop);
      await expect(s.book.connect(s.signers.bob).place(params({ kind: OrderKind.TrailingStop, positionId: 2n, trigger: TRAIL, acceptablePrice: ethers.MaxUint256 }), { value: fee }))
        .to.emit(s.book, "OrderPlaced")
        .withArgs(1n, s.signers.bob.address, 2n, OrderKind.TrailingStop, OrderTarget.Position, ETH_MARKET, false, 0n, 0n, TRAIL, MAX_PRICE, fee, 0n);
    });

    it("test_execute_aTrailingStop_revertsOrderKindInvalid_andExecuteTrailingStop_aStopLoss_too", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      await expect(s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
        .withArgs(OrderKind.TrailingStop, OrderTarget.Position);
      const stop = await placed(
        s,
        s.book.connect(s.signers.alice).place(params({ kind: OrderKind.StopLoss, positionId: 1n, trigger: 2_990n * WAD, acceptablePrice: 2_900n * WAD }), { value: await s.orderFee(OrderKind.StopLoss) }),
      );
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(stop.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
        .withArgs(OrderKind.StopLoss, OrderTarget.Position);
    });

    it("test_executeTrailingStop_onAPositionNoLongerTheOwners_revertsOrderPositionGone", async () => {
      const { s, o, peakAt, at } = await longTrailing();
      await (await s.engine.connect(s.signers.alice).transferFrom(s.signers.alice, s.signers.carol, 1n)).wait();
      await expect(s.book.connect(s.signers.keeper).executeTrailingStop(o.id, s.signAt(ETH_MARKET, peakAt, { price: LONG_PEAK }), s.signAt(ETH_MARKET, at, { price: LONG_AT })))
        .to.be.revertedWithCustomError(s.book, "OrderPositionGone")
        .withArgs(o.id, 1n);
    });
  });
});
