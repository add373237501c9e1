/**
 * Price sources of the local report service: the local Chainlink push feeds, or a replayable
 * trace of prices. Both answer a quote (benchmark, bid, ask in 18 decimals) for any timestamp.
 * @module
 */
import { Contract, type Provider } from "ethers";
import { withSpread, type PriceSource, type Quote } from "./reportService.js";

const AGGREGATOR_ABI = [
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function getRoundData(uint80 roundId) view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];

/** Scales a feed answer with `decimals` to 18 decimals. */
export function toWad(answer: bigint, decimals: number): bigint {
  return decimals <= 18 ? answer * 10n ** BigInt(18 - decimals) : answer / 10n ** BigInt(decimals - 18);
}

/**
 * Quotes from local Chainlink aggregators (e.g. `MockV3Aggregator`): at timestamp t, the answer of
 * the latest round updated at or before t, so moving a push feed with `updateAnswer` moves the
 * reports of every later second too. Rounds are walked backwards from the latest (local chains
 * have few).
 */
export class PushFeedPriceSource implements PriceSource {
  readonly #feeds: Map<string, Contract>;
  readonly #decimals = new Map<string, number>();
  readonly #spreadBps: bigint;

  /** `feeds`: stream feed id -> aggregator address. */
  constructor(provider: Provider, feeds: Record<string, string>, spreadBps = 2n) {
    this.#feeds = new Map(Object.entries(feeds).map(([id, a]) => [id.toLowerCase(), new Contract(a, AGGREGATOR_ABI, provider)]));
    this.#spreadBps = spreadBps;
  }

  async quoteAt(feedId: string, timestamp: number): Promise<Quote | null> {
    const feed = this.#feeds.get(feedId.toLowerCase());
    if (!feed) return null;
    let decimals = this.#decimals.get(feedId);
    if (decimals === undefined) this.#decimals.set(feedId, (decimals = Number(await feed.getFunction("decimals")())));
    let [roundId, answer, , updatedAt] = (await feed.getFunction("latestRoundData")()) as [bigint, bigint, bigint, bigint];
    while (updatedAt > BigInt(timestamp)) {
      if (roundId <= 1n) return null;
      [roundId, answer, , updatedAt] = (await feed.getFunction("getRoundData")(roundId - 1n)) as [bigint, bigint, bigint, bigint];
    }
    if (answer <= 0n || updatedAt === 0n) return null;
    return withSpread(toWad(answer, decimals), this.#spreadBps);
  }
}

/** One row of a price trace: seconds since the trace's start, then a price per stream name. */
export interface TracePoint {
  t: number;
  prices: Record<string, bigint>;
}

/**
 * A replayable price trace: a step function per stream, the last point at or before a timestamp.
 * Trace times are offsets from `origin` (seconds since the epoch), so one file replays on any chain.
 */
export class TracePriceSource implements PriceSource {
  readonly points: readonly TracePoint[];
  readonly #names: Map<string, string>;
  readonly #origin: number;
  readonly #spreadBps: bigint;

  /** `streams`: stream name in the trace (e.g. "ETH/USD") -> feed id. */
  constructor(points: readonly TracePoint[], streams: Record<string, string>, origin: number, spreadBps = 2n) {
    for (let i = 1; i < points.length; i++) {
      if (points[i]!.t <= points[i - 1]!.t) throw new RangeError(`trace times must increase: row ${i + 1} has t=${points[i]!.t} after t=${points[i - 1]!.t}`);
    }
    this.points = points;
    this.#names = new Map(Object.entries(streams).map(([name, id]) => [id.toLowerCase(), name]));
    this.#origin = origin;
    this.#spreadBps = spreadBps;
  }

  /**
   * Parses a CSV trace: a header `t,<stream>,<stream>...` then one row per point, `t` in seconds
   * from the start and prices as decimal numbers (e.g. `3012.55`), converted to 18 decimals exactly.
   */
  static parseCsv(text: string): TracePoint[] {
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"));
    const [header, ...rows] = lines;
    const names = (header ?? "").split(",").map((s) => s.trim());
    if (names[0] !== "t" || names.length < 2) throw new SyntaxError(`trace header must be "t,<stream>,...", got "${header}"`);
    return rows.map((row, i) => {
      const cells = row.split(",").map((s) => s.trim());
      if (cells.length !== names.length) throw new SyntaxError(`trace row ${i + 2} has ${cells.length} cells, the header ${names.length}`);
      const t = Number(cells[0]);
      if (!Number.isSafeInteger(t) || t < 0) throw new SyntaxError(`trace row ${i + 2}: t must be whole seconds, got "${cells[0]}"`);
      const prices: Record<string, bigint> = {};
      names.slice(1).forEach((n, j) => (prices[n] = decimalToWad(cells[j + 1]!, `trace row ${i + 2}, ${n}`)));
      return { t, prices };
    });
  }

  async quoteAt(feedId: string, timestamp: number): Promise<Quote | null> {
    const name = this.#names.get(feedId.toLowerCase());
    if (name === undefined) return null;
    const offset = timestamp - this.#origin;
    let lo = 0;
    let hi = this.points.length - 1;
    if (hi < 0 || offset < this.points[0]!.t) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.points[mid]!.t <= offset) lo = mid;
      else hi = mid - 1;
    }
    const price = this.points[lo]!.prices[name];
    return price === undefined ? null : withSpread(price, this.#spreadBps);
  }
}

/** "3012.55" -> 3012.55e18 exactly; refuses anything but a plain positive decimal. */
export function decimalToWad(s: string, where: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,18}))?$/.exec(s);
  if (!m) throw new SyntaxError(`${where}: "${s}" is not a positive decimal price with at most 18 decimals`);
  const wad = BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? "").padEnd(18, "0") || "0");
  if (wad === 0n) throw new SyntaxError(`${where}: price must be positive`);
  return wad;
}
