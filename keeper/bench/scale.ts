// Keeper at scale, in memory (part of `npm run bench:keeper`): 100,000 positions and 10,000 open
// orders through the keeper's own classes (JsonStore, Evaluator with its HealthIndex, OrderKeeper's
// TriggerIndex), no chain: the records come from the tracker's record file (records.ts), as a
// restarted keeper revives them. Goals of issue 14 (printed, not asserted): cold start <= 30 s, each
// new block or report <= 250 ms of keeper time.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HealthLib, quoteOrderFill, type OrderKindName, type PositionView } from "@bulkhead/sdk";
import { Evaluator } from "../src/evaluator.js";
import { OrderKeeper } from "../src/orders.js";
import { RecordCache } from "../src/records.js";
import { JsonStore, type TrackedOrder } from "../src/store.js";
import { Rng } from "../../test/sdk/helpers/random.js";
import { WAD, marketStatus, offlineClient, randomView } from "../../test/keeper/helpers/synthetic.js";

const DEPLOYMENT = { chainId: 31337, engine: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", startBlock: 1 };
const BASE = [3_000n * WAD, 60_000n * WAD];
const KINDS: OrderKindName[] = ["StopLoss", "TakeProfit", "LimitOpen", "LimitIncrease", "TrailingStop"];

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** Healthy random positions (a keeper in sync has liquidated the rest). */
function positions(rng: Rng, n: number, indexes: bigint[]): PositionView[] {
  const out: PositionView[] = [];
  const unit = offlineClient().unit;
  while (out.length < n) {
    const v = randomView(rng, BigInt(out.length + 1), { prices: BASE, indexes });
    if (!HealthLib.health(v.position, v.risk, BASE[v.position.marketId]!, indexes[v.position.marketId]!, unit).liquidatable) out.push(v);
  }
  return out;
}

/** Orders as the store keeps them: triggers within 15 % of the price, a tenth of them trailing stops with a peak. */
function orders(rng: Rng, n: number, positionCount: number): Record<string, TrackedOrder> {
  const out: Record<string, TrackedOrder> = {};
  for (let i = 1; i <= n; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const market = rng.int(0, 1);
    const isLong = rng.bool();
    const p = BASE[market]!;
    // Not due now: a stop waits on the far side of the price from its take-profit, a limit buy below.
    const away = (p * rng.range(10n, 1_500n)) / 10_000n;
    const dueBelow = (kind === "TakeProfit") !== isLong;
    const trigger = kind === "TrailingStop" ? rng.range(50n, 1_500n) : dueBelow ? p - away : p + away;
    const o: TrackedOrder = {
      kind,
      isLong,
      market,
      positionId: String(rng.int(1, positionCount)),
      target: kind === "LimitOpen" ? "None" : "Position",
      trigger: trigger.toString(),
      acceptablePrice: (isLong === (kind === "LimitOpen" || kind === "LimitIncrease") ? 2n ** 128n : 0n).toString(),
      fee: "100000000000000",
      observedAfter: 0,
      validUntil: 0,
      ...(kind === "TrailingStop" ? { peak: { report: "0x", price: p.toString(), observedAt: 1 } } : {}),
    };
    out[String(i)] = o;
  }
  return out;
}

export async function scaleBench(say: (s: string) => void, n = 100_000, orderCount = 10_000): Promise<void> {
  const rng = new Rng(0x5ca1en);
  const indexes = [10n ** 16n, 2n * 10n ** 16n];
  const client = offlineClient();
  const dir = mkdtempSync(join(tmpdir(), "keeper-scale-"));
  try {
    // The stored state a restarted keeper finds: its store (positions by id, orders) and a
    // record file the tracker saved (what it read through the lens).
    const views = positions(rng, n, indexes);
    const storePath = join(dir, "store.json");
    const seed = JsonStore.open(storePath, DEPLOYMENT);
    for (const v of views) seed.state.positions[v.id.toString()] = v.position.marketId;
    seed.state.checkpoint = { block: 1_000, hash: "0x" + "11".repeat(32) };
    seed.state.jobs.orders = orders(rng, orderCount, n);
    seed.save();
    // The tracker's record file (records.ts), as a keeper that ran and stopped leaves it.
    const recordsAt = { block: 1_000, hash: "0x" + "11".repeat(32) };
    const s0 = performance.now();
    new RecordCache(`${storePath}.records.json`).save(DEPLOYMENT, { ...recordsAt, views });
    const saveMs = performance.now() - s0;

    // Cold start: open the store, revive the records, index them and the orders, evaluate once.
    const t0 = performance.now();
    const store = JsonStore.open(storePath, DEPLOYMENT);
    const tStore = performance.now();
    const saved = new RecordCache(`${storePath}.records.json`).load(DEPLOYMENT);
    if (saved?.block !== recordsAt.block || saved.views.length !== n) throw new Error("the record file is not the one saved");
    const records = saved.views;
    const tRecords = performance.now();
    const book = new OrderKeeper(client, "0x" + "00".repeat(20), store, null as never, null, ["0x01", "0x02"]);
    const tOrders = performance.now();
    const evaluator = new Evaluator(client);
    let block = 1_001;
    let t = 1_700_000_000;
    const first = evaluator.evaluateAt(records, marketStatus(BASE, indexes), null, block, t);
    const tIndex = performance.now();
    if (first.candidates.length !== 0 || book.index.size !== orderCount) throw new Error("the cold start state is not the one generated");
    say(`\n## At scale, in memory (${n.toLocaleString("en")} positions, ${orderCount.toLocaleString("en")} open orders)\n`);
    say("The keeper's own classes (JsonStore, Evaluator and its HealthIndex, OrderKeeper and its TriggerIndex) on synthetic state: healthy positions of 1.5x to 50x on two markets, entries within 20 % of the price, three risk versions; orders of every kind within 15 % of the price, a fifth of them trailing stops. No chain: the records come from the tracker's record file (records.ts), as a restarted keeper revives them instead of reading them through the lens. Keeper time only; goals of issue 14, not asserted.\n");
    say("| cold start | time |\n|---|---:|");
    say(`| open the store (${n.toLocaleString("en")} positions, ${orderCount.toLocaleString("en")} orders) | ${fmt(tStore - t0)} |`);
    say(`| revive ${n.toLocaleString("en")} records from the tracker's record file (${(statSync(`${storePath}.records.json`).size / 1e6).toFixed(0)} MB) | ${fmt(tRecords - tStore)} |`);
    say(`| index the orders (OrderKeeper) | ${fmt(tOrders - tRecords)} |`);
    say(`| index the positions and evaluate the first block | ${fmt(tIndex - tOrders)} |`);
    say(`| **total** (goal ≤ 30 s) | **${fmt(tIndex - t0)}** |`);
    say(`| (the running keeper saving the record file, every 1,000 blocks and at stop) | ${fmt(saveMs)} |`);

    // Per block: the index synced with the records, candidates evaluated exactly, the backstop's
    // slice (1 % of the positions), and the trigger index walked with each market's report (due
    // orders checked as the keeper does).
    const perBlock = (prices: bigint[], spread = 1n) => {
      const s = performance.now();
      block++;
      t += 1;
      for (let m = 0; m < indexes.length; m++) indexes[m] = indexes[m]! + 3n * 10n ** 9n; // ~10 %/year
      const e = evaluator.evaluateAt(records, marketStatus(prices, indexes), null, block, t);
      let due = 0;
      let fills = 0;
      for (let m = 0; m < prices.length; m++) {
        const p = prices[m]!;
        const q = { price: p, bid: p - (p * spread) / 10_000n, ask: p + (p * spread) / 10_000n, observedAt: t };
        for (const id of book.index.due(m, q)) {
          const o = store.state.jobs.orders[id]!;
          due++;
          if (o.kind === "TrailingStop") continue;
          const f = { kind: o.kind as OrderKindName, isLong: o.isLong, trigger: BigInt(o.trigger), acceptablePrice: BigInt(o.acceptablePrice), observedAfter: o.observedAfter };
          if (quoteOrderFill(f, q).fills) fills++;
        }
      }
      return { ms: performance.now() - s, liquidatable: e.candidates.length, exact: e.exact, due, fills };
    };
    const walk: ReturnType<typeof perBlock>[] = [];
    let prices = [...BASE];
    for (let i = 0; i < 200; i++) {
      prices = prices.map((p, m) => {
        const next = (p * rng.range(9_990n, 10_010n)) / 10_000n; // +-0.1 % a block
        const b = BASE[m]!;
        return next < (b * 98n) / 100n || next > (b * 102n) / 100n ? p : next;
      });
      walk.push(perBlock(prices));
    }
    const at = (prices: bigint[]) => perBlock(prices);
    const crash = at(BASE.map((p) => (p * 90n) / 100n));
    const back = at(BASE);
    const pump = at(BASE.map((p) => (p * 110n) / 100n));
    at(BASE);
    // The full re-evaluation of every position (what every block cost before the index).
    const full = new Evaluator(client, { indexed: false });
    const fullTimes: number[] = [];
    for (let i = 0; i < 5; i++) fullTimes.push(full.evaluateAt(records, marketStatus(BASE, indexes), null, block, t).mathMs);
    // A market's next keys, computed over blocks once half the headroom is used, then swapped in.
    const idx = evaluator.index!;
    indexes[0] = idx.keyIndex(0)! - idx.headroom / 2n + 1n;
    const spread: number[] = [];
    for (const before = idx.spreadRekeys; idx.spreadRekeys === before; ) spread.push(perBlock(BASE).ms);
    // At once, after a jump of the index past the keys.
    const r0 = performance.now();
    evaluator.index!.rekey(0, indexes[0]!);
    const rekeyMs = performance.now() - r0;
    // A full refresh of the tracker: every record re-read (new objects, same content).
    const refreshed = records.map((v) => ({ ...v, position: { ...v.position } }));
    const f0 = performance.now();
    evaluator.evaluateAt(refreshed, marketStatus(BASE, indexes), null, ++block, ++t);
    const refreshMs = performance.now() - f0;

    const ms = walk.map((w) => w.ms);
    const row = (what: string, r: ReturnType<typeof perBlock>) => say(`| ${what} | ${fmt(r.ms)} | ${r.exact.toLocaleString("en")} | ${r.liquidatable.toLocaleString("en")} | ${r.due.toLocaleString("en")} (${r.fills.toLocaleString("en")} fill) |`);
    say("\n| per block or report (goal ≤ 250 ms) | keeper time | positions evaluated exactly (+ 1,000 by the backstop) | liquidatable | orders due |\n|---|---:|---:|---:|---:|");
    const typical = walk.slice(1);
    say(`| typical: 200 blocks of ±0.1 % moves, median / p99 / max | ${fmt(pct(ms, 0.5))} / ${fmt(pct(ms, 0.99))} / ${fmt(Math.max(...ms))} | ${pct(typical.map((w) => w.exact), 0.5).toLocaleString("en")} (median) | ${Math.max(...typical.map((w) => w.liquidatable))} (max) | ${Math.max(...typical.map((w) => w.due))} (max) |`);
    row("large: both markets −10 % in one block", crash);
    row("back to the start price", back);
    row("large: both markets +10 % in one block", pump);
    say(`| without the index: every position evaluated, median of 5 | ${fmt(pct(fullTimes, 0.5))} | ${n.toLocaleString("en")} | – | – |`);
    say(`| a market's next keys computed over ${spread.length} blocks (half its keys' headroom of 0.1 % of notional used), per block: median / max (the swap) | ${fmt(pct(spread, 0.5))} / ${fmt(Math.max(...spread))} | – | – | – |`);
    say(`| a market's keys recomputed at once (only after its index jumps past them), alone | ${fmt(rekeyMs)} | – | – | – |`);
    say(`| the tracker's full refresh: ${n.toLocaleString("en")} new record objects, unchanged (keys kept) | ${fmt(refreshMs)} | – | – | – |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
