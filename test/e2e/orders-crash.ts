// Issue 13's proof, end to end: three traders open the same 31x ETH long through the request
// router; Alice puts a stop-loss on hers, Bob a top-up guard, Carol nothing. Three bystanders hold
// orderless positions (an ETH long, an ETH short, a BTC long). ETH then falls 5 % in ten steps of
// 0.5 %, the push feed and a signed report (the same price) at every step, and a keeper tries every
// order at every step. Alice's stop closes her position before it could be liquidated; Bob's guard
// tops his up whenever its health factor dips below 1.5 and it is never liquidatable; Carol's
// identical position is liquidated at the bottom. No bystander's position or vault moves by a unit.
import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, BTC_PRICE, ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { expectPoolConserved } from "../helpers/unit.js";
import { OrderKind, deployOrderSystem, params, placed } from "../helpers/orders.js";
import { healthNextBlock, now, openThroughRouter, positionSnapshot, pushEth } from "../helpers/guards.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3,000
const BTC = wadFromFeed(BTC_PRICE); // 60,000
const AMOUNT = 1_000n * USDC;
const SIZE = 10n * WAD; // ~30,000 of notional on ~970 of collateral: ~31x
const STOP = 2_960n * WAD;
const STOP_ACCEPTABLE = 2_940n * WAD;
const THRESHOLD = (3n * WAD) / 2n; // top up below a health factor of 1.5
const TOP_UP = 150n * USDC;
const TOP_UP_FEE = 1n * USDC;
const BUDGET = 10n * (TOP_UP + TOP_UP_FEE);
/** ETH from 3,000 down 5 % in ten steps of 0.5 %. */
const STEPS = Array.from({ length: 10 }, (_, i) => (PX * (1_000n - 5n * BigInt(i + 1))) / 1_000n);

