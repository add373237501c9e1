// Trade requests (IBulkheadRouter): a trader requests, anyone executes with the report the request
// pins, verified by Chainlink's real Verifier and VerifierProxy signed by the local oracle set.
// Every rule of DESIGN.md "Requests and price reports" has a test that breaks it.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, BTC_MARKET, ETH_PRICE, BTC_PRICE, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { wMulUp } from "../helpers/reference.js";
import { expectPoolConserved } from "../helpers/unit.js";
import { FEE_GAS_PRICE, Kind, TIMING, created, deployRequestSystem, executeAt, type RequestSystem } from "../helpers/requests.js";
import { FEED_IDS, HALF_SPREAD_BPS, MAX_DEVIATION_BPS } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18, the push feed
const Q = { price: PX };
const ASK = PX + (PX * HALF_SPREAD_BPS) / 10_000n;
const BID = PX - (PX * HALF_SPREAD_BPS) / 10_000n;
const MAX_UINT96 = 2n ** 96n - 1n;

async function system() {
  return deployRequestSystem(ethers);
}

const openFee = (s: RequestSystem, size: bigint, price: bigint) => wMulUp(s.u.notional(size, price), defaultParams.openFeeRate);

async function requestOpen(s: RequestSystem, over: { isLong?: boolean; amount?: bigint; size?: bigint; acceptable?: bigint } = {}) {
  const isLong = over.isLong ?? true;
  const acceptable = over.acceptable ?? (isLong ? 2n ** 96n - 1n : 0n);
  return created(
    s,
    s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, isLong, over.amount ?? 1_000n * USDC, over.size ?? WAD, acceptable, { value: await s.fee(Kind.Open) }),
  );
}

/** An open long of 1 ETH with 1,000 USDC filled at the ask, as position 1. */
async function withPosition() {
  const s = await system();
  const r = await requestOpen(s);
  await executeAt(s, networkHelpers, r, ETH_MARKET, Q);
  return s;
}

