// Reference app benchmark (printed and written to bench/app.md, not asserted):
//   npm run bench:app
// 1. the production bundle (vite build): bytes and gzip bytes of each asset;
// 2. against a `hardhat node` started here with the deploy script's deployment and 10 open
//    positions of one trader: time from navigation (connect clicked as soon as it shows) to the
//    first render of all 10 position rows in Debian's Chromium, and the JSON-RPC requests the
//    page sent through its injected EIP-1193 wallet until then. Everything started is stopped.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import {
  ACCOUNTS, buildApp, CHROMIUM_MISSING, findChromium, injectWallet, launchChromium, requestsAtRows, ROOT, serveStatic, startLocalSystem,
} from "../test/app/harness.js";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const POSITIONS = 10;
const RUNS = 5;
const lines: string[] = [];
const say = (text: string) => {
  console.log(text);
  lines.push(text);
};
const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const chromiumPath = findChromium();
if (chromiumPath === null) throw new Error(CHROMIUM_MISSING);
const sys = await startLocalSystem();
const outDir = await mkdtemp(path.join(tmpdir(), "bulkhead-app-bench-"));
const server = { close: async () => {} };
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
try {
  await buildApp(sys.recordFile, outDir);
  say("# Reference app benchmark\n");
  say("| asset | bytes | gzip |\n|---|---:|---:|");
  let gz = 0;
  let raw = 0;
  for (const f of (await readdir(path.join(outDir, "assets"))).sort()) {
    const body = await readFile(path.join(outDir, "assets", f));
    const g = gzipSync(body).length;
    gz += g;
    raw += body.length;
    say(`| ${f.replace(/-[\w-]{8}\./, ".")} | ${kb(body.length)} | ${kb(g)} |`);
  }
  say(`| **total** | ${kb(raw)} | **${kb(gz)}** |\n`);

  const trader = await sys.client(ACCOUNTS.trader);
  const address = await trader.signer!.getAddress();
  for (let i = 0; i < POSITIONS; i++) {
    await trader.open({ market: i % 2, side: i % 3 === 0 ? "short" : "long", collateral: BigInt(100 + 10 * i) * USDC, leverage: BigInt(2 + i) * WAD });
  }
  const http = await serveStatic(outDir);
  server.close = http.close;
  browser = await launchChromium(chromiumPath);
  const times: number[] = [];
  const requests: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    await injectWallet(page, sys.node.url, address);
    const atRows = await requestsAtRows(page, POSITIONS);
    const t0 = performance.now();
    await page.goto(http.url);
    await page.getByTestId("connect").click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid^="position-"]').length === n, POSITIONS, { polling: 10 });
    times.push(performance.now() - t0);
    // Counted when the rows entered the DOM: the ticket's quote and the new-block check come after.
    requests.push((await atRows()).length);
    await context.close();
  }
  say(`First render of ${POSITIONS} positions against a local hardhat node (${RUNS} runs, fresh browser context each):\n`);
  say(`| metric | median | runs |\n|---|---:|---|`);
  say(`| navigation to ${POSITIONS} position rows | ${median(times).toFixed(0)} ms | ${times.map((t) => t.toFixed(0)).join(", ")} |`);
  say(`| JSON-RPC requests through the wallet until then | ${median(requests)} | ${requests.join(", ")} |`);
  await writeFile(path.join(ROOT, "bench", "app.md"), `${lines.join("\n")}\n`);
} finally {
  await browser?.close();
  await server.close();
  await sys.stop();
  await rm(outDir, { recursive: true, force: true });
}
