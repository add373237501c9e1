// An order's life around its fill (IBulkheadOrderBook): who may place it, attaching it to an open
// that has not filled yet, editing, cancelling and pruning it, what its executor and owner are paid,
// and the governance and hooks only the engine's owner, the router and the book may call.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import {
  CancelReason,
  OrderKind,
  OrderTarget,
  bidOf,
  deployOrderSystem,
  executedOf,
  expectBookConserved,
  nextReport,
  openPosition,
  params,
  placeOrder,
  placed,
} from "../helpers/orders.js";
import { Kind, TIMING, created, executeAt } from "../helpers/requests.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const STOP = 2_980n * WAD;
const LIMIT = 2_990n * WAD;
const AMOUNT = 1_000n * USDC;
const MAX_UINT96 = 2n ** 96n - 1n;
const GWEI = 10n ** 9n;

async function system() {
  return deployOrderSystem(ethers);
}

/** Alice's long of 1 ETH with 1,000 USDC at the push price, as position 1. */
async function withLong() {
  const s = await system();
  await openPosition(s, networkHelpers);
  return s;
}

type S = Awaited<ReturnType<typeof system>>;

const stop = (positionId = 1n, over: Partial<Parameters<typeof params>[0]> = {}) =>
  ({ kind: OrderKind.StopLoss, positionId, trigger: STOP, acceptablePrice: 2_900n * WAD, ...over });
const limitOpen = (over: Partial<Parameters<typeof params>[0]> = {}) =>
  ({ kind: OrderKind.LimitOpen, marketId: ETH_MARKET, isLong: true, amount: AMOUNT, size: WAD, trigger: LIMIT, ...over });

async function requestOpen(s: S, acceptable = MAX_UINT96) {
  return created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, AMOUNT, WAD, acceptable, { value: await s.fee(Kind.Open) }));
}

async function closeByRequest(s: S, positionId: bigint) {
  const r = await created(s, s.router.connect(s.signers.alice).requestClose(positionId, 0n, { value: await s.fee(Kind.Close) }));
  await executeAt(s, networkHelpers, r, ETH_MARKET, { price: PX });
}