describe("trade requests", () => {
  describe("fills", () => {
    it("test_requestOpen_escrowsTheAmountAndTheFee_andEmitsItsPinnedTimes", async () => {
      const s = await networkHelpers.loadFixture(system);
      const fee = await s.fee(Kind.Open);
      const before = await s.token.balanceOf(s.signers.alice);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: fee }))
        .to.emit(s.router, "RequestCreated")
        .withArgs(1n, s.signers.alice.address, Kind.Open, ETH_MARKET, 0n, true, 1_000n * USDC, WAD, MAX_UINT96, fee, t + TIMING.settlementDelay, t + TIMING.expiry);
      expect(before - (await s.token.balanceOf(s.signers.alice))).to.equal(1_000n * USDC);
      expect(await s.token.balanceOf(s.router)).to.equal(1_000n * USDC);
      expect(await ethers.provider.getBalance(s.router)).to.equal(fee);
      const r = await s.router.request(1n);
      expect([r.account, r.kind, r.createdAt, r.settlementDelay, r.expiry, r.executionFee]).to.deep.equal([s.signers.alice.address, Kind.Open, t, TIMING.settlementDelay, TIMING.expiry, fee]);
      expect(await s.router.nextRequestId()).to.equal(2n);
    });

    it("test_executeOpen_byAThirdAccount_fillsALongAtThePinnedReportsAsk_collateralIsTheAmountLessTheFee", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      const fee = openFee(s, WAD, ASK);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q))
        .to.emit(s.engine, "PositionOpened")
        .withArgs(1n, s.signers.alice.address, ETH_MARKET, true, WAD, ASK, 1_000n * USDC - fee, fee, 0n, (v: bigint) => v > 0n)
        .and.to.emit(s.router, "RequestExecuted")
        .withArgs(r.id, s.signers.keeper.address, 1n, ASK, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect(await s.engine.ownerOf(1n)).to.equal(s.signers.alice.address);
      expect(await s.token.balanceOf(await s.engine.vaultOf(1n))).to.equal(1_000n * USDC - fee);
      expect(await s.token.balanceOf(s.router)).to.equal(0n);
      expect(await ethers.provider.getBalance(s.router)).to.equal(0n);
      expect((await s.router.request(r.id)).kind).to.equal(Kind.None);
      await expectPoolConserved(s);
    });

    it("test_executeOpen_aShortFillsAtTheBid", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s, { isLong: false });
      await executeAt(s, networkHelpers, r, ETH_MARKET, Q);
      expect((await s.engine.position(1n)).entryPrice).to.equal(BID);
    });

    it("test_executeClose_aLongSellsAtTheBid_andPaysTheOwner_theRequesterMayExecuteItself", async () => {
      const s = await networkHelpers.loadFixture(withPosition);
      const { alice } = s.signers;
      const r = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
      const before = await s.token.balanceOf(alice);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q, alice))
        .to.emit(s.engine, "PositionDecreased")
        .and.to.emit(s.router, "RequestExecuted")
        .withArgs(r.id, alice.address, 1n, BID, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect(await s.engine.balanceOf(alice)).to.equal(0n);
      expect((await s.token.balanceOf(alice)) - before).to.be.greaterThan(900n * USDC);
      await expectPoolConserved(s);
    });

    it("test_executeDecreaseAndIncrease_fillAtTheSideOfTheTrade_theIncreaseFeeComesOutOfTheAmount", async () => {
      const s = await networkHelpers.loadFixture(withPosition);
      const { alice } = s.signers;
      const inc = await created(s, s.router.connect(alice).requestIncrease(1n, 500n * USDC, WAD, MAX_UINT96, { value: await s.fee(Kind.Increase) }));
      const fee = openFee(s, WAD, ASK);
      await expect(executeAt(s, networkHelpers, inc, ETH_MARKET, Q))
        .to.emit(s.engine, "PositionIncreased")
        .withArgs(1n, WAD, 500n * USDC - fee, ASK, () => true, fee, () => true, 2n * WAD, ASK, () => true, () => true, 0n, () => true);
      const dec = await created(s, s.router.connect(alice).requestDecrease(1n, WAD / 2n, 0n, { value: await s.fee(Kind.Decrease) }));
      await executeAt(s, networkHelpers, dec, ETH_MARKET, Q);
      expect((await s.engine.position(1n)).size).to.equal((3n * WAD) / 2n);
      await expectPoolConserved(s);
    });

    it("test_aReportFillsEveryRequestWhoseSettlementTimeItCovers_theSamePriceForAll", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob } = s.signers;
      await networkHelpers.mine(1);
      await networkHelpers.time.setNextBlockTimestamp(BigInt(await networkHelpers.time.latest()) + 5n);
      await ethers.provider.send("evm_setAutomine", [false]);
      const fee = await s.fee(Kind.Open);
      const a = await s.router.connect(alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: fee });
      const b = await s.router.connect(bob).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: fee });
      await networkHelpers.mine(1);
      await ethers.provider.send("evm_setAutomine", [true]);
      const ra = await created(s, Promise.resolve(a));
      const rb = await created(s, Promise.resolve(b));
      expect(ra.settlesAt).to.equal(rb.settlesAt);
      const report = s.signAt(ETH_MARKET, ra.settlesAt, Q);
      await networkHelpers.time.increaseTo(ra.settlesAt);
      await s.router.connect(s.signers.keeper).execute(ra.id, report);
      await s.router.connect(s.signers.keeper).execute(rb.id, report);
      expect((await s.engine.position(1n)).entryPrice).to.equal((await s.engine.position(2n)).entryPrice);
    });
  });

  describe("reports a request does not settle at", () => {
    it("test_execute_aReportObservedBeforeTheSettlementTime_revertsReportNotPinned", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      for (const t of [r.createdAt - 1n, r.createdAt, r.settlesAt - 1n, r.settlesAt + 1n]) {
        await expect(s.router.execute(r.id, s.signAt(ETH_MARKET, t, Q)))
          .to.be.revertedWithCustomError(s.oracle, "ReportNotPinned")
          .withArgs(r.settlesAt, t, t);
      }
      // A window that contains the settlement time is the pinned report, however wide.
      await expect(s.router.execute(r.id, s.signAt(ETH_MARKET, r.settlesAt + 3n, Q, { validFromTimestamp: Number(r.settlesAt) - 1 }))).to.emit(s.router, "RequestExecuted");
    });

    it("test_execute_aReportOfAnotherStream_revertsReportFeedMismatch", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      await expect(s.router.execute(r.id, s.signAt(BTC_MARKET, r.settlesAt, { price: wadFromFeed(BTC_PRICE) })))
        .to.be.revertedWithCustomError(s.oracle, "ReportFeedMismatch")
        .withArgs(FEED_IDS[0], FEED_IDS[1]);
    });

    it("test_execute_anExpiredReport_revertsReportExpired", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q, { expiresAt: Number(r.settlesAt) + 10 });
      await networkHelpers.time.setNextBlockTimestamp(r.settlesAt + 11n);
      await expect(s.router.execute(r.id, report)).to.be.revertedWithCustomError(s.oracle, "ReportExpired").withArgs(r.settlesAt + 10n, r.settlesAt + 11n);
    });

    it("test_execute_whileThePushFeedIsStale_revertsStalePrice", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      // The feed's latest round is older than its heartbeat, the request is still live.
      const now = BigInt(await networkHelpers.time.latest());
      const updatedAt = now - 3601n;
      await (await s.ethFeed.updateRoundData((await s.ethFeed.latestRound()) + 1n, ETH_PRICE, updatedAt, updatedAt)).wait();
      await networkHelpers.time.increaseTo(r.settlesAt);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      await expect(s.router.execute(r.id, report)).to.be.revertedWithCustomError(s.oracle, "StalePrice").withArgs(await s.ethFeed.getAddress(), updatedAt, 3600n);
    });

    it("test_execute_signedByAKeyOutsideTheOracleSet_orOneSignatureShort_revertsInTheVerifier", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      const report = s.report(ETH_MARKET, r.settlesAt, Q);
      const stranger = new ethers.SigningKey(ethers.keccak256(ethers.toUtf8Bytes("not an oracle")));
      await expect(s.router.execute(r.id, s.sign(report, { keys: [s.oracleSet.keys[0]!, stranger] }))).to.be.revertedWithCustomError(s.verifier, "BadVerification");
      await expect(s.router.execute(r.id, s.sign(report, { signatures: 1 })))
        .to.be.revertedWithCustomError(s.verifier, "IncorrectSignatureCount")
        .withArgs(1n, 2n);
    });

    it("test_execute_aReportFarFromThePushFeed_revertsReportDeviatesFromFeed_oneWeiPastTheBound", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      const edge = PX + (PX * MAX_DEVIATION_BPS) / 10_000n;
      await expect(s.router.execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: edge + 1n })))
        .to.be.revertedWithCustomError(s.oracle, "ReportDeviatesFromFeed")
        .withArgs(edge + 1n, PX, MAX_DEVIATION_BPS);
      await expect(s.router.execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: edge }))).to.emit(s.router, "RequestExecuted");
    });

    it("test_execute_bidAboveAsk_revertsReportPricesInvalid", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      await expect(s.router.execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: PX, bid: PX + 1n, ask: PX + 2n })))
        .to.be.revertedWithCustomError(s.oracle, "ReportPricesInvalid")
        .withArgs(PX + 1n, PX, PX + 2n);
    });

    it("test_execute_theSameReportForASecondExecution_revertsRequestNotFound", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      await s.router.execute(r.id, report);
      await expect(s.router.execute(r.id, report)).to.be.revertedWithCustomError(s.router, "RequestNotFound").withArgs(r.id);
    });
  });

  describe("lifecycle", () => {
    it("test_cancel_afterExecution_revertsRequestNotFound", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await executeAt(s, networkHelpers, r, ETH_MARKET, Q);
      await networkHelpers.time.increase(TIMING.expiry);
      await expect(s.router.connect(s.signers.alice).cancel(r.id)).to.be.revertedWithCustomError(s.router, "RequestNotFound").withArgs(r.id);
    });

    it("test_cancel_beforeExpiry_revertsRequestNotExpired_soNoOneCancelsOnceThePriceIsKnown", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      const expiresAt = r.createdAt + TIMING.expiry;
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(s.router.connect(s.signers.alice).cancel(r.id))
        .to.be.revertedWithCustomError(s.router, "RequestNotExpired")
        .withArgs(r.id, expiresAt, expiresAt);
    });

    it("test_cancel_byAnotherAccount_revertsNotRequester", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increase(TIMING.expiry + 1n);
      await expect(s.router.connect(s.signers.bob).cancel(r.id)).to.be.revertedWithCustomError(s.router, "NotRequester").withArgs(r.id, s.signers.bob.address);
    });

    it("test_cancel_afterExpiry_returnsEverythingEscrowed_exactly", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice } = s.signers;
      const tokens = await s.token.balanceOf(alice);
      const r = await requestOpen(s);
      const fee = await s.fee(Kind.Open);
      await networkHelpers.time.increase(TIMING.expiry + 1n);
      const eth = await ethers.provider.getBalance(alice);
      const tx = await s.router.connect(alice).cancel(r.id);
      const receipt = (await tx.wait())!;
      await expect(tx).to.emit(s.router, "RequestCancelled").withArgs(r.id, alice.address, "0x", 0n, fee);
      expect(await s.token.balanceOf(alice)).to.equal(tokens);
      expect((await ethers.provider.getBalance(alice)) - eth).to.equal(fee - receipt.fee);
      expect(await s.token.balanceOf(s.router)).to.equal(0n);
      expect(await ethers.provider.getBalance(s.router)).to.equal(0n);
    });

    it("test_execute_afterCancel_revertsRequestNotFound_andAfterExpiry_revertsRequestExpired", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      const expiresAt = r.createdAt + TIMING.expiry;
      await networkHelpers.time.setNextBlockTimestamp(expiresAt + 1n);
      await expect(s.router.execute(r.id, report)).to.be.revertedWithCustomError(s.router, "RequestExpired").withArgs(r.id, expiresAt, expiresAt + 1n);
      await s.router.connect(s.signers.alice).cancel(r.id);
      await expect(s.router.execute(r.id, report)).to.be.revertedWithCustomError(s.router, "RequestNotFound").withArgs(r.id);
    });

    it("test_executeAtTheLastSecondBeforeExpiry_fills", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      await networkHelpers.time.setNextBlockTimestamp(r.createdAt + TIMING.expiry);
      await expect(s.router.execute(r.id, report)).to.emit(s.router, "RequestExecuted");
    });
  });

  describe("a trade the engine refuses at the pinned price cancels the request", () => {
    it("test_execute_pastTheAcceptablePrice_cancelsWithSlippageExceeded_escrowBack_executorPaid", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const tokens = await s.token.balanceOf(alice);
      const r = await requestOpen(s, { acceptable: ASK - 1n });
      const reason = s.engine.interface.encodeErrorResult("SlippageExceeded", [ASK - 1n, ASK]);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q))
        .to.emit(s.router, "RequestCancelled")
        .withArgs(r.id, keeper.address, reason, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect(await s.token.balanceOf(alice)).to.equal(tokens);
      expect(await s.engine.nextPositionId()).to.equal(1n);
      expect(await ethers.provider.getBalance(s.router)).to.equal(0n);
    });

    it("test_execute_anAmountBelowTheOpenFee_cancelsWithAmountBelowOpenFee", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s, { amount: 1n, size: WAD });
      const reason = s.router.interface.encodeErrorResult("AmountBelowOpenFee", [1n, openFee(s, WAD, ASK)]);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q)).to.emit(s.router, "RequestCancelled").withArgs(r.id, s.signers.keeper.address, reason, () => true, () => true);
    });

    it("test_execute_aFillLiquidatableAtThePushPrice_cancelsWithLiquidatableAfterFill", async () => {
      const s = await networkHelpers.loadFixture(system);
      // mmr 1 %: initial margin (2 %) exceeds maintenance (1.5 %) by less than a report 1 % above
      // the push feed plus its spread, so a max-leverage fill at such a report would be
      // liquidatable at the push price in the same block.
      await (await s.engine.setRiskParams(ETH_MARKET, { mmr: WAD / 100n, liquidationFeeRate: WAD / 200n, minLiquidationFee: USDC, maxProfitFactorBps: 5000n })).wait();
      const q = { price: PX + (PX * MAX_DEVIATION_BPS) / 10_000n };
      const ask = q.price + (q.price * HALF_SPREAD_BPS) / 10_000n;
      const size = 10n * WAD;
      const margin = s.u.notional(size, ask) / 50n + 1n;
      const r = await requestOpen(s, { amount: margin + openFee(s, size, ask), size });
      const reason = s.router.interface.encodeErrorResult("LiquidatableAfterFill", [1n]);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, q)).to.emit(s.router, "RequestCancelled").withArgs(r.id, s.signers.keeper.address, reason, () => true, () => true);
      expect(await s.engine.nextPositionId()).to.equal(1n);
    });

    it("test_execute_withTooLittleGasForTheFill_revertsInsteadOfCancelling_atEveryGasLimit", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increaseTo(r.settlesAt);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      const needed = await s.router.execute.estimateGas(r.id, report);
      let reverted = 0;
      for (let gas = 150_000n; gas < needed; gas += 10_000n) {
        try {
          // Never `false` (cancelled): an executor cannot cancel a fillable request by starving it.
          expect(await s.router.execute.staticCall(r.id, report, { gasLimit: gas })).to.equal(true);
        } catch (e) {
          if ((e as Error).name === "AssertionError") throw e;
          reverted++;
        }
      }
      expect(reverted).to.be.greaterThan(0);
      expect(await s.router.execute.staticCall(r.id, report, { gasLimit: needed })).to.equal(true);
    });
  });

  describe("requests that are refused", () => {
    it("test_request_belowTheExecutionFeeQuote_revertsExecutionFeeTooLow", async () => {
      const s = await networkHelpers.loadFixture(system);
      const gasPrice = 7n * 10n ** 9n;
      const required = (await s.router.executionGas(Kind.Open)) * gasPrice;
      expect(await s.router.quoteExecutionFee(Kind.Open, gasPrice)).to.equal(required);
      await expect(s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, USDC, WAD, 0n, { value: required - 1n, maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice }))
        .to.be.revertedWithCustomError(s.router, "ExecutionFeeTooLow")
        .withArgs(required - 1n, required);
    });

    it("test_request_zeroAmountsOrTooLarge_revert", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = s.router.connect(s.signers.alice);
      const value = await s.fee(Kind.Open);
      await expect(r.requestOpen(ETH_MARKET, true, 0n, WAD, 0n, { value })).to.be.revertedWithCustomError(s.router, "ZeroAmount");
      await expect(r.requestOpen(ETH_MARKET, true, USDC, 0n, 0n, { value })).to.be.revertedWithCustomError(s.router, "ZeroAmount");
      await expect(r.requestOpen(ETH_MARKET, true, USDC, 2n ** 128n, 0n, { value })).to.be.revertedWithCustomError(s.router, "AmountTooLarge").withArgs(2n ** 128n, 2n ** 128n - 1n);
      await expect(r.requestOpen(ETH_MARKET, true, 2n ** 96n, WAD, 0n, { value })).to.be.revertedWithCustomError(s.router, "AmountTooLarge").withArgs(2n ** 96n, MAX_UINT96);
    });

    it("test_request_onAMarketWithoutAStream_revertsStreamNotConfigured", async () => {
      const s = await networkHelpers.loadFixture(system);
      const feed = await ethers.deployContract("MockV3Aggregator", [8, ETH_PRICE]);
      const { defaultParams: p, defaultRisk: k } = await import("../helpers/fixture.js");
      await (await s.engine.listMarket(feed, 3600n, p, k)).wait();
      await expect(s.router.connect(s.signers.alice).requestOpen(2n, true, USDC, WAD, 0n, { value: await s.fee(Kind.Open) }))
        .to.be.revertedWithCustomError(s.oracle, "StreamNotConfigured")
        .withArgs(2n);
      // The one oracle call a request makes: the timing of a market with a stream, the error without.
      await expect(s.oracle.requestTiming(2n)).to.be.revertedWithCustomError(s.oracle, "StreamNotConfigured").withArgs(2n);
      expect(await s.oracle.requestTiming(ETH_MARKET)).to.deep.equal(await s.oracle.timing());
    });

    it("test_requestOnAPosition_byAnAccountWithoutRights_revertsNotPositionOwner_anUnknownId_PositionNotFound", async () => {
      const s = await networkHelpers.loadFixture(withPosition);
      const { alice, bob } = s.signers;
      const value = await s.fee(Kind.Close);
      await expect(s.router.connect(bob).requestClose(1n, 0n, { value })).to.be.revertedWithCustomError(s.router, "NotPositionOwner").withArgs(1n, bob.address);
      await expect(s.router.connect(bob).requestIncrease(1n, USDC, WAD, 0n, { value })).to.be.revertedWithCustomError(s.router, "NotPositionOwner").withArgs(1n, bob.address);
      await expect(s.router.connect(alice).requestDecrease(9n, WAD, 0n, { value })).to.be.revertedWithCustomError(s.router, "PositionNotFound").withArgs(9n);
      await expect(s.router.connect(alice).requestDecrease(1n, WAD, 0n, { value })).to.be.revertedWithCustomError(s.engine, "SizeDeltaTooLarge").withArgs(WAD, WAD);
      // An operator approved for the id may request; the payout still goes to the owner.
      await (await s.engine.connect(alice).approve(bob, 1n)).wait();
      await expect(s.router.connect(bob).requestClose(1n, 0n, { value })).to.emit(s.router, "RequestCreated");
    });

    it("test_aRequesterThatLostItsRightsBeforeExecution_isCancelledWithNotPositionOwner", async () => {
      const s = await networkHelpers.loadFixture(withPosition);
      const { alice, bob, carol } = s.signers;
      await (await s.engine.connect(alice).approve(bob, 1n)).wait();
      const r = await created(s, s.router.connect(bob).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
      await (await s.engine.connect(alice).transferFrom(alice, carol, 1n)).wait();
      const reason = s.engine.interface.encodeErrorResult("NotPositionOwner", [1n, bob.address]);
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q)).to.emit(s.router, "RequestCancelled").withArgs(r.id, s.signers.keeper.address, reason, () => true, () => true);
      expect(await s.engine.ownerOf(1n)).to.equal(carol.address);
    });
  });

  describe("push-feed fallback for exits", () => {
    async function closeRequested() {
      const s = await withPosition();
      const r = await created(s, s.router.connect(s.signers.alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
      return { s, r };
    }

    it("test_executeAtPushRound_theFirstRoundAfterTheRequest_onceOverdue_closesAtItsAnswer", async () => {
      const { s, r } = await networkHelpers.loadFixture(closeRequested);
      await networkHelpers.time.increase(10n);
      await (await s.ethFeed.updateAnswer(2_990n * 10n ** 8n)).wait();
      const round = await s.ethFeed.latestRound();
      await (await s.ethFeed.updateAnswer(2_980n * 10n ** 8n)).wait();
      const opensAt = r.createdAt + TIMING.pushFallbackDelay;
      await networkHelpers.time.setNextBlockTimestamp(opensAt - 1n);
      await expect(s.router.executeAtPushRound(r.id, round)).to.be.revertedWithCustomError(s.router, "PushFallbackNotOpen").withArgs(r.id, opensAt, opensAt - 1n);
      await networkHelpers.time.increaseTo(opensAt);
      // The round after the first one is not it; nor is the one before the request.
      const [, , , second] = await s.ethFeed.getRoundData(round + 1n);
      const [, , , first] = await s.ethFeed.getRoundData(round);
      const [, , , before] = await s.ethFeed.getRoundData(round - 1n);
      await expect(s.router.executeAtPushRound(r.id, round + 1n)).to.be.revertedWithCustomError(s.oracle, "RoundNotFirstAfter").withArgs(round + 1n, second, first, r.createdAt);
      await expect(s.router.executeAtPushRound(r.id, round - 1n)).to.be.revertedWithCustomError(s.oracle, "RoundNotFirstAfter").withArgs(round - 1n, before, () => true, r.createdAt);
      await expect(s.router.executeAtPushRound(r.id, round)).to.emit(s.router, "RequestExecuted").withArgs(r.id, s.signers.deployer.address, 1n, 2_990n * WAD, () => true, () => true);
      expect(await s.engine.balanceOf(s.signers.alice)).to.equal(0n);
    });

    it("test_firstRoundAfter_aRoundFromTheFutureOrWithoutAUsablePrice_orWhileTheSequencerIsDown_reverts", async () => {
      const s = await deployRequestSystem(ethers, { sequencer: true });
      const feed = await s.ethFeed.getAddress();
      // Each round is checked as the first after its predecessor's time, so only the tested rule can fail.
      const after = async (round: bigint) => (await s.ethFeed.getRoundData(round - 1n))[3];
      const now = BigInt(await networkHelpers.time.latest());
      const r1 = (await s.ethFeed.latestRound()) + 1n;
      await (await s.ethFeed.updateRoundData(r1, ETH_PRICE, now + 100n, now + 100n)).wait();
      await expect(s.oracle.firstRoundAfter(ETH_MARKET, r1, await after(r1))).to.be.revertedWithCustomError(s.oracle, "PriceFromFuture").withArgs(feed, now + 100n, (v: bigint) => v < now + 100n);
      await networkHelpers.time.increaseTo(now + 200n);
      await (await s.ethFeed.updateRoundData(r1 + 1n, 0n, now + 150n, now + 150n)).wait();
      await expect(s.oracle.firstRoundAfter(ETH_MARKET, r1 + 1n, await after(r1 + 1n))).to.be.revertedWithCustomError(s.oracle, "RoundInvalid").withArgs(r1 + 1n, 0n);
      const huge = 10n ** 30n; // 1e22 WAD: above the supported price range
      await (await s.ethFeed.updateRoundData(r1 + 2n, huge, now + 160n, now + 160n)).wait();
      await expect(s.oracle.firstRoundAfter(ETH_MARKET, r1 + 2n, await after(r1 + 2n))).to.be.revertedWithCustomError(s.oracle, "RoundInvalid").withArgs(r1 + 2n, huge);
      // The L2 sequencer down: no round counts.
      const t = BigInt(await networkHelpers.time.latest());
      await (await s.sequencerFeed!.updateRoundData(2n, 1n, t, t)).wait();
      await expect(s.oracle.firstRoundAfter(ETH_MARKET, r1 + 2n, await after(r1 + 2n))).to.be.revertedWithCustomError(s.oracle, "SequencerDown").withArgs(await s.sequencerFeed!.getAddress());
    });

    it("test_reportPrices_forAMarketWithoutAStream_revertsStreamNotConfigured", async () => {
      const s = await networkHelpers.loadFixture(system);
      const feed = await ethers.deployContract("MockV3Aggregator", [8, ETH_PRICE]);
      const { defaultParams: p, defaultRisk: k } = await import("../helpers/fixture.js");
      await (await s.engine.listMarket(feed, 3600n, p, k)).wait();
      // The pool may have reports verified; a market listed without a stream has none to check against.
      const pool = await s.pool.getAddress();
      await networkHelpers.impersonateAccount(pool);
      await networkHelpers.setBalance(pool, 10n ** 18n);
      const asPool = await ethers.getSigner(pool);
      await expect(s.oracle.connect(asPool).reportPrices(2n, "0x", 0n)).to.be.revertedWithCustomError(s.oracle, "StreamNotConfigured").withArgs(2n);
      await networkHelpers.stopImpersonatingAccount(pool);
    });

    it("test_executeAtPushRound_anOpeningRequest_revertsPushFallbackNotForOpening", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      await networkHelpers.time.increase(TIMING.pushFallbackDelay);
      await expect(s.router.executeAtPushRound(r.id, 1n)).to.be.revertedWithCustomError(s.router, "PushFallbackNotForOpening").withArgs(r.id);
    });
  });

  describe("executor pay", () => {
    it("test_execute_paysTheExecutorItsGasAtItsGasPrice_andRefundsTheRestToTheRequester_exactly", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const r = await requestOpen(s);
      const fee = await s.fee(Kind.Open);
      const gasPrice = 3n * 10n ** 9n;
      await networkHelpers.time.increaseTo(r.settlesAt);
      const report = s.signAt(ETH_MARKET, r.settlesAt, Q);
      const [aliceEth, keeperEth] = [await ethers.provider.getBalance(alice), await ethers.provider.getBalance(keeper)];
      const tx = await s.router.connect(keeper).execute(r.id, report, { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice });
      const receipt = (await tx.wait())!;
      const ev = receipt.logs.map((l) => s.router.interface.parseLog(l)).find((p) => p?.name === "RequestExecuted")!;
      const [toExecutor, refund] = [ev.args.executorFee as bigint, ev.args.refund as bigint];
      expect(toExecutor + refund).to.equal(fee);
      expect(toExecutor % gasPrice).to.equal(0n);
      // Paid for the gas it spent (the receipt is net of the storage refund), nowhere near the fee.
      const paidGas = toExecutor / gasPrice;
      expect(paidGas).to.be.greaterThan((receipt.gasUsed * 8n) / 10n);
      expect(paidGas).to.be.lessThan(receipt.gasUsed * 2n);
      expect((await ethers.provider.getBalance(alice)) - aliceEth).to.equal(refund);
      expect((await ethers.provider.getBalance(keeper)) - keeperEth).to.equal(toExecutor - receipt.fee);
      expect(await ethers.provider.getBalance(s.router)).to.equal(0n);
    });

    it("test_execute_atAGasPriceAboveTheQuote_paysAtMostTheQuotedPrice", async () => {
      const s = await networkHelpers.loadFixture(system);
      const quoted = 2n * 10n ** 9n;
      const gas = await s.router.executionGas(Kind.Open);
      const r = await created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: gas * quoted, maxFeePerGas: quoted, maxPriorityFeePerGas: quoted }));
      await networkHelpers.time.increaseTo(r.settlesAt);
      const high = 50n * 10n ** 9n;
      const receipt = (await (await s.router.connect(s.signers.keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, Q), { maxFeePerGas: high, maxPriorityFeePerGas: high })).wait())!;
      const ev = receipt.logs.map((l) => s.router.interface.parseLog(l)).find((p) => p?.name === "RequestExecuted")!;
      expect((ev.args.executorFee as bigint) % quoted).to.equal(0n);
      expect(ev.args.executorFee as bigint).to.be.lessThan(receipt.gasUsed * 2n * quoted);
    });

    it("test_aRequesterThatRefusesNativeTokens_isOwedItsRefund_andWithdrawsIt", async () => {
      const s = await networkHelpers.loadFixture(system);
      const refuser = await ethers.deployContract("NativeRefuser", [s.router, s.token]);
      await (await s.token.connect(s.signers.alice).transfer(refuser, 1_000n * USDC)).wait();
      const fee = await s.fee(Kind.Open);
      const r = await created(s, refuser.requestOpen(ETH_MARKET, 1_000n * USDC, WAD, { value: fee }));
      await networkHelpers.time.increaseTo(r.settlesAt);
      const tx = s.router.connect(s.signers.keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, Q));
      await expect(tx).to.emit(s.router, "NativeOwed");
      const owed = await s.router.nativeOwed(refuser);
      expect(owed).to.be.greaterThan(0n);
      await expect(refuser.withdrawTo()).to.be.revertedWithCustomError(refuser, "Refused");
      await (await refuser.accept()).wait();
      await expect(refuser.withdrawTo()).to.changeEtherBalance(ethers, refuser, owed);
      await expect(s.router.connect(s.signers.bob).withdrawNative()).to.be.revertedWithCustomError(s.router, "NothingOwed").withArgs(s.signers.bob.address);
    });
  });

  describe("the engine accepts trades only through requests", () => {
    it("test_instantTrades_onceASettlerIsSet_revertTradesRequireRequest", async () => {
      const s = await networkHelpers.loadFixture(withPosition);
      const { alice } = s.signers;
      const router = await s.router.getAddress();
      await expect(s.engine.connect(alice).open(ETH_MARKET, true, 100n * USDC, WAD, MAX_UINT96, 2n ** 40n)).to.be.revertedWithCustomError(s.engine, "TradesRequireRequest").withArgs(router);
      await expect(s.engine.connect(alice).increase(1n, 100n * USDC, WAD, MAX_UINT96, 2n ** 40n)).to.be.revertedWithCustomError(s.engine, "TradesRequireRequest").withArgs(router);
      await expect(s.engine.connect(alice).decrease(1n, WAD / 2n, 0n, 2n ** 40n)).to.be.revertedWithCustomError(s.engine, "TradesRequireRequest").withArgs(router);
      await expect(s.engine.connect(alice).close(1n, 0n, 2n ** 40n)).to.be.revertedWithCustomError(s.engine, "TradesRequireRequest").withArgs(router);
      // Instant actions stay instant: a top-up needs no price, a removal takes no profit.
      await expect(s.engine.connect(alice).addCollateral(1n, USDC)).to.emit(s.engine, "CollateralAdded");
      await expect(s.engine.connect(alice).removeCollateral(1n, USDC)).to.emit(s.engine, "CollateralRemoved");
    });

    it("test_aDirectCallForgingTheSettlerSuffix_isStillRefused", async () => {
      const s = await networkHelpers.loadFixture(system);
      const data = s.engine.interface.encodeFunctionData("open", [ETH_MARKET, true, 100n * USDC, WAD, MAX_UINT96, 2n ** 40n]);
      const forged = ethers.concat([data, s.signers.alice.address, ethers.toBeHex(1n, 32)]);
      await expect(s.signers.alice.sendTransaction({ to: s.engine, data: forged })).to.be.revertedWithCustomError(s.engine, "TradesRequireRequest");
    });

    it("test_setSettler_isFinal", async () => {
      const s = await networkHelpers.loadFixture(system);
      const router = await s.router.getAddress();
      expect(await s.engine.settler()).to.equal(router);
      await expect(s.engine.setSettler(router)).to.be.revertedWithCustomError(s.engine, "SettlerAlreadySet").withArgs(router);
    });

    it("test_setSettler_byANonOwner_orToAnAccountWithoutCode_reverts", async () => {
      const { deployUnitSystem } = await import("../helpers/unit.js");
      const s = await deployUnitSystem(ethers);
      await expect(s.engine.connect(s.signers.alice).setSettler(s.signers.alice)).to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount").withArgs(s.signers.alice.address);
      await expect(s.engine.setSettler(s.signers.alice)).to.be.revertedWithCustomError(s.engine, "SettlerHasNoCode").withArgs(s.signers.alice.address);
      expect(await s.engine.settler()).to.equal(ethers.ZeroAddress);
    });
  });

  describe("governance", () => {
    it("test_setExecutionGas_boundsAndOwner", async () => {
      const s = await networkHelpers.loadFixture(system);
      await expect(s.router.connect(s.signers.alice).setExecutionGas(Kind.Open, 500_000n)).to.be.revertedWithCustomError(s.router, "Unauthorized").withArgs(s.signers.alice.address);
      await expect(s.router.setExecutionGas(Kind.Open, 99_999n)).to.be.revertedWithCustomError(s.router, "ParameterOutOfBounds").withArgs("executionGas", 99_999n, 100_000n, 5_000_000n);
      await expect(s.router.setExecutionGas(Kind.None, 500_000n)).to.be.revertedWithCustomError(s.router, "ParameterOutOfBounds").withArgs("kind", 0n, 1n, 4n);
      await expect(s.router.setExecutionGas(Kind.Open, 700_000n)).to.emit(s.router, "ExecutionGasSet").withArgs(Kind.Open, 700_000n);
      expect(await s.router.executionGas(Kind.Open)).to.equal(700_000n);
    });

    it("test_oracleParameters_boundsAndOwner_andAPendingRequestKeepsItsTiming", async () => {
      const s = await networkHelpers.loadFixture(system);
      const o = s.oracle;
      await expect(o.connect(s.signers.alice).setTiming(2n, 300n, 120n)).to.be.revertedWithCustomError(o, "Unauthorized").withArgs(s.signers.alice.address);
      await expect(o.setTiming(0n, 300n, 120n)).to.be.revertedWithCustomError(o, "ParameterOutOfBounds").withArgs("settlementDelay", 0n, 1n, 60n);
      await expect(o.setTiming(2n, 300n, 59n)).to.be.revertedWithCustomError(o, "ParameterOutOfBounds").withArgs("pushFallbackDelay", 59n, 60n, 86_400n);
      await expect(o.setTiming(2n, 100n, 120n)).to.be.revertedWithCustomError(o, "ParameterOutOfBounds").withArgs("expiry", 100n, 120n, 86_400n);
      await expect(o.setStream(0n, FEED_IDS[0], 501n)).to.be.revertedWithCustomError(o, "ParameterOutOfBounds").withArgs("maxDeviationBps", 501n, 1n, 500n);
      const v2 = "0x0002" + FEED_IDS[0].slice(6);
      await expect(o.setStream(0n, v2, 100n)).to.be.revertedWithCustomError(o, "ReportSchemaUnsupported").withArgs(v2, 2n);
      await expect(o.setStream(5n, FEED_IDS[0], 100n)).to.be.revertedWithCustomError(s.engine, "MarketNotListed").withArgs(5n);
      const r = await requestOpen(s);
      await expect(o.setTiming(10n, 600n, 200n)).to.emit(o, "TimingSet").withArgs(10n, 600n, 200n);
      // The pending request still settles at its own time.
      await expect(executeAt(s, networkHelpers, r, ETH_MARKET, Q)).to.emit(s.router, "RequestExecuted");
    });

    it("test_reportPrices_isOnlyForTheSettlerAndThePool", async () => {
      const s = await networkHelpers.loadFixture(system);
      await expect(s.oracle.connect(s.signers.alice).reportPrices(0n, "0x", 0n)).to.be.revertedWithCustomError(s.oracle, "Unauthorized").withArgs(s.signers.alice.address);
    });

    it("test_fill_isOnlyTheRoutersOwnSelfCall", async () => {
      const s = await networkHelpers.loadFixture(system);
      const r = await requestOpen(s);
      // A plain struct, not the returned Result: ethers resolves a call's addresses in place, and a Result is frozen.
      const { account, kind, isLong, marketId, createdAt, settlementDelay, positionId, acceptablePrice, executionFee, expiry, gasLimit, size, collateral } =
        await s.router.request(r.id);
      const stored = { account, kind, isLong, marketId, createdAt, settlementDelay, positionId, acceptablePrice, executionFee, expiry, gasLimit, size, collateral };
      await expect(s.router.connect(s.signers.alice).fill(stored, ASK)).to.be.revertedWithCustomError(s.router, "Unauthorized").withArgs(s.signers.alice.address);
    });

    it("test_aTokenThatCallsBackDuringARequestsPull_cannotReenterTheRouter", async () => {
      const s = await deployRequestSystem(ethers, { token: "ReentrantToken" });
      const rt = await ethers.getContractAt("ReentrantToken", s.token);
      const first = await requestOpen(s);
      await networkHelpers.time.increase(TIMING.expiry + 1n);
      // The second request's pull calls back into cancel(first): the guard refuses it.
      await (await rt.arm(s.router, s.router.interface.encodeFunctionData("cancel", [first.id]))).wait();
      await requestOpen(s);
      expect(await rt.lastCallSucceeded()).to.equal(false);
      expect(await rt.lastRevertData()).to.equal(s.router.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []));
      expect((await s.router.request(first.id)).kind).to.equal(Kind.Open);
    });

    it("test_router_withAnOracleOfAnotherEngine_revertsOracleEngineMismatch", async () => {
      const s = await networkHelpers.loadFixture(system);
      await expect(ethers.deployContract("BulkheadRouter", [s.pool, s.oracle])).to.be.revertedWithCustomError(s.router, "OracleEngineMismatch").withArgs(await s.engine.getAddress(), await s.pool.getAddress());
    });
  });
});
