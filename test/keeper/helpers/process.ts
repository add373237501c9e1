// Runs the keeper as an operator would (`node keeper/bin/keeper.mjs ...`) in a child process,
// collects its JSON log lines, waits for events, reads its /health, and always stops it.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT as root } from "../../helpers/processes.js";

export type LogLine = { time: string; level: string; event: string } & Record<string, unknown>;

export const KEEPER_BIN = join(root, "keeper", "bin", "keeper.mjs");

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** The fields of the keeper's `/health` report the tests read (keeper/src/keeper.ts `health()`). */
export type KeeperHealth = Record<string, unknown> & {
  status: string;
  positionsTracked: number;
  lastBlock: number;
  /** Last confirmed block persisted in the store. */
  checkpoint: number;
  liquidatable: number;
  pendingTxs: number;
  liquidations: number;
};

export class KeeperProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Non-JSON output (stderr, fatal messages). */
  raw = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  metricsPort: number | null = null;

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [KEEPER_BIN, "--log-format", "json", ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...(process.env.KEEPER_TEST_LOG_LEVEL ? { KEEPER_LOG_LEVEL: process.env.KEEPER_TEST_LOG_LEVEL } : {}), ...env },
    });
    running.add(this.child);
    let buffer = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.lines.push(parsed);
          if (parsed.event === "metrics.listening") this.metricsPort = Number(parsed.port);
        } catch {
          this.raw += line + "\n";
        }
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.raw += d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      }),
    );
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  events(name: string): LogLine[] {
    return this.lines.filter((l) => l.event === name);
  }

  /** Waits until `predicate` holds (checked every 50 ms); throws with the log tail on timeout or exit. */
  async waitFor<T>(what: string, predicate: () => T | undefined | false | null, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = predicate();
      if (v) return v;
      if (!this.alive) throw new Error(`keeper exited while waiting for ${what}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async waitForEvent(name: string, predicate: (l: LogLine) => boolean = () => true, timeoutMs = 60_000): Promise<LogLine> {
    return this.waitFor(`event ${name}`, () => this.lines.find((l) => l.event === name && predicate(l)), timeoutMs);
  }

  /** GET /health as JSON. */
  async health(): Promise<KeeperHealth> {
    if (this.metricsPort === null) await this.waitFor("the metrics port", () => this.metricsPort);
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/health`);
    return (await res.json()) as never;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  tail(n = 40): string {
    return [...this.lines.slice(-n).map((l) => JSON.stringify(l)), this.raw.slice(-3_000)].join("\n");
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      const r = await this.exited;
      clearTimeout(timer);
      return r;
    }
    return this.exited;
  }
}

/** Runs the keeper to its exit (bad configurations); returns the code and all output. */
export async function runKeeperToExit(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [KEEPER_BIN, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } });
  running.add(child);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  running.delete(child);
  return { code, output };
}
