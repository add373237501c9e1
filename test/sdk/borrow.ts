// The SDK's BorrowLib / ledger-effect mirrors against the engine's stored state, action by action:
// each market's stored borrow rate is refreshed from the ledger after its own last action (open,
// increase, decrease, close, liquidate, liquidateMany) and every market's on LP deposit/withdraw
// and parameter changes; other markets keep theirs and their index never moves retroactively.
import { expect } from "chai";
import { network } from "hardhat";
import {
  BorrowLib,
  BulkheadClient,
  BulkheadLogic,
  MathLib,
  PoolLogic,
  type Ledger,
  type MarketInfo,
  type MarketState,
  type PositionView,
} from "../../sdk/src/index.js";
import { USDC, WAD, YEAR, defaultParams } from "../helpers/fixture.js";
import { deployForSdk } from "./helpers/system.js";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;

/** The fields of a market the borrow machinery writes. */
const stored = (m: MarketState) => ({
  borrowIndex: m.borrowIndex,
  lastAccrual: m.lastAccrual,
  accruedBorrowFees: m.accruedBorrowFees,
  borrowRate: m.borrowRate,
  longSize: m.longSize,
  shortSize: m.shortSize,
});

describe("sdk borrow rate and ledger effects (BorrowLib, BulkheadLogic, PoolLogic mirrors)", function () {
  this.timeout(120_000);

  it("test_borrowRate_refreshedPerMarketAfterEachAction_mirrorsEngine", async () => {
    const sys = await deployForSdk(ethers);
    const { deployer, alice, bob, carol, keeper } = sys.signers;
    await (await sys.engine.connect(deployer).setProtocolFeeShare(WAD / 5n)).wait();
    const [a, b, c, k] = await Promise.all(
      [alice, bob, carol, keeper].map((s) => BulkheadClient.connect(s, { addresses: sys.addresses })),
    );
    const unit = a.unit;
    const read = async (): Promise<{ ledger: Ledger; markets: MarketInfo[] }> => ({
      ledger: await k.getLedger(),
      markets: await k.getMarkets(),
    });
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

    // After listing and the LP deposit every market carries the rate of the current utilisation.
    let s = await read();
    for (const m of s.markets) expect(m.borrowRate).to.equal(BorrowLib.rateAt(m, s.ledger.lpAssets, s.ledger.reserved));
    expect(s.markets[0]!.borrowRate).to.equal(await sys.engine.borrowRate(0));

    // open (market 0): its rate from the ledger after; market 1 untouched.
    const q = await a.quoteOpen({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    const p1 = await a.open({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    let t = await execTs(p1);
    let after = await read();
    expect(after.ledger).to.deep.equal(q.ledgerAfter);
    expect(after.ledger.protocolFees).to.be.greaterThan(0n); // the protocol's fee cut is mirrored too
    expect(after.markets[0]!.borrowRate).to.equal(q.borrowRateAfter);
    expect(q.borrowRateAfter).to.be.greaterThan(s.markets[0]!.borrowRate);
    const accrued0 = BorrowLib.accrue(s.markets[0]!, unit, t).market;
    expect(after.markets[0]!).to.include({ borrowIndex: accrued0.borrowIndex, lastAccrual: t, accruedBorrowFees: accrued0.accruedBorrowFees });
    expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));
    // Market 1 keeps its old rate although the utilisation moved.
    expect(after.markets[1]!.borrowRate).to.not.equal(BorrowLib.rateAt(after.markets[1]!, after.ledger.lpAssets, after.ledger.reserved));

    // Ten days later market 1's index has grown at its stored rate only (no retroactive charge).
    await elapse(10 * 86_400, 3_000n, 60_000n);
    s = await read();
    const now = BigInt((await ethers.provider.getBlock(s.markets[1]!.blockNumber))!.timestamp);
    for (const i of [0, 1]) {
      expect(s.markets[i]!.currentIndex).to.equal(BorrowLib.currentIndex(s.markets[i]!, now));
      expect(await sys.engine.currentBorrowIndex(i, { blockTag: s.markets[i]!.blockNumber })).to.equal(s.markets[i]!.currentIndex);
    }
    expect(s.markets[1]!.currentIndex - s.markets[1]!.borrowIndex).to.equal(s.markets[1]!.borrowRate * (now - s.markets[1]!.lastAccrual));

    // open (market 1) by bob; market 0 keeps its state.
    const p3 = await b.open({ market: 1, side: "long", collateral: 300n * USDC, leverage: 40n * WAD });
    after = await read();
    expect(stored(after.markets[0]!)).to.deep.equal(stored(s.markets[0]!));
    expect(after.markets[1]!.borrowRate).to.equal(BorrowLib.rateAt(after.markets[1]!, after.ledger.lpAssets, after.ledger.reserved));

    // increase (IncreaseLogic): event, ledger, rate and accrued fees equal the mirror at the execution time.
    await elapse(5 * 86_400, 3_000n, 60_000n);
    s = await read();
    let view = (await a.getPosition(p1.id))!;
    const inc = await a.increase({ id: p1.id, sizeDelta: WAD / 2n, collateralDelta: 100n * USDC });
    t = await execTs(inc);
    const incIndex = BorrowLib.currentIndex(s.markets[0]!, t);
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
    expect(after.markets[0]!.borrowRate).to.equal(ip.borrowRateAfter);
    const acc = BorrowLib.accrue(s.markets[0]!, unit, t);
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
          index: BorrowLib.currentIndex(s.markets[0]!, t), ledger: s.ledger, protocolFeeShare: WAD / 5n,
        },
        view.position,
        sizeDelta,
      );
      expect(dp.revert).to.equal(undefined);
      expect(r.event).to.include({ pnl: dp.pnl, borrowFee: dp.borrowFee, closeFee: dp.closeFee, payout: dp.payout, newCollateral: dp.newCollateral });
      after = await read();
      expect(after.ledger, `${sizeDelta}`).to.deep.equal(dp.ledgerAfter);
      expect(after.markets[0]!.borrowRate).to.equal(dp.borrowRateAfter);
      expect(stored(after.markets[1]!)).to.deep.equal(stored(s.markets[1]!));
    }

    // Risky positions, then a single liquidate: keeper paid preview.keeperReward (vault first), rate refreshed.
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
    const lp = BulkheadLogic.previewLiquidation(v2!.position, v2!.risk, 2_940n * WAD, BorrowLib.currentIndex(s.markets[0]!, t), unit, v2!.vaultBalance, s.ledger);
    expect(liq.preview).to.deep.equal(lp);
    expect((await sys.token.balanceOf(keeper.address)) - before).to.equal(lp.keeperReward);
    const ledgerAfterLiq = BulkheadLogic.applyLiquidation(s.ledger, v2!.position, v2!.risk, lp, unit);
    after = await read();
    expect(after.ledger).to.deep.equal(ledgerAfterLiq);
    expect(after.markets[0]!.borrowRate).to.equal(BorrowLib.rateAt(after.markets[0]!, ledgerAfterLiq.lpAssets, ledgerAfterLiq.reserved));
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
      s.markets.map((m) => ({ market: m, price: m.price, index: BorrowLib.currentIndex(m, t) })),
      s.ledger,
      unit,
    );
    expect(many.liquidated).to.equal(atExec.liquidated);
    expect(many.reward).to.equal(atExec.reward);
    expect(many.events.map((e) => e.lpDelta)).to.deep.equal(atExec.previews.filter((r) => r !== null).map((r) => r!.lpDelta));
    after = await read();
    expect(after.ledger).to.deep.equal(atExec.ledgerAfter);
    expect([...atExec.borrowRatesAfter.keys()]).to.deep.equal([0, 1]);
    for (const i of [0, 1]) expect(after.markets[i]!.borrowRate).to.equal(atExec.borrowRatesAfter.get(i));

    // LP deposit and withdrawal (PoolLogic): every market accrues at its old rate, then takes the new one.
    await (await sys.token.connect(alice).approve(sys.pool, 2n ** 256n - 1n)).wait();
    for (const step of ["deposit", "withdraw"] as const) {
      s = await read();
      const r = step === "deposit" ? await a.deposit({ assets: 50_000n * USDC }) : await a.withdraw({ assets: 20_000n * USDC });
      t = await execTs(r);
      const hook = step === "deposit" ? PoolLogic.onDeposit : PoolLogic.onWithdraw;
      const mirror = hook(s.ledger, s.markets, unit, step === "deposit" ? 50_000n * USDC : 20_000n * USDC, t);
      expect(mirror.revert).to.equal(undefined);
      after = await read();
      expect(after.ledger).to.deep.equal(mirror.ledger);
      expect(after.markets.map(stored)).to.deep.equal(mirror.markets.map(stored));
    }
    const tooMuch = PoolLogic.onWithdraw(after.ledger, after.markets, unit, after.ledger.lpAssets, t);
    expect(tooMuch.revert?.name).to.equal("InsufficientFreeLiquidity");

    // setMarketParams accrues at the old rate, then stores the rate of the new parameters.
    s = await read();
    const params = { ...defaultParams, borrowRateSlope: (2n * WAD) / YEAR };
    const tx = await sys.engine.connect(deployer).setMarketParams(0, params);
    const rc = (await tx.wait())!;
    t = BigInt((await ethers.provider.getBlock(rc.blockNumber))!.timestamp);
    after = await read();
    expect(after.markets[0]!.borrowIndex).to.equal(BorrowLib.accrue(s.markets[0]!, unit, t).index);
    expect(after.markets[0]!.borrowRate).to.equal(BorrowLib.rateAt(params, after.ledger.lpAssets, after.ledger.reserved));
  });

  it("test_borrowLib_unitCases", () => {
    const m = { baseBorrowRate: 10n, borrowRateSlope: 1_000n };
    expect(BorrowLib.rateAt(m, 0n, 0n)).to.equal(10n); // empty pool: utilisation 0
    expect(BorrowLib.rateAt(m, 0n, 5n)).to.equal(1_010n); // reserved without LP assets: 100 %
    expect(BorrowLib.rateAt(m, 200n, 300n)).to.equal(1_010n); // capped at 100 %
    expect(BorrowLib.rateAt(m, 3n, 1n)).to.equal(10n + 333n); // utilisation rounds down
    const market = { borrowIndex: 7n, borrowRate: 3n, lastAccrual: 100n, accruedBorrowFees: 0n, longSizeEntry: 10n ** 36n, shortSizeEntry: 0n };
    expect(BorrowLib.currentIndex(market, 100n)).to.equal(7n);
    expect(BorrowLib.currentIndex(market, 110n)).to.equal(37n);
    expect(() => BorrowLib.currentIndex(market, 99n)).to.throw(/overflow or underflow/);
    const acc = BorrowLib.accrue(market, 10n ** 30n, 110n);
    expect(acc).to.deep.equal({ index: 37n, market: { ...market, borrowIndex: 37n, lastAccrual: 110n, accruedBorrowFees: 0n } });
    expect(BorrowLib.accrue(market, 10n ** 30n, 100n).market).to.deep.equal(market);
    expect(BorrowLib.pendingFees(market, 10n ** 12n, 10n ** 30n)).to.equal(1n); // 1e36 * 1e12 / 1e48
    expect(BorrowLib.refreshRate({ ...m, borrowRate: 0n }, 2n, 1n).borrowRate).to.equal(510n);
  });
});
