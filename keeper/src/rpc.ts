/**
 * JSON-RPC with fail-over and retries: an ethers `JsonRpcProvider` whose transport tries several
 * URLs, each request with a timeout, retrying transport failures (connection refused or reset,
 * timeouts, HTTP 429/5xx, malformed bodies) and transient node errors with exponential backoff
 * and jitter. A URL that fails is left for the next one; the last URL that answered is tried
 * first. Genuine answers (results, reverts, "nonce too low", ...) are never retried: they go back
 * to the caller as the node gave them. Every request is counted by method.
 * @module
 */
import { JsonRpcProvider, Network, type JsonRpcError, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { silentLogger, type Logger } from "./logger.js";

export interface RpcOptions {
  /** Milliseconds before one HTTP attempt is abandoned (default 10,000). */
  timeoutMs?: number;
  /** Extra attempts after the first, across all URLs (default 5). */
  retries?: number;
  /** First backoff in milliseconds, doubled after each full round of URLs (default 250). */
  backoffMs?: number;
  /** Longest backoff (default 5,000). */
  maxBackoffMs?: number;
  logger?: Logger;
}

/** Every URL failed for one request. */
export class RpcUnavailableError extends Error {
  override name = "RpcUnavailableError";
  readonly method: string;
  readonly attempts: number;
  constructor(method: string, attempts: number, last: unknown) {
    super(`JSON-RPC ${method} failed ${attempts} times on every URL; last error: ${describe(last)}`);
    this.method = method;
    this.attempts = attempts;
  }
}

/** A transport-level failure of one attempt (retried on another URL). */
class TransportError extends Error {
  override name = "TransportError";
}

/** Counters of what went over the wire. */
export class RpcStats {
  /** Logical requests by method (a retried request counts once). */
  readonly requests = new Map<string, number>();
  /** HTTP attempts (retries included). */
  attempts = 0;
  /** Attempts that failed and were retried. */
  retries = 0;
  /** Times the provider moved to another URL. */
  failovers = 0;
  /** Requests that failed on every URL. */
  failures = 0;

  get total(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }
  count(...methods: string[]): number {
    return methods.reduce((s, m) => s + (this.requests.get(m) ?? 0), 0);
  }
  snapshot(): { total: number; byMethod: Record<string, number> } {
    return { total: this.total, byMethod: Object.fromEntries(this.requests) };
  }
}

const TRANSIENT_MESSAGE = /timeout|timed out|rate.?limit|too many requests|busy|unavailable|try again|header not found|internal error|temporar|overload|capacity|connection/i;
const TRANSIENT_CODES = new Set([-32603, -32005, -32002, -32099, 429]);

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** A node error that a retry may fix (not a revert, not a verdict about the transaction). */
export function isTransientRpcError(error: JsonRpcError["error"]): boolean {
  const data = (error as { data?: unknown }).data;
  if (typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data) && data.length >= 10) return false; // revert data
  const message = String(error.message ?? "");
  if (/revert|nonce|underpriced|known transaction|already known|insufficient funds|intrinsic gas|exceeds block gas limit/i.test(message)) return false;
  return TRANSIENT_CODES.has(Number(error.code)) || TRANSIENT_MESSAGE.test(message);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Redacts credentials and API keys in URL paths/queries for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    const path = u.pathname.length > 12 ? u.pathname.slice(0, 6) + "…" : u.pathname;
    return `${u.protocol}//${u.host}${path}${u.search ? "?…" : ""}`;
  } catch {
    return "<invalid url>";
  }
}

/** Sends one JSON-RPC body to one URL with a timeout; throws TransportError for anything but a JSON answer. */
async function post(url: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TransportError(`timeout after ${timeoutMs} ms`)), timeoutMs);
  const onAbort = () => controller.abort(new TransportError("provider destroyed"));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let res: Response;
    try {
      res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: controller.signal });
    } catch (e) {
      const reason = controller.signal.aborted ? controller.signal.reason : e;
      throw reason instanceof TransportError ? reason : new TransportError(`connection failed: ${describe((e as { cause?: unknown }).cause ?? e)}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      const reason = controller.signal.aborted ? controller.signal.reason : e;
      throw reason instanceof TransportError ? reason : new TransportError(`response interrupted: ${describe(e)}`);
    }
    if (res.status === 429 || res.status >= 500) throw new TransportError(`HTTP ${res.status}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TransportError(`HTTP ${res.status} with a body that is not JSON`);
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Asks each URL for its chain id (one attempt each). Returns the ids found; URLs that did not
 * answer are reported with an error instead.
 */
export async function probeChainIds(urls: readonly string[], timeoutMs = 5_000): Promise<{ url: string; chainId?: number; error?: string }[]> {
  return Promise.all(
    urls.map(async (url) => {
      try {
        const r = (await post(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }), timeoutMs)) as { result?: string; error?: { message?: string } };
        if (typeof r?.result !== "string") return { url, error: r?.error?.message ?? "no chain id in the answer" };
        return { url, chainId: Number(BigInt(r.result)) };
      } catch (e) {
        return { url, error: describe(e) };
      }
    }),
  );
}

