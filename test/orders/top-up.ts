// Automatic top-up guards (IBulkheadOrderBook.setTopUpGuard / executeTopUp): anyone may move the
// guard's amount from the owner's wallet into the position's vault while the position's health
// factor at a fresh verified report is below the threshold, never more than the budget, and is
// paid the owner's executor fee. The factor every test expects comes from the lens.
import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { FEED_IDS, MAX_DEVIATION_BPS } from "../helpers/streams.js";
import { expectBalanceDeltas, expectPoolConserved } from "../helpers/unit.js";
import { CancelReason, deployOrderSystem, placed, type OrderSystem } from "../helpers/orders.js";
import { MAX_UINT96, healthNextBlock, now, openThroughRouter, positionSnapshot, pushEth } from "../helpers/guards.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3,000
const DOWN = (PX * 99n) / 100n; // 2,970: 1 % down, the push feed follows
const THRESHOLD = (5n * WAD) / 2n; // 2.5: ~3.2 at 3,000, ~2.2 at 2,970 for the 31x long below
const AMOUNT = 100n * USDC;
const FEE = 1n * USDC;
const BUDGET = 1_000n * USDC;
const MAX_COLLATERAL = MAX_UINT96;
const TRANSFER_FROM_FAILED = ethers.id("TransferFromFailed()").slice(0, 10); // Solady's SafeTransferLib

/** Alice's 10 ETH long with 1,000 USDC (about 31x), position 1. */
async function position() {
  const s = await deployOrderSystem(ethers);
  await openThroughRouter(s, networkHelpers, s.signers.alice, { isLong: true, amount: 1_000n * USDC, size: 10n * WAD, price: PX });
  return s;
}

async function setGuard(s: OrderSystem, over: { threshold?: bigint; amount?: bigint; budget?: bigint; fee?: bigint; validUntil?: bigint } = {}) {
  return placed(
    s,
    s.book.connect(s.signers.alice).setTopUpGuard(1n, over.threshold ?? THRESHOLD, over.amount ?? AMOUNT, over.budget ?? BUDGET, over.fee ?? FEE, over.validUntil ?? 0n),
  );
}

/** Position 1 with a default guard, then the push feed at 2,970 (the position below the threshold). */
async function guarded() {
  const s = await networkHelpers.loadFixture(position);
  const g = await setGuard(s);
  await pushEth(s, DOWN);
  return { s, g };
}

/** A report at `price` observed at the next second, the block that executes it pinned one second later. */
async function nextReport(s: OrderSystem, price: bigint) {
  const at = (await now(networkHelpers)) + 1n;
  return { at, report: s.signAt(ETH_MARKET, at, { price }), execAt: at + 1n };
}

async function revertData(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { data?: string }).data ?? "";
  }
  throw new Error("did not revert");
}

