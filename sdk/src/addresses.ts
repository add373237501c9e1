/**
 * Where Bulkhead is deployed: the `deployments/<network>.json` format written by the deploy
 * scripts, a parser that validates it, and a registry keyed by chain id. Pass addresses
 * explicitly for local chains (tests deploy with the fixture).
 * @module
 */
import { getAddress, isAddress } from "ethers";
import { BulkheadError } from "./errors.js";
import { knownDeployments } from "./deployments.js";

/** A listed market as the deploy scripts record it. */
export interface MarketDeployment {
  id: number;
  /** Display symbol, e.g. "ETH/USD". */
  symbol: string;
  /** Chainlink aggregator of the market. */
  feed: string;
  /** Chainlink Data Streams stream (v3 feed id) its requests settle at; absent where trades are instant. */
  streamId?: string;
}

/** The contracts of one Bulkhead deployment (`deployments/<network>.json`). */
export interface Deployment {
  chainId: number;
  network: string;
  engine: string;
  pool: string;
  lens: string;
  token: string;
  markets: MarketDeployment[];
  /** Block of the engine's deployment: log scans start here. */
  startBlock: number;
  /** Trade request router, the engine's only settler; absent where trades are instant (older records too). */
  router?: string;
  /** Report oracle of the router: streams, timing, report checks. */
  oracle?: string;
  /** Chainlink VerifierProxy the oracle verifies reports through. */
  verifierProxy?: string;
  /** The Verifier behind a local VerifierProxy (local oracle set only). */
  verifier?: string;
}

/** The addresses a client needs; `pool` and `token` are read from the engine when omitted. */
export interface BulkheadAddresses {
  engine: string;
  lens: string;
  pool?: string;
  token?: string;
  /** Block from which event scans start (default 0). */
  startBlock?: number;
  markets?: MarketDeployment[];
}

/** No deployment is registered for the chain. */
export class UnknownChainError extends BulkheadError {
  override name = "UnknownChainError";
  constructor(readonly chainId: number, readonly knownChainIds: readonly number[]) {
    super(
      `no Bulkhead deployment is known for chain id ${chainId}; known chain ids: ${
        knownChainIds.length ? knownChainIds.join(", ") : "none (this build of the SDK ships no deployment)"
      }: pass \`addresses\` (engine, lens) to BulkheadClient.connect(), or registerDeployment() first`,
    );
  }
}

/** A deployment file is malformed. */
export class InvalidDeploymentError extends BulkheadError {
  override name = "InvalidDeploymentError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid deployment: ${problems.join("; ")}`);
  }
}

/** Validates a parsed `deployments/<network>.json` and checksums its addresses. */
export function parseDeployment(json: unknown): Deployment {
  const problems: string[] = [];
  const o = (json ?? {}) as Record<string, unknown>;
  const address = (key: string, v: unknown = o[key]): string => {
    if (typeof v === "string" && isAddress(v)) return getAddress(v);
    problems.push(`${key} must be an address, got ${JSON.stringify(v)}`);
    return "";
  };
  const int = (key: string, v: unknown = o[key]): number => {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
    problems.push(`${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return 0;
  };
  const optionalAddress = (key: string, v: unknown = o[key]): string | undefined => (v === undefined ? undefined : address(key, v));
  if (typeof o.network !== "string") problems.push(`network must be a string, got ${JSON.stringify(o.network)}`);
  const markets: MarketDeployment[] = [];
  if (!Array.isArray(o.markets)) problems.push("markets must be an array");
  else
    o.markets.forEach((m: Record<string, unknown>, i) => {
      const streamId = m?.streamId;
      if (streamId !== undefined && !(typeof streamId === "string" && /^0x[0-9a-fA-F]{64}$/.test(streamId))) {
        problems.push(`markets[${i}].streamId must be a 32-byte hex string, got ${JSON.stringify(streamId)}`);
      }
      markets.push({
        id: int(`markets[${i}].id`, m?.id),
        symbol: typeof m?.symbol === "string" ? m.symbol : (problems.push(`markets[${i}].symbol must be a string`), ""),
        feed: address(`markets[${i}].feed`, m?.feed),
        ...(typeof streamId === "string" ? { streamId: streamId.toLowerCase() } : {}),
      });
    });
  const d: Deployment = {
    chainId: int("chainId"),
    network: String(o.network),
    engine: address("engine"),
    pool: address("pool"),
    lens: address("lens"),
    token: address("token"),
    markets,
    startBlock: int("startBlock"),
  };
  for (const key of ["router", "oracle", "verifierProxy", "verifier"] as const) {
    const a = optionalAddress(key);
    if (a !== undefined) d[key] = a;
  }
  if (problems.length) throw new InvalidDeploymentError(problems);
  return d;
}

const registry = new Map<number, Deployment>();
for (const json of knownDeployments) {
  const d = parseDeployment(json);
  registry.set(d.chainId, d);
}

/** Adds (or replaces) the deployment of a chain. */
export function registerDeployment(deployment: Deployment | unknown): Deployment {
  const d = parseDeployment(deployment);
  registry.set(d.chainId, d);
  return d;
}

/** The deployment of a chain; throws {@link UnknownChainError} naming the chains it knows. */
export function getDeployment(chainId: number | bigint): Deployment {
  const d = registry.get(Number(chainId));
  if (!d) throw new UnknownChainError(Number(chainId), [...registry.keys()].sort((a, b) => a - b));
  return d;
}

/** Chain ids with a registered deployment. */
export function knownChainIds(): number[] {
  return [...registry.keys()].sort((a, b) => a - b);
}
