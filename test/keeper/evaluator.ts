// The evaluator on Hardhat's in-process network: its local health (the SDK's HealthLib mirror on
// batched reads) equals the engine's verdict at many prices, its cost in RPC requests does not
// grow with the number of positions, and it warns loudly about stale feeds and the sequencer.
import { expect } from "chai";
import { network } from "hardhat";
import { Evaluator } from "../../keeper/src/evaluator.js";
import { JsonStore } from "../../keeper/src/store.js";
import { PositionTracker } from "../../keeper/src/tracker.js";
import { BTC_PRICE, ETH_PRICE, HEARTBEAT, SEQUENCER_GRACE, USDC, WAD } from "../helpers/fixture.js";
import { Rng } from "../sdk/helpers/random.js";
import { captureLogger, inProcess, type InProcess } from "./helpers/inprocess.js";
import { sizeForLeverage } from "@bulkhead/sdk";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;

async function openRandom(t: InProcess, n: number, seed: bigint): Promise<bigint[]> {
  const rng = new Rng(seed);
  const ids: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const market = rng.bool(0.6) ? 0 : 1;
    const price = (market === 0 ? ETH_PRICE : BTC_PRICE) * 10n ** 10n;
    const collateral = rng.log(20n * USDC, 1_000n * USDC);
    const size = sizeForLeverage(collateral, rng.range(2n * WAD, 45n * WAD), price, 10n ** 30n);
    ids.push(await t.open({ market: market as 0 | 1, long: rng.bool(), collateral, size }));
  }
  return ids;
}

async function lensLiquidatable(t: InProcess, ids: bigint[]): Promise<bigint[]> {
  const previews = await t.sys.lens.previewLiquidations(ids);
  return ids.filter((_, i) => previews[i]!.liquidatable);
}

