// Deploys (or finishes, or confirms) a Bulkhead system from a parameter file through the Ignition
// module, then checks the result with plain reads and writes deployments/<network>.json.
//
// Guarantees:
// - nothing is sent unless the file and the chain pass every check (config.ts, preflight.ts);
// - idempotent and resumable: Ignition's journal (ignition/deployments/chain-<id>/) records every
//   step, so a second run sends nothing and an interrupted one continues where it stopped;
// - recorded: addresses, libraries, deploy block, every transaction hash and the parameters used
//   go to deployments/<network>.json, which the SDK and the keeper read.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { HardhatArtifactResolver } from "@nomicfoundation/hardhat-ignition/helpers";
import {
  deploy as ignitionDeploy,
  DeploymentResultType,
  listTransactions,
  type DeploymentResult,
  type ExecutionEventListener,
} from "@nomicfoundation/ignition-core";
import { Contract, getAddress, ZeroAddress } from "ethers";
import { bulkheadModule, ENGINE_LIBRARIES, futureSuffix, MODULE_ID, PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE } from "../../ignition/modules/Bulkhead.js";
import { DeployConfigError, loadDeployConfig, type ConfigIssue, type DeployConfig } from "./config.js";
import { planFromConfig, type DeployPlan } from "./plan.js";
import { LOCAL_CHAIN_IDS, preflight } from "./preflight.js";

export type DeployOptions = {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  /** The parsed file, or its path (default ignition/parameters/<network>.json). */
  config?: DeployConfig;
  parametersPath?: string;
  /** Folder of <network>.json records (default deployments/); null writes nothing. In-process chains are never recorded. */
  deploymentsDir?: string | null;
  /** Ignition journal folder; default ignition/deployments/chain-<id>; always ephemeral in-process. */
  journalDir?: string;
  log?: (line: string) => void;
};

/** A deployment that stopped after the checks: Ignition refused or failed, or the result does not match the file. */
export class DeployError extends Error {
  override readonly name = "DeployError";
}

export type TxRecord = { step: string; hash: string; blockNumber: number };

export type MarketRecord = {
  id: number;
  symbol: string;
  feed: string;
  feedDecimals: number;
  heartbeat: number;
  params: Record<string, string>;
  risk: Record<string, string>;
  /** Its Data Streams stream (two-step settlement only). */
  streamId?: string;
  maxDeviationBps?: number;
  /** Local Verifier only: the config digest reports of this stream are signed under. */
  configDigest?: string;
};

/** deployments/<network>.json. The first fields are the ones the SDK reads. */
export type DeploymentRecord = {
  chainId: number;
  network: string;
  engine: string;
  pool: string;
  lens: string;
  token: string;
  markets: MarketRecord[];
  startBlock: number;
  /** Two-step settlement (absent when trades execute instantly): the router is the engine's settler. */
  router?: string;
  /** Trigger orders, filled by the router (present with a router). */
  orderBook?: string;
  oracle?: string;
  verifierProxy?: string;
  /** The local Verifier behind verifierProxy (local oracle set only). */
  verifier?: string;
  timing?: { settlementDelay: number; expiry: number; pushFallbackDelay: number };
  tokenDecimals: number;
  tokenSymbol: string;
  vaultImplementation: string;
  libraries: Record<string, string>;
  sequencer: { feed: string; gracePeriod: number } | null;
  governance: {
    owner: string;
    pendingOwner: string | null;
    guardian: string;
    timelock: { address: string; minDelay: number; proposers: string[]; executors: string[] } | null;
  };
  standIns: Record<string, string>;
  deployer: string;
  ignition: { module: string; deploymentId: string; journal: string | null };
  transactions: TxRecord[];
  parameters: { file: string | null; source: unknown };
  updatedAt: string;
};

