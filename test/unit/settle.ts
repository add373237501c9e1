// DESIGN.md "Solvency rules (v2)": everything settles, and nothing is liquidatable in the block it
// opens or changes. The attack tests of issue 11 findings 4 and 5 use the numbers.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, FAR, USDC, WAD, YEAR, defaultParams, defaultRisk } from "../helpers/fixture.js";
import { ceilDiv, initialMargin, maintenance, max, type Risk } from "../helpers/reference.js";
import { deployUnitSystem, elapse } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

/** Seeded xorshift, so a failing case can be replayed. */
class Rng {
  constructor(private s: bigint) {}
  next(): bigint {
    let x = this.s;
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    this.s = x;
    return x;
  }
  range(lo: bigint, hi: bigint): bigint {
    return lo + (this.next() % (hi - lo + 1n));
  }
  bool(): boolean {
    return (this.next() & 1n) === 1n;
  }
}

const feedAnswer = (usd: bigint) => usd * 10n ** 8n;
/** Risk parameters every market-parameter set accepts, set before changing market parameters. */
const PERMISSIVE_RISK = { mmr: WAD / 1000n, liquidationFeeRate: 0n, minLiquidationFee: 0n, maxProfitFactorBps: 5000n };
const MAX_BORROW = { baseBorrowRate: WAD / YEAR, borrowRateSlope: (4n * WAD) / YEAR };

/** Finding 4: 10 ETH long at 3,000, 600 USDC, cap 10 %, maximum borrow rates, 60 days, ETH 4,500. */
async function withFeeEatenProfit() {
  const s = await deployUnitSystem(ethers);
  await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, ...MAX_BORROW });
  await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, maxProfitFactorBps: 1000n });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 600n * USDC, 10n * WAD, 3_000n * WAD, FAR);
  await s.ethFeed.updateAnswer(feedAnswer(4_500n));
  await elapse(networkHelpers, 60n * 24n * 3600n, [s.ethFeed]);
  return s;
}

