// A parameter file resolved against the deploying account: what the Ignition module builds from.
import { keccak256, ZeroAddress } from "ethers";
import { LocalOracleSet } from "../streams/oracleSet.js";
import type { MarketParams, RiskParams, Timing } from "./bounds.js";
import type { DeployConfig, Party } from "./config.js";

/** `Verifier.setConfig` arguments that make Chainlink's Verifier accept the local oracle set's signatures. */
export type LocalOracleConfig = { signers: string[]; offchainTransmitters: string[]; f: number };

export type DeployPlan = {
  deployer: string;
  token: { kind: "mock"; name: string; symbol: string; decimals: number } | { kind: "external"; address: string };
  pool: { name: string; symbol: string };
  guardian: string;
  /** feed = address(0) on L1. */
  sequencer: { feed: string; gracePeriod: bigint };
  markets: {
    symbol: string;
    feed: { kind: "mock"; decimals: number; answer: bigint } | { kind: "external"; address: string };
    heartbeat: bigint;
    params: MarketParams;
    risk: RiskParams;
  }[];
  protocolFeeShare?: bigint;
  /** Two-step settlement; absent, the engine keeps trading instantly (no settler is set). */
  streams?: {
    verifierProxy: { kind: "local"; oracleSet: LocalOracleConfig } | { kind: "external"; address: string };
    timing: Timing;
    /** Per market, in market order. */
    markets: { streamId: string; maxDeviationBps: bigint }[];
  };
  owner:
    | { kind: "deployer" }
    | { kind: "address"; address: string }
    | { kind: "timelock"; minDelay: bigint; proposers: string[]; executors: string[] };
};

/** "deployer" -> the deploying account, "anyone" -> address(0) (the open executor role). */
export function resolveParty(party: Party, deployer: string): string {
  if (party === "deployer") return deployer;
  if (party === "anyone") return ZeroAddress;
  return party;
}

/**
 * The deterministic local oracle set (scripts/streams/oracleSet.ts) as `setConfig` arguments: its
 * signer addresses are public, so the module configures the Verifier without holding any key; the
 * report service and tests sign with the same set.
 */
export function localOracleConfig(set = LocalOracleSet.deterministic()): LocalOracleConfig {
  const signers = set.signers;
  // Offchain transmitters: any distinct 32-byte ids, the same as LocalOracleSet.configure uses.
  return { signers, offchainTransmitters: signers.map((a) => keccak256(a)), f: set.f };
}

export function planFromConfig(config: DeployConfig, deployer: string): DeployPlan {
  const owner: DeployPlan["owner"] =
    config.owner.kind === "timelock"
      ? {
          kind: "timelock",
          minDelay: config.owner.minDelay,
          proposers: config.owner.proposers.map((p) => resolveParty(p, deployer)),
          executors: config.owner.executors.map((p) => resolveParty(p, deployer)),
        }
      : config.owner;
  return {
    deployer,
    token:
      config.token.kind === "mock"
        ? { kind: "mock", name: config.token.name, symbol: config.token.symbol, decimals: config.token.decimals }
        : { kind: "external", address: config.token.address },
    pool: config.pool,
    guardian: resolveParty(config.guardian, deployer),
    sequencer: config.sequencer ?? { feed: ZeroAddress, gracePeriod: 0n },
    markets: config.markets.map((m) => ({
      symbol: m.symbol,
      feed: m.feed.kind === "mock" ? m.feed : { kind: "external", address: m.feed.address },
      heartbeat: m.heartbeat,
      params: m.params,
      risk: m.risk,
    })),
    protocolFeeShare: config.protocolFeeShare,
    ...(config.streams
      ? {
          streams: {
            verifierProxy:
              config.streams.verifierProxy.kind === "local"
                ? { kind: "local" as const, oracleSet: localOracleConfig() }
                : { kind: "external" as const, address: config.streams.verifierProxy.address },
            timing: config.streams.timing,
            markets: config.streams.markets.map((s) => ({ streamId: s.streamId, maxDeviationBps: s.maxDeviationBps })),
          },
        }
      : {}),
    owner,
  };
}
