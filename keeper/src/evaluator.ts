/**
 * Health of every tracked position at one block, computed locally with the SDK's mirror of the
 * engine's HealthLib from batched reads: per market one validated price and one borrow index
 * (pinned to the block), and the records the tracker keeps. The cost in RPC requests depends on
 * the number of markets, not of positions. Also watches the feeds and the L2 sequencer and says
 * so, loudly, when a market cannot be liquidated (stale feed, sequencer down or in grace).
 * @module
 */
import { Contract, ZeroAddress, type Provider } from "ethers";
import {
  BulkheadError,
  HealthLib,
  OracleError,
  SequencerDownError,
  SequencerGracePeriodError,
  StalePriceError,
  bulkheadAbi,
  type BulkheadClient,
  type PositionView,
} from "@bulkhead/sdk";
import { HealthIndex } from "./health-index.js";
import { silentLogger, type Logger } from "./logger.js";

const AGGREGATOR_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
] as const;

/** A position the engine would liquidate now. */
export interface Candidate {
  id: bigint;
  marketId: number;
  /** Keeper reward (liquidationFee at the price), token units. */
  reward: bigint;
  equity: bigint;
  maintenance: bigint;
}

/** One market at the evaluated block. */
export interface MarketStatus {
  id: number;
  symbol: string;
  feed: string;
  heartbeat: number;
  /** Delisted by governance: no positions, so its feed is not read (price null, no warning). */
  delisted: boolean;
  /** Validated price (WAD) or null when a check fails. */
  price: bigint | null;
  /** The failed check, e.g. "StalePrice", when price is null. */
  priceError: string | null;
  index: bigint;
  /** Seconds since the feed's last update (block time), null when it could not be read. */
  staleness: number | null;
}

export interface SequencerStatus {
  feed: string;
  up: boolean;
  /** Seconds since it came back up. */
  upFor: number | null;
  inGrace: boolean;
}

export interface Evaluation {
  block: number;
  timestamp: number;
  evaluated: number;
  /** Liquidatable now, by reward (largest first). */
  candidates: Candidate[];
  /** Positions whose market has no valid price (not liquidatable by anyone now). */
  blocked: number;
  markets: MarketStatus[];
  sequencer: SequencerStatus | null;
  /** Milliseconds of local math (reads excluded). */
  mathMs: number;
  /** Positions whose health was computed exactly (all of them in a full evaluation). */
  exact: number;
  /** True when every position was evaluated (no index). */
  full: boolean;
  /** Positions the index's backstop evaluated exactly this block (a rolling slice). */
  backstop: number;
}

export interface EvaluatorOptions {
  logger?: Logger;
  /** Repeat an ongoing feed or sequencer warning this often (ms, default 60,000). */
  warnEveryMs?: number;
  /** Warn once when a feed's age passes this share of its heartbeat (default 0.8). */
  agingShare?: number;
  /**
   * Evaluate exactly only the positions a price index says may be liquidatable (health-index.ts;
   * default true). The result is the same as evaluating every position.
   */
  indexed?: boolean;
  /**
   * With the index, a backstop: every position is also evaluated exactly once per this many
   * blocks (default 100; 0 never), a slice each block; one the index missed is logged
   * (`evaluation.indexMismatch`) and liquidated.
   */
  fullEvaluationBlocks?: number;
  /** Borrow-index headroom of the index's keys, WAD (see `HealthIndexOptions.headroom`). */
  indexHeadroom?: bigint;
  /** Blocks over which the index computes a market's next keys (see `HealthIndexOptions.rekeyBlocks`). */
  rekeyBlocks?: number;
}

export class Evaluator {
  readonly client: BulkheadClient;
  readonly #log: Logger;
  readonly #engine: Contract;
  readonly #warnEveryMs: number;
  readonly #agingShare: number;
  #markets: { id: number; symbol: string; feed: string; heartbeat: number; delisted: boolean }[] = [];
  #sequencer: { feed: string; grace: number } | null = null;
  /** Condition key -> last time warned. */
  readonly #warned = new Map<string, number>();
  /** Positions by the price at which they may become liquidatable; null: every position every block. */
  readonly index: HealthIndex | null;
  readonly #fullEvery: number;
  /** Backstop: the next position of the views to check, and the last block checked. */
  #cursor = 0;
  #lastBlock = -1;
  /** Liquidatable positions the backstop found that the index did not give (a bug if ever above 0). */
  mismatches = 0;

