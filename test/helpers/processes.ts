// Real processes for the deploy, demo, SDK and keeper tests: a free port on 127.0.0.1, the Hardhat
// CLI run as a child (the very command a user types), and JSON-RPC nodes (hardhat, anvil) that each test stops itself.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import hre from "hardhat";

const require = createRequire(import.meta.url);
/** The project root (where hardhat.config.ts lives). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Hardhat's CLI entry, run with this Node so no wrapper process sits between the test and it. */
export const HARDHAT_CLI = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");

/**
 * Skips the calling suite or test under `hardhat test --coverage`: the instrumented contracts
 * outgrow the 24,576-byte code size limit that real node processes enforce, and a child Hardhat
 * process rebuilds the uninstrumented ones. Those tests exercise the transport, the deploy scripts,
 * the CLI and the SDK over JSON-RPC, not contract lines; the same contract code is covered in-process.
 */
export function skipUnderCoverage(suite: Mocha.Context): void {
  if (hre.globalOptions.coverage === true) suite.skip();
}

/** A port nothing listens on right now (127.0.0.1 only). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export type Run = { code: number | null; stdout: string; stderr: string };

/** Runs a command to completion; `env` is added to (or, with undefined values, removed from) ours. */
export function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
    const child = spawn(cmd, args, { cwd: ROOT, env: merged, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `npm run <script> -- <args>`: exactly what the README tells a user to type. */
export const npmRun = (script: string, args: string[], env: Record<string, string | undefined> = {}) =>
  run(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "--silent", script, "--", ...args], env);

/** The two JSON-RPC node implementations the tests run against. */
export type NodeKind = "hardhat" | "anvil";
export const NODE_KINDS: readonly NodeKind[] = ["hardhat", "anvil"];

export type NodeProcess = { kind: NodeKind; url: string; child: ChildProcess; stop(): Promise<void> };

/** Foundry's anvil binary from its npm platform package (no wrapper process between us and it). */
function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch {
    throw new Error(`anvil is not installed for ${process.platform}/${process.arch} (npm package ${pkg}); run npm install`);
  }
}

/** The command line of each node, bound to 127.0.0.1: both use chain id 31337 and the same dev mnemonic. */
function nodeCommand(kind: NodeKind, port: number): [string, string[]] {
  if (kind === "hardhat") return [process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)]];
  return [anvilBinary(), ["--host", "127.0.0.1", "--port", String(port), "--chain-id", "31337", "--accounts", "20", "--silent"]];
}

/** Starts a JSON-RPC node process (`hardhat node` by default, or anvil) on 127.0.0.1:<free port> and waits until it answers. */
export async function startNodeProcess(kind: NodeKind = "hardhat", timeoutMs = 60_000): Promise<NodeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [cmd, args] = nodeCommand(kind, port);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  let log = "";
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-8_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  // A test runner that dies mid-suite must not leave a node listening behind it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} node exited early:\n${log}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} node did not answer on ${url} within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { kind, url, child, stop };
}
