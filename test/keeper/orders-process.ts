// The keeper as its CLI executing requests and orders against a real JSON-RPC node process
// (`hardhat node` on 127.0.0.1, a block every 250 ms) with reports from a ReportService on
// 127.0.0.1 priced from the node's push feeds, reached through Chainlink's client with HMAC
// credentials (--streams-url, KEEPER_STREAMS_API_KEY / KEEPER_STREAMS_USER_SECRET). Thirty open
// requests, then a stop-loss, take-profit or trailing stop on each position (and a far
// take-profit on every stop-loss position, dead once its stop fills), over a price path down
// and up; the keeper is killed (SIGKILL) once after recording a transaction and once after
// broadcasting one. Everything executes exactly once, when its rule says, and no transaction of
// the keeper is wasted. The node, the service and every keeper are stopped here.
import { expect } from "chai";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import type { Contract } from "ethers";
import { BulkheadClient, type OrderEvent, type RequestEvent } from "@bulkhead/sdk";
import { PushFeedPriceSource } from "../../scripts/streams/priceSources.js";
import { ReportService } from "../../scripts/streams/reportService.js";
import { USDC, WAD } from "../helpers/fixture.js";
import { skipUnderCoverage } from "../helpers/processes.js";
import { deploy, deployOverRpc, deployRequestsOverRpc, startNode, type RpcNode } from "../sdk/helpers/rpc-node.js";
import { devAddress, devKey, tempDir } from "./helpers/chain.js";
import { KeeperProcess } from "./helpers/process.js";
import { CREDENTIALS } from "./helpers/orders.js";
import { intervalMining } from "./helpers/scenario.js";

const POSITIONS = 30;
const GWEI = 10n ** 9n;

