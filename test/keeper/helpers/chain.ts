// A Bulkhead deployment on a real JSON-RPC node for the keeper's tests and benchmark, done the
// way a deploy script on a public network would: plain ethers over HTTP, contracts from the
// compiled artifacts, the engine's libraries linked by hand (the SDK node test's deployer). Positions are opened in bulk by
// several node-unlocked accounts, sent without awaiting each receipt.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet, Interface, JsonRpcProvider, MaxUint256, type JsonRpcSigner, type TransactionReceipt } from "ethers";
import { bulkheadInterface, sizeForLeverage, type Deployment } from "@bulkhead/sdk";
import { BTC_PRICE, ETH_PRICE, HEARTBEAT, USDC, WAD, defaultParams, defaultRisk } from "../../helpers/fixture.js";
import { Rng } from "../../sdk/helpers/random.js";
import { deploy as deployArtifact } from "../../sdk/helpers/rpc-node.js";
import { ROOT as root } from "../../helpers/processes.js";

/** Hardhat's well-known development mnemonic (public: local chains only). */
const MNEMONIC = "test test test test test test test test test test test junk";
/** Private key of hardhat account `i` (public knowledge; local chains only). */
export function devKey(i: number): string {
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey;
}
export function devAddress(i: number): string {
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).address;
}

function load(source: string, name: string): { abi: unknown[] } {
  return JSON.parse(readFileSync(join(root, "artifacts", source, `${name}.json`), "utf8")) as { abi: unknown[] };
}

const tokenIface = () => new Interface(load("contracts/mocks/MockStablecoin.sol", "MockStablecoin").abi as never);
const feedIface = () => new Interface(load("@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol", "MockV3Aggregator").abi as never);
const poolIface = () => new Interface(load("contracts/BulkheadPool.sol", "BulkheadPool").abi as never);

/** Polls for a receipt (ethers' waitForTransaction waits for a further block on a cached head). */
export async function receiptOf(provider: JsonRpcProvider, hash: string, timeoutMs = 60_000): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await provider.getTransactionReceipt(hash);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

/** Sends a transaction from a node-unlocked account and waits for its receipt; throws on revert. */
export async function sendTx(provider: JsonRpcProvider, from: string, to: string, data: string, gas?: bigint): Promise<string> {
  const hash = (await provider.send("eth_sendTransaction", [{ from, to, data, ...(gas ? { gas: "0x" + gas.toString(16) } : {}) }])) as string;
  const receipt = await receiptOf(provider, hash);
  if (receipt.status !== 1) throw new Error(`transaction ${hash} failed`);
  return hash;
}

/** Deploys `name` from `source` (its libraries deployed and linked first, once each); returns its address. */
async function deploy(signer: JsonRpcSigner, source: string, name: string, args: unknown[] = [], libraries: Record<string, string> = {}): Promise<string> {
  return (await deployArtifact(signer, `${source}/${name}.json`, args, libraries)).getAddress();
}

export interface System {
  provider: JsonRpcProvider;
  deployment: Deployment;
  /** Path of the deployment file (deployments/<network>.json format). */
  deploymentFile: string;
  deployer: string;
  traders: string[];
  ethFeed: string;
  btcFeed: string;
  sequencerFeed: string | null;
  /** Sets a market feed's answer (8 decimals); resolves with the block that carries the update. */
  setPrice(feed: string, answer: bigint): Promise<number>;
  /** Makes the sequencer feed report down (1) or up (0) since `startedAt`. */
  setSequencer(up: boolean, startedAt: number): Promise<void>;
}

/**
 * Deploys token, feeds, pool, engine (+ libraries), lens and two markets (ETH, BTC), makes a
 * large LP deposit and funds `traderCount` traders (accounts 3..). Writes the deployment file.
 */
