/**
 * Configuration: command-line flags over environment variables over a JSON file over defaults,
 * validated at start. Every problem is collected and reported at once, each saying what to fix.
 * @module
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { getAddress } from "ethers";
import { getDeployment, knownChainIds, parseDeployment, parseUnits, type Deployment } from "@bulkhead/sdk";
import type { LogFormat, LogLevel } from "./logger.js";

/** The configuration is wrong; `problems` lists what to fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`bad configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

/** Networks with a default RPC URL (others need --rpc). */
export const DEFAULT_RPC: Readonly<Record<string, string>> = {
  localhost: "http://127.0.0.1:8545",
};

type Kind = "string" | "list" | "int" | "decimal" | "bool" | "secret" | "enum";

interface Spec {
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  help: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

/** Every option: its flag, environment variable and key in the config file. */
export const OPTIONS: readonly Spec[] = [
  { key: "config", flag: "--config", env: "KEEPER_CONFIG", kind: "string", help: "JSON file with any of these options (camelCase keys)" },
  { key: "network", flag: "--network", env: "KEEPER_NETWORK", kind: "string", help: "network name: reads deployments/<network>.json (localhost also has a default RPC)" },
  { key: "rpc", flag: "--rpc", env: "KEEPER_RPC_URLS", kind: "list", help: "JSON-RPC URL; repeat or comma-separate for fail-over, in order of preference" },
  { key: "deployment", flag: "--deployment", env: "KEEPER_DEPLOYMENT", kind: "string", help: "deployment file (deployments/<network>.json format); overrides --network's" },
  { key: "key", flag: "--key", env: "KEEPER_PRIVATE_KEY", kind: "secret", help: "keeper private key (prefer the env variable or a keystore: flags show in ps)" },
  { key: "keystore", flag: "--keystore", env: "KEEPER_KEYSTORE", kind: "string", help: "encrypted JSON keystore (geth/ethers format)" },
  { key: "keystorePasswordFile", flag: "--keystore-password-file", env: "KEEPER_KEYSTORE_PASSWORD_FILE", kind: "string", help: "file holding the keystore password (or set KEEPER_KEYSTORE_PASSWORD)" },
  { key: "store", flag: "--store", env: "KEEPER_STORE", kind: "string", help: "state file (default .keeper/<network>-<chainId>-<engine>.json)" },
  { key: "dryRun", flag: "--dry-run", env: "KEEPER_DRY_RUN", kind: "bool", help: "report what would be liquidated; send nothing (no key needed)" },
  { key: "confirmations", flag: "--confirmations", env: "KEEPER_CONFIRMATIONS", kind: "int", min: 0, max: 1000, help: "reorg depth: blocks before events are final (default 2)" },
  { key: "pollIntervalMs", flag: "--poll-interval-ms", env: "KEEPER_POLL_INTERVAL_MS", kind: "int", min: 10, max: 600_000, help: "milliseconds between polls for a new block (default 1000)" },
  { key: "logChunkSize", flag: "--log-chunk-size", env: "KEEPER_LOG_CHUNK_SIZE", kind: "int", min: 1, max: 1_000_000, help: "blocks per eth_getLogs query (default 5000)" },
  { key: "lensBatchSize", flag: "--lens-batch-size", env: "KEEPER_LENS_BATCH_SIZE", kind: "int", min: 1, max: 2_000, help: "positions per lens read (default 200)" },
  { key: "fullRefreshBlocks", flag: "--full-refresh-blocks", env: "KEEPER_FULL_REFRESH_BLOCKS", kind: "int", min: 0, max: 1_000_000, help: "re-read every position record once per this many blocks, a slice each block (default 100, 0 never)" },
  { key: "maxBatchSize", flag: "--max-batch-size", env: "KEEPER_MAX_BATCH_SIZE", kind: "int", min: 1, max: 1_000, help: "ids per liquidateMany (default 50)" },
  { key: "maxBatchGas", flag: "--max-batch-gas", env: "KEEPER_MAX_BATCH_GAS", kind: "int", min: 100_000, max: 1_000_000_000, help: "gas estimate above which a batch is split (default 8000000)" },
  { key: "maxFeeGwei", flag: "--max-fee-gwei", env: "KEEPER_MAX_FEE_GWEI", kind: "decimal", help: "EIP-1559 fee cap per gas in gwei (default 100)" },
  { key: "priorityFeeGwei", flag: "--priority-fee-gwei", env: "KEEPER_PRIORITY_FEE_GWEI", kind: "decimal", help: "priority fee per gas in gwei (default 1)" },
  { key: "feeBumpPercent", flag: "--fee-bump-percent", env: "KEEPER_FEE_BUMP_PERCENT", kind: "int", min: 10, max: 500, help: "fee increase when replacing a stuck transaction (default 20)" },
  { key: "replaceAfterBlocks", flag: "--replace-after-blocks", env: "KEEPER_REPLACE_AFTER_BLOCKS", kind: "int", min: 1, max: 10_000, help: "blocks without a receipt before replacing (default 3)" },
  { key: "maxPendingTxs", flag: "--max-pending-txs", env: "KEEPER_MAX_PENDING_TXS", kind: "int", min: 1, max: 64, help: "liquidation transactions in flight at once (default 4)" },
  { key: "minProfit", flag: "--min-profit", env: "KEEPER_MIN_PROFIT", kind: "decimal", help: "least reward minus gas cost per batch, in collateral tokens (default: no floor)" },
  { key: "nativePrice", flag: "--native-price", env: "KEEPER_NATIVE_PRICE", kind: "decimal", help: "price of the gas coin in collateral tokens, for --min-profit" },
  { key: "nativePriceMarket", flag: "--native-price-market", env: "KEEPER_NATIVE_PRICE_MARKET", kind: "int", min: 0, max: 15, help: "or: take the gas coin's price from this market's oracle" },
  { key: "metricsPort", flag: "--metrics-port", env: "KEEPER_METRICS_PORT", kind: "int", min: 0, max: 65_535, help: "port of /health and /metrics on 127.0.0.1 (default 9464, 0 picks one)" },
  { key: "noMetrics", flag: "--no-metrics", env: "KEEPER_NO_METRICS", kind: "bool", help: "do not serve /health and /metrics" },
  { key: "logFormat", flag: "--log-format", env: "KEEPER_LOG_FORMAT", kind: "enum", choices: ["text", "json"], help: "text (default) or json lines" },
  { key: "logLevel", flag: "--log-level", env: "KEEPER_LOG_LEVEL", kind: "enum", choices: ["debug", "info", "warn", "error"], help: "default info" },
  { key: "rpcTimeoutMs", flag: "--rpc-timeout-ms", env: "KEEPER_RPC_TIMEOUT_MS", kind: "int", min: 100, max: 600_000, help: "per-request timeout (default 10000)" },
  { key: "rpcRetries", flag: "--rpc-retries", env: "KEEPER_RPC_RETRIES", kind: "int", min: 0, max: 100, help: "retries of a failed request across URLs (default 5)" },
  { key: "streamsUrl", flag: "--streams-url", env: "KEEPER_STREAMS_URL", kind: "string", help: "Data Streams REST endpoint (Chainlink's API, or the local report service's URL); needed to execute requests and orders" },
  { key: "streamsWs", flag: "--streams-ws", env: "KEEPER_STREAMS_WS", kind: "string", help: "Data Streams WebSocket endpoint (default: the REST URL with ws(s)://)" },
  { key: "streamsApiKey", flag: "", env: "KEEPER_STREAMS_API_KEY", kind: "secret", help: "Data Streams API key (environment or config file only; else read from the keystore)" },
  { key: "streamsUserSecret", flag: "", env: "KEEPER_STREAMS_USER_SECRET", kind: "secret", help: "Data Streams user secret (environment or config file only; else read from the keystore)" },
  { key: "saveStreamsCredentials", flag: "--save-streams-credentials", env: "KEEPER_SAVE_STREAMS_CREDENTIALS", kind: "bool", help: "store KEEPER_STREAMS_API_KEY and KEEPER_STREAMS_USER_SECRET in the --keystore, encrypted with its password, and exit" },
  { key: "peers", flag: "--peers", env: "KEEPER_PEERS", kind: "list", help: "addresses of every keeper sharing this chain, this one included (same list for all, any order): each job is tried first by one of them" },
  { key: "peerGraceBlocks", flag: "--peer-grace-blocks", env: "KEEPER_PEER_GRACE_BLOCKS", kind: "int", min: 1, max: 10_000, help: "blocks a keeper waits for a job's owner among --peers before trying it itself (default 2)" },
  { key: "minTopUpFee", flag: "--min-top-up-fee", env: "KEEPER_MIN_TOP_UP_FEE", kind: "decimal", help: "least executor fee of a top-up guard, in collateral tokens (default: any fee above 0)" },
];

/** Validated settings (before the chain is contacted). */
export interface KeeperConfig {
  network: string | null;
  rpc: string[];
  deployment: Deployment | null;
  deploymentSource: string | null;
  key: { privateKey: string; source: "flag" | "env" | "file" } | { keystore: string; password: string } | null;
  keyOnCommandLine: boolean;
  store: string | null;
  dryRun: boolean;
  confirmations: number;
  pollIntervalMs: number;
  logChunkSize: number;
  lensBatchSize: number;
  fullRefreshBlocks: number;
  maxBatchSize: number;
  maxBatchGas: bigint;
  maxFeePerGas: bigint;
  priorityFeePerGas: bigint;
  feeBumpPercent: number;
  replaceAfterBlocks: number;
  maxPendingTxs: number;
  /** Decimal text; converted with the token's decimals once connected. */
  minProfit: string | null;
  /** WAD price of the gas coin in collateral tokens. */
  nativePrice: bigint | null;
  nativePriceMarket: number | null;
  metricsPort: number | null;
  logFormat: LogFormat;
  logLevel: LogLevel;
  rpcTimeoutMs: number;
  rpcRetries: number;
  /** The Data Streams API (or the local report service); null: no reports. A null credential is read from the keystore (cli.ts). */
  streams: { url: string; ws: string | null; apiKey: string | null; userSecret: string | null } | null;
  /** `--save-streams-credentials`: seal these credentials into the keystore and exit. */
  saveStreamsCredentials: { keystore: string; password: string; apiKey: string; userSecret: string } | null;
  /** Decimal text; converted with the token's decimals once connected. */
  minTopUpFee: string | null;
  /** Checksummed addresses of the keepers sharing the chain (empty: this keeper alone). */
  peers: string[];
  peerGraceBlocks: number;
}

export const HELP = `Bulkhead keeper: liquidates unhealthy positions with liquidateMany, executes requests and orders.

Usage: npm run keeper -- --network <name> [options]
       node keeper/bin/keeper.mjs --rpc <url> --deployment <file> [options]

Options (flag, environment variable; a --config JSON file takes the camelCase names):
${OPTIONS.filter((o) => o.flag !== "").map((o) => `  ${(o.flag + (o.kind === "bool" ? "" : " <" + (o.choices ? o.choices.join("|") : o.kind === "list" ? "url" : o.kind === "int" || o.kind === "decimal" ? "n" : "value") + ">")).padEnd(36)} ${o.env.padEnd(30)} ${o.help}`).join("\n")}
  --help                               show this text
Environment or config file only: ${OPTIONS.filter((o) => o.flag === "").map((o) => `${o.env} (${o.help})`).join("; ")}.

Precedence: flags, then environment, then the config file, then defaults.`;

type Raw = Record<string, unknown>;

function nearest(word: string, words: readonly string[]): string | undefined {
  const d = (a: string, b: string) => {
    const m = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) m[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) m[i]![j] = Math.min(m[i - 1]![j]! + 1, m[i]![j - 1]! + 1, m[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return m[a.length]![b.length]!;
  };
  let best: string | undefined;
  let score = 4;
  for (const w of words) {
    const s = d(word, w);
    if (s < score) {
      score = s;
      best = w;
    }
  }
  return best;
}

/** Parses argv into raw values by key; unknown flags are problems. */
function parseArgs(argv: readonly string[], problems: string[]): { raw: Raw; help: boolean } {
  const raw: Raw = {};
  let help = false;
  const byFlag = new Map(OPTIONS.filter((o) => o.flag !== "").map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = byFlag.get(flag);
    if (!spec) {
      const guess = arg.startsWith("-") ? nearest(flag, [...byFlag.keys()]) : undefined;
      problems.push(`unknown argument ${JSON.stringify(arg)}${guess ? ` (did you mean ${guess}?)` : ""}; see --help`);
      continue;
    }
    let value: string | boolean;
    if (spec.kind === "bool") value = eq > 0 ? arg.slice(eq + 1) : true;
    else if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !(argv[i + 1]!.startsWith("--") && byFlag.has(argv[i + 1]!.split("=")[0]!))) value = argv[++i]!;
    else {
      problems.push(`${flag} needs a value`);
      continue;
    }
    if (spec.kind === "list") raw[spec.key] = [...((raw[spec.key] as string[] | undefined) ?? []), String(value)];
    else raw[spec.key] = value;
  }
  return { raw, help };
}

function fromEnv(env: Record<string, string | undefined>): Raw {
  const raw: Raw = {};
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v !== undefined && v !== "") raw[o.key] = v;
  }
  return raw;
}

