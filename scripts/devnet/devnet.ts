/**
 * `npm run devnet`: a local chain that behaves like a testnet with Data Streams. It starts a
 * `hardhat node` (one block a second), deploys `ignition/parameters/localhost-requests.json`
 * through the deploy script (two-step settlement, Chainlink's Verifier with the local oracle set,
 * the order book on the router), serves the local report service (the Data Streams REST API,
 * signed by the local oracle set), publishes the push feeds, starts the keeper through its CLI,
 * prints every address and URL, and stays up. SIGINT, SIGTERM or SIGHUP stops what it started, in
 * order (keeper, pusher, report service, node), and it exits 0. Everything listens on 127.0.0.1.
 *
 * The children run in their own process groups, so a terminal's Ctrl-C reaches this process only
 * and the keeper shuts down cleanly while its node is still up; they are killed if this process
 * exits any other way.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { HDNodeWallet, JsonRpcProvider, Wallet } from "ethers";
import { DeployConfigError } from "../deploy/config.js";
import { DeployError, deployBulkhead, writeRecord, type DeploymentRecord } from "../deploy/deploy.js";
import { LocalOracleSet } from "../streams/oracleSet.js";
import { PushFeedPriceSource, TracePriceSource, type TracePoint } from "../streams/priceSources.js";
import { ReportService, type PriceSource, type Quote } from "../streams/reportService.js";
import { FeedPusher, type PushedFeed } from "./pusher.js";

/** Hardhat's development mnemonic: the node's 20 funded accounts (public keys: local chains only). */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
/** Dev accounts the devnet uses itself: 0 deploys and owns, these two publish prices and keep. */
export const PUSHER_ACCOUNT = 18;
export const KEEPER_ACCOUNT = 19;
/** The report service's API credentials: checked like Chainlink's (HMAC), loopback only. */
export const DEVNET_CREDENTIALS = { apiKey: "devnet-api-key", userSecret: "devnet-user-secret" } as const;
/** Environment the keeper gets for the report service (read by keepers that fetch reports). */
export const STREAMS_ENV = { url: "KEEPER_STREAMS_URL", apiKey: "KEEPER_STREAMS_API_KEY", userSecret: "KEEPER_STREAMS_USER_SECRET" } as const;
export const DEFAULT_TRACE = "traces/day.csv";
const BLOCK_TIME_MS = 1_000;

export type PricesOption = { kind: "feeds" } | { kind: "trace"; file: string };

export interface DevnetOptions {
  hre: HardhatRuntimeEnvironment;
  /** JSON-RPC port of the node on 127.0.0.1. */
  port: number;
  /** Port of the report service on 127.0.0.1 (0: any free one). */
  reportPort: number;
  keeper: boolean;
  prices: PricesOption;
  /** Trace seconds per chain second (trace mode). */
  timeScale: number;
  /** Where the deployment record goes. */
  record: string;
  parameters: string;
  out?: (line: string) => void;
}

/** `feeds`, `trace` or `trace=<file>`. */
export function parsePrices(value: string): PricesOption {
  if (value === "feeds") return { kind: "feeds" };
  if (value === "trace") return { kind: "trace", file: DEFAULT_TRACE };
  if (value.startsWith("trace=") && value.length > "trace=".length) return { kind: "trace", file: value.slice("trace=".length) };
  throw new DevnetError(`--prices must be "feeds", "trace" or "trace=<file>", got "${value}"`);
}

/** A problem the user fixes (printed without a stack trace). */
export class DevnetError extends Error {
  override readonly name = "DevnetError";
}

const devWallet = (i: number) => HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);

/** Trace time runs `scale` times as fast as chain time from `origin`. */
class ScaledSource implements PriceSource {
  constructor(
    private readonly inner: PriceSource,
    private readonly origin: number,
    private readonly scale: number,
  ) {}
  quoteAt(feedId: string, timestamp: number): Promise<Quote | null> {
    return this.inner.quoteAt(feedId, this.origin + Math.floor((timestamp - this.origin) * this.scale));
  }
}