describe("settlement", () => {
  describe("everything settles", () => {
    it("liquidate: settles a position whose borrow fee exceeds its capped value (issue 11 finding 4)", async () => {
      const s = await networkHelpers.loadFixture(withFeeEatenProfit);
      const { alice, keeper } = s.signers;
      // Uncapped equity is 600 + 15,000 - fee > maintenance; capped it is 600 + 3,000 - fee < 0.
      const h = await s.lens.health(1n);
      expect(h.borrowFee).to.be.greaterThan(4_900n * USDC);
      expect(h.equity).to.be.lessThan(0n);
      await expect(s.engine.connect(alice).close(1n, 0n, FAR)).to.be.revertedWithCustomError(
        s.engine,
        "PositionUnderwater",
      );
      expect(await s.engine.isLiquidatable(1n)).to.equal(true);
      await expect(s.engine.connect(keeper).liquidate(1n)).to.emit(s.engine, "PositionLiquidated");
      expect((await s.engine.position(1n)).size).to.equal(0n);
    });

    it("close: the close fee is capped at the position's mmr, so a raise cannot trap a healthy position", async () => {
      const s = await deployUnitSystem(ethers);
      const { alice } = s.signers;
      const noBorrow = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n };
      await s.engine.setMarketParams(ETH_MARKET, noBorrow);
      // mmr 0.2 % + liquidation fee 0.3 %: a close fee of 1 % (in bounds) exceeds maintenance.
      await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, mmr: WAD / 500n, liquidationFeeRate: (3n * WAD) / 1000n });
      await s.engine.connect(alice).open(ETH_MARKET, true, 64_750_000n, WAD, 3_000n * WAD, FAR);
      await s.engine.setMarketParams(ETH_MARKET, { ...noBorrow, closeFeeRate: WAD / 100n });
      // At 2,950: equity 14.75 = maintenance 0.5 % of 2,950; a 1 % fee (29.5) would leave it owing.
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      expect(await s.engine.isLiquidatable(1n)).to.equal(false);
      // Fee 0.2 % of 2,950 = 5.9; payout 64.75 - 50 - 5.9 = 8.85.
      await expect(s.engine.connect(alice).close(1n, 0n, FAR))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, alice.address, WAD, 2_950n * WAD, -50n * USDC, 0n, 5_900_000n, 8_850_000n, 0n, 0n, (x: bigint) => x >= 0n);
    });

    it("testFuzz_everythingSettles: at random prices and up to a year of maximum borrow rates, close or liquidate succeeds", async function () {
      this.timeout(300_000);
      const rng = new Rng(0x5e771en);
      let closable = 0;
      let liquidatable = 0;
      for (let round = 0; round < 6; round++) {
        const s = await deployUnitSystem(ethers, { tokenDecimals: round % 2 === 0 ? 6 : 18 });
        const one = 10n ** BigInt(s.decimals);
        const closeFeeRate = rng.range(0n, WAD / 100n);
        await s.engine.setRiskParams(ETH_MARKET, PERMISSIVE_RISK);
        await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, ...MAX_BORROW, closeFeeRate, minCollateral: 10n * one });
        const risk = {
          mmr: rng.range(WAD / 1000n, WAD / 100n),
          liquidationFeeRate: rng.range(0n, WAD / 200n),
          minLiquidationFee: rng.range(0n, 4n * one),
          maxProfitFactorBps: rng.range(1000n, 100_000n),
        };
        await s.engine.setRiskParams(ETH_MARKET, risk);
        const ids: bigint[] = [];
        for (let k = 0; k < 4; k++) {
          const isLong = rng.bool();
          const size = rng.range(WAD / 10n, 2n * WAD);
          const notional = (size * 3_000n * one) / WAD;
          const collateral = max(10n * one, ceilDiv(notional, rng.range(2n, 45n))) + rng.range(0n, one);
          await s.engine.connect(s.signers.alice).open(ETH_MARKET, isLong, collateral, size, isLong ? FAR * WAD : 0n, FAR);
          ids.push(BigInt(ids.length + 1));
        }
        let elapsed = 0n;
        for (let step = 0; step < 6; step++) {
          const dt = rng.range(0n, YEAR / 6n);
          elapsed += dt;
          await networkHelpers.time.increase(dt + 1n);
          const usd = rng.range(300n, 9_000n);
          await s.ethFeed.updateAnswer(feedAnswer(usd));
          for (const id of ids) {
            // Any fill price: a long's close sells (minimum 0), a short's buys (no maximum).
            const acceptable = (await s.engine.position(id)).isLong ? 0n : FAR * WAD;
            const canClose = await s.engine.connect(s.signers.alice).close.staticCall(id, acceptable, FAR).then(() => true, () => false);
            const canLiquidate = await s.engine.connect(s.signers.keeper).liquidate.staticCall(id).then(() => true, () => false);
            const where = `round ${round} step ${step} id ${id} price ${usd} elapsed ${elapsed}`;
            expect(canClose || canLiquidate, `neither closable nor liquidatable: ${where}`).to.equal(true);
            expect(canLiquidate, `isLiquidatable: ${where}`).to.equal(await s.engine.isLiquidatable(id));
            if (canClose) closable++;
            if (canLiquidate) liquidatable++;
          }
        }
      }
      expect(closable).to.be.greaterThan(20);
      expect(liquidatable).to.be.greaterThan(20);
    });
  });

  describe("nothing is liquidatable in its opening block", () => {
    it("open: reverts with InsufficientMargin when rounding would leave a max-leverage open liquidatable (issue 11 finding 5)", async () => {
      const s = await deployUnitSystem(ethers);
      await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, mmr: WAD / 100n, liquidationFeeRate: WAD / 100n - 1n });
      // notional 500.000001 at 3,000: size 0.166666667 ETH; initial margin ceil(500.000001 / 50) = 10.000001;
      // maintenance ceil(5.00000001) + ceil(5.00000001 - 5e-10) = 10.000002.
      const size = 166_666_667n * 10n ** 9n;
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 10_000_001n, size, 3_000n * WAD, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(10_000_001n, 10_000_002n);
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 10_000_002n, size, 3_000n * WAD, FAR);
      expect(await s.engine.isLiquidatable(1n)).to.equal(false);
    });

    it("testFuzz_nothingLiquidatableAtOpenOrChange: every bound-legal parameter set, 6 and 18 decimals", async function () {
      this.timeout(300_000);
      const rng = new Rng(0x0be11n);
      let opened = 0;
      let removed = 0;
      for (let round = 0; round < 8; round++) {
        const s = await deployUnitSystem(ethers, { tokenDecimals: round % 2 === 0 ? 6 : 18 });
        const one = 10n ** BigInt(s.decimals);
        const maxLeverage = rng.range(11n * WAD / 10n, 100n * WAD);
        const minCollateral = rng.range(1n, 20n * one);
        await s.engine.setRiskParams(ETH_MARKET, PERMISSIVE_RISK);
        await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, maxLeverage, minCollateral });
        // mmr + liquidationFeeRate < 1 / maxLeverage, minLiquidationFee < minCollateral * (1 - maxLeverage * mmr).
        const initialRate = (WAD * WAD) / maxLeverage;
        const mmr = rng.range(WAD / 1000n, initialRate - 1n > WAD / 2n ? WAD / 2n : initialRate - 1n);
        const feeCeiling = initialRate - 1n - mmr;
        const liquidationFeeRate = rng.bool() ? feeCeiling : rng.range(0n, feeCeiling > WAD / 20n ? WAD / 20n : feeCeiling);
        const leveragedMmr = ceilDiv(maxLeverage * mmr, WAD);
        const feeRoom = leveragedMmr >= WAD ? 0n : (minCollateral * (WAD - leveragedMmr)) / WAD;
        const risk: Risk = {
          mmr,
          liquidationFeeRate: liquidationFeeRate > WAD / 20n ? WAD / 20n : liquidationFeeRate,
          minLiquidationFee: feeRoom === 0n ? 0n : rng.range(0n, feeRoom - 1n),
          maxProfitFactorBps: 5000n,
        };
        await s.engine.setRiskParams(ETH_MARKET, risk);
        for (let k = 0; k < 6; k++) {
          const isLong = rng.bool();
          const size = rng.range(1n, 10n * WAD);
          const notional = s.u.notional(size, 3_000n * WAD);
          // The smallest collateral initial margin alone would accept, and a little above it.
          const im = max(initialMargin(notional, maxLeverage), minCollateral);
          const collateral = im + (rng.bool() ? 0n : rng.range(0n, 3n));
          const required = max(im, maintenance(notional, risk));
          const open = s.engine.connect(s.signers.alice).open(ETH_MARKET, isLong, collateral, size, isLong ? FAR * WAD : 0n, FAR);
          if (collateral < required) {
            await expect(open).to.be.revertedWithCustomError(s.engine, "InsufficientMargin").withArgs(collateral, required);
            continue;
          }
          await open;
          const id = (await s.engine.nextPositionId()) - 1n;
          expect(await s.engine.isLiquidatable(id), `open round ${round} id ${id}`).to.equal(false);
          opened++;
          // The most removable collateral at a moved price leaves it healthy too.
          await s.ethFeed.updateAnswer(feedAnswer(rng.range(2_950n, 3_050n)));
          const c = (await s.engine.position(id)).collateral;
          for (let amount = c - minCollateral; amount > 0n; amount /= 2n) {
            const ok = await s.engine.connect(s.signers.alice).removeCollateral.staticCall(id, amount).then(() => true, () => false);
            if (!ok) continue;
            await s.engine.connect(s.signers.alice).removeCollateral(id, amount);
            expect(await s.engine.isLiquidatable(id), `removeCollateral round ${round} id ${id}`).to.equal(false);
            removed++;
            break;
          }
          await s.ethFeed.updateAnswer(feedAnswer(3_000n));
        }
      }
      expect(opened).to.be.greaterThan(10);
      expect(removed).to.be.greaterThan(0);
    });
  });
});
