/**
 * Signed Data Streams reports, through Chainlink's official client (`@chainlink/data-streams-sdk`):
 * the same code path talks to Chainlink's API on a testnet and to the local report service on a
 * local chain (it answers the same REST routes with the same HMAC credentials). Two calls are
 * used: the latest report of a stream (trigger orders, trailing stops, top-ups) and the report at
 * one second (a request's pinned report). Reports at a second never change, so they are cached;
 * a missing report (404) is null, anything else is an error the caller counts and retries.
 * @module
 */
import { createClient, type DataStreamsClient } from "@chainlink/data-streams-sdk";
import { reportQuoteOf } from "@bulkhead/sdk";

/** A signed report with its decoded prices (WAD) and observation time. */
export interface Report {
  feedId: string;
  /** The signed report as the contracts take it (the API's `fullReport`). */
  fullReport: string;
  observedAt: number;
  price: bigint;
  bid: bigint;
  ask: bigint;
}

/** Where reports come from (the Data Streams API; tests may pass another). */
export interface ReportSource {
  latest(feedId: string): Promise<Report | null>;
  at(feedId: string, timestamp: number): Promise<Report | null>;
  /** Requests made and failed, for metrics (optional). */
  readonly requests?: { latest: number; at: number; failed: number };
}

export interface StreamsOptions {
  /** REST endpoint, e.g. https://api.testnet-dataengine.chain.link or the local report service's URL. */
  url: string;
  /** WebSocket endpoint (the client requires one; the keeper itself polls over REST). */
  ws?: string;
  apiKey: string;
  userSecret: string;
  /** Milliseconds per request (default 5,000). */
  timeoutMs?: number;
  /** Most cached reports at a second (default 10,000). */
  cacheSize?: number;
}

function notFound(e: unknown): boolean {
  const o = e as { status?: unknown; statusCode?: unknown; message?: unknown };
  return o?.status === 404 || o?.statusCode === 404 || /\b404\b|not found|no price/i.test(String(o?.message ?? ""));
}

export function decodeReport(feedId: string, fullReport: string): Report {
  const q = reportQuoteOf(fullReport);
  return { feedId: feedId.toLowerCase(), fullReport, observedAt: q.observedAt, price: q.price, bid: q.bid, ask: q.ask };
}

/** Reports from the Data Streams REST API through the official client. */
export class StreamsReports implements ReportSource {
  readonly #client: DataStreamsClient;
  readonly #cache = new Map<string, Report>();
  readonly #cacheSize: number;
  /** Requests made, by call (for metrics). */
  readonly requests = { latest: 0, at: 0, failed: 0 };

  constructor(o: StreamsOptions) {
    this.#client = createClient({
      apiKey: o.apiKey,
      userSecret: o.userSecret,
      endpoint: o.url.replace(/\/+$/, ""),
      wsEndpoint: o.ws ?? o.url.replace(/^http/, "ws"),
      timeout: o.timeoutMs ?? 5_000,
      retryAttempts: 1,
    });
    this.#cacheSize = o.cacheSize ?? 10_000;
  }

  async latest(feedId: string): Promise<Report | null> {
    this.requests.latest++;
    try {
      const r = await this.#client.getLatestReport(feedId);
      return decodeReport(feedId, r.fullReport);
    } catch (e) {
      if (notFound(e)) return null;
      this.requests.failed++;
      throw e;
    }
  }

  async at(feedId: string, timestamp: number): Promise<Report | null> {
    const key = `${feedId.toLowerCase()}@${timestamp}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    this.requests.at++;
    let report: Report;
    try {
      const r = await this.#client.getReportByTimestamp(feedId, timestamp);
      report = decodeReport(feedId, r.fullReport);
    } catch (e) {
      if (notFound(e)) return null;
      this.requests.failed++;
      throw e;
    }
    if (report.observedAt !== timestamp) return null; // not the report this second pins
    if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, report);
    return report;
  }
}
