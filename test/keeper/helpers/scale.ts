// The keeper's proof at scale on a real `hardhat node`: many positions opened straight on the
// engine (before the router becomes its settler, so they need no report), then orders of every
// kind, top-up guards, trade requests and an LP request placed by several node-unlocked traders,
// many transactions per block (automine off, `evm_mine` until every receipt is in). A price path
// of push-feed steps (reports from a ReportService priced from the feeds, so always within the
// oracle's 1 % bound) crosses every order at a step known in advance: each order's trigger sits
// between two steps, so the model below names the one report price that may fill it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Contract, Interface, MaxUint256, type JsonRpcProvider, type TransactionReceipt } from "ethers";
import { BulkheadClient, OrderLogic, bulkheadInterface, type OrderKindName } from "@bulkhead/sdk";
import { PushFeedPriceSource } from "../../../scripts/streams/priceSources.js";
import { ReportService, withSpread, type Quote } from "../../../scripts/streams/reportService.js";
import { ROOT as root } from "../../helpers/processes.js";
import { deploy, deployOverRpc, deployRequestsOverRpc, startNode, type RpcNode } from "../../sdk/helpers/rpc-node.js";
import { tempDir } from "./chain.js";
import { CREDENTIALS, QUOTE_GAS_PRICE } from "./orders.js";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const usd = (x: number) => BigInt(Math.round(x * 10)) * (WAD / 10n);

/** The ETH path in dollars: step 0 is the price everything is placed at; down to a low, then up past every take-profit. */
export const PATH = [3000, 2995, 2985, 2975, 2965, 2950, 2935, 2920, 2900, 2915, 2930, 2950, 2975, 3000, 3020, 3040, 3060, 3080, 3100].map(usd);
/** Triggers due at or below (between two steps of the fall) and at or above (between two steps of the last rise). */
const BELOW = [2997.5, 2990, 2980, 2970, 2957.5, 2942.5, 2927.5, 2910].map(usd);
const ABOVE = [3010, 3030, 3050, 3070, 3090].map(usd);
const TRAILS = [60n, 150n, 250n];

/** Every quote the service gives at a step (2 bps spread, as PushFeedPriceSource). */
export const quoteAt = (step: number): Quote => withSpread(PATH[step]!, 2n);

export type Slot = "LimitOpen" | "LimitIncrease" | "StopLoss" | "TakeProfit" | "Bracket" | "TrailingStop" | "TopUp";
const SLOTS: Slot[] = ["LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit", "Bracket", "TrailingStop", "TopUp"];

export interface PlannedOrder {
  kind: OrderKindName;
  isLong: boolean;
  trader: string;
  /** Index into the opened positions (-1: a limit open). */
  position: number;
  trigger: bigint;
  /** Bracket leg index (0 stop-loss, 1 take-profit), else undefined. */
  leg?: 0 | 1;
  bracket?: number;
}

export interface PlannedGuard {
  trader: string;
  position: number;
  /** The step whose report first has the position's health factor under its threshold. */
  step: number;
}

/** Whether a fill-side or benchmark value of `o` at a quote has crossed its trigger (the keeper's and the book's rule). */
function crossed(o: { kind: OrderKindName; isLong: boolean; trigger: bigint }, q: Quote): boolean {
  const below = (o.kind === "TakeProfit") !== o.isLong;
  const limit = o.kind === "LimitOpen" || o.kind === "LimitIncrease";
  const value = limit ? (OrderLogic.buys(o.kind, o.isLong) ? q.ask : q.bid) : q.price;
  return below ? value <= o.trigger : value >= o.trigger;
}

/** The first step of PATH whose report fills `o` (a trailing stop from the best step before it), or -1. */
export function dueStep(o: { kind: OrderKindName; isLong: boolean; trigger: bigint }): number {
  for (let k = 1; k < PATH.length; k++) {
    if (o.kind === "TrailingStop") {
      const before = PATH.slice(0, k);
      const peak = before.reduce((a, b) => (o.isLong ? (b > a ? b : a) : b < a ? b : a));
      if (OrderLogic.trailReached(o.isLong, o.trigger, peak, PATH[k]!)) return k;
    } else if (crossed(o, quoteAt(k))) return k;
  }
  return -1;
}

