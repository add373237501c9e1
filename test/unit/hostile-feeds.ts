import { expect } from "chai";
import { network } from "hardhat";
import {
  BTC_MARKET,
  BTC_PRICE,
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
import { deployEngineLibraries } from "../helpers/engine.js";
import { deployUnitSystem } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const coder = ethers.AbiCoder.defaultAbiCoder();
const ROUND_TYPES = ["uint256", "int256", "uint256", "uint256", "uint256"];

/** latestRoundData as raw words (roundId and answeredInRound may be given out of uint80 range). */
const roundData = (roundId: bigint, answer: bigint, startedAt: bigint, updatedAt: bigint, answeredInRound: bigint) =>
  coder.encode(ROUND_TYPES, [roundId, answer, startedAt, updatedAt, answeredInRound]);

/**
 * ETH: 2 Bob long 1 ETH 75 USDC (40x), 4 Carol long 1 ETH 75 USDC, both liquidatable at 2,950.
 * BTC: 5 Bob long 0.05 BTC 75 USDC (40x), liquidatable at 58,000; its feed is then replaced.
 */
async function withBatch() {
  const s = await deployUnitSystem(ethers);
  const { alice, bob, carol } = s.signers;
  await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR); // 1, healthy
  await s.engine.connect(bob).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR); // 2
  await s.engine.connect(carol).open(ETH_MARKET, false, 75n * USDC, WAD, PX, FAR); // 3, healthy
  await s.engine.connect(carol).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR); // 4
  await s.engine.connect(bob).open(BTC_MARKET, true, 75n * USDC, WAD / 20n, wadFromFeed(BTC_PRICE), FAR); // 5
  await s.btcFeed.updateAnswer(58_000n * 10n ** 8n);
  expect(await s.engine.isLiquidatable(5n)).to.equal(true);
  await s.ethFeed.updateAnswer(2_950n * 10n ** 8n);
  const malformed = await ethers.deployContract("MalformedAggregator");
  const burner = await ethers.deployContract("GasBurnerAggregator");
  return { ...s, malformed, burner };
}

type S = Awaited<ReturnType<typeof withBatch>>;

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/** Points the BTC market at `feed`; the batch then must skip id 5 and liquidate 2 and 4. */
async function expectBatchSkipsBtc(s: S, feed: { getAddress(): Promise<string> }, gasLimit?: bigint) {
  await s.engine.setFeed(BTC_MARKET, feed, HEARTBEAT);
  expect(await s.engine.isLiquidatable(5n)).to.equal(false);
  const rows = await s.lens.positions([5n, 2n]);
  expect(rows[0]!.priceValid).to.equal(false);
  expect(rows[1]!.priceValid).to.equal(true);
  const tx = await s.engine.connect(s.signers.keeper).liquidateMany([5n, 2n, 4n], gasLimit ? { gasLimit } : {});
  await expect(tx).to.emit(s.engine, "PositionLiquidated");
  expect((await s.engine.position(2n)).size).to.equal(0n);
  expect((await s.engine.position(4n)).size).to.equal(0n);
  expect((await s.engine.position(5n)).size).to.equal(WAD / 20n);
}

