// Parameter files (ignition/parameters/<network>.json): parsing into exact on-chain values and the
// offline half of validation (shape, units, the contract's bounds). Every problem is reported with
// the path of the field that causes it; nothing here touches a network.
//
// Values are written for people and converted exactly (never through floating point):
//   "0.5%"          WAD fraction (mmr, fee rates, protocolFeeShare)
//   "50x"           WAD multiple (maxLeverage)
//   "10%/year"      per-second WAD rate, floored like `WAD / 10 / YEAR` (borrow rates)
//   "10 USDC"       collateral token amount, in the token's own decimals
//   "10000 ETH"     position size in index units (WAD), in the market's base asset
//   "50%"           basis points (maxProfitFactorBps)
//   "1h", "90m"     seconds (heartbeat, grace period, timelock delay, request timing)
// A bare integer (JSON number or digit string) is always the raw on-chain value.
import { readFile } from "node:fs/promises";
import { getAddress, isAddress, isHexString, parseUnits, ZeroAddress } from "ethers";
import { localFeedId } from "../streams/oracleSet.js";
import {
  MAX_MARKETS,
  MAX_TOKEN_DECIMALS,
  RISK_FIELD_BITS,
  STREAM_SCHEMA_V3,
  YEAR,
  gracePeriodViolation,
  listMarketViolations,
  protocolFeeShareViolation,
  streamDeviationViolation,
  streamSchemaOf,
  timingViolations,
  type BoundsViolation,
  type MarketParams,
  type RiskParams,
  type Timing,
} from "./bounds.js";

/** Chains where local stand-ins (mock token, mock feeds, the local oracle set) may be deployed. */
export const LOCAL_CHAIN_IDS = new Set([31337n, 1337n]);
/** Network names that stand for a local chain when a file gives no chainId. */
export const LOCAL_NETWORKS = new Set(["localhost", "hardhat", "default"]);

/** An address, or "deployer" (the account sending the deployment), or "anyone" (open executor role). */
export type Party = string;

export type TokenConfig =
  | { kind: "mock"; name: string; symbol: string; decimals: number }
  | { kind: "external"; address: string; symbol: string; decimals: number };

export type FeedConfig =
  | { kind: "mock"; decimals: number; answer: bigint }
  | { kind: "external"; address: string; description?: string };

export type MarketConfig = {
  symbol: string;
  base: string;
  feed: FeedConfig;
  heartbeat: bigint;
  params: MarketParams;
  risk: RiskParams;
};

export type OwnerConfig =
  | { kind: "deployer" }
  | { kind: "address"; address: string }
  | { kind: "timelock"; minDelay: bigint; proposers: Party[]; executors: Party[] };

/**
 * Two-step settlement (requests executed at a Chainlink Data Streams report): the VerifierProxy,
 * the request timing and each market's stream. Without it the engine keeps trading instantly at
 * the push feed, which only a local file may do.
 */
export type StreamsConfig = {
  /** Chainlink's VerifierProxy of the network, or "local": Chainlink's Verifier and VerifierProxy configured with the local oracle set. */
  verifierProxy: { kind: "local" } | { kind: "external"; address: string };
  timing: Timing;
  /** One per market, in the order of `markets`. */
  markets: { symbol: string; streamId: string; maxDeviationBps: bigint }[];
};

export type DeployConfig = {
  /** Network the file is written for; a file for one chain is refused on another. */
  network: string;
  chainId?: number;
  token: TokenConfig;
  pool: { name: string; symbol: string };
  guardian: Party;
  owner: OwnerConfig;
  sequencer: { feed: string; gracePeriod: bigint } | null;
  protocolFeeShare?: bigint;
  markets: MarketConfig[];
  /** Absent: trades execute instantly at the push feed (local files only). */
  streams?: StreamsConfig;
  /** The file as written, recorded in the deployments file. */
  source: unknown;
};

export type ConfigIssue = { field: string; problem: string };

