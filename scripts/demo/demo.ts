// `npm run demo`: the deploy module itself, then the project's public pieces used the way outside
// users would, on a deployment with two-step settlement (ignition/parameters/localhost-requests.json:
// router, oracle, Chainlink's Verifier with the local oracle set, order book). The local report
// service plays Chainlink's Data Streams API; an executor account with no special rights fetches
// reports from it through Chainlink's official client and executes through the SDK. An LP deposits
// through an ERC-7540 request; traders open eight positions through router requests, each filled at
// the report its creation pinned (an earlier report is refused); a latency arbitrage across a
// visible push-feed update earns nothing; stop-loss, take-profit, trailing-stop orders and a top-up
// guard are set; ETH falls in steps, the executor fills what each report makes due; the keeper
// library liquidates the one unguarded position left underwater; a before/after table, read
// straight from the chain, shows every other vault untouched and where the liquidated collateral went.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { BrowserProvider, HDNodeWallet, parseEther, parseUnits } from "ethers";
import { createClient } from "@chainlink/data-streams-sdk";
import {
  BulkheadClient,
  ConstantsLib,
  parseDeployment,
  reportQuoteOf,
  sizeForLeverage,
  type PositionLiquidatedEvent,
  type RequestExecutedEvent,
} from "@bulkhead/sdk";
import { JsonStore, Keeper, Logger, type CycleReport } from "../../keeper/src/index.js";
import { deployBulkhead, parametersPathOf } from "../deploy/deploy.js";
import { loadDeployConfig } from "../deploy/config.js";
import { LocalOracleSet } from "../streams/oracleSet.js";
import { PushFeedPriceSource } from "../streams/priceSources.js";
import { ReportService } from "../streams/reportService.js";
import { DemoExecutor, type Execution } from "./executor.js";
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
  /** The positions this run opened through requests, in order (the arbitrage's is in `arbitrage`). */
  positions: bigint[];
  /** Shares the LP claimed from its executed deposit request. */
  lpShares: bigint;
  /** The fill the executor tried with a report observed before the pinned second: the SDK's error. */
  earlyReport: { requestId: bigint; observedAt: number; settlesAt: number; error: string; message: string } | null;
  /** Every open filled at the report of its pinned second (fill = ask for a long, bid for a short). */
  filledAtPinnedReport: boolean;
  /** The round trip across a visible push update: token PnL (fees included) and the position it opened. */
  arbitrage: { positionId: bigint; pnl: bigint };
  /** Closed by their stop-loss, take-profit, trailing stop. */
  stopped: bigint[];
  tookProfit: bigint[];
  trailed: bigint[];
  /** The guarded position: its top-ups, and whether it is still open and not liquidatable at the bottom. */
  guarded: { id: bigint; topUps: number; survived: boolean };
  /** Liquidatable by the SDK's local health after the crash. */
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

type TraderName = "alice" | "bob" | "carol" | "dave" | "erin";
type Plan = "stop-loss" | "top-up guard" | "none" | "take-profit" | "trailing stop";
type Trade = { trader: TraderName; market: string; long: boolean; amount: string; leverage: bigint; plan?: Plan };

/**
 * Eight positions. Alice, Bob and Carol open the same 20× ETH long: Alice sets a stop-loss, Bob a
 * top-up guard, Carol nothing. Dave's ETH short has a take-profit, Erin's ETH long a trailing stop;
 * the last three have no orders and must not move by a unit.
 */
const TRADES: Trade[] = [
  { trader: "alice", market: "ETH/USD", long: true, amount: "2000", leverage: 20n, plan: "stop-loss" },
  { trader: "bob", market: "ETH/USD", long: true, amount: "2000", leverage: 20n, plan: "top-up guard" },
  { trader: "carol", market: "ETH/USD", long: true, amount: "2000", leverage: 20n, plan: "none" },
  { trader: "dave", market: "ETH/USD", long: false, amount: "3000", leverage: 5n, plan: "take-profit" },
  { trader: "erin", market: "ETH/USD", long: true, amount: "4000", leverage: 5n, plan: "trailing stop" },
  { trader: "alice", market: "BTC/USD", long: false, amount: "1500", leverage: 8n },
  { trader: "bob", market: "BTC/USD", long: true, amount: "1000", leverage: 10n },
  { trader: "carol", market: "ETH/USD", long: false, amount: "5000", leverage: 3n },
];
const MARKET = "ETH/USD";
/** Order parameters (WAD prices, token amounts as decimal strings). */
const STOP_LOSS = "2950";
const TAKE_PROFIT = "2900";
const TRAIL_BPS = 150n;
const GUARD = { threshold: 2n * ConstantsLib.WAD, amount: "250", executorFee: "1", budget: "1000" };
/** The pending push update the arbitrageur sees: +0.5 %, the feed's usual deviation threshold. */
const UPDATE = "3015";
const ARBITRAGE = { amount: "6400", size: "100" };
/** The crash, one push round per step, none more than 1 % (the oracle's deviation bound). */
const CRASH = ["2990", "2965", "2940", "2915", "2890", "2875", "2860"];
const LP_DEPOSIT = "1000000";
const TRADER_FUNDS = "50000";
/** The traders accept 1 % of price movement between request and fill. */
const SLIPPAGE_BPS = 100;
/**
 * The keeper and the executor sign their own transactions, as a bot does with its own key. Here:
 * Hardhat's public development mnemonic, accounts #5 and #9 (funded on the in-process network and
 * by `npm run node`).
 */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const KEEPER_KEY_PATH = "m/44'/60'/0'/0/5";
