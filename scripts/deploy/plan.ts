// A parameter file resolved against the deploying account: what the Ignition module builds from.
import { ZeroAddress } from "ethers";
import type { MarketParams, RiskParams } from "./bounds.js";
import type { DeployConfig, Party } from "./config.js";

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
    owner,
  };
}