describe("order lifecycle", () => {
  describe("who may place an order", () => {
    it("test_place_byAStrangerToThePosition_revertsNotPositionOwner_anApprovedAccountOrAnOperatorMay", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob, carol } = s.signers;
      const value = await s.orderFee(OrderKind.LimitIncrease);
      await expect(s.book.connect(bob).place(params(stop()), { value })).to.be.revertedWithCustomError(s.book, "NotPositionOwner").withArgs(1n, bob.address);
      await expect(s.book.connect(bob).place(params({ kind: OrderKind.LimitIncrease, positionId: 1n, amount: AMOUNT, size: WAD, trigger: LIMIT }), { value }))
        .to.be.revertedWithCustomError(s.book, "NotPositionOwner")
        .withArgs(1n, bob.address);
      await (await s.engine.connect(alice).approve(carol, 1n)).wait();
      await expect(s.book.connect(carol).place(params(stop()), { value })).to.emit(s.book, "OrderPlaced").withArgs(1n, carol.address, 1n, OrderKind.StopLoss, OrderTarget.Position, ETH_MARKET, true, 0n, 0n, STOP, 2_900n * WAD, value, 0n);
      await (await s.engine.connect(alice).setApprovalForAll(bob, true)).wait();
      await expect(s.book.connect(bob).place(params(stop()), { value })).to.emit(s.book, "OrderPlaced");
      await expectBookConserved(ethers, s);
    });

    it("test_place_onNoPosition_revertsPositionNotFound", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const value = await s.orderFee(OrderKind.StopLoss);
      await expect(s.book.connect(s.signers.alice).place(params(stop(99n)), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(99n);
      await closeByRequest(s, 1n);
      await expect(s.book.connect(s.signers.alice).place(params(stop(1n)), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(1n);
    });
  });

  describe("execution fees", () => {
    it("test_place_belowTheQuoteAtTheTransactionsGasPrice_revertsExecutionFeeTooLow", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const gasPrice = 7n * GWEI;
      const required = (await s.book.executionGas(OrderKind.StopLoss)) * gasPrice;
      expect(await s.book.quoteExecutionFee(OrderKind.StopLoss, gasPrice)).to.equal(required);
      const gas = { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice };
      await expect(s.book.connect(s.signers.alice).place(params(stop()), { value: required - 1n, ...gas }))
        .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
        .withArgs(required - 1n, required);
      await expect(s.book.connect(s.signers.alice).place(params(stop()), { value: required, ...gas })).to.emit(s.book, "OrderPlaced");
    });

    it("test_place_aFeePastItsStorage_revertsExecutionFeeTooLarge", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const max = 2n ** 64n - 1n;
      await networkHelpers.setBalance(s.signers.alice.address, 10n ** 21n);
      await expect(s.book.connect(s.signers.alice).place(params(stop()), { value: max + 1n }))
        .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLarge")
        .withArgs(max + 1n, max);
      await expect(s.book.connect(s.signers.alice).place(params(stop()), { value: max })).to.emit(s.book, "OrderPlaced");
      // One check, with the book's own bound, however far past it the fee is.
      const max96 = 2n ** 96n - 1n;
      await networkHelpers.setBalance(s.signers.alice.address, 2n ** 97n);
      await expect(s.book.connect(s.signers.alice).place(params(stop()), { value: max96 + 1n }))
        .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLarge")
        .withArgs(max96 + 1n, max);
      await expectBookConserved(ethers, s);
    });

    it("test_execute_paysTheExecutorItsGasAtItsGasPrice_andRefundsTheRestToTheOwner_exactly", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, stop());
      const fee = await s.orderFee(OrderKind.StopLoss);
      const gasPrice = 3n * GWEI;
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      const [aliceEth, keeperEth] = [await ethers.provider.getBalance(alice), await ethers.provider.getBalance(keeper)];
      const tx = await s.book.connect(keeper).execute(o.id, r.report, { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice });
      const { toExecutor, refund, receipt } = await executedOf(s, tx);
      expect(toExecutor + refund).to.equal(fee);
      expect(toExecutor % gasPrice).to.equal(0n);
      // Paid for the gas it spent (the receipt is net of the storage refund), nowhere near the fee.
      const paidGas = toExecutor / gasPrice;
      expect(paidGas).to.be.greaterThan((receipt.gasUsed * 8n) / 10n);
      expect(paidGas).to.be.lessThan(receipt.gasUsed * 2n);
      expect((await ethers.provider.getBalance(alice)) - aliceEth).to.equal(refund);
      expect((await ethers.provider.getBalance(keeper)) - keeperEth).to.equal(toExecutor - receipt.fee);
      await expectBookConserved(ethers, s);
    });

    it("test_execute_atAGasPriceAboveTheOrdersQuote_paysAtMostTheQuotedPrice", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const quoted = 2n * GWEI;
      const gasLimit = await s.book.executionGas(OrderKind.StopLoss);
      const o = await placed(s, s.book.connect(s.signers.alice).place(params(stop()), { value: gasLimit * quoted, maxFeePerGas: quoted, maxPriorityFeePerGas: quoted }));
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      const high = 50n * GWEI;
      const { toExecutor, refund, receipt } = await executedOf(s, await s.book.connect(s.signers.keeper).execute(o.id, r.report, { maxFeePerGas: high, maxPriorityFeePerGas: high }));
      expect(toExecutor + refund).to.equal(gasLimit * quoted);
      expect(toExecutor % quoted).to.equal(0n);
      expect(toExecutor).to.be.lessThan(receipt.gasUsed * 2n * quoted);
      await expectBookConserved(ethers, s);
    });

    it("test_anOwnerThatRefusesNativeTokens_isOwedItsRefund_andWithdrawsIt", async () => {
      const s = await networkHelpers.loadFixture(system);
      // A contract wallet without a receive hook places a limit open through the book.
      const refuser = await ethers.deployContract("NativeRefuser", [s.router, s.token]);
      const wallet = await refuser.getAddress();
      await (await s.token.connect(s.signers.alice).transfer(wallet, AMOUNT)).wait();
      await networkHelpers.impersonateAccount(wallet);
      await networkHelpers.setBalance(wallet, 10n ** 18n);
      const asWallet = await ethers.getSigner(wallet);
      await (await s.token.connect(asWallet).approve(s.book, AMOUNT)).wait();
      const o = await placeOrder(s, asWallet, limitOpen());
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: LIMIT - WAD, ask: LIMIT });
      const tx = await s.book.connect(s.signers.keeper).execute(o.id, r.report);
      const { refund } = await executedOf(s, tx);
      await expect(tx).to.emit(s.book, "NativeOwed").withArgs(wallet, refund);
      expect(await s.book.nativeOwed(wallet)).to.equal(refund);
      await expectBookConserved(ethers, s, [wallet]);
      await (await refuser.accept()).wait();
      const before = await ethers.provider.getBalance(wallet);
      const receipt = (await (await s.book.connect(asWallet).withdrawNative()).wait())!;
      expect((await ethers.provider.getBalance(wallet)) - before).to.equal(refund - receipt.fee);
      expect(await s.book.nativeOwed(wallet)).to.equal(0n);
      await expect(s.book.connect(asWallet).withdrawNative()).to.be.revertedWithCustomError(s.book, "NothingOwed").withArgs(wallet);
      await networkHelpers.stopImpersonatingAccount(wallet);
      await expectBookConserved(ethers, s, [wallet]);
    });
  });

  describe("attached orders", () => {
    it("test_attachToAnOpenRequest_isForTheRequestersOwnPendingOpenOnly", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const value = await s.orderFee(OrderKind.StopLoss);
      const close = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
      const open = await requestOpen(s);
      const attach = (id: bigint) => params(stop(id, { target: OrderTarget.OpenRequest }));
      await expect(s.book.connect(bob).place(attach(open.id), { value })).to.be.revertedWithCustomError(s.book, "NotPositionOwner").withArgs(open.id, bob.address);
      await expect(s.book.connect(alice).place(attach(close.id), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(close.id);
      await expect(s.book.connect(alice).place(attach(99n), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(99n);
      // Its range is checked at the push price, for the request's market and side.
      await expect(s.book.connect(alice).place(attach(open.id), { value: value }))
        .to.emit(s.book, "OrderPlaced")
        .withArgs(1n, alice.address, open.id, OrderKind.StopLoss, OrderTarget.OpenRequest, ETH_MARKET, true, 0n, 0n, STOP, 2_900n * WAD, value, 0n);
      await expect(s.book.connect(alice).place(params(stop(open.id, { target: OrderTarget.OpenRequest, trigger: PX })), { value }))
        .to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide")
        .withArgs(OrderKind.StopLoss, true, PX, PX);
      expect(await s.book.attachedPosition(OrderTarget.OpenRequest, open.id)).to.equal(0n);
    });

    it("test_anOrderAttachedToAnOpenRequest_isNotActiveUntilItFills_thenActsOnTheNewPosition", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, keeper } = s.signers;
      const open = await requestOpen(s);
      const o = await placeOrder(s, alice, stop(open.id, { target: OrderTarget.OpenRequest }));
      const early = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, early.report)).to.be.revertedWithCustomError(s.book, "OrderNotActive").withArgs(o.id);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(o.id);
      await expect(executeAt(s, networkHelpers, open, ETH_MARKET, { price: PX })).to.emit(s.book, "AttachedOpenFilled").withArgs(OrderTarget.OpenRequest, open.id, 1n);
      expect(await s.book.attachedPosition(OrderTarget.OpenRequest, open.id)).to.equal(1n);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(o.id);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD, bidOf(STOP), () => true, () => true, () => true, () => true, 0n, () => true, () => true)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(o.id, keeper.address, 1n, bidOf(STOP), r.t, () => true, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_anOpenRequestWithoutAttachedOrders_emitsNoAttachedOpenFilled", async () => {
      const s = await networkHelpers.loadFixture(system);
      const open = await requestOpen(s);
      await expect(executeAt(s, networkHelpers, open, ETH_MARKET, { price: PX })).to.emit(s.router, "RequestExecuted").and.not.to.emit(s.book, "AttachedOpenFilled");
      expect(await s.book.attachedPosition(OrderTarget.OpenRequest, open.id)).to.equal(0n);
    });

    it("test_anOrderAttachedToAnOpenRequestTheRouterRefused_isDead_andPrunable", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, keeper } = s.signers;
      const open = await requestOpen(s, PX); // the ask is above it: the router cancels the request
      const o = await placeOrder(s, alice, stop(open.id, { target: OrderTarget.OpenRequest }));
      await expect(executeAt(s, networkHelpers, open, ETH_MARKET, { price: PX })).to.emit(s.router, "RequestCancelled").and.not.to.emit(s.book, "AttachedOpenFilled");
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 0n);
      const fee = await s.orderFee(OrderKind.StopLoss);
      const eth = await ethers.provider.getBalance(alice);
      const tx = await s.book.connect(bob).prune(o.id);
      const receipt = (await tx.wait())!;
      const ev = receipt.logs.map((l) => s.book.interface.parseLog(l)).find((p) => p?.name === "OrderCancelled")!;
      await expect(tx).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, ev.args.toExecutor, fee - (ev.args.toExecutor as bigint));
      expect((await ethers.provider.getBalance(alice)) - eth).to.equal(fee - (ev.args.toExecutor as bigint));
      await expectBookConserved(ethers, s);
    });

    it("test_anOrderAttachedToAnOpenRequestThatExpired_isDead_andPrunableByAnyone", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, keeper } = s.signers;
      const open = await requestOpen(s);
      const o = await placeOrder(s, alice, stop(open.id, { target: OrderTarget.OpenRequest }));
      const expiresAt = open.createdAt + TIMING.expiry;
      // To its last second the request may fill: the order waits for it.
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(o.id);
      // Past it the router refuses the request, whether or not its requester cancels it.
      await networkHelpers.time.setNextBlockTimestamp(expiresAt + 1n);
      await expect(s.router.connect(keeper).execute(open.id, s.signAt(ETH_MARKET, open.settlesAt, { price: PX })))
        .to.be.revertedWithCustomError(s.router, "RequestExpired")
        .withArgs(open.id, expiresAt, expiresAt + 1n);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 0n);
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      await expectBookConserved(ethers, s);
    });

    it("test_anOrderAttachedToAnExpiredLimitOpen_isDead_andPrunableByAnyone", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, keeper } = s.signers;
      const validUntil = BigInt(await networkHelpers.time.latest()) + 100n;
      const limit = await placeOrder(s, alice, limitOpen({ validUntil }));
      const o = await placeOrder(s, alice, stop(limit.id, { target: OrderTarget.LimitOpenOrder }));
      await networkHelpers.time.setNextBlockTimestamp(validUntil);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(o.id);
      await networkHelpers.time.setNextBlockTimestamp(validUntil + 1n);
      const r = s.signAt(ETH_MARKET, validUntil, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, r)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 0n);
      // Before the expired limit itself is pruned.
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect((await s.book.order(limit.id)).kind).to.equal(OrderKind.LimitOpen);
      await expectBookConserved(ethers, s);
    });

    it("test_attachToALimitOpen_isForTheOwnersLimitOpenOnly_andActsOnThePositionItsFillOpens", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob, keeper } = s.signers;
      const limit = await placeOrder(s, alice, limitOpen());
      const other = await placeOrder(s, alice, stop(1n));
      const value = await s.orderFee(OrderKind.StopLoss);
      const attach = (id: bigint) => params(stop(id, { target: OrderTarget.LimitOpenOrder }));
      await expect(s.book.connect(bob).place(attach(limit.id), { value })).to.be.revertedWithCustomError(s.book, "NotPositionOwner").withArgs(limit.id, bob.address);
      await expect(s.book.connect(alice).place(attach(other.id), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(other.id);
      await expect(s.book.connect(alice).place(attach(99n), { value })).to.be.revertedWithCustomError(s.book, "PositionNotFound").withArgs(99n);
      const o = await placeOrder(s, alice, stop(limit.id, { target: OrderTarget.LimitOpenOrder }));
      const early = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, early.report)).to.be.revertedWithCustomError(s.book, "OrderNotActive").withArgs(o.id);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(o.id);
      const fill = await nextReport(s, networkHelpers, ETH_MARKET, { price: LIMIT - WAD, ask: LIMIT });
      await expect(s.book.connect(keeper).execute(limit.id, fill.report))
        .to.emit(s.book, "AttachedOpenFilled")
        .withArgs(OrderTarget.LimitOpenOrder, limit.id, 2n)
        .and.to.emit(s.book, "OrderExecuted")
        .withArgs(limit.id, keeper.address, 2n, LIMIT, fill.t, () => true, () => true);
      expect(await s.book.attachedPosition(OrderTarget.LimitOpenOrder, limit.id)).to.equal(2n);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(2n, alice.address, WAD, bidOf(STOP), () => true, () => true, () => true, () => true, 0n, () => true, () => true);
      expect((await s.engine.position(1n)).size).to.equal(WAD);
      await expectBookConserved(ethers, s);
    });

    it("test_anOrderAttachedToACancelledLimitOpen_isDead_andPrunable", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob } = s.signers;
      const limit = await placeOrder(s, alice, limitOpen());
      const o = await placeOrder(s, alice, stop(limit.id, { target: OrderTarget.LimitOpenOrder }));
      await (await s.book.connect(alice).cancel(limit.id)).wait();
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(s.signers.keeper).execute(o.id, r.report)).to.be.revertedWithCustomError(s.book, "OrderPositionGone").withArgs(o.id, 0n);
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      await expectBookConserved(ethers, s);
    });
  });

  describe("edit", () => {
    it("test_edit_byAStrangerOrOfNoOrder_reverts", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const o = await placeOrder(s, s.signers.alice, stop());
      await expect(s.book.connect(s.signers.bob).edit(o.id, 0n, STOP, 0n, 0n)).to.be.revertedWithCustomError(s.book, "NotOrderOwner").withArgs(o.id, s.signers.bob.address);
      await expect(s.book.connect(s.signers.alice).edit(99n, 0n, STOP, 0n, 0n)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(99n);
    });

    it("test_edit_revalidatesTheOrderLikeAPlacement", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const b = s.book.connect(s.signers.alice);
      const o = await placeOrder(s, s.signers.alice, stop());
      const limit = await placeOrder(s, s.signers.alice, limitOpen());
      await expect(b.edit(o.id, 0n, PX, 0n, 0n)).to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide").withArgs(OrderKind.StopLoss, true, PX, PX);
      await expect(b.edit(o.id, 0n, 0n, 0n, 0n)).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(b.edit(o.id, 0n, STOP, STOP + 1n, 0n)).to.be.revertedWithCustomError(s.book, "AcceptablePriceUnreachable").withArgs(STOP, STOP + 1n);
      await expect(b.edit(o.id, 2n ** 128n, STOP, 0n, 0n)).to.be.revertedWithCustomError(s.book, "AmountTooLarge").withArgs(2n ** 128n, 2n ** 128n - 1n);
      await expect(b.edit(limit.id, 0n, LIMIT, 0n, 0n)).to.be.revertedWithCustomError(s.book, "ZeroAmount");
      await expect(b.edit(limit.id, WAD, PX, 0n, 0n)).to.be.revertedWithCustomError(s.book, "TriggerOnWrongSide").withArgs(OrderKind.LimitOpen, true, PX, PX);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(b.edit(o.id, 0n, STOP, 0n, t)).to.be.revertedWithCustomError(s.book, "ValidUntilInPast").withArgs(t, t);
    });

    it("test_edit_storesTheNewValues_andOnlyReportsObservedAfterTheEditFillIt", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, stop());
      // A crossing report observed after the placement, before the edit.
      const between = o.placedAt + 1n;
      const old = s.signAt(ETH_MARKET, between, { price: STOP - WAD });
      await networkHelpers.time.increase(5);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const [trigger, acceptable, validUntil] = [2_985n * WAD, 2_950n * WAD, t + 600n];
      await expect(s.book.connect(alice).edit(o.id, WAD / 2n, trigger, acceptable, validUntil)).to.emit(s.book, "OrderEdited").withArgs(o.id, WAD / 2n, trigger, acceptable, validUntil);
      const e = await s.book.order(o.id);
      expect([e.size, e.trigger, e.acceptablePrice, e.validUntil, e.observedAfter, e.executionFee]).to.deep.equal([WAD / 2n, trigger, acceptable, validUntil, t, await s.orderFee(OrderKind.StopLoss)]);
      await expect(s.book.connect(keeper).execute(o.id, old)).to.be.revertedWithCustomError(s.book, "ReportNotAfterOrder").withArgs(o.id, between, t);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: trigger });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD / 2n, bidOf(trigger), () => true, () => true, () => true, () => true, WAD / 2n, () => true, () => true);
      await expectBookConserved(ethers, s);
    });

    it("test_editLimitOpen_keepsItsEscrow_andItsNewLimitIsItsBound", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, keeper } = s.signers;
      const o = await placeOrder(s, alice, limitOpen());
      const newLimit = 2_995n * WAD;
      await expect(s.book.connect(alice).edit(o.id, 2n * WAD, newLimit, 1n, 0n)).to.emit(s.book, "OrderEdited").withArgs(o.id, 2n * WAD, newLimit, newLimit, 0n);
      expect((await s.book.order(o.id)).amount).to.equal(AMOUNT);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: newLimit - WAD, ask: newLimit });
      await expect(s.book.connect(keeper).execute(o.id, r.report))
        .to.emit(s.engine, "PositionOpened")
        .withArgs(1n, alice.address, ETH_MARKET, true, 2n * WAD, newLimit, () => true, () => true, 0n, () => true);
      await expectBookConserved(ethers, s);
    });
  });

  describe("cancel", () => {
    it("test_cancel_byAStrangerOrOfNoOrder_reverts", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const o = await placeOrder(s, s.signers.alice, stop());
      await expect(s.book.connect(s.signers.bob).cancel(o.id)).to.be.revertedWithCustomError(s.book, "NotOrderOwner").withArgs(o.id, s.signers.bob.address);
      await expect(s.book.connect(s.signers.alice).cancel(99n)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(99n);
    });

    it("test_cancel_aLimitOpen_returnsItsAmountAndItsWholeFee_exactly_reasonOwner", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice } = s.signers;
      const tokens = await s.token.balanceOf(alice);
      const o = await placeOrder(s, alice, limitOpen());
      const fee = await s.orderFee(OrderKind.LimitOpen);
      const eth = await ethers.provider.getBalance(alice);
      const tx = await s.book.connect(alice).cancel(o.id);
      const receipt = (await tx.wait())!;
      await expect(tx).to.emit(s.book, "OrderCancelled").withArgs(o.id, alice.address, CancelReason.Owner, 0n, fee);
      expect(await s.token.balanceOf(alice)).to.equal(tokens);
      expect((await ethers.provider.getBalance(alice)) - eth).to.equal(fee - receipt.fee);
      expect((await s.book.order(o.id)).kind).to.equal(OrderKind.None);
      expect(await s.token.balanceOf(s.book)).to.equal(0n);
      expect(await ethers.provider.getBalance(s.book)).to.equal(0n);
      await expect(s.book.connect(alice).cancel(o.id)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(o.id);
    });

    it("test_cancel_aTopUpGuard_byItsOwnerOnly_deletesIt", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const g = await placed(s, s.book.connect(alice).setTopUpGuard(1n, (3n * WAD) / 2n, 100n * USDC, 200n * USDC, USDC, 0n));
      await expect(s.book.connect(bob).cancel(g.id)).to.be.revertedWithCustomError(s.book, "NotOrderOwner").withArgs(g.id, bob.address);
      await expect(s.book.connect(alice).cancel(g.id)).to.emit(s.book, "OrderCancelled").withArgs(g.id, alice.address, CancelReason.Owner, 0n, 0n);
      expect((await s.book.topUpGuard(g.id)).owner).to.equal(ethers.ZeroAddress);
      await expect(s.book.connect(alice).cancel(g.id)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(g.id);
      await expectBookConserved(ethers, s);
    });
  });

  describe("prune", () => {
    it("test_prune_aLiveOrderOrGuard_revertsOrderStillLive_andNoOrder_OrderNotFound", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const validUntil = BigInt(await networkHelpers.time.latest()) + 100n;
      const o = await placeOrder(s, alice, stop());
      const limit = await placeOrder(s, alice, limitOpen({ validUntil }));
      const g = await placed(s, s.book.connect(alice).setTopUpGuard(1n, (3n * WAD) / 2n, 100n * USDC, 200n * USDC, USDC, 0n));
      for (const id of [o.id, limit.id, g.id]) await expect(s.book.connect(bob).prune(id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(id);
      // A limit open lives to the end of its validUntil second.
      await networkHelpers.time.setNextBlockTimestamp(validUntil);
      await expect(s.book.connect(bob).prune(limit.id)).to.be.revertedWithCustomError(s.book, "OrderStillLive").withArgs(limit.id);
      await expect(s.book.connect(bob).prune(99n)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(99n);
    });

    it("test_prune_anExpiredLimitOpen_byAStranger_paysItsGas_theRestOfTheFeeAndTheEscrowBackToTheOwner_exactly", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob } = s.signers;
      const validUntil = BigInt(await networkHelpers.time.latest()) + 100n;
      const tokens = await s.token.balanceOf(alice);
      const o = await placeOrder(s, alice, limitOpen({ validUntil }));
      const fee = await s.orderFee(OrderKind.LimitOpen);
      await networkHelpers.time.setNextBlockTimestamp(validUntil + 1n);
      const gasPrice = 3n * GWEI;
      const [aliceEth, bobEth] = [await ethers.provider.getBalance(alice), await ethers.provider.getBalance(bob)];
      const tx = await s.book.connect(bob).prune(o.id, { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice });
      const receipt = (await tx.wait())!;
      const ev = receipt.logs.map((l) => s.book.interface.parseLog(l)).find((p) => p?.name === "OrderCancelled")!;
      const [toExecutor, refund] = [ev.args.toExecutor as bigint, ev.args.refund as bigint];
      await expect(tx).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, toExecutor, fee - toExecutor);
      expect(toExecutor % gasPrice).to.equal(0n);
      // Paid at its gas price for the gas up to the fee's split, the transaction's base gas
      // included; like an executor's payments, what follows the split (the order's deletion, the
      // escrow's return and the two payments, about half of a prune) is not counted.
      expect(toExecutor / gasPrice).to.be.greaterThan(21_000n);
      expect(toExecutor / gasPrice).to.be.lessThan(receipt.gasUsed);
      expect((await ethers.provider.getBalance(bob)) - bobEth).to.equal(toExecutor - receipt.fee);
      expect((await ethers.provider.getBalance(alice)) - aliceEth).to.equal(refund);
      expect(await s.token.balanceOf(alice)).to.equal(tokens);
      await expectBookConserved(ethers, s);
      await expect(s.book.connect(bob).prune(o.id)).to.be.revertedWithCustomError(s.book, "OrderNotFound").withArgs(o.id);
    });

    it("test_prune_anOrderAndAGuardOnAClosedPosition_byAStranger_reasonDead", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const o = await placeOrder(s, alice, stop());
      const inc = await placeOrder(s, alice, { kind: OrderKind.LimitIncrease, positionId: 1n, amount: 500n * USDC, size: WAD, trigger: LIMIT });
      const g = await placed(s, s.book.connect(alice).setTopUpGuard(1n, (3n * WAD) / 2n, 100n * USDC, 200n * USDC, USDC, 0n));
      await closeByRequest(s, 1n);
      const tokens = await s.token.balanceOf(alice);
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      await expect(s.book.connect(bob).prune(inc.id)).to.emit(s.book, "OrderCancelled").withArgs(inc.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect((await s.token.balanceOf(alice)) - tokens).to.equal(500n * USDC);
      await expect(s.book.connect(bob).prune(g.id)).to.emit(s.book, "OrderCancelled").withArgs(g.id, bob.address, CancelReason.Dead, 0n, 0n);
      expect((await s.book.topUpGuard(g.id)).owner).to.equal(ethers.ZeroAddress);
      await expectBookConserved(ethers, s);
    });

    it("test_prune_anOrderOfAPreviousOwnerOfATransferredPosition_reasonDead", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      const o = await placeOrder(s, alice, stop());
      await (await s.engine.connect(alice).transferFrom(alice, bob, 1n)).wait();
      await expect(s.book.connect(bob).prune(o.id)).to.emit(s.book, "OrderCancelled").withArgs(o.id, bob.address, CancelReason.Dead, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      await expectBookConserved(ethers, s);
    });
  });

  describe("hostile collateral tokens", () => {
    it("test_aTokenThatCallsBackDuringALimitsEscrowPull_cannotReenterTheBook", async () => {
      const s = await deployOrderSystem(ethers, { token: "ReentrantToken" });
      const rt = await ethers.getContractAt("ReentrantToken", s.token);
      const first = await placeOrder(s, s.signers.alice, limitOpen());
      // The second limit's pull calls back into cancel(first): the guard refuses it.
      await (await rt.arm(s.book, s.book.interface.encodeFunctionData("cancel", [first.id]))).wait();
      await placeOrder(s, s.signers.alice, limitOpen());
      expect(await rt.lastCallSucceeded()).to.equal(false);
      expect(await rt.lastRevertData()).to.equal(s.book.interface.encodeErrorResult("ReentrancyGuardReentrantCall", []));
      expect((await s.book.order(first.id)).kind).to.equal(OrderKind.LimitOpen);
      expect(await s.token.balanceOf(s.book)).to.equal(2n * AMOUNT);
      await expectBookConserved(ethers, s);
    });

    it("test_placeLimit_withATokenThatTakesAFeeOnTransfer_revertsTransferAmountMismatch", async () => {
      const s = await deployOrderSystem(ethers, { token: "FeeOnTransferToken", lpDeposit: 99n });
      await expect(s.book.connect(s.signers.alice).place(params(limitOpen()), { value: await s.orderFee(OrderKind.LimitOpen) }))
        .to.be.revertedWithCustomError(s.engine, "TransferAmountMismatch")
        .withArgs(AMOUNT, AMOUNT - AMOUNT / 100n);
    });
  });

  describe("governance and authorization", () => {
    it("test_setExecutionGas_isTheEngineOwners_withinBounds_notForKindNone", async () => {
      const s = await networkHelpers.loadFixture(system);
      await expect(s.book.connect(s.signers.alice).setExecutionGas(OrderKind.StopLoss, 500_000n)).to.be.revertedWithCustomError(s.book, "Unauthorized").withArgs(s.signers.alice.address);
      await expect(s.book.setExecutionGas(OrderKind.StopLoss, 99_999n)).to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds").withArgs("executionGas", 99_999n, 100_000n, 5_000_000n);
      await expect(s.book.setExecutionGas(OrderKind.StopLoss, 5_000_001n)).to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds").withArgs("executionGas", 5_000_001n, 100_000n, 5_000_000n);
      await expect(s.book.setExecutionGas(OrderKind.None, 500_000n)).to.be.revertedWithCustomError(s.book, "OrderKindInvalid").withArgs(OrderKind.None, OrderTarget.Position);
      await expect(s.book.setExecutionGas(OrderKind.StopLoss, 400_000n)).to.emit(s.book, "ExecutionGasSet").withArgs(OrderKind.StopLoss, 400_000n);
      expect(await s.book.executionGas(OrderKind.StopLoss)).to.equal(400_000n);
      expect(await s.book.quoteExecutionFee(OrderKind.StopLoss, GWEI)).to.equal(400_000n * GWEI);
    });

    it("test_setMaxReportAge_isTheEngineOwners_withinBounds_andTheNewAgeApplies", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await expect(s.book.connect(s.signers.alice).setMaxReportAge(60n)).to.be.revertedWithCustomError(s.book, "Unauthorized").withArgs(s.signers.alice.address);
      await expect(s.book.setMaxReportAge(0n)).to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds").withArgs("maxReportAge", 0n, 1n, 300n);
      await expect(s.book.setMaxReportAge(301n)).to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds").withArgs("maxReportAge", 301n, 1n, 300n);
      await expect(s.book.setMaxReportAge(60n)).to.emit(s.book, "MaxReportAgeSet").withArgs(60n);
      expect(await s.book.maxReportAge()).to.equal(60n);
      const o = await placeOrder(s, s.signers.alice, stop());
      const t = o.placedAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t + 60n);
      await expect(s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, t, { price: STOP }))).to.emit(s.book, "OrderExecuted");
      await expectBookConserved(ethers, s);
    });

    it("test_setOrderBook_isFinal_theEngineOwners_andOnlyForABookOfThisRouter", async () => {
      const s = await networkHelpers.loadFixture(system);
      const book = await s.book.getAddress();
      expect(await s.router.orderBook()).to.equal(book);
      expect(await s.book.router()).to.equal(await s.router.getAddress());
      expect(await s.book.engine()).to.equal(await s.engine.getAddress());
      await expect(s.router.setOrderBook(book)).to.be.revertedWithCustomError(s.router, "OrderBookAlreadySet").withArgs(book);
      const router2 = await ethers.deployContract("BulkheadRouter", [s.engine, s.oracle]);
      const book2 = await ethers.deployContract("BulkheadOrderBook", [router2]);
      await expect(router2.connect(s.signers.alice).setOrderBook(book2)).to.be.revertedWithCustomError(router2, "Unauthorized").withArgs(s.signers.alice.address);
      await expect(router2.setOrderBook(s.signers.alice)).to.be.revertedWithCustomError(router2, "OrderBookMismatch").withArgs(s.signers.alice.address);
      await expect(router2.setOrderBook(book)).to.be.revertedWithCustomError(router2, "OrderBookMismatch").withArgs(book);
      await expect(router2.setOrderBook(book2)).to.emit(router2, "OrderBookSet").withArgs(await book2.getAddress());
      await expect(router2.setOrderBook(book2)).to.be.revertedWithCustomError(router2, "OrderBookAlreadySet").withArgs(await book2.getAddress());
    });

    it("test_fillOrder_verifyReport_andOnOpenFilled_refuseEveryoneButTheBookAndTheRouter", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice } = s.signers;
      const trade = { account: alice.address, kind: Kind.Close, isLong: true, marketId: ETH_MARKET, createdAt: 0n, settlementDelay: 0n, positionId: 1n, acceptablePrice: 0n, executionFee: 0n, expiry: 0n, gasLimit: 0n, size: 0n, collateral: 0n };
      await expect(s.router.connect(alice).fillOrder(trade, PX)).to.be.revertedWithCustomError(s.router, "Unauthorized").withArgs(alice.address);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: PX });
      await expect(s.oracle.connect(alice).verifyReport(ETH_MARKET, r.report, true)).to.be.revertedWithCustomError(s.oracle, "Unauthorized").withArgs(alice.address);
      await expect(s.book.connect(alice).onOpenFilled(1n, 1n)).to.be.revertedWithCustomError(s.book, "Unauthorized").withArgs(alice.address);
      expect((await s.engine.position(1n)).size).to.equal(WAD);
    });

    it("test_theOwnerMayExecuteItsOwnOrder_underTheSameTriggerRule", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice } = s.signers;
      const o = await placeOrder(s, alice, stop());
      const not = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP + 1n });
      await expect(s.book.connect(alice).execute(o.id, not.report)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(o.id, STOP, STOP + 1n);
      const r = await nextReport(s, networkHelpers, ETH_MARKET, { price: STOP });
      await expect(s.book.connect(alice).execute(o.id, r.report)).to.emit(s.book, "OrderExecuted").withArgs(o.id, alice.address, 1n, bidOf(STOP), r.t, () => true, () => true);
      await expectBookConserved(ethers, s);
    });
  });
});