export async function deploySystem(provider: JsonRpcProvider, opts: { traderCount?: number; lpDeposit?: bigint; sequencer?: boolean; dir?: string } = {}): Promise<System> {
  const deployerSigner = await provider.getSigner(0);
  const deployer = await deployerSigner.getAddress();
  const startBlock = await provider.getBlockNumber();
  const feedSource = "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
  const token = await deploy(deployerSigner, "contracts/mocks/MockStablecoin.sol", "MockStablecoin", ["USD Coin", "USDC", 6]);
  const ethFeed = await deploy(deployerSigner, feedSource, "MockV3Aggregator", [8, ETH_PRICE]);
  const btcFeed = await deploy(deployerSigner, feedSource, "MockV3Aggregator", [8, BTC_PRICE]);
  let sequencerFeed: string | null = null;
  if (opts.sequencer) {
    sequencerFeed = await deploy(deployerSigner, feedSource, "MockV3Aggregator", [0, 0]);
    const now = (await provider.getBlock("latest"))!.timestamp;
    await sendTx(provider, deployer, sequencerFeed, feedIface().encodeFunctionData("updateRoundData", [1n, 0n, now, now - 7200]));
  }
  const pool = await deploy(deployerSigner, "contracts/BulkheadPool.sol", "BulkheadPool", [token, "Bulkhead LP USDC", "bhUSDC"]);
  const engine = await deploy(deployerSigner, "contracts/Bulkhead.sol", "Bulkhead", [
    token, pool, deployer, await (await provider.getSigner(1)).getAddress(), sequencerFeed ?? "0x0000000000000000000000000000000000000000", 3600n,
  ]);
  const lens = await deploy(deployerSigner, "contracts/BulkheadLens.sol", "BulkheadLens", [engine]);
  const e = bulkheadInterface();
  await sendTx(provider, deployer, pool, poolIface().encodeFunctionData("bindEngine", [engine]));
  await sendTx(provider, deployer, engine, e.encodeFunctionData("listMarket", [ethFeed, HEARTBEAT, defaultParams, defaultRisk]));
  await sendTx(provider, deployer, engine, e.encodeFunctionData("listMarket", [btcFeed, HEARTBEAT, defaultParams, defaultRisk]));
  const t = tokenIface();
  const lp = await (await provider.getSigner(2)).getAddress();
  const lpDeposit = opts.lpDeposit ?? 100_000_000n * USDC;
  await sendTx(provider, deployer, token, t.encodeFunctionData("faucet", [lp, lpDeposit]));
  await sendTx(provider, lp, token, t.encodeFunctionData("approve", [pool, lpDeposit]));
  await sendTx(provider, lp, pool, poolIface().encodeFunctionData("deposit(uint256,address)", [lpDeposit, lp]));
  const traders: string[] = [];
  for (let i = 0; i < (opts.traderCount ?? 10); i++) {
    const trader = await (await provider.getSigner(3 + i)).getAddress();
    traders.push(trader);
    await sendTx(provider, deployer, token, t.encodeFunctionData("faucet", [trader, 100_000_000n * USDC]));
    await sendTx(provider, trader, token, t.encodeFunctionData("approve", [engine, MaxUint256]));
  }
  const chainId = Number((await provider.getNetwork()).chainId);
  const deployment: Deployment = {
    chainId,
    network: "localhost",
    engine,
    pool,
    lens,
    token,
    markets: [
      { id: 0, symbol: "ETH/USD", feed: ethFeed },
      { id: 1, symbol: "BTC/USD", feed: btcFeed },
    ],
    startBlock,
  };
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "bulkhead-keeper-"));
  const deploymentFile = join(dir, "localhost.json");
  writeFileSync(deploymentFile, JSON.stringify(deployment, null, 2));
  return {
    provider,
    deployment,
    deploymentFile,
    deployer,
    traders,
    ethFeed,
    btcFeed,
    sequencerFeed,
    setPrice: async (feed, answer) => {
      const hash = await sendTx(provider, deployer, feed, feedIface().encodeFunctionData("updateAnswer", [answer]));
      return (await receiptOf(provider, hash)).blockNumber;
    },
    setSequencer: async (up, startedAt) => {
      if (!sequencerFeed) throw new Error("deployed without a sequencer feed");
      await sendTx(provider, deployer, sequencerFeed, feedIface().encodeFunctionData("updateRoundData", [2n, up ? 0n : 1n, startedAt, startedAt]));
    },
  };
}

/** A position to open. */
export interface PositionSpec {
  trader: string;
  market: 0 | 1;
  isLong: boolean;
  collateral: bigint;
  /** WAD leverage used to size it. */
  leverage: bigint;
  size: bigint;
}

const PRICES = [ETH_PRICE * 10n ** 10n, BTC_PRICE * 10n ** 10n] as const;
const UNIT = WAD * 10n ** 12n; // 1e18 * 10**(18 - 6)