  constructor(client: BulkheadClient, options: EvaluatorOptions = {}) {
    this.client = client;
    this.#log = options.logger ?? silentLogger;
    this.#engine = new Contract(client.engineAddress, bulkheadAbi as never, client.provider);
    this.#warnEveryMs = options.warnEveryMs ?? 60_000;
    this.#agingShare = options.agingShare ?? 0.8;
    this.index = options.indexed === false ? null : new HealthIndex(client.unit, { headroom: options.indexHeadroom, rekeyBlocks: options.rekeyBlocks });
    this.#fullEvery = options.fullEvaluationBlocks ?? 100;
  }

  get provider(): Provider {
    return this.client.provider;
  }

  /** Reads the market list, feeds and the sequencer feed (again after a market is listed). */
  async loadMarkets(): Promise<void> {
    const markets = await this.client.getMarkets();
    this.#markets = markets.map((m) => ({
      id: m.id,
      symbol: m.symbol ?? this.client.markets.find((d) => d.id === m.id)?.symbol ?? `market ${m.id}`,
      feed: m.feed,
      heartbeat: Number(m.heartbeat),
      delisted: m.delisted,
    }));
    const [feed, grace] = (await this.#engine.getFunction("sequencer")()) as [string, bigint];
    this.#sequencer = feed === ZeroAddress ? null : { feed, grace: Number(grace) };
  }

  get marketCount(): number {
    return this.#markets.length;
  }

  async #feedAge(feed: string, block: number, timestamp: number): Promise<number | null> {
    try {
      const r = (await new Contract(feed, AGGREGATOR_ABI, this.provider).getFunction("latestRoundData")({ blockTag: block })) as unknown[];
      return timestamp - Number(r[3] as bigint);
    } catch (e) {
      if (e instanceof BulkheadError || (e as { code?: string }).code === "CALL_EXCEPTION" || (e as { code?: string }).code === "BAD_DATA") return null;
      throw e;
    }
  }

  async #readSequencer(block: number, timestamp: number): Promise<SequencerStatus | null> {
    if (!this.#sequencer) return null;
    const { feed, grace } = this.#sequencer;
    try {
      const r = (await new Contract(feed, AGGREGATOR_ABI, this.provider).getFunction("latestRoundData")({ blockTag: block })) as unknown[];
      const answer = r[1] as bigint;
      const startedAt = Number(r[2] as bigint);
      const up = answer === 0n && startedAt !== 0;
      const upFor = up ? timestamp - startedAt : null;
      return { feed, up, upFor, inGrace: up && upFor !== null && upFor <= grace };
    } catch (e) {
      if ((e as { code?: string }).code === "CALL_EXCEPTION" || (e as { code?: string }).code === "BAD_DATA") return { feed, up: false, upFor: null, inGrace: false };
      throw e;
    }
  }

  /** Warns for a condition now, and again every `warnEveryMs` while it lasts. */
  #loud(key: string, active: boolean, event: string, fields: Record<string, unknown>, recovered: string): void {
    const last = this.#warned.get(key);
    if (active) {
      if (last === undefined || Date.now() - last >= this.#warnEveryMs) {
        this.#warned.set(key, Date.now());
        this.#log.warn(event, fields);
      }
    } else if (last !== undefined) {
      this.#warned.delete(key);
      this.#log.info(recovered, fields);
    }
  }

  /** Markets (price, index, feed age) and the sequencer at `block`. */
  async readMarkets(block: number, timestamp: number): Promise<{ markets: MarketStatus[]; sequencer: SequencerStatus | null }> {
    if (this.#markets.length === 0) await this.loadMarkets();
    const [markets, sequencer] = await Promise.all([
      Promise.all(
        this.#markets.map(async (m): Promise<MarketStatus> => {
          if (m.delisted) {
            // Final, and it has no positions: neither the engine price nor the feed is read.
            const index = (await this.#engine.getFunction("currentBorrowIndex")(m.id, { blockTag: block })) as bigint;
            return { ...m, price: null, priceError: null, index, staleness: null };
          }
          const [price, index, staleness] = await Promise.all([
            this.client.getPrice(m.id, block).then(
              (p) => ({ p, err: null as string | null, error: null as OracleError | null }),
              (e: unknown) => {
                if (e instanceof OracleError) return { p: null, err: e.errorName, error: e };
                throw e;
              },
            ),
            this.#engine.getFunction("currentBorrowIndex")(m.id, { blockTag: block }) as Promise<bigint>,
            this.#feedAge(m.feed, block, timestamp),
          ]);
          const status: MarketStatus = { ...m, price: price.p, priceError: price.err, index, staleness };
          const fields = { market: m.id, symbol: m.symbol, feed: m.feed, age: staleness, heartbeat: m.heartbeat };
          const sequencerIssue = price.error instanceof SequencerDownError || price.error instanceof SequencerGracePeriodError;
          this.#loud(
            `price:${m.id}`,
            price.error !== null && !sequencerIssue,
            price.error instanceof StalePriceError ? "feed.stale" : "feed.invalid",
            { ...fields, error: price.error?.message, impact: "liquidations on this market are halted until the feed is valid" },
            "feed.recovered",
          );
          this.#loud(
            `aging:${m.id}`,
            price.error === null && staleness !== null && staleness > m.heartbeat * this.#agingShare,
            "feed.aging",
            { ...fields, impact: "liquidations on this market halt when the age passes the heartbeat" },
            "feed.fresh",
          );
          return status;
        }),
      ),
      this.#readSequencer(block, timestamp),
    ]);
    if (sequencer) {
      this.#loud("sequencer:down", !sequencer.up, "sequencer.down", { feed: sequencer.feed, impact: "every price is invalid: no liquidation is possible" }, "sequencer.up");
      this.#loud(
        "sequencer:grace",
        sequencer.inGrace,
        "sequencer.grace",
        { feed: sequencer.feed, upFor: sequencer.upFor, grace: this.#sequencer?.grace, impact: "prices are invalid until the grace period ends" },
        "sequencer.graceOver",
      );
    }
    return { markets, sequencer };
  }

  /** Evaluates `views` at `block` (whose timestamp is `timestamp`). */
  async evaluate(views: Iterable<PositionView>, block: number, timestamp: number): Promise<Evaluation> {
    const list = [...views];
    if (list.some((v) => v.position.marketId >= this.#markets.length)) await this.loadMarkets();
    const { markets, sequencer } = await this.readMarkets(block, timestamp);
    return this.evaluateAt(list, markets, sequencer, block, timestamp);
  }

  /**
   * The local part of `evaluate`: health of `views` at the markets' prices and indexes. With the
   * index, only its candidates are computed, plus the backstop's slice.
   */
  evaluateAt(views: readonly PositionView[], markets: MarketStatus[], sequencer: SequencerStatus | null, block: number, timestamp: number): Evaluation {
    const started = performance.now();
    const result = (candidates: Candidate[], blocked: number, exact: number, full: boolean, backstop = 0): Evaluation => {
      candidates.sort((a, b) => (a.reward === b.reward ? (a.id < b.id ? -1 : 1) : a.reward > b.reward ? -1 : 1));
      return { block, timestamp, evaluated: views.length, candidates, blocked, markets, sequencer, mathMs: performance.now() - started, exact, full, backstop };
    };
    const index = this.index;
    if (!index) {
      const { candidates, blocked } = this.#exact(views, markets);
      return result(candidates, blocked, views.length - blocked, true);
    }
    index.sync(views, (m) => markets[m]?.index ?? 0n);
    const candidates: Candidate[] = [];
    let blocked = views.length;
    let exact = 0;
    for (const m of markets) {
      const n = index.count(m.id);
      if (m.price === null || n === 0) continue;
      blocked -= n;
      index.advance(m.id, m.index);
      const some = index.candidates(m.id, m.price);
      exact += some.length;
      candidates.push(...this.#exact(some, markets).candidates);
    }
    // Backstop: a slice of the positions each block, so that every one is evaluated exactly
    // every `fullEvaluationBlocks` blocks without a block that evaluates them all.
    let checked = 0;
    if (this.#fullEvery > 0 && views.length > 0 && block !== this.#lastBlock) {
      this.#lastBlock = block;
      const n = Math.ceil(views.length / this.#fullEvery);
      if (this.#cursor >= views.length) this.#cursor = 0;
      const slice = views.slice(this.#cursor, this.#cursor + n);
      this.#cursor += n;
      checked = slice.length;
      const got = new Set(candidates.map((c) => c.id));
      const missed = this.#exact(slice, markets).candidates.filter((c) => !got.has(c.id));
      if (missed.length > 0) {
        this.mismatches += missed.length;
        this.#log.error("evaluation.indexMismatch", { block, missed: missed.slice(0, 10).map((c) => c.id), count: missed.length, action: "liquidating them too" });
        candidates.push(...missed);
      }
    }
    return result(candidates, blocked, exact, false, checked);
  }

  #exact(views: Iterable<PositionView>, markets: MarketStatus[]): { candidates: Candidate[]; blocked: number } {
    const unit = this.client.unit;
    const candidates: Candidate[] = [];
    let blocked = 0;
    for (const v of views) {
      const m = markets[v.position.marketId];
      if (!m || m.price === null) {
        blocked++;
        continue;
      }
      const h = HealthLib.health(v.position, v.risk, m.price, m.index, unit);
      if (h.liquidatable) candidates.push({ id: v.id, marketId: m.id, reward: h.liquidationFee, equity: h.equity, maintenance: h.maintenance });
    }
    return { candidates, blocked };
  }
}
