// The keeper as an operator runs it (`node keeper/bin/keeper.mjs`), against a real JSON-RPC node
// process (`hardhat node` on 127.0.0.1), both started and always stopped here. 500 positions of
// seeded random market, side, size and leverage are opened once; each scenario starts from a
// snapshot of that state, with a block mined every 250 ms like a chain with a block time.
import { expect } from "chai";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { BTC_PRICE, ETH_PRICE } from "../helpers/fixture.js";
import { startNode, type RpcNode } from "../sdk/helpers/rpc-node.js";
import { devAddress, devKey, deploySystem, liquidationTxIds, liquidations, openPositions, randomPositions, tempDir, type System } from "./helpers/chain.js";
import { PeerSchedule } from "../../keeper/src/peers.js";
import { FaultProxy } from "./helpers/faultProxy.js";
import { KeeperProcess, runKeeperToExit, type KeeperHealth } from "./helpers/process.js";
import { blockNumber, closePositions, intervalMining, liquidatableAt, pickMove, readViews, revert, snapshot, subsetAt, waitBlocks, wad } from "./helpers/scenario.js";
import type { PositionView } from "@bulkhead/sdk";

const SEED = 0xb01c4eadn;
const COUNT = 500;
const BLOCK_MS = 250;
/** The crash: ETH/USD from 3,000 to a price between -5% and -3% (set in `before`). */
let CRASH = 0n;

