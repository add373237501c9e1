// A real JSON-RPC node for tests (`hardhat node` or anvil, on a free 127.0.0.1 port) and a
// deployment of Bulkhead over JSON-RPC with plain ethers ContractFactory from the compiled
// artifacts (the engine's external libraries deployed and linked by hand from the artifact's
// linkReferences), as a deploy script on a public network would.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ContractFactory, JsonRpcProvider, type Contract, type JsonRpcSigner } from "ethers";
import { ROOT as root, startNodeProcess, type NodeKind } from "../../helpers/processes.js";
import { defaultParams, defaultRisk, ETH_PRICE, BTC_PRICE, HEARTBEAT } from "../../helpers/fixture.js";

export interface RpcNode {
  kind: NodeKind;
  url: string;
  provider: JsonRpcProvider;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a node process (`hardhat node` unless told otherwise) on 127.0.0.1 with an ethers provider on it. */
export async function startNode(kind: NodeKind = "hardhat", timeoutMs = 60_000): Promise<RpcNode> {
  const node = await startNodeProcess(kind, timeoutMs);
  // No response cache (ethers keeps identical requests 250 ms, the block number among them): the
  // tests quote right after a price update sent from another signer, and a quote pinned to a
  // block number from before that update would price the old answer.
  const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  return {
    kind,
    url: node.url,
    provider,
    process: node.child,
    stop: async () => {
      provider.destroy();
      await node.stop();
    },
  };
}

type LinkReferences = Record<string, Record<string, { start: number; length: number }[]>>;
type Artifact = { abi: unknown[]; bytecode: string; linkReferences?: LinkReferences };

function artifact(path: string): Artifact {
  return JSON.parse(readFileSync(join(root, "artifacts", path), "utf8")) as Artifact;
}

/** Artifact path of a library named in linkReferences ("project/contracts/x/L.sol" -> "contracts/x/L.sol/L.json"). */
const libraryArtifact = (source: string, name: string) => `${source.replace(/^project\//, "")}/${name}.json`;

/** Replaces the `__$…$__` placeholders at every linkReferences offset with the library addresses. */
export function link(a: Artifact, libraries: Record<string, string>): string {
  let code = a.bytecode;
  for (const refs of Object.values(a.linkReferences ?? {})) {
    for (const [name, places] of Object.entries(refs)) {
      const address = libraries[name];
      if (!address) throw new Error(`missing library ${name}`);
      for (const { start, length } of places) {
        code = code.slice(0, 2 + start * 2) + address.slice(2).toLowerCase() + code.slice(2 + (start + length) * 2);
      }
    }
  }
  if (code.includes("__$")) throw new Error("unlinked library placeholder left in the bytecode");
  return code;
}

/**
 * Deploys a contract; the external libraries its artifact links (and theirs, depth first) are
 * deployed first, once each, into `libraries` (name -> address), which the caller may share.
 */
export async function deploy(signer: JsonRpcSigner, path: string, args: unknown[] = [], libraries: Record<string, string> = {}): Promise<Contract> {
  const a = artifact(path);
  for (const [source, names] of Object.entries(a.linkReferences ?? {})) {
    for (const name of Object.keys(names)) {
      if (libraries[name]) continue;
      libraries[name] = await (await deploy(signer, libraryArtifact(source, name), [], libraries)).getAddress();
    }
  }
  const factory = new ContractFactory(a.abi as never, link(a, libraries), signer);
  const c = await factory.deploy(...args);
  await c.waitForDeployment();
  return c as unknown as Contract;
}

/** Deploys token, feeds, pool, engine (+ its four linked libraries), lens, two markets and an LP deposit. */
export async function deployOverRpc(provider: JsonRpcProvider) {
  const [deployer, guardian, lp, alice, bob, keeper] = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => provider.getSigner(i)));
  const startBlock = await provider.getBlockNumber();
  const token = await deploy(deployer!, "contracts/mocks/MockStablecoin.sol/MockStablecoin.json", ["USD Coin", "USDC", 6]);
  const feedPath = "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol/MockV3Aggregator.json";
  const ethFeed = await deploy(deployer!, feedPath, [8, ETH_PRICE]);
  const btcFeed = await deploy(deployer!, feedPath, [8, BTC_PRICE]);
  const pool = await deploy(deployer!, "contracts/BulkheadPool.sol/BulkheadPool.json", [await token.getAddress(), "Bulkhead LP USDC", "bhUSDC"]);
  const libraries: Record<string, string> = {};
  const engine = await deploy(
    deployer!,
    "contracts/Bulkhead.sol/Bulkhead.json",
    [await token.getAddress(), await pool.getAddress(), await deployer!.getAddress(), await guardian!.getAddress(), "0x0000000000000000000000000000000000000000", 3600n],
    libraries,
  );
  const lens = await deploy(deployer!, "contracts/BulkheadLens.sol/BulkheadLens.json", [await engine.getAddress()]);
  const call = async (c: Contract, method: string, ...args: unknown[]) => {
    const tx = await c.getFunction(method)(...args);
    await tx.wait();
  };
  await call(pool, "bindEngine", await engine.getAddress());
  await call(engine, "listMarket", await ethFeed.getAddress(), HEARTBEAT, defaultParams, defaultRisk);
  await call(engine, "listMarket", await btcFeed.getAddress(), HEARTBEAT, defaultParams, defaultRisk);
  const lpAmount = 1_000_000n * 10n ** 6n;
  await call(token, "faucet", await lp!.getAddress(), lpAmount);
  await call(token.connect(lp!) as Contract, "approve", await pool.getAddress(), lpAmount);
  await call(pool.connect(lp!) as Contract, "deposit(uint256,address)", lpAmount, await lp!.getAddress());
  for (const s of [alice!, bob!, keeper!]) await call(token, "faucet", await s.getAddress(), 100_000n * 10n ** 6n);
  return {
    signers: { deployer: deployer!, guardian: guardian!, lp: lp!, alice: alice!, bob: bob!, keeper: keeper! },
    token, ethFeed, btcFeed, pool, engine, lens, libraries,
    addresses: {
      engine: await engine.getAddress(),
      lens: await lens.getAddress(),
      pool: await pool.getAddress(),
      token: await token.getAddress(),
      startBlock,
      markets: [
        { id: 0, symbol: "ETH/USD", feed: await ethFeed.getAddress() },
        { id: 1, symbol: "BTC/USD", feed: await btcFeed.getAddress() },
      ],
    },
  };
}

