// A small HTTP proxy on 127.0.0.1 in front of the report service that injects faults into the
// Data Streams client's GET requests, decided by a seeded generator: reset the connection,
// answer 503, or delay the request; the rest are forwarded with their headers (the HMAC
// signature covers the path, so it stays valid).
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Rng } from "../../sdk/helpers/random.js";

export interface ReportFaults {
  drop: number;
  unavailable: number;
  delay: number;
  delayMs: number;
}

export class ReportFaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #rng: Rng;
  readonly counts = { requests: 0, drop: 0, unavailable: 0, delay: 0, forwarded: 0 };
  readonly target: string;
  port = 0;

  constructor(target: string, faults: ReportFaults, seed: bigint) {
    this.target = target;
    this.#rng = new Rng(seed);
    this.#server = createServer(async (req, res) => {
      this.counts.requests++;
      const x = Number(this.#rng.next64() >> 11n) / 2 ** 53;
      if (x < faults.drop) {
        this.counts.drop++;
        req.socket.destroy();
        return;
      }
      if (x < faults.drop + faults.unavailable) {
        this.counts.unavailable++;
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ message: "injected: unavailable" }));
        return;
      }
      if (x < faults.drop + faults.unavailable + faults.delay) {
        this.counts.delay++;
        await new Promise((r) => setTimeout(r, Number(this.#rng.next64() % BigInt(Math.max(1, faults.delayMs)))));
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
      try {
        const answer = await fetch(this.target + (req.url ?? "/"), { headers });
        const text = await answer.text();
        this.counts.forwarded++;
        if (!res.destroyed) res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
      } catch {
        req.socket.destroy();
      }
    });
    this.#server.on("connection", (s) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", () => resolve()));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
