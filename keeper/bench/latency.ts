// Order execution latency in blocks (issue 14's goal "execution ≤ 2 blocks after the report that
// makes an order due"; measured, not asserted): the scale test's world, smaller (helpers/scale.ts:
// positions and orders of every kind, a price path that makes each order due at a known step),
// a `hardhat node` with a block every 250 ms, a report service priced from the push feeds, and one
// keeper as its CLI. A step's price is set in one block; from that block on, the report service
// signs reports at the new price, so that block is when the due report first exists. An order's
// latency is its OrderExecuted block minus its step's block.
import { join } from "node:path";
import type { ReportService } from "../../scripts/streams/reportService.js";
import type { RpcNode } from "../../test/sdk/helpers/rpc-node.js";
import { devKey } from "../../test/keeper/helpers/chain.js";
import { CREDENTIALS } from "../../test/keeper/helpers/orders.js";
import { KeeperProcess } from "../../test/keeper/helpers/process.js";
import { PATH, dueStep, scaleWorld } from "../../test/keeper/helpers/scale.js";
import { intervalMining } from "../../test/keeper/helpers/scenario.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function latencyBench(say: (text: string) => void, o: { positions: number; orders: number; blockMs: number } = { positions: 60, orders: 60, blockMs: 250 }): Promise<void> {
  const started: { node?: RpcNode; service?: ReportService } = {};
  let keeper: KeeperProcess | undefined;
  try {
    const w = await scaleWorld({ positions: o.positions, orders: o.orders, traders: 4, requests: 2 }, started);
    await intervalMining(w.provider, o.blockMs);
    keeper = new KeeperProcess(
      ["--rpc", w.node.url, "--deployment", w.deploymentFile, "--store", join(w.dir, "latency.json"), "--streams-url", w.url, "--metrics-port", "0", "--poll-interval-ms", "100", "--confirmations", "1"],
      { KEEPER_PRIVATE_KEY: devKey(14), KEEPER_STREAMS_API_KEY: CREDENTIALS.apiKey, KEEPER_STREAMS_USER_SECRET: CREDENTIALS.userSecret },
    );
    const tracked = Date.now() + 120_000;
    for (;;) {
      const p = keeper.metricsPort === null ? null : ((await keeper.health().catch(() => null))?.ordersPending as { orders: number; guards: number } | null | undefined);
      if (p && p.orders === w.orderOf.size && p.guards === w.guardOf.size) break;
      if (!keeper.alive || Date.now() > tracked) throw new Error(`the keeper does not track the orders:\n${keeper.tail(30)}`);
      await sleep(200);
    }
    await sleep(1_500);
    const stepBlock: number[] = [0];
    const dueAt = new Map<bigint, number>([...w.orderOf].map(([id, p]) => [id, dueStep(p)]));
    for (let k = 1; k < PATH.length; k++) {
      stepBlock[k] = (await w.setStep(k)).block;
      // Until every order due by this step executed (or, a bracket's other leg, was cancelled), and at least 4 blocks.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const settled = new Set((await w.reader.getOrderEvents()).flatMap((e) => (e.type === "OrderExecuted" || e.type === "OrderCancelled" ? [e.orderId] : [])));
        const head = await w.provider.getBlockNumber();
        const waiting = [...dueAt].filter(([id, s]) => s <= k && !settled.has(id)).length;
        if ((waiting === 0 && head >= stepBlock[k]! + 4) || Date.now() > deadline) break;
        await sleep(200);
      }
    }
    const events = await w.reader.getOrderEvents();
    const blocks: number[] = [];
    for (const e of events) {
      if (e.type !== "OrderExecuted") continue;
      const k = dueAt.get(e.orderId);
      if (k === undefined || k < 1) continue;
      blocks.push(e.blockNumber - stepBlock[k]!);
    }
    blocks.sort((a, b) => a - b);
    if (blocks.length === 0) throw new Error("no order executed");
    say(`\n## Order execution latency (${w.orderOf.size} orders + ${w.guardOf.size} guards over ${PATH.length - 1} price steps, ${o.blockMs} ms blocks, one keeper as its CLI)\n`);
    say("Blocks from the block that sets a step's price (the first block whose reports make the order due) to the block that includes its execution. Goal: ≤ 2.\n");
    say("| orders executed | p50 | p95 | max | within 2 blocks |\n|---:|---:|---:|---:|---:|");
    const within = blocks.filter((b) => b <= 2).length;
    say(`| ${blocks.length} | ${pct(blocks, 50)} | ${pct(blocks, 95)} | ${blocks.at(-1)} | ${within} (${((100 * within) / blocks.length).toFixed(0)} %) |`);
    say(`\nexecution ≤ ${blocks.at(-1)} blocks after the due report (p50 ${pct(blocks, 50)}, p95 ${pct(blocks, 95)})`);
  } finally {
    await keeper?.stop("SIGTERM");
    await started.service?.close();
    await started.node?.stop();
  }
}