describe("keeper evaluator", function () {
  this.timeout(120_000);

  it("test_evaluate_equalsTheEnginesVerdictAtManyPricesWithAConstantNumberOfRequests", async () => {
    const t = await inProcess(ethers, connection.provider, { lpDeposit: 50_000_000n * USDC });
    const ids = await openRandom(t, 40, 7n);
    const tracker = new PositionTracker(t.client, JsonStore.open(null, { chainId: 31337, engine: t.sys.addresses.engine, startBlock: 0 }), { confirmations: 0 });
    const evaluator = new Evaluator(t.client);
    await evaluator.loadMarkets();
    const requests: number[] = [];
    let hits = 0;
    for (const [eth, btc] of [[3000n, 60000n], [2950n, 61000n], [2900n, 62000n], [2850n, 59000n], [3100n, 57000n], [2700n, 66000n]] as const) {
      await (await t.sys.ethFeed.updateAnswer(eth * 10n ** 8n)).wait();
      await (await t.sys.btcFeed.updateAnswer(btc * 10n ** 8n)).wait();
      await networkHelpers.time.increase(3 * 24 * 3600); // borrow fees accrue between moves
      await networkHelpers.mine(1);
      await (await t.sys.ethFeed.updateAnswer(eth * 10n ** 8n)).wait();
      await (await t.sys.btcFeed.updateAnswer(btc * 10n ** 8n)).wait();
      const sync = await tracker.sync();
      t.counter.reset();
      const e = await evaluator.evaluate(tracker.views.values(), sync.head, sync.headTimestamp);
      requests.push(t.counter.total);
      const expected = await lensLiquidatable(t, tracker.ids());
      expect(e.candidates.map((c) => c.id).sort((a, b) => (a < b ? -1 : 1)), `at ETH ${eth}, BTC ${btc}`).to.deep.equal(expected);
      hits += expected.length;
      // Candidates come largest reward first.
      for (let i = 1; i < e.candidates.length; i++) expect(e.candidates[i - 1]!.reward >= e.candidates[i]!.reward).to.equal(true);
      expect(e.evaluated).to.equal(tracker.size);
      expect(e.markets.map((m) => m.price)).to.deep.equal([eth * WAD, btc * WAD]);
    }
    expect(hits, "the prices reach some positions").to.be.greaterThan(5);
    // Per market: price, borrow index, feed round; nothing per position.
    expect(new Set(requests).size).to.equal(1);
    expect(requests[0]).to.equal(2 * 3);
    void ids;
  });

  it("test_evaluate_staleFeedsAndTheSequencer_areReportedLoudlyAndBlockTheirMarkets", async () => {
    const t = await inProcess(ethers, connection.provider, { sequencer: true });
    await t.open({ size: WAD / 10n });
    await t.open({ market: 1, size: WAD / 200n });
    const { logger, events } = captureLogger();
    const tracker = new PositionTracker(t.client, JsonStore.open(null, { chainId: 31337, engine: t.sys.addresses.engine, startBlock: 0 }), { confirmations: 0 });
    const evaluator = new Evaluator(t.client, { logger, warnEveryMs: 60_000 });
    const run = async () => {
      const s = await tracker.sync();
      return evaluator.evaluate(tracker.views.values(), s.head, s.headTimestamp);
    };
    let e = await run();
    expect(e.blocked).to.equal(0);
    expect(e.sequencer).to.include({ up: true, inGrace: false });
    expect(events("feed.stale")).to.have.length(0);

    // Past the heartbeat: both feeds stale, both markets blocked, one warning each (not one per block).
    await networkHelpers.time.increase(Number(HEARTBEAT) + 60);
    await networkHelpers.mine(1);
    e = await run();
    await networkHelpers.mine(1);
    await run();
    expect(e.blocked).to.equal(2);
    expect(e.markets.map((m) => m.priceError)).to.deep.equal(["StalePrice", "StalePrice"]);
    expect(e.markets[0]!.staleness).to.be.greaterThan(Number(HEARTBEAT));
    const stale = events("feed.stale");
    expect(stale.map((l) => l.market)).to.deep.equal([0, 1]);
    expect(stale[0]!.level).to.equal("warn");
    expect(String(stale[0]!.impact)).to.contain("liquidations on this market are halted");
    expect(String(stale[0]!.error)).to.match(/stale/i);

    // Fresh again: a recovery line.
    await (await t.sys.ethFeed.updateAnswer(ETH_PRICE)).wait();
    await (await t.sys.btcFeed.updateAnswer(BTC_PRICE)).wait();
    e = await run();
    expect(e.blocked).to.equal(0);
    expect(events("feed.recovered").map((l) => l.market)).to.deep.equal([0, 1]);

    // The sequencer goes down: every price is invalid, one loud line about the sequencer.
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    await (await t.sys.sequencerFeed!.updateRoundData(2n, 1n, now, now)).wait();
    e = await run();
    expect(e.sequencer).to.include({ up: false });
    expect(e.blocked).to.equal(2);
    expect(e.markets.map((m) => m.priceError)).to.deep.equal(["SequencerDown", "SequencerDown"]);
    expect(events("sequencer.down")).to.have.length(1);
    expect(events("feed.invalid"), "the sequencer is the cause, not the feeds").to.have.length(0);

    // Back up: within the grace period prices stay invalid.
    const back = (await ethers.provider.getBlock("latest"))!.timestamp;
    await (await t.sys.sequencerFeed!.updateRoundData(3n, 0n, back, back)).wait();
    e = await run();
    expect(e.sequencer).to.include({ up: true, inGrace: true });
    expect(e.markets.map((m) => m.priceError)).to.deep.equal(["SequencerGracePeriod", "SequencerGracePeriod"]);
    expect(events("sequencer.up")).to.have.length(1);
    expect(events("sequencer.grace")).to.have.length(1);
    await networkHelpers.time.increase(Number(SEQUENCER_GRACE) + 1);
    await (await t.sys.ethFeed.updateAnswer(ETH_PRICE)).wait();
    await (await t.sys.btcFeed.updateAnswer(BTC_PRICE)).wait();
    e = await run();
    expect(e.blocked).to.equal(0);
    expect(events("sequencer.graceOver")).to.have.length(1);
  });
});
