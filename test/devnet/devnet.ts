// `npm run devnet` as a developer runs it (the Hardhat CLI's `devnet` task, a child of this test
// on free loopback ports), in trace mode: Chainlink's official Data Streams client fetches a report
// from the printed URL with the printed credentials and it verifies on chain through the printed
// VerifierProxy and the oracle's live checks; the keeper it started executes an LP deposit and a
// trader's open at their pinned reports; the push feeds follow the trace; SIGINT stops the
// node, the report service and the keeper, and leaves nothing behind. Everything this file starts
// is stopped by it, pass or fail. The shipped day trace is checked in-process.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { Contract, JsonRpcProvider, getAddress, type LogDescription } from "ethers";
import { createClient } from "@chainlink/data-streams-sdk";
import { decodeReportV3, decodeSignedReport } from "@bulkhead/sdk";
import { TracePriceSource } from "../../scripts/streams/priceSources.js";
import { CRASH, generateDayTrace } from "../../scripts/devnet/trace.js";
import { freePort, HARDHAT_CLI, ROOT, skipUnderCoverage } from "../helpers/processes.js";
import { depositThroughRequest } from "../helpers/lpRequests.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AGGREGATOR_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function getRoundData(uint80) view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];

/** Steps of 0.6 %, inside the oracle's 1 % deviation bound, 8 s apart. */
const TEST_TRACE = ["# devnet test trace", "t,ETH/USD,BTC/USD", "0,3000.00,60000.00", "8,3018.00,60300.00", "16,2994.00,59880.00", ""].join("\n");
const LAST_STEP = 16;

