import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { deployUnitSystem } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;

/** Zero borrow rates, so equity does not move with time and the reverts have exact arguments. */
async function noBorrow() {
  const s = await deployUnitSystem(ethers);
  await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n });
  return s;
}

/** 1: Alice long 10 ETH at 3,000 with 600 USDC, exactly 50x (initial margin 600). */
async function with50xLong() {
  const s = await noBorrow();
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 600n * USDC, 10n * WAD, PX, FAR);
  return s;
}

/** 1: Alice long 10 ETH at 3,000 with 1,000 USDC (30x). */
async function with30xLong() {
  const s = await noBorrow();
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 1_000n * USDC, 10n * WAD, PX, FAR);
  return s;
}

describe("removeCollateral counts no unrealised profit", () => {
  it("test_removeCollateral_cannotWithdrawMarginOnPaperProfitAt50x: +10% on a 50x long no longer lets 590 of 600 USDC out", async () => {
    const s = await networkHelpers.loadFixture(with50xLong);
    const { alice } = s.signers;
    await s.ethFeed.updateAnswer(feedAnswer(3_300n)); // pnl +3,000; notional 33,000; initial margin 660
    // Before: equity 600 - a + 3,000 >= 660 let Alice take everything down to minCollateral (10 USDC)
    // and leave a 3,300x position that only the unrealised profit kept alive.
    await expect(s.engine.connect(alice).removeCollateral(1n, 590n * USDC))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(10n * USDC, 660n * USDC);
    await expect(s.engine.connect(alice).removeCollateral(1n, 1n))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(600n * USDC - 1n, 660n * USDC);
    expect(await s.lens.maxRemovableCollateral(1n)).to.equal(0n);
    // The profit is still the owner's: a decrease realises it (capped) and pays it out.
    await expect(s.engine.connect(alice).decrease(1n, 5n * WAD, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
  });

  it("removeCollateral: in profit, exactly collateral - max(initial margin, maintenance) comes out, one unit more reverts", async () => {
    const s = await networkHelpers.loadFixture(with30xLong);
    const { alice } = s.signers;
    await s.ethFeed.updateAnswer(feedAnswer(3_300n));
    const max = await s.lens.maxRemovableCollateral(1n);
    expect(max).to.equal(340n * USDC); // 1,000 - 660
    await expect(s.engine.connect(alice).removeCollateral(1n, max + 1n))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(660n * USDC - 1n, 660n * USDC);
    const { borrowIndex } = await s.engine.position(1n);
    await expect(s.engine.connect(alice).removeCollateral(1n, max))
      .to.emit(s.engine, "CollateralRemoved")
      .withArgs(1n, alice.address, max, 0n, 660n * USDC, borrowIndex);
    expect(await s.lens.maxRemovableCollateral(1n)).to.equal(0n);
  });

  it("removeCollateral: in loss, the loss still counts: 1,000 - 300 - 594 = 106 comes out", async () => {
    const s = await networkHelpers.loadFixture(with30xLong);
    const { alice } = s.signers;
    await s.ethFeed.updateAnswer(feedAnswer(2_970n)); // pnl -300; notional 29,700; initial margin 594
    const max = await s.lens.maxRemovableCollateral(1n);
    expect(max).to.equal(106n * USDC);
    await expect(s.engine.connect(alice).removeCollateral(1n, max + 1n))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(594n * USDC - 1n, 594n * USDC);
    await expect(s.engine.connect(alice).removeCollateral(1n, max)).to.emit(s.engine, "CollateralRemoved");
  });

  it("maxRemovableCollateral: bounded by minCollateral when margin allows more; reverts PositionNotFound for an unknown id", async () => {
    const s = await networkHelpers.loadFixture(noBorrow);
    const { alice } = s.signers;
    await s.engine.connect(alice).open(ETH_MARKET, true, 100n * USDC, WAD / 100n, PX, FAR); // notional 30, 3.3% of 1x
    const max = await s.lens.maxRemovableCollateral(1n);
    expect(max).to.equal(100n * USDC - defaultParams.minCollateral);
    await expect(s.engine.connect(alice).removeCollateral(1n, max + 1n))
      .to.be.revertedWithCustomError(s.engine, "CollateralBelowMinimum")
      .withArgs(defaultParams.minCollateral - 1n, defaultParams.minCollateral);
    await expect(s.engine.connect(alice).removeCollateral(1n, max)).to.emit(s.engine, "CollateralRemoved");
    await expect(s.lens.maxRemovableCollateral(9n)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(9n);
  });
});