/**
 * Adds two-step settlement to a system deployed by {@link deployOverRpc}: Chainlink's Verifier
 * and VerifierProxy configured with the local oracle set (one config per market stream), the
 * report oracle, the router, and the router as the engine's settler.
 */
export async function deployRequestsOverRpc(sys: Awaited<ReturnType<typeof deployOverRpc>>) {
  const { deployer } = sys.signers;
  const { LocalOracleSet, localFeedId } = await import("../../../scripts/streams/oracleSet.js");
  const proxy = await deploy(deployer, "@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol/VerifierProxy.json", ["0x0000000000000000000000000000000000000000"]);
  const verifier = await deploy(deployer, "@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol/Verifier.json", [await proxy.getAddress()]);
  await (await proxy.getFunction("initializeVerifier")(await verifier.getAddress())).wait();
  const oracleSet = LocalOracleSet.deterministic();
  const feedIds = [localFeedId("ETH/USD"), localFeedId("BTC/USD")];
  const digests: string[] = [];
  for (const id of feedIds) digests.push(await oracleSet.configure(verifier, id));
  const timing = { settlementDelay: 2n, expiry: 300n, pushFallbackDelay: 120n };
  const oracle = await deploy(deployer, "contracts/oracles/BulkheadOracle.sol/BulkheadOracle.json", [await sys.engine.getAddress(), await proxy.getAddress(), timing]);
  for (const [i, id] of feedIds.entries()) await (await oracle.getFunction("setStream")(i, id, 100n)).wait();
  const router = await deploy(deployer, "contracts/BulkheadRouter.sol/BulkheadRouter.json", [await sys.engine.getAddress(), await oracle.getAddress()]);
  await (await sys.engine.getFunction("setSettler")(await router.getAddress())).wait();
  return { proxy, verifier, oracle, router, oracleSet, feedIds, digests, timing };
}
