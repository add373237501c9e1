// The on-chain half of validation: read-only calls that decide, before anything is sent, whether a
// parameter file can be deployed on this chain. Each problem names the field at fault.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Contract } from "ethers";
import { feedViolations } from "./bounds.js";
import { describeViolation, LOCAL_CHAIN_IDS, marketFieldOf, type ConfigIssue, type DeployConfig } from "./config.js";

const AGGREGATOR_ABI = [
  "function decimals() view returns (uint8)",
  "function description() view returns (string)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];
const VERIFIER_PROXY_ABI = ["function typeAndVersion() view returns (string)", "function s_feeManager() view returns (address)"];
const FEE_MANAGER_ABI = ["function i_linkAddress() view returns (address)"];
const ERC20_ABI = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

export { LOCAL_CHAIN_IDS };

export type PreflightContext = {
  ethers: HardhatEthers;
  config: DeployConfig;
  chainId: bigint;
  deployer: string | undefined;
};

/** Every reason this chain cannot take this file, or [] when it can. Sends nothing. */
export async function preflight({ ethers, config, chainId, deployer }: PreflightContext): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const add = (field: string, problem: string) => issues.push({ field, problem });
  const provider = ethers.provider;
  const hasCode = async (a: string) => (await provider.getCode(a)) !== "0x";
  const local = LOCAL_CHAIN_IDS.has(chainId);

  if (config.chainId !== undefined && BigInt(config.chainId) !== chainId) {
    add("chainId", `the file is for chain ${config.chainId} but the network answers chain ${chainId}`);
    return issues; // every other check would be about the wrong chain
  }
  if (deployer === undefined) {
    add("(network).accounts", "the network has no account to deploy from");
  } else if ((await provider.getBalance(deployer)) === 0n) {
    add("(network).accounts[0]", `${deployer} has no native balance to pay for gas`);
  }

  if (config.token.kind === "mock") {
    if (!local) add("token.mock", `a mock stablecoin is a local stand-in; chain ${chainId} needs a real token address`);
  } else {
    const t = config.token;
    if (!(await hasCode(t.address))) {
      add("token.address", `${t.address} has no code on chain ${chainId}`);
    } else {
      try {
        const decimals = await new Contract(t.address, ERC20_ABI, provider).decimals();
        if (Number(decimals) !== t.decimals) add("token.decimals", `the file says ${t.decimals}, the token at ${t.address} says ${decimals}`);
      } catch {
        add("token.address", `${t.address} does not answer decimals(): not an ERC-20 token`);
      }
    }
  }

  if (config.sequencer && !(await hasCode(config.sequencer.feed))) {
    add("sequencer.feed", `${config.sequencer.feed} has no code on chain ${chainId} (the engine would revert FeedHasNoCode)`);
  }

  if (!local && config.streams === undefined) {
    add("streams", `chain ${chainId} is a public network: trades must settle through requests at Data Streams reports; add a streams section (docs/DEPLOY.md#data-streams)`);
  }
  if (config.streams?.verifierProxy.kind === "local" && !local) {
    add("streams.verifierProxy", `"local" is a local stand-in (a Verifier trusting public development keys); chain ${chainId} needs Chainlink's VerifierProxy address`);
  } else if (config.streams?.verifierProxy.kind === "external") {
    issues.push(...(await verifierProxyIssues(provider, config.streams.verifierProxy.address, chainId)));
  }

  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  for (const [i, m] of config.markets.entries()) {
    const field = `markets[${i}]`;
    if (m.feed.kind === "mock") {
      if (!local) add(`${field}.feed.mock`, `a mock feed is a local stand-in; chain ${chainId} needs a real Chainlink feed address`);
      continue;
    }
    const address = m.feed.address;
    if (!(await hasCode(address))) {
      add(`${field}.feed.address`, `${address} has no code on chain ${chainId} (listMarket would revert FeedHasNoCode)`);
      continue;
    }
    const feed = new Contract(address, AGGREGATOR_ABI, provider);
    let decimals: bigint;
    try {
      decimals = BigInt(await feed.decimals());
    } catch {
      add(`${field}.feed.address`, `${address} does not answer decimals(): not a Chainlink aggregator`);
      continue;
    }
    for (const v of feedViolations(m.heartbeat, decimals)) add(marketFieldOf(field, v), describeViolation(v));
    if (m.feed.description !== undefined) {
      const description: string = await feed.description().catch(() => "(no description())");
      if (description !== m.feed.description) add(`${field}.feed.description`, `expected "${m.feed.description}", the feed at ${address} says "${description}"`);
    }
    try {
      const round = await feed.latestRoundData();
      const answer = BigInt(round.answer);
      const updatedAt = BigInt(round.updatedAt);
      if (answer <= 0n) add(`${field}.feed.address`, `latest answer is ${answer}; the engine only accepts positive prices`);
      if (updatedAt === 0n || now - updatedAt > m.heartbeat) {
        add(`${field}.heartbeat`, `the feed last updated ${now - updatedAt}s ago, more than the heartbeat ${m.heartbeat}s: every price would be stale (raise the heartbeat to the feed's own plus a margin)`);
      }
    } catch {
      add(`${field}.feed.address`, `latestRoundData() reverted on ${address}`);
    }
  }
  return issues;
}

/**
 * Chainlink's VerifierProxy at `address`: it has code and says it is a VerifierProxy. Where it has
 * a fee manager (on-chain billing), BulkheadOracle pays each report's fee in LINK from its own
 * balance (DataStreamsLib.verify), so the fee manager must name a LINK token with code; the
 * oracle then needs LINK before the first execution (docs/DEPLOY.md).
 */
async function verifierProxyIssues(provider: HardhatEthers["provider"], address: string, chainId: bigint): Promise<ConfigIssue[]> {
  const field = "streams.verifierProxy";
  if ((await provider.getCode(address)) === "0x") return [{ field, problem: `${address} has no code on chain ${chainId}` }];
  const proxy = new Contract(address, VERIFIER_PROXY_ABI, provider);
  const kind: string = await proxy.typeAndVersion().catch(() => "");
  if (!kind.startsWith("VerifierProxy")) {
    return [{ field, problem: `${address} is not Chainlink's VerifierProxy (typeAndVersion() says ${kind ? `"${kind}"` : "nothing"})` }];
  }
  const feeManager: string = await proxy.s_feeManager().catch(() => "0x0000000000000000000000000000000000000000");
  if (BigInt(feeManager) !== 0n) {
    const link: string = await new Contract(feeManager, FEE_MANAGER_ABI, provider).i_linkAddress().catch(() => "");
    if (!link || (await provider.getCode(link)) === "0x") {
      return [{ field, problem: `${address} bills verification through its fee manager ${feeManager}, whose LINK token (i_linkAddress()) ${link ? `${link} has no code` : "does not answer"}: BulkheadOracle could not pay the fee` }];
    }
  }
  return [];
}