const ENGINE_ABI = [
  "function owner() view returns (address)",
  "function pendingOwner() view returns (address)",
  "function guardian() view returns (address)",
  "function marketCount() view returns (uint256)",
  "function vaultImplementation() view returns (address)",
  "function pool() view returns (address)",
  "function token() view returns (address)",
  "function sequencer() view returns (address feed, uint256 gracePeriod)",
  "function market(uint256) view returns (tuple(address feed, uint32 heartbeat, uint8 feedDecimals, bool paused, uint32 riskVersion, bool delisted, uint64 openFeeRate, uint64 closeFeeRate, uint64 baseBorrowRate, uint64 borrowRateSlope, uint96 maxLeverage, uint96 minCollateral, uint128 maxLongOpenInterest, uint128 maxShortOpenInterest, uint72 borrowIndex, uint80 rateIntegral, uint104 accruedBorrowFees, uint128 longSize, uint128 shortSize, uint256 longSizeEntry, uint256 shortSizeEntry, uint112 longReserved, uint112 shortReserved))",
  "function riskParams(uint256, uint256) view returns (tuple(uint64 mmr, uint64 liquidationFeeRate, uint96 minLiquidationFee, uint32 maxProfitFactorBps))",
  "function settler() view returns (address)",
];
const ORACLE_ABI = [
  "function engine() view returns (address)",
  "function verifierProxy() view returns (address)",
  "function stream(uint256) view returns (tuple(bytes32 feedId, uint16 maxDeviationBps))",
  "function timing() view returns (tuple(uint32 settlementDelay, uint32 expiry, uint32 pushFallbackDelay))",
];
const ROUTER_ABI = ["function engine() view returns (address)", "function oracle() view returns (address)", "function orderBook() view returns (address)"];
const ORDER_BOOK_ABI = ["function router() view returns (address)", "function engine() view returns (address)"];
const VERIFIER_ABI = ["function latestConfigDetails(bytes32) view returns (uint32 configCount, uint32 blockNumber, bytes32 configDigest)"];
const VERIFIER_PROXY_ABI = ["function getVerifier(bytes32) view returns (address)"];

/** Default parameter file of a network. */
export const parametersPathOf = (network: string) => path.join("ignition", "parameters", `${network}.json`);

/** Deploys what is missing, verifies what exists, records it. Throws DeployConfigError before sending on bad input. */
export async function deployBulkhead(opts: DeployOptions): Promise<DeploymentRecord> {
  const { hre, connection } = opts;
  const log = opts.log ?? (() => {});
  const network = connection.networkName;
  const file = opts.parametersPath ?? (opts.config ? null : parametersPathOf(network));
  const config = opts.config ?? (await loadDeployConfig(file!));
  const ethers = connection.ethers;
  const provider = ethers.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const accounts = (await connection.provider.request({ method: "eth_accounts" })) as string[];
  const deployer = accounts[0] === undefined ? undefined : getAddress(accounts[0]);
  const where = file ?? `(parameters for ${network})`;

  const ephemeral = connection.networkConfig.type === "edr-simulated";
  const deploymentId = `chain-${chainId}`;
  const journal = ephemeral ? undefined : (opts.journalDir ?? path.join(hre.config.paths.ignition, "deployments", deploymentId));

  const issues = await preflight({ ethers, config, chainId, deployer });
  if (journal) issues.push(...(await journalIssues(ethers, config, journal, chainId, deployer, log)));
  if (issues.length > 0) throw new DeployConfigError(where, issues);

  const plan = planFromConfig(config, deployer!);
  const sent: TxRecord[] = [];
  const listener = eventListener((futureId, hash) => {
    sent.push({ step: futureId, hash, blockNumber: 0 });
    log(`  sent ${futureId.padEnd(40)} ${hash}`);
  });
  const result = await ignitionDeploy({
    config: LOCAL_CHAIN_IDS.has(chainId) ? { blockPollingInterval: 25 } : {},
    provider: connection.provider,
    artifactResolver: new HardhatArtifactResolver(hre.artifacts),
    executionEventListener: listener,
    deploymentDir: journal,
    ignitionModule: bulkheadModule(plan),
    deploymentParameters: {},
    accounts,
    defaultSender: deployer,
  });
  const contracts = successfulContracts(result, journal);
  log(sent.length === 0 ? "  nothing to send: every step is already on chain" : `  ${sent.length} transactions sent`);

  // An in-process chain ends with the process: there is nothing to record for others to read.
  const out = opts.deploymentsDir === null || ephemeral ? undefined : path.join(opts.deploymentsDir ?? "deployments", `${network}.json`);
  const record = await buildRecord({ ethers, config, plan, contracts, chainId, network, journal, deploymentId, file, sent, deployer: deployer!, previous: out, root: hre.config.paths.root });
  if (out !== undefined) {
    await writeRecord(out, record);
    log(`  wrote ${out}`);
  }
  return record;
}

