// The whole Bulkhead system as one Ignition module: stand-ins for what lives outside on local
// chains (stablecoin, Chainlink mock feeds, Chainlink's Verifier with the local oracle set), the
// pool, the engine's four linked libraries, the engine, the pool binding, the lens, the market
// listings, two-step settlement (BulkheadOracle with each market's stream, BulkheadRouter as the
// engine's settler) and, on public networks, the handover of ownership to a TimelockController.
//
// The module is built from a resolved plan (scripts/deploy/plan.ts turns a parameter file into
// one) because its shape depends on the file: how many markets, mock or real feeds, which owner.
// Deploy it with `npm run deploy -- --network <name>` (scripts/deploy/deploy.ts), which validates
// the file and the chain first and writes deployments/<network>.json afterwards. Ignition records
// every step in ignition/deployments/chain-<id>/, so a second run sends nothing and an interrupted
// run resumes where it stopped.
import {
  buildModule,
  type ContractCallFuture,
  type EncodeFunctionCallFuture,
  type IgnitionModuleBuilder,
  type NamedArtifactContractDeploymentFuture,
  type NamedArtifactLibraryDeploymentFuture,
} from "@nomicfoundation/ignition-core";
import { id as keccakId, ZeroAddress, ZeroHash } from "ethers";
import type { DeployPlan } from "../../scripts/deploy/plan.js";

export const MODULE_ID = "Bulkhead";
/** Chainlink's Data Streams verification contracts (llo-feeds, built with solc 0.8.19). */
export const VERIFIER_ARTIFACT = "@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol:Verifier";
export const VERIFIER_PROXY_ARTIFACT = "@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol:VerifierProxy";
export const ENGINE_LIBRARIES = ["MarketConfigLogic", "PoolLogic", "IncreaseLogic", "DecreaseLogic"] as const;

/** Salt of the timelock batch that hands ownership over (one operation id per deployment). */
export const HANDOVER_SALT = keccakId("bulkhead.governance-handover.v1");
export const PROPOSER_ROLE = keccakId("PROPOSER_ROLE");
export const EXECUTOR_ROLE = keccakId("EXECUTOR_ROLE");
export const CANCELLER_ROLE = keccakId("CANCELLER_ROLE");

/** Ignition future ids allow letters, digits and underscores: "ETH/USD" -> "ETH_USD". */
export const futureSuffix = (symbol: string) => symbol.replace(/[^A-Za-z0-9]+/g, "_");

export function bulkheadModule(plan: DeployPlan) {
  return buildModule(MODULE_ID, (m) => {
    const token =
      plan.token.kind === "mock"
        ? m.contract("MockStablecoin", [plan.token.name, plan.token.symbol, plan.token.decimals], { id: "CollateralToken" })
        : plan.token.address;

    const feeds = plan.markets.map((mk) =>
      mk.feed.kind === "mock"
        ? m.contract("MockV3Aggregator", [mk.feed.decimals, mk.feed.answer], { id: `Feed_${futureSuffix(mk.symbol)}` })
        : mk.feed.address,
    );

    const pool = m.contract("BulkheadPool", [token, plan.pool.name, plan.pool.symbol]);
    const libraries: Record<string, NamedArtifactLibraryDeploymentFuture<string>> = {};
    for (const name of ENGINE_LIBRARIES) libraries[name] = m.library(name);
    // The deployer owns the engine until every market is listed; the handover below moves it on.
    const engine = m.contract(
      "Bulkhead",
      [token, pool, plan.deployer, plan.guardian, plan.sequencer.feed, plan.sequencer.gracePeriod],
      { libraries },
    );
    const bind = m.call(pool, "bindEngine", [engine]);
    const lens = m.contract("BulkheadLens", [engine]);

    // Listed one after another so market ids follow the order of the parameter file.
    let previous: ContractCallFuture<string, string> | undefined;
    const listings = plan.markets.map((mk, i) => {
      const params = { ...mk.params };
      const risk = { ...mk.risk };
      previous = m.call(engine, "listMarket", [feeds[i], mk.heartbeat, params, risk], {
        id: `ListMarket_${futureSuffix(mk.symbol)}`,
        after: previous ? [previous, bind] : [bind],
      });
      return previous;
    });
    const setup = [...listings, bind];
    if (plan.protocolFeeShare !== undefined) {
      setup.push(m.call(engine, "setProtocolFeeShare", [plan.protocolFeeShare], { after: listings }));
    }
    // Owner-only like the listings, so also before the handover.
    const settlement = plan.streams ? twoStepSettlement(m, plan, engine, listings) : undefined;
    if (settlement) setup.push(...settlement.setup);

    let timelock: NamedArtifactContractDeploymentFuture<string> | undefined;
    if (plan.owner.kind === "address") {
      // Ownable2Step: the new owner must call acceptOwnership() itself.
      m.call(engine, "transferOwnership", [plan.owner.address], { after: setup });
    } else if (plan.owner.kind === "timelock") {
      timelock = timelockHandover(m, plan, engine, setup);
    }

    const feedContracts = Object.fromEntries(
      feeds.flatMap((f, i) => (typeof f === "string" ? [] : [[`feed_${futureSuffix(plan.markets[i].symbol)}`, f]])),
    );
    return {
      pool,
      engine,
      lens,
      ...libraries,
      ...(typeof token === "string" ? {} : { token }),
      ...(timelock ? { timelock } : {}),
      ...feedContracts,
      ...(settlement?.contracts ?? {}),
    };
  });
}

