import { expect } from "chai";
import { network } from "hardhat";
import {
  BTC_MARKET,
  BTC_PRICE,
  ETH_MARKET,
  ETH_PRICE,
  FAR,
  HEARTBEAT,
  USDC,
  WAD,
  defaultParams,
  defaultRisk,
  wadFromFeed,
} from "../helpers/fixture.js";
import { deployUnitSystem } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const BTC_PX = wadFromFeed(BTC_PRICE);
const coder = ethers.AbiCoder.defaultAbiCoder();

/**
 * The BTC market's feed is a feed that later breaks (answers garbage); Alice holds an ETH long,
 * the BTC market has traded and is empty again.
 */
async function withEmptyBrokenMarket() {
  const s = await deployUnitSystem(ethers);
  const { alice, bob } = s.signers;
  const feed = await ethers.deployContract("MalformedAggregator");
  const t = BigInt(await networkHelpers.time.latest());
  await feed.setAnswer(coder.encode(["uint80", "int256", "uint256", "uint256", "uint80"], [1n, BTC_PRICE, t, t, 1n]));
  await s.engine.setFeed(BTC_MARKET, feed, HEARTBEAT);
  await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR); // 1
  await s.engine.connect(bob).open(BTC_MARKET, false, 300n * USDC, WAD / 10n, BTC_PX, FAR); // 2
  await networkHelpers.time.increase(600n);
  await feed.setAnswer(coder.encode(["uint80", "int256", "uint256", "uint256", "uint80"], [2n, BTC_PRICE, t + 600n, t + 600n, 2n]));
  await s.ethFeed.updateAnswer(ETH_PRICE);
  await s.engine.connect(bob).close(2n, ethers.MaxUint256, FAR);
  // The feed breaks: roundId no longer fits uint80.
  await feed.setAnswer(coder.encode(["uint256", "int256", "uint256", "uint256", "uint256"], [2n ** 100n, BTC_PRICE, t, t, 1n]));
  return { ...s, feed };
}

