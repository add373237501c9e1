// The SDK as a separate project gets it: `npm pack` in sdk/ (which builds with tsc), an offline
// `npm install` of the tarball into a fresh project, then an ESM import of the installed package
// and a strict type-check of a consumer against its declarations. Offline-safe: ethers, the only
// runtime (peer) dependency, is linked from the repository's node_modules.
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function npm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  const [cmd, pre] = execPath && execPath.endsWith(".js") ? [process.execPath, [execPath]] : ["npm", []];
  return execFileSync(cmd, [...pre, ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
}

describe("sdk package (npm pack, offline install, import)", function () {
  this.timeout(120_000);
  let dir: string;
  let packed: { filename: string; files: { path: string }[] }[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "bulkhead-sdk-consumer-"));
    packed = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], join(root, "sdk")));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    // No registry needed: the tarball has no dependencies and its peer (ethers) is linked below.
    npm(["install", "--offline", "--legacy-peer-deps", "--no-package-lock", join(dir, packed[0]!.filename)], dir);
    symlinkSync(join(root, "node_modules", "ethers"), join(dir, "node_modules", "ethers"), "dir");
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("test_package_packsInstallsOfflineAndImports", () => {
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).to.include.members([
      "dist/index.js", "dist/index.d.ts", "dist/math/index.js", "dist/abis/index.js",
      "dist/cjs/package.json", "dist/cjs/index.js", "dist/cjs/index.d.ts", "dist/cjs/math/index.js", "dist/cjs/abis/index.js",
      "package.json", "README.md", "LICENSE",
    ]);
    expect(files.some((f) => /hardhat|test\//i.test(f))).to.equal(false);
    // The SDK is MIT (front-ends ship it in production); the protocol itself is BUSL-1.1.
    expect(readFileSync(join(root, "sdk", "LICENSE"), "utf8")).to.match(/^MIT License\n/);
    expect(JSON.parse(readFileSync(join(root, "sdk", "package.json"), "utf8")).license).to.equal("MIT");

    const installed = JSON.parse(readFileSync(join(dir, "node_modules", "@bulkhead", "sdk", "package.json"), "utf8"));
    expect(installed.name).to.equal("@bulkhead/sdk");
    expect(Object.keys(installed.dependencies ?? {})).to.deep.equal([]);
    expect(Object.keys(installed.peerDependencies)).to.deep.equal(["ethers"]);

    // Runtime: the installed build imports, its math and vault address work, nothing pulls Hardhat.
    writeFileSync(
      join(dir, "main.mjs"),
      `import * as sdk from "@bulkhead/sdk";
import { PositionMath } from "@bulkhead/sdk/math";
import { bulkheadAbi } from "@bulkhead/sdk/abis";
const out = {
  client: typeof sdk.BulkheadClient.connect,
  notional: PositionMath.notionalUp(10n ** 18n, 3000n * 10n ** 18n, 10n ** 30n).toString(),
  vault: sdk.computeVaultAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", 1n),
  abiFunctions: bulkheadAbi.filter((x) => x.type === "function").length,
  error: new sdk.InsufficientMarginError("InsufficientMargin", { equity: 40_100_000n, required: 52_600_000n }, { ctx: { decimals: 6, symbol: "USDC" } }).message,
  hardhatLoaded: Object.keys(globalThis).includes("__hardhatContext"),
};
console.log(JSON.stringify(out));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ["main.mjs"], { cwd: dir, encoding: "utf8" }));
    expect(out.client).to.equal("function");
    expect(out.notional).to.equal("3000000000");
    expect(out.vault).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(out.abiFunctions).to.be.greaterThan(40);
    expect(out.error).to.equal("needs 12.5 USDC more collateral: equity 40.1, required 52.6");
    expect(out.hardhatLoaded).to.equal(false);
    const grep = spawnSync("grep", ["-rlE", "from \"(hardhat|@nomicfoundation)", join(dir, "node_modules", "@bulkhead", "sdk", "dist")], { encoding: "utf8" });
    expect(grep.stdout.trim(), "built files importing Hardhat").to.equal("");
    expect(grep.status).to.equal(1); // grep ran and found nothing

    // Types: a strict TypeScript consumer type-checks against the shipped declarations.
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { BulkheadClient, type OpenQuote, type PositionView, InsufficientMarginError, formatAmount } from "@bulkhead/sdk";
import { JsonRpcProvider } from "ethers";
export async function f(): Promise<bigint> {
  const client = await BulkheadClient.connect(new JsonRpcProvider("http://127.0.0.1:8545"), { addresses: { engine: "0x0000000000000000000000000000000000000001", lens: "0x0000000000000000000000000000000000000002" } });
  const q: OpenQuote = await client.quoteOpen({ market: 0, side: "long", collateral: 1n, leverage: 2n * 10n ** 18n });
  const v: PositionView | null = await client.getPosition(1n);
  const e = new InsufficientMarginError("InsufficientMargin", { equity: 1n, required: 2n });
  formatAmount(q.openFee, client.token);
  return (v?.health?.equity ?? 0n) + e.shortfall;
}
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2023", "dom"], skipLibCheck: false, types: [] }, files: ["consumer.ts"] }),
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    expect(existsSync(tsc)).to.equal(true);
    execFileSync(process.execPath, [tsc, "-p", dir], { cwd: dir, encoding: "utf8" });
  });

  it("test_package_commonJsRequire_andNode16TypesShareTheAppsEthers", () => {
    // A CommonJS file (as in a project made by a plain `npm init`) requires the installed tarball.
    writeFileSync(
      join(dir, "main.cjs"),
      `const sdk = require("@bulkhead/sdk");
const { PositionMath } = require("@bulkhead/sdk/math");
const { bulkheadAbi } = require("@bulkhead/sdk/abis");
const { JsonRpcProvider } = require("ethers");
let unknownChain;
try { sdk.getDeployment(999); } catch (e) { unknownChain = e.message; }
const quote = sdk.parse(sdk.stringify({ size: 10n ** 18n, issue: new sdk.InsufficientBalanceError("ERC20InsufficientBalance", { sender: "0x0000000000000000000000000000000000000001", balance: 0n, needed: 100_500_000n }, { ctx: { decimals: 6, symbol: "USDC" } }) }));
console.log(JSON.stringify({
  client: typeof sdk.BulkheadClient.connect,
  notional: PositionMath.notionalUp(10n ** 18n, 3000n * 10n ** 18n, 10n ** 30n).toString(),
  abiFunctions: bulkheadAbi.filter((x) => x.type === "function").length,
  provider: typeof JsonRpcProvider,
  rejected: sdk.walletError({ code: 4001 }).message,
  size: typeof quote.size,
  issue: quote.issue instanceof sdk.InsufficientBalanceError ? quote.issue.message : null,
  unknownChain,
}));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ["main.cjs"], { cwd: dir, encoding: "utf8" }));
    expect(out).to.deep.equal({
      client: "function",
      notional: "3000000000",
      abiFunctions: out.abiFunctions,
      provider: "function",
      rejected: "you rejected the transaction in your wallet",
      size: "bigint",
      issue: "needs 100.5 USDC more in the wallet: balance 0, needed 100.5",
      unknownChain: "no Bulkhead deployment is known for chain id 999; known chain ids: none (this build of the SDK ships no deployment): pass `addresses` (engine, lens) to BulkheadClient.connect(), or registerDeployment() first",
    });
    expect(out.abiFunctions).to.be.greaterThan(40);

    // Types under node16 resolution: an ESM and a CommonJS file each hand their own ethers
    // provider to the SDK, which must resolve the same ethers declarations as the file does.
    const consumer = (kind: string) => `import { BulkheadClient, type OpenQuote } from "@bulkhead/sdk";
import { JsonRpcProvider, Wallet } from "ethers";
export async function ${kind}(): Promise<OpenQuote> {
  const provider = new JsonRpcProvider("http://127.0.0.1:8545");
  const client = await BulkheadClient.connect(new Wallet("0x" + "11".repeat(32), provider), { addresses: { engine: "0x0000000000000000000000000000000000000001", lens: "0x0000000000000000000000000000000000000002" } });
  const p = await client.prepareOpen({ market: 0, side: "long", collateral: 1n, leverage: 2n * 10n ** 18n });
  const to: string = p.transactions[0]!.to;
  return { ...p.quote, acceptablePrice: BigInt(to.length) };
}
`;
    writeFileSync(join(dir, "esm.mts"), consumer("esm"));
    writeFileSync(join(dir, "cjs.cts"), consumer("cjs"));
    writeFileSync(
      join(dir, "tsconfig.node16.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "node16", moduleResolution: "node16", target: "es2022", lib: ["es2023", "dom"], skipLibCheck: false, types: [] }, files: ["esm.mts", "cjs.cts"] }),
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.node16.json")], { cwd: dir, encoding: "utf8" });
    expect(r.stdout + r.stderr, "node16 type check").to.equal("");
    expect(r.status).to.equal(0);
  });
});
