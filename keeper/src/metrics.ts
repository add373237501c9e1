/**
 * Operator visibility over HTTP on 127.0.0.1 only:
 * - `GET /health`: JSON status, 200 while the keeper is synced and its last cycle is recent, 503
 *   otherwise (starting, RPC down, stuck);
 * - `GET /metrics`: Prometheus text format (positions tracked, liquidations, failures, last
 *   block, feed staleness, sequencer, RPC requests, pending transactions).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Labels = Record<string, string | number>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, "_")}"`)
    .join(",");
}

interface Family {
  type: "counter" | "gauge";
  help: string;
  values: Map<string, number>;
}

/** A tiny Prometheus registry: counters and gauges with labels. */
export class Metrics {
  readonly #families = new Map<string, Family>();

  #family(name: string, type: Family["type"], help: string): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { type, help, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  /** Declares a metric so it shows (at 0) before its first change. */
  declare(name: string, type: Family["type"], help: string): void {
    const f = this.#family(name, type, help);
    if (f.values.size === 0) f.values.set("", 0);
  }

  inc(name: string, by = 1, labels: Labels = {}, help = ""): void {
    const f = this.#family(name, "counter", help);
    const k = key(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
    if (k !== "" && f.values.get("") === 0) f.values.delete("");
  }

  set(name: string, value: number, labels: Labels = {}, help = ""): void {
    const f = this.#family(name, "gauge", help);
    const k = key(labels);
    f.values.set(k, value);
    if (k !== "" && f.values.get("") === 0) f.values.delete("");
  }

  get(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(key(labels)) ?? 0;
  }

  /** Sum over every label set. */
  total(name: string): number {
    let s = 0;
    for (const v of this.#families.get(name)?.values.values() ?? []) s += v;
    return s;
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const [name, f] of [...this.#families].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (f.help) lines.push(`# HELP ${name} ${f.help}`);
      lines.push(`# TYPE ${name} ${f.type}`);
      for (const [k, v] of f.values) lines.push(`${name}${k ? `{${k}}` : ""} ${Number.isFinite(v) ? v : "NaN"}`);
    }
    return lines.join("\n") + "\n";
  }
}

/** What `/health` reports; the keeper fills it in. */
export type HealthReport = { ok: boolean } & Record<string, unknown>;

/** Serves `/health` and `/metrics` on 127.0.0.1. */
export class MetricsServer {
  readonly #server: Server;
  readonly #metrics: Metrics;
  readonly #health: () => HealthReport;
  port = 0;

  constructor(metrics: Metrics, health: () => HealthReport) {
    this.#metrics = metrics;
    this.#health = health;
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 1_000;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
      return;
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.#metrics.render());
      return;
    }
    if (path === "/health" || path === "/") {
      const report = this.#health();
      const body = JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      res.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" }).end(body);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /health or /metrics\n");
  }

  /** Listens on 127.0.0.1:`port` (0 picks a free port); resolves with the port. */
  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.#server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
