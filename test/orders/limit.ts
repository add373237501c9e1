// Limit orders (IBulkheadOrderBook, DESIGN.md "Orders (v2)"): a limit open or increase escrows its
// amount in the book, waits on its side of the push price, and fills at the report's ask (buying)
// or bid (selling) once that fill price reaches the limit, with the router's open-fee rule.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, USDC, WAD, defaultParams, defaultRisk, wadFromFeed } from "../helpers/fixture.js";
import {
  OrderKind,
  OrderTarget,
  askOf,
  deployOrderSystem,
  expectBookConserved,
  nextReport,
  openFeeOf,
  openPosition,
  params,
  placeOrder,
  placed,
} from "../helpers/orders.js";
import { initialMargin } from "../helpers/reference.js";
import { Kind, created, executeAt } from "../helpers/requests.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18, the push price
const LONG_LIMIT = 2_990n * WAD;
const SHORT_LIMIT = 3_010n * WAD;
const AMOUNT = 1_000n * USDC;
const MAX_UINT96 = 2n ** 96n - 1n;
const MAX_UINT32 = 2n ** 32n - 1n;

async function system() {
  return deployOrderSystem(ethers);
}

/** Alice's long of 1 ETH with 1,000 USDC at the push price, as position 1. */
async function withLong() {
  const s = await system();
  await openPosition(s, networkHelpers);
  return s;
}

const limitOpen = (over: Partial<Parameters<typeof params>[0]> = {}) =>
  ({ kind: OrderKind.LimitOpen, marketId: ETH_MARKET, isLong: true, amount: AMOUNT, size: WAD, trigger: LONG_LIMIT, ...over });