/** An Ignition listener that reports sent transactions and ignores every other event. */
function eventListener(onSend: (futureId: string, hash: string) => void): ExecutionEventListener {
  const noop = async () => {};
  return new Proxy({} as ExecutionEventListener, {
    get: (_target, key) =>
      key === "transactionSend" ? async (e: { futureId: string; hash: string }) => onSend(e.futureId, e.hash) : noop,
  });
}

function successfulContracts(result: DeploymentResult, journal: string | undefined): Record<string, string> {
  if (result.type === DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    return Object.fromEntries(Object.entries(result.contracts).map(([k, c]) => [k, getAddress(c.address)]));
  }
  const detail =
    result.type === DeploymentResultType.EXECUTION_ERROR
      ? [
          ...result.failed.map((f) => `${f.futureId}: ${f.error}`),
          ...result.timedOut.map((t) => `${t.futureId}: timed out (run again to resume)`),
          ...result.held.map((h) => `${h.futureId}: held (${h.reason})`),
        ]
      : Object.entries(result.errors).flatMap(([id, errs]) => errs.map((e) => `${id}: ${e}`));
  const advice =
    result.type === DeploymentResultType.RECONCILIATION_ERROR
      ? `The parameter file no longer matches what ${journal} records as deployed. A deployed value is changed through governance (setMarketParams, setRiskParams, setFeed), not by redeploying; restore the file, or deploy afresh with a new --journal-dir.`
      : "The journal keeps what succeeded; fix the cause and run the same command again to resume.";
  throw new DeployError(`Ignition deployment stopped (${result.type}):\n  ${detail.join("\n  ")}\n${advice}`);
}

/**
 * A journal from an earlier run must still match the chain. A local node restarted from genesis
 * leaves a journal whose contracts no longer exist: it is discarded there (and only there).
 * Markets added to the file after ownership left the deployer cannot be listed by this script.
 */
async function journalIssues(
  ethers: NetworkConnection["ethers"],
  config: DeployConfig,
  journal: string,
  chainId: bigint,
  deployer: string | undefined,
  log: (line: string) => void,
): Promise<ConfigIssue[]> {
  const addressesFile = path.join(journal, "deployed_addresses.json");
  if (!existsSync(addressesFile)) return [];
  const recorded = JSON.parse(await readFile(addressesFile, "utf8")) as Record<string, string>;
  const missing: string[] = [];
  for (const [id, address] of Object.entries(recorded)) {
    if ((await ethers.provider.getCode(address)) === "0x") missing.push(`${id} at ${address}`);
  }
  if (missing.length > 0) {
    if (LOCAL_CHAIN_IDS.has(chainId)) {
      log(`  ${journal} describes contracts this chain does not have (node restarted?): starting a fresh deployment`);
      await rm(journal, { recursive: true, force: true });
      return [];
    }
    return [{ field: "(journal)", problem: `${journal} records contracts with no code on chain ${chainId}: ${missing.join(", ")}. Point --journal-dir at the right journal or move this one away.` }];
  }
  const engineAddress = recorded[`${MODULE_ID}#Bulkhead`];
  if (engineAddress === undefined || deployer === undefined) return [];
  const engine = new Contract(engineAddress, ENGINE_ABI, ethers.provider);
  const [owner, count] = await Promise.all([engine.owner() as Promise<string>, engine.marketCount() as Promise<bigint>]);
  if (getAddress(owner) === deployer) return [];
  const issues = config.markets.slice(Number(count)).map((m, k) => ({
    field: `markets[${Number(count) + k}]`,
    problem: `${m.symbol} is not listed and the engine (${engineAddress}) is owned by ${owner}, not the deployer: list it through a governance proposal (docs/DEPLOY.md#listing-a-market-after-the-handover)`,
  }));
  // setStream and setSettler are the owner's: after the handover this script cannot send them.
  if (config.streams !== undefined && recorded[`${MODULE_ID}#BulkheadRouter`] === undefined) {
    issues.push({
      field: "streams",
      problem: `the engine (${engineAddress}) is owned by ${owner}, not the deployer, and has no router from this journal: two-step settlement (BulkheadOracle.setStream, Bulkhead.setSettler) must then go through a governance proposal`,
    });
  }
  return issues;
}

