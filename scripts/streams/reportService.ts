/**
 * The local report service: plays Chainlink's Data Streams API on a local chain. It answers the
 * REST routes the official client (`@chainlink/data-streams-sdk`) calls — `/api/v1/feeds`,
 * `/api/v1/reports/latest`, `/api/v1/reports`, `/api/v1/reports/bulk`, `/api/v1/reports/page` —
 * with v3 reports signed by a {@link LocalOracleSet} for any timestamp, from a price source: the
 * local Chainlink push feeds (so `updateAnswer` moves both) or a replayable price trace. It listens
 * on loopback only.
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ReportV3 } from "@bulkhead/sdk";
import type { LocalOracleSet } from "./oracleSet.js";

/** One stream the service serves. */
export interface StreamFeed {
  feedId: string;
  /** e.g. "ETH/USD". */
  name: string;
  /** Config digest its reports are signed under (from `LocalOracleSet.configure`). */
  configDigest: string;
}

/** Benchmark, bid and ask (18 decimals) of a stream at a timestamp, or null when unknown there. */
export interface Quote {
  price: bigint;
  bid: bigint;
  ask: bigint;
}
export interface PriceSource {
  quoteAt(feedId: string, timestamp: number): Promise<Quote | null>;
}

/** Bid and ask `spreadBps` / 2 either side of `price` (bid rounded down, ask up). */
export function withSpread(price: bigint, spreadBps: bigint): Quote {
  const half = (price * spreadBps) / 20_000n;
  const up = (price * spreadBps) % 20_000n === 0n ? half : half + 1n;
  return { price, bid: price - half, ask: price + up };
}

export interface ReportServiceOptions {
  oracles: LocalOracleSet;
  feeds: readonly StreamFeed[];
  source: PriceSource;
  /** Seconds since the epoch "now", for `/reports/latest` (default: wall clock; pass the chain's time on a local chain). */
  now?: () => Promise<number> | number;
  /** Seconds a report stays valid after its observation (default 24 h, as Chainlink's crypto streams). */
  expirySeconds?: number;
  /** When set, requests must carry the client's HMAC headers for this key pair. */
  credentials?: { apiKey: string; userSecret: string };
  /** Most reports one `/reports/page` answers (default 1,000). */
  maxPage?: number;
}

/** A report as the Data Streams API returns it. */
export interface ApiReport {
  feedID: string;
  validFromTimestamp: number;
  observationsTimestamp: number;
  fullReport: string;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class ReportService {
  readonly #o: Required<Omit<ReportServiceOptions, "credentials">> & Pick<ReportServiceOptions, "credentials">;
  readonly #feeds: Map<string, StreamFeed>;
  #server: Server | null = null;
  /** Requests answered, by route (for tests and logs). */
  readonly served = new Map<string, number>();

  constructor(options: ReportServiceOptions) {
    this.#o = { now: () => Math.floor(Date.now() / 1000), expirySeconds: 86_400, maxPage: 1_000, ...options };
    this.#feeds = new Map(options.feeds.map((f) => [f.feedId.toLowerCase(), f]));
  }

  /** The signed report of `feedId` observed at `timestamp`, or null when the source has no price there. */
  async reportAt(feedId: string, timestamp: number): Promise<ApiReport | null> {
    const feed = this.#feeds.get(feedId.toLowerCase());
    if (!feed) throw new HttpError(404, `unknown feed ${feedId}`);
    const q = await this.#o.source.quoteAt(feed.feedId, timestamp);
    if (!q) return null;
    const report: ReportV3 = {
      feedId: feed.feedId,
      validFromTimestamp: timestamp,
      observationsTimestamp: timestamp,
      nativeFee: 0n,
      linkFee: 0n,
      expiresAt: timestamp + this.#o.expirySeconds,
      price: q.price,
      bid: q.bid,
      ask: q.ask,
    };
    // One report per second and stream: the epoch is the timestamp, so later reports are later epochs.
    const fullReport = this.#o.oracles.sign(report, feed.configDigest, { epoch: timestamp, round: 0 });
    return { feedID: feed.feedId, validFromTimestamp: timestamp, observationsTimestamp: timestamp, fullReport };
  }

  /** Starts listening on 127.0.0.1 (port 0: any free port); resolves with the base URL. */
  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const a = this.#server?.address() as AddressInfo | null;
    if (!a) throw new Error("report service is not listening");
    return `http://127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    try {
      if (req.method !== "GET") throw new HttpError(405, `${req.method} is not supported`);
      this.#authenticate(req, url);
      const body = await this.#route(url);
      this.served.set(url.pathname, (this.served.get(url.pathname) ?? 0) + 1);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ message: (e as Error).message }));
    }
  }

  async #route(url: URL): Promise<unknown> {
    const q = url.searchParams;
    switch (url.pathname) {
      case "/api/v1/feeds":
        return { feeds: [...this.#feeds.values()].map((f) => ({ feedID: f.feedId, name: f.name, decimals: 18, asset: f.name.split("/")[0], quoteAsset: f.name.split("/")[1] })) };
      case "/api/v1/reports/latest":
        return { report: await this.#must(param(q, "feedID"), Math.floor(await this.#o.now())) };
      case "/api/v1/reports":
        return { report: await this.#must(param(q, "feedID"), timestampParam(q, "timestamp")) };
      case "/api/v1/reports/bulk": {
        const t = timestampParam(q, "timestamp");
        const ids = param(q, "feedIDs").split(",").filter((s) => s.length > 0);
        return { reports: await Promise.all(ids.map((id) => this.#must(id, t))) };
      }
      case "/api/v1/reports/page": {
        const id = param(q, "feedID");
        const start = timestampParam(q, "startTimestamp");
        const limit = Number(q.get("limit") ?? "10");
        if (!Number.isInteger(limit) || limit < 1 || limit > this.#o.maxPage) throw new HttpError(400, `limit must be an integer from 1 to ${this.#o.maxPage}`);
        const now = Math.floor(await this.#o.now());
        const reports: ApiReport[] = [];
        for (let t = start; t <= now && reports.length < limit; t++) {
          const r = await this.reportAt(id, t);
          if (r) reports.push(r);
        }
        return { reports };
      }
      default:
        throw new HttpError(404, `no route ${url.pathname}`);
    }
  }

  async #must(feedId: string, timestamp: number): Promise<ApiReport> {
    const r = await this.reportAt(feedId, timestamp);
    if (!r) throw new HttpError(404, `no price for ${feedId} at ${timestamp}`);
    return r;
  }

  /** Checks the official client's HMAC headers when credentials are configured. */
  #authenticate(req: IncomingMessage, url: URL): void {
    const c = this.#o.credentials;
    if (!c) return;
    const key = req.headers["authorization"];
    const ts = req.headers["x-authorization-timestamp"];
    const sig = req.headers["x-authorization-signature-sha256"];
    if (key !== c.apiKey || typeof ts !== "string" || typeof sig !== "string") throw new HttpError(401, "missing or unknown API key");
    const bodyHash = createHash("sha256").update("").digest("hex");
    const expected = createHmac("sha256", c.userSecret).update(`${req.method} ${url.pathname}${url.search} ${bodyHash} ${c.apiKey} ${ts}`).digest();
    const given = Buffer.from(sig, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(401, "bad request signature");
  }
}

function param(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (!v) throw new HttpError(400, `missing query parameter ${name}`);
  return v;
}

function timestampParam(q: URLSearchParams, name: string): number {
  const t = Number(param(q, name));
  if (!Number.isSafeInteger(t) || t < 0) throw new HttpError(400, `${name} must be a Unix timestamp in seconds`);
  return t;
}
