// A trader action that changes a position must leave it healthy, not only above initial margin.
// With an unrealised loss, equity can sit below minCollateral, where the minimum liquidation fee
// lifts maintenance above notional / maxLeverage: such a decrease or collateral removal reverts
// with InsufficientMargin(equity, maintenance). (Found by the invariant suite's handler.)
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { deployUnitSystem } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
// Within the bounds for 50x and a 10 USDC minimum: mmr + fee rate < 2 %, min fee < 10 x (1 - 50 x 1.5 %).
const RISK = { mmr: (15n * WAD) / 1000n, liquidationFeeRate: (4n * WAD) / 1000n, minLiquidationFee: 2n * USDC, maxProfitFactorBps: 5000n };

/** No borrow fees; positions opened from here on keep RISK; ETH then trades at 2,850. */
async function minFeeDominates() {
  const s = await deployUnitSystem(ethers);
  await (await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n })).wait();
  await (await s.engine.setRiskParams(ETH_MARKET, RISK)).wait();
  const { alice, bob } = s.signers;
  await (await s.engine.connect(alice).open(ETH_MARKET, true, 30n * USDC, WAD / 10n, PX, FAR)).wait(); // #1
  await (await s.engine.connect(bob).open(ETH_MARKET, true, 41_500_000n, WAD / 5n, PX, FAR)).wait(); // #2
  await (await s.ethFeed.updateAnswer(2_850n * 10n ** 8n)).wait();
  return s;
}

describe("a changed position comes out healthy", () => {
  it("removeCollateral: above initial margin but below maintenance reverts with InsufficientMargin(equity, maintenance)", async () => {
    const s = await networkHelpers.loadFixture(minFeeDominates);
    const { alice } = s.signers;
    // 0.1 ETH at 2,850: notional 285, initial margin 5.7, maintenance 4.275 + max(1.14, 2) = 6.275;
    // equity = collateral - 15.
    expect((await s.engine.previewLiquidation(1n)).maintenance).to.equal(6_275_000n);
    await expect(s.engine.connect(alice).removeCollateral(1n, 9n * USDC)) // equity 6.0 >= 5.7
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(6n * USDC, 6_275_000n);
    await (await s.engine.connect(alice).removeCollateral(1n, 8_725_000n)).wait(); // equity 6.275
    expect((await s.engine.previewLiquidation(1n)).equity).to.equal(6_275_000n);
    expect(await s.engine.isLiquidatable(1n)).to.equal(false);
  });

  it("decrease: a remainder above initial margin but below maintenance reverts with InsufficientMargin(equity, maintenance)", async () => {
    const s = await networkHelpers.loadFixture(minFeeDominates);
    const { bob } = s.signers;
    expect(await s.engine.isLiquidatable(2n)).to.equal(false);
    // Half of 0.2 ETH: 20.75 of collateral stays against a 15 loss, equity 5.75 >= 5.7 but < 6.275.
    await expect(s.engine.connect(bob).decrease(2n, WAD / 10n, 0n, FAR))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(5_750_000n, 6_275_000n);
    // A quarter leaves notional 427.5: maintenance 6.4125 + 2 = 8.4125, equity 31.125 - 22.5 = 8.625.
    await (await s.engine.connect(bob).decrease(2n, WAD / 20n, 0n, FAR)).wait();
    expect(await s.engine.isLiquidatable(2n)).to.equal(false);
  });
});