describe("limit orders", () => {
  describe("placement", () => {
    it("test_placeLimitOpen_storesAndEmitsEveryField_escrowsTheAmountExactly_theLimitIsItsBound", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice } = s.signers;
      const fee = await s.orderFee(OrderKind.LimitOpen);
      const tokens = await s.token.balanceOf(alice);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      const validUntil = t + 1_000n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      // The acceptable price given is ignored: a limit's bound is its limit.
      await expect(s.book.connect(alice).place(params(limitOpen({ acceptablePrice: 1n, validUntil })), { value: fee }))
        .to.emit(s.book, "OrderPlaced")
        .withArgs(1n, alice.address, 0n, OrderKind.LimitOpen, OrderTarget.Position, ETH_MARKET, true, AMOUNT, WAD, LONG_LIMIT, LONG_LIMIT, fee, validUntil);
      const o = await s.book.order(1n);
      expect([o.owner, o.kind, o.isLong, o.marketId, o.positionId, o.observedAfter, o.target, o.trigger, o.acceptablePrice, o.executionFee, o.size, o.amount, o.validUntil]).to.deep.equal([
        alice.address, OrderKind.LimitOpen, true, ETH_MARKET, 0n, t, OrderTarget.Position, LONG_LIMIT, LONG_LIMIT, fee, WAD, AMOUNT, validUntil,
      ]);
      expect(tokens - (await s.token.balanceOf(alice))).to.equal(AMOUNT);
      expect(await s.token.balanceOf(s.book)).to.equal(AMOUNT);
      expect(await ethers.provider.getBalance(s.book)).to.equal(fee);
      expect(await s.book.nextOrderId()).to.equal(2n);
      await expectBookConserved(ethers, s);
    });

    it("test_placeLimit_atOrOnTheWrongSideOfThePushPrice_revertsTriggerOnWrongSide", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.LimitOpen);
      for (const trigger of [PX, PX + 1n]) {
        await expect(b.place(params(limitOpen({ trigger })), { value }))
          .to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide")
          .withArgs(OrderKind.LimitOpen, true, trigger, PX);
        await expect(b.place(params({ kind: OrderKind.LimitIncrease, positionId: 1n, amount: AMOUNT, size: WAD, trigger }), { value }))
          .to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide")
          .withArgs(OrderKind.LimitIncrease, true, trigger, PX);
      }
      for (const trigger of [PX, PX - 1n]) {
        await expect(b.place(params(limitOpen({ isLong: false, trigger })), { value }))
          .to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide")
          .withArgs(OrderKind.LimitOpen, false, trigger, PX);
      }
      await expect(b.place(params(limitOpen({ trigger: PX - 1n })), { value })).to.emit(s.book, "OrderPlaced");
      await expect(b.place(params(limitOpen({ isLong: false, trigger: PX + 1n })), { value })).to.emit(s.book, "OrderPlaced");
    });

    it("test_placeLimit_aZeroLimitAmountOrSize_revertsZeroAmount_andValuesPastTheirStorage_revertAmountTooLarge", async () => {
      const s = await networkHelpers.loadFixture(system);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.LimitOpen);
      await expect(b.place(params(limitOpen({ trigger: 0n })), { value })).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(b.place(params(limitOpen({ amount: 0n })), { value })).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(b.place(params(limitOpen({ size: 0n })), { value })).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(b.place(params(limitOpen({ amount: MAX_UINT96 + 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(MAX_UINT96 + 1n, MAX_UINT96);
      await expect(b.place(params(limitOpen({ trigger: MAX_UINT96 + 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(MAX_UINT96 + 1n, MAX_UINT96);
      await expect(b.place(params(limitOpen({ size: 2n ** 128n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(2n ** 128n, 2n ** 128n - 1n);
      await expect(b.place(params(limitOpen({ validUntil: MAX_UINT32 + 1n })), { value })).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(MAX_UINT32 + 1n, MAX_UINT32);
    });

    it("test_placeLimit_validUntilNowOrEarlier_revertsValidUntilInPast", async () => {
      const s = await networkHelpers.loadFixture(system);
      const value = await s.orderFee(OrderKind.LimitOpen);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(s.book.connect(s.signers.alice).place(params(limitOpen({ validUntil: t })), { value })).to.be.revertedWithCustomError(s.book, "ValidUntilInPast").withArgs(t, t);
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(s.book.connect(s.signers.alice).place(params(limitOpen({ validUntil: t + 1n })), { value })).to.emit(s.book, "OrderPlaced");
    });

    it("test_placeLimit_kindNone_aLimitOpenWithAPositionOrTarget_aLimitIncreaseOnAnOpenRequest_revertOrderKindInvalid", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const b = s.book.connect(s.signers.alice);
      const value = await s.orderFee(OrderKind.LimitOpen);
      await expect(b.place(params(limitOpen({ kind: OrderKind.None })), { value })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.None, OrderTarget.Position);
      await expect(b.place(params(limitOpen({ positionId: 1n })), { value })).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.LimitOpen, OrderTarget.Position);
      await expect(b.place(params(limitOpen({ target: OrderTarget.OpenRequest, positionId: 1n })), { value }))
        .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
        .withArgs(OrderKind.LimitOpen, OrderTarget.OpenRequest);
      await expect(b.place(params({ kind: OrderKind.LimitIncrease, target: OrderTarget.OpenRequest, positionId: 1n, amount: AMOUNT, size: WAD, trigger: LONG_LIMIT }), { value }))
        .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
        .withArgs(OrderKind.LimitIncrease, OrderTarget.OpenRequest);
      await expect(b.place(params({ kind: OrderKind.LimitIncrease, target: OrderTarget.LimitOpenOrder, positionId: 1n, amount: AMOUNT, size: WAD, trigger: LONG_LIMIT }), { value }))
        .to.be.revertedWithCustomError(s.book, "OrderKindInvalid")
        .withArgs(OrderKind.LimitIncrease, OrderTarget.LimitOpenOrder);
    });

    it("test_placeLimitOpen_onAMarketWithoutAStream_revertsStreamNotConfigured", async () => {
      const s = await networkHelpers.loadFixture(system);
      const feed = await ethers.deployContract("MockV3Aggregator", [8, ETH_PRICE]);
      await (await s.engine.listMarket(feed, 3600n, defaultParams, defaultRisk)).wait();
      await expect(s.book.connect(s.signers.alice).place(params(limitOpen({ marketId: 2n })), { value: await s.orderFee(OrderKind.LimitOpen) }))
        .to.be.revertedWithCustomError(s.oracle, "StreamNotConfigured")
        .withArgs(2n);
    });
  });

  describe("execution", () => {
    it("test_executeLimitOpenLong_opensAtTheAsk_onceTheAskIsAtMostTheLimit_collateralIsTheAmountLessTheOpenFee", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, limitOpen());
      // The benchmark below the limit does not fill it: the ask, what a long pays, must be.
      const above = await nextReport(s, networkHelpers, ETH_MARKET, { price: LONG_LIMIT - WAD, ask: LONG_LIMIT + 1n });
      await expect(s.book.connect(keeper).execute(o.id, above.report))
        .to.be.revertedWithCustomError(s.book, "TriggerNotCrossed")
        .withArgs(o.id, LONG_LIMIT, LONG_LIMIT + 1n);
      const at = await nextReport(s, networkHelpers, ETH_MARKET, { price: LONG_LIMIT - WAD, ask: LONG_LIMIT });
      const fee = openFeeOf(s, WAD, LONG_LIMIT);
      await expect(s.book.connect(keeper).execute(o.id, at.report))
        .to.emit(s.engine, "PositionOpened")
        .withArgs(1n, alice.address, ETH_MARKET, true, WAD, LONG_LIMIT, AMOUNT - fee, fee, 0n, (v: bigint) => v > 0n)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, LONG_LIMIT, at.t, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect(await s.engine.ownerOf(1n)).to.equal(alice.address);
      expect(await s.token.balanceOf(await s.engine.vaultOf(1n))).to.equal(AMOUNT - fee);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.None);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLimitOpenShort_opensAtTheBid_onceTheBidIsAtLeastTheLimit", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, limitOpen({ isLong: false, trigger: SHORT_LIMIT }));
      const below = await nextReport(s, networkHelpers, ETH_MARKET, { price: SHORT_LIMIT + WAD, bid: SHORT_LIMIT - 1n });
      await expect(s.book.connect(keeper).execute(o.id, below.report))
        .to.be.revertedWithCustomError(s.book, "TriggerNotCrossed")
        .withArgs(o.id, SHORT_LIMIT, SHORT_LIMIT - 1n);
      const at = await nextReport(s, networkHelpers, ETH_MARKET, { price: SHORT_LIMIT + WAD, bid: SHORT_LIMIT });
      const fee = openFeeOf(s, WAD, SHORT_LIMIT);
      await expect(s.book.connect(keeper).execute(o.id, at.report))
        .to.emit(s.engine, "PositionOpened")
        .withArgs(1n, alice.address, ETH_MARKET, false, WAD, SHORT_LIMIT, AMOUNT - fee, fee, 0n, (v: bigint) => v > 0n);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLimitIncrease_addsTheSizeAtTheAsk_theOpenFeeComesOutOfTheEscrowedAmount", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, { kind: OrderKind.LimitIncrease, positionId: 1n, amount: 500n * USDC, size: WAD, trigger: LONG_LIMIT });
      expect(await s.token.balanceOf(s.book)).to.equal(500n * USDC);
      const price = 2_985n * WAD;
      const ask = askOf(price);
      const fee = openFeeOf(s, WAD, ask);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionIncreased")
        .withArgs(1n, WAD, 500n * USDC - fee, ask, () => true, fee, () => true, 2n * WAD, ask, () => true, () => true, 0n, () => true)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, ask, r.t, () => true, () => true);
      expect((await s.engine.position(1n)).size).to.equal(2n * WAD);
      await expectBookConserved(ethers, s);
    });

    it("test_executeShortLimitIncrease_addsTheSizeAtTheBid_onceTheBidIsAtLeastTheLimit", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const id = await openPosition(s, networkHelpers, { isLong: false });
      const o = await placeOrder(s, alice, { kind: OrderKind.LimitIncrease, positionId: id, amount: 500n * USDC, size: WAD, trigger: SHORT_LIMIT });
      const below = await nextReport(s, networkHelpers, ETH_MARKET, { price: SHORT_LIMIT + WAD, bid: SHORT_LIMIT - 1n });
      await expect(s.book.connect(keeper).execute(o.id, below.report))
        .to.be.revertedWithCustomError(s.book, "TriggerNotCrossed")
        .withArgs(o.id, SHORT_LIMIT, SHORT_LIMIT - 1n);
      const at = await nextReport(s, networkHelpers, ETH_MARKET, { price: SHORT_LIMIT + WAD, bid: SHORT_LIMIT });
      const fee = openFeeOf(s, WAD, SHORT_LIMIT);
      await expect(s.book.connect(keeper).execute(o.id, at.report))
        .to.emit(s.engine, "PositionIncreased")
        .withArgs(id, WAD, 500n * USDC - fee, SHORT_LIMIT, () => true, fee, () => true, 2n * WAD, SHORT_LIMIT, () => true, () => true, 0n, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLimitOpen_theRouterRefusingTheTrade_reverts_andTheOrderAndItsEscrowStay", async () => {
      const s = await networkHelpers.loadFixture(system);
      const o = await placeOrder(s, s.signers.alice, limitOpen({ amount: USDC }));
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: LONG_LIMIT - WAD, ask: LONG_LIMIT });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report))
        .to.be.revertedWithCustomError(s.router, "AmountBelowOpenFee")
        .withArgs(USDC, openFeeOf(s, WAD, LONG_LIMIT));
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.LimitOpen);
      expect(await s.token.balanceOf(s.book)).to.equal(USDC);
      expect(await s.engine.nextPositionId()).to.equal(1n);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLimitOpen_theEngineRefusingTheTrade_reverts_andTheOrderStays", async () => {
      const s = await networkHelpers.loadFixture(system);
      // 20 USDC of collateral for 3,000 USDC of notional: below 2 % initial margin at 50x.
      const fee = openFeeOf(s, WAD, LONG_LIMIT);
      const o = await placeOrder(s, s.signers.alice, limitOpen({ amount: 20n * USDC + fee }));
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: LONG_LIMIT - WAD, ask: LONG_LIMIT });
      const required = initialMargin(s.u.notional(WAD, LONG_LIMIT), defaultParams.maxLeverage);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.engine, "InsufficientMargin").withArgs(20n * USDC, required);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.LimitOpen);
      await expectBookConserved(ethers, s);
    });

    it("test_executeLimitIncrease_onAPositionClosedSince_revertsOrderPositionGone_andReturnsItsEscrowWhenPruned", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const o = await placeOrder(s, alice, { kind: OrderKind.LimitIncrease, positionId: 1n, amount: 500n * USDC, size: WAD, trigger: LONG_LIMIT });
      const close = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
      await executeAt(s, networkHelpers, close, ETH_MARKET, { price: PX });
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: LONG_LIMIT - WAD });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 1n);
      const tokens = await s.token.balanceOf(alice);
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled");
      expect((await s.token.balanceOf(alice)) - tokens).to.equal(500n * USDC);
      await expectBookConserved(ethers, s);
    });

    it("test_placeLimitOpen_byTwoTraders_eachIsItsOwnOrder_withItsOwnEscrow", async () => {
      const s = await networkHelpers.loadFixture(system);
      const value = await s.orderFee(OrderKind.LimitOpen);
      const a = await placed(s, s.book.connect(s.signers.alice).place(params(limitOpen()), { value }));
      const b = await placed(s, s.book.connect(s.signers.bob).place(params(limitOpen({ isLong: false, trigger: SHORT_LIMIT, amount: 2n * AMOUNT })), { value }));
      expect([a.id, b.id]).to.deep.equal([1n, 2n]);
      expect(await s.token.balanceOf(s.book)).to.equal(3n * AMOUNT);
      await expectBookConserved(ethers, s);
    });
  });
});
