// `npm run demo`: the deploy module itself, then the project's public pieces used the way an outside
// user would. An LP funds the pool and three traders open six isolated positions on two markets
// through the SDK (`BulkheadClient`: sizes from leverage, acceptable prices, exact approvals,
// simulation first); ETH falls; the risk table comes from the SDK's batched reads and local health
// math; the keeper library (tracker, evaluator, executor) finds the one underwater position and
// liquidates it with `liquidateMany`; a before/after table, read straight from the chain, shows
// every other vault untouched and where the liquidated collateral went.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { BrowserProvider, HDNodeWallet, parseEther, parseUnits } from "ethers";
import { BulkheadClient, ConstantsLib, parseDeployment, type PositionLiquidatedEvent } from "@bulkhead/sdk";
import { JsonStore, Keeper, Logger, type CycleReport } from "../../keeper/src/index.js";
import { deployBulkhead, parametersPathOf } from "../deploy/deploy.js";
import { loadDeployConfig } from "../deploy/config.js";
import { makeStyle, shortAddress, table, units, visibleWidth, type Style } from "./format.js";

export type DemoOptions = {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  print?: (line: string) => void;
  color?: boolean;
};

/** What the keeper library reported: its cycles' verdicts and its own log events. */
export type KeeperSummary = {
  address: string;
  /** Positions it tracked and found liquidatable in its first cycle. */
  tracked: number;
  found: bigint[];
  /** Hashes of the liquidateMany transactions it sent (its `liquidation.sent` log). */
  sent: string[];
  /** Ids it reports liquidated (its `liquidation.mined` log). */
  mined: bigint[];
  /** Every event name it logged, in order. */
  events: string[];
};

export type DemoSummary = {
  positions: bigint[];
  /** Liquidatable by the SDK's local health (step 5). */
  healthLiquidatable: bigint[];
  /** Liquidatable by the chain's own verdict, the lens' previewLiquidations. */
  previewedLiquidatable: bigint[];
  /** From the PositionLiquidated events of the keeper's transactions. */
  liquidated: bigint[];
  keeper: KeeperSummary;
  untouchedVaults: number;
  changedOtherVaults: bigint[];
  conserved: boolean;
  ok: boolean;
};

type TraderName = "alice" | "bob" | "carol";
type Trade = { trader: TraderName; market: string; long: boolean; collateral: string; leverage: bigint };

/** Six positions: different traders, sides and leverage on two markets. */
const TRADES: Trade[] = [
  { trader: "alice", market: "ETH/USD", long: true, collateral: "2000", leverage: 10n },
  { trader: "bob", market: "ETH/USD", long: false, collateral: "3000", leverage: 5n },
  { trader: "carol", market: "ETH/USD", long: true, collateral: "5000", leverage: 3n },
  { trader: "alice", market: "BTC/USD", long: false, collateral: "1500", leverage: 8n },
  { trader: "bob", market: "BTC/USD", long: true, collateral: "1000", leverage: 20n },
  { trader: "carol", market: "BTC/USD", long: true, collateral: "4000", leverage: 2n },
];
const CRASH = { market: "ETH/USD", to: "2720" };
const LP_DEPOSIT = "1000000";
const TRADER_FUNDS = "50000";
/** The traders accept 1 % of price movement between quote and execution. */
const SLIPPAGE_BPS = 100;
/**
 * The keeper signs its own transactions, as the CLI does with KEEPER_PRIVATE_KEY. Here: Hardhat's
 * public development mnemonic, account #5 (funded on the in-process network and by `npm run node`).
 */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const KEEPER_KEY_PATH = "m/44'/60'/0'/0/5";
