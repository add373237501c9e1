// Borrow rates under the solvency rules of DESIGN.md (v2): a market's index follows the pool's
// actual utilisation path (no one can fix another market's rate by a transient utilisation
// change), and the rate above the target utilisation is steep enough that freezing all free
// liquidity with price-neutral positions costs more than it blocks. Default fixture parameters
// (1,000,000 USDC LP, ETH 3,000, BTC 60,000, 50x, 0.1 % fees, max profit 50 %).
import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, ETH_MARKET, FAR, USDC, WAD, YEAR, defaultParams, deploySystem } from "../helpers/fixture.js";
import {
  ABOVE_TARGET_BORROW_RATE_SLOPE,
  TARGET_UTILISATION,
  pathIndexGrowth,
  utilisationOf,
} from "../helpers/reference.js";
import { nextBlockAt } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const ETH = 3_000n * WAD;
const BTC = 60_000n * WAD;
const DAY = 86_400n;

async function system() {
  return deploySystem(ethers);
}

type Sys = Awaited<ReturnType<typeof system>>;

/** The utilisation the ledger holds now (what the pool integrates from this block on). */
async function utilisationNow(s: Sys): Promise<bigint> {
  const l = await s.engine.ledger();
  return utilisationOf(l.lpAssets, l.reserved);
}

/** Lets `dt` seconds pass (re-posting both feeds in the last block) and returns the new timestamp. */
async function hold(s: Sys, dt: bigint): Promise<bigint> {
  await networkHelpers.time.increase(dt - 2n);
  await (await s.ethFeed.updateAnswer(await s.ethFeed.latestAnswer())).wait();
  await (await s.btcFeed.updateAnswer(await s.btcFeed.latestAnswer())).wait();
  return BigInt(await networkHelpers.time.latest());
}