function fromFile(path: string, problems: string[]): Raw {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    problems.push(`--config ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    return {};
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    problems.push(`--config ${path}: expected a JSON object of options`);
    return {};
  }
  const keys = new Set(OPTIONS.map((o) => o.key));
  for (const k of Object.keys(json)) {
    if (!keys.has(k) || k === "config") {
      const guess = nearest(k, [...keys]);
      problems.push(`--config ${path}: unknown option ${JSON.stringify(k)}${guess ? ` (did you mean ${guess}?)` : ""}`);
    }
  }
  return json as Raw;
}

/** Reads the options (flags, env, file), validates them, and resolves the deployment file. */
export function loadConfig(argv: readonly string[], env: Record<string, string | undefined>, cwd = process.cwd()): KeeperConfig | "help" {
  const problems: string[] = [];
  const args = parseArgs(argv, problems);
  if (args.help) return "help";
  const envRaw = fromEnv(env);
  const configPath = (args.raw.config ?? envRaw.config) as string | undefined;
  const fileRaw = configPath ? fromFile(resolve(cwd, configPath), problems) : {};
  const raw: Raw = { ...fileRaw, ...envRaw, ...args.raw };
  const source = (key: string) => (key in args.raw ? "flag" : key in envRaw ? "env" : "file");
  const spec = (key: string) => OPTIONS.find((o) => o.key === key)!;
  const name = (key: string) => (spec(key).flag === "" ? spec(key).env : `${spec(key).flag} (${spec(key).env})`);

  const str = (key: string): string | null => {
    const v = raw[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string" || v.trim() === "") {
      problems.push(`${name(key)} must be a non-empty string`);
      return null;
    }
    return v.trim();
  };
  const int = (key: string, def: number): number => {
    const v = raw[key];
    if (v === undefined || v === null) return def;
    const s = spec(key);
    const n = typeof v === "number" ? v : /^\s*-?\d+\s*$/.test(String(v)) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || (s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
      problems.push(`${name(key)} must be an integer from ${s.min} to ${s.max}, got ${JSON.stringify(v)}`);
      return def;
    }
    return n;
  };
  const decimal = (key: string, decimals: number): bigint | null => {
    const v = raw[key];
    if (v === undefined || v === null) return null;
    const text = String(v).trim();
    if (!/^\d+(\.\d+)?$/.test(text)) {
      problems.push(`${name(key)} must be a non-negative decimal number, got ${JSON.stringify(v)}`);
      return null;
    }
    try {
      return parseUnits(text, decimals);
    } catch {
      problems.push(`${name(key)} has more than ${decimals} decimals: ${JSON.stringify(v)}`);
      return null;
    }
  };
  const bool = (key: string): boolean => {
    const v = raw[key];
    if (v === undefined || v === null) return false;
    if (typeof v === "boolean") return v;
    if (/^(1|true|yes|on)$/i.test(String(v))) return true;
    if (/^(0|false|no|off)$/i.test(String(v))) return false;
    problems.push(`${name(key)} must be true or false, got ${JSON.stringify(v)}`);
    return false;
  };
  const choice = <T extends string>(key: string, def: T): T => {
    const v = raw[key];
    if (v === undefined || v === null) return def;
    const s = spec(key);
    if (!s.choices!.includes(String(v))) {
      problems.push(`${name(key)} must be one of ${s.choices!.join(", ")}, got ${JSON.stringify(v)}`);
      return def;
    }
    return String(v) as T;
  };

  // RPC URLs.
  const rpcRaw = raw.rpc;
  let rpc: string[] = (Array.isArray(rpcRaw) ? rpcRaw.map(String) : typeof rpcRaw === "string" ? [rpcRaw] : [])
    .flatMap((u) => u.split(","))
    .map((u) => u.trim())
    .filter((u) => u !== "");
  for (const u of rpc) {
    let ok = false;
    try {
      ok = ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      /* reported below */
    }
    if (!ok) problems.push(`${name("rpc")}: ${JSON.stringify(u)} is not an http(s) URL`);
  }

  // Deployment: explicit file, or the network's file, or one the SDK knows by network name.
  const network = str("network");
  const deploymentPath = str("deployment");
  let deployment: Deployment | null = null;
  let deploymentSource: string | null = null;
  const readDeployment = (path: string, what: string) => {
    try {
      deployment = parseDeployment(JSON.parse(readFileSync(path, "utf8")));
      deploymentSource = path;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${what} ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
  };
  if (deploymentPath) {
    readDeployment(resolve(cwd, deploymentPath), name("deployment"));
  } else if (network) {
    if (!/^[A-Za-z0-9_-]+$/.test(network)) problems.push(`${name("network")} must be a plain name like "localhost" or "sepolia", got ${JSON.stringify(network)}`);
    else {
      const file = join(cwd, "deployments", `${network}.json`);
      const known = sdkDeployments().find((d) => d.network === network);
      if (existsSync(file)) readDeployment(file, `deployment of network ${network}`);
      else if (known) {
        deployment = known;
        deploymentSource = `the SDK's built-in deployments (${network})`;
      } else if (network in DEFAULT_RPC) {
        problems.push(`network ${network} has no deployments/${network}.json yet: deploy Bulkhead to it first, or pass --deployment <file>`);
      } else {
        const names = new Set<string>([...Object.keys(DEFAULT_RPC), ...sdkDeployments().map((d) => d.network)]);
        try {
          for (const f of readdirNames(join(cwd, "deployments"))) names.add(f);
        } catch {
          /* no deployments folder */
        }
        problems.push(`unknown network ${JSON.stringify(network)}: no deployments/${network}.json and the SDK knows no deployment of that name; known networks: ${[...names].sort().join(", ") || "none"} (or pass --deployment <file> and --rpc <url>)`);
      }
    }
  }
  const saving = bool("saveStreamsCredentials");
  if (rpc.length === 0 && !saving && !problems.some((p) => p.startsWith("unknown network"))) {
    const net = network ?? (deployment as Deployment | null)?.network ?? null;
    if (net && DEFAULT_RPC[net]) rpc = [DEFAULT_RPC[net]!];
    else problems.push(`no RPC URL: pass --rpc <url> or set KEEPER_RPC_URLS${net ? ` (network ${net} has no default)` : ""}`);
  }

  // Key: exactly one of a private key and a keystore, unless the run is dry.
  const dryRun = bool("dryRun");
  const keyText = raw.key === undefined ? null : String(raw.key).trim();
  const keystore = str("keystore");
  let key: KeeperConfig["key"] = null;
  if (keyText !== null && keystore !== null) problems.push(`give either ${name("key")} or ${name("keystore")}, not both`);
  else if (keyText !== null) {
    const hex = keyText.startsWith("0x") ? keyText.slice(2) : keyText;
    if (!/^[0-9a-fA-F]{64}$/.test(hex) || /^0+$/.test(hex)) {
      problems.push(
        `${name("key")} is not a private key: expected 64 hex digits (optionally 0x-prefixed), got ${keyText.length} characters${/[^0-9a-fA-Fx]/.test(keyText) ? " with non-hex characters" : ""} (the value is not shown)`,
      );
    } else key = { privateKey: "0x" + hex, source: source("key") as "flag" | "env" | "file" };
  } else if (keystore !== null) {
    const file = resolve(cwd, keystore);
    if (!existsSync(file)) problems.push(`${name("keystore")} ${file}: no such file`);
    let password = env.KEEPER_KEYSTORE_PASSWORD ?? null;
    const pwFile = str("keystorePasswordFile");
    if (pwFile) {
      try {
        password = readFileSync(resolve(cwd, pwFile), "utf8").replace(/\r?\n$/, "");
      } catch (e) {
        problems.push(`${name("keystorePasswordFile")} ${pwFile}: ${(e as Error).message}`);
      }
    }
    if (password === null) problems.push(`the keystore needs a password: set KEEPER_KEYSTORE_PASSWORD or ${name("keystorePasswordFile")}`);
    else key = { keystore: file, password };
  } else if (!dryRun && !saving) {
    problems.push(`no key: set KEEPER_PRIVATE_KEY, or pass --keystore <file>, or run with --dry-run`);
  }

  const maxFee = decimal("maxFeeGwei", 9) ?? 100n * 10n ** 9n;
  const tip = decimal("priorityFeeGwei", 9) ?? 10n ** 9n;
  if (maxFee === 0n) problems.push(`${name("maxFeeGwei")} must be above 0`);
  if (tip > maxFee) problems.push(`${name("priorityFeeGwei")} (${raw.priorityFeeGwei}) is above ${name("maxFeeGwei")} (${raw.maxFeeGwei ?? 100})`);
  const minProfit = raw.minProfit === undefined ? null : String(raw.minProfit).trim();
  if (minProfit !== null && !/^\d+(\.\d+)?$/.test(minProfit)) problems.push(`${name("minProfit")} must be a non-negative decimal number, got ${JSON.stringify(raw.minProfit)}`);
  const nativePrice = decimal("nativePrice", 18);
  const nativePriceMarket = raw.nativePriceMarket === undefined ? null : int("nativePriceMarket", 0);
  if (minProfit !== null && nativePrice === null && nativePriceMarket === null) {
    problems.push(`${name("minProfit")} needs the gas coin's price: pass ${spec("nativePrice").flag} <tokens per coin> or ${spec("nativePriceMarket").flag} <market id>`);
  }
  if (nativePrice !== null && nativePriceMarket !== null) problems.push(`give either ${name("nativePrice")} or ${name("nativePriceMarket")}, not both`);

  // Data Streams: an http(s) REST URL, a ws(s) URL, and both credentials, or none of them.
  const urlOf = (key: string, protocols: string[]): string | null => {
    const u = str(key);
    if (u === null) return null;
    try {
      if (protocols.includes(new URL(u).protocol)) return u;
    } catch {
      /* reported below */
    }
    problems.push(`${name(key)}: ${JSON.stringify(u)} is not a ${protocols.map((p) => p.slice(0, -1)).join("/")} URL`);
    return null;
  };
  const streamsUrl = urlOf("streamsUrl", ["http:", "https:"]);
  const streamsWs = urlOf("streamsWs", ["ws:", "wss:"]);
  const apiKey = raw.streamsApiKey === undefined ? null : String(raw.streamsApiKey).trim() || null;
  const userSecret = raw.streamsUserSecret === undefined ? null : String(raw.streamsUserSecret).trim() || null;
  let streams: KeeperConfig["streams"] = null;
  let saveStreamsCredentials: KeeperConfig["saveStreamsCredentials"] = null;
  const fromKeystore = key !== null && "keystore" in key;
  if (saving) {
    if (!fromKeystore) problems.push(`${name("saveStreamsCredentials")} needs the keystore to store them in: pass ${name("keystore")} and its password`);
    if (apiKey === null || userSecret === null) problems.push(`${name("saveStreamsCredentials")} stores the credentials from the environment: set ${[apiKey === null ? "KEEPER_STREAMS_API_KEY" : "", userSecret === null ? "KEEPER_STREAMS_USER_SECRET" : ""].filter(Boolean).join(" and ")}`);
    const k = key as KeeperConfig["key"];
    if (k !== null && "keystore" in k && apiKey !== null && userSecret !== null) saveStreamsCredentials = { keystore: k.keystore, password: k.password, apiKey, userSecret };
  } else if (streamsUrl !== null) {
    if ((apiKey === null || userSecret === null) && !fromKeystore) {
      problems.push(`${name("streamsUrl")} needs the Data Streams credentials: set ${[apiKey === null ? "KEEPER_STREAMS_API_KEY" : "", userSecret === null ? "KEEPER_STREAMS_USER_SECRET" : ""].filter(Boolean).join(" and ")}, or store them in the keystore with --save-streams-credentials (for the local report service, the pair it was started with)`);
    } else streams = { url: streamsUrl, ws: streamsWs, apiKey, userSecret };
  } else if (raw.streamsUrl === undefined && (apiKey !== null || userSecret !== null || raw.streamsWs !== undefined)) {
    problems.push(`Data Streams credentials or ${name("streamsWs")} given without ${name("streamsUrl")}: pass the REST endpoint too (for example https://api.testnet-dataengine.chain.link)`);
  }
  const minTopUpFee = raw.minTopUpFee === undefined ? null : String(raw.minTopUpFee).trim();
  if (minTopUpFee !== null && !/^\d+(\.\d+)?$/.test(minTopUpFee)) problems.push(`${name("minTopUpFee")} must be a non-negative decimal number, got ${JSON.stringify(raw.minTopUpFee)}`);

  // Peers: addresses, this keeper's among them (checked once its key is read).
  const peersRaw = raw.peers;
  const peers: string[] = [];
  for (const p of (Array.isArray(peersRaw) ? peersRaw.map(String) : typeof peersRaw === "string" ? [peersRaw] : []).flatMap((u) => u.split(",")).map((u) => u.trim()).filter((u) => u !== "")) {
    try {
      const a = getAddress(p.toLowerCase());
      if (!peers.includes(a)) peers.push(a);
    } catch {
      problems.push(`${name("peers")}: ${JSON.stringify(p)} is not an address`);
    }
  }
  if (peers.length > 0 && key === null) problems.push(`${name("peers")} needs this keeper's key (its address picks its slot among the peers): give ${name("key")} or ${name("keystore")}, also in a dry run`);
  if (raw.peerGraceBlocks !== undefined && raw.peers === undefined) problems.push(`${name("peerGraceBlocks")} given without ${name("peers")}: list the keepers sharing the chain too`);

  const config: KeeperConfig = {
    network: network ?? (deployment as Deployment | null)?.network ?? null,
    rpc,
    deployment,
    deploymentSource,
    key,
    keyOnCommandLine: key !== null && "privateKey" in key && key.source === "flag",
    store: str("store") === null ? null : resolve(cwd, str("store")!),
    dryRun,
    confirmations: int("confirmations", 2),
    pollIntervalMs: int("pollIntervalMs", 1_000),
    logChunkSize: int("logChunkSize", 5_000),
    lensBatchSize: int("lensBatchSize", 200),
    fullRefreshBlocks: int("fullRefreshBlocks", 100),
    maxBatchSize: int("maxBatchSize", 50),
    maxBatchGas: BigInt(int("maxBatchGas", 8_000_000)),
    maxFeePerGas: maxFee,
    priorityFeePerGas: tip,
    feeBumpPercent: int("feeBumpPercent", 20),
    replaceAfterBlocks: int("replaceAfterBlocks", 3),
    maxPendingTxs: int("maxPendingTxs", 4),
    minProfit,
    nativePrice,
    nativePriceMarket,
    metricsPort: bool("noMetrics") ? null : int("metricsPort", 9464),
    logFormat: choice<LogFormat>("logFormat", "text"),
    logLevel: choice<LogLevel>("logLevel", "info"),
    rpcTimeoutMs: int("rpcTimeoutMs", 10_000),
    rpcRetries: int("rpcRetries", 5),
    streams,
    saveStreamsCredentials,
    minTopUpFee,
    peers,
    peerGraceBlocks: int("peerGraceBlocks", 2),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readdirNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5));
}

/** Deployments compiled into the SDK. */
function sdkDeployments(): Deployment[] {
  return knownChainIds().map((id) => getDeployment(id));
}
