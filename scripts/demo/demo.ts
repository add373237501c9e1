// `npm run demo`: the deploy module itself, then plain ethers. An LP funds the pool, three traders
// open six isolated positions on two markets, ETH falls, the risk table shows which position is
// underwater, a keeper liquidates exactly that one, and a before/after table shows every other
// vault untouched and where the liquidated collateral went.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { parseUnits } from "ethers";
import { deployBulkhead, parametersPathOf } from "../deploy/deploy.js";
import { loadDeployConfig } from "../deploy/config.js";
import { makeStyle, ratio, shortAddress, table, units, type Style } from "./format.js";

export type DemoOptions = {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  print?: (line: string) => void;
  color?: boolean;
};

export type DemoSummary = {
  positions: bigint[];
  previewedLiquidatable: bigint[];
  liquidated: bigint[];
  untouchedVaults: number;
  changedOtherVaults: bigint[];
  conserved: boolean;
  ok: boolean;
};

type Trade = { trader: "alice" | "bob" | "carol"; market: string; long: boolean; collateral: string; leverage: bigint };

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

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const { hre, connection } = opts;
  const print = opts.print ?? ((l: string) => console.log(l));
  const s = makeStyle(opts.color ?? false);
  const ethers = connection.ethers;
  const chainId = (await ethers.provider.getNetwork()).chainId;
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

  const engine = await ethers.getContractAt("Bulkhead", record.engine);
  const pool = await ethers.getContractAt("BulkheadPool", record.pool);
  const lens = await ethers.getContractAt("BulkheadLens", record.lens);
  const token = await ethers.getContractAt("MockStablecoin", record.token);
  const dec = record.tokenDecimals;
  const usd = (x: string) => parseUnits(x, dec);
  const money = (x: bigint, sign = false) => units(x, dec, 2, { sign });
  const price = (x: bigint) => units(x, 18, 2);
  const [deployer, lp, alice, bob, carol, keeper] = await ethers.getSigners();
  const traders: Record<Trade["trader"], HardhatEthersSigner> = { alice, bob, carol };
  const nameOf = new Map<string, string>([
    [alice.address, "alice"],
    [bob.address, "bob"],
    [carol.address, "carol"],
  ]);
  const marketOf = (symbol: string) => {
    const m = record.markets.find((x) => x.symbol === symbol);
    if (!m) throw new Error(`the deployment has no ${symbol} market`);
    return m;
  };
  const feedOf = async (symbol: string) => ethers.getContractAt("MockV3Aggregator", marketOf(symbol).feed);
  // A rerun against a long-lived node starts from the configured prices again, freshly posted.
  for (const m of config.markets) if (m.feed.kind === "mock") await (await (await feedOf(m.symbol)).connect(deployer).updateAnswer(m.feed.answer)).wait();

  // 2. Liquidity.
  step("Liquidity", "an LP deposits into the ERC-4626 pool, the counterparty of every trade");
  const deposit = usd(LP_DEPOSIT);
  await (await token.faucet(lp.address, deposit)).wait();
  await (await token.connect(lp).approve(record.pool, deposit)).wait();
  const sharesBefore = await pool.balanceOf(lp.address);
  await (await pool.connect(lp).deposit(deposit, lp.address)).wait();
  const shares = (await pool.balanceOf(lp.address)) - sharesBefore;
  print(`   lp ${s.dim(shortAddress(lp.address))} deposits ${s.bold(money(deposit))} ${record.tokenSymbol} → ${units(shares, Number(await pool.decimals()), 2)} ${await pool.symbol()}`);

  // 3. Positions.
  step("Trades", "three traders open six positions; each one's collateral goes into its own vault");
  for (const t of Object.values(traders)) {
    await (await token.faucet(t.address, usd(TRADER_FUNDS))).wait();
    await (await token.connect(t).approve(record.engine, ethers.MaxUint256)).wait();
  }
  const unit = await engine.unit();
  const mine: bigint[] = [];
  const rows: string[][] = [];
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
  for (const t of TRADES) {
    const m = marketOf(t.market);
    const px = await engine.price(m.id);
    const collateral = usd(t.collateral);
    const size = (collateral * t.leverage * unit) / px;
    const acceptable = t.long ? (px * 101n) / 100n : (px * 99n) / 100n;
    const id = await engine.nextPositionId();
    await (await engine.connect(traders[t.trader]).open(m.id, t.long, collateral, size, acceptable, deadline)).wait();
    mine.push(id);
    const p = await engine.position(id);
    rows.push([
      s.bold(`#${id}`),
      t.trader,
      t.market,
      side(t.long, s),
      `${t.leverage}×`,
      money(p.collateral),
      units(p.size, 18, 4),
      price(p.entryPrice),
      s.dim(shortAddress(await engine.vaultOf(id))),
    ]);
  }
  table(
    [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "lev", align: "right" }, { header: "collateral", align: "right" }, { header: "size", align: "right" }, { header: "entry", align: "right" }, { header: "vault" }],
    rows,
    s,
  ).forEach((l) => print(l));

  // Every open position takes part from here on (a rerun on a node keeps the earlier ones).
  const all: bigint[] = [];
  for (let id = 1n; id < (await engine.nextPositionId()); id++) if ((await engine.position(id)).size > 0n) all.push(id);
  const before = await snapshot();

  // 4. The crash.
  const crash = marketOf(CRASH.market);
  const feed = await feedOf(CRASH.market);
  const from = await engine.price(crash.id);
  const toAnswer = parseUnits(CRASH.to, crash.feedDecimals);
  await (await feed.connect(deployer).updateAnswer(toAnswer)).wait();
  const to = await engine.price(crash.id);
  step(`${CRASH.market.split("/")[0]} falls`, `the Chainlink feed posts ${price(to)}`);
  print(`   ${CRASH.market} ${price(from)} → ${s.bold(s.red(price(to)))}  ${s.red(`(${units(((to - from) * 10_000n) / from, 2, 2, { sign: true })} %)`)}`);

  // 5. Risk table from the lens (the engine's own health code).
  step("Risk", "lens.positions(ids) and lens.liquidationPrice(id): equity against maintenance at the new prices");
  const views = await lens.positions(all);
  const riskRows: string[][] = [];
  for (const v of views) {
    const h = v.health;
    const liqPx = await lens.liquidationPrice(v.id);
    const long = v.position.isLong;
    const distance = h.price === 0n ? 0n : ((long ? h.price - liqPx : liqPx - h.price) * 10_000n) / h.price;
    const healthRatio = h.maintenance === 0n ? "∞" : h.equity <= 0n ? "0.00" : ratio(BigInt(h.equity), h.maintenance);
    const status = h.liquidatable
      ? s.bold(s.red("✗ liquidatable"))
      : BigInt(h.equity) * 2n < h.maintenance * 3n
        ? s.yellow("! at risk")
        : s.green("✓ healthy");
    riskRows.push([
      s.bold(`#${v.id}`),
      nameOf.get(v.owner) ?? shortAddress(v.owner),
      record.markets[Number(v.position.marketId)].symbol,
      side(long, s),
      price(h.price),
      money(h.pnl, true),
      money(h.equity),
      money(h.maintenance),
      price(liqPx),
      units(distance, 2, 2, { sign: true }) + " %",
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

  // 6. The keeper: previews, then one liquidateMany over every id.
  step("Keeper", "previewLiquidation for every position, then liquidateMany(ids) — it skips the healthy ones");
  const previewedLiquidatable: bigint[] = [];
  for (const id of all) if ((await engine.previewLiquidation(id)).liquidatable) previewedLiquidatable.push(id);
  const previews = new Map<bigint, Awaited<ReturnType<typeof engine.previewLiquidation>>>();
  for (const id of previewedLiquidatable) previews.set(id, await engine.previewLiquidation(id));
  print(`   scans ${all.length} positions; the contract says ${s.bold(String(previewedLiquidatable.length))} liquidatable: ${previewedLiquidatable.map((id) => `#${id}`).join(", ") || "none"}`);
  const receipt = await (await engine.connect(keeper).liquidateMany(all)).wait();
  const liquidated: bigint[] = [];
  const events = new Map<bigint, { keeperReward: bigint; toInsurance: bigint; fromInsurance: bigint; fromPool: bigint; badDebt: bigint }>();
  for (const log of receipt!.logs) {
    if (log.address !== record.engine) continue; // token transfers share the ERC-721 Transfer topic
    const parsed = engine.interface.parseLog(log);
    if (parsed?.name !== "PositionLiquidated") continue;
    liquidated.push(parsed.args.id as bigint);
    events.set(parsed.args.id as bigint, parsed.args.toObject() as never);
  }
  print(`   keeper ${s.dim(shortAddress(keeper.address))} liquidateMany([${all.join(", ")}]) → ${s.bold(String(liquidated.length))} liquidated ${liquidated.map((id) => s.red(`#${id}`)).join(", ")}  ${s.dim(`tx ${shortAddress(receipt!.hash)}, gas ${receipt!.gasUsed}`)}`);

  // 7. Before and after.
  const after = await snapshot();
  step("Isolation", "every vault's token balance before and after the liquidation");
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
      record.markets[Number(v.position.marketId)].symbol,
      side(v.position.isLong, s),
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
    const p = previews.get(id);
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
    if (p) print(s.dim(`   previewLiquidation one block earlier: reward ${money(p.keeperReward)}, to insurance ${money(p.toInsurance)} (borrow fees accrue by the second)`));
    conserved &&= matches;
  }

  const ok =
    liquidated.length === 1 &&
    previewedLiquidatable.length === 1 &&
    liquidated[0] === previewedLiquidatable[0] &&
    changedOtherVaults.length === 0 &&
    untouched === all.length - 1 &&
    conserved;
  print("");
  if (ok) {
    print(s.green(s.bold(`✓ exactly one of ${all.length} positions was liquidated (#${liquidated[0]}); the other ${untouched} vaults did not move by a single unit.`)));
  } else {
    print(s.red(s.bold(`✗ expected exactly one liquidation and untouched vaults: liquidated [${liquidated.join(", ")}], previewed [${previewedLiquidatable.join(", ")}], changed vaults [${changedOtherVaults.join(", ")}], conservation ${conserved}`)));
  }
  print("");
  return { positions: all, previewedLiquidatable, liquidated, untouchedVaults: untouched, changedOtherVaults, conserved, ok };

  async function snapshot() {
    const vaults = new Map<bigint, bigint>();
    for (const id of all) vaults.set(id, await token.balanceOf(await engine.vaultOf(id)));
    const l = await engine.ledger();
    return {
      vaults,
      keeper: await token.balanceOf(keeper.address),
      lpAssets: l.lpAssets,
      insurance: l.insuranceFund,
      protocolFees: l.protocolFees,
      poolBalance: await token.balanceOf(record.pool),
    };
  }
}

function side(long: boolean, s: Style) {
  return long ? s.green("long ") : s.magenta("short");
}

function stepper(print: (l: string) => void, s: Style) {
  let n = 0;
  return (title: string, what: string) => {
    n++;
    print("");
    print(`${s.cyan(s.bold(`${n}.`))} ${s.bold(title)}  ${s.dim(what)}`);
  };
}