describe("borrow rates", () => {
  describe("finding 6: an idle market's rate cannot be steered", () => {
    // Attack: open big in ETH (pool utilisation ~100 %), touch BTC, close ETH. Before the fix BTC
    // kept the rate of ~100 % utilisation for as long as nobody touched it (up to 500 % a year
    // within the bounds), charging Carol's BTC position for a utilisation that lasted one second.
    it("test_borrowRate_cannotPinAnIdleMarketHigh", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, carol } = s.signers;
      await s.engine.connect(carol).open(BTC_MARKET, true, 1_000n * USDC, WAD / 4n, BTC, FAR);
      // Bob fills the pool through ETH: 660 ETH reserves 990,000 of about 1,002,000.
      await s.engine.connect(bob).open(ETH_MARKET, true, 45_000n * USDC, 660n * WAD, ETH, FAR);
      expect(await utilisationNow(s)).to.be.greaterThan((99n * WAD) / 100n);
      // Alice touches BTC while the pool is full, then Bob closes at once.
      await s.engine.connect(alice).open(BTC_MARKET, false, 10n * USDC, WAD / 1000n, BTC, FAR);
      const tClose = await nextBlockAt(networkHelpers);
      await s.engine.connect(bob).close(2n, 0n, FAR);
      const indexAtClose = await s.engine.currentBorrowIndex(BTC_MARKET);
      const u = await utilisationNow(s);
      expect(u).to.be.lessThan(WAD / 100n);

      const t = await hold(s, DAY);
      const growth = (await s.engine.currentBorrowIndex(BTC_MARKET)) - indexAtClose;
      const expected = pathIndexGrowth(defaultParams, [{ utilisation: u, seconds: t - tClose }]);
      expect(growth).to.be.closeTo(expected, 1n);
      // The idle market's quoted rate is the rate of the utilisation now, not of its last touch.
      const low = pathIndexGrowth(defaultParams, [{ utilisation: u, seconds: 1n }]);
      expect(await s.engine.borrowRate(BTC_MARKET)).to.be.closeTo(low, 1n);
    });

    // The reverse: Bob keeps the pool ~100 % utilised through ETH but closes, touches BTC and
    // reopens, so that BTC (where he or a friend trades) accrues at the near-zero-utilisation rate.
    it("test_borrowRate_cannotPinAnIdleMarketLow", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, carol } = s.signers;
      await s.engine.connect(carol).open(BTC_MARKET, true, 1_000n * USDC, WAD / 4n, BTC, FAR);
      await s.engine.connect(bob).open(ETH_MARKET, true, 45_000n * USDC, 660n * WAD, ETH, FAR);
      await s.engine.connect(bob).close(2n, 0n, FAR);
      await s.engine.connect(alice).open(BTC_MARKET, false, 10n * USDC, WAD / 1000n, BTC, FAR);
      const tOpen = await nextBlockAt(networkHelpers);
      await s.engine.connect(bob).open(ETH_MARKET, true, 45_000n * USDC, 660n * WAD, ETH, FAR);
      const indexAtOpen = await s.engine.currentBorrowIndex(BTC_MARKET);
      const u = await utilisationNow(s);
      expect(u).to.be.greaterThan((99n * WAD) / 100n);

      const t = await hold(s, DAY);
      const growth = (await s.engine.currentBorrowIndex(BTC_MARKET)) - indexAtOpen;
      expect(growth).to.be.closeTo(pathIndexGrowth(defaultParams, [{ utilisation: u, seconds: t - tOpen }]), 1n);
    });
  });

  describe("finding 8: freezing all free liquidity is not cheap", () => {
    // Attack: long and short 333 ETH each (price-neutral) reserve 999,000 of 1,001,998 LP assets:
    // LPs can withdraw 2,998 and every new open reverts InsufficientFreeLiquidity. Before the fix
    // this cost about 2.7k a day in borrow fees (0.27 % of the blocked liquidity).
    // Criterion (README, "Behaviour and decisions"): at the default parameters, holding the pool
    // above 99 % utilisation with price-neutral positions costs at least 1 % a day of the
    // liquidity it blocks, so a freeze of 100 days costs more than everything it blocked.
    it("test_freeze_reservingAllFreeLiquidityCostsOnePercentOfItADay", async () => {
      const s = await networkHelpers.loadFixture(system);
      const { alice, bob, carol, lp } = s.signers;
      await s.engine.connect(alice).open(ETH_MARKET, true, 30_000n * USDC, 333n * WAD, ETH, FAR);
      await s.engine.connect(bob).open(ETH_MARKET, false, 30_000n * USDC, 333n * WAD, ETH, FAR);
      const l = await s.engine.ledger();
      expect([l.lpAssets, l.reserved]).to.deep.equal([1_001_998n * USDC, 999_000n * USDC]);
      expect(await s.pool.maxWithdraw(lp)).to.equal(2_998n * USDC);
      await expect(s.engine.connect(carol).open(BTC_MARKET, true, 1_000n * USDC, WAD / 10n, BTC, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(2_998n * USDC, 3_000n * USDC);

      const t0 = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      const index0 = await s.engine.currentBorrowIndex(ETH_MARKET);
      await hold(s, DAY);
      const index1 = await s.engine.currentBorrowIndex(ETH_MARKET);
      const t1 = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      // Both positions' fees for the day (each size * entry * index growth, rounded up).
      const notional = 333n * ETH;
      const feesPerDay = (2n * notional * (index1 - index0) * DAY) / (t1 - t0) / WAD / (WAD / USDC);
      const blocked = l.reserved;
      expect(feesPerDay * 100n).to.be.greaterThanOrEqual(blocked);
      // 10 % + 40 % x 99.7 % + 3,000 % x 9.7 % = 341 % a year on 1,998,000 of notional: 18.66k a
      // day (1.87 % of the blocked liquidity), against 2.73k before the kink.
      expect(feesPerDay).to.be.closeTo(18_661n * USDC, 2n * USDC);
      // The rate is the documented curve at the frozen utilisation, nothing more.
      const u = utilisationOf(l.lpAssets, l.reserved);
      expect(index1 - index0).to.be.closeTo(pathIndexGrowth(defaultParams, [{ utilisation: u, seconds: t1 - t0 }]), 1n);
    });

    it("test_borrowRate_belowTargetUtilisationIsTheLinearCurve", async () => {
      const s = await networkHelpers.loadFixture(system);
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 30_000n * USDC, 500n * WAD, ETH, FAR);
      const u = await utilisationNow(s);
      expect(u).to.be.lessThan((9n * WAD) / 10n);
      const linear = defaultParams.baseBorrowRate + (defaultParams.borrowRateSlope * u) / WAD;
      expect(await s.engine.borrowRate(ETH_MARKET)).to.equal(linear);
      expect(pathIndexGrowth(defaultParams, [{ utilisation: u, seconds: YEAR }])).to.equal(
        defaultParams.baseBorrowRate * YEAR + (defaultParams.borrowRateSlope * u * YEAR) / WAD,
      );
    });
  });

  describe("property: every index follows the utilisation path", () => {
    /** Deterministic xorshift so a failure replays. */
    function rng(seed: bigint) {
      let x = seed;
      return (n: bigint) => {
        x ^= (x << 13n) & (2n ** 64n - 1n);
        x ^= x >> 7n;
        x ^= (x << 17n) & (2n ** 64n - 1n);
        return x % n;
      };
    }

    // Random sequences of utilisation changes made by other markets and LPs (ETH opens and closes,
    // LP deposits and withdrawals) and time steps; the BTC market is never touched after its
    // first position. Its index must equal the reference base·T + slope·∫u + kink·∫(u − target)⁺
    // built from the ledger states the steps left, exactly (the engine rounds the rate integral
    // down once, from the pool's genesis: floor(I_T) − floor(I_0) below).
    for (const seed of [1n, 2n, 3n]) {
      it(`testFuzz_borrowIndex_followsTheUtilisationPath_whateverOtherMarketsDo (seed ${seed})`, async () => {
        const s = await networkHelpers.loadFixture(system);
        const { alice, bob, carol, lp } = s.signers;
        const next = rng(0x9e3779b97f4a7c15n * seed);
        await s.fund(bob.address, 10_000_000n * USDC);
        await s.fund(alice.address, 100_000_000n * USDC);
        await (await s.token.connect(bob).approve(s.pool, ethers.MaxUint256)).wait();
        const opened = await (await s.engine.connect(carol).open(BTC_MARKET, true, 1_000n * USDC, WAD / 4n, BTC, FAR)).wait();
        const t0 = BigInt((await ethers.provider.getBlock(opened!.blockNumber))!.timestamp);
        const m0 = await s.engine.market(BTC_MARKET);
        const a0 = await s.engine.utilisationAccumulator();
        expect(a0.updatedAt).to.equal(t0);
        let [cumulative, above] = [a0.utilisationTime, a0.aboveTargetTime];
        let [tPrev, uPrev] = [t0, await utilisationNow(s)];
        const openIds: bigint[] = [];
        const integral = (c: bigint, a: bigint) => (defaultParams.borrowRateSlope * c + ABOVE_TARGET_BORROW_RATE_SLOPE * a) / WAD;
        const expectIndexAt = async (t: bigint) => {
          const c = cumulative + uPrev * (t - tPrev);
          const a = above + (uPrev > TARGET_UTILISATION ? uPrev - TARGET_UTILISATION : 0n) * (t - tPrev);
          const expected = m0.borrowIndex + defaultParams.baseBorrowRate * (t - t0) + integral(c, a) - integral(a0.utilisationTime, a0.aboveTargetTime);
          expect(await s.engine.currentBorrowIndex(BTC_MARKET)).to.equal(expected);
        };
        for (let step = 0; step < 14; ++step) {
          const t = await hold(s, 3n + next(2n * DAY));
          await expectIndexAt(t);
          const l = await s.engine.ledger();
          const free = l.lpAssets - l.reserved;
          const kind = next(4n);
          let tx;
          if (kind === 0n && free > 2_000n * USDC) {
            // An ETH open reserving some or nearly all free liquidity (half its notional).
            const reserve = next(2n) === 0n ? free - 1_000n * USDC - next(free / 20n) : 1_000n * USDC + next(free - 1_000n * USDC);
            const size = (reserve * 2n * WAD * (WAD / USDC)) / ETH;
            // Fully collateralised: at the top of the kinked curve fees can reach 2 % of notional a day.
            const collateral = (size * ETH) / WAD / (WAD / USDC) + 10n * USDC;
            tx = await s.engine.connect(alice).open(ETH_MARKET, next(2n) === 0n, collateral, size, ETH, FAR);
            openIds.push((await s.engine.nextPositionId()) - 1n);
          } else if (kind === 1n && openIds.length > 0) {
            const id = openIds.splice(Number(next(BigInt(openIds.length))), 1)[0]!;
            tx = await s.engine.connect(alice).close(id, (await s.engine.position(id)).isLong ? 0n : ethers.MaxUint256, FAR);
          } else if (kind === 2n) {
            tx = await s.pool.connect(bob)["deposit(uint256,address)"](1_000n * USDC + next(500_000n * USDC), bob);
          } else {
            const max = await s.pool.maxWithdraw(lp);
            if (max > 1n) tx = await s.pool.connect(lp).withdraw(1n + next(max - 1n), lp, lp);
          }
          if (!tx) continue;
          const rc = (await tx.wait())!;
          const tAction = BigInt((await ethers.provider.getBlock(rc.blockNumber))!.timestamp);
          cumulative += uPrev * (tAction - tPrev);
          if (uPrev > TARGET_UTILISATION) above += (uPrev - TARGET_UTILISATION) * (tAction - tPrev);
          [tPrev, uPrev] = [tAction, await utilisationNow(s)];
        }
        await expectIndexAt(await hold(s, DAY));
        expect(await s.engine.market(BTC_MARKET)).to.deep.equal(m0); // never touched
        expect(above).to.be.greaterThan(a0.aboveTargetTime); // the path went above the target
      });
    }
  });
});
