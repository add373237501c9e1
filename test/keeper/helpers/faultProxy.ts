// A small JSON-RPC proxy on 127.0.0.1 that injects faults between a client and a node, decided
// by a seeded generator: drop the request (connection reset before it reaches the node), drop
// the answer (the node executed it; the client never hears back), hang (no answer until the
// client gives up), delay it, or answer with an error (HTTP 503 or a JSON-RPC internal error).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Rng } from "../../sdk/helpers/random.js";

export interface FaultRates {
  /** Reset the connection before forwarding. */
  dropRequest: number;
  /** Forward, then reset the connection instead of answering. */
  dropResponse: number;
  /** Never answer (the client's timeout fires). */
  hang: number;
  /** Answer HTTP 503. */
  httpError: number;
  /** Answer a JSON-RPC error -32603 "internal error". */
  rpcError: number;
  /** Delay before forwarding (ms, uniform in [0, delayMs]) for a `delay` share of requests. */
  delay: number;
  delayMs: number;
}

/** The faults, in the order the rates' shares are laid out on [0, 1). */
const FAULT_KINDS = ["dropRequest", "hang", "httpError", "rpcError", "dropResponse", "delay"] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

export class FaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #rng: Rng;
  readonly target: string;
  rates: FaultRates;
  port = 0;
  readonly counts = { requests: 0, dropRequest: 0, dropResponse: 0, hang: 0, httpError: 0, rpcError: 0, delay: 0, forwarded: 0 };
  /** Methods never faulted (e.g. to let a test's own setup through). */
  readonly #spare: Set<string>;

  constructor(target: string, rates: Partial<FaultRates>, seed: bigint, spare: readonly string[] = []) {
    this.target = target;
    this.rates = { dropRequest: 0, dropResponse: 0, hang: 0, httpError: 0, rpcError: 0, delay: 0, delayMs: 0, ...rates };
    this.#rng = new Rng(seed);
    this.#spare = new Set(spare);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on("connection", (s) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    this.counts.requests++;
    let method = "";
    let id: unknown = null;
    try {
      const parsed = JSON.parse(body) as { method?: string; id?: unknown } | { method?: string; id?: unknown }[];
      const first = Array.isArray(parsed) ? parsed[0] : parsed;
      method = first?.method ?? "";
      id = first?.id ?? null;
    } catch {
      /* forwarded as is */
    }
    const kind = this.#choose(method);
    if (kind === "dropRequest") {
      this.counts.dropRequest++;
      req.socket.destroy();
      return;
    }
    if (kind === "hang") {
      this.counts.hang++;
      return; // the socket is destroyed when the proxy closes or the client gives up
    }
    if (kind === "httpError") {
      this.counts.httpError++;
      res.writeHead(503, { "content-type": "text/plain" }).end("injected: service unavailable");
      return;
    }
    if (kind === "rpcError") {
      this.counts.rpcError++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32603, message: "injected: internal error" } }));
      return;
    }
    const dropAfter = kind === "dropResponse";
    if (kind === "delay") {
      this.counts.delay++;
      await new Promise((res2) => setTimeout(res2, Number(this.#rng.next64() % BigInt(Math.max(1, this.rates.delayMs)))));
    }
    let answer: Response;
    try {
      answer = await fetch(this.target, { method: "POST", headers: { "content-type": "application/json" }, body });
    } catch {
      req.socket.destroy();
      return;
    }
    const text = await answer.text();
    if (dropAfter) {
      this.counts.dropResponse++;
      req.socket.destroy();
      return;
    }
    this.counts.forwarded++;
    if (!res.destroyed) res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
  }

  /**
   * The fault for one request (or none): drawn from the rates, except that every 10th request
   * injects a kind with a non-zero rate that has not happened yet, so a run long enough to matter
   * always meets every kind however the draws fall.
   */
  #choose(method: string): FaultKind | undefined {
    const r = this.rates;
    if (this.#spare.has(method)) return undefined;
    const x = Number(this.#rng.next64() >> 11n) / 2 ** 53;
    if (this.counts.requests % 10 === 0) {
      const missing = FAULT_KINDS.find((k) => r[k] > 0 && this.counts[k] === 0);
      if (missing) return missing;
    }
    let acc = 0;
    return FAULT_KINDS.find((k) => x < (acc += r[k]));
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
