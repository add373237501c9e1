// Keeper benchmark (printed and written to bench/keeper.md, not asserted; numbers recorded in
// README.md and keeper/README.md):
//   npm run bench:keeper
// 0. at scale, in memory (scale.ts): 100,000 positions and 10,000 orders, cold start and the
//    keeper time of each block or report, for a typical and a large price move;
// Against a real JSON-RPC node process (`hardhat node` on 127.0.0.1, started and stopped here):
// 1. time and JSON-RPC requests to evaluate 1,000 and 10,000 positions: cold (backfill, every
//    record read through the lens, health of each) and per block (one price move: markets read,
//    health recomputed locally);
// 2. gas per liquidation in liquidateMany batches of 1, 10 and 50;
// 3. blocks from a price crash to the last liquidation for 500 positions, the keeper running as
//    its CLI, with 250 ms and 1 s blocks;
// 4. blocks from the report that makes an order due to its execution (latency.ts, its own node).
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { BulkheadClient, bulkheadInterface } from "@bulkhead/sdk";
import { Evaluator } from "../src/evaluator.js";
import { FailoverRpcProvider } from "../src/rpc.js";
import { JsonStore } from "../src/store.js";
import { PositionTracker } from "../src/tracker.js";
import { latencyBench } from "./latency.js";
import { scaleBench } from "./scale.js";
import { BTC_PRICE, ETH_PRICE, USDC } from "../../test/helpers/fixture.js";
import { startNode } from "../../test/sdk/helpers/rpc-node.js";
import { deploySystem, devAddress, devKey, liquidations, openPositions, randomPositions, receiptOf, tempDir, type System } from "../../test/keeper/helpers/chain.js";
import { KeeperProcess } from "../../test/keeper/helpers/process.js";
import { intervalMining, pickMove, readViews, revert, snapshot, subsetAt, wad } from "../../test/keeper/helpers/scenario.js";