describe("hostile feeds", () => {
  it("test_liquidateMany_skipsAMarketWhoseFeedAnswersGarbage: a full-length answer whose roundId does not fit uint80 reverted the batch in abi.decode", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    const t = await now();
    await s.malformed.setAnswer(roundData(2n ** 200n, 58_000n * 10n ** 8n, t, t, 1n));
    await expectBatchSkipsBtc(s, s.malformed);
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "InvalidFeedResponse")
      .withArgs(await s.malformed.getAddress(), 160n);
  });

  it("test_liquidateMany_skipsAMarketWhoseFeedAnswersShort: fewer than five words is InvalidFeedResponse(feed, size)", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    const t = await now();
    await s.malformed.setAnswer(coder.encode(["uint256", "int256", "uint256"], [1n, 58_000n * 10n ** 8n, t]));
    await expectBatchSkipsBtc(s, s.malformed);
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "InvalidFeedResponse")
      .withArgs(await s.malformed.getAddress(), 96n);
  });

  it("test_liquidateMany_boundsTheGasOfAFeedThatLoops: a feed that burns all its gas costs the batch at most FEED_CALL_GAS", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    // Before the bound, the loop took 63/64 of the batch's gas and the rest of the batch ran out.
    await expectBatchSkipsBtc(s, s.burner, 2_000_000n);
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "PriceFeedCallFailed")
      .withArgs(await s.burner.getAddress());
  });

  it("test_price_doesNotCopyHugeRevertData: a feed reverting with 100 kB of data fails soft and cheaply", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    await s.burner.setRevertSize(100_000n);
    await expectBatchSkipsBtc(s, s.burner, 2_000_000n);
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "PriceFeedCallFailed")
      .withArgs(await s.burner.getAddress());
  });

  it("test_price_readsOnlyTheFirstFiveWordsOfAHugeAnswer: a valid answer padded with 100 kB prices normally", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    const t = await now();
    await s.malformed.setAnswer(roundData(7n, 58_000n * 10n ** 8n, t, t, 7n));
    await s.malformed.setPadding(100_000n);
    await s.engine.setFeed(BTC_MARKET, s.malformed, HEARTBEAT);
    expect(await s.engine.price(BTC_MARKET)).to.equal(58_000n * WAD);
    const gas = await s.engine.price.estimateGas(BTC_MARKET);
    // The feed's own work is bounded by FEED_CALL_GAS; the engine copies five words, not 100 kB.
    expect(gas < 300_000n).to.equal(true);
    await expect(s.engine.connect(s.signers.keeper).liquidateMany([5n, 2n, 4n])).to.emit(s.engine, "PositionLiquidated");
    expect((await s.engine.position(5n)).size).to.equal(0n);
  });

  it("test_price_revertsNamedOnAnAnswerOutOfRange: a huge or negative answer is a named oracle error, never a panic", async () => {
    const s = await networkHelpers.loadFixture(withBatch);
    const t = await now();
    const feed = await s.malformed.getAddress();
    await s.engine.setFeed(BTC_MARKET, s.malformed, HEARTBEAT);
    await s.malformed.setAnswer(roundData(1n, 2n ** 255n - 1n, t, t, 1n));
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "PriceOutOfRange")
      .withArgs(feed, 2n ** 255n - 1n);
    await s.malformed.setAnswer(roundData(1n, -(2n ** 255n), t, t, 1n));
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "NonPositivePrice")
      .withArgs(feed, -(2n ** 255n));
    await s.malformed.setAnswer(roundData(1n, 1n, t, 2n ** 256n - 1n, 1n));
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "PriceFromFuture")
      .withArgs(feed, 2n ** 256n - 1n, (blockTime: bigint) => blockTime >= t);
    await s.malformed.setAnswer(roundData(1n, 1n, t, t, 2n ** 80n));
    await expect(s.engine.price(BTC_MARKET))
      .to.be.revertedWithCustomError(s.engine, "InvalidFeedResponse")
      .withArgs(feed, 160n);
    expect(await s.engine.isLiquidatable(5n)).to.equal(false);
  });

  it("test_sequencer_malformedUptimeFeedFailsSoft: a garbage or short uptime feed is a named error; the batch and the views fail soft", async () => {
    const [deployer, , lp, alice] = await ethers.getSigners();
    const token = await ethers.deployContract("MockStablecoin", ["USD Coin", "USDC", 6]);
    const pool = await ethers.deployContract("BulkheadPool", [token, "LP", "LP"]);
    const seq = await ethers.deployContract("MalformedAggregator");
    const t = await now();
    await seq.setAnswer(roundData(1n, 0n, t - 2n * SEQUENCER_GRACE, t, 1n)); // up, past the grace period
    const engine = await ethers.deployContract("Bulkhead", [token, pool, deployer, deployer, seq, SEQUENCER_GRACE], {
      libraries: await deployEngineLibraries(ethers),
    });
    await pool.bindEngine(engine);
    const lens = await ethers.deployContract("BulkheadLens", [engine]);
    const feed = await ethers.deployContract("MockV3Aggregator", [8n, ETH_PRICE]);
    await engine.listMarket(feed, HEARTBEAT, defaultParams, defaultRisk);
    await token.faucet(lp.address, 100_000n * USDC);
    await token.connect(lp).approve(pool, 100_000n * USDC);
    await pool.connect(lp)["deposit(uint256,address)"](100_000n * USDC, lp.address);
    await token.faucet(alice.address, 1_000n * USDC);
    await token.connect(alice).approve(engine, ethers.MaxUint256);
    await engine.connect(alice).open(0n, true, 75n * USDC, WAD, PX, FAR); // 40x
    await feed.updateAnswer(2_950n * 10n ** 8n);
    expect(await engine.isLiquidatable(1n)).to.equal(true);

    await seq.setAnswer(roundData(2n ** 90n, 0n, t - 2n * SEQUENCER_GRACE, t, 1n));
    await expect(engine.price(0n))
      .to.be.revertedWithCustomError(engine, "InvalidFeedResponse")
      .withArgs(await seq.getAddress(), 160n);
    expect(await engine.isLiquidatable(1n)).to.equal(false);
    expect((await lens.positions([1n]))[0]!.priceValid).to.equal(false);
    expect(await engine.liquidateMany.staticCall([1n])).to.deep.equal([0n, 0n]);
    await seq.setAnswer("0x1234");
    await expect(engine.price(0n))
      .to.be.revertedWithCustomError(engine, "InvalidFeedResponse")
      .withArgs(await seq.getAddress(), 2n);
    expect(await engine.liquidateMany.staticCall([1n])).to.deep.equal([0n, 0n]);
    // Back to a valid answer, the batch liquidates.
    await seq.setAnswer(roundData(3n, 0n, t - 2n * SEQUENCER_GRACE, t, 3n));
    expect((await engine.liquidateMany.staticCall([1n]))[0]).to.equal(1n);
  });
});