/** A child process with its output kept (and optionally forwarded line by line). */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #tail = "";
  #partial = "";

  constructor(readonly name: string, cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; onLine?: (line: string) => void }) {
    // detached: its own process group, so a terminal's Ctrl-C goes to the devnet, which stops it in order.
    this.proc = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.exited = new Promise((resolve) => this.proc.once("exit", (code, signal) => resolve({ code, signal })));
    const onData = (d: Buffer) => {
      const text = d.toString();
      this.#tail = (this.#tail + text).slice(-8_000);
      if (!options.onLine) return;
      const lines = (this.#partial + text).split("\n");
      this.#partial = lines.pop() ?? "";
      for (const l of lines) if (l.length > 0) options.onLine(l);
    };
    this.proc.stdout!.on("data", onData);
    this.proc.stderr!.on("data", onData);
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  tail(): string {
    return this.#tail;
  }

  /** `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (e: NodeJS.ErrnoException) =>
      reject(new DevnetError(`127.0.0.1:${port} (${what}) is not free (${e.code}): stop what listens there or pass another ${flag}`)),
    );
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}

async function loadTrace(file: string, shown: string): Promise<TracePoint[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new DevnetError(`cannot read the trace ${shown}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const points = TracePriceSource.parseCsv(text);
    if (points.length === 0) throw new SyntaxError("it has no rows");
    new TracePriceSource(points, {}, 0); // checks that times increase
    return points;
  } catch (e) {
    throw new DevnetError(`the trace ${shown} is not a price trace: ${(e as Error).message}`);
  }
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** What `start` brought up, for the banner and for tests. */
export interface DevnetInfo {
  rpcUrl: string;
  reportUrl: string;
  record: DeploymentRecord;
  recordPath: string;
  traceOrigin: number | null;
  nodePid: number;
  keeper: { pid: number; account: string; metricsUrl: string | null } | null;
  pusher: string;
}

export class Devnet {
  readonly #o: DevnetOptions;
  readonly #out: (line: string) => void;
  readonly #root: string;
  #tmp: string | null = null;
  #node: Child | null = null;
  #keeper: Child | null = null;
  #connection: NetworkConnection | null = null;
  #provider: JsonRpcProvider | null = null;
  #service: ReportService | null = null;
  #pusher: FeedPusher | null = null;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  #killOnExit = () => {
    for (const c of [this.#keeper, this.#node]) if (c?.alive) c.proc.kill("SIGKILL");
  };
  /** Called when a child exits while the devnet is not stopping. */
  onChildExit: (name: string, detail: string) => void = () => {};

  constructor(options: DevnetOptions) {
    this.#o = options;
    this.#out = options.out ?? ((l) => process.stdout.write(l + "\n"));
    this.#root = options.hre.config.paths.root;
  }

  #check(): void {
    if (this.#stopping) throw new DevnetError("stopped while starting");
  }

  #watch(child: Child): void {
    void child.exited.then(({ code, signal }) => {
      if (!this.#stopping) this.onChildExit(child.name, `${child.name} exited (${signal ?? `code ${code}`}):\n${child.tail()}`);
    });
  }

  async start(): Promise<DevnetInfo> {
    const o = this.#o;
    const { hre } = o;
    if (!Number.isSafeInteger(o.port) || o.port < 1 || o.port > 65_535) throw new DevnetError(`--port must be a port from 1 to 65535, got ${o.port}`);
    if (!Number.isSafeInteger(o.reportPort) || o.reportPort < 0 || o.reportPort > 65_535) throw new DevnetError(`--report-port must be a port from 0 to 65535, got ${o.reportPort}`);
    if (o.reportPort === o.port) throw new DevnetError(`--report-port must differ from --port (${o.port})`);
    if (!(o.timeScale > 0) || !Number.isFinite(o.timeScale)) throw new DevnetError(`--time-scale must be a positive number, got ${o.timeScale}`);
    const trace = o.prices.kind === "trace" ? await loadTrace(path.resolve(this.#root, o.prices.file), o.prices.file) : null;
    await assertPortFree(o.port, "the node", "--port");
    if (o.reportPort !== 0) await assertPortFree(o.reportPort, "the report service", "--report-port");
    process.once("exit", this.#killOnExit);
    this.#tmp = await mkdtemp(path.join(tmpdir(), "bulkhead-devnet-"));

    // The node: `hardhat node`, as `npm run node` starts it, on the chosen port.
    const rpcUrl = `http://127.0.0.1:${o.port}`;
    const cli = path.join(path.dirname(createRequire(import.meta.url).resolve("hardhat/package.json")), "dist", "src", "cli.js");
    this.#node = new Child("node", process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(o.port)], {
      cwd: this.#root,
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    this.#watch(this.#node);
    const deadline = Date.now() + 60_000;
    for (;;) {
      this.#check();
      if (!this.#node.alive) throw new DevnetError(`the node exited while starting:\n${this.#node.tail()}`);
      if (await rpc(rpcUrl, "eth_chainId").then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new DevnetError(`the node did not answer on ${rpcUrl} within 60 s:\n${this.#node.tail()}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    // A block a second, like a testnet: chain time follows the wall clock, and the keeper and the
    // pusher see new blocks when nobody trades; transactions are still mined at once.
    await rpc(rpcUrl, "evm_setIntervalMining", [BLOCK_TIME_MS]);
    this.#out(`node      ${rpcUrl} (pid ${this.#node.proc.pid})`);

    // Deploy through the deploy script, with a journal of its own: a fresh chain every run.
    this.#connection = await hre.network.create({ network: "localhost", override: { url: rpcUrl } });
    this.#out(`deploying ${o.parameters}`);
    const record = await deployBulkhead({
      hre,
      connection: this.#connection,
      parametersPath: o.parameters,
      deploymentsDir: null,
      journalDir: path.join(this.#tmp, "journal"),
    });
    if (!record.router || !record.oracle || !record.verifierProxy || record.markets.some((m) => !m.streamId || !m.configDigest)) {
      throw new DevnetError(`${o.parameters} does not deploy two-step settlement with the local Verifier: the devnet needs a "streams" section with "verifierProxy": "local"`);
    }
    const recordPath = path.resolve(this.#root, o.record);
    await writeRecord(recordPath, record);
    this.#check();

    // The report service, priced from the push feeds or the trace.
    // No response cache (ethers keeps identical calls 250 ms by default): a report of the latest
    // second must see the latest block and the feed answer of that block.
    const provider = new JsonRpcProvider(rpcUrl, record.chainId, { staticNetwork: true, pollingInterval: 250, cacheTimeout: -1 });
    this.#provider = provider;
    const chainTime = async () => (await provider.getBlock("latest"))!.timestamp;
    let source: PriceSource;
    let traceOrigin: number | null = null;
    if (trace) {
      const names = new Set(Object.keys(trace[0]?.prices ?? {}));
      const missing = record.markets.filter((m) => !names.has(m.symbol)).map((m) => m.symbol);
      if (missing.length > 0) throw new DevnetError(`the trace has no column for ${missing.join(", ")} (its header names ${[...names].join(", ")})`);
      traceOrigin = await chainTime();
      const inner = new TracePriceSource(trace, Object.fromEntries(record.markets.map((m) => [m.symbol, m.streamId!])), traceOrigin);
      source = new ScaledSource(inner, traceOrigin, o.timeScale);
    } else {
      source = new PushFeedPriceSource(provider, Object.fromEntries(record.markets.map((m) => [m.streamId!, m.feed])));
    }
    this.#service = new ReportService({
      oracles: LocalOracleSet.deterministic(),
      feeds: record.markets.map((m) => ({ feedId: m.streamId!, name: m.symbol, configDigest: m.configDigest! })),
      source,
      now: chainTime,
      credentials: { ...DEVNET_CREDENTIALS },
    });
    const reportUrl = await this.#service.listen(o.reportPort).catch((e: NodeJS.ErrnoException) => {
      throw new DevnetError(`the report service cannot listen on 127.0.0.1:${o.reportPort} (${e.code ?? e.message}): pass another --report-port`);
    });
    this.#check();

    // The push feeds: follow the trace (a tenth of the oracle's deviation bound), or just stay fresh.
    const pusherWallet = new Wallet(devWallet(PUSHER_ACCOUNT).privateKey, provider);
    const byFeed = new Map(record.markets.map((m) => [m.feed, m]));
    const pushed: PushedFeed[] = record.markets.map((m) => ({
      name: m.symbol,
      aggregator: m.feed,
      decimals: m.feedDecimals,
      deviationBps: BigInt(Math.max(1, Math.floor((m.maxDeviationBps ?? 100) / 10))),
      heartbeat: Math.max(10, Math.floor(m.heartbeat / 4)),
    }));
    this.#pusher = new FeedPusher(pusherWallet, pushed, {
      target: trace
        ? async (f, t) => (await source.quoteAt(byFeed.get(f.aggregator)!.streamId!, t))?.price ?? null
        : async () => null,
      log: (l) => this.#out(`pusher | ${l}`),
    });
    await this.#pusher.tick(); // the feeds start at the trace's first prices
    this.#pusher.start();
    this.#check();

    // The keeper, through its CLI, with a dev account and a store of its own.
    let keeper: DevnetInfo["keeper"] = null;
    if (o.keeper) {
      const key = devWallet(KEEPER_ACCOUNT);
      let metricsUrl: string | null = null;
      let started = false;
      const child = new Child(
        "keeper",
        process.execPath,
        [
          path.join(this.#root, "keeper", "bin", "keeper.mjs"),
          "--network", "localhost",
          "--rpc", rpcUrl,
          "--deployment", recordPath,
          "--store", path.join(this.#tmp, "keeper-store.json"),
          "--metrics-port", "0",
          "--poll-interval-ms", "500",
        ],
        {
          cwd: this.#root,
          env: {
            ...process.env,
            KEEPER_PRIVATE_KEY: key.privateKey,
            [STREAMS_ENV.url]: reportUrl,
            [STREAMS_ENV.apiKey]: DEVNET_CREDENTIALS.apiKey,
            [STREAMS_ENV.userSecret]: DEVNET_CREDENTIALS.userSecret,
          },
          onLine: (l) => {
            const m = /\bmetrics\.listening\b.*\burl="?(http:\/\/[^\s"]+)/.exec(l);
            if (m) metricsUrl = m[1]!.replace(/\/metrics$/, "");
            if (/\bkeeper\.started\b/.test(l)) started = true;
            this.#out(`keeper | ${l}`);
          },
        },
      );
      this.#keeper = child;
      this.#watch(child);
      this.#out(`keeper    starting (pid ${child.proc.pid}, dev account ${KEEPER_ACCOUNT})`);
      const until = Date.now() + 60_000;
      while (!started) {
        this.#check();
        if (!child.alive) throw new DevnetError(`the keeper exited while starting:\n${child.tail()}`);
        if (Date.now() > until) throw new DevnetError(`the keeper did not start within 60 s:\n${child.tail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      keeper = { pid: child.proc.pid!, account: key.address, metricsUrl };
    }
    return { rpcUrl, reportUrl, record, recordPath, traceOrigin, nodePid: this.#node.proc.pid!, keeper, pusher: pusherWallet.address };
  }

  /** SIGKILLs the children at once (a second Ctrl-C); {@link stop} then finishes quickly. */
  kill(): void {
    this.#stopping = true;
    this.#killOnExit();
  }

  /** Stops everything started so far (idempotent): keeper, pusher, report service, node. */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped ??= (async () => {
      await this.#keeper?.stop("SIGTERM", 20_000);
      await this.#pusher?.stop();
      await this.#service?.close();
      this.#provider?.destroy();
      await this.#connection?.close().catch(() => {});
      await this.#node?.stop("SIGTERM", 5_000);
      process.removeListener("exit", this.#killOnExit);
      if (this.#tmp) await rm(this.#tmp, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

/** The printed summary: `name  value` lines a person reads and a test parses. */
export function banner(info: DevnetInfo, o: { prices: PricesOption; timeScale: number; root: string }): string[] {
  const r = info.record;
  const rel = (p: string) => {
    const r = path.relative(o.root, p);
    return r.startsWith("..") || path.isAbsolute(r) ? p : r.split(path.sep).join("/");
  };
  const row = (k: string, v: string) => `  ${k.padEnd(16)} ${v}`;
  const prices = o.prices.kind === "feeds" ? "feeds (the report service prices from the push feeds: updateAnswer moves both)" : `trace ${o.prices.file} x${o.timeScale} from chain time ${info.traceOrigin}`;
  return [
    "",
    `Bulkhead devnet: chain ${r.chainId}, two-step settlement with the local oracle set, prices from ${prices}`,
    row("rpc", info.rpcUrl),
    row("report service", info.reportUrl),
    row("api key", DEVNET_CREDENTIALS.apiKey),
    row("user secret", DEVNET_CREDENTIALS.userSecret),
    row("engine", r.engine),
    row("pool", r.pool),
    row("lens", r.lens),
    row("router", r.router!),
    row("order book", r.orderBook!),
    row("oracle", r.oracle!),
    row("verifier proxy", r.verifierProxy!),
    row("verifier", r.verifier ?? "-"),
    row("token", `${r.token} (${r.tokenSymbol}, ${r.tokenDecimals} decimals; anyone may faucet(to, amount))`),
    ...r.markets.map((m) => row(`market ${m.id}`, `${m.symbol} feed ${m.feed} stream ${m.streamId}`)),
    row("deployment", rel(info.recordPath)),
    ...(info.traceOrigin === null ? [] : [row("trace origin", String(info.traceOrigin))]),
    row("node pid", String(info.nodePid)),
    info.keeper
      ? row("keeper", `${info.keeper.account} (dev account ${KEEPER_ACCOUNT}) pid ${info.keeper.pid} metrics ${info.keeper.metricsUrl ?? "-"}`)
      : row("keeper", "not started (--no-keeper)"),
    row("price pusher", `${info.pusher} (dev account ${PUSHER_ACCOUNT})`),
    row("accounts", `mnemonic "${DEV_MNEMONIC}": 0 deploys and owns, 1-17 are yours, ${PUSHER_ACCOUNT} and ${KEEPER_ACCOUNT} are the devnet's`),
    "",
    "devnet ready: Ctrl-C stops everything",
  ];
}

/** Runs the devnet until a signal; resolves with the exit code. */
export async function runDevnet(options: DevnetOptions): Promise<number> {
  const out = options.out ?? ((l: string) => process.stdout.write(l + "\n"));
  const devnet = new Devnet({ ...options, out });
  let resolveStop!: (code: number) => void;
  const stopRequested = new Promise<number>((r) => (resolveStop = r));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      out(`${signal} again: killing what is left`);
      devnet.kill();
      return;
    }
    signalled = true;
    out(`\n${signal}: stopping the devnet (again to kill at once)`);
    resolveStop(0);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  devnet.onChildExit = (_name, detail) => {
    // A terminal's signal may reach a child first: give ours a moment to arrive before calling it a failure.
    setTimeout(() => {
      out(`devnet: ${detail}`);
      resolveStop(1);
    }, 300);
  };
  let code: number;
  try {
    const starting = devnet.start();
    starting.catch(() => {});
    const first = await Promise.race([starting.then((info) => ({ info })), stopRequested.then((c) => ({ code: c }))]);
    if ("info" in first) {
      for (const l of banner(first.info, { prices: options.prices, timeScale: options.timeScale, root: options.hre.config.paths.root })) out(l);
      code = await stopRequested;
    } else {
      code = first.code;
    }
  } catch (e) {
    const plain = e instanceof DevnetError || e instanceof DeployConfigError || e instanceof DeployError;
    out(`devnet: ${plain ? e.message : ((e as Error).stack ?? String(e))}`);
    code = 1;
  }
  await devnet.stop();
  for (const s of signals) process.off(s, onSignal);
  out(code === 0 ? "devnet stopped" : "devnet stopped after a failure");
  return code;
}