describe("top-up guards", () => {
  describe("setting and editing", () => {
    it("test_setTopUpGuard_storesTheGuardObservedFromNow_andEmitsTopUpGuardSet", async () => {
      const s = await networkHelpers.loadFixture(position);
      const validUntil = (await now(networkHelpers)) + 3_600n;
      const t = (await now(networkHelpers)) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(s.book.connect(s.signers.alice).setTopUpGuard(1n, THRESHOLD, AMOUNT, BUDGET, FEE, validUntil))
        .to.emit(s.book, "TopUpGuardSet")
        .withArgs(1n, s.signers.alice.address, 1n, THRESHOLD, AMOUNT, BUDGET, FEE, validUntil);
      const g = await s.book.topUpGuard(1n);
      expect([g.owner, g.positionId, g.observedAfter, g.validUntil, g.threshold, g.amount, g.executorFee, g.budget]).to.deep.equal([
        s.signers.alice.address, 1n, t, validUntil, THRESHOLD, AMOUNT, FEE, BUDGET,
      ]);
      expect(await s.book.nextOrderId()).to.equal(2n);
      // Nothing moves until a top-up.
      expect(await s.token.balanceOf(s.book)).to.equal(0n);
    });

    it("test_setTopUpGuard_outOfBoundsValues_revertWithTheirBounds", async () => {
      const s = await networkHelpers.loadFixture(position);
      const book = s.book.connect(s.signers.alice);
      for (const threshold of [0n, WAD, 10n * WAD + 1n]) {
        await expect(book.setTopUpGuard(1n, threshold, AMOUNT, BUDGET, FEE, 0n))
          .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
          .withArgs("threshold", threshold, WAD + 1n, 10n * WAD);
      }
      await expect(book.setTopUpGuard(1n, THRESHOLD, 0n, BUDGET, FEE, 0n)).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(book.setTopUpGuard(1n, THRESHOLD, AMOUNT, AMOUNT + FEE - 1n, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs("budget", AMOUNT + FEE - 1n, AMOUNT + FEE, MAX_COLLATERAL);
      const t = (await now(networkHelpers)) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(book.setTopUpGuard(1n, THRESHOLD, AMOUNT, BUDGET, FEE, t))
        .to.be.revertedWithCustomError(s.book, "ValidUntilInPast")
        .withArgs(t, t);
      // Values past their storage: an amount or a fee above 2^96 - 1, a position id above 2^32 - 1.
      await expect(book.setTopUpGuard(1n, THRESHOLD, MAX_COLLATERAL + 1n, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "AmountTooLarge")
        .withArgs(MAX_COLLATERAL + 1n, MAX_COLLATERAL);
      await expect(book.setTopUpGuard(1n, THRESHOLD, AMOUNT, BUDGET, MAX_COLLATERAL + 1n, 0n))
        .to.be.revertedWithCustomError(s.book, "AmountTooLarge")
        .withArgs(MAX_COLLATERAL + 1n, MAX_COLLATERAL);
      await expect(book.setTopUpGuard(2n ** 32n, THRESHOLD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "AmountTooLarge")
        .withArgs(2n ** 32n, 2n ** 32n - 1n);
      // The bounds themselves are accepted: a threshold just above 1 and at 10, a budget of one top-up.
      for (const [threshold, budget] of [[WAD + 1n, AMOUNT + FEE], [10n * WAD, BUDGET]] as const) {
        await expect(book.setTopUpGuard(1n, threshold, AMOUNT, budget, FEE, 0n)).to.emit(s.book, "TopUpGuardSet");
      }
    });

    it("test_setTopUpGuard_byAStranger_revertsNotPositionOwner_onAMissingPosition_PositionNotFound", async () => {
      const s = await networkHelpers.loadFixture(position);
      await expect(s.book.connect(s.signers.bob).setTopUpGuard(1n, THRESHOLD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "NotPositionOwner")
        .withArgs(1n, s.signers.bob.address);
      await expect(s.book.connect(s.signers.alice).setTopUpGuard(7n, THRESHOLD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "PositionNotFound")
        .withArgs(7n);
    });

    it("test_editTopUpGuard_ownerOnly_setsTheBudget_andOnlyReportsAfterTheEditTopUp", async () => {
      const { s, g } = await guarded();
      const between = await nextReport(s, DOWN); // observed after the guard, before the edit
      await expect(s.book.connect(s.signers.bob).editTopUpGuard(g.id, THRESHOLD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "NotOrderOwner")
        .withArgs(g.id, s.signers.bob.address);
      await expect(s.book.connect(s.signers.alice).editTopUpGuard(99n, THRESHOLD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "OrderNotFound")
        .withArgs(99n);
      await networkHelpers.time.setNextBlockTimestamp(between.execAt);
      await expect(s.book.connect(s.signers.alice).editTopUpGuard(g.id, 3n * WAD, 2n * AMOUNT, 500n * USDC, 2n * FEE, 0n))
        .to.emit(s.book, "TopUpGuardSet")
        .withArgs(g.id, s.signers.alice.address, 1n, 3n * WAD, 2n * AMOUNT, 500n * USDC, 2n * FEE, 0n);
      const edited = await s.book.topUpGuard(g.id);
      expect([edited.observedAfter, edited.budget, edited.amount, edited.executorFee, edited.threshold]).to.deep.equal([between.execAt, 500n * USDC, 2n * AMOUNT, 2n * FEE, 3n * WAD]);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, between.report))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(g.id, between.at, between.execAt);
      const after = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(after.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, after.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, 1n, 2n * AMOUNT, 2n * FEE, 500n * USDC - 2n * AMOUNT - 2n * FEE, (v: bigint) => v < 3n * WAD, after.at);
    });

    it("test_cancelTopUpGuard_ownerOnly_thenExecuteTopUpRevertsOrderNotFound", async () => {
      const { s, g } = await guarded();
      await expect(s.book.connect(s.signers.bob).cancel(g.id)).to.be.revertedWithCustomError(s.book, "NotOrderOwner").withArgs(g.id, s.signers.bob.address);
      await expect(s.book.connect(s.signers.alice).cancel(g.id))
        .to.emit(s.book, "OrderCancelled")
        .withArgs(g.id, s.signers.alice.address, CancelReason.Owner, 0n, 0n);
      expect((await s.book.topUpGuard(g.id)).owner).to.equal(ethers.ZeroAddress);
      const r = await nextReport(s, DOWN);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(g.id);
      await expect(s.book.connect(s.signers.alice).cancel(g.id)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(g.id);
    });
  });

  describe("executing", () => {
    it("test_executeTopUp_whileHealthy_revertsPositionHealthy_withTheLensFactor", async () => {
      const s = await networkHelpers.loadFixture(position);
      const g = await setGuard(s);
      const r = await nextReport(s, PX);
      const h = await healthNextBlock(s, networkHelpers, 1n, PX, r.execAt);
      expect(h.factor).to.be.greaterThan(THRESHOLD);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "PositionHealthy")
        .withArgs(g.id, h.factor, THRESHOLD);
    });

    it("test_executeTopUp_thresholdComparedExactly_atTheFactorItIsHealthy_oneWeiAboveItTopsUp", async () => {
      const { s, g } = await guarded();
      const r = await nextReport(s, DOWN);
      const h = await healthNextBlock(s, networkHelpers, 1n, DOWN, r.execAt + 1n);
      expect(h.factor).to.be.greaterThan(WAD);
      // equity * WAD >= floor(factor) * maintenance: healthy at a threshold of the factor itself.
      await networkHelpers.time.setNextBlockTimestamp(r.at);
      await s.book.connect(s.signers.alice).editTopUpGuard(g.id, h.factor, AMOUNT, BUDGET, FEE, 0n);
      await networkHelpers.time.setNextBlockTimestamp(r.execAt + 1n);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, s.signAt(ETH_MARKET, r.execAt, { price: DOWN })))
        .to.be.revertedWithCustomError(s.book, "PositionHealthy")
        .withArgs(g.id, h.factor, h.factor);
      // equity * WAD < (floor(factor) + 1) * maintenance: one wei more of threshold and it tops up.
      const t = (await now(networkHelpers)) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await s.book.connect(s.signers.alice).editTopUpGuard(g.id, h.factor + 1n, AMOUNT, BUDGET, FEE, 0n);
      const again = await nextReport(s, DOWN);
      const h2 = await healthNextBlock(s, networkHelpers, 1n, DOWN, again.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, again.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, 1n, AMOUNT, FEE, BUDGET - AMOUNT - FEE, h2.factor, again.at);
    });

    it("test_executeTopUp_belowThreshold_movesExactlyTheAmountIntoThePositionsVault_andPaysTheExecutorTheFee", async () => {
      const { s, g } = await guarded();
      const { alice, keeper } = s.signers;
      const vault = await s.engine.vaultOf(1n);
      const before = await s.engine.position(1n);
      const r = await nextReport(s, DOWN);
      const h = await healthNextBlock(s, networkHelpers, 1n, DOWN, r.execAt);
      expect(h.factor).to.be.lessThan(THRESHOLD);
      expect(h.liquidatable).to.equal(false);
      await expectBalanceDeltas(
        s.token,
        [alice, keeper, vault, s.book, s.pool],
        async () => {
          await networkHelpers.time.setNextBlockTimestamp(r.execAt);
          await expect(s.book.connect(keeper).executeTopUp(g.id, r.report))
            .to.emit(s.book, "TopUpExecuted")
            .withArgs(g.id, keeper.address, 1n, AMOUNT, FEE, BUDGET - AMOUNT - FEE, h.factor, r.at)
            .and.to.emit(s.engine, "CollateralAdded")
            .withArgs(1n, await s.book.getAddress(), AMOUNT, before.collateral + AMOUNT);
        },
        [-(AMOUNT + FEE), FEE, AMOUNT, 0n, 0n],
      );
      const after = await s.engine.position(1n);
      expect([after.collateral, after.size, after.entryPrice]).to.deep.equal([before.collateral + AMOUNT, before.size, before.entryPrice]);
      const stored = await s.book.topUpGuard(g.id);
      expect([stored.budget, stored.observedAfter]).to.deep.equal([BUDGET - AMOUNT - FEE, r.at]);
      await expectPoolConserved(s);
    });

    it("test_executeTopUp_theSameReportTwice_revertsReportNotAfterOrder_aNewerOneTopsUpAgain", async () => {
      const { s, g } = await guarded();
      const collateral = (await s.engine.position(1n)).collateral;
      const first = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(first.execAt);
      await s.book.connect(s.signers.keeper).executeTopUp(g.id, first.report);
      await expect(s.book.connect(s.signers.bob).executeTopUp(g.id, first.report))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(g.id, first.at, first.at);
      // The first top-up lifted it to about 2.54; a newer report 0.8 % lower is below 2.5 again.
      const second = await nextReport(s, 2_945n * WAD);
      await networkHelpers.time.setNextBlockTimestamp(second.execAt);
      await expect(s.book.connect(s.signers.bob).executeTopUp(g.id, second.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.bob.address, 1n, AMOUNT, FEE, BUDGET - 2n * (AMOUNT + FEE), (v: bigint) => v < THRESHOLD, second.at);
      expect((await s.engine.position(1n)).collateral).to.equal(collateral + 2n * AMOUNT);
    });

    it("test_executeTopUp_theLastTopUpTheBudgetPays_deletesTheGuard_thenOrderNotFound", async () => {
      const s = await networkHelpers.loadFixture(position);
      const budget = 2n * (AMOUNT + FEE) + 50n * USDC; // two top-ups and 50 that cannot pay a third
      const g = await setGuard(s, { threshold: 10n * WAD, budget });
      await pushEth(s, DOWN);
      const first = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(first.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, first.report)).to.not.emit(s.book, "OrderCancelled");
      const last = await nextReport(s, DOWN);
      const before = await s.token.balanceOf(s.signers.alice);
      await networkHelpers.time.setNextBlockTimestamp(last.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, last.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, 1n, AMOUNT, FEE, 50n * USDC, (v: bigint) => v < 10n * WAD, last.at)
        .and.to.emit(s.book, "OrderCancelled")
        .withArgs(g.id, s.signers.keeper.address, CancelReason.Dead, 0n, 0n);
      expect(before - (await s.token.balanceOf(s.signers.alice))).to.equal(AMOUNT + FEE);
      expect((await s.book.topUpGuard(g.id)).owner).to.equal(ethers.ZeroAddress);
      const next = await nextReport(s, DOWN);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, next.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(g.id);
    });

    it("test_budget_anEditBelowOneTopUpIsRefused_andTheLastTopUpDeletesTheGuard", async () => {
      // No stored guard is ever short of one top-up: every store requires budget >= amount + fee,
      // and a top-up that leaves less deletes the guard.
      const { s, g } = await guarded();
      await expect(s.book.connect(s.signers.alice).editTopUpGuard(g.id, THRESHOLD, AMOUNT, AMOUNT + FEE - 1n, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs("budget", AMOUNT + FEE - 1n, AMOUNT + FEE, MAX_COLLATERAL);
      await expect(s.book.connect(s.signers.alice).editTopUpGuard(g.id, THRESHOLD, AMOUNT * 5n, AMOUNT * 5n, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs("budget", AMOUNT * 5n, AMOUNT * 5n + FEE, MAX_COLLATERAL);
      // A budget of exactly one top-up: it tops up once and leaves the book.
      await s.book.connect(s.signers.alice).editTopUpGuard(g.id, THRESHOLD, AMOUNT, AMOUNT + FEE, FEE, 0n);
      const r = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(r.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, 1n, AMOUNT, FEE, 0n, (v: bigint) => v < THRESHOLD, r.at)
        .and.to.emit(s.book, "OrderCancelled")
        .withArgs(g.id, s.signers.keeper.address, CancelReason.Dead, 0n, 0n);
    });

    it("test_executeTopUp_ownerWithoutAllowanceOrBalance_revertsWithTheTransfersError_andTheGuardStays", async () => {
      const { s, g } = await guarded();
      const { alice, keeper } = s.signers;
      const stored = await s.book.topUpGuard(g.id);
      const r = await nextReport(s, DOWN);
      await (await s.token.connect(alice).approve(s.book, AMOUNT - 1n)).wait();
      expect(await revertData(s.book.connect(keeper).executeTopUp(g.id, r.report))).to.equal(TRANSFER_FROM_FAILED);
      // The amount approved but not the fee: the whole top-up reverts, the amount included.
      await (await s.token.connect(alice).approve(s.book, AMOUNT)).wait();
      expect(await revertData(s.book.connect(keeper).executeTopUp(g.id, r.report))).to.equal(TRANSFER_FROM_FAILED);
      await (await s.token.connect(alice).approve(s.book, ethers.MaxUint256)).wait();
      await (await s.token.connect(alice).transfer(s.signers.lp, (await s.token.balanceOf(alice)) - AMOUNT)).wait();
      expect(await revertData(s.book.connect(keeper).executeTopUp(g.id, r.report))).to.equal(TRANSFER_FROM_FAILED);
      expect(await s.book.topUpGuard(g.id)).to.deep.equal(stored);
      expect(await s.token.balanceOf(alice)).to.equal(AMOUNT);
      // With the fee back in her wallet the same report tops up.
      await (await s.token.connect(s.signers.lp).transfer(alice, FEE)).wait();
      await expect(s.book.connect(keeper).executeTopUp(g.id, r.report)).to.emit(s.book, "TopUpExecuted");
      expect(await s.token.balanceOf(alice)).to.equal(0n);
    });

    it("test_executeTopUp_aStaleReport_revertsReportTooOld", async () => {
      const { s, g } = await guarded();
      const r = await nextReport(s, DOWN);
      const age = await s.book.maxReportAge();
      await networkHelpers.time.setNextBlockTimestamp(r.at + age + 1n);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "ReportTooOld")
        .withArgs(r.at, age, r.at + age + 1n);
    });

    it("test_executeTopUp_onATransferredPosition_revertsOrderPositionGone_andAnyoneMayPruneIt", async () => {
      const { s, g } = await guarded();
      const r = await nextReport(s, DOWN);
      await expect(s.book.connect(s.signers.carol).prune(g.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(g.id);
      await (await s.engine.connect(s.signers.alice).transferFrom(s.signers.alice, s.signers.bob, 1n)).wait();
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "OrderPositionGone")
        .withArgs(g.id, 1n);
      await expect(s.book.connect(s.signers.carol).prune(g.id))
        .to.emit(s.book, "OrderCancelled")
        .withArgs(g.id, s.signers.carol.address, CancelReason.Dead, 0n, 0n);
      expect((await s.book.topUpGuard(g.id)).owner).to.equal(ethers.ZeroAddress);
    });

    it("test_executeTopUp_afterValidUntil_revertsOrderExpired_andAnyoneMayPruneIt", async () => {
      const s = await networkHelpers.loadFixture(position);
      const validUntil = (await now(networkHelpers)) + 100n;
      const g = await setGuard(s, { validUntil });
      await pushEth(s, DOWN);
      await networkHelpers.time.increaseTo(validUntil + 1n);
      const r = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(r.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "OrderExpired")
        .withArgs(g.id, validUntil, r.execAt);
      await expect(s.book.connect(s.signers.carol).prune(g.id))
        .to.emit(s.book, "OrderCancelled")
        .withArgs(g.id, s.signers.carol.address, CancelReason.Dead, 0n, 0n);
    });
  });

  describe("prices", () => {
    it("test_executeTopUp_aShortBelowThreshold_whenThePriceRises_topsUp", async () => {
      const s = await networkHelpers.loadFixture(position);
      const short = await openThroughRouter(s, networkHelpers, s.signers.bob, { isLong: false, amount: 1_000n * USDC, size: 10n * WAD, price: PX });
      const g = await placed(s, s.book.connect(s.signers.bob).setTopUpGuard(short, THRESHOLD, AMOUNT, BUDGET, FEE, 0n));
      const up = (PX * 101n) / 100n;
      const healthy = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(healthy.execAt);
      await pushEth(s, DOWN);
      const h0 = await healthNextBlock(s, networkHelpers, short, DOWN, healthy.execAt + 1n);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, healthy.report))
        .to.be.revertedWithCustomError(s.book, "PositionHealthy")
        .withArgs(g.id, h0.factor, THRESHOLD);
      await pushEth(s, up);
      const r = await nextReport(s, up);
      const h = await healthNextBlock(s, networkHelpers, short, up, r.execAt);
      expect(h.factor).to.be.lessThan(THRESHOLD);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, short, AMOUNT, FEE, BUDGET - AMOUNT - FEE, h.factor, r.at);
    });

    it("test_executeTopUp_thatCannotLiftEquityToMaintenance_isRefused_withTheNumbers_andALargerAmountSavesIt", async () => {
      // At 2,900 the 31x long has lost ~1,015 on ~970: equity below zero, a negative factor. A
      // 300 USDC top-up would leave it liquidatable (only the owner's money into a liquidation).
      const s = await networkHelpers.loadFixture(position);
      const g = await setGuard(s, { amount: 300n * USDC });
      const crash = 2_900n * WAD;
      await pushEth(s, crash);
      expect(await s.engine.isLiquidatable(1n)).to.equal(true);
      const r = await nextReport(s, crash);
      const h = await healthNextBlock(s, networkHelpers, 1n, crash, r.execAt);
      expect(h.equity).to.be.lessThan(0n);
      expect(h.equity + 300n * USDC).to.be.lessThan(h.maintenance);
      const before = await positionSnapshot(s, 1n);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "TopUpCannotSave")
        .withArgs(g.id, h.equity + 300n * USDC, h.maintenance);
      expect(await positionSnapshot(s, 1n)).to.deep.equal(before);
      // An amount that lifts equity to maintenance tops up; the negative factor is truncated toward zero.
      const amount = h.maintenance - h.equity + 10n * USDC;
      await s.book.connect(s.signers.alice).editTopUpGuard(g.id, THRESHOLD, amount, BUDGET, FEE, 0n);
      const r2 = await nextReport(s, crash);
      const h2 = await healthNextBlock(s, networkHelpers, 1n, crash, r2.execAt);
      expect(h2.factor).to.equal(-((-h2.equity * WAD) / h2.maintenance));
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r2.report))
        .to.emit(s.book, "TopUpExecuted")
        .withArgs(g.id, s.signers.keeper.address, 1n, amount, FEE, BUDGET - amount - FEE, h2.factor, r2.at);
      expect(await s.engine.isLiquidatable(1n)).to.equal(false);
    });

    it("test_executeTopUp_aReportBeyondThePushFeedDeviation_orOfAnotherStream_isRefused", async () => {
      const { s, g } = await guarded();
      const at = (await now(networkHelpers)) + 1n;
      const far = 2_930n * WAD; // 1.35 % under the 2,970 push feed
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, s.signAt(ETH_MARKET, at, { price: far })))
        .to.be.revertedWithCustomError(s.oracle, "ReportDeviatesFromFeed")
        .withArgs(far, DOWN, MAX_DEVIATION_BPS);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, s.signAt(BTC_MARKET, at, { price: 60_000n * WAD })))
        .to.be.revertedWithCustomError(s.oracle, "ReportFeedMismatch")
        .withArgs(FEED_IDS[0], FEED_IDS[1]);
    });
  });

  describe("attacks", () => {
    it("test_attack_nonOwnerExecutors_cannotMoveMoreThanTheBudget_inAnySequence", async () => {
      const s = await networkHelpers.loadFixture(position);
      const fee = 7n * USDC;
      const g = await setGuard(s, { threshold: 10n * WAD, amount: AMOUNT, budget: BUDGET, fee });
      await pushEth(s, DOWN);
      const { alice, bob, carol, keeper } = s.signers;
      const aliceBefore = await s.token.balanceOf(alice);
      const collateralBefore = (await s.engine.position(1n)).collateral;
      const executors = [bob, carol, keeper];
      let executed = 0n;
      // Executors take turns with fresh reports, each replaying the last one too, until the guard is gone.
      for (let i = 0; i < 20; i++) {
        const exists = (await s.book.topUpGuard(g.id)).owner !== ethers.ZeroAddress;
        const r = await nextReport(s, DOWN);
        await networkHelpers.time.setNextBlockTimestamp(r.execAt);
        if (!exists) {
          await expect(s.book.connect(executors[i % 3]).executeTopUp(g.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(g.id);
          break;
        }
        await (await s.book.connect(executors[i % 3]).executeTopUp(g.id, r.report)).wait();
        executed++;
        if ((await s.book.topUpGuard(g.id)).owner !== ethers.ZeroAddress) {
          await expect(s.book.connect(executors[(i + 1) % 3]).executeTopUp(g.id, r.report))
            .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
            .withArgs(g.id, r.at, r.at);
        }
      }
      const perTopUp = AMOUNT + fee;
      expect(executed).to.equal(BUDGET / perTopUp); // 9
      expect(aliceBefore - (await s.token.balanceOf(alice))).to.equal((BUDGET / perTopUp) * perTopUp); // 963 of 1,000
      expect((await s.engine.position(1n)).collateral - collateralBefore).to.equal((BUDGET / perTopUp) * AMOUNT);
      expect(await s.token.balanceOf(s.book)).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("test_attack_aGuardOnASoldPosition_neverFundsTheBuyersPositionFromTheSellersWallet", async () => {
      const { s, g } = await guarded();
      const { alice, bob, keeper } = s.signers;
      // Alice sells position 1 to Bob (the NFT moves) and forgets her guard and her allowance.
      await (await s.engine.connect(alice).transferFrom(alice, bob, 1n)).wait();
      const aliceBefore = await s.token.balanceOf(alice);
      const before = await positionSnapshot(s, 1n);
      for (let i = 0; i < 3; i++) {
        const r = await nextReport(s, DOWN);
        await expect(s.book.connect(keeper).executeTopUp(g.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(g.id, 1n);
        await expect(s.book.connect(bob).executeTopUp(g.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(g.id, 1n);
      }
      // Bob cannot edit Alice's guard into his own either.
      await expect(s.book.connect(bob).editTopUpGuard(g.id, 10n * WAD, AMOUNT, BUDGET, FEE, 0n))
        .to.be.revertedWithCustomError(s.book, "NotOrderOwner")
        .withArgs(g.id, bob.address);
      expect(await s.token.balanceOf(alice)).to.equal(aliceBefore);
      const after = await positionSnapshot(s, 1n);
      expect(after).to.deep.equal(before);
      // Once the position is back with Alice the guard is hers to use again.
      await (await s.engine.connect(bob).transferFrom(bob, alice, 1n)).wait();
      const r = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(r.execAt);
      await expect(s.book.connect(keeper).executeTopUp(g.id, r.report)).to.emit(s.book, "TopUpExecuted");
    });

    it("test_attack_aCrashReportFromBeforeTheGuard_cannotTopUpAtAHealthyPrice", async () => {
      const s = await networkHelpers.loadFixture(position);
      // A dip to 2,970 is reported, then the market recovers to 3,000, and only then Alice sets her guard.
      await pushEth(s, DOWN);
      const crash = await nextReport(s, DOWN);
      await networkHelpers.time.setNextBlockTimestamp(crash.execAt);
      await pushEth(s, PX);
      const g = await setGuard(s);
      expect(g.placedAt).to.be.greaterThan(crash.at);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, crash.report))
        .to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder")
        .withArgs(g.id, crash.at, g.placedAt);
      const r = await nextReport(s, PX);
      const h = await healthNextBlock(s, networkHelpers, 1n, PX, r.execAt);
      await expect(s.book.connect(s.signers.keeper).executeTopUp(g.id, r.report))
        .to.be.revertedWithCustomError(s.book, "PositionHealthy")
        .withArgs(g.id, h.factor, THRESHOLD);
      expect((await s.book.topUpGuard(g.id)).budget).to.equal(BUDGET);
    });
  });
});