describe("keeper executing requests and orders (real node process)", function () {
  this.timeout(300_000);
  let node: RpcNode | undefined;
  let service: ReportService | undefined;
  const keepers: KeeperProcess[] = [];

  before(function () {
    skipUnderCoverage(this);
  });
  after(async () => {
    for (const k of keepers) await k.stop("SIGKILL");
    await service?.close();
    await node?.stop();
  });

  it("test_keeperProcess_manyOrdersKilledAndRestarted_everyRequestAndOrderExecutesOnce_noTxWasted", async () => {
    node = await startNode();
    const provider = node.provider;
    const sys = await deployOverRpc(provider);
    const streams = await deployRequestsOverRpc(sys);
    const { deployer, alice, bob } = sys.signers;
    const book = await deploy(deployer, "contracts/BulkheadOrderBook.sol/BulkheadOrderBook.json", [await streams.router.getAddress()]);
    await (await (streams.router as Contract).getFunction("setOrderBook")(await book.getAddress())).wait();
    service = new ReportService({
      oracles: streams.oracleSet,
      feeds: streams.feedIds.map((feedId, i) => ({ feedId, name: i === 0 ? "ETH/USD" : "BTC/USD", configDigest: streams.digests[i]! })),
      source: new PushFeedPriceSource(provider, { [streams.feedIds[0]!]: await sys.ethFeed.getAddress(), [streams.feedIds[1]!]: await sys.btcFeed.getAddress() }),
      now: async () => Number((await provider.getBlock("latest"))!.timestamp),
      credentials: CREDENTIALS,
    });
    const url = await service.listen();
    const dir = tempDir();
    const deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify({ chainId: 31337, network: "localhost", ...sys.addresses }));
    const keeperAddress = devAddress(9);
    const args = [
      "--rpc", node.url,
      "--deployment", deploymentFile,
      "--store", join(dir, "store.json"),
      "--streams-url", url,
      "--metrics-port", "0",
      "--poll-interval-ms", "100",
      "--confirmations", "1",
    ];
    const env = { KEEPER_PRIVATE_KEY: devKey(9), KEEPER_STREAMS_API_KEY: CREDENTIALS.apiKey, KEEPER_STREAMS_USER_SECRET: CREDENTIALS.userSecret };
    const start = (crashAt?: "recorded" | "broadcast") => {
      const k = new KeeperProcess(args, { ...env, ...(crashAt ? { KEEPER_TEST_CRASH_AT: crashAt } : {}) });
      keepers.push(k);
      return k;
    };
    const addresses = sys.addresses;
    const traders = [await BulkheadClient.connect(alice, { addresses, pollingInterval: 50 }), await BulkheadClient.connect(bob, { addresses, pollingInterval: 50 })];
    const reader = await BulkheadClient.connect(provider, { addresses, pollingInterval: 50 });
    const setEth = async (usd: bigint) => (await (sys.ethFeed.connect(deployer) as Contract).getFunction("updateAnswer")(usd * 10n ** 8n)).wait();
    await intervalMining(provider, 250);

    // Thirty open requests; the first keeper dies right after recording its first execution.
    const requests: bigint[] = [];
    for (let i = 0; i < POSITIONS; i++) {
      const r = await traders[i % 2]!.requestOpen({ market: 0, side: "long", amount: 1_000n * USDC, size: WAD, slippageBps: 200, gasPrice: 100n * GWEI });
      requests.push(r.requestId);
    }
    const first = start("recorded");
    expect((await first.exited).signal).to.equal("SIGKILL");
    let keeper = start();
    const waitUntil = async <T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await read();
        if (done(v)) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${keeper.tail(30)}`);
        if (!keeper.alive && keeper.child.signalCode !== "SIGKILL") throw new Error(`keeper exited waiting for ${what}:\n${keeper.tail(30)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const requestEvents = () => reader.getRequestEvents();
    const filled = (events: RequestEvent[]) => events.filter((e) => e.type === "RequestExecuted");
    const fills = filled(await waitUntil("the open requests", requestEvents, (es) => filled(es).length === POSITIONS));
    expect(fills.map((e) => e.requestId).sort()).to.deep.equal([...requests].sort());
    for (const e of fills) if (e.type === "RequestExecuted") expect(e.executor).to.equal(keeperAddress);
    // In request order: request i was made by trader i % 2 (the keeper may fill them in any order).
    const positionOf = new Map(fills.map((e) => [e.requestId, e.type === "RequestExecuted" ? e.positionId : 0n]));
    const positions = requests.map((id) => positionOf.get(id)!);

    // Orders: stop-losses 2,990..2,950 (each with a far take-profit that dies with it),
    // take-profits 3,010..3,050, trailing stops of 0.5 %.
    const stops = new Map<bigint, bigint>();
    const takes = new Map<bigint, bigint>();
    const trails = new Set<bigint>();
    const dead = new Set<bigint>();
    for (const [i, id] of positions.entries()) {
      const t = traders[i % 2]!;
      const step = BigInt(i % 5) * 10n;
      const o = { positionId: id, slippageBps: 100, gasPrice: 100n * GWEI };
      if (i % 3 === 0) {
        stops.set((await t.placeStopLoss({ ...o, triggerPrice: (2_990n - step) * WAD })).orderId, (2_990n - step) * WAD);
        dead.add((await t.placeTakeProfit({ ...o, triggerPrice: 3_500n * WAD })).orderId);
      } else if (i % 3 === 1) {
        takes.set((await t.placeTakeProfit({ ...o, triggerPrice: (3_010n + step) * WAD })).orderId, (3_010n + step) * WAD);
      } else {
        trails.add((await t.placeTrailingStop({ positionId: id, trailBps: 50n, gasPrice: 100n * GWEI })).orderId);
      }
    }
    const orderEvents = () => reader.getOrderEvents();
    const executedIds = (es: OrderEvent[]) => es.flatMap((e) => (e.type === "OrderExecuted" ? [e.orderId] : []));
    // Down: every stop-loss at or above the price, and every trailing stop once 0.5 % under its peak (3,000).
    // Every order tracked, and a few blocks for the trailing stops' first peak (3,000).
    const total = stops.size + dead.size + takes.size + trails.size;
    await waitUntil("the orders tracked", () => keeper.health(), (h) => (h.ordersPending as { orders: number } | null)?.orders === total);
    const tracked = await provider.getBlockNumber();
    await waitUntil("four blocks", () => provider.getBlockNumber(), (b) => b >= tracked + 4);
    for (const usd of [2_995n, 2_985n, 2_975n, 2_965n, 2_950n]) {
      if (usd === 2_985n) {
        // Kill it again, then one that dies right after broadcasting the first execution the move makes due.
        await keeper.stop("SIGKILL");
        const crashing = start("broadcast");
        await crashing.waitForEvent("keeper.started");
        await setEth(usd);
        expect((await crashing.exited).signal).to.equal("SIGKILL");
        keeper = start();
      } else await setEth(usd);
      const due = [...stops].filter(([, trigger]) => trigger >= usd * WAD).length + (usd <= 2_985n ? trails.size : 0);
      await waitUntil(`the orders due at ${usd}`, orderEvents, (es) => executedIds(es).length >= due);
    }
    // Up: the take-profits, at or below the price.
    for (const usd of [3_000n, 3_020n, 3_050n]) {
      await setEth(usd);
      const due = stops.size + trails.size + [...takes].filter(([, trigger]) => trigger <= usd * WAD).length;
      await waitUntil(`the orders due at ${usd}`, orderEvents, (es) => executedIds(es).length >= due);
    }
    // The far take-profits of closed positions are pruned.
    const prunedIds = (es: OrderEvent[]) => es.flatMap((e) => (e.type === "OrderCancelled" && e.reason === "Dead" ? [e.orderId] : []));
    const events = await waitUntil("the dead orders pruned", orderEvents, (es) => prunedIds(es).length >= dead.size);

    const executed = executedIds(events);
    expect(new Set(executed).size, "no order executed twice").to.equal(executed.length);
    expect([...executed].sort()).to.deep.equal([...stops.keys(), ...takes.keys(), ...trails].sort());
    expect([...prunedIds(events)].sort()).to.deep.equal([...dead].sort());
    for (const e of events) {
      if (e.type !== "OrderExecuted") continue;
      expect(e.executor).to.equal(keeperAddress);
      const stop = stops.get(e.orderId);
      const take = takes.get(e.orderId);
      // Fills at the bid (a long's exit): at most the stop's trigger, at least 1 % under a take-profit's.
      if (stop !== undefined) expect(e.price <= stop, `stop ${e.orderId} filled at ${e.price}`).to.equal(true);
      if (take !== undefined) expect(e.price >= (take * 99n) / 100n, `take-profit ${e.orderId} filled at ${e.price}`).to.equal(true);
    }
    // No transaction of the keeper was wasted: one per request, order and prune, none twice.
    // (An empty self-transfer freeing a nonce stuck past its deadline is the executor's recovery,
    // which a loaded 2-core machine can trigger: it is counted apart.)
    const nonce = await provider.getTransactionCount(keeperAddress, "latest");
    let cancels = 0;
    const head = await provider.getBlockNumber();
    for (let b = 0; b <= head; b++) {
      const block = (await provider.send("eth_getBlockByNumber", ["0x" + b.toString(16), true])) as { transactions: { from: string; to: string; input: string }[] };
      for (const t of block.transactions) if (t.from.toLowerCase() === keeperAddress.toLowerCase() && t.to?.toLowerCase() === t.from.toLowerCase() && t.input === "0x") cancels++;
    }
    expect(nonce - cancels).to.equal(POSITIONS + executed.length + dead.size);
    const sentKeys = keepers.flatMap((k) => k.events("execution.sent").map((l) => String(l.key)));
    expect(new Set(sentKeys).size, "no execution sent twice").to.equal(sentKeys.length);
    await intervalMining(provider, 0);
  });
});