type BuildInput = {
  ethers: NetworkConnection["ethers"];
  config: DeployConfig;
  plan: DeployPlan;
  contracts: Record<string, string>;
  chainId: bigint;
  network: string;
  journal: string | undefined;
  deploymentId: string;
  file: string | null;
  sent: TxRecord[];
  deployer: string;
  /** The record an earlier run wrote, if any. */
  previous: string | undefined;
  /** Project root: recorded paths are relative to it, so records carry no machine paths. */
  root: string;
};

/** `file` relative to the project root when inside it (POSIX separators), else as given. */
const portable = (root: string, file: string) => {
  const rel = path.relative(root, path.resolve(file));
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel.split(path.sep).join("/");
};

/** Reads the deployed system back (never trusting the journal alone) and assembles the record. */
async function buildRecord(b: BuildInput): Promise<DeploymentRecord> {
  const { ethers, config, plan, contracts } = b;
  const provider = ethers.provider;
  const at = (key: string) => {
    const a = contracts[`${MODULE_ID}#${key}`];
    if (a === undefined) throw new Error(`Ignition reported no address for ${key}`);
    return a;
  };
  const engineAddress = at("Bulkhead");
  const engine = new Contract(engineAddress, ENGINE_ABI, provider);
  const pool = new Contract(at("BulkheadPool"), ["function engine() view returns (address)"], provider);
  const lens = new Contract(at("BulkheadLens"), ["function engine() view returns (address)"], provider);
  const token = plan.token.kind === "mock" ? at("CollateralToken") : plan.token.address;
  const erc20 = new Contract(token, ["function decimals() view returns (uint8)", "function symbol() view returns (string)"], provider);

  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  expect(getAddress(await pool.engine()) === engineAddress, "pool is not bound to the engine");
  expect(getAddress(await lens.engine()) === engineAddress, "lens does not read the engine");
  expect(getAddress(await engine.token()) === getAddress(token), "engine token differs from the file");
  const count = Number(await engine.marketCount());
  expect(count === plan.markets.length, `engine lists ${count} markets, the file ${plan.markets.length}`);

  const markets: MarketRecord[] = [];
  for (const [i, m] of plan.markets.entries()) {
    if (i >= count) break;
    const s = await engine.market(i);
    const r = await engine.riskParams(i, 0);
    const feed = m.feed.kind === "mock" ? at(`Feed_${futureSuffix(m.symbol)}`) : getAddress(m.feed.address);
    expect(getAddress(s.feed) === feed, `market ${i} (${m.symbol}) has feed ${s.feed}, expected ${feed}`);
    expect(BigInt(s.heartbeat) === m.heartbeat, `market ${i} (${m.symbol}) heartbeat ${s.heartbeat} differs from the file`);
    expect(BigInt(s.maxLeverage) === m.params.maxLeverage && BigInt(r.mmr) === m.risk.mmr, `market ${i} (${m.symbol}) parameters differ from the file`);
    markets.push({
      id: i,
      symbol: m.symbol,
      feed,
      feedDecimals: Number(s.feedDecimals),
      heartbeat: Number(s.heartbeat),
      params: Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, v.toString()])),
      risk: Object.fromEntries(Object.entries(m.risk).map(([k, v]) => [k, v.toString()])),
    });
  }

  const settlement = await readSettlement(b, at, engine, markets, expect);

  const owner = getAddress(await engine.owner());
  const pendingRaw = getAddress(await engine.pendingOwner());
  const pendingOwner = pendingRaw === "0x0000000000000000000000000000000000000000" ? null : pendingRaw;
  let timelock: DeploymentRecord["governance"]["timelock"] = null;
  if (plan.owner.kind === "timelock") {
    const tl = new Contract(at("TimelockController"), [
      "function getMinDelay() view returns (uint256)",
      "function hasRole(bytes32, address) view returns (bool)",
    ], provider);
    const minDelay = await tl.getMinDelay();
    expect(owner === getAddress(await tl.getAddress()), `engine owner is ${owner}, not the timelock`);
    expect(minDelay === plan.owner.minDelay, `timelock delay is ${minDelay}, the file says ${plan.owner.minDelay}`);
    const deployerIs = (xs: string[]) => xs.some((x) => getAddress(x) === b.deployer);
    expect((await tl.hasRole(PROPOSER_ROLE, b.deployer)) === deployerIs(plan.owner.proposers), "deployer's proposer role does not match the file");
    expect((await tl.hasRole(CANCELLER_ROLE, b.deployer)) === deployerIs(plan.owner.proposers), "deployer's canceller role does not match the file");
    expect((await tl.hasRole(EXECUTOR_ROLE, b.deployer)) === deployerIs(plan.owner.executors), "deployer's executor role does not match the file");
    timelock = { address: await tl.getAddress(), minDelay: Number(minDelay), proposers: plan.owner.proposers, executors: plan.owner.executors };
  } else if (plan.owner.kind === "address") {
    expect(owner === getAddress(plan.owner.address) || pendingOwner === getAddress(plan.owner.address), `engine ownership is not with ${plan.owner.address}`);
  } else {
    expect(owner === b.deployer, `engine owner is ${owner}, not the deployer`);
  }
  if (problems.length > 0) throw new DeployError(`the deployed system does not match the parameter file:\n  ${problems.join("\n  ")}`);

  const transactions = await collectTransactions(b);
  const [seqFeed, seqGrace] = await engine.sequencer();
  const libraries = Object.fromEntries(ENGINE_LIBRARIES.map((l) => [l, at(l)]));
  const standIns = Object.fromEntries(
    Object.entries(contracts)
      .filter(([k]) => k.includes("#Feed_") || k.endsWith("#CollateralToken"))
      .map(([k, v]) => [k.split("#")[1], v]),
  );
  return {
    chainId: Number(b.chainId),
    network: b.network,
    engine: engineAddress,
    pool: await pool.getAddress(),
    lens: await lens.getAddress(),
    token: getAddress(token),
    markets,
    startBlock: transactions.length > 0 ? Math.min(...transactions.map((t) => t.blockNumber)) : 0,
    ...settlement,
    tokenDecimals: Number(await erc20.decimals()),
    tokenSymbol: await erc20.symbol(),
    vaultImplementation: getAddress(await engine.vaultImplementation()),
    libraries,
    sequencer: seqFeed === "0x0000000000000000000000000000000000000000" ? null : { feed: getAddress(seqFeed), gracePeriod: Number(seqGrace) },
    governance: { owner, pendingOwner, guardian: getAddress(await engine.guardian()), timelock },
    standIns,
    deployer: b.deployer,
    ignition: { module: MODULE_ID, deploymentId: b.deploymentId, journal: b.journal ? portable(b.root, b.journal) : null },
    transactions,
    parameters: { file: b.file ? portable(b.root, b.file) : null, source: config.source },
    updatedAt: new Date().toISOString(),
  };
}