/** A parameter file (or network setup) that cannot be deployed; `issues` name each field at fault. */
export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    const n = issues.length;
    super(`${file}: ${n} problem${n === 1 ? "" : "s"}, nothing was sent\n${issues.map((i) => `  - ${i.field}: ${i.problem}`).join("\n")}`);
  }
}

/** Reads and parses a parameter file; throws DeployConfigError naming every bad field. */
export async function loadDeployConfig(path: string): Promise<DeployConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new DeployConfigError(path, [{ field: "(file)", problem: `cannot read: ${(e as Error).message}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DeployConfigError(path, [{ field: "(file)", problem: `not valid JSON: ${(e as Error).message}` }]);
  }
  return parseDeployConfig(json, path);
}

/** Parses a parameter object; throws DeployConfigError naming every bad field. */
export function parseDeployConfig(json: unknown, file = "(parameters)"): DeployConfig {
  const issues: ConfigIssue[] = [];
  const p = new Parser(issues);
  const root = p.object("", json);
  p.known("", root, ["network", "chainId", "token", "pool", "guardian", "owner", "sequencer", "protocolFeeShare", "markets", "streams"]);
  const network = p.string("network", root.network);
  const chainId = root.chainId === undefined ? undefined : p.safeInt("chainId", root.chainId, 1);
  const token = p.token("token", root.token);
  const poolObj = p.object("pool", root.pool);
  p.known("pool", poolObj, ["name", "symbol"]);
  const pool = { name: p.string("pool.name", poolObj.name), symbol: p.string("pool.symbol", poolObj.symbol) };
  const guardian = p.party("guardian", root.guardian, false);
  const owner = p.owner("owner", root.owner);
  const sequencer = root.sequencer === null || root.sequencer === undefined ? null : p.sequencer("sequencer", root.sequencer);
  let protocolFeeShare: bigint | undefined;
  if (root.protocolFeeShare !== undefined) {
    protocolFeeShare = p.wadFraction("protocolFeeShare", root.protocolFeeShare);
    p.bounds("protocolFeeShare", protocolFeeShareViolation(protocolFeeShare));
  }
  const marketsRaw = p.array("markets", root.markets);
  if (BigInt(marketsRaw.length) > MAX_MARKETS) p.issue("markets", `${marketsRaw.length} markets; the engine lists at most ${MAX_MARKETS} (TooManyMarkets)`);
  if (root.markets !== undefined && marketsRaw.length === 0) p.issue("markets", "no market to list");
  const markets = marketsRaw.map((m, i) => p.market(`markets[${i}]`, m, token));
  const symbols = new Set<string>();
  markets.forEach((m, i) => {
    if (m.symbol && symbols.has(m.symbol)) p.issue(`markets[${i}].symbol`, `${m.symbol} is listed twice`);
    symbols.add(m.symbol);
  });
  const local = chainId !== undefined ? LOCAL_CHAIN_IDS.has(BigInt(chainId)) : LOCAL_NETWORKS.has(network);
  let streams: StreamsConfig | undefined;
  if (root.streams !== undefined) {
    streams = p.streams("streams", root.streams, markets, local);
  } else if (!local) {
    p.issue("streams", `missing: a public network (${network}${chainId === undefined ? "" : `, chain ${chainId}`}) must settle trades through requests at Data Streams reports; without a streams section every trade would execute instantly at the push feed (docs/DEPLOY.md#data-streams)`);
  }
  if (issues.length > 0) throw new DeployConfigError(file, issues);
  return { network, chainId, token, pool, guardian, owner, sequencer, protocolFeeShare, markets, ...(streams ? { streams } : {}), source: json };
}

/** A bounds violation in the words of the contract error it stands for. */
export function describeViolation(v: BoundsViolation): string {
  return `${v.value} is outside the contract's bounds [${v.min}, ${v.max}] (would revert ParameterOutOfBounds("${v.name}"))`;
}

// Field of each ParameterOutOfBounds name inside a market entry.
const MARKET_FIELD: Record<string, string> = {
  heartbeat: "heartbeat",
  feedDecimals: "feed.decimals",
  maxLeverage: "params.maxLeverage",
  openFeeRate: "params.openFeeRate",
  closeFeeRate: "params.closeFeeRate",
  baseBorrowRate: "params.baseBorrowRate",
  borrowRateSlope: "params.borrowRateSlope",
  minCollateral: "params.minCollateral",
  maxLongOpenInterest: "params.maxLongOpenInterest",
  maxShortOpenInterest: "params.maxShortOpenInterest",
  mmr: "risk.mmr",
  liquidationFeeRate: "risk.liquidationFeeRate",
  maxProfitFactorBps: "risk.maxProfitFactorBps",
  "mmr+liquidationFeeRate": "risk.mmr + risk.liquidationFeeRate",
  minLiquidationFee: "risk.minLiquidationFee",
};

// The fields each coupled check of MarketConfigLogic._validateRisk reads.
const COUPLED_INPUTS: Record<string, string[]> = {
  "mmr+liquidationFeeRate": ["maxLeverage", "mmr", "liquidationFeeRate"],
  minLiquidationFee: ["maxLeverage", "mmr", "minCollateral", "minLiquidationFee"],
};

/** The field a listMarket bounds violation points at, inside market entry `prefix`. */
export function marketFieldOf(prefix: string, v: BoundsViolation): string {
  return `${prefix}.${MARKET_FIELD[v.name] ?? v.name}`;
}

type Obj = Record<string, unknown>;
const UNIT_SECONDS = { s: 1n, m: 60n, h: 3600n, d: 86400n } as const;

class Parser {
  constructor(private readonly issues: ConfigIssue[]) {}

  issue(field: string, problem: string): void {
    this.issues.push({ field: field || "(root)", problem });
  }

  bounds(field: string, v: BoundsViolation | undefined): void {
    if (v) this.issue(field, describeViolation(v));
  }

  /** Reports keys outside `allowed` (a typo would otherwise be silently ignored); "_..." and "source" are notes. */
  known(field: string, o: Obj, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (k.startsWith("_") || k === "source" || allowed.includes(k)) continue;
      this.issue(field ? `${field}.${k}` : k, `unknown field (expected one of: ${allowed.join(", ")})`);
    }
  }

  object(field: string, v: unknown): Obj {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Obj;
    this.issue(field, v === undefined ? "missing" : "must be an object");
    return {};
  }

  array(field: string, v: unknown): unknown[] {
    if (Array.isArray(v)) return v;
    this.issue(field, v === undefined ? "missing" : "must be an array");
    return [];
  }

  string(field: string, v: unknown): string {
    if (typeof v === "string" && v.length > 0) return v;
    this.issue(field, v === undefined ? "missing" : "must be a non-empty string");
    return "";
  }

  safeInt(field: string, v: unknown, min = 0): number {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= min) return v;
    this.issue(field, v === undefined ? "missing" : `must be an integer >= ${min}`);
    return min;
  }

  address(field: string, v: unknown): string {
    if (typeof v !== "string") {
      this.issue(field, v === undefined ? "missing address" : "must be an address string");
      return ZeroAddress;
    }
    if (!isAddress(v)) {
      this.issue(field, `${v} is not an address (or its mixed-case checksum is wrong)`);
      return ZeroAddress;
    }
    const a = getAddress(v);
    if (a === ZeroAddress) this.issue(field, "must not be the zero address");
    return a;
  }

  party(field: string, v: unknown, allowAnyone: boolean): Party {
    if (v === "deployer") return "deployer";
    if (v === "anyone") {
      if (allowAnyone) return "anyone";
      this.issue(field, `"anyone" is only allowed among timelock executors`);
      return "deployer";
    }
    return this.address(field, v);
  }

  /** A raw integer: a safe JSON integer or a digit string. */
  private raw(v: unknown): bigint | undefined {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v);
    return undefined;
  }

  private decimal(field: string, text: string, decimals: number, what: string): bigint | undefined {
    if (!/^\d+(\.\d+)?$/.test(text)) {
      this.issue(field, `"${text}" is not a decimal number`);
      return undefined;
    }
    try {
      return parseUnits(text, decimals);
    } catch {
      this.issue(field, `"${text}" has more decimals than ${what} holds exactly`);
      return undefined;
    }
  }

  /** `v` as `<decimal><unit>`; reports and returns undefined when it is neither raw nor that. */
  private unitValue(field: string, v: unknown, unit: RegExp, example: string): string | undefined {
    const m = typeof v === "string" ? unit.exec(v.trim()) : null;
    if (m) return m[1];
    this.issue(field, v === undefined ? `missing (e.g. ${example})` : `${JSON.stringify(v)} is not understood; write e.g. ${example} or a raw integer`);
    return undefined;
  }

  wadFraction(field: string, v: unknown): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const num = this.unitValue(field, v, /^(\S+?)\s*%$/, `"0.5%"`);
    return num === undefined ? 0n : (this.decimal(field, num, 16, "a WAD fraction") ?? 0n);
  }

  multiple(field: string, v: unknown): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const num = this.unitValue(field, v, /^(\S+?)\s*x$/i, `"50x"`);
    return num === undefined ? 0n : (this.decimal(field, num, 18, "a WAD multiple") ?? 0n);
  }

  perSecondRate(field: string, v: unknown): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const num = this.unitValue(field, v, /^(\S+?)\s*%\s*\/\s*year$/i, `"10%/year"`);
    const annual = num === undefined ? undefined : this.decimal(field, num, 16, "a WAD fraction");
    return annual === undefined ? 0n : annual / YEAR;
  }

  amount(field: string, v: unknown, symbol: string, decimals: number): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const example = `"10 ${symbol}"`;
    const m = typeof v === "string" ? /^(\S+)\s+(\S+)$/.exec(v.trim()) : null;
    if (!m) {
      this.issue(field, v === undefined ? `missing (e.g. ${example})` : `${JSON.stringify(v)} is not understood; write e.g. ${example} or a raw integer`);
      return 0n;
    }
    if (m[2] !== symbol) {
      this.issue(field, `"${v}" is in ${m[2]}; this field is in ${symbol}`);
      return 0n;
    }
    return this.decimal(field, m[1], decimals, `${symbol} (${decimals} decimals)`) ?? 0n;
  }

  bps(field: string, v: unknown): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const num = this.unitValue(field, v, /^(\S+?)\s*%$/, `"50%"`);
    // A percentage with two decimals is a number of basis points.
    return num === undefined ? 0n : (this.decimal(field, num, 2, "basis points") ?? 0n);
  }

  seconds(field: string, v: unknown): bigint {
    const raw = this.raw(v);
    if (raw !== undefined) return raw;
    const m = typeof v === "string" ? /^(\d+)\s*([smhd])$/.exec(v.trim()) : null;
    if (!m) {
      this.issue(field, v === undefined ? `missing (e.g. "1h" or 3600)` : `${JSON.stringify(v)} is not a duration; write e.g. "1h", "90m" or seconds`);
      return 0n;
    }
    return BigInt(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  }

  token(field: string, v: unknown): TokenConfig {
    const o = this.object(field, v);
    const checkDecimals = (f: string, d: number) => {
      if (BigInt(d) > MAX_TOKEN_DECIMALS) this.issue(f, `${d} > ${MAX_TOKEN_DECIMALS}: the engine reverts with UnsupportedDecimals`);
    };
    if (o.mock !== undefined) {
      this.known(field, o, ["mock"]);
      const m = this.object(`${field}.mock`, o.mock);
      this.known(`${field}.mock`, m, ["name", "symbol", "decimals"]);
      const decimals = this.safeInt(`${field}.mock.decimals`, m.decimals);
      checkDecimals(`${field}.mock.decimals`, decimals);
      return { kind: "mock", name: this.string(`${field}.mock.name`, m.name), symbol: this.string(`${field}.mock.symbol`, m.symbol), decimals };
    }
    this.known(field, o, ["address", "symbol", "decimals"]);
    const decimals = this.safeInt(`${field}.decimals`, o.decimals);
    checkDecimals(`${field}.decimals`, decimals);
    return { kind: "external", address: this.address(`${field}.address`, o.address), symbol: this.string(`${field}.symbol`, o.symbol), decimals };
  }

  owner(field: string, v: unknown): OwnerConfig {
    if (v === "deployer") return { kind: "deployer" };
    if (typeof v === "string") return { kind: "address", address: this.address(field, v) };
    const o = this.object(field, v);
    this.known(field, o, ["timelock"]);
    const t = this.object(`${field}.timelock`, o.timelock);
    this.known(`${field}.timelock`, t, ["minDelay", "proposers", "executors"]);
    const minDelay = this.seconds(`${field}.timelock.minDelay`, t.minDelay);
    const proposers = this.array(`${field}.timelock.proposers`, t.proposers).map((x, i) => this.party(`${field}.timelock.proposers[${i}]`, x, false));
    const executors = this.array(`${field}.timelock.executors`, t.executors).map((x, i) => this.party(`${field}.timelock.executors[${i}]`, x, true));
    if (t.proposers !== undefined && proposers.length === 0) this.issue(`${field}.timelock.proposers`, "needs at least one proposer, or no parameter can ever change");
    if (t.executors !== undefined && executors.length === 0) this.issue(`${field}.timelock.executors`, `needs at least one executor (or "anyone")`);
    return { kind: "timelock", minDelay, proposers, executors };
  }

  sequencer(field: string, v: unknown): { feed: string; gracePeriod: bigint } {
    const o = this.object(field, v);
    this.known(field, o, ["feed", "gracePeriod"]);
    const gracePeriod = this.seconds(`${field}.gracePeriod`, o.gracePeriod);
    this.bounds(`${field}.gracePeriod`, gracePeriodViolation(gracePeriod));
    return { feed: this.address(`${field}.feed`, o.feed), gracePeriod };
  }

  /** A value a parameter file marks as not confirmed: `{ "unconfirmed": "why" }`. Reports it and returns true. */
  private unconfirmed(field: string, v: unknown): boolean {
    if (typeof v !== "object" || v === null || !("unconfirmed" in v)) return false;
    const why = (v as Obj).unconfirmed;
    this.issue(field, `not confirmed${typeof why === "string" && why ? ` (${why})` : ""}: write Chainlink's published value before deploying to this network; a guessed one is never deployed`);
    return true;
  }

  streams(field: string, v: unknown, markets: MarketConfig[], local: boolean): StreamsConfig {
    const o = this.object(field, v);
    this.known(field, o, ["verifierProxy", "timing", "markets"]);
    let verifierProxy: StreamsConfig["verifierProxy"] = { kind: "local" };
    if (o.verifierProxy === "local") {
      if (!local) this.issue(`${field}.verifierProxy`, `"local" deploys a Verifier that trusts public development keys; a public network needs Chainlink's VerifierProxy address`);
    } else if (!this.unconfirmed(`${field}.verifierProxy`, o.verifierProxy)) {
      verifierProxy = { kind: "external", address: this.address(`${field}.verifierProxy`, o.verifierProxy) };
    }
    const isLocal = verifierProxy.kind === "local";

    const t = this.object(`${field}.timing`, o.timing);
    this.known(`${field}.timing`, t, ["settlementDelay", "expiry", "pushFallbackDelay"]);
    const start = this.issues.length;
    const timing: Timing = {
      settlementDelay: this.seconds(`${field}.timing.settlementDelay`, t.settlementDelay),
      expiry: this.seconds(`${field}.timing.expiry`, t.expiry),
      pushFallbackDelay: this.seconds(`${field}.timing.pushFallbackDelay`, t.pushFallbackDelay),
    };
    // Bounds only once every duration parsed: each bound depends on the others.
    if (this.issues.length === start) {
      for (const viol of timingViolations(timing)) this.issue(`${field}.timing.${viol.name}`, describeViolation(viol));
    }

    const mo = this.object(`${field}.markets`, o.markets);
    const symbols = markets.map((m) => m.symbol);
    this.known(`${field}.markets`, mo, symbols);
    const streams = markets.map((m) => {
      const at = `${field}.markets.${m.symbol}`;
      if (mo[m.symbol] === undefined) {
        if (o.markets !== undefined) this.issue(at, `missing: every market needs its stream (${m.symbol} is listed in markets)`);
        return { symbol: m.symbol, streamId: "", maxDeviationBps: 0n };
      }
      const s = this.object(at, mo[m.symbol]);
      this.known(at, s, ["streamId", "maxDeviation"]);
      const streamId = this.streamId(`${at}.streamId`, s.streamId, isLocal);
      let maxDeviationBps = 0n;
      if (s.maxDeviation === undefined) this.issue(`${at}.maxDeviation`, `missing (e.g. "1%": how far a report may be from the push feed)`);
      else {
        const start = this.issues.length;
        maxDeviationBps = this.bps(`${at}.maxDeviation`, s.maxDeviation);
        if (this.issues.length === start) this.bounds(`${at}.maxDeviation`, streamDeviationViolation(maxDeviationBps));
      }
      return { symbol: m.symbol, streamId, maxDeviationBps };
    });
    const ids = new Map<string, string>();
    for (const s of streams) {
      if (s.streamId === "") continue;
      const other = ids.get(s.streamId);
      if (other !== undefined) this.issue(`${field}.markets.${s.symbol}.streamId`, `${s.streamId} is also ${other}'s stream: each market reads its own`);
      ids.set(s.streamId, s.symbol);
    }
    return { verifierProxy, timing, markets: streams };
  }

  /** A v3 stream id (bytes32, schema 0x0003), or with the local Verifier a label hashed by localFeedId. */
  private streamId(field: string, v: unknown, local: boolean): string {
    if (this.unconfirmed(field, v)) return "";
    if (typeof v !== "string" || v.length === 0) {
      this.issue(field, v === undefined ? `missing (a v3 stream id "0x0003…"${local ? `, or a label such as "ETH/USD"` : ""})` : "must be a string");
      return "";
    }
    if (!v.startsWith("0x")) {
      if (local) return localFeedId(v);
      this.issue(field, `"${v}" is a label, which only names a stream of the local oracle set; a public network needs Chainlink's stream id (0x0003…, 32 bytes)`);
      return "";
    }
    if (!isHexString(v, 32)) {
      this.issue(field, `${v} is not a 32-byte hex stream id`);
      return "";
    }
    const schema = streamSchemaOf(v);
    if (schema !== STREAM_SCHEMA_V3) {
      this.issue(field, `${v} is a schema v${schema} stream (first two bytes 0x${v.slice(2, 6)}); the oracle decodes v3 crypto reports only, 0x0003… (would revert ReportSchemaUnsupported)`);
      return "";
    }
    return v.toLowerCase();
  }

  market(field: string, v: unknown, token: TokenConfig): MarketConfig {
    const o = this.object(field, v);
    this.known(field, o, ["symbol", "feed", "heartbeat", "params", "risk"]);
    const symbol = this.string(`${field}.symbol`, o.symbol);
    const base = symbol.split("/")[0];
    const start = this.issues.length;
    const feedObj = this.object(`${field}.feed`, o.feed);
    let feed: FeedConfig;
    if (feedObj.mock !== undefined) {
      this.known(`${field}.feed`, feedObj, ["mock"]);
      const m = this.object(`${field}.feed.mock`, feedObj.mock);
      this.known(`${field}.feed.mock`, m, ["decimals", "answer"]);
      const decimals = this.safeInt(`${field}.feed.mock.decimals`, m.decimals);
      // The answer is the price itself ("3000" for $3,000), scaled by the feed's decimals.
      const text = typeof m.answer === "number" ? String(m.answer) : m.answer;
      const answer = typeof text === "string" ? this.decimal(`${field}.feed.mock.answer`, text, decimals, `a ${decimals}-decimal answer`) : undefined;
      if (answer === 0n || (answer === undefined && typeof text !== "string")) this.issue(`${field}.feed.mock.answer`, `must be a positive price, e.g. "3000"`);
      feed = { kind: "mock", decimals, answer: answer ?? 0n };
    } else {
      this.known(`${field}.feed`, feedObj, ["address", "description"]);
      const description = feedObj.description === undefined ? undefined : this.string(`${field}.feed.description`, feedObj.description);
      feed = { kind: "external", address: this.address(`${field}.feed.address`, feedObj.address), description };
    }
    const heartbeat = this.seconds(`${field}.heartbeat`, o.heartbeat);
    const po = this.object(`${field}.params`, o.params);
    this.known(`${field}.params`, po, ["maxLeverage", "openFeeRate", "closeFeeRate", "baseBorrowRate", "borrowRateSlope", "minCollateral", "maxLongOpenInterest", "maxShortOpenInterest"]);
    const params: MarketParams = {
      maxLeverage: this.multiple(`${field}.params.maxLeverage`, po.maxLeverage),
      openFeeRate: this.wadFraction(`${field}.params.openFeeRate`, po.openFeeRate),
      closeFeeRate: this.wadFraction(`${field}.params.closeFeeRate`, po.closeFeeRate),
      baseBorrowRate: this.perSecondRate(`${field}.params.baseBorrowRate`, po.baseBorrowRate),
      borrowRateSlope: this.perSecondRate(`${field}.params.borrowRateSlope`, po.borrowRateSlope),
      minCollateral: this.amount(`${field}.params.minCollateral`, po.minCollateral, token.symbol, token.decimals),
      maxLongOpenInterest: this.amount(`${field}.params.maxLongOpenInterest`, po.maxLongOpenInterest, base, 18),
      maxShortOpenInterest: this.amount(`${field}.params.maxShortOpenInterest`, po.maxShortOpenInterest, base, 18),
    };
    const ro = this.object(`${field}.risk`, o.risk);
    this.known(`${field}.risk`, ro, ["mmr", "liquidationFeeRate", "minLiquidationFee", "maxProfitFactorBps"]);
    const risk: RiskParams = {
      mmr: this.wadFraction(`${field}.risk.mmr`, ro.mmr),
      liquidationFeeRate: this.wadFraction(`${field}.risk.liquidationFeeRate`, ro.liquidationFeeRate),
      minLiquidationFee: this.amount(`${field}.risk.minLiquidationFee`, ro.minLiquidationFee, token.symbol, token.decimals),
      maxProfitFactorBps: this.bps(`${field}.risk.maxProfitFactorBps`, ro.maxProfitFactorBps),
    };
    for (const [k, bits] of Object.entries(RISK_FIELD_BITS) as [keyof RiskParams, number][]) {
      if (risk[k] >= 1n << BigInt(bits)) this.issue(`${field}.risk.${k}`, `${risk[k]} does not fit the RiskParams field (uint${bits})`);
    }
    // Mock feeds' decimals are known here; a real feed's decimals are read on chain by the preflight.
    const feedDecimals = feed.kind === "mock" ? BigInt(feed.decimals) : 0n;
    // One problem per cause: a value that did not parse, or broke its own bound, is not reported
    // again through the coupled checks it feeds.
    const unparsed = new Set(this.issues.slice(start).map((i) => i.field));
    const broken = new Set<string>();
    for (const viol of listMarketViolations(heartbeat, feedDecimals, params, risk)) {
      const at = marketFieldOf(field, viol);
      const inputs = COUPLED_INPUTS[viol.name];
      if (inputs?.some((n) => broken.has(n) || unparsed.has(`${field}.${MARKET_FIELD[n]}`))) continue;
      if (!inputs) broken.add(viol.name);
      if (unparsed.has(at)) continue;
      this.issue(at, describeViolation(viol));
    }
    return { symbol, base, feed, heartbeat, params, risk };
  }
}
