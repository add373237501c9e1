// What the app test and the app bench share: a `hardhat node` with the real deploy script's
// deployment, the app built by Vite with that record, a static server for it on 127.0.0.1,
// Debian's Chromium through playwright-core, and an injected EIP-1193 wallet that forwards
// JSON-RPC to the node (whose unlocked dev accounts sign `eth_sendTransaction`).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { Contract, JsonRpcProvider } from "ethers";
import { BulkheadClient, type Deployment, type ReportV3 } from "@bulkhead/sdk";
import { LocalOracleSet } from "../../scripts/streams/oracleSet.js";
import { chromium, type Browser, type Page } from "playwright-core";
import { freePort, HARDHAT_CLI, npmRun, ROOT, run, startNodeProcess, type NodeProcess } from "../helpers/processes.js";

const require = createRequire(import.meta.url);

export const CHROMIUM_MISSING =
  "No Chromium found for the app test: install Debian's with `apt-get install -y --no-install-recommends chromium` (or set BULKHEAD_CHROMIUM to a Chromium binary).";

/** BULKHEAD_CHROMIUM, else Debian's /usr/bin/chromium; null when neither exists. */
export function findChromium(): string | null {
  const given = process.env.BULKHEAD_CHROMIUM;
  if (given) return existsSync(given) ? given : null;
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null;
}

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Dev accounts of the node, by role. */
export const ACCOUNTS = { deployer: 0, lp: 2, trader: 3, keeper: 5, empty: 7 } as const;

export interface LocalSystem {
  node: NodeProcess;
  dir: string;
  recordFile: string;
  record: Omit<Deployment, "markets"> & { orderBook?: string; markets: (Deployment["markets"][number] & { feedDecimals?: number; configDigest?: string })[] };
  provider: JsonRpcProvider;
  client(account: number): Promise<BulkheadClient>;
  /** Sets a market's push-feed answer (the local MockV3Aggregator takes it from anyone). */
  setPrice(marketId: number, priceWad: bigint): Promise<void>;
  /** A Data Streams report of `marketId` for second `at`, signed by the local oracle set the deployment trusts. */
  signReport(marketId: number, at: number, priceWad: bigint): string;
  stop(): Promise<void>;
}

/**
 * A node, `npm run deploy -- --network localhost` into a temporary record (`parameters`: a file of
 * ignition/parameters/, default localhost.json), an LP deposit and funded accounts.
 */