describe("keeper (real node process)", function () {
  this.timeout(240_000);
  let node: RpcNode | undefined;
  let sys: System;
  let ids: bigint[];
  let before0: Map<bigint, PositionView>;
  let crashSubset: Set<bigint>;
  let base: string;
  const keepers: KeeperProcess[] = [];
  const proxies: FaultProxy[] = [];

  const keeperArgs = (dir: string, extra: string[] = []) => [
    "--rpc", node!.url,
    "--deployment", sys.deploymentFile,
    "--store", join(dir, "store.json"),
    "--metrics-port", "0",
    "--poll-interval-ms", "100",
    "--confirmations", "2",
    "--log-chunk-size", "100",
    ...extra,
  ];
  const start = (args: string[], env: Record<string, string> = {}) => {
    const k = new KeeperProcess(args, env);
    keepers.push(k);
    return k;
  };

  before(async function () {
    node = await startNode();
    sys = await deploySystem(node.provider, { traderCount: 10 });
    ids = await openPositions(sys, randomPositions(COUNT, SEED, sys.traders));
    expect(ids).to.have.length(COUNT);
    before0 = await readViews(sys, ids);
    expect(before0.size).to.equal(COUNT);
    expect((await liquidatableAt(sys, ids)).size, "no position is liquidatable before the crash").to.equal(0);
    CRASH = pickMove(before0, 0, (ETH_PRICE * 94n) / 100n, (ETH_PRICE * 97n) / 100n, true);
    crashSubset = subsetAt(before0, 0, wad(CRASH));
    // A real subset: some ETH longs, not all of them, nothing else.
    const ethLongs = [...before0.values()].filter((v) => v.position.marketId === 0 && v.position.isLong).length;
    expect(crashSubset.size).to.be.greaterThan(50).and.lessThan(ethLongs);
    base = await snapshot(node.provider);
  });

  beforeEach(async () => {
    await intervalMining(node!.provider, 0);
    await revert(node!.provider, base);
    base = await snapshot(node!.provider);
    await intervalMining(node!.provider, BLOCK_MS);
  });

  afterEach(async () => {
    if (process.env.KEEPER_TEST_LOGS) for (const k of keepers) console.log(k.lines.map((l) => JSON.stringify(l)).join("\n"), k.raw);
    await Promise.all(keepers.splice(0).map((k) => k.stop("SIGKILL")));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  after(async () => {
    await node?.stop();
  });

  async function waitTracked(k: KeeperProcess, n: number, timeoutMs = 60_000): Promise<void> {
    await waitHealth(k, `${n} positions tracked`, (h) => h.positionsTracked === n && h.status === "ok", timeoutMs);
  }

  /**
   * Waits until the keeper's `/health` report satisfies `ok` and returns that report. Tests wait
   * for the state the keeper promises instead of counting blocks or milliseconds: how many blocks
   * pass before it gets there depends on how fast this (shared) machine is.
   */
  async function waitHealth(k: KeeperProcess, what: string, ok: (h: KeeperHealth) => boolean, timeoutMs = 60_000): Promise<KeeperHealth> {
    const deadline = Date.now() + timeoutMs;
    let last: KeeperHealth | null = null;
    for (;;) {
      if (k.metricsPort !== null) {
        last = await k.health().catch(() => last);
        if (last && ok(last)) return last;
      }
      if (!k.alive) throw new Error(`keeper exited while waiting for ${what}:\n${k.tail()}`);
      if (Date.now() > deadline) throw new Error(`keeper did not reach ${what} in ${timeoutMs} ms (last report ${JSON.stringify(last)}):\n${k.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until every id of `expected` has a PositionLiquidated event; returns the events. */
  async function waitLiquidated(expected: Set<bigint>, fromBlock: number, watch: KeeperProcess[], timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = await liquidations(sys, fromBlock);
      if ([...expected].every((id) => events.has(id))) return events;
      for (const k of watch) if (!k.alive) throw new Error(`keeper exited:\n${k.tail()}`);
      if (Date.now() > deadline) {
        const missing = [...expected].filter((id) => !events.has(id));
        throw new Error(`${missing.length} of ${expected.size} not liquidated after ${timeoutMs} ms (e.g. ${missing.slice(0, 5)}):\n${watch.map((k) => k.tail(20)).join("\n---\n")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every open position that is not in `liquidated` is untouched: same size, entry and collateral. */
  async function expectUntouched(liquidated: Set<bigint>, except: Set<bigint> = new Set()) {
    const rest = ids.filter((id) => !liquidated.has(id) && !except.has(id));
    const now = await readViews(sys, rest);
    for (const id of rest) {
      const v = now.get(id);
      expect(v, `healthy position ${id} still open`).to.not.equal(undefined);
      expect(v!.position.size).to.equal(before0.get(id)!.position.size);
      expect(v!.position.entryPrice).to.equal(before0.get(id)!.position.entryPrice);
      expect(v!.position.collateral).to.equal(before0.get(id)!.position.collateral);
    }
  }

  it("test_keeper_crash_liquidatesExactlyTheLiquidatableSubsetOnceAfterTheCrash", async () => {
    const dir = tempDir();
    const keeper = devAddress(15);
    const k = start(keeperArgs(dir), { KEEPER_PRIVATE_KEY: devKey(15) });
    await waitTracked(k, COUNT);
    const started = k.events("keeper.started")[0]!;
    expect(started.resumedFrom).to.equal(null);
    expect(k.events("sync.backfilled").length, "backfilled in chunked log queries").to.equal(1);

    const crashBlock = await sys.setPrice(sys.ethFeed, CRASH);
    // The chain agrees with the subset known in advance.
    expect(await liquidatableAt(sys, ids, crashBlock)).to.deep.equal(crashSubset);

    const events = await waitLiquidated(crashSubset, crashBlock, [k]);
    const liquidated = new Set(events.keys());
    expect(liquidated).to.deep.equal(crashSubset);
    for (const [id, by] of events) {
      expect(by, `position ${id} liquidated once`).to.have.length(1);
      expect(by[0]!.keeper).to.equal(keeper.toLowerCase());
      // The keeper acts on what it has seen: never in the crash block itself.
      expect(by[0]!.block, `position ${id} liquidated after the crash`).to.be.greaterThan(crashBlock);
    }
    // How many blocks that took is a figure of this machine's speed, not a guarantee: it is
    // printed here and measured by `npm run bench:keeper` (bench/keeper.md).
    const last = Math.max(...[...events.values()].map((e) => e[0]!.block));
    console.log(`      ${crashSubset.size} of ${COUNT} liquidated ${last - crashBlock} block(s) after the crash`);
    await expectUntouched(liquidated);
    expect((await liquidatableAt(sys, ids)).size, "nothing liquidatable is left").to.equal(0);

    // The keeper counts a liquidation once it has its receipt, and drops a position once its
    // event is `--confirmations` deep: wait for the report that says both, past the crash.
    const health = await waitHealth(
      k,
      "its liquidations settled and a confirmed checkpoint past the crash",
      (h) => h.liquidations === crashSubset.size && h.pendingTxs === 0 && h.positionsTracked === COUNT - crashSubset.size && h.checkpoint > last,
    );
    expect(health.liquidatable).to.equal(0);
    const metrics = await k.metrics();
    expect(metrics).to.match(new RegExp(`^keeper_liquidations_total ${crashSubset.size}$`, "m"));
    expect(metrics).to.match(/^keeper_feed_staleness_seconds\{market="0",symbol="ETH\/USD"\} \d+$/m);
    expect(metrics).to.match(/^keeper_last_block \d+$/m);

    // Graceful shutdown on SIGINT: exit 0, store written.
    const exit = await k.stop("SIGINT");
    expect(exit.code).to.equal(0);
    expect(k.events("keeper.stopped")).to.have.length(1);
    // The store holds at least the confirmed checkpoint the keeper reported before the signal.
    const store = JSON.parse(readFileSync(join(dir, "store.json"), "utf8")) as { checkpoint: { block: number } };
    expect(store.checkpoint.block).to.be.at.least(health.checkpoint);
  });

  it("test_keeper_dryRun_reportsTheSubsetAndSendsNothing", async () => {
    const dir = tempDir();
    const k = start(keeperArgs(dir, ["--dry-run"]), { KEEPER_PRIVATE_KEY: devKey(18) });
    await waitTracked(k, COUNT);
    const crashBlock = await sys.setPrice(sys.ethFeed, CRASH);
    await k.waitFor("a full dry-run report", () => {
      const reported = new Set(k.events("dryrun.wouldLiquidate").flatMap((l) => (l.ids as string[]).map(BigInt)));
      return reported.size >= crashSubset.size;
    });
    const reported = new Set(k.events("dryrun.wouldLiquidate").flatMap((l) => (l.ids as string[]).map(BigInt)));
    expect(reported).to.deep.equal(crashSubset);
    await waitBlocks(sys.provider, crashBlock, 8);
    expect((await liquidations(sys, crashBlock)).size).to.equal(0);
    expect(await sys.provider.getTransactionCount(devAddress(18))).to.equal(0);
  });

  it("test_keeper_killedTwiceAndRestarted_resumesMissesNothingAndNeverSendsTwice", async () => {
    const dir = tempDir();
    const args = keeperArgs(dir, ["--max-batch-size", "20"]);
    const account = devAddress(16);
    const env = { KEEPER_PRIVATE_KEY: devKey(16) };
    const firstBlock = await blockNumber(sys.provider);

    // Run 1 dies (SIGKILL) after signing and recording its first transaction, before broadcasting it.
    const run1 = start(args, { ...env, KEEPER_TEST_CRASH_AT: "recorded" });
    await waitTracked(run1, COUNT);
    const crashBlock = await sys.setPrice(sys.ethFeed, CRASH);
    expect((await run1.exited).signal).to.equal("SIGKILL");
    expect((await liquidations(sys, crashBlock)).size, "nothing was broadcast").to.equal(0);

    // Run 2 rebroadcasts the recorded transaction, sends the next batch and dies after broadcasting it.
    const run2 = start(args, { ...env, KEEPER_TEST_CRASH_AT: "broadcast" });
    expect((await run2.exited).signal).to.equal("SIGKILL");
    expect(run2.events("tx.recovered")).to.have.length(1);

    // While no keeper runs: new positions open, some old ones close, BTC pumps.
    const newSpecs = randomPositions(30, SEED + 1n, sys.traders);
    const newIds = await openPositions(sys, newSpecs);
    const healthyShorts = [...before0.values()].filter((v) => !crashSubset.has(v.id) && v.position.marketId === 0 && !v.position.isLong).slice(0, 10);
    await closePositions(sys, healthyShorts);
    const closed = new Set(healthyShorts.map((v) => v.id));
    const allOpen = [...ids.filter((id) => !closed.has(id)), ...newIds];
    const viewsBeforePump = await readViews(sys, allOpen);
    const PUMP = pickMove(viewsBeforePump, 1, (BTC_PRICE * 102n) / 100n, (BTC_PRICE * 104n) / 100n, false);
    const pumpSubset = subsetAt(viewsBeforePump, 1, wad(PUMP));
    // Positions opened after the crash, at the crash price, are healthy.
    for (const id of newIds) expect(subsetAt(viewsBeforePump, 0, wad(CRASH)).has(id)).to.equal(false);
    await sys.setPrice(sys.btcFeed, PUMP);
    expect(pumpSubset.size).to.be.greaterThan(0);

    // Run 3 resumes from the store and finishes the job.
    const run3 = start(args, env);
    const started = await run3.waitForEvent("keeper.started");
    expect(started.resumedFrom).to.be.a("number");
    const expected = new Set([...crashSubset, ...pumpSubset]);
    const events = await waitLiquidated(expected, firstBlock, [run3]);
    expect(new Set(events.keys())).to.deep.equal(expected);
    for (const [id, by] of events) {
      expect(by, `position ${id} liquidated once`).to.have.length(1);
      expect(by[0]!.keeper).to.equal(account.toLowerCase());
    }
    // No id was ever carried by two mined transactions of this keeper.
    const carried = (await liquidationTxIds(sys, account, firstBlock)).flat();
    expect(carried.length).to.equal(new Set(carried).size);
    await waitTracked(run3, COUNT + newIds.length - closed.size - expected.size);
    await expectUntouched(new Set(events.keys()), closed);
    expect((await run3.stop("SIGTERM")).code).to.equal(0);
  });

  it("test_keeper_twoPeerKeepersRacing_bothStayUp_eachPositionIsLiquidatedOnceByItsOwner_noBatchWasted", async () => {
    // Peers with a grace (20 blocks, 5 s) longer than a keeper takes from the crash to inclusion.
    const peers = ["--peers", `${devAddress(17)},${devAddress(19)}`, "--peer-grace-blocks", "20"];
    const a = start(keeperArgs(tempDir(), peers), { KEEPER_PRIVATE_KEY: devKey(17) });
    const b = start(keeperArgs(tempDir(), peers), { KEEPER_PRIVATE_KEY: devKey(19) });
    await Promise.all([waitTracked(a, COUNT), waitTracked(b, COUNT)]);
    const crashBlock = await sys.setPrice(sys.ethFeed, CRASH);
    const events = await waitLiquidated(crashSubset, crashBlock, [a, b]);
    expect(new Set(events.keys())).to.deep.equal(crashSubset);
    for (const [id, by] of events) expect(by, `position ${id} liquidated once`).to.have.length(1);
    // Each keeper settles every transaction it sent and confirms the liquidations: wait for both reports to say so.
    const settled = (h: KeeperHealth) => h.status === "ok" && h.pendingTxs === 0 && h.positionsTracked === COUNT - crashSubset.size;
    const [ha, hb] = await Promise.all([a, b].map((k) => waitHealth(k, "its transactions settled", settled)));
    for (const k of [a, b]) {
      expect(k.alive).to.equal(true);
      expect(k.events("cycle.failed"), "no failed cycle").to.have.length(0);
      // No lost race: every batch liquidated all it carried, none was cancelled.
      expect(k.events("liquidation.mined").filter((e) => Number(e.skipped) !== 0), "batches that carried an id the other keeper took").to.deep.equal([]);
      expect(k.events("tx.cancelling")).to.have.length(0);
    }
    const schedule = new PeerSchedule({ peers: [devAddress(17), devAddress(19)], self: devAddress(17) });
    for (const [id, by] of events) expect(by[0]!.keeper, `position ${id} by its owner`).to.equal(schedule.owner(`liquidate:${id}`).toLowerCase());
    expect(ha.liquidations + hb.liquidations).to.equal(crashSubset.size);
    expect(ha.liquidations * hb.liquidations, "both keepers liquidated some").to.be.greaterThan(0);
    console.log(`      liquidations: keeper A ${ha.liquidations}, keeper B ${hb.liquidations}, each by its owner`);
    await expectUntouched(crashSubset);
  });

  it("test_keeper_faultyRpc_keepsWorkingAndLosesNoPosition", async () => {
    const proxy = await new FaultProxy(node!.url, { dropRequest: 0.04, dropResponse: 0.04, hang: 0.02, httpError: 0.04, rpcError: 0.04, delay: 0.2, delayMs: 300 }, SEED).listen();
    proxies.push(proxy);
    const dead = "http://127.0.0.1:9"; // discard port: nothing listens, the first URL always fails
    const k = start(
      [...keeperArgs(tempDir()).filter((_, i, all) => all[i - 1] !== "--rpc" && all[i] !== "--rpc"), "--rpc", `${dead},${proxy.url}`, "--rpc-timeout-ms", "1000", "--rpc-retries", "10"],
      { KEEPER_PRIVATE_KEY: devKey(14) },
    );
    await waitTracked(k, COUNT, 90_000);
    const crashBlock = await sys.setPrice(sys.ethFeed, CRASH);
    const events = await waitLiquidated(crashSubset, crashBlock, [k], 90_000);
    expect(new Set(events.keys())).to.deep.equal(crashSubset);
    for (const [id, by] of events) expect(by, `position ${id} liquidated once`).to.have.length(1);
    expect(k.alive).to.equal(true);
    await waitTracked(k, COUNT - crashSubset.size, 30_000);
    const c = proxy.counts;
    console.log(`      proxy: ${c.requests} requests, dropped ${c.dropRequest}+${c.dropResponse}, hung ${c.hang}, errors ${c.httpError}+${c.rpcError}, delayed ${c.delay}`);
    for (const kind of ["dropRequest", "dropResponse", "hang", "httpError", "rpcError", "delay"] as const) expect(c[kind], kind).to.be.greaterThan(0);
    const metrics = await k.metrics();
    expect(Number(/^keeper_rpc_retries_total (\d+)$/m.exec(metrics)?.[1])).to.be.greaterThan(0);
    expect(Number(/^keeper_rpc_failovers_total (\d+)$/m.exec(metrics)?.[1])).to.be.greaterThan(0);
  });

  it("test_keeper_badConfiguration_exitsNonZeroSayingWhatToFix", async () => {
    const dir = tempDir();
    let r = await runKeeperToExit(["--network", "atlantis", "--key", devKey(13)], {});
    expect(r.code).to.equal(2);
    expect(r.output).to.match(/unknown network "atlantis".*known networks: .*localhost/);

    r = await runKeeperToExit(["--rpc", node!.url, "--deployment", sys.deploymentFile, "--store", join(dir, "s.json"), "--no-metrics"], { KEEPER_PRIVATE_KEY: "0x1234" });
    expect(r.code).to.equal(2);
    expect(r.output).to.contain("KEEPER_PRIVATE_KEY) is not a private key: expected 64 hex digits");
    expect(r.output).to.not.contain("0x1234");

    const wrong = join(dir, "wrong.json");
    writeFileSync(wrong, JSON.stringify({ ...sys.deployment, engine: devAddress(13) }));
    r = await runKeeperToExit(["--rpc", node!.url, "--deployment", wrong, "--store", join(dir, "s.json"), "--no-metrics"], { KEEPER_PRIVATE_KEY: devKey(13) });
    expect(r.code).to.equal(2);
    expect(r.output).to.match(/no contract code at the engine address 0x[0-9a-fA-F]{40} on chain 31337/);

    writeFileSync(wrong, JSON.stringify({ ...sys.deployment, chainId: 1 }));
    r = await runKeeperToExit(["--rpc", node!.url, "--deployment", wrong, "--store", join(dir, "s.json"), "--no-metrics"], { KEEPER_PRIVATE_KEY: devKey(13) });
    expect(r.code).to.equal(2);
    expect(r.output).to.contain("is for chain 1 but the RPC is on chain 31337");

    r = await runKeeperToExit(["--rpc", "http://127.0.0.1:9", "--deployment", sys.deploymentFile, "--rpc-timeout-ms", "500"], { KEEPER_PRIVATE_KEY: devKey(13) });
    expect(r.code).to.equal(2);
    expect(r.output).to.contain("cannot reach any RPC URL");

    r = await runKeeperToExit(["--rpc", node!.url, "--deployment", sys.deploymentFile, "--max-fee-gwei", "ten", "--confirmations", "-1"], {});
    expect(r.code).to.equal(2);
    expect(r.output).to.contain("--max-fee-gwei (KEEPER_MAX_FEE_GWEI) must be a non-negative decimal number");
    expect(r.output).to.contain("--confirmations (KEEPER_CONFIRMATIONS) must be an integer from 0 to 1000");
    expect(r.output).to.contain("no key: set KEEPER_PRIVATE_KEY");
  });
});