/** The price an execution at step `k` fills at: the ask buying, the bid selling. */
export function fillPriceAt(o: { kind: OrderKindName; isLong: boolean }, k: number): bigint {
  const q = quoteAt(k);
  return OrderLogic.buys(o.kind, o.isLong) ? q.ask : q.bid;
}

function artifactAbi(path: string): Interface {
  return new Interface((JSON.parse(readFileSync(join(root, "artifacts", path), "utf8")) as { abi: never }).abi);
}

const BATCH = 40;

export interface Tx {
  from: string;
  to: string;
  data: string;
  value?: bigint;
  gas: bigint;
}

/**
 * Sends `txs` with automine off: each sender's in order (the node assigns pending nonces),
 * senders in parallel, then mines blocks until every receipt is in. Throws on any revert.
 */
export async function sendBatch(provider: JsonRpcProvider, txs: readonly Tx[]): Promise<TransactionReceipt[]> {
  // The node re-checks its whole pool on every send: a small pool per block keeps this linear.
  if (txs.length > BATCH) {
    const out: TransactionReceipt[] = [];
    for (let i = 0; i < txs.length; i += BATCH) out.push(...(await sendBatch(provider, txs.slice(i, i + BATCH))));
    return out;
  }
  await provider.send("evm_setAutomine", [false]);
  const bySender = new Map<string, number[]>();
  txs.forEach((t, i) => bySender.set(t.from, [...(bySender.get(t.from) ?? []), i]));
  const hashes: string[] = new Array(txs.length);
  try {
    await Promise.all(
      [...bySender.values()].map(async (indexes) => {
        for (const i of indexes) {
          const t = txs[i]!;
          const tx = { from: t.from, to: t.to, data: t.data, gas: "0x" + t.gas.toString(16), ...(t.value ? { value: "0x" + t.value.toString(16) } : {}) };
          hashes[i] = (await provider.send("eth_sendTransaction", [tx])) as string;
        }
      }),
    );
    const last = [...bySender.values()].map((ix) => hashes[ix.at(-1)!]!);
    for (;;) {
      await provider.send("evm_mine", []);
      const rs = await Promise.all(last.map((h) => provider.send("eth_getTransactionReceipt", [h])));
      if (rs.every((r) => r !== null)) break;
    }
  } finally {
    await provider.send("evm_setAutomine", [true]);
  }
  const receipts: TransactionReceipt[] = [];
  for (let i = 0; i < hashes.length; i += 100) receipts.push(...(await Promise.all(hashes.slice(i, i + 100).map(async (h) => (await provider.getTransactionReceipt(h))!))));
  receipts.forEach((r, i) => {
    if (r.status !== 1) throw new Error(`batched tx #${i} (${hashes[i]}) reverted`);
  });
  return receipts;
}

export interface ScaleOptions {
  positions: number;
  orders: number;
  traders: number;
  requests: number;
}

export type ScaleWorld = Awaited<ReturnType<typeof scaleWorld>>;

/**
 * Node, deployment, positions, orders, guards and requests as described at the top. Returns
 * the plan (what must execute, at which step) and handles to move the path; `started` gets the
 * node and the service as soon as they exist, for the caller to stop.
 */