describe("delistMarket", () => {
  it("test_delist_removesABrokenFeedOfAnEmptyMarketFromEveryPath: before, the only remedy was pointing the market at another live feed", async () => {
    const s = await networkHelpers.loadFixture(withEmptyBrokenMarket);
    const { guardian, lp, alice } = s.signers;
    const feed = await s.feed.getAddress();
    // The consequence without delisting: the empty market's feed is read by the price view and by
    // every client enumerating markets; pausing it changes nothing. (The pool no longer reads the
    // feed of a market without open interest: see test/unit/pool.ts and PoolValuation.t.sol.)
    await s.engine.connect(guardian).setMarketPaused(BTC_MARKET, true);
    await expect(s.engine.price(BTC_MARKET)).to.be.revertedWithCustomError(s.engine, "InvalidFeedResponse").withArgs(feed, 160n);
    await s.pool.totalAssets();

    const m = await s.engine.market(BTC_MARKET);
    await expect(s.engine.delistMarket(BTC_MARKET)).to.emit(s.engine, "MarketDelisted").withArgs(BTC_MARKET);
    const after = await s.engine.market(BTC_MARKET);
    expect(after.delisted).to.equal(true);
    // Its stored state, the accrued fee bookkeeping included, is untouched.
    expect([after.borrowIndex, after.accruedBorrowFees, after.rateIntegral, after.feed, after.riskVersion]).to.deep.equal([
      m.borrowIndex,
      m.accruedBorrowFees,
      m.rateIntegral,
      m.feed,
      m.riskVersion,
    ]);
    await expect(s.engine.price(BTC_MARKET)).to.be.revertedWithCustomError(s.engine, "MarketIsDelisted").withArgs(BTC_MARKET);
    // LPs value and move their shares again; the other market trades as before.
    expect(await s.pool.totalAssets()).to.be.greaterThan(0n);
    await (await s.token.connect(lp).approve(s.pool, 1_000n * USDC)).wait();
    await s.fund(lp.address, 1_000n * USDC);
    await expect(s.pool.connect(lp)["deposit(uint256,address)"](1_000n * USDC, lp.address)).to.emit(s.pool, "Deposit");
    await expect(s.pool.connect(lp).withdraw(500n * USDC, lp.address, lp.address)).to.emit(s.pool, "Withdraw");
    await expect(s.engine.connect(alice).close(1n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
    expect(await s.engine.liquidateMany.staticCall([1n, 2n])).to.deep.equal([0n, 0n]);
  });

  it("delistMarket: reverts with MarketHasOpenInterest(marketId, longSize, shortSize) while either side is open", async () => {
    const s = await networkHelpers.loadFixture(withEmptyBrokenMarket);
    await expect(s.engine.delistMarket(ETH_MARKET))
      .to.be.revertedWithCustomError(s.engine, "MarketHasOpenInterest")
      .withArgs(ETH_MARKET, WAD, 0n);
    await s.engine.connect(s.signers.bob).open(ETH_MARKET, false, 300n * USDC, 2n * WAD, 0n, FAR);
    await expect(s.engine.delistMarket(ETH_MARKET))
      .to.be.revertedWithCustomError(s.engine, "MarketHasOpenInterest")
      .withArgs(ETH_MARKET, WAD, 2n * WAD);
    await s.engine.connect(s.signers.alice).close(1n, 0n, FAR);
    await expect(s.engine.delistMarket(ETH_MARKET))
      .to.be.revertedWithCustomError(s.engine, "MarketHasOpenInterest")
      .withArgs(ETH_MARKET, 0n, 2n * WAD);
    await s.engine.connect(s.signers.bob).close(3n, ethers.MaxUint256, FAR);
    await expect(s.engine.delistMarket(ETH_MARKET)).to.emit(s.engine, "MarketDelisted").withArgs(ETH_MARKET);
  });

  it("delistMarket: owner only; MarketNotListed for an unknown id; MarketIsDelisted the second time (no relisting)", async () => {
    const s = await networkHelpers.loadFixture(withEmptyBrokenMarket);
    await expect(s.engine.connect(s.signers.guardian).delistMarket(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
      .withArgs(s.signers.guardian.address);
    await expect(s.engine.delistMarket(2n)).to.be.revertedWithCustomError(s.engine, "MarketNotListed").withArgs(2n);
    await s.engine.delistMarket(BTC_MARKET);
    await expect(s.engine.delistMarket(BTC_MARKET)).to.be.revertedWithCustomError(s.engine, "MarketIsDelisted").withArgs(BTC_MARKET);
  });

  it("delisted market: open reverts with MarketIsDelisted before the feed is read, also while paused", async () => {
    const s = await networkHelpers.loadFixture(withEmptyBrokenMarket);
    await s.engine.delistMarket(BTC_MARKET);
    const { alice, guardian } = s.signers;
    await expect(s.engine.connect(alice).open(BTC_MARKET, true, 300n * USDC, WAD / 10n, FAR, FAR))
      .to.be.revertedWithCustomError(s.engine, "MarketIsDelisted")
      .withArgs(BTC_MARKET);
    await s.engine.connect(guardian).setPaused(true);
    await expect(s.engine.connect(alice).open(BTC_MARKET, true, 300n * USDC, WAD / 10n, FAR, FAR))
      .to.be.revertedWithCustomError(s.engine, "MarketIsDelisted")
      .withArgs(BTC_MARKET);
  });

  it("delisted market: setFeed, setMarketParams, setRiskParams and setMarketPaused revert with MarketIsDelisted", async () => {
    const s = await networkHelpers.loadFixture(withEmptyBrokenMarket);
    await s.engine.delistMarket(BTC_MARKET);
    const e = s.engine;
    await expect(e.setFeed(BTC_MARKET, s.btcFeed, HEARTBEAT)).to.be.revertedWithCustomError(e, "MarketIsDelisted").withArgs(BTC_MARKET);
    await expect(e.setMarketParams(BTC_MARKET, defaultParams)).to.be.revertedWithCustomError(e, "MarketIsDelisted").withArgs(BTC_MARKET);
    await expect(e.setRiskParams(BTC_MARKET, defaultRisk)).to.be.revertedWithCustomError(e, "MarketIsDelisted").withArgs(BTC_MARKET);
    await expect(e.connect(s.signers.guardian).setMarketPaused(BTC_MARKET, false))
      .to.be.revertedWithCustomError(e, "MarketIsDelisted")
      .withArgs(BTC_MARKET);
    // Views that read no feed answer as before.
    expect(await e.currentBorrowIndex(BTC_MARKET)).to.be.greaterThanOrEqual((await e.market(BTC_MARKET)).borrowIndex);
    expect((await e.riskParams(BTC_MARKET, 0n)).mmr).to.equal(defaultRisk.mmr);
  });
});
