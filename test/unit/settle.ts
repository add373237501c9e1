// DESIGN.md "Solvency rules (v2)": everything settles, and nothing is liquidatable in the block it
// opens or changes. The attack tests of issue 11 findings 4 and 5 use the numbers.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, FAR, USDC, WAD, YEAR, defaultParams, defaultRisk } from "../helpers/fixture.js";
import { deployUnitSystem, elapse } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const feedAnswer = (usd: bigint) => usd * 10n ** 8n;
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
  });
});