export async function scaleWorld(o: ScaleOptions, started: { node?: RpcNode; service?: ReportService }) {
  const timings: Record<string, number> = {};
  let t0 = Date.now();
  const lap = (what: string) => {
    timings[what] = Date.now() - t0;
    t0 = Date.now();
  };
  const node = await startNode();
  started.node = node;
  const provider = node.provider;
  const sys = await deployOverRpc(provider);
  lap("deploy");
  try {
    await provider.send("evm_setBlockGasLimit", ["0x" + (200_000_000).toString(16)]);
  } catch {
    // Older nodes: the default limit only takes more blocks.
  }
  const token = artifactAbi("contracts/mocks/MockStablecoin.sol/MockStablecoin.json");
  const engineIface = bulkheadInterface();
  const deployer = await sys.signers.deployer.getAddress();
  const traders = await Promise.all(Array.from({ length: o.traders }, async (_, i) => (await provider.getSigner(6 + i)).getAddress()));
  const engine = sys.addresses.engine;
  const tokenAddr = sys.addresses.token;

  // Positions straight on the engine: longs and shorts of 1 ETH, 600 USDC (5x); guard positions 150 USDC (20x longs).
  type Pos = { trader: string; isLong: boolean; collateral: bigint; size: bigint };
  const plan: { orders: PlannedOrder[]; guards: PlannedGuard[] } = { orders: [], guards: [] };
  const specs: Pos[] = [];
  let bracket = 0;
  let below = 0;
  let above = 0;
  let trail = 0;
  const downSteps = [3, 4, 5, 6, 7];
  for (let i = 0, placed = 0; placed < o.orders; i++) {
    const slot = SLOTS[i % SLOTS.length]!;
    const isLong = slot === "TopUp" ? true : Math.floor(i / SLOTS.length) % 2 === 0;
    const trader = traders[i % traders.length]!;
    const open = (collateral: bigint) => specs.push({ trader, isLong, collateral, size: WAD }) - 1;
    // A below-due trigger for the rule that waits under the price, an above-due one otherwise.
    const pick = (kind: OrderKindName) => ((kind === "TakeProfit") !== isLong ? BELOW[below++ % BELOW.length]! : ABOVE[above++ % ABOVE.length]!);
    if (slot === "LimitOpen") plan.orders.push({ kind: "LimitOpen", isLong, trader, position: -1, trigger: pick("LimitOpen") });
    else if (slot === "TopUp") plan.guards.push({ trader, position: open(150n * USDC), step: downSteps[plan.guards.length % downSteps.length]! });
    else if (slot === "Bracket") {
      const position = open(600n * USDC);
      plan.orders.push({ kind: "StopLoss", isLong, trader, position, trigger: pick("StopLoss"), leg: 0, bracket });
      plan.orders.push({ kind: "TakeProfit", isLong, trader, position, trigger: pick("TakeProfit"), leg: 1, bracket });
      bracket++;
      placed++;
    } else if (slot === "TrailingStop") plan.orders.push({ kind: "TrailingStop", isLong, trader, position: open(600n * USDC), trigger: TRAILS[trail++ % TRAILS.length]! });
    else plan.orders.push({ kind: slot, isLong, trader, position: open(600n * USDC), trigger: pick(slot) });
    placed++;
  }
  if (specs.length > o.positions) throw new Error(`${o.orders} orders need ${specs.length} positions, more than ${o.positions}`);
  for (let i = specs.length; i < o.positions; i++) specs.push({ trader: traders[i % traders.length]!, isLong: i % 2 === 0, collateral: 600n * USDC, size: WAD });

  const fund: Tx[] = traders.flatMap((t) => [
    { from: deployer, to: tokenAddr, data: token.encodeFunctionData("faucet", [t, 100_000_000n * USDC]), gas: 200_000n },
    { from: t, to: tokenAddr, data: token.encodeFunctionData("approve", [engine, MaxUint256]), gas: 100_000n },
  ]);
  await sendBatch(provider, fund);
  const far = 2n ** 40n;
  const opens = await sendBatch(
    provider,
    specs.map((s) => ({ from: s.trader, to: engine, data: engineIface.encodeFunctionData("open", [0, s.isLong, s.collateral, s.size, s.isLong ? 2n ** 96n - 1n : 0n, far]), gas: 900_000n })),
  );
  const openedTopic = engineIface.getEvent("PositionOpened")!.topicHash;
  const positionIds = opens.map((r) => BigInt(r.logs.find((l) => l.topics[0] === openedTopic)!.topics[1]!));
  lap("positions");

  // Router, oracle and order book; the traders approve them.
  const streams = await deployRequestsOverRpc(sys);
  const book = await deploy(sys.signers.deployer, "contracts/BulkheadOrderBook.sol/BulkheadOrderBook.json", [await streams.router.getAddress()]);
  await (await (streams.router as Contract).getFunction("setOrderBook")(await book.getAddress())).wait();
  const router = await streams.router.getAddress();
  const bookAddr = await book.getAddress();
  const pool = sys.addresses.pool;
  const lp = await sys.signers.lp.getAddress();
  await sendBatch(provider, [
    ...traders.flatMap((t) => [router, bookAddr].map((spender) => ({ from: t, to: tokenAddr, data: token.encodeFunctionData("approve", [spender, MaxUint256]), gas: 100_000n }))),
    { from: deployer, to: tokenAddr, data: token.encodeFunctionData("faucet", [lp, 50_000n * USDC]), gas: 200_000n },
    { from: lp, to: tokenAddr, data: token.encodeFunctionData("approve", [pool, MaxUint256]), gas: 100_000n },
  ]);
  lap("order system");

  // Orders and guards, in one batch; the guards' thresholds from each position's health at step 0.
  const bookIface = book.interface;
  const kindId = (k: OrderKindName) => ({ LimitOpen: 1, LimitIncrease: 2, StopLoss: 3, TakeProfit: 4, TrailingStop: 5 })[k];
  const fees = new Map<number, bigint>();
  for (const k of [1, 2, 3, 4, 5]) fees.set(k, (await book.getFunction("quoteExecutionFee")(k, QUOTE_GAS_PRICE)) as bigint);
  const reader = await BulkheadClient.connect(provider, { addresses: sys.addresses, pollingInterval: 50 });
  const guardViews = await reader.getPositions(plan.guards.map((g) => positionIds[g.position]!));
  const params = (p: PlannedOrder) => {
    const buys = OrderLogic.buys(p.kind, p.isLong);
    const limit = p.kind === "LimitOpen" || p.kind === "LimitIncrease";
    const acceptable = limit ? p.trigger : p.kind === "TrailingStop" ? (buys ? 10_000n * WAD : 1n) : buys ? (p.trigger * 103n) / 100n : (p.trigger * 97n) / 100n;
    return {
      kind: kindId(p.kind),
      target: 0,
      positionId: p.position < 0 ? 0n : positionIds[p.position]!,
      marketId: 0n,
      isLong: p.isLong,
      amount: p.kind === "LimitOpen" ? 600n * USDC : p.kind === "LimitIncrease" ? 300n * USDC : 0n,
      size: p.kind === "LimitOpen" ? WAD : p.kind === "LimitIncrease" ? WAD / 2n : 0n,
      trigger: p.trigger,
      acceptablePrice: acceptable,
      validUntil: 0n,
    };
  };
  const placeTxs: Tx[] = [];
  const placeOf: { orders: PlannedOrder[] }[] = [];
  for (let i = 0; i < plan.orders.length; i++) {
    const p = plan.orders[i]!;
    if (p.leg === 0) {
      const tp = plan.orders[i + 1]!;
      placeTxs.push({ from: p.trader, to: bookAddr, data: bookIface.encodeFunctionData("placeBracket", [params(p), params(tp)]), value: fees.get(3)! + fees.get(4)!, gas: 1_200_000n });
      placeOf.push({ orders: [p, tp] });
      i++;
    } else {
      placeTxs.push({ from: p.trader, to: bookAddr, data: bookIface.encodeFunctionData("place", [params(p)]), value: fees.get(kindId(p.kind))!, gas: 900_000n });
      placeOf.push({ orders: [p] });
    }
  }
  const thresholds = plan.guards.map((g, i) => {
    const h = guardViews[i]!.health!;
    const hf = (step: number) => ((h.equity + (WAD * (PATH[step]! - PATH[0]!)) / 10n ** 30n) * WAD) / ((h.maintenance * PATH[step]!) / PATH[0]!);
    return (hf(g.step - 1) + hf(g.step)) / 2n;
  });
  plan.guards.forEach((g, i) =>
    placeTxs.push({
      from: g.trader,
      to: bookAddr,
      data: bookIface.encodeFunctionData("setTopUpGuard", [positionIds[g.position]!, thresholds[i]!, 100n * USDC, 105n * USDC, 5n * USDC, 0n]),
      gas: 600_000n,
    }),
  );
  const placed = await sendBatch(provider, placeTxs);
  const placedTopic = bookIface.getEvent("OrderPlaced")!.topicHash;
  const guardTopic = bookIface.getEvent("TopUpGuardSet")!.topicHash;
  /** order id -> plan entry; guard id -> plan entry. */
  const orderOf = new Map<bigint, PlannedOrder>();
  const guardOf = new Map<bigint, PlannedGuard & { threshold: bigint }>();
  placed.forEach((r, i) => {
    if (i < placeOf.length) {
      const ids = r.logs.filter((l) => l.topics[0] === placedTopic).map((l) => BigInt(l.topics[1]!));
      placeOf[i]!.orders.forEach((p, j) => orderOf.set(ids[j]!, p));
    } else {
      const g = i - placeOf.length;
      guardOf.set(BigInt(r.logs.find((l) => l.topics[0] === guardTopic)!.topics[1]!), { ...plan.guards[g]!, threshold: thresholds[g]! });
    }
  });

  // Market opens and an LP deposit: executed at their pinned reports once a keeper runs.
  const routerIface = (streams.router as Contract).interface;
  const poolIface = artifactAbi("contracts/BulkheadPool.sol/BulkheadPool.json");
  const openFee = (await (streams.router as Contract).getFunction("quoteExecutionFee")(1n, QUOTE_GAS_PRICE)) as bigint;
  const lpFee = (await new Contract(pool, poolIface, provider).getFunction("quoteExecutionFee")(1n, QUOTE_GAS_PRICE)) as bigint;
  const requestReceipts = await sendBatch(provider, [
    ...Array.from({ length: o.requests }, (_, i) => ({
      from: traders[i % traders.length]!,
      to: router,
      data: routerIface.encodeFunctionData("requestOpen", [0n, i % 2 === 0, 600n * USDC, WAD, i % 2 === 0 ? usd(3100) : usd(2900)]),
      value: openFee,
      gas: 900_000n,
    })),
    { from: lp, to: pool, data: poolIface.encodeFunctionData("requestDeposit", [10_000n * USDC, lp, lp]), value: lpFee, gas: 900_000n },
  ]);
  const requestTopic = routerIface.getEvent("RequestCreated")!.topicHash;
  const requestIds = requestReceipts.slice(0, o.requests).map((r) => BigInt(r.logs.find((l) => l.topics[0] === requestTopic)!.topics[1]!));
  const lpTopic = poolIface.getEvent("LpRequestCreated")!.topicHash;
  const lpRequestId = BigInt(requestReceipts.at(-1)!.logs.find((l) => l.topics[0] === lpTopic)!.topics[1]!);
  lap("orders and requests");

  const service = new ReportService({
    oracles: streams.oracleSet,
    feeds: streams.feedIds.map((feedId, i) => ({ feedId, name: i === 0 ? "ETH/USD" : "BTC/USD", configDigest: streams.digests[i]! })),
    source: new PushFeedPriceSource(provider, { [streams.feedIds[0]!]: await sys.ethFeed.getAddress(), [streams.feedIds[1]!]: await sys.btcFeed.getAddress() }),
    now: async () => Number((await provider.getBlock("latest"))!.timestamp),
    credentials: CREDENTIALS,
  });
  started.service = service;
  const url = await service.listen();
  const dir = tempDir();
  const deploymentFile = join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify({ chainId: 31337, network: "localhost", ...sys.addresses }));
  const ethFeed = await sys.ethFeed.getAddress();
  const feedIface = artifactAbi("@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol/MockV3Aggregator.json");
  /** Moves ETH's push feed to PATH[step]; resolves with the block that carries it and its timestamp. */
  const setStep = async (step: number): Promise<{ timestamp: number; block: number }> => {
    const hash = (await provider.send("eth_sendTransaction", [{ from: deployer, to: ethFeed, data: feedIface.encodeFunctionData("updateAnswer", [PATH[step]! / 10n ** 10n]), gas: "0x30000" }])) as string;
    for (;;) {
      const r = await provider.getTransactionReceipt(hash);
      if (r) return { timestamp: (await provider.getBlock(r.blockNumber))!.timestamp, block: r.blockNumber };
      await new Promise((res) => setTimeout(res, 25));
    }
  };
  return { node, provider, sys, streams, book, bookAddr, router, pool, reader, service, url, dir, deploymentFile, orderOf, guardOf, requestIds, lpRequestId, positionIds, setStep, timings, traders };
}