/**
 * Two-step settlement: on a local chain Chainlink's VerifierProxy and Verifier, the proxy pointed
 * at the verifier and one Verifier config per stream whose signers are the local oracle set (their
 * addresses are public, so no key is needed here); then BulkheadOracle over the proxy with the
 * request timing, each market's stream, BulkheadRouter, and the router as the engine's one-shot
 * settler, after which the engine takes trades from the router only; last the BulkheadOrderBook,
 * set once on the router, whose trigger orders the router fills.
 */
function twoStepSettlement(
  m: IgnitionModuleBuilder,
  plan: DeployPlan,
  engine: NamedArtifactContractDeploymentFuture<string>,
  listings: ContractCallFuture<string, string>[],
) {
  const streams = plan.streams!;
  const setup: ContractCallFuture<string, string>[] = [];
  const contracts: Record<string, NamedArtifactContractDeploymentFuture<string>> = {};
  let proxy: NamedArtifactContractDeploymentFuture<string> | string;
  if (streams.verifierProxy.kind === "local") {
    const { signers, offchainTransmitters, f } = streams.verifierProxy.oracleSet;
    // No access controller: anyone may verify, as on Chainlink's public proxies.
    const localProxy = m.contract(VERIFIER_PROXY_ARTIFACT, [ZeroAddress], { id: "VerifierProxy" });
    const verifier = m.contract(VERIFIER_ARTIFACT, [localProxy], { id: "Verifier" });
    const init = m.call(localProxy, "initializeVerifier", [verifier], { id: "InitializeVerifier" });
    let previous: ContractCallFuture<string, string> = init;
    for (const [i, s] of streams.markets.entries()) {
      previous = m.call(verifier, "setConfig", [s.streamId, signers, offchainTransmitters, f, "0x", 1n, "0x", []], {
        id: `VerifierConfig_${futureSuffix(plan.markets[i].symbol)}`,
        after: [previous],
      });
      setup.push(previous);
    }
    proxy = localProxy;
    contracts.verifierProxy = localProxy;
    contracts.verifier = verifier;
  } else {
    proxy = streams.verifierProxy.address;
  }
  const { settlementDelay, expiry, pushFallbackDelay } = streams.timing;
  const oracle = m.contract("BulkheadOracle", [engine, proxy, { settlementDelay, expiry, pushFallbackDelay }]);
  for (const [i, s] of streams.markets.entries()) {
    setup.push(
      m.call(oracle, "setStream", [i, s.streamId, s.maxDeviationBps], { id: `SetStream_${futureSuffix(plan.markets[i].symbol)}`, after: [listings[i]] }),
    );
  }
  const router = m.contract("BulkheadRouter", [engine, oracle]);
  setup.push(m.call(engine, "setSettler", [router], { after: listings }));
  const orderBook = m.contract("BulkheadOrderBook", [router]);
  setup.push(m.call(router, "setOrderBook", [orderBook]));
  return { setup, contracts: { ...contracts, oracle, router, orderBook } };
}

/**
 * Deploys a TimelockController with a zero delay whose proposer and executor is (also) the
 * deployer, transfers the engine to it, then schedules and executes one batch through it that
 * accepts the ownership, raises the delay to its configured value and revokes the deployer's
 * roles (unless the parameter file names the deployer). After the batch the timelock owns the
 * engine with its real delay, and nobody gained a power they did not have before the handover.
 */
function timelockHandover(
  m: IgnitionModuleBuilder,
  plan: DeployPlan,
  engine: NamedArtifactContractDeploymentFuture<string>,
  setup: ContractCallFuture<string, string>[],
) {
  if (plan.owner.kind !== "timelock") throw new Error("unreachable");
  const { minDelay, proposers, executors } = plan.owner;
  const d = plan.deployer.toLowerCase();
  const withDeployer = (xs: string[]) => (xs.some((x) => x.toLowerCase() === d) ? xs : [...xs, plan.deployer]);
  const timelock = m.contract("TimelockController", [0n, withDeployer(proposers), withDeployer(executors), ZeroAddress]);
  const transfer = m.call(engine, "transferOwnership", [timelock], { after: setup });

  const targets: NamedArtifactContractDeploymentFuture<string>[] = [engine, timelock];
  const payloads: EncodeFunctionCallFuture<string, string>[] = [
    m.encodeFunctionCall(engine, "acceptOwnership", [], { id: "Handover_acceptOwnership" }),
    m.encodeFunctionCall(timelock, "updateDelay", [minDelay], { id: "Handover_updateDelay" }),
  ];
  const revoke = (role: string, name: string) => {
    targets.push(timelock);
    payloads.push(m.encodeFunctionCall(timelock, "revokeRole", [role, plan.deployer], { id: `Handover_revoke_${name}` }));
  };
  if (!proposers.some((x) => x.toLowerCase() === d)) {
    revoke(PROPOSER_ROLE, "proposer");
    revoke(CANCELLER_ROLE, "canceller");
  }
  if (!executors.some((x) => x.toLowerCase() === d)) revoke(EXECUTOR_ROLE, "executor");
  const values = targets.map(() => 0n);
  const schedule = m.call(timelock, "scheduleBatch", [targets, values, payloads, ZeroHash, HANDOVER_SALT, 0n], {
    id: "Handover_schedule",
    after: [transfer],
  });
  m.call(timelock, "executeBatch", [targets, values, payloads, ZeroHash, HANDOVER_SALT], {
    id: "Handover_execute",
    after: [schedule],
  });
  return timelock;
}