/**
 * Two-step settlement read back: the router is the engine's settler and reads the oracle, which
 * reads the engine through the file's VerifierProxy with the file's timing and, per market, the
 * file's stream. Adds each market's stream (and, locally, its config digest) to `markets`.
 */
async function readSettlement(
  b: BuildInput,
  at: (key: string) => string,
  engine: Contract,
  markets: MarketRecord[],
  expect: (ok: boolean, what: string) => void,
): Promise<Pick<DeploymentRecord, "router" | "orderBook" | "oracle" | "verifierProxy" | "verifier" | "timing">> {
  const streams = b.plan.streams;
  const provider = b.ethers.provider;
  const settler = getAddress(await engine.settler());
  if (!streams) {
    expect(settler === ZeroAddress, `the engine has settler ${settler}, the file has no streams section`);
    return {};
  }
  const router = at("BulkheadRouter");
  const oracleAddress = at("BulkheadOracle");
  const oracle = new Contract(oracleAddress, ORACLE_ABI, provider);
  const routerContract = new Contract(router, ROUTER_ABI, provider);
  const vp = streams.verifierProxy;
  const local = vp.kind === "local";
  const proxy = vp.kind === "local" ? at("VerifierProxy") : getAddress(vp.address);
  const engineAddress = await engine.getAddress();
  expect(settler === router, `engine settler is ${settler}, not the router ${router}`);
  expect(getAddress(await routerContract.engine()) === engineAddress && getAddress(await routerContract.oracle()) === oracleAddress, "router does not read this engine and oracle");
  expect(getAddress(await oracle.engine()) === engineAddress, "oracle does not read the engine");
  const orderBook = at("BulkheadOrderBook");
  const book = new Contract(orderBook, ORDER_BOOK_ABI, provider);
  expect(getAddress(await routerContract.orderBook()) === orderBook, `router fills orders of ${await routerContract.orderBook()}, not the order book ${orderBook}`);
  expect(getAddress(await book.router()) === router && getAddress(await book.engine()) === engineAddress, "order book does not read this router and engine");
  expect(getAddress(await oracle.verifierProxy()) === proxy, `oracle verifies through ${await oracle.verifierProxy()}, the file says ${proxy}`);
  const t = await oracle.timing();
  const timing = { settlementDelay: Number(t.settlementDelay), expiry: Number(t.expiry), pushFallbackDelay: Number(t.pushFallbackDelay) };
  expect(
    BigInt(timing.settlementDelay) === streams.timing.settlementDelay && BigInt(timing.expiry) === streams.timing.expiry && BigInt(timing.pushFallbackDelay) === streams.timing.pushFallbackDelay,
    `oracle timing ${JSON.stringify(timing)} differs from the file`,
  );
  const verifier = local ? new Contract(at("Verifier"), VERIFIER_ABI, provider) : undefined;
  const proxyContract = new Contract(proxy, VERIFIER_PROXY_ABI, provider);
  for (const m of markets) {
    const want = streams.markets[m.id]!;
    const s = await oracle.stream(m.id);
    expect(s.feedId === want.streamId && BigInt(s.maxDeviationBps) === want.maxDeviationBps, `market ${m.id} (${m.symbol}) stream ${s.feedId} / ${s.maxDeviationBps} bps differs from the file`);
    m.streamId = want.streamId;
    m.maxDeviationBps = Number(want.maxDeviationBps);
    if (verifier) {
      const details = await verifier.latestConfigDetails(want.streamId);
      const digest: string = details.configDigest;
      expect(BigInt(digest) !== 0n, `market ${m.id} (${m.symbol}): the local Verifier has no config for ${want.streamId}`);
      expect(getAddress(await proxyContract.getVerifier(digest)) === getAddress(await verifier.getAddress()), `market ${m.id} (${m.symbol}): the proxy does not route digest ${digest} to the local Verifier`);
      m.configDigest = digest;
    }
  }
  return {
    router,
    orderBook,
    oracle: oracleAddress,
    verifierProxy: proxy,
    ...(verifier ? { verifier: getAddress(await verifier.getAddress()) } : {}),
    timing,
  };
}