/**
 * An ethers provider over several JSON-RPC URLs with fail-over, retries and timeouts. Requests
 * are not batched (one per HTTP call) so that a retry repeats exactly one request. Create it with
 * {@link FailoverRpcProvider.create}, which pins the chain id (no eth_chainId before each call).
 */
export class FailoverRpcProvider extends JsonRpcProvider {
  readonly urls: readonly string[];
  readonly stats = new RpcStats();
  readonly #options: Required<Omit<RpcOptions, "logger">>;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #current = 0;

  constructor(urls: readonly string[], chainId: number, options: RpcOptions = {}) {
    if (urls.length === 0) throw new Error("FailoverRpcProvider needs at least one URL");
    super(urls[0], undefined, { staticNetwork: Network.from(chainId), batchMaxCount: 1, cacheTimeout: -1, pollingInterval: 1_000 });
    this.urls = [...urls];
    this.#options = {
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 5,
      backoffMs: options.backoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 5_000,
    };
    this.#logger = options.logger ?? silentLogger;
  }

  /** Finds the chain id from the first URL that answers, then builds the provider pinned to it. */
  static async create(urls: readonly string[], options: RpcOptions = {}): Promise<FailoverRpcProvider> {
    const probe = new FailoverRpcProvider(urls, 1, options);
    const hex = (await probe.send("eth_chainId", [])) as string;
    probe.destroy();
    const provider = new FailoverRpcProvider(urls, Number(BigInt(hex)), options);
    for (const [k, v] of probe.stats.requests) provider.stats.requests.set(k, v);
    return provider;
  }

  /** The URL requests go to first (the last one that answered). */
  get currentUrl(): string {
    return this.urls[this.#current]!;
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const list = Array.isArray(payload) ? payload : [payload];
    for (const p of list) this.stats.requests.set(p.method, (this.stats.requests.get(p.method) ?? 0) + 1);
    const body = JSON.stringify(Array.isArray(payload) && payload.length !== 1 ? payload : list[0]);
    const method = list.map((p) => p.method).join(",");
    const { retries, timeoutMs, backoffMs, maxBackoffMs } = this.#options;
    let last: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.#abort.signal.aborted) throw new RpcUnavailableError(method, attempt, "provider destroyed");
      if (attempt > 0) {
        this.stats.retries++;
        // Every URL had a go: back off before the next round (with jitter so keepers do not stampede).
        if (attempt % this.urls.length === 0) {
          const round = attempt / this.urls.length;
          const wait = Math.min(maxBackoffMs, backoffMs * 2 ** (round - 1));
          await sleep(wait / 2 + Math.random() * (wait / 2));
        }
      }
      const index = this.#current;
      const url = this.urls[index]!;
      this.stats.attempts++;
      try {
        const answer = await post(url, body, timeoutMs, this.#abort.signal);
        const results = (Array.isArray(answer) ? answer : [answer]) as (JsonRpcResult | JsonRpcError)[];
        const transient = results.find((r) => "error" in r && r.error && isTransientRpcError(r.error)) as JsonRpcError | undefined;
        if (transient) throw new TransportError(`node error ${transient.error.code}: ${transient.error.message}`);
        if (results.length !== list.length || results.some((r) => r === null || typeof r !== "object")) {
          throw new TransportError("answer does not match the request");
        }
        // ethers' own transport returns error objects in this array too (its type says results only).
        return results as JsonRpcResult[];
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        last = e;
        this.#logger.debug("rpc.retry", { method, url: redactUrl(url), attempt, error: e.message });
        if (this.urls.length > 1) {
          this.#current = (index + 1) % this.urls.length;
          this.stats.failovers++;
        }
      }
    }
    this.stats.failures++;
    this.#logger.warn("rpc.unavailable", { method, attempts: retries + 1, error: describe(last) });
    throw new RpcUnavailableError(method, retries + 1, last);
  }

  override destroy(): void {
    this.#abort.abort();
    super.destroy();
  }
}