const report: string[] = [];
/** Prints a line and keeps it for bench/keeper.md. */
function say(text: string) {
  console.log(text);
  report.push(text);
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function diff(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const list = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(", ");

async function evaluateBench(url: string, sys: System, n: number) {
  const provider = await FailoverRpcProvider.create([url]);
  try {
    const client = await BulkheadClient.connect(provider, { addresses: sys.deployment, lensBatchSize: 200, logChunkSize: 5_000 });
    const store = JsonStore.open(null, sys.deployment);
    const tracker = new PositionTracker(client, store, { confirmations: 2, fullRefreshBlocks: 0 });
    const evaluator = new Evaluator(client);
    let before = provider.stats.snapshot().byMethod;
    let t = performance.now();
    await evaluator.loadMarkets();
    const s = await tracker.sync();
    const cold = await evaluator.evaluate(tracker.views.values(), s.head, s.headTimestamp);
    const coldMs = performance.now() - t;
    const coldCalls = diff(provider.stats.snapshot().byMethod, before);
    if (cold.evaluated !== n) throw new Error(`evaluated ${cold.evaluated}, expected ${n}`);

    // One block later, after a price move: what every new block costs.
    await sys.setPrice(sys.ethFeed, (ETH_PRICE * 99n) / 100n);
    before = provider.stats.snapshot().byMethod;
    t = performance.now();
    const s2 = await tracker.sync();
    const warm = await evaluator.evaluate(tracker.views.values(), s2.head, s2.headTimestamp);
    const warmMs = performance.now() - t;
    const warmCalls = diff(provider.stats.snapshot().byMethod, before);
    await sys.setPrice(sys.ethFeed, ETH_PRICE);
    say(`| ${n.toLocaleString("en")} | cold: backfill + ${Math.ceil(n / 200)} lens reads + health | ${fmt(coldMs)} | ${total(coldCalls)} (${list(coldCalls)}) | local math ${cold.mathMs.toFixed(1)} ms |`);
    say(`| ${n.toLocaleString("en")} | per block (price moved) | ${fmt(warmMs)} | ${total(warmCalls)} (${list(warmCalls)}) | local math ${warm.mathMs.toFixed(1)} ms (${warm.exact} evaluated exactly + ${warm.backstop} by the backstop), ${warm.candidates.length} liquidatable |`);
  } finally {
    provider.destroy();
  }
}

async function gasBench(sys: System, subset: bigint[]) {
  const e = bulkheadInterface();
  const keeper = devAddress(15);
  let used = 0;
  say("\n| batch | gas used | gas per liquidation |\n|---:|---:|---:|");
  for (const size of [1, 10, 50]) {
    const ids = subset.slice(used, used + size);
    used += size;
    const hash = (await sys.provider.send("eth_sendTransaction", [{ from: keeper, to: sys.deployment.engine, data: e.encodeFunctionData("liquidateMany", [ids]), gas: "0x" + (10_000_000).toString(16) }])) as string;
    const r = await receiptOf(sys.provider, hash);
    const liquidated = r.logs.filter((l) => l.topics[0] === e.getEvent("PositionLiquidated")!.topicHash).length;
    if (liquidated !== size) throw new Error(`batch of ${size} liquidated ${liquidated}`);
    say(`| ${size} | ${r.gasUsed.toLocaleString("en")} | ${(Number(r.gasUsed) / size).toLocaleString("en", { maximumFractionDigits: 0 })} |`);
  }
}

async function crashBench(url: string, sys: System, crash: bigint, subset: Set<bigint>, blockMs: number) {
  const base = await snapshot(sys.provider);
  await intervalMining(sys.provider, blockMs);
  const dir = tempDir();
  const k = new KeeperProcess(
    ["--rpc", url, "--deployment", sys.deploymentFile, "--store", `${dir}/store.json`, "--poll-interval-ms", "100", "--confirmations", "2", "--metrics-port", "0"],
    { KEEPER_PRIVATE_KEY: devKey(16) },
  );
  try {
    const synced = Date.now() + 120_000;
    for (;;) {
      const h = k.metricsPort === null ? null : await k.health().catch(() => null);
      if (h?.status === "ok" && h.positionsTracked === 500) break;
      if (!k.alive || Date.now() > synced) throw new Error(`the keeper did not sync:\n${k.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3 * blockMs));
    const t0 = performance.now();
    const crashBlock = await sys.setPrice(sys.ethFeed, crash);
    const deadline = Date.now() + 120_000;
    let events = await liquidations(sys, crashBlock);
    while (![...subset].every((id) => events.has(id))) {
      if (Date.now() > deadline) throw new Error(`not all liquidated:\n${k.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
      events = await liquidations(sys, crashBlock);
    }
    const ms = performance.now() - t0;
    const last = Math.max(...[...events.values()].map((e) => e[0]!.block));
    const txs = k.events("liquidation.sent").length;
    say(`| ${blockMs} ms | ${subset.size} of 500 | ${last - crashBlock} | ${fmt(ms)} | ${txs} |`);
  } finally {
    await k.stop("SIGTERM");
    await intervalMining(sys.provider, 0);
    await revert(sys.provider, base);
  }
}

const node = await startNode();
try {
  say("# Bulkhead keeper benchmark\n");
  say(`Generated by \`npm run bench:keeper\` (Node ${process.version}, ${availableParallelism()} CPUs): in memory at scale, then against a \`hardhat node\` process over JSON-RPC on 127.0.0.1 (the node and the keeper share the CPUs). Times are wall-clock and vary with the machine; request counts and gas do not.`);
  await scaleBench(say);
  say("");
  say("## Evaluation against a node\n\n| positions | what | time | JSON-RPC requests | notes |\n|---:|---|---:|---|---|");
  // Small collateral keeps 10,000 positions within the markets' open-interest caps.
  const big = await deploySystem(node.provider, { traderCount: 16, lpDeposit: 500_000_000n * USDC });
  // Rounds of 1,000 opens (one block each), feeds refreshed in between: blocks come faster than
  // one a second here and the chain's clock would otherwise run past the feeds' heartbeat.
  const openRound = async (seed: bigint) => {
    await openPositions(big, randomPositions(1_000, seed, big.traders, [20n * USDC, 200n * USDC]));
    await big.setPrice(big.ethFeed, ETH_PRICE);
    await big.setPrice(big.btcFeed, BTC_PRICE);
  };
  let t = performance.now();
  await openRound(100n);
  const open1k = performance.now() - t;
  await evaluateBench(node.url, big, 1_000);
  t = performance.now();
  for (let r = 1n; r < 10n; r++) await openRound(100n + r);
  const open9k = performance.now() - t;
  await evaluateBench(node.url, big, 10_000);
  say(`\n(setup: 1,000 opens in ${fmt(open1k)}, 9,000 more in ${fmt(open9k)})`);

  // 500 positions, the crash subset known from the lens' liquidation prices.
  const sys = await deploySystem(node.provider, { traderCount: 10 });
  const ids = await openPositions(sys, randomPositions(500, 0xb01c4eadn, sys.traders));
  const views = await readViews(sys, ids);
  const crash = pickMove(views, 0, (ETH_PRICE * 94n) / 100n, (ETH_PRICE * 97n) / 100n, true);
  const subset = subsetAt(views, 0, wad(crash));

  const before = await snapshot(sys.provider);
  await sys.setPrice(sys.ethFeed, crash);
  say(`\n## Gas per liquidation (liquidateMany, ${subset.size} liquidatable ETH longs after the crash)`);
  await gasBench(sys, [...subset]);
  await revert(sys.provider, before);

  say(`\n## Crash to last liquidation (500 positions, ETH ${Number(ETH_PRICE) / 1e8} -> ${Number(crash) / 1e8})\n`);
  say("| block time | liquidatable | blocks from the crash block to the last liquidation | wall time from sending the price update | transactions |\n|---:|---:|---:|---:|---:|");
  await crashBench(node.url, sys, crash, subset, 250);
  await crashBench(node.url, sys, crash, subset, 1_000);
  await latencyBench(say);
  await mkdir("bench", { recursive: true });
  await writeFile("bench/keeper.md", report.join("\n") + "\n");
  console.log("\nwrote bench/keeper.md");
} finally {
  await node.stop();
}