/** `n` positions of seeded random market, side, collateral (log-uniform, default 20..2,000 USDC) and leverage (1.5x..45x). */
export function randomPositions(n: number, seed: bigint, traders: readonly string[], collateralRange: [bigint, bigint] = [20n * USDC, 2_000n * USDC]): PositionSpec[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const market = (rng.bool(0.7) ? 0 : 1) as 0 | 1;
    const collateral = rng.log(collateralRange[0], collateralRange[1]);
    const leverage = rng.range(15n * WAD / 10n, 45n * WAD);
    return { trader: traders[i % traders.length]!, market, isLong: rng.bool(), collateral, leverage, size: sizeForLeverage(collateral, leverage, PRICES[market], UNIT) };
  });
}

/**
 * Opens the positions: every trader sends its opens back to back (no receipt awaited in
 * between), traders in parallel. Returns the ids in spec order (ids are sequential from the
 * engine's counter, read from the PositionOpened events).
 */
export async function openPositions(sys: System, specs: readonly PositionSpec[]): Promise<bigint[]> {
  const e = bulkheadInterface();
  const { provider } = sys;
  const far = 2n ** 40n;
  const byTrader = new Map<string, number[]>();
  specs.forEach((s, i) => byTrader.set(s.trader, [...(byTrader.get(s.trader) ?? []), i]));
  const hashes: string[] = new Array(specs.length);
  await Promise.all(
    [...byTrader.entries()].map(async ([trader, indexes]) => {
      for (const i of indexes) {
        const s = specs[i]!;
        const data = e.encodeFunctionData("open", [s.market, s.isLong, s.collateral, s.size, s.isLong ? 2n ** 96n - 1n : 0n, far]);
        hashes[i] = (await provider.send("eth_sendTransaction", [{ from: trader, to: sys.deployment.engine, data, gas: "0x" + (900_000).toString(16) }])) as string;
      }
    }),
  );
  const topic = e.getEvent("PositionOpened")!.topicHash;
  const ids: bigint[] = [];
  for (let i = 0; i < hashes.length; i += 50) {
    const receipts = await Promise.all(hashes.slice(i, i + 50).map((h) => receiptOf(provider, h, 120_000)));
    for (const [j, r] of receipts.entries()) {
      if (!r || r.status !== 1) throw new Error(`open #${i + j} failed (${hashes[i + j]})`);
      const log = r.logs.find((l) => l.topics[0] === topic)!;
      ids.push(BigInt(log.topics[1]!));
    }
  }
  return ids;
}

/** Every PositionLiquidated event of the engine: id -> keepers that liquidated it (normally one). */
export async function liquidations(sys: System, fromBlock = sys.deployment.startBlock): Promise<Map<bigint, { keeper: string; block: number }[]>> {
  const e = bulkheadInterface();
  const logs = await sys.provider.getLogs({ address: sys.deployment.engine, topics: [e.getEvent("PositionLiquidated")!.topicHash], fromBlock, toBlock: "latest" });
  const out = new Map<bigint, { keeper: string; block: number }[]>();
  for (const l of logs) {
    const parsed = e.parseLog(l)!;
    const id = parsed.args.getValue("id") as bigint;
    out.set(id, [...(out.get(id) ?? []), { keeper: (parsed.args.getValue("keeper") as string).toLowerCase(), block: l.blockNumber }]);
  }
  return out;
}

/** Ids each mined liquidateMany transaction of `from` carried (to check nothing is sent twice). */
export async function liquidationTxIds(sys: System, from: string, fromBlock: number): Promise<bigint[][]> {
  const e = bulkheadInterface();
  const out: bigint[][] = [];
  const head = await sys.provider.getBlockNumber();
  const who = from.toLowerCase();
  for (let b = fromBlock; b <= head; b += 20) {
    const blocks = await Promise.all(
      Array.from({ length: Math.min(20, head - b + 1) }, (_, k) => sys.provider.send("eth_getBlockByNumber", ["0x" + (b + k).toString(16), true]) as Promise<{ transactions: { from: string; to: string | null; input: string }[] }>),
    );
    for (const block of blocks) {
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== who || tx.to?.toLowerCase() !== sys.deployment.engine.toLowerCase()) continue;
        const parsed = e.parseTransaction({ data: tx.input });
        if (parsed?.name === "liquidateMany") out.push([...(parsed.args[0] as bigint[])]);
      }
    }
  }
  return out;
}

/** Creates a fresh temporary directory for a test's stores and files. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "bulkhead-keeper-"));
}