/** `  name  value` lines of the devnet's banner. */
function parseBanner(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^ {2}(\S.*?) {2,}(\S.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** A devnet child of this test (the Hardhat CLI's `devnet` task), its output and its printed banner. */
class DevnetProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = "";
  info: Record<string, string> = {};

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [HARDHAT_CLI, "devnet", ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on("data", (d) => (this.output += d));
    this.child.stderr!.on("data", (d) => (this.output += d));
  }

  /** Waits for "devnet ready" and parses the banner. */
  async ready(timeoutMs = 90_000): Promise<Record<string, string>> {
    const started = Date.now();
    while (!this.output.includes("devnet ready")) {
      if (this.child.exitCode !== null) throw new Error(`the devnet exited (${this.child.exitCode}) before it was ready:\n${this.output}`);
      if (Date.now() - started > timeoutMs) throw new Error(`the devnet was not ready within ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
    console.log(`      devnet ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    this.info = parseBanner(this.output);
    return this.info;
  }

  /** The node's and the keeper's pids, as printed when each starts. */
  pids(): number[] {
    return [/^node {4,}\S+ \(pid (\d+)\)/m, /^keeper {4,}starting \(pid (\d+)/m].map((re) => re.exec(this.output)?.[1]).filter((p): p is string => p !== undefined).map(Number);
  }

  /** SIGINT; resolves with the exit once the devnet has exited. */
  async interrupt() {
    const t0 = Date.now();
    this.child.kill("SIGINT");
    const exit = await this.exited;
    console.log(`      stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return exit;
  }

  /** Stops whatever is left (after hooks: also when a test failed): SIGTERM, SIGKILL after 30 s, then its children by pid. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
      await this.exited;
      clearTimeout(timer);
    }
    for (const pid of this.pids()) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}

describe("devnet --prices trace (npm run devnet, real processes)", function () {
  this.timeout(120_000);
  let dir: string;
  let devnet: DevnetProcess | undefined;
  let info: Record<string, string> = {};
  let provider: JsonRpcProvider | undefined;
  let nodePort: number;
  let reportPort: number;
  let origin: number;
  const trace = TracePriceSource.parseCsv(TEST_TRACE);
  const traceAt = (name: string, offset: number) => [...trace].reverse().find((p) => p.t <= offset)?.prices[name];

  before(function () {
    skipUnderCoverage(this);
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bulkhead-devnet-test-"));
    await writeFile(path.join(dir, "trace.csv"), TEST_TRACE);
    nodePort = await freePort();
    reportPort = await freePort();
    devnet = new DevnetProcess(["--port", String(nodePort), "--report-port", String(reportPort), "--prices", `trace=${path.join(dir, "trace.csv")}`, "--record", path.join(dir, "devnet.json")]);
    info = await devnet.ready();
    origin = Number(info["trace origin"]);
    provider = new JsonRpcProvider(info.rpc, 31337, { staticNetwork: true });
  });

  after(async () => {
    provider?.destroy();
    await devnet?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("test_devnet_printsEveryAddressAndUrl_onLoopback", async () => {
    for (const k of ["engine", "pool", "lens", "router", "order book", "oracle", "verifier proxy", "verifier", "token"]) {
      expect(info[k], `${k} printed\n${devnet!.output}`).to.match(/^0x[0-9a-fA-F]{40}/);
      expect(await provider!.getCode(info[k]!.slice(0, 42)), `${k} has code`).to.not.equal("0x");
    }
    expect(info.rpc).to.equal(`http://127.0.0.1:${nodePort}`);
    expect(info["report service"]).to.equal(`http://127.0.0.1:${reportPort}`);
    expect(info["market 0"]).to.match(/^ETH\/USD feed 0x[0-9a-fA-F]{40} stream 0x0003[0-9a-f]{60}$/);
    expect(info["market 1"]).to.match(/^BTC\/USD feed 0x[0-9a-fA-F]{40} stream 0x0003[0-9a-f]{60}$/);
    expect(info.keeper).to.match(/^0x[0-9a-fA-F]{40} \(dev account 19\) pid \d+ metrics http:\/\/127\.0\.0\.1:\d+$/);
    // The record the keeper reads is the printed deployment.
    const record = JSON.parse(await readFile(path.join(dir, "devnet.json"), "utf8"));
    expect([record.engine, record.router, record.orderBook, record.verifierProxy]).to.deep.equal(["engine", "router", "order book", "verifier proxy"].map((k) => info[k]));
    // The keeper runs on it and reports itself healthy.
    const health = (await (await fetch(`${info.keeper!.split("metrics ")[1]}/health`)).json()) as { status: string };
    expect(health.status).to.equal("ok");
  });

  it("test_devnet_officialClientFetchesALatestReport_itVerifiesThroughTheVerifierProxyAndTheOraclesLiveChecks", async () => {
    const stream = info["market 0"]!.split("stream ")[1]!;
    const api = createClient({ apiKey: info["api key"]!, userSecret: info["user secret"]!, endpoint: info["report service"]!, wsEndpoint: info["report service"]!.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
    const report = await api.getLatestReport(stream);
    expect(report.feedID).to.equal(stream);
    const decoded = decodeReportV3(decodeSignedReport(report.fullReport).reportData);
    expect(decoded.price).to.equal(traceAt("ETH/USD", report.observationsTimestamp - origin));

    // Chainlink's VerifierProxy returns the report data once f + 1 oracles of the configured set signed it.
    const proxy = new Contract(info["verifier proxy"]!, (await hre.artifacts.readArtifact("VerifierProxy")).abi, provider);
    const verified: string = await proxy.getFunction("verify").staticCall(report.fullReport, "0x");
    expect(verified).to.equal(decodeSignedReport(report.fullReport).reportData);
    // The oracle's live checks (stream, expiry, within the deviation bound of the push feed), as the router calls them.
    const oracle = new Contract(info.oracle!, (await hre.artifacts.readArtifact("BulkheadOracle")).abi, provider);
    const prices = await oracle.getFunction("verifyReport").staticCall(0, report.fullReport, true, { from: getAddress(info.router!) });
    expect([prices.observedAt, prices.bid, prices.price, prices.ask]).to.deep.equal([BigInt(report.observationsTimestamp), decoded.bid, decoded.price, decoded.ask]);

    // Wrong credentials are refused, like Chainlink's API.
    const stranger = createClient({ apiKey: info["api key"]!, userSecret: "not-the-secret", endpoint: info["report service"]!, wsEndpoint: "ws://127.0.0.1:1", retryAttempts: 0, timeout: 5_000 });
    let refused: unknown;
    await stranger.getLatestReport(stream).catch((e) => (refused = e));
    expect(String(refused)).to.match(/401|unauthori[sz]ed|signature/i);
  });

  it("test_devnet_theKeeperExecutesAnLpDepositAndATradersOpenRequest_atTheirPinnedReports", async () => {
    const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;
    const [lp, trader] = await Promise.all([1, 2].map((i) => provider!.getSigner(i)));
    const keeper = getAddress(info.keeper!.slice(0, 42));
    const token = new Contract(info.token!.slice(0, 42), await abi("MockStablecoin"), provider);
    const pool = new Contract(info.pool!, await abi("BulkheadPool"), provider);
    const router = new Contract(info.router!, await abi("BulkheadRouter"), provider);
    const engine = new Contract(info.engine!, await abi("Bulkhead"), provider);
    const usd = (x: bigint) => x * 10n ** 6n;
    const parse = (c: Contract, logs: readonly { topics: readonly string[]; data: string }[], name: string) =>
      logs.map((l) => c.interface.parseLog({ topics: [...l.topics], data: l.data })).find((e: LogDescription | null) => e?.name === name)!;
    /** The first `event` of `c` at or after `fromBlock` matching `filter`, waited for (the keeper sends it). */
    const waitFor = async (c: Contract, event: string, fromBlock: number, match: (e: LogDescription) => boolean) => {
      for (let i = 0; i < 150; i++) {
        const logs = await provider!.getLogs({ address: await c.getAddress(), fromBlock, toBlock: "latest" });
        for (const l of logs) {
          const e = c.interface.parseLog({ topics: [...l.topics], data: l.data });
          if (e?.name === event && match(e)) return { e, tx: (await provider!.getTransaction(l.transactionHash))! };
        }
        await sleep(200);
      }
      throw new Error(`no ${event}\n${devnet!.output.slice(-3000)}`);
    };

    // The LP requests a deposit; the keeper executes it; the LP claims its shares.
    const asLp = (c: Contract) => c.connect(lp) as Contract;
    await (await asLp(token).getFunction("faucet")(await lp.getAddress(), usd(100_000n))).wait();
    await (await asLp(token).getFunction("approve")(info.pool!, usd(100_000n))).wait();
    const lpFee = (await pool.getFunction("quoteExecutionFee")(1n, 10n ** 11n)) as bigint;
    const dep = (await (await asLp(pool).getFunction("requestDeposit")(usd(100_000n), await lp.getAddress(), await lp.getAddress(), { value: lpFee })).wait())!;
    const depId = parse(pool, dep.logs, "LpRequestCreated").args.getValue("requestId") as bigint;
    const lpFilled = await waitFor(pool, "LpRequestExecuted", dep.blockNumber, (e) => e.args.getValue("requestId") === depId);
    expect(lpFilled.tx.from).to.equal(keeper);
    await (await asLp(pool).getFunction("deposit(uint256,address,address)")(usd(100_000n), await lp.getAddress(), await lp.getAddress())).wait();

    // A trader's open request: the keeper fills it at the ask of the report its request pins.
    const asTrader = (c: Contract) => c.connect(trader) as Contract;
    await (await asTrader(token).getFunction("faucet")(await trader.getAddress(), usd(1_000n))).wait();
    await (await asTrader(token).getFunction("approve")(info.router!, usd(1_000n))).wait();
    const fee = (await router.getFunction("quoteExecutionFee")(1n, 10n ** 11n)) as bigint;
    const req = (await (await asTrader(router).getFunction("requestOpen")(0, true, usd(500n), 10n ** 18n, 2n ** 96n - 1n, { value: fee })).wait())!;
    const created = parse(router, req.logs, "RequestCreated");
    const [id, settlesAt] = [created.args.getValue("requestId") as bigint, Number(created.args.getValue("settlesAt"))];
    const filled = await waitFor(router, "RequestExecuted", req.blockNumber, (e) => e.args.getValue("requestId") === id);
    expect(filled.tx.from).to.equal(keeper);
    const api = createClient({ apiKey: info["api key"]!, userSecret: info["user secret"]!, endpoint: info["report service"]!, wsEndpoint: info["report service"]!.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
    const pinned = decodeReportV3(decodeSignedReport((await api.getReportByTimestamp(info["market 0"]!.split("stream ")[1]!, settlesAt)).fullReport).reportData);
    expect(filled.e.args.getValue("fillPrice")).to.equal(pinned.ask);
    expect(await engine.getFunction("ownerOf")(filled.e.args.getValue("positionId"))).to.equal(await trader.getAddress());
  });

  it("test_devnet_traceMode_pushFeedsFollowTheTrace_andReportsMatchThem", async () => {
    const feeds = ["market 0", "market 1"].map((k) => {
      const [name, , address] = info[k]!.split(" ");
      return { name: name!, stream: info[k]!.split("stream ")[1]!, feed: new Contract(address!, AGGREGATOR_ABI, provider) };
    });
    const last = trace.at(-1)!;
    // Until the chain is past the last step and both feeds show it.
    const deadline = Date.now() + 40_000;
    for (;;) {
      const answers = await Promise.all(feeds.map(async (f) => (await f.feed.getFunction("latestRoundData")())[1] as bigint));
      if (answers.every((a, i) => a * 10n ** 10n === last.prices[feeds[i]!.name])) break;
      if (Date.now() > deadline) throw new Error(`the feeds show ${answers} after ${LAST_STEP} s of trace, not its last prices:\n${devnet!.output.slice(-3000)}`);
      await sleep(250);
    }
    const api = createClient({ apiKey: info["api key"]!, userSecret: info["user secret"]!, endpoint: info["report service"]!, wsEndpoint: info["report service"]!.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
    for (const f of feeds) {
      // Every round published since the deployment's is a trace price of the few seconds before it landed (the pusher read the chain time, then sent).
      const [latest] = (await f.feed.getFunction("latestRoundData")()) as [bigint];
      const seen = new Set<bigint>();
      for (let r = 2n; r <= latest; r++) {
        const [, answer, , updatedAt] = (await f.feed.getFunction("getRoundData")(r)) as [bigint, bigint, bigint, bigint];
        const wad = answer * 10n ** 10n;
        const offset = Number(updatedAt) - origin;
        const candidates = [0, 1, 2, 3, 4, 5].map((k) => traceAt(f.name, offset - k));
        expect(candidates, `${f.name} round ${r} (${answer} at trace second ${offset})`).to.include(wad);
        seen.add(wad);
        // The report of that second carries the same price: the two sources agree.
        const report = decodeReportV3(decodeSignedReport((await api.getReportByTimestamp(f.stream, Number(updatedAt))).fullReport).reportData);
        expect(report.price, `${f.name} report at ${updatedAt}`).to.equal(traceAt(f.name, offset));
      }
      // Published once per step, each step that had happened by the time the pusher first looked.
      expect([...seen].at(-1)).to.equal(last.prices[f.name]);
      expect(seen.size, `${f.name} moved with the trace`).to.be.at.least(2);
      expect(seen.size).to.equal(Number(latest) - 1);
    }
  });

  it("test_devnet_sigint_stopsNodeReportServiceAndKeeper_exits0_leavesNoProcess", async () => {
    const keeperMetrics = Number(/127\.0\.0\.1:(\d+)$/.exec(info.keeper!)![1]);
    const children = devnet!.pids();
    expect(children).to.have.length(2);
    expect(children).to.deep.equal([Number(info["node pid"]), Number(/pid (\d+)/.exec(info.keeper!)![1])]);
    for (const pid of children) expect(alive(pid)).to.equal(true);
    const exit = await devnet!.interrupt();
    const output = devnet!.output;
    expect(exit, output.slice(-3000)).to.deep.equal({ code: 0, signal: null });
    expect(output).to.include("devnet stopped");
    expect(output).to.match(/keeper \| .*keeper\.stopped/);
    for (const port of [nodePort, reportPort, keeperMetrics]) expect(await portOpen(port), `port ${port} closed`).to.equal(false);
    for (const pid of children) expect(alive(pid), `child ${pid} gone`).to.equal(false);
  });
});

describe("devnet with its default prices, the push feeds (npm run devnet -- --no-keeper)", function () {
  this.timeout(120_000);
  let dir: string;
  let devnet: DevnetProcess | undefined;
  let provider: JsonRpcProvider | undefined;

  before(function () {
    skipUnderCoverage(this);
  });

  after(async () => {
    provider?.destroy();
    await devnet?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("test_devnet_feeds_updateAnswerMovesTheReports_aTradersRequestExecutesAtItsReport_thenSigintStopsIt", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bulkhead-devnet-feeds-"));
    const [nodePort, reportPort] = [await freePort(), await freePort()];
    devnet = new DevnetProcess(["--port", String(nodePort), "--report-port", String(reportPort), "--record", path.join(dir, "devnet.json"), "--no-keeper"]);
    const info = await devnet.ready();
    expect(info.keeper).to.equal("not started (--no-keeper)");
    provider = new JsonRpcProvider(info.rpc, 31337, { staticNetwork: true, pollingInterval: 100 });
    const api = createClient({ apiKey: info["api key"]!, userSecret: info["user secret"]!, endpoint: info["report service"]!, wsEndpoint: info["report service"]!.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
    const [, , ethFeed, , ethStream] = info["market 0"]!.split(" ");
    const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;
    const [lp, trader] = await Promise.all([1, 2].map((i) => provider!.getSigner(i)));

    // updateAnswer on the push feed moves the reports of every later second.
    const feed = new Contract(ethFeed!, ["function updateAnswer(int256)"], trader);
    const moved = await (await feed.getFunction("updateAnswer")(3_030n * 10n ** 8n)).wait();
    const movedAt = (await provider.getBlock(moved!.blockNumber))!.timestamp;
    const latest = await api.getLatestReport(ethStream!);
    expect(latest.observationsTimestamp).to.be.at.least(movedAt);
    expect(decodeReportV3(decodeSignedReport(latest.fullReport).reportData).price).to.equal(3_030n * 10n ** 18n);

    // A trader's open request executes at the report of its pinned second, fetched with the official client.
    const token = new Contract(info.token!.slice(0, 42), await abi("MockStablecoin"), provider);
    const pool = new Contract(info.pool!, await abi("BulkheadPool"), provider);
    const router = new Contract(info.router!, await abi("BulkheadRouter"), provider);
    const engine = new Contract(info.engine!, await abi("Bulkhead"), provider);
    const usd = (x: bigint) => x * 10n ** 6n;
    await (await (token.connect(lp) as Contract).getFunction("faucet")(await lp.getAddress(), usd(100_000n))).wait();
    await (await (token.connect(lp) as Contract).getFunction("approve")(info.pool!, usd(100_000n))).wait();
    await depositThroughRequest(pool, lp, usd(100_000n), 2);
    await (await (token.connect(trader) as Contract).getFunction("faucet")(await trader.getAddress(), usd(1_000n))).wait();
    await (await (token.connect(trader) as Contract).getFunction("approve")(info.router!, usd(1_000n))).wait();
    const fee = (await router.getFunction("quoteExecutionFee")(1n, 10n ** 11n)) as bigint;
    const asTrader = router.connect(trader) as Contract;
    const receipt = await (await asTrader.getFunction("requestOpen")(0, true, usd(500n), 10n ** 18n, 2n ** 96n - 1n, { value: fee })).wait();
    const created = receipt!.logs.map((l: { topics: readonly string[]; data: string }) => router.interface.parseLog({ topics: [...l.topics], data: l.data })).find((e: LogDescription | null) => e?.name === "RequestCreated")!;
    const [id, settlesAt] = [created.args.getValue("requestId") as bigint, Number(created.args.getValue("settlesAt"))];
    while ((await provider.getBlock("latest"))!.timestamp < settlesAt) await sleep(200);
    const pinned = await api.getReportByTimestamp(ethStream!, settlesAt);
    const report = decodeReportV3(decodeSignedReport(pinned.fullReport).reportData);
    expect(report.price).to.equal(3_030n * 10n ** 18n);
    const executed = await (await asTrader.getFunction("execute")(id, pinned.fullReport)).wait();
    const fill = executed!.logs.map((l: { topics: readonly string[]; data: string }) => router.interface.parseLog({ topics: [...l.topics], data: l.data })).find((e: LogDescription | null) => e?.name === "RequestExecuted")!;
    expect(fill.args.getValue("fillPrice")).to.equal(report.ask);
    expect(await engine.getFunction("ownerOf")(fill.args.getValue("positionId"))).to.equal(await trader.getAddress());

    const children = devnet.pids();
    expect(children).to.have.length(1);
    const exit = await devnet.interrupt();
    expect(exit, devnet.output.slice(-3000)).to.deep.equal({ code: 0, signal: null });
    for (const port of [nodePort, reportPort]) expect(await portOpen(port), `port ${port} closed`).to.equal(false);
    expect(alive(children[0]!), "the node is gone").to.equal(false);
  });
});

describe("traces/day.csv", () => {
  it("test_dayTrace_isWhatTheGeneratorWrites_24hEvery10s_anEthCrashOfAQuarterWithinAnHour_thenAPartialRebound", async () => {
    const text = await readFile(path.join(ROOT, "traces", "day.csv"), "utf8");
    expect(text, "regenerate with npm run trace:day").to.equal(generateDayTrace());
    const points = TracePriceSource.parseCsv(text);
    expect(points).to.have.length(8641);
    expect(points.at(-1)!.t).to.equal(86_400);
    const eth = (p: (typeof points)[number]) => Number(p.prices["ETH/USD"]! / 10n ** 14n) / 1e4;
    const before = eth(points[CRASH.start / 10]!);
    const hourLater = Math.min(...points.filter((p) => p.t > CRASH.start && p.t <= CRASH.start + 3600).map(eth));
    expect(1 - hourLater / before).to.be.greaterThan(0.25);
    const after = eth(points[CRASH.reboundEnd / 10]!);
    expect(after).to.be.greaterThan(hourLater * 1.1).and.lessThan(before);
    // No step moves more than half the oracle's 1 % deviation bound: a pusher keeps reports within it.
    for (let i = 1; i < points.length; i++) {
      for (const name of ["ETH/USD", "BTC/USD"]) {
        const [a, b] = [points[i - 1]!.prices[name]!, points[i]!.prices[name]!];
        expect(((a > b ? a - b : b - a) * 10_000n) / a, `${name} at ${points[i]!.t}`).to.be.lessThan(50n);
      }
    }
  });
});