/**
 * Every transaction of the deployment: those sent now (named by Ignition future), those of earlier
 * runs (from the previous record, then from the Ignition journal for anything it lacks).
 */
async function collectTransactions(b: BuildInput): Promise<TxRecord[]> {
  const byHash = new Map<string, TxRecord>();
  const previous = b.previous;
  for (const t of b.sent) byHash.set(t.hash, t);
  if (b.journal && existsSync(path.join(b.journal, "journal.jsonl"))) {
    if (previous !== undefined && existsSync(previous)) {
      try {
        const old = JSON.parse(await readFile(previous, "utf8")) as Partial<DeploymentRecord>;
        if (old.chainId === Number(b.chainId)) for (const t of old.transactions ?? []) if (!byHash.has(t.hash)) byHash.set(t.hash, t);
      } catch {
        // an unreadable old record is rebuilt from the journal
      }
    }
    for (const t of await listTransactions(b.journal, undefined as never)) {
      if (!byHash.has(t.txHash)) byHash.set(t.txHash, { step: `${MODULE_ID}#${t.name ?? t.type}`, hash: t.txHash, blockNumber: 0 });
    }
  }
  const out: TxRecord[] = [];
  for (const t of byHash.values()) {
    const receipt = await b.ethers.provider.getTransactionReceipt(t.hash);
    if (receipt === null) continue; // dropped or replaced: not part of the deployment
    out.push({ ...t, blockNumber: receipt.blockNumber });
  }
  return out.sort((x, y) => x.blockNumber - y.blockNumber);
}

const jsonReplacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

/** Writes the record atomically (temporary file, then rename). */
export async function writeRecord(file: string, record: DeploymentRecord): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, jsonReplacer, 2)}\n`);
  await rename(tmp, file);
}