describe("orders through a crash (issue 13 end to end)", () => {
  it("test_crash_theStopLossClosesBeforeLiquidation_theGuardKeepsItsPositionAlive_theUnguardedTwinIsLiquidated_bystandersUnchanged", async () => {
    const s = await deployOrderSystem(ethers);
    const { alice, bob, carol, keeper } = s.signers;
    const [dave, erin, frank] = (await ethers.getSigners()).slice(7, 10);
    for (const t of [dave, erin, frank]) {
      await s.fund(t.address, 1_000_000n * USDC);
      await (await s.token.connect(t).approve(s.router, ethers.MaxUint256)).wait();
    }

    // ---- the book: three identical high-leverage longs, three bystanders
    const open = (trader: typeof alice, o: Parameters<typeof openThroughRouter>[3]) => openThroughRouter(s, networkHelpers, trader, o);
    const stopped = await open(alice, { isLong: true, amount: AMOUNT, size: SIZE, price: PX });
    const guardedId = await open(bob, { isLong: true, amount: AMOUNT, size: SIZE, price: PX });
    const bare = await open(carol, { isLong: true, amount: AMOUNT, size: SIZE, price: PX });
    const bystanders = [
      await open(dave, { isLong: true, amount: 1_000n * USDC, size: WAD, price: PX }), // 3x ETH long
      await open(erin, { isLong: false, amount: 1_500n * USDC, size: 2n * WAD, price: PX }), // 4x ETH short
      await open(frank, { marketId: BTC_MARKET, isLong: true, amount: 1_000n * USDC, size: WAD / 10n, price: BTC }), // 6x BTC long
    ];
    const twins = await Promise.all([stopped, guardedId, bare].map((id) => s.engine.position(id)));
    expect(twins.map((p) => [p.size, p.entryPrice, p.collateral])).to.deep.equal(Array(3).fill([twins[0].size, twins[0].entryPrice, twins[0].collateral]));

    const stop = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.StopLoss, positionId: stopped, trigger: STOP, acceptablePrice: STOP_ACCEPTABLE }), { value: await s.orderFee(OrderKind.StopLoss) }));
    const guard = await placed(s, s.book.connect(bob).setTopUpGuard(guardedId, THRESHOLD, TOP_UP, BUDGET, TOP_UP_FEE, 0n));
    const before = await Promise.all(bystanders.map((id) => positionSnapshot(s, id)));
    const bobWallet = await s.token.balanceOf(bob);

    // ---- the crash
    let aliceGot = 0n;
    let stoppedAt = 0n;
    let topUps = 0n;
    let carolLiquidatableFrom = 0n;
    const report = async (price: bigint) => {
      const at = (await now(networkHelpers)) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(at + 1n);
      return { at, signed: s.signAt(ETH_MARKET, at, { price }) };
    };
    for (const price of STEPS) {
      await pushEth(s, price);
      await (await s.btcFeed.updateAnswer(BTC_PRICE)).wait();

      // The keeper tries Alice's stop while it is in the book.
      if ((await s.book.order(stop.id)).kind !== OrderKind.None) {
        const r = await report(price);
        if (price > STOP) {
          await expect(s.book.connect(keeper).execute(stop.id, r.signed)).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed").withArgs(stop.id, STOP, price);
        } else {
          // Right before it fills, her position is not liquidatable at this price.
          expect(await s.engine.isLiquidatable(stopped)).to.equal(false);
          expect((await healthNextBlock(s, networkHelpers, stopped, price, r.at + 1n)).liquidatable).to.equal(false);
          const wallet = await s.token.balanceOf(alice);
          await expect(s.book.connect(keeper).execute(stop.id, r.signed)).to.emit(s.book, "OrderExecuted");
          aliceGot = (await s.token.balanceOf(alice)) - wallet;
          stoppedAt = price;
          expect((await s.engine.position(stopped)).size).to.equal(0n);
        }
      }

      // The keeper tops Bob's position up as long as its factor at this price is below 1.5.
      for (;;) {
        const r = await report(price);
        const h = await healthNextBlock(s, networkHelpers, guardedId, price, r.at + 1n);
        if (h.factor >= THRESHOLD) {
          await expect(s.book.connect(keeper).executeTopUp(guard.id, r.signed)).to.be.revertedWithCustomError(s.book, "PositionHealthy").withArgs(guard.id, h.factor, THRESHOLD);
          break;
        }
        await expect(s.book.connect(keeper).executeTopUp(guard.id, r.signed)).to.emit(s.book, "TopUpExecuted").withArgs(guard.id, keeper.address, guardedId, TOP_UP, TOP_UP_FEE, BUDGET - (topUps + 1n) * (TOP_UP + TOP_UP_FEE), h.factor, r.at);
        topUps++;
      }
      expect(await s.engine.isLiquidatable(guardedId)).to.equal(false);
      if (carolLiquidatableFrom === 0n && (await s.engine.isLiquidatable(bare))) carolLiquidatableFrom = price;
    }

    // ---- the bottom
    const bottom = STEPS[STEPS.length - 1];
    expect(stoppedAt).to.equal(2_955n * WAD); // the first step at or below the 2,960 stop
    // Of her 1,000 Alice got back about 460 (a 10 x 46 loss at the bid and the close fee).
    expect(aliceGot).to.be.greaterThan(460n * USDC);
    expect(aliceGot).to.be.lessThan(461n * USDC);
    expect(carolLiquidatableFrom).to.be.greaterThan(0n);
    expect(carolLiquidatableFrom).to.be.lessThan(stoppedAt); // Alice was out before her twin could be liquidated
    expect(await s.engine.isLiquidatable(guardedId)).to.equal(false);
    expect(await s.engine.isLiquidatable(bare)).to.equal(true);
    // Carol's twin is 545 under water at 2,850: all of her 970 is gone, and the pool takes the rest.
    await networkHelpers.time.setNextBlockTimestamp((await now(networkHelpers)) + 1n);
    const preview = await s.engine.previewLiquidation(bare, { blockTag: "pending" }); // as the liquidation's block sees it
    expect(preview.equity).to.be.lessThan(-545n * USDC);
    expect(preview.badDebt).to.equal(-preview.equity);
    await expect(s.engine.connect(keeper).liquidate(bare))
      .to.emit(s.engine, "PositionLiquidated")
      .withArgs(bare, keeper.address, carol.address, bottom, preview.equity, preview.maintenance, preview.keeperReward, preview.badDebt, preview.toInsurance, preview.fromInsurance, preview.fromPool, preview.lpDelta);
    expect((await s.engine.position(bare)).size).to.equal(0n);
    await expect(s.engine.connect(keeper).liquidate(guardedId)).to.be.revertedWithCustomError(s.engine, "PositionNotLiquidatable");

    // Bob paid exactly his top-ups and their fees, all of it inside his budget, into his own vault.
    // Seven top-ups of 150 (one per step from 2,940 down), 1,057 with the fees, 453 of the budget left.
    expect(topUps).to.equal(7n);
    expect(bobWallet - (await s.token.balanceOf(bob))).to.equal(topUps * (TOP_UP + TOP_UP_FEE));
    const bobPos = await s.engine.position(guardedId);
    expect(bobPos.collateral).to.equal(twins[1].collateral + topUps * TOP_UP);
    expect(await s.token.balanceOf(await s.engine.vaultOf(guardedId))).to.equal(bobPos.collateral);
    expect((await s.book.topUpGuard(guard.id)).budget).to.equal(BUDGET - topUps * (TOP_UP + TOP_UP_FEE));
    const h = await s.lens.healthAt(guardedId, bottom);
    expect(h.liquidatable).to.equal(false);
    expect(h.equity).to.be.greaterThan(500n * USDC); // against a maintenance of 285

    // Every bystander's record and vault, to the unit.
    expect(await Promise.all(bystanders.map((id) => positionSnapshot(s, id)))).to.deep.equal(before);
    await expectPoolConserved(s);
  });
});