/** Keeper cycles to wait for its transaction to be mined (a node may mine a moment later). */
const MAX_KEEPER_CYCLES = 20;

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const { hre, connection } = opts;
  const print = opts.print ?? ((l: string) => console.log(l));
  const s = makeStyle(opts.color ?? false);
  const ethers = connection.ethers;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const step = stepper(print, s);

  print("");
  print(`${s.bold("Bulkhead")} ${s.dim("·")} isolated-margin demo ${s.dim(`· network ${connection.networkName} (chain ${chainId})`)}`);

  // 1. Deploy through the same code as `npm run deploy`.
  step("Deploy", "the Ignition module of `npm run deploy`, parameters from ignition/parameters/localhost.json");
  const t0 = performance.now();
  const parametersPath = parametersPathOf("localhost");
  const config = await loadDeployConfig(parametersPath);
  const record = await deployBulkhead({ hre, connection, config, parametersPath });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  print(`   ${s.dim("engine")} ${record.engine}  ${s.dim("pool")} ${record.pool}  ${s.dim("lens")} ${record.lens}  ${s.dim(`(${secs} s)`)}`);
  print(`   ${s.dim("token ")} ${record.token}  ${record.tokenSymbol}, ${record.tokenDecimals} decimals, open faucet`);
  for (const m of record.markets) {
    print(`   ${s.dim(`market #${m.id}`)} ${s.bold(m.symbol.padEnd(8))} feed ${shortAddress(m.feed)} (${m.feedDecimals} dp, heartbeat ${m.heartbeat / 60} min)  max ${units(BigInt(m.params.maxLeverage), 18, 0)}×  mmr ${units(BigInt(m.risk.mmr), 16, 1)} %`);
  }

  // Everyone reaches the chain as a dapp would: an ethers BrowserProvider over the node's EIP-1193
  // provider, the SDK given the deployment record (a local chain has none compiled in).
  const deployment = parseDeployment(record);
  const provider = new BrowserProvider(connection.provider, chainId, { staticNetwork: true, cacheTimeout: -1 });
  const connect = async (address?: string) =>
    BulkheadClient.connect(address ? await provider.getSigner(address) : provider, { addresses: deployment });
  const reader = await connect();

  // The local stand-ins (faucet token, mock feeds) and the audit of step 7 use plain contract reads.
  const engine = await ethers.getContractAt("Bulkhead", record.engine);
  const pool = await ethers.getContractAt("BulkheadPool", record.pool);
  const token = await ethers.getContractAt("MockStablecoin", record.token);
  const dec = reader.token.decimals;
  const usd = (x: string) => parseUnits(x, dec);
  const money = (x: bigint, sign = false) => units(x, dec, 2, { sign });
  const price = (x: bigint) => units(x, 18, 2);
  const [deployer, lp, alice, bob, carol] = await ethers.getSigners();
  const traders: Record<TraderName, string> = { alice: alice.address, bob: bob.address, carol: carol.address };
  const nameOf = new Map<string, string>(Object.entries(traders).map(([name, address]) => [address, name]));
  const marketOf = (symbol: string) => {
    const m = record.markets.find((x) => x.symbol === symbol);
    if (!m) throw new Error(`the deployment has no ${symbol} market`);
    return m;
  };
  const symbolOf = (id: number) => reader.markets.find((m) => m.id === id)?.symbol ?? `market ${id}`;
  const feedOf = async (symbol: string) => ethers.getContractAt("MockV3Aggregator", marketOf(symbol).feed);
  // A rerun against a long-lived node starts from the configured prices again, freshly posted.
  for (const m of config.markets) if (m.feed.kind === "mock") await (await (await feedOf(m.symbol)).connect(deployer).updateAnswer(m.feed.answer)).wait();

  // 2. Liquidity.
  step("Liquidity", "an LP deposits into the ERC-4626 pool, the counterparty of every trade (client.deposit)");
  const deposit = usd(LP_DEPOSIT);
  await (await token.faucet(lp.address, deposit)).wait();
  const { shares } = await (await connect(lp.address)).deposit({ assets: deposit });
  print(`   lp ${s.dim(shortAddress(lp.address))} deposits ${s.bold(money(deposit))} ${record.tokenSymbol} → ${units(shares, Number(await pool.decimals()), 2)} ${await pool.symbol()}`);

  // 3. Positions.
  step("Trades", `three traders open six positions with client.open (size from leverage, ${SLIPPAGE_BPS / 100} % slippage); each one's collateral goes into its own vault`);
  const clients = new Map<TraderName, BulkheadClient>();
  for (const [name, address] of Object.entries(traders) as [TraderName, string][]) {
    await (await token.faucet(address, usd(TRADER_FUNDS))).wait();
    clients.set(name, await connect(address));
  }
  const rows: string[][] = [];
  for (const t of TRADES) {
    const side = t.long ? "long" : "short";
    const request = { market: marketOf(t.market).id, side, collateral: usd(t.collateral), leverage: t.leverage * ConstantsLib.WAD, slippageBps: SLIPPAGE_BPS } as const;
    const opened = await clients.get(t.trader)!.open(request).catch((e: unknown) => {
      // The SDK's errors read like "needs 12.5 USDC more collateral: equity 40.1, required 52.6".
      throw new Error(`${t.trader}'s ${t.leverage}× ${t.market} ${side} was refused: ${(e as Error).message}`, { cause: e });
    });
    const e = opened.event;
    rows.push([
      s.bold(`#${e.id}`),
      t.trader,
      t.market,
      sideText(e.isLong, s),
      `${t.leverage}×`,
      money(e.collateral),
      money(e.openFee),
      units(e.size, 18, 4),
      price(e.price),
      price(opened.quote.liquidationPrice),
      s.dim(shortAddress(opened.vault)),
    ]);
  }
  table(
    [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "lev", align: "right" }, { header: "collateral", align: "right" }, { header: "fee", align: "right" }, { header: "size", align: "right" }, { header: "entry", align: "right" }, { header: "liq. price", align: "right" }, { header: "vault" }],
    rows,
    s,
  ).forEach((l) => print(l));

  // Every open position takes part from here on (a rerun on a node keeps the earlier ones).
  const all = await reader.getOpenPositionIds();

  // The keeper account: its balance is part of the audit, so it exists before the first snapshot.
  const keeperWallet = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, KEEPER_KEY_PATH).connect(provider);
  if ((await provider.getBalance(keeperWallet.address)) < parseEther("0.1")) {
    await (await deployer.sendTransaction({ to: keeperWallet.address, value: parseEther("1") })).wait();
  }
  // Vault addresses never change: read once from the engine, then each snapshot reads balances only.
  const vaultOf = new Map<bigint, string>();
  for (const id of all) vaultOf.set(id, await engine.vaultOf(id));
  const before = await snapshot();

  // 4. The crash.
  const crash = marketOf(CRASH.market);
  const from = await reader.getPrice(crash.id);
  await (await (await feedOf(CRASH.market)).connect(deployer).updateAnswer(parseUnits(CRASH.to, crash.feedDecimals))).wait();
  const to = await reader.getPrice(crash.id);
  step(`${CRASH.market.split("/")[0]} falls`, `the Chainlink feed posts ${price(to)}`);
  print(`   ${CRASH.market} ${price(from)} → ${s.bold(s.red(price(to)))}  ${s.red(`(${units(((to - from) * 10_000n) / from, 2, 2, { sign: true })} %)`)}`);

  // 5. Risk table from one batched SDK read; health computed locally with the SDK's math.
  step("Risk", "client.getPositions(ids): one batched read, health computed locally with the SDK's mirror of the engine's math");
  const views = (await reader.getPositions(all)).map((v, i) => {
    if (!v?.health) throw new Error(`position #${all[i]} has no health: its market's feed is invalid`);
    return { ...v, health: v.health };
  });
  const riskRows: string[][] = [];
  for (const v of views) {
    const h = v.health;
    const healthRatio = h.healthFactor === null ? "∞" : h.equity <= 0n ? "0.00" : units(h.healthFactor, 18, 2);
    const status = h.liquidatable
      ? s.bold(s.red("✗ liquidatable"))
      : h.healthFactor !== null && h.healthFactor < (3n * ConstantsLib.WAD) / 2n
        ? s.yellow("! at risk")
        : s.green("✓ healthy");
    riskRows.push([
      s.bold(`#${v.id}`),
      nameOf.get(v.owner) ?? shortAddress(v.owner),
      symbolOf(v.position.marketId),
      sideText(v.position.isLong, s),
      price(h.price),
      money(h.pnl, true),
      money(h.equity),
      money(h.maintenance),
      price(h.liquidationPrice),
      units(h.distanceToLiquidation, 16, 2, { sign: true }) + " %",
      h.liquidatable ? s.red(healthRatio) : healthRatio,
      status,
    ]);
  }
  table(
    [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "price", align: "right" }, { header: "pnl", align: "right" }, { header: "equity", align: "right" }, { header: "maintenance", align: "right" }, { header: "liq. price", align: "right" }, { header: "to liq.", align: "right" }, { header: "health", align: "right" }, { header: "" }],
    riskRows,
    s,
  ).forEach((l) => print(l));
  print(s.dim("   health = equity / maintenance; liquidatable below 1.00. to liq. = how far the price may still move against the position."));
  // The chain's own verdict, to hold the SDK's local math (and the keeper's, below) against.
  const healthLiquidatable = views.filter((v) => v.health.liquidatable).map((v) => v.id);
  const previewList = await reader.previewLiquidations(all);
  const previews = new Map(all.map((id, i) => [id, previewList[i]!]));
  const previewedLiquidatable = all.filter((id) => previews.get(id)!.liquidatable);
  const agrees = sameIds(healthLiquidatable, previewedLiquidatable);
  print(
    `   ${agrees ? s.green("✓") : s.red("✗")} the engine ${agrees ? "agrees" : "DISAGREES"}: lens.previewLiquidations(ids) finds ${idList(previewedLiquidatable)} liquidatable` +
      (agrees ? "" : s.red(` (the SDK's health says ${idList(healthLiquidatable)})`)),
  );

  // 6. The keeper library, assembled as its CLI does, one cycle at a time.
  step("Keeper", "the keeper library: Keeper.cycle() syncs positions from the engine's events, evaluates them with the SDK's math, sends liquidateMany");
  const keeperLog: ({ event: string } & Record<string, unknown>)[] = [];
  const logger = new Logger({ format: "json", level: "info", sink: (line) => keeperLog.push(JSON.parse(line) as never) });
  const keeper = new Keeper(reader, keeperWallet, keeperWallet.address, JsonStore.open(null, deployment), { confirmations: 0, logger });
  await keeper.init();
  print(`   keeper ${s.dim(shortAddress(keeperWallet.address))} ${s.dim(`· its own key, a read-only BulkheadClient, an in-memory store, positions from block ${deployment.startBlock} on`)}`);
  const reports: CycleReport[] = [];
  const sentIds = new Map<string, bigint[]>();
  while (reports.length < MAX_KEEPER_CYCLES && (reports.length === 0 || keeper.executor.pendingCount > 0)) {
    if (reports.length > 0) await new Promise((r) => setTimeout(r, 100 * (reports.length - 1)));
    const seen = keeperLog.length;
    const r = await keeper.cycle();
    reports.push(r);
    const at = `${s.cyan(`cycle ${reports.length}`)} ${s.dim(`· block ${r.block}`)}`;
    let label = at;
    const line = (text: string) => {
      print(`   ${label}  ${text}`);
      label = " ".repeat(visibleWidth(at));
    };
    if (reports.length === 1) {
      const found = r.evaluation.candidates.map((c) => c.id);
      const prices = r.evaluation.markets.map((m) => `${m.symbol} ${m.price === null ? "invalid" : price(m.price)}`).join(", ");
      line(`tracks ${r.tracked} positions, ${s.bold(String(r.candidates))} liquidatable: ${found.map((id) => s.red(`#${id}`)).join(", ") || "none"}  ${s.dim(`(at ${prices})`)}`);
    }
    for (const l of keeperLog.slice(seen)) {
      const hash = String(l.hash);
      if (l.event === "liquidation.sent") {
        const ids = (l.ids as string[]).map(BigInt);
        sentIds.set(hash, ids);
        line(`sends liquidateMany([${ids.join(", ")}])  ${s.dim(`tx ${shortAddress(hash)}; simulated first: ${l.expected} liquidated, reward ${money(BigInt(String(l.reward)))}`)}`);
      } else if (l.event === "liquidation.mined") {
        const ids = (l.ids as string[]).map(BigInt);
        const batch = sentIds.get(hash) ?? ids;
        line(`liquidateMany([${batch.join(", ")}]) → ${s.bold(String(l.liquidated))} liquidated ${ids.map((id) => s.red(`#${id}`)).join(", ")}  ${s.dim(`tx ${shortAddress(hash)}, gas ${l.gasUsed}, reward ${money(BigInt(String(l.reward)))} ${record.tokenSymbol}`)}`);
      } else if (l.event !== "cycle") {
        const fields = Object.entries(l).filter(([k]) => !["time", "level", "event"].includes(k));
        line(s.yellow(`${l.event} ${fields.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ")}`));
      }
    }
  }
  const sentHashes = keeperLog.filter((l) => l.event === "liquidation.sent").map((l) => String(l.hash));
  const minedIds = keeperLog.filter((l) => l.event === "liquidation.mined").flatMap((l) => (l.ids as string[]).map(BigInt));
  const keeperSummary: KeeperSummary = {
    address: keeperWallet.address,
    tracked: reports[0]!.tracked,
    found: reports[0]!.evaluation.candidates.map((c) => c.id),
    sent: sentHashes,
    mined: minedIds,
    events: keeperLog.map((l) => l.event),
  };
  if (keeper.executor.pendingCount > 0) print(s.red(`   ✗ the keeper's transaction was not mined after ${reports.length} cycles`));

  // The audit reads the chain directly: the PositionLiquidated events of the keeper's transactions.
  const events = new Map<bigint, PositionLiquidatedEvent>();
  for (const hash of sentHashes) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (!receipt) continue;
    for (const e of await reader.getPositionEvents({ fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber, types: ["PositionLiquidated"] })) {
      if (e.type === "PositionLiquidated" && e.transactionHash === hash) events.set(e.id, e);
    }
  }
  const liquidated = [...events.keys()];

  // 7. Before and after.
  const after = await snapshot();
  step("Isolation", "every vault's token balance before and after the liquidation, read from the token");
  const vaultRows: string[][] = [];
  const changedOtherVaults: bigint[] = [];
  let untouched = 0;
  for (const id of all) {
    const b = before.vaults.get(id)!;
    const a = after.vaults.get(id)!;
    const wasLiquidated = liquidated.includes(id);
    if (!wasLiquidated) {
      if (a === b) untouched++;
      else changedOtherVaults.push(id);
    }
    const v = views.find((x) => x.id === id)!;
    vaultRows.push([
      s.bold(`#${id}`),
      nameOf.get(v.owner) ?? shortAddress(v.owner),
      symbolOf(v.position.marketId),
      sideText(v.position.isLong, s),
      money(b),
      money(a),
      a === b ? s.dim("0.00") : s.red(money(a - b, true)),
      wasLiquidated ? s.red("liquidated") : a === b ? s.green("✓ unchanged") : s.bold(s.red("✗ CHANGED")),
    ]);
  }
  table(
    [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "before", align: "right" }, { header: "after", align: "right" }, { header: "Δ", align: "right" }, { header: "" }],
    vaultRows,
    s,
  ).forEach((l) => print(l));

  // Where the liquidated collateral went: the keeper, the LPs, the insurance fund (and fees).
  let conserved = true;
  for (const id of liquidated) {
    const out = before.vaults.get(id)! - after.vaults.get(id)!;
    const flows: [string, bigint, string][] = [
      ["keeper reward", after.keeper - before.keeper, "keeper's wallet"],
      ["pool (LP assets)", after.lpAssets - before.lpAssets, "the loss and borrow fee, owed to LPs"],
      ["insurance fund", after.insurance - before.insurance, "what was left in the vault"],
    ];
    if (after.protocolFees !== before.protocolFees) flows.push(["protocol fees", after.protocolFees - before.protocolFees, ""]);
    const sum = flows.reduce((acc, [, x]) => acc + x, 0n);
    const poolDelta = after.poolBalance - before.poolBalance;
    const ok = sum === out && poolDelta + (after.keeper - before.keeper) === out;
    conserved &&= ok;
    print("");
    print(`   ${s.bold(`Vault #${id}`)} held ${s.bold(money(out))} ${record.tokenSymbol}; it went to:`);
    table(
      [{ header: "destination" }, { header: record.tokenSymbol, align: "right" }, { header: "" }],
      [
        ...flows.map(([what, x, why]) => [what, money(x, true), s.dim(why)]),
        [s.bold("total"), s.bold(money(sum, true)), ok ? s.green(`= ${money(out)} out of the vault ✓`) : s.red(`≠ ${money(out)} out of the vault ✗`)],
      ],
      s,
    ).forEach((l) => print(l));
    const e = events.get(id)!;
    const matches = e.keeperReward === after.keeper - before.keeper && e.toInsurance - e.fromInsurance === after.insurance - before.insurance;
    print(s.dim(`   PositionLiquidated: reward ${money(e.keeperReward)}, to insurance ${money(e.toInsurance)}, bad debt ${money(e.badDebt)} — ${matches ? "equal to the balance changes" : "NOT equal to the balance changes"}`));
    const p = previews.get(id);
    if (p) print(s.dim(`   previewLiquidations before the keeper ran: reward ${money(p.keeperReward)}, to insurance ${money(p.toInsurance)} (borrow fees accrue by the second)`));
    conserved &&= matches;
  }

  const ok =
    liquidated.length === 1 &&
    agrees &&
    sameIds(previewedLiquidatable, liquidated) &&
    sameIds(keeperSummary.found, liquidated) &&
    sameIds(keeperSummary.mined, liquidated) &&
    changedOtherVaults.length === 0 &&
    untouched === all.length - 1 &&
    conserved;
  print("");
  if (ok) {
    print(s.green(s.bold(`✓ exactly one of ${all.length} positions was liquidated (#${liquidated[0]}); the other ${untouched} vaults did not move by a single unit.`)));
  } else {
    print(
      s.red(
        s.bold(
          `✗ expected exactly one liquidation and untouched vaults: liquidated [${liquidated.join(", ")}], previewed [${previewedLiquidatable.join(", ")}], ` +
            `keeper found [${keeperSummary.found.join(", ")}], changed vaults [${changedOtherVaults.join(", ")}], conservation ${conserved}`,
        ),
      ),
    );
  }
  print("");
  return { positions: all, healthLiquidatable, previewedLiquidatable, liquidated, keeper: keeperSummary, untouchedVaults: untouched, changedOtherVaults, conserved, ok };

  async function snapshot() {
    const vaults = new Map<bigint, bigint>();
    for (const id of all) vaults.set(id, await token.balanceOf(vaultOf.get(id)!));
    const l = await engine.ledger();
    return {
      vaults,
      keeper: await token.balanceOf(keeperWallet.address),
      lpAssets: l.lpAssets,
      insurance: l.insuranceFund,
      protocolFees: l.protocolFees,
      poolBalance: await token.balanceOf(record.pool),
    };
  }
}

function sideText(long: boolean, s: Style) {
  return long ? s.green("long ") : s.magenta("short");
}

/** The same set of ids, in any order. */
const sameIds = (a: readonly bigint[], b: readonly bigint[]) => a.length === b.length && a.every((x) => b.includes(x));
const idList = (ids: readonly bigint[]) => (ids.length === 0 ? "none" : ids.map((id) => `#${id}`).join(", "));

function stepper(print: (l: string) => void, s: Style) {
  let n = 0;
  return (title: string, what: string) => {
    n++;
    print("");
    print(`${s.cyan(s.bold(`${n}.`))} ${s.bold(title)}  ${s.dim(what)}`);
  };
}