export async function startLocalSystem(parameters = "localhost.json"): Promise<LocalSystem> {
  const dir = await mkdtemp(path.join(tmpdir(), "bulkhead-app-"));
  const node = await startNodeProcess("hardhat");
  const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
  const stop = async () => {
    provider.destroy();
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const res = await npmRun(
      "deploy",
      ["--network", "localhost", "--parameters", path.join(ROOT, "ignition", "parameters", parameters), "--deployments-dir", path.join(dir, "deployments"), "--journal-dir", path.join(dir, "journal")],
      { LOCALHOST_RPC_URL: node.url, NO_COLOR: "1" },
    );
    if (res.code !== 0) throw new Error(`deploy failed:\n${res.stdout}\n${res.stderr}`);
    const recordFile = path.join(dir, "deployments", "localhost.json");
    const record = JSON.parse(await readFile(recordFile, "utf8")) as LocalSystem["record"];
    const client = async (account: number) => BulkheadClient.connect(await provider.getSigner(account), { addresses: record, pollingInterval: 100 });
    const deployer = await provider.getSigner(ACCOUNTS.deployer);
    const token = new Contract(record.token, ["function faucet(address,uint256)"], deployer);
    for (const a of [ACCOUNTS.lp, ACCOUNTS.trader, ACCOUNTS.keeper]) {
      await (await token.getFunction("faucet")(await (await provider.getSigner(a)).getAddress(), 2_000_000n * 10n ** 6n)).wait();
    }
    const lp = await client(ACCOUNTS.lp);
    const assets = 1_000_000n * 10n ** 6n;
    if (await lp.isPoolAsync()) {
      // An engine with a settler has an ERC-7540 pool: request, execute (no open interest, so no
      // report is read), claim.
      const { requestId } = await lp.requestDeposit({ assets });
      await lp.executeLpRequest({ requestId, reports: record.markets.map(() => "0x") });
      await lp.claimDeposit();
    } else {
      await lp.deposit({ assets });
    }
    const setPrice = async (marketId: number, priceWad: bigint) => {
      const m = record.markets.find((x) => x.id === marketId)!;
      const decimals = m.feedDecimals ?? 8;
      const feed = new Contract(m.feed, ["function updateAnswer(int256)"], deployer);
      await (await feed.getFunction("updateAnswer")(priceWad / 10n ** BigInt(18 - decimals))).wait();
    };
    const oracleSet = LocalOracleSet.deterministic();
    const signReport = (marketId: number, at: number, priceWad: bigint) => {
      const m = record.markets.find((x) => x.id === marketId)!;
      const spread = priceWad / 1000n;
      const report: ReportV3 = {
        feedId: m.streamId!, validFromTimestamp: at, observationsTimestamp: at, nativeFee: 0n, linkFee: 0n,
        expiresAt: at + 3600, price: priceWad, bid: priceWad - spread, ask: priceWad + spread,
      };
      return oracleSet.sign(report, m.configDigest!, { epoch: at, round: 0 });
    };
    return { node, dir, recordFile, record, provider, client, setPrice, signReport, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `vite build` of app/ into `outDir`, with the record copied in as deployment.json (the app's real build plugin). */
export async function buildApp(recordFile: string, outDir: string): Promise<void> {
  const vite = path.join(path.dirname(require.resolve("vite/package.json")), "bin", "vite.js");
  const res = await run(process.execPath, [vite, "build", "app", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], { BULKHEAD_DEPLOYMENT: recordFile }, 180_000);
  if (res.code !== 0) throw new Error(`vite build failed:\n${res.stdout}\n${res.stderr}`);
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png" };

/** A static server of `dir` on 127.0.0.1 (a free port). */
export async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const root = path.resolve(dir);
  const server: Server = createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.resolve(root, `.${pathname === "/" ? "/index.html" : pathname}`);
    if (!file.startsWith(root + path.sep)) {
      res.statusCode = 403;
      res.end();
      return;
    }
    try {
      const body = await readFile(file);
      res.setHeader("content-type", TYPES[path.extname(file)] ?? "application/octet-stream");
      res.setHeader("cache-control", "no-store");
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The wallet the page sees, driven from the test. */
export interface InjectedWallet {
  /** Answer the next `eth_sendTransaction` with an EIP-1193 user rejection (code 4001). */
  rejectNext: boolean;
  /** JSON-RPC methods the page sent, in order. */
  requests: string[];
  /** The chain the wallet says it is on (null: the node's); `wallet_switchEthereumChain` moves it and emits `chainChanged`. */
  chainId: number | null;
  /** The account the wallet shares (a node-unlocked one); {@link switchAccount} changes it. */
  account: string;
}

/**
 * Call before navigating: the page records the JSON-RPC methods its wallet was asked for at the
 * moment `n` position rows are first in the DOM (a MutationObserver callback, which runs before
 * any effect the render schedules, such as the ticket's quote). The returned function waits for
 * that moment and gives the list.
 */
export async function requestsAtRows(page: Page, n: number): Promise<() => Promise<string[]>> {
  await page.addInitScript({
    content: `(() => {
      const check = () => {
        if (window.__bulkheadAtRows === undefined && document.querySelectorAll('[data-testid^="position-"]').length === ${n}) {
          window.__bulkheadAtRows = [...window.__bulkheadWalletMethods];
        }
      };
      new MutationObserver(check).observe(document, { childList: true, subtree: true });
    })();`,
  });
  type Recorded = { __bulkheadAtRows?: string[] };
  return async () => {
    await page.waitForFunction(() => (window as unknown as Recorded).__bulkheadAtRows !== undefined, undefined, { polling: 10 });
    return page.evaluate(() => (window as unknown as Recorded).__bulkheadAtRows!);
  };
}

/** The user picks another account in the wallet (`to`), or disconnects the site (null): the wallet answers with it and emits `accountsChanged`. */
export async function switchAccount(page: Page, wallet: InjectedWallet, to: string | null): Promise<void> {
  if (to !== null) wallet.account = to;
  await page.evaluate((accounts) => (window as unknown as { __bulkheadWalletEmit(e: string, a: unknown): void }).__bulkheadWalletEmit("accountsChanged", accounts), to === null ? [] : [to]);
}

/**
 * Injects an EIP-1193 provider, announced through EIP-6963 (and set as window.ethereum), whose
 * requests the test process forwards to the node as `account`.
 */
export async function injectWallet(page: Page, nodeUrl: string, account: string, opts: { chainId?: number } = {}): Promise<InjectedWallet> {
  const wallet: InjectedWallet = { rejectNext: false, requests: [], chainId: opts.chainId ?? null, account };
  let id = 0;
  const send = async (method: string, params: unknown[]) => {
    const res = await fetch(nodeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
    });
    return (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  };
  const rpc = async (method: string, params: unknown[]) => (await send(method, params)).result;
  await page.exposeFunction("__bulkheadWalletRpc", async (method: string, params: unknown[]) => {
    wallet.requests.push(method);
    if (method === "eth_requestAccounts" || method === "eth_accounts") return { result: [wallet.account] };
    if (method === "eth_chainId" && wallet.chainId !== null) return { result: `0x${wallet.chainId.toString(16)}` };
    if (method === "wallet_switchEthereumChain") {
      const to = Number((params[0] as { chainId: string }).chainId);
      const node = Number(await rpc("eth_chainId", []));
      if (to !== node) return { error: { code: 4902, message: "Unrecognized chain ID." } };
      wallet.chainId = null;
      setTimeout(() => void page.evaluate((id) => (window as unknown as { __bulkheadWalletEmit(e: string, a: unknown): void }).__bulkheadWalletEmit("chainChanged", id), `0x${to.toString(16)}`), 0);
      return { result: null };
    }
    if (method === "eth_sendTransaction" && wallet.rejectNext) {
      wallet.rejectNext = false;
      return { error: { code: 4001, message: "User rejected the request." } };
    }
    const json = await send(method, params);
    return json.error ? { error: json.error } : { result: json.result };
  });
  // Plain JavaScript text: a serialized TypeScript function would carry the test transpiler's helpers.
  await page.addInitScript({ content: WALLET_SCRIPT });
  return wallet;
}

const WALLET_SCRIPT = `(() => {
  const listeners = new Map();
  window.__bulkheadWalletMethods = [];
  const provider = {
    isTestWallet: true,
    async request({ method, params }) {
      window.__bulkheadWalletMethods.push(method);
      const r = await window.__bulkheadWalletRpc(method, params ?? []);
      if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code, data: r.error.data });
      return r.result;
    },
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
    },
    removeListener(event, fn) {
      listeners.get(event)?.delete(fn);
    },
  };
  const info = { uuid: "6b0b8f5e-0000-4000-8000-000000000001", name: "Test Wallet", icon: "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>", rdns: "dev.bulkhead.testwallet" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.__bulkheadWalletEmit = (event, arg) => listeners.get(event)?.forEach((fn) => fn(arg));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  window.ethereum = provider;
})();`;

/** Sets a React-controlled input (a range slider among them) the way a user's input event does. */
export async function setInput(page: Page, selector: string, value: string): Promise<void> {
  await page.locator(selector).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
    setter.call(input, v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

export { ROOT };

/** Skips the suite (printing why) without a browser, or fails it under CI=true, where one must be installed. */
export function requireChromium(suite: Mocha.Context): void {
  if (findChromium() !== null) return;
  if (process.env.CI === "true") throw new Error(CHROMIUM_MISSING);
  console.log(`      ${CHROMIUM_MISSING}`);
  suite.skip();
}

/** Polls `check` until it holds (the page re-reads the chain on every new block). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The whole rig: a deployed node, the built app served, Chromium with the wallet connected as `account`. */
export interface AppRig {
  sys: LocalSystem;
  url: string;
  browser: Browser;
  page: Page;
  wallet: InjectedWallet;
  /** The page's errors and console lines, for a failing test's output. */
  log: string[];
  close(): Promise<void>;
}

/**
 * Builds the app for the deployment record, serves it, opens it in Chromium with a wallet of
 * `account` on `rpc` injected, and connects; each thing started is pushed onto `closers`.
 */
async function openApp(closers: (() => Promise<void>)[], recordFile: string, rpc: string, account: string) {
  const outDir = await mkdtemp(path.join(tmpdir(), "bulkhead-app-dist-"));
  closers.push(() => rm(outDir, { recursive: true, force: true }));
  await buildApp(recordFile, outDir);
  const server = await serveStatic(outDir);
  closers.push(server.close);
  const browser = await launchChromium(findChromium()!);
  closers.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const log: string[] = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  const wallet = await injectWallet(page, rpc, account);
  await page.goto(server.url);
  await page.getByTestId("connect").click();
  await page.getByTestId("markets").waitFor();
  return { url: server.url, browser, page, wallet, log };
}

export async function startApp(parameters: string, account: number): Promise<AppRig> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const sys = await startLocalSystem(parameters);
    closers.push(sys.stop);
    const app = await openApp(closers, sys.recordFile, sys.node.url, await (await sys.provider.getSigner(account)).getAddress());
    return { sys, ...app, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The app against `npm run devnet` (the Hardhat CLI's `devnet` task: node, two-step deployment, report service, keeper), a child of the test. */
export interface DevnetRig {
  rpc: string;
  record: Deployment & { orderBook?: string };
  provider: JsonRpcProvider;
  client(account: number): Promise<BulkheadClient>;
  url: string;
  browser: Browser;
  page: Page;
  wallet: InjectedWallet;
  log: string[];
  /** The devnet's output so far, for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

export async function startDevnetApp(account: number): Promise<DevnetRig> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const dir = await mkdtemp(path.join(tmpdir(), "bulkhead-app-devnet-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const [port, reportPort] = [await freePort(), await freePort()];
    const recordFile = path.join(dir, "devnet.json");
    const child = spawn(process.execPath, [HARDHAT_CLI, "devnet", "--port", String(port), "--report-port", String(reportPort), "--record", recordFile], {
      cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // A test runner that dies mid-suite must not leave the devnet behind it.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    closers.push(async () => {
      process.removeListener("exit", killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        // SIGINT is the devnet's own stop (node, report service and keeper); SIGKILL if it hangs.
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
      }
      // Its node and keeper, should it have died without stopping them.
      for (const re of [/^node {4,}\S+ \(pid (\d+)\)/m, /^keeper {4,}starting \(pid (\d+)/m]) {
        const pid = Number(re.exec(output)?.[1]);
        if (pid > 0) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
    });
    const deadline = Date.now() + 120_000;
    while (!output.includes("devnet ready")) {
      if (child.exitCode !== null) throw new Error(`the devnet exited (${child.exitCode}) before it was ready:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the devnet was not ready within 120 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const rpc = `http://127.0.0.1:${port}`;
    const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 200 });
    closers.push(async () => provider.destroy());
    const record = JSON.parse(await readFile(recordFile, "utf8")) as DevnetRig["record"];
    const client = async (a: number) => BulkheadClient.connect(await provider.getSigner(a), { addresses: record, pollingInterval: 200 });

    const app = await openApp(closers, recordFile, rpc, await (await provider.getSigner(account)).getAddress());
    return { rpc, record, provider, client, ...app, output: () => output, close };
  } catch (e) {
    await close();
    throw e;
  }
}