const EXECUTOR_KEY_PATH = "m/44'/60'/0'/0/9";
/** Keeper cycles to wait for its transaction to be mined (a node may mine a moment later). */
const MAX_KEEPER_CYCLES = 20;
/** The report service's API key pair; the official client signs every request with it (HMAC). */
const API_CREDENTIALS = { apiKey: "demo-key", userSecret: "demo-secret" };

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const { hre, connection } = opts;
  const print = opts.print ?? ((l: string) => console.log(l));
  const s = makeStyle(opts.color ?? false);
  const ethers = connection.ethers;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const step = stepper(print, s);

  print("");
  print(`${s.bold("Bulkhead")} ${s.dim("·")} isolated-margin demo, two-step settlement and orders ${s.dim(`· network ${connection.networkName} (chain ${chainId})`)}`);

  // 1. Deploy through the same code as `npm run deploy`.
  step("Deploy", "the Ignition module of `npm run deploy`, parameters from ignition/parameters/localhost-requests.json");
  const t0 = performance.now();
  const parametersPath = parametersPathOf("localhost-requests");
  const config = await loadDeployConfig(parametersPath);
  const record = await deployBulkhead({ hre, connection, config, parametersPath });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  print(`   ${s.dim("engine")} ${record.engine}  ${s.dim("pool")} ${record.pool}  ${s.dim("lens")} ${record.lens}  ${s.dim(`(${secs} s)`)}`);
  print(`   ${s.dim("router")} ${record.router}  ${s.dim("order book")} ${record.orderBook}  ${s.dim("oracle")} ${record.oracle}`);
  print(`   ${s.dim("Chainlink Verifier")} ${record.verifier} ${s.dim("behind its VerifierProxy")} ${record.verifierProxy}, ${s.dim("configured with the local oracle set")}`);
  print(`   ${s.dim("token ")} ${record.token}  ${record.tokenSymbol}, ${record.tokenDecimals} decimals, open faucet`);
  for (const m of record.markets) {
    print(`   ${s.dim(`market #${m.id}`)} ${s.bold(m.symbol.padEnd(8))} push feed ${shortAddress(m.feed)}, stream ${shortAddress(m.streamId!)} (reports within ${units(BigInt(m.maxDeviationBps!), 2, 0)} % of the feed)  max ${units(BigInt(m.params.maxLeverage), 18, 0)}×  mmr ${units(BigInt(m.risk.mmr), 16, 1)} %`);
  }
  const timing = record.timing!;
  print(`   ${s.dim(`every trade and LP flow is a request filled at the report of the second ${timing.settlementDelay} s after it; it expires after ${timing.expiry / 60} min`)}`);

  // Everyone reaches the chain as a dapp would: an ethers BrowserProvider over the node's EIP-1193
  // provider, the SDK given the deployment record (a local chain has none compiled in).
  const deployment = parseDeployment(record);
  const provider = new BrowserProvider(connection.provider, chainId, { staticNetwork: true, cacheTimeout: -1 });
  const connect = async (runner?: string | HDNodeWallet) =>
    BulkheadClient.connect(runner === undefined ? provider : typeof runner === "string" ? await provider.getSigner(runner) : runner, { addresses: deployment, slippageBps: SLIPPAGE_BPS });
  const reader = await connect();
  const engine = await ethers.getContractAt("Bulkhead", record.engine);
  const pool = await ethers.getContractAt("BulkheadPool", record.pool);
  const token = await ethers.getContractAt("MockStablecoin", record.token);
  const dec = reader.token.decimals;
  const usd = (x: string) => parseUnits(x, dec);
  const wad = (x: string) => parseUnits(x, 18);
  const money = (x: bigint, sign = false) => units(x, dec, 2, { sign });
  const price = (x: bigint) => units(x, 18, 2);
  /** size (WAD) × price (WAD) in token units. */
  const notional = (size: bigint, px: bigint) => (size * px) / ConstantsLib.WAD / 10n ** BigInt(18 - dec);
  const signers = await ethers.getSigners();
  const [deployer, lp, alice, bob, carol] = signers;
  const [dave, erin, mallory] = [signers[6]!, signers[7]!, signers[8]!];
  const traders: Record<TraderName, string> = { alice: alice.address, bob: bob.address, carol: carol.address, dave: dave.address, erin: erin.address };
  const nameOf = new Map<string, string>([...Object.entries(traders).map(([name, address]) => [address, name] as [string, string]), [mallory.address, "mallory"]]);
  const marketOf = (symbol: string) => {
    const m = record.markets.find((x) => x.symbol === symbol);
    if (!m) throw new Error(`the deployment has no ${symbol} market`);
    return m;
  };
  const symbolOf = (id: number) => reader.markets.find((m) => m.id === id)?.symbol ?? `market ${id}`;
  const feedOf = async (symbol: string) => ethers.getContractAt("MockV3Aggregator", marketOf(symbol).feed);
  const eth = marketOf(MARKET);
  const latest = async () => (await provider.getBlock("latest"))!.timestamp;
  const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);
  /** Lets the chain reach second `t` (a report exists only for a second the chain has lived). */
  const reach = async (t: number) => {
    if ((await latest()) < t) await connection.networkHelpers.time.increaseTo(t);
  };
  const push = async (symbol: string, answer: string) => {
    const m = marketOf(symbol);
    const receipt = (await (await (await feedOf(symbol)).connect(deployer).updateAnswer(parseUnits(answer, m.feedDecimals))).wait())!;
    return (await provider.getBlock(receipt.blockNumber))!.timestamp;
  };
  // A rerun against a long-lived node starts from the configured prices again, freshly posted.
  for (const m of config.markets) if (m.feed.kind === "mock") await (await (await feedOf(m.symbol)).connect(deployer).updateAnswer(m.feed.answer)).wait();

  // 2. The report service and the executor.
  step("Reports", "the local report service plays Chainlink's Data Streams API: v3 reports signed by the local oracle set, priced from the push feeds");
  const service = new ReportService({
    oracles: LocalOracleSet.deterministic(),
    feeds: record.markets.map((m) => ({ feedId: m.streamId!, name: m.symbol, configDigest: m.configDigest! })),
    source: new PushFeedPriceSource(provider, Object.fromEntries(record.markets.map((m) => [m.streamId!, m.feed]))),
    now: latest,
    credentials: API_CREDENTIALS,
  });
  try {
    const url = await service.listen();
    const api = createClient({ ...API_CREDENTIALS, endpoint: url, wsEndpoint: url.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
    const keeperWallet = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, KEEPER_KEY_PATH).connect(provider);
    const executorWallet = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, EXECUTOR_KEY_PATH).connect(provider);
    for (const w of [keeperWallet, executorWallet]) {
      if ((await provider.getBalance(w.address)) < parseEther("0.1")) await (await deployer.sendTransaction({ to: w.address, value: parseEther("1") })).wait();
    }
    const executor = new DemoExecutor(await connect(executorWallet), api, (id) => marketOf(symbolOf(id)).streamId!);
    const feeds = await api.listFeeds();
    print(`   ${s.dim("service")} ${url} ${s.dim(`(loopback only) serves ${feeds.map((f) => f.name).join(", ")}; signers: the 4 local oracle keys, 2 signatures make a report valid`)}`);
    print(`   ${s.dim("executor")} ${shortAddress(executorWallet.address)} ${s.dim("· no special rights: fetches reports with @chainlink/data-streams-sdk, executes through the SDK (simulated first), earns the execution fees")}`);

    // 3. Liquidity through an ERC-7540 request.
    step("Liquidity", "an LP requests a deposit into the asynchronous pool (ERC-7540); the executor fills it at its pinned report; the LP claims the shares");
    const deposit = usd(LP_DEPOSIT);
    await (await token.faucet(lp.address, deposit)).wait();
    const lpClient = await connect(lp.address);
    const lpRequest = await lpClient.requestDeposit({ assets: deposit });
    await reach(lpRequest.settlesAt);
    const lpFill = await executor.executeLpRequest(lpRequest.requestId, lpRequest.settlesAt);
    if (!lpFill.filled) throw new Error(`the pool cancelled the LP's deposit request #${lpRequest.requestId}`);
    const { shares } = await lpClient.claimDeposit();
    const shareDecimals = Number(await pool.decimals());
    print(`   lp ${s.dim(shortAddress(lp.address))} requests ${s.bold(money(deposit))} ${record.tokenSymbol} (request #${lpRequest.requestId}, pinned to ${clock(lpRequest.settlesAt)}) → filled at the reports of ${clock(lpRequest.settlesAt)} → claims ${s.bold(units(shares, shareDecimals, 2))} ${await pool.symbol()}`);
    print(s.dim(`   (the pool values open positions at those reports; none are open yet, so the price cannot move this deposit's shares)`));

    // 4. Positions through router requests.
    step("Trades", `traders request eight opens (client.requestOpen: amount and size escrowed, ${SLIPPAGE_BPS / 100} % slippage); the executor fills each at the report ${timing.settlementDelay} s after it`);
    const clients = new Map<string, BulkheadClient>();
    for (const address of [...Object.values(traders), mallory.address]) {
      await (await token.faucet(address, usd(TRADER_FUNDS))).wait();
      clients.set(address, await connect(address));
    }
    const pushPrice = await reader.getPrice(eth.id);
    const requested: { trade: Trade; requestId: bigint; createdAt: number; settlesAt: number; marketId: number }[] = [];
    for (const t of TRADES) {
      const m = marketOf(t.market);
      const amount = usd(t.amount);
      const size = sizeForLeverage(amount, t.leverage * ConstantsLib.WAD, await reader.getPrice(m.id), reader.unit);
      const r = await clients.get(traders[t.trader])!.requestOpen({ market: m.id, side: t.long ? "long" : "short", amount, size }).catch((e: unknown) => {
        throw new Error(`${t.trader}'s ${t.leverage}× ${t.market} request was refused: ${(e as Error).message}`, { cause: e });
      });
      requested.push({ trade: t, requestId: r.requestId, createdAt: r.event.settlesAt - timing.settlementDelay, settlesAt: r.event.settlesAt, marketId: m.id });
    }
    await reach(Math.max(...requested.map((r) => r.settlesAt)));

    // The executor first tries the first request with the report of the second it was made in.
    const first = requested[0]!;
    let earlyReport: DemoSummary["earlyReport"] = null;
    try {
      await executor.client.executeRequest({ requestId: first.requestId, report: await executor.report(first.marketId, first.createdAt) });
    } catch (e) {
      const err = e as Error;
      earlyReport = { requestId: first.requestId, observedAt: first.createdAt, settlesAt: first.settlesAt, error: err.name, message: err.message };
    }
    if (earlyReport) {
      print(`   ${s.red("✗")} the executor tries request #${first.requestId} with the report of ${clock(first.createdAt)}, the second it was made in: ${s.red("refused")} ${s.dim(`(${earlyReport.error})`)}`);
      print(`     ${s.yellow(`“${earlyReport.message}”`)}`);
    } else {
      print(s.red(`   ✗ request #${first.requestId} was filled with a report observed before its pinned second`));
    }

    const rows: string[][] = [];
    const positions: bigint[] = [];
    const planOf = new Map<bigint, Plan | undefined>();
    const infoOf = new Map<bigint, { trader: string; market: string; isLong: boolean }>();
    let filledAtPinnedReport = true;
    for (const r of requested) {
      const filled = await executor.executeRequest(r.requestId, r.marketId, r.settlesAt);
      if (filled.event.type !== "RequestExecuted") throw new Error(`request #${r.requestId} was cancelled at its report: ${filled.event.reason}`);
      const e: RequestExecutedEvent = filled.event;
      const report = reportQuoteOf(await executor.report(r.marketId, r.settlesAt));
      filledAtPinnedReport &&= e.fillPrice === (r.trade.long ? report.ask : report.bid);
      const view = (await reader.getPosition(e.positionId))!;
      positions.push(e.positionId);
      planOf.set(e.positionId, r.trade.plan);
      infoOf.set(e.positionId, { trader: r.trade.trader, market: r.trade.market, isLong: r.trade.long });
      const p = view.position;
      const fee = usd(r.trade.amount) - p.collateral;
      rows.push([
        s.bold(`#${e.positionId}`),
        r.trade.trader,
        r.trade.market,
        sideText(p.isLong, s),
        `${units(notional(p.size, e.fillPrice) * 10n / p.collateral, 1, 1)}×`,
        `#${r.requestId}`,
        clock(r.createdAt),
        clock(r.settlesAt),
        `${price(e.fillPrice)} ${s.dim(p.isLong ? "ask" : "bid")}`,
        money(p.collateral),
        money(fee),
        units(p.size, 18, 4),
        price(view.health!.liquidationPrice),
        r.trade.plan ? r.trade.plan : s.dim("—"),
      ]);
    }
    table(
      [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "lev", align: "right" }, { header: "request", align: "right" }, { header: "requested" }, { header: "report of" }, { header: "fill", align: "right" }, { header: "collateral", align: "right" }, { header: "fee", align: "right" }, { header: "size", align: "right" }, { header: "liq. price", align: "right" }, { header: "orders (next step)" }],
      rows,
      s,
    ).forEach((l) => print(l));
    print(s.dim(`   a long buys at the report's ask, a short sells at its bid; ${filledAtPinnedReport ? "every fill equals" : "NOT every fill equals"} that price of the report its request pinned.`));
    const idOf = (plan: Plan) => positions.find((id) => planOf.get(id) === plan)!;
    const [stopId, guardedId, bareId, takeProfitId, trailingId] = (["stop-loss", "top-up guard", "none", "take-profit", "trailing stop"] as Plan[]).map(idOf);

    // 5. Orders.
    step("Orders", "the owners place trigger orders and a guard through the SDK (each checked as the book checks it before it is sent); the executor watches them");
    const ownerOf = async (id: bigint) => clients.get((await reader.getPosition(id))!.owner)!;
    const sl = await (await ownerOf(stopId)).placeStopLoss({ positionId: stopId, triggerPrice: wad(STOP_LOSS) });
    const tp = await (await ownerOf(takeProfitId)).placeTakeProfit({ positionId: takeProfitId, triggerPrice: wad(TAKE_PROFIT) });
    const ts = await (await ownerOf(trailingId)).placeTrailingStop({ positionId: trailingId, trailBps: TRAIL_BPS });
    const guard = await (await ownerOf(guardedId)).setTopUpGuard({ id: guardedId, threshold: GUARD.threshold, amount: usd(GUARD.amount), budget: usd(GUARD.budget), executorFee: usd(GUARD.executorFee) });
    executor.watch({ orderId: sl.orderId, kind: "StopLoss", marketId: eth.id, positionId: stopId });
    executor.watch({ orderId: tp.orderId, kind: "TakeProfit", marketId: eth.id, positionId: takeProfitId });
    executor.watch({ orderId: ts.orderId, kind: "TrailingStop", marketId: eth.id, positionId: trailingId });
    executor.watch({ orderId: guard.orderId, kind: "TopUp", marketId: eth.id, positionId: guardedId });
    const eth18 = (fee: bigint) => `${units(fee, 18, 6)} ETH`;
    table(
      [{ header: "order", align: "right" }, { header: "kind" }, { header: "position" }, { header: "owner" }, { header: "rule" }, { header: "execution fee", align: "right" }],
      [
        [s.bold(`#${sl.orderId}`), "stop-loss", `#${stopId}`, "alice", `close when a report's price ≤ ${price(wad(STOP_LOSS))}, fill ≥ ${price(sl.event.acceptablePrice)}`, eth18(sl.executionFee.fee)],
        [s.bold(`#${tp.orderId}`), "take-profit", `#${takeProfitId}`, "dave", `close the short when a report's price ≤ ${price(wad(TAKE_PROFIT))}, fill ≤ ${price(tp.event.acceptablePrice)}`, eth18(tp.executionFee.fee)],
        [s.bold(`#${ts.orderId}`), "trailing stop", `#${trailingId}`, "erin", `close when a report is at least ${units(TRAIL_BPS, 2, 1)} % below the best report since placement`, eth18(ts.executionFee.fee)],
        [s.bold(`#${guard.orderId}`), "top-up guard", `#${guardedId}`, "bob", `while health < ${units(GUARD.threshold, 18, 1)} at a report: +${GUARD.amount} from his wallet, ${GUARD.executorFee} to the executor, ${GUARD.budget} in all`, s.dim("paid per top-up")],
      ],
      s,
    ).forEach((l) => print(l));
    const maxReportAge = await (await ethers.getContractAt("BulkheadOrderBook", record.orderBook!)).maxReportAge();
    print(s.dim(`   a report fills an order only if observed after its placement and at most ${maxReportAge} s old; a close sells at the bid (a long) or buys at the ask (a short).`));

    // 6. Latency arbitrage across a visible push update.
    step("Latency arbitrage", `mallory sees the feed's next round (${MARKET} ${price(pushPrice)} → ${price(wad(UPDATE))}, +${units(((wad(UPDATE) - pushPrice) * 10_000n) / pushPrice, 2, 2)} %) before it lands, requests a long at the old price and closes after`);
    const arbClient = clients.get(mallory.address)!;
    const arbBefore = await token.balanceOf(mallory.address);
    const arbOpen = await arbClient.requestOpen({ market: eth.id, side: "long", amount: usd(ARBITRAGE.amount), size: wad(ARBITRAGE.size) });
    const pushAtOpen = await reader.getPrice(eth.id);
    const updatedAt = await push(MARKET, UPDATE);
    await executor.sweep(eth.id, updatedAt); // the trailing stop's peak: the best report since placement
    await reach(arbOpen.event.settlesAt);
    const arbFill = await executor.executeRequest(arbOpen.requestId, eth.id, arbOpen.event.settlesAt);
    if (arbFill.event.type !== "RequestExecuted") throw new Error(`mallory's open was cancelled: ${arbFill.event.reason}`);
    const arbId = arbFill.event.positionId;
    const arbClose = await arbClient.requestClose({ id: arbId });
    await reach(arbClose.event.settlesAt);
    const arbCloseFill = await executor.executeRequest(arbClose.requestId, eth.id, arbClose.event.settlesAt);
    if (arbCloseFill.event.type !== "RequestExecuted") throw new Error(`mallory's close was cancelled: ${arbCloseFill.event.reason}`);
    const arbPnl = (await token.balanceOf(mallory.address)) - arbBefore;
    const openReport = reportQuoteOf(await executor.report(eth.id, arbOpen.event.settlesAt));
    const closeReport = reportQuoteOf(await executor.report(eth.id, arbClose.event.settlesAt));
    table(
      [{ header: "leg" }, { header: "request", align: "right" }, { header: "requested" }, { header: "push then", align: "right" }, { header: "report of" }, { header: "report price", align: "right" }, { header: "fill", align: "right" }],
      [
        [`open ${ARBITRAGE.size} ETH long`, `#${arbOpen.requestId}`, clock(arbOpen.event.settlesAt - timing.settlementDelay), price(pushAtOpen), clock(arbOpen.event.settlesAt), price(openReport.price), `${price(arbFill.event.fillPrice)} ${s.dim("ask")}`],
        ["close", `#${arbClose.requestId}`, clock(arbClose.event.settlesAt - timing.settlementDelay), price(await reader.getPrice(eth.id)), clock(arbClose.event.settlesAt), price(closeReport.price), `${price(arbCloseFill.event.fillPrice)} ${s.dim("bid")}`],
      ],
      s,
    ).forEach((l) => print(l));
    const instantGain = notional(wad(ARBITRAGE.size), wad(UPDATE) - pushAtOpen);
    print(`   the update landed at ${clock(updatedAt)}, before the open's pinned second: the report already carries the move.`);
    print(`   ${arbPnl <= 0n ? s.green("✓") : s.red("✗")} mallory's PnL: ${s.bold(arbPnl <= 0n ? s.green(money(arbPnl, true)) : s.red(money(arbPnl, true)))} ${record.tokenSymbol} ${s.dim(`(spread and fees; an instant open at the push price would have taken ${money(instantGain)} from the LPs before fees)`)}`);

    // Vault addresses never change: read once from the engine, then each snapshot reads balances only.
    const vaultOf = new Map<bigint, string>();
    for (const id of positions) vaultOf.set(id, await engine.vaultOf(id));
    const guardOwner = (await reader.getPosition(guardedId))!.owner;
    const stopOwner = (await reader.getPosition(stopId))!.owner;
    const snapshot = async () => {
      const vaults = new Map<bigint, bigint>();
      for (const id of positions) vaults.set(id, await token.balanceOf(vaultOf.get(id)!));
      const l = await engine.ledger();
      return {
        vaults,
        keeper: await token.balanceOf(keeperWallet.address),
        executor: await token.balanceOf(executorWallet.address),
        guardOwner: await token.balanceOf(guardOwner),
        stopOwner: await token.balanceOf(stopOwner),
        lpAssets: l.lpAssets,
        insurance: l.insuranceFund,
        protocolFees: l.protocolFees,
        poolBalance: await token.balanceOf(record.pool),
      };
    };
    const before = await snapshot();

    // 7. The crash, in steps; the executor fills what each step's report makes due.
    step(`${MARKET.split("/")[0]} falls`, `the push feed posts ${CRASH.length} rounds, none more than 1 %; after each, the executor fetches that second's report and executes what it makes due`);
    const twins = [stopId, guardedId, bareId];
    const done: Execution[] = [];
    const crashRows: string[][] = [];
    let last = wad(UPDATE);
    const kindText: Record<Execution["kind"], string> = { StopLoss: "stop-loss", TakeProfit: "take-profit", TrailingStop: "trailing stop", TopUp: "top-up", LimitOpen: "limit open", LimitIncrease: "limit increase" };
    for (const answer of CRASH) {
      const at = await push(MARKET, answer);
      const executions = await executor.sweep(eth.id, at);
      done.push(...executions);
      const views = await reader.getPositions(twins);
      const health = views.map((v) => {
        if (!v) return s.dim("closed");
        const h = v.health!;
        const f = h.healthFactor === null ? "∞" : h.equity <= 0n ? "0.00" : units(h.healthFactor, 18, 2);
        return h.liquidatable ? s.red(`${f} ✗`) : h.healthFactor !== null && h.healthFactor < GUARD.threshold ? s.yellow(f) : f;
      });
      const what = executions.map((x) => {
        if (x.kind === "TopUp") return s.cyan(`guard #${x.orderId} tops up #${x.positionId}: +${money(x.topUp!.amount)} ${s.dim(`(health ${units(x.topUp!.healthFactor, 18, 2)} at the report)`)}`);
        const peak = x.peak ? s.dim(` (peak ${price(x.peak.price)} at ${clock(x.peak.observedAt)})`) : "";
        return s.cyan(`${kindText[x.kind]} #${x.orderId} closes #${x.positionId} at ${price(x.fillPrice!)}${peak}`);
      });
      const p = wad(answer);
      crashRows.push([clock(at), s.bold(price(p)), s.red(units(((p - last) * 10_000n) / last, 2, 2, { sign: true }) + " %"), ...health, what.join("; ") || s.dim("nothing due")]);
      last = p;
    }
    table(
      [{ header: "time" }, { header: MARKET, align: "right" }, { header: "Δ", align: "right" }, { header: `#${stopId} alice`, align: "right" }, { header: `#${guardedId} bob`, align: "right" }, { header: `#${bareId} carol`, align: "right" }, { header: "executor (at the report of that second)" }],
      crashRows,
      s,
    ).forEach((l) => print(l));
    print(s.dim(`   the three identical 20× longs' health (equity / maintenance at the push price; ✗ liquidatable): alice's stop, bob's guard, carol nothing.`));
    const closedBy = (kind: Execution["kind"]) => done.filter((x) => x.kind === kind).map((x) => x.positionId);
    const topUps = done.filter((x) => x.kind === "TopUp");

    // 8. Risk table from one batched SDK read; health computed locally with the SDK's math.
    step("Risk", "client.getPositions(ids): one batched read of the open positions, health computed locally with the SDK's mirror of the engine's math");
    const open = (await reader.getPositions(positions)).filter((v) => v !== null).map((v) => {
      if (!v.health) throw new Error(`position #${v.id} has no health: its market's feed is invalid`);
      return { ...v, health: v.health };
    });
    const openIds = open.map((v) => v.id);
    const riskRows: string[][] = [];
    for (const v of open) {
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
    const healthLiquidatable = open.filter((v) => v.health.liquidatable).map((v) => v.id);
    const previewList = await reader.previewLiquidations(openIds);
    const previews = new Map(openIds.map((id, i) => [id, previewList[i]!]));
    const previewedLiquidatable = openIds.filter((id) => previews.get(id)!.liquidatable);
    const agrees = sameIds(healthLiquidatable, previewedLiquidatable);
    print(
      `   ${agrees ? s.green("✓") : s.red("✗")} the engine ${agrees ? "agrees" : "DISAGREES"}: lens.previewLiquidations(ids) finds ${idList(previewedLiquidatable)} liquidatable` +
        (agrees ? "" : s.red(` (the SDK's health says ${idList(healthLiquidatable)})`)),
    );

    // 9. The keeper library, assembled as its CLI does, one cycle at a time.
    step("Keeper", "the keeper library: Keeper.cycle() syncs positions from the engine's events, evaluates them with the SDK's math, sends liquidateMany");
    const preKeeper = await snapshot();
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

    // 10. Before and after.
    const after = await snapshot();
    step("Isolation", "every vault's token balance before the crash and after the liquidation, read from the token");
    const stopped = closedBy("StopLoss");
    const tookProfit = closedBy("TakeProfit");
    const trailed = closedBy("TrailingStop");
    const closedByOrder = new Map<bigint, string>([...stopped.map((id) => [id, "closed by its stop-loss"] as const), ...tookProfit.map((id) => [id, "closed by its take-profit"] as const), ...trailed.map((id) => [id, "closed by its trailing stop"] as const)]);
    const toppedUp = topUps.reduce((sum, x) => sum + x.topUp!.amount, 0n);
    const topUpFees = topUps.reduce((sum, x) => sum + x.topUp!.fee, 0n);
    const vaultRows: string[][] = [];
    const changedOtherVaults: bigint[] = [];
    let untouched = 0;
    for (const id of positions) {
      const b = before.vaults.get(id)!;
      const a = after.vaults.get(id)!;
      let status: string;
      if (liquidated.includes(id)) status = s.red("liquidated by the keeper");
      else if (closedByOrder.has(id)) status = s.cyan(closedByOrder.get(id)!);
      else if (id === guardedId) {
        const ok = a - b === toppedUp;
        if (!ok) changedOtherVaults.push(id);
        status = ok ? s.green(`✓ ${topUps.length} top-ups of ${GUARD.amount}, nothing else`) : s.bold(s.red("✗ CHANGED beyond its top-ups"));
      } else if (a === b) {
        untouched++;
        status = s.green("✓ unchanged");
      } else {
        changedOtherVaults.push(id);
        status = s.bold(s.red("✗ CHANGED"));
      }
      const info = infoOf.get(id)!;
      vaultRows.push([
        s.bold(`#${id}`),
        info.trader,
        info.market,
        sideText(info.isLong, s),
        money(b),
        money(a),
        a === b ? s.dim("0.00") : a > b ? s.green(money(a - b, true)) : s.red(money(a - b, true)),
        status,
      ]);
    }
    table(
      [{ header: "id", align: "right" }, { header: "trader" }, { header: "market" }, { header: "side" }, { header: "before", align: "right" }, { header: "after", align: "right" }, { header: "Δ", align: "right" }, { header: "" }],
      vaultRows,
      s,
    ).forEach((l) => print(l));

    // The three twins' fates.
    const stopFill = done.find((x) => x.kind === "StopLoss");
    const g = (await reader.getPosition(guardedId))?.health;
    print("");
    print(
      `   the twins: alice's stop-loss sold at ${stopFill ? price(stopFill.fillPrice!) : "—"} and returned ${s.bold(money(after.stopOwner - before.stopOwner))} to her wallet; ` +
        `bob's guarded position is open (equity ${g ? money(g.equity) : "—"}, health ${g?.healthFactor ? units(g.healthFactor, 18, 2) : "—"}); carol's lost all ${money(before.vaults.get(bareId)!)}.`,
    );

    // The guard's money: from its owner's wallet into his own vault, the fees to the executor.
    const guardPaid = before.guardOwner - after.guardOwner;
    const executorGot = after.executor - before.executor;
    const guardConserved = guardPaid === toppedUp + topUpFees && executorGot === topUpFees;
    print(
      `   ${guardConserved ? s.green("✓") : s.red("✗")} bob's guard: ${money(guardPaid)} ${record.tokenSymbol} left his wallet = ${money(toppedUp)} into vault #${guardedId} + ${money(topUpFees)} to the executor ${s.dim(`(budget left ${money(usd(GUARD.budget) - toppedUp - topUpFees)})`)}`,
    );

    // Where the liquidated collateral went: the keeper, the LPs, the insurance fund (and fees).
    let conserved = guardConserved;
    // On a long-lived node the keeper may also find positions an earlier run left behind: named, not audited.
    const foreign = liquidated.filter((id) => !vaultOf.has(id));
    if (foreign.length > 0) {
      conserved = false;
      print(s.red(`   ✗ the keeper also liquidated ${idList(foreign)}, not opened by this run: the flows below are not this run's alone`));
    }
    for (const id of liquidated.filter((x) => vaultOf.has(x))) {
      const out = preKeeper.vaults.get(id)! - after.vaults.get(id)!;
      const flows: [string, bigint, string][] = [
        ["keeper reward", after.keeper - preKeeper.keeper, "keeper's wallet"],
        ["pool (LP assets)", after.lpAssets - preKeeper.lpAssets, "the loss and borrow fee, owed to LPs"],
        ["insurance fund", after.insurance - preKeeper.insurance, "what was left in the vault"],
      ];
      if (after.protocolFees !== preKeeper.protocolFees) flows.push(["protocol fees", after.protocolFees - preKeeper.protocolFees, ""]);
      const sum = flows.reduce((acc, [, x]) => acc + x, 0n);
      const poolDelta = after.poolBalance - preKeeper.poolBalance;
      const ok = sum === out && poolDelta + (after.keeper - preKeeper.keeper) === out;
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
      const matches = e.keeperReward === after.keeper - preKeeper.keeper && e.toInsurance - e.fromInsurance === after.insurance - preKeeper.insurance;
      print(s.dim(`   PositionLiquidated: reward ${money(e.keeperReward)}, to insurance ${money(e.toInsurance)}, bad debt ${money(e.badDebt)} — ${matches ? "equal to the balance changes" : "NOT equal to the balance changes"}`));
      const p = previews.get(id);
      if (p) print(s.dim(`   previewLiquidations before the keeper ran: reward ${money(p.keeperReward)}, to insurance ${money(p.toInsurance)} (borrow fees accrue by the second)`));
      conserved &&= matches;
    }

    const guardedView = await reader.getPosition(guardedId);
    const survived = guardedView !== null && guardedView.health !== null && !guardedView.health.liquidatable;
    const bystanders = positions.filter((id) => planOf.get(id) === undefined).length;
    const ok =
      earlyReport?.error === "ReportNotPinnedError" &&
      filledAtPinnedReport &&
      arbPnl <= 0n &&
      sameIds(stopped, [stopId]) &&
      sameIds(tookProfit, [takeProfitId]) &&
      sameIds(trailed, [trailingId]) &&
      topUps.length > 0 &&
      survived &&
      sameIds(liquidated, [bareId]) &&
      agrees &&
      sameIds(previewedLiquidatable, liquidated) &&
      sameIds(keeperSummary.found, liquidated) &&
      sameIds(keeperSummary.mined, liquidated) &&
      changedOtherVaults.length === 0 &&
      untouched === bystanders &&
      conserved;
    print("");
    if (ok) {
      print(s.green(s.bold(`✓ every request filled at its pinned report and the early one was refused; the arbitrage lost ${money(-arbPnl)}.`)));
      print(s.green(s.bold(`✓ orders closed #${stopId} (stop-loss), #${takeProfitId} (take-profit), #${trailingId} (trailing stop); ${topUps.length} top-ups kept #${guardedId} alive; its unguarded twin #${bareId} alone was liquidated.`)));
      print(s.green(s.bold(`✓ the other ${untouched} vaults did not move by a single unit.`)));
    } else {
      print(
        s.red(
          s.bold(
            `✗ expected: early report refused (${earlyReport?.error ?? "it was not"}), fills at pinned reports (${filledAtPinnedReport}), arbitrage PnL ≤ 0 (${money(arbPnl, true)}), ` +
              `stopped [${stopped.join(", ")}], took profit [${tookProfit.join(", ")}], trailed [${trailed.join(", ")}], ${topUps.length} top-ups (survived ${survived}), ` +
              `liquidated [${liquidated.join(", ")}], previewed [${previewedLiquidatable.join(", ")}], keeper found [${keeperSummary.found.join(", ")}], changed vaults [${changedOtherVaults.join(", ")}], conservation ${conserved}`,
          ),
        ),
      );
    }
    print("");
    return {
      positions,
      lpShares: shares,
      earlyReport,
      filledAtPinnedReport,
      arbitrage: { positionId: arbId, pnl: arbPnl },
      stopped,
      tookProfit,
      trailed,
      guarded: { id: guardedId, topUps: topUps.length, survived },
      healthLiquidatable,
      previewedLiquidatable,
      liquidated,
      keeper: keeperSummary,
      untouchedVaults: untouched,
      changedOtherVaults,
      conserved,
      ok,
    };
  } finally {
    await service.close();
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
