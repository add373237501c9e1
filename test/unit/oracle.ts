import { expect } from "chai";
import { network } from "hardhat";
import {
  ETH_MARKET,
  ETH_PRICE,
  FAR,
  HEARTBEAT,
  SEQUENCER_GRACE,
  USDC,
  WAD,
  defaultParams,
  defaultRisk,
  wadFromFeed,
} from "../helpers/fixture.js";
import { deployUnitSystem, nextBlockAt } from "../helpers/unit.js";
import { deployEngineLibraries } from "../helpers/engine.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const MAX_PRICE = 2n ** 96n - 1n;

/** Alice long 1 ETH (id 1), Bob long 1 ETH with 75 USDC (id 2, liquidatable below ~2954). */
async function withPositions() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  await s.engine.connect(s.signers.bob).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  return s;
}

async function withSequencer() {
  const s = await deployUnitSystem(ethers, { sequencer: true });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  return { ...s, seq: s.sequencerFeed! };
}

const latest = async () => BigInt(await networkHelpers.time.latest());

describe("oracle", () => {
  describe("normalisation", () => {
    for (const decimals of [0n, 6n, 8n, 18n, 20n, 36n]) {
      it(`price: a ${decimals}-decimal feed answering 3000 gives 3000e18`, async () => {
        const s = await networkHelpers.loadFixture(withPositions);
        const feed = await ethers.deployContract("MockV3Aggregator", [decimals, 3_000n * 10n ** decimals]);
        await expect(s.engine.setFeed(ETH_MARKET, feed, HEARTBEAT))
          .to.emit(s.engine, "FeedSet")
          .withArgs(ETH_MARKET, await feed.getAddress(), HEARTBEAT, decimals);
        expect(await s.engine.price(ETH_MARKET)).to.equal(3_000n * WAD);
        expect((await s.engine.market(ETH_MARKET)).feedDecimals).to.equal(decimals);
      });
    }

    it("price: feeds with 8, 18 and 20 decimals give the same WAD price for a non-round answer", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const usd = 3_141_592_653n; // 3141.592653 USDC per ETH
      const prices: bigint[] = [];
      for (const decimals of [8n, 18n, 20n]) {
        const feed = await ethers.deployContract("MockV3Aggregator", [decimals, usd * 10n ** (decimals - 6n)]);
        await s.engine.setFeed(ETH_MARKET, feed, HEARTBEAT);
        prices.push(await s.engine.price(ETH_MARKET));
      }
      expect(prices).to.deep.equal([usd * 10n ** 12n, usd * 10n ** 12n, usd * 10n ** 12n]);
    });

    it("price: digits beyond 18 decimals are truncated (20 decimals)", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const feed = await ethers.deployContract("MockV3Aggregator", [20n, 3_000n * 10n ** 20n + 99n]);
      await s.engine.setFeed(ETH_MARKET, feed, HEARTBEAT);
      expect(await s.engine.price(ETH_MARKET)).to.equal(3_000n * WAD);
    });

    it("open: records the normalised price of an 18-decimal feed as entry", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const feed = await ethers.deployContract("MockV3Aggregator", [18n, 2_500n * WAD]);
      await s.engine.setFeed(ETH_MARKET, feed, HEARTBEAT);
      await s.engine.connect(s.signers.carol).open(ETH_MARKET, false, 300n * USDC, WAD, 2_500n * WAD, FAR);
      expect((await s.engine.position(3n)).entryPrice).to.equal(2_500n * WAD);
    });
  });

  describe("price checks", () => {
    it("price: reverts with PriceFeedCallFailed when latestRoundData reverts", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const broken = await ethers.deployContract("RevertingAggregator");
      await s.engine.setFeed(ETH_MARKET, broken, HEARTBEAT);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceFeedCallFailed")
        .withArgs(await broken.getAddress());
    });

    it("price: reverts with PriceFeedCallFailed for a contract without latestRoundData", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.engine.setFeed(ETH_MARKET, s.token, HEARTBEAT); // it has decimals(), nothing else
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceFeedCallFailed")
        .withArgs(await s.token.getAddress());
    });

    it("price: reverts with NonPositivePrice for a zero and for a negative answer", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const feed = await s.ethFeed.getAddress();
      await s.ethFeed.updateAnswer(0n);
      await expect(s.engine.price(ETH_MARKET)).to.be.revertedWithCustomError(s.engine, "NonPositivePrice").withArgs(feed, 0n);
      await s.ethFeed.updateAnswer(-5n * 10n ** 8n);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "NonPositivePrice")
        .withArgs(feed, -5n * 10n ** 8n);
    });

    it("price: reverts with PriceNotUpdated when the round has no update time", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.ethFeed.updateRoundData(7n, ETH_PRICE, 0n, 0n);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceNotUpdated")
        .withArgs(await s.ethFeed.getAddress());
    });

    it("price: reverts with PriceFromFuture when updatedAt is after the block", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const now = await latest();
      await s.ethFeed.updateRoundData(7n, ETH_PRICE, now + 100n, now);
      const t = await latest();
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceFromFuture")
        .withArgs(await s.ethFeed.getAddress(), now + 100n, t);
      // In a transaction: the block's own timestamp is reported.
      const tx = await nextBlockAt(networkHelpers, 5n);
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PriceFromFuture")
        .withArgs(await s.ethFeed.getAddress(), now + 100n, tx);
    });

    it("price: valid at exactly heartbeat seconds old, StalePrice one second later", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const updatedAt = (await s.ethFeed.latestRoundData()).updatedAt;
      await networkHelpers.time.increaseTo(updatedAt + HEARTBEAT);
      expect(await s.engine.price(ETH_MARKET)).to.equal(PX);
      await networkHelpers.mine();
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "StalePrice")
        .withArgs(await s.ethFeed.getAddress(), updatedAt, HEARTBEAT);
    });

    it("price: reverts with PriceOutOfRange above 2^96-1 WAD and accepts exactly the maximum", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const feed18 = await ethers.deployContract("MockV3Aggregator", [18n, MAX_PRICE]);
      await s.engine.setFeed(ETH_MARKET, feed18, HEARTBEAT);
      expect(await s.engine.price(ETH_MARKET)).to.equal(MAX_PRICE);
      await feed18.updateAnswer(MAX_PRICE + 1n);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceOutOfRange")
        .withArgs(await feed18.getAddress(), MAX_PRICE + 1n);
      // 8 decimals: scaling up by 1e10 would pass the maximum.
      const tooBig = MAX_PRICE / 10n ** 10n + 1n;
      await s.ethFeed.updateAnswer(tooBig);
      await s.engine.setFeed(ETH_MARKET, s.ethFeed, HEARTBEAT);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceOutOfRange")
        .withArgs(await s.ethFeed.getAddress(), tooBig);
      await s.ethFeed.updateAnswer(tooBig - 1n);
      expect(await s.engine.price(ETH_MARKET)).to.equal((tooBig - 1n) * 10n ** 10n);
    });

    it("price: reverts with PriceOutOfRange when a >18-decimal answer truncates to zero", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const feed = await ethers.deployContract("MockV3Aggregator", [20n, 99n]);
      await s.engine.setFeed(ETH_MARKET, feed, HEARTBEAT);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "PriceOutOfRange")
        .withArgs(await feed.getAddress(), 99n);
      await feed.updateAnswer(100n);
      expect(await s.engine.price(ETH_MARKET)).to.equal(1n);
    });
  });

  describe("every price read uses the validated path", () => {
    it("stale feed: open, increase, decrease, close, removeCollateral and liquidate revert with StalePrice; addCollateral works", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, keeper } = s.signers;
      await s.ethFeed.updateAnswer(2_900n * 10n ** 8n); // Bob's position is liquidatable
      const updatedAt = (await s.ethFeed.latestRoundData()).updatedAt;
      await networkHelpers.time.increase(HEARTBEAT + 1n);
      const args = [await s.ethFeed.getAddress(), updatedAt, HEARTBEAT] as const;
      const e = s.engine.connect(alice);
      const stale = "StalePrice";
      await expect(e.open(ETH_MARKET, true, 300n * USDC, WAD, ethers.MaxUint256, FAR)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(e.increase(1n, 0n, WAD, ethers.MaxUint256, FAR)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(e.decrease(1n, WAD / 2n, 0n, FAR)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(e.close(1n, 0n, FAR)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(e.removeCollateral(1n, USDC)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(s.engine.connect(keeper).liquidate(2n)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(s.engine.previewLiquidation(2n)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      await expect(s.lens.health(2n)).to.be.revertedWithCustomError(s.engine, stale).withArgs(...args);
      expect(await s.engine.isLiquidatable(2n)).to.equal(false);
      const [count] = await s.engine.connect(keeper).liquidateMany.staticCall([2n]);
      expect(count).to.equal(0n);
      await expect(e.addCollateral(1n, USDC)).to.emit(s.engine, "CollateralAdded");
    });

    it("stale feed: the lens marks positions priceValid = false and previews them not liquidatable", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await networkHelpers.time.increase(HEARTBEAT + 1n);
      const [v] = await s.lens.positions([1n]);
      expect(v.priceValid).to.equal(false);
      expect(v.owner).to.equal(s.signers.alice.address);
      const [p] = await s.lens.previewLiquidations([2n]);
      expect(p.liquidatable).to.equal(false);
    });

    it("stale feed: LP share pricing refuses (documented: shares are never priced on a bad price)", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await networkHelpers.time.increase(HEARTBEAT + 1n);
      await expect(s.pool.totalAssets()).to.be.revertedWithCustomError(s.engine, "StalePrice");
    });
  });

  describe("L2 sequencer", () => {
    it("sequencer: prices are valid while it is up past the grace period", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      expect(await s.engine.price(ETH_MARKET)).to.equal(PX);
      const [feed, grace] = await s.engine.sequencer();
      expect([feed, grace]).to.deep.equal([await s.seq.getAddress(), SEQUENCER_GRACE]);
    });

    it("sequencer: reverts with SequencerDown while the uptime feed reports down", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      const now = await latest();
      await s.seq.updateRoundData(2n, 1n, now, now);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "SequencerDown")
        .withArgs(await s.seq.getAddress());
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SequencerDown")
        .withArgs(await s.seq.getAddress());
      await expect(s.engine.connect(s.signers.alice).addCollateral(1n, USDC)).to.emit(s.engine, "CollateralAdded");
    });

    it("sequencer: an uninitialised round (startedAt 0) counts as down", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      await s.seq.updateRoundData(2n, 0n, await latest(), 0n);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "SequencerDown")
        .withArgs(await s.seq.getAddress());
    });

    it("sequencer: reverts with SequencerGracePeriod until the grace period has passed", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      const now = await latest();
      const upSince = now - 100n;
      await s.seq.updateRoundData(2n, 0n, now, upSince);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "SequencerGracePeriod")
        .withArgs(upSince, SEQUENCER_GRACE);
      await networkHelpers.time.increaseTo(upSince + SEQUENCER_GRACE);
      await s.ethFeed.updateAnswer(ETH_PRICE); // keep the price itself fresh
      // block.timestamp - upSince = grace + 1 after the update block
      expect(await s.engine.price(ETH_MARKET)).to.equal(PX);
    });

    it("sequencer: exactly grace seconds after it came back is still in the grace period", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      const now = await latest();
      const upSince = now + 1n - SEQUENCER_GRACE; // the next block is exactly grace seconds after
      await networkHelpers.time.setNextBlockTimestamp(now + 1n);
      await s.seq.updateRoundData(2n, 0n, now + 1n, upSince);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "SequencerGracePeriod")
        .withArgs(upSince, SEQUENCER_GRACE);
    });

    it("sequencer: a start time in the future is treated as within the grace period", async () => {
      const s = await networkHelpers.loadFixture(withSequencer);
      const now = await latest();
      await s.seq.updateRoundData(2n, 0n, now, now + 1_000n);
      await expect(s.engine.price(ETH_MARKET))
        .to.be.revertedWithCustomError(s.engine, "SequencerGracePeriod")
        .withArgs(now + 1_000n, SEQUENCER_GRACE);
    });

    it("sequencer: a reverting uptime feed reverts with PriceFeedCallFailed(sequencer feed)", async () => {
      const [deployer] = await ethers.getSigners();
      const token = await ethers.deployContract("MockStablecoin", ["USD Coin", "USDC", 6]);
      const pool = await ethers.deployContract("BulkheadPool", [token, "LP", "LP"]);
      const broken = await ethers.deployContract("RevertingAggregator");
      const engine = await ethers.deployContract("Bulkhead", [token, pool, deployer, deployer, broken, SEQUENCER_GRACE], {
        libraries: await deployEngineLibraries(ethers),
      });
      const feed = await ethers.deployContract("MockV3Aggregator", [8n, ETH_PRICE]);
      await engine.listMarket(feed, HEARTBEAT, defaultParams, defaultRisk);
      await expect(engine.price(0n))
        .to.be.revertedWithCustomError(engine, "PriceFeedCallFailed")
        .withArgs(await broken.getAddress());
    });
  });
});
