// The SDK's BorrowLib / ledger-effect mirrors against the engine's stored state, action by action:
// every action that moves LP assets or reserved (open, increase, decrease, close, liquidate,
// liquidateMany, LP deposit/withdraw) first moves the pool's utilisation integrals to its block;
// the acting market accrues; every market's index, touched or not, follows the integrals, and its
// rate (`borrowRate`) is the one of the ledger now.
import { expect } from "chai";
import { network } from "hardhat";
import {
  BorrowLib,
  BulkheadClient,
  ConstantsLib,
  BulkheadLogic,
  MathLib,
  PoolLogic,
  type Ledger,
  type MarketInfo,
  type MarketState,
  type PositionView,
  type UtilisationState,
} from "../../sdk/src/index.js";
import { USDC, WAD, YEAR, defaultParams } from "../helpers/fixture.js";
import { deployForSdk } from "./helpers/system.js";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;

/** The fields of a market the borrow machinery writes. */
const stored = (m: MarketState) => ({
  borrowIndex: m.borrowIndex,
  rateIntegral: m.rateIntegral,
  accruedBorrowFees: m.accruedBorrowFees,
  longSize: m.longSize,
  shortSize: m.shortSize,
});

describe("sdk borrow rate and ledger effects (BorrowLib, BulkheadLogic, PoolLogic mirrors)", function () {
  this.timeout(120_000);

  it("test_borrowIndex_followsThePoolIntegralsAfterEachAction_mirrorsEngine", async () => {
    const sys = await deployForSdk(ethers);
    const { deployer, alice, bob, carol, keeper } = sys.signers;
    await (await sys.engine.connect(deployer).setProtocolFeeShare(WAD / 5n)).wait();
    const [a, b, c, k] = await Promise.all(
      [alice, bob, carol, keeper].map((s) => BulkheadClient.connect(s, { addresses: sys.addresses })),
    );
    const unit = a.unit;
    const read = async (): Promise<{ ledger: Ledger; markets: MarketInfo[]; pool: UtilisationState }> => ({
      ledger: await k.getLedger(),
      markets: await k.getMarkets(),
      pool: await k.getUtilisationState(),
    });
    const rates = async () => [await sys.engine.borrowRate(0), await sys.engine.borrowRate(1)];
    /** The accumulator after an action at `t` is the SDK's checkpoint of the one before. */
    const expectCheckpointed = (before: UtilisationState, after: UtilisationState, t: bigint) =>
      expect(after.utilisation).to.deep.equal(BorrowLib.checkpoint(before, t).utilisation);
    const execTs = async (r: { receipt: { blockNumber: number } }) =>
      BigInt((await ethers.provider.getBlock(r.receipt.blockNumber))!.timestamp);
    const setPrices = async (eth: bigint, btc: bigint) => {
      await (await sys.ethFeed.updateAnswer(eth * 10n ** 8n)).wait();
      await (await sys.btcFeed.updateAnswer(btc * 10n ** 8n)).wait();
    };
    const elapse = async (seconds: number, eth: bigint, btc: bigint) => {
      await networkHelpers.time.increase(seconds);
      await setPrices(eth, btc); // keep the feeds within their heartbeat
    };

    // After listing and the LP deposit every market's rate is the one of the current utilisation.
    let s = await read();
    for (const [i, m] of s.markets.entries()) expect(await sys.engine.borrowRate(i)).to.equal(BorrowLib.rateAt(m, s.ledger.lpAssets, s.ledger.reserved));

    // open (market 0): its rate from the ledger after; market 1 untouched.
    const q = await a.quoteOpen({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    const p1 = await a.open({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    let t = await execTs(p1);
    let after = await read();
    expect(after.ledger).to.deep.equal(q.ledgerAfter);
    expect(after.ledger.protocolFees).to.be.greaterThan(0n); // the protocol's fee cut is mirrored too
    expect(await rates()).to.deep.equal([q.borrowRateAfter, q.borrowRateAfter]);
    expect(q.borrowRateAfter).to.be.greaterThan(BorrowLib.rateAt(s.markets[0]!, s.ledger.lpAssets, s.ledger.reserved));
    expectCheckpointed(s.pool, after.pool, t);
    const accrued0 = BorrowLib.accrue(s.markets[0]!, s.pool, unit, t).market;
    expect(after.markets[0]!).to.include({ borrowIndex: accrued0.borrowIndex, rateIntegral: accrued0.rateIntegral, accruedBorrowFees: accrued0.accruedBorrowFees });
    // Market 1 is not touched, yet the new utilisation applies to it from this block on.
    expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));

    // Ten days later both indices have grown with the utilisation path (to the wei, for the idle one too).
    const idle = after;
    await elapse(10 * 86_400, 3_000n, 60_000n);
    s = await read();
    const now = BigInt((await ethers.provider.getBlock(s.markets[1]!.blockNumber))!.timestamp);
    for (const i of [0, 1]) {
      expect(s.markets[i]!.currentIndex).to.equal(BorrowLib.currentIndex(s.markets[i]!, s.pool, now));
      expect(await sys.engine.currentBorrowIndex(i, { blockTag: s.markets[i]!.blockNumber })).to.equal(s.markets[i]!.currentIndex);
    }
    // Nothing moved the utilisation since: the projection from ten days earlier is exact.
    expect(s.markets[1]!.currentIndex).to.equal(BorrowLib.currentIndex(idle.markets[1]!, idle.pool, now));
    const rate1 = BorrowLib.rateAt(idle.markets[1]!, idle.ledger.lpAssets, idle.ledger.reserved);
    expect(s.markets[1]!.currentIndex - BorrowLib.currentIndex(idle.markets[1]!, idle.pool, t)).to.be.closeTo(rate1 * (now - t), now - t);

    // open (market 1) by bob; market 0 keeps its state.
    const p3 = await b.open({ market: 1, side: "long", collateral: 300n * USDC, leverage: 40n * WAD });
    after = await read();
    expect(stored(after.markets[0]!)).to.deep.equal(stored(s.markets[0]!));
    expect(await rates()).to.deep.equal(after.markets.map((m) => BorrowLib.rateAt(m, after.ledger.lpAssets, after.ledger.reserved)));

    // increase (IncreaseLogic): event, ledger, rate and accrued fees equal the mirror at the execution time.
    await elapse(5 * 86_400, 3_000n, 60_000n);
    s = await read();
    let view = (await a.getPosition(p1.id))!;
    const inc = await a.increase({ id: p1.id, sizeDelta: WAD / 2n, collateralDelta: 100n * USDC });
    t = await execTs(inc);
    const incIndex = BorrowLib.currentIndex(s.markets[0]!, s.pool, t);
    const ip = BulkheadLogic.previewIncrease(
      { market: s.markets[0]!, risk: view.risk, protocolPaused: false, unit, price: 3_000n * WAD, index: incIndex, ledger: s.ledger, protocolFeeShare: WAD / 5n },
      view.position,
      100n * USDC,
      WAD / 2n,
    );
    expect(ip.revert).to.equal(undefined);
    expect(inc.event).to.include({
      realisedPnl: ip.realisedPnl, borrowFee: ip.borrowFee, openFee: ip.openFee, newSize: ip.newSize, newCollateral: ip.newCollateral,
      borrowIndex: incIndex, maxProfitFactorBps: ip.maxProfitFactorBps,
    });
    after = await read();
    expect(after.ledger).to.deep.equal(ip.ledgerAfter);
    expect(await sys.engine.borrowRate(0)).to.equal(ip.borrowRateAfter);
    expectCheckpointed(s.pool, after.pool, t);
    const acc = BorrowLib.accrue(s.markets[0]!, s.pool, unit, t);
    expect(acc.index).to.equal(incIndex);
    expect(after.markets[0]!.accruedBorrowFees).to.equal(MathLib.zeroFloorSub(acc.market.accruedBorrowFees, ip.borrowFee));
    expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));

    // decrease at a profit, then close at a loss (DecreaseLogic).
    for (const [price, sizeDelta] of [[3_100n, WAD / 2n], [2_950n, "close"]] as const) {
      await elapse(3_600, price, 60_000n);
      s = await read();
      view = (await a.getPosition(p1.id))!;
      const r = sizeDelta === "close" ? await a.close({ id: p1.id }) : await a.decrease({ id: p1.id, sizeDelta });
      t = await execTs(r);
      const dp = BulkheadLogic.previewDecrease(
        {
          market: s.markets[0]!, risk: view.risk, vaultBalance: view.vaultBalance, id: p1.id, unit, price: price * WAD,
          index: BorrowLib.currentIndex(s.markets[0]!, s.pool, t), ledger: s.ledger, protocolFeeShare: WAD / 5n,
        },
        view.position,
        sizeDelta,
      );
      expect(dp.revert).to.equal(undefined);
      expect(r.event).to.include({ pnl: dp.pnl, borrowFee: dp.borrowFee, closeFee: dp.closeFee, payout: dp.payout, newCollateral: dp.newCollateral });
      after = await read();
      expect(after.ledger, `${sizeDelta}`).to.deep.equal(dp.ledgerAfter);
      expect(await sys.engine.borrowRate(0)).to.equal(dp.borrowRateAfter);
      expectCheckpointed(s.pool, after.pool, t);
      expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));
    }

    // Risky positions, then a single liquidate: keeper paid preview.keeperReward (vault first).
    await setPrices(3_000n, 60_000n);
    const p2 = await b.open({ market: 0, side: "long", collateral: 75n * USDC, leverage: 40n * WAD });
    const p4 = await c.open({ market: 0, side: "short", collateral: 100n * USDC, leverage: 45n * WAD });
    const p5 = await b.open({ market: 0, side: "long", collateral: 70n * USDC, leverage: 45n * WAD });
    await setPrices(2_940n, 60_000n);
    s = await read();
    const [v2] = (await k.getPositions([p2.id])) as PositionView[];
    const before = await sys.token.balanceOf(keeper.address);
    const liq = await k.liquidate({ id: p2.id });
    t = await execTs(liq);
    const lp = BulkheadLogic.previewLiquidation(v2!.position, v2!.risk, 2_940n * WAD, BorrowLib.currentIndex(s.markets[0]!, s.pool, t), unit, v2!.vaultBalance, s.ledger);
    expect(liq.preview).to.deep.equal(lp);
    expect((await sys.token.balanceOf(keeper.address)) - before).to.equal(lp.keeperReward);
    const ledgerAfterLiq = BulkheadLogic.applyLiquidation(s.ledger, v2!.position, v2!.risk, lp, unit);
    after = await read();
    expect(after.ledger).to.deep.equal(ledgerAfterLiq);
    expect(await sys.engine.borrowRate(0)).to.equal(BorrowLib.rateAt(after.markets[0]!, ledgerAfterLiq.lpAssets, ledgerAfterLiq.reserved));
    expectCheckpointed(s.pool, after.pool, t);
    expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));

    // liquidateMany over both markets, with a healthy id, a repeat and an unknown id.
    await setPrices(2_940n, 58_800n);
    s = await read();
    const ids = [p5.id, p3.id, p4.id, p5.id, 999n];
    const views = await k.getPositions(ids);
    const local = k.previewLiquidateManyLocal(views, s.ledger, s.markets);
    expect(local.liquidated).to.equal(2);
    const many = await k.liquidateMany({ ids });
    t = await execTs(many);
    const atExec = BulkheadLogic.previewLiquidateMany(
      views,
      s.markets.map((m) => ({ market: m, price: m.price, index: BorrowLib.currentIndex(m, s.pool, t) })),
      s.ledger,
      unit,
    );
    expect(many.liquidated).to.equal(atExec.liquidated);
    expect(many.reward).to.equal(atExec.reward);
    expect(many.events.map((e) => e.lpDelta)).to.deep.equal(atExec.previews.filter((r) => r !== null).map((r) => r!.lpDelta));
    after = await read();
    expect(after.ledger).to.deep.equal(atExec.ledgerAfter);
    expect([...atExec.borrowRatesAfter.keys()]).to.deep.equal([0, 1]);
    for (const i of [0, 1]) expect(await sys.engine.borrowRate(i)).to.equal(atExec.borrowRatesAfter.get(i));
    expectCheckpointed(s.pool, after.pool, t);

    // LP deposit and withdrawal (PoolLogic): the integrals move to the block, no market is touched.
    await (await sys.token.connect(alice).approve(sys.pool, 2n ** 256n - 1n)).wait();
    for (const step of ["deposit", "withdraw"] as const) {
      s = await read();
      const r = step === "deposit" ? await a.deposit({ assets: 50_000n * USDC }) : await a.withdraw({ assets: 20_000n * USDC });
      t = await execTs(r);
      const hook = step === "deposit" ? PoolLogic.onDeposit : PoolLogic.onWithdraw;
      const mirror = hook(s.ledger, s.pool.utilisation, step === "deposit" ? 50_000n * USDC : 20_000n * USDC, t);
      expect(mirror.revert).to.equal(undefined);
      after = await read();
      expect(after.ledger).to.deep.equal(mirror.ledger);
      expect(after.pool.utilisation).to.deep.equal(mirror.utilisation);
      expect(after.markets.map(stored)).to.deep.equal(s.markets.map(stored));
    }
    const tooMuch = PoolLogic.onWithdraw(after.ledger, after.pool.utilisation, after.ledger.lpAssets, t);
    expect(tooMuch.revert?.name).to.equal("InsufficientFreeLiquidity");

    // setMarketParams accrues under the old parameters, then restarts the rate integral under the new ones.
    s = await read();
    const params = { ...defaultParams, borrowRateSlope: (2n * WAD) / YEAR };
    const tx = await sys.engine.connect(deployer).setMarketParams(0, params);
    const rc = (await tx.wait())!;
    t = BigInt((await ethers.provider.getBlock(rc.blockNumber))!.timestamp);
    after = await read();
    const accrued = BorrowLib.accrue(s.markets[0]!, s.pool, unit, t);
    expect(after.markets[0]!.borrowIndex).to.equal(accrued.index);
    expect(stored(after.markets[0]!)).to.deep.equal(stored(BorrowLib.restartRateIntegral({ ...accrued.market, ...params }, after.pool, t)));
    expect(await sys.engine.borrowRate(0)).to.equal(BorrowLib.rateAt(params, after.ledger.lpAssets, after.ledger.reserved));
  });

  it("test_borrowLib_unitCases", () => {
    const m = { baseBorrowRate: 10n, borrowRateSlope: 1_000n };
    const kink = ConstantsLib.ABOVE_TARGET_BORROW_RATE_SLOPE;
    expect(BorrowLib.rateAt(m, 0n, 0n)).to.equal(10n); // empty pool: utilisation 0
    expect(BorrowLib.rateAt(m, 0n, 5n)).to.equal(1_010n + (kink * WAD) / 10n / WAD); // reserved without LP assets: 100 %
    expect(BorrowLib.rateAt(m, 200n, 300n)).to.equal(BorrowLib.rateAt(m, 0n, 5n)); // capped at 100 %
    expect(BorrowLib.rateAt(m, 3n, 1n)).to.equal(10n + 333n); // utilisation rounds down
    expect(BorrowLib.rateAt(m, 10n, 9n)).to.equal(10n + 900n); // at the target: no kink yet
    expect(BorrowLib.rateAt(m, 100n, 95n)).to.equal(10n + (1_000n * 95n * WAD / 100n + kink * WAD / 20n) / WAD);
    const pool: UtilisationState = { lpAssets: 4n, reserved: 3n, utilisation: { updatedAt: 100n, utilisationTime: 5n, aboveTargetTime: 0n } };
    expect(BorrowLib.integralsNow(pool, 100n)).to.deep.equal({ cumulative: 5n, above: 0n });
    expect(BorrowLib.integralsNow(pool, 110n)).to.deep.equal({ cumulative: 5n + 75n * 10n ** 16n * 10n, above: 0n });
    expect(() => BorrowLib.integralsNow(pool, 99n)).to.throw(/overflow or underflow/);
    expect(BorrowLib.checkpoint(pool, 100n).utilisation).to.deep.equal(pool.utilisation);
    expect(BorrowLib.checkpoint(pool, 110n).utilisation).to.deep.equal({ updatedAt: 110n, utilisationTime: 5n + 75n * 10n ** 17n, aboveTargetTime: 0n });
    const full: UtilisationState = { ...pool, reserved: 4n };
    expect(BorrowLib.integralsNow(full, 102n).above).to.equal((WAD / 10n) * 2n);
    // The index: stored index + growth of base·t + (slope·∫u + kink·∫(u − target)⁺) / WAD.
    const integral = BorrowLib.rateIntegral(m, 5n, 0n, 100n);
    expect(integral).to.equal(1_000n);
    const market = { ...m, borrowIndex: 7n, rateIntegral: integral, accruedBorrowFees: 0n, longSizeEntry: 10n ** 36n, shortSizeEntry: 0n };
    expect(BorrowLib.currentIndex(market, pool, 100n)).to.equal(7n);
    expect(BorrowLib.currentIndex(market, pool, 110n)).to.equal(7n + 100n + (1_000n * (5n + 75n * 10n ** 17n)) / WAD);
    const acc = BorrowLib.accrue(market, pool, 10n ** 30n, 110n);
    expect(acc.index).to.equal(BorrowLib.currentIndex(market, pool, 110n));
    expect(acc.market).to.deep.equal({ ...market, borrowIndex: acc.index, rateIntegral: BorrowLib.rateIntegral(m, 5n + 75n * 10n ** 17n, 0n, 110n), accruedBorrowFees: 0n });
    expect(acc.utilisation).to.deep.equal(BorrowLib.checkpoint(pool, 110n).utilisation);
    expect(BorrowLib.accrue(market, pool, 10n ** 30n, 100n).market).to.deep.equal(market);
    expect(BorrowLib.pendingFees(market, 10n ** 12n, 10n ** 30n)).to.equal(1n); // 1e36 * 1e12 / 1e48
    expect(BorrowLib.restartRateIntegral({ ...market, baseBorrowRate: 0n }, pool, 100n).rateIntegral).to.equal(0n);
  });
});
