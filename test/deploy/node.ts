// A real node process: `hardhat node` on a free 127.0.0.1 port, `npm run deploy -- --network
// localhost` through the real scripts over JSON-RPC (timelock handover included), checks of the
// deployed system with plain ethers, an open/close round trip, a second deploy that sends
// nothing, and the node stopped at the end. (anvil as a second node implementation: follow-up.)
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { Contract, JsonRpcProvider, parseUnits, type JsonRpcSigner } from "ethers";
import type { DeploymentRecord } from "../../scripts/deploy/deploy.js";
import { EXECUTOR_ROLE, PROPOSER_ROLE } from "../../ignition/modules/Bulkhead.js";
import { npmRun, ROOT, startHardhatNode, type NodeProcess } from "../helpers/processes.js";

const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;

describe("deploy: real node over JSON-RPC", function () {
  this.timeout(120_000);
  let node: NodeProcess;
  let dir: string;
  let provider: JsonRpcProvider;
  let record: DeploymentRecord;
  const args = () => [
    "--network", "localhost",
    "--parameters", path.join(dir, "params.json"),
    "--deployments-dir", path.join(dir, "deployments"),
    "--journal-dir", path.join(dir, "journal"),
  ];
  const env = () => ({ LOCALHOST_RPC_URL: node.url, NO_COLOR: "1" });
  // The second account proposes; anyone executes; a two-day delay once the handover is done.
  const PROPOSER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bulkhead-deploy-"));
    const params = JSON.parse(await readFile(path.join(ROOT, "ignition/parameters/localhost.json"), "utf8"));
    params.owner = { timelock: { minDelay: "2d", proposers: [PROPOSER], executors: ["anyone"] } };
    await writeFile(path.join(dir, "params.json"), JSON.stringify(params));
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("test_deploy_localhost_recordsTheWholeSystem", async () => {
    const res = await npmRun("deploy", args(), env());
    expect(res.code, res.stdout + res.stderr).to.equal(0);
    expect(res.stdout).to.match(/17 transactions sent/);
    record = JSON.parse(await readFile(path.join(dir, "deployments", "localhost.json"), "utf8"));

    // The fields the SDK reads, then the rest the issue asks for.
    expect(record.chainId).to.equal(31337);
    expect(record.network).to.equal("localhost");
    for (const k of ["engine", "pool", "lens", "token"] as const) expect(await provider.getCode(record[k]), k).to.not.equal("0x");
    expect(record.markets.map((m) => [m.id, m.symbol, m.heartbeat])).to.deep.equal([[0, "ETH/USD", 3600], [1, "BTC/USD", 3600]]);
    expect(record.startBlock).to.be.greaterThan(0);
    expect(Object.keys(record.libraries)).to.have.members(["MarketConfigLogic", "PoolLogic", "IncreaseLogic", "DecreaseLogic"]);
    expect(record.transactions).to.have.length(17);
    for (const t of record.transactions) {
      const receipt = await provider.getTransactionReceipt(t.hash);
      expect(receipt?.status, t.step).to.equal(1);
      expect(receipt?.blockNumber).to.equal(t.blockNumber);
      expect(t.blockNumber).to.be.at.least(record.startBlock);
    }
    expect(record.parameters.source).to.have.property("owner");
    expect(record.governance.timelock?.minDelay).to.equal(2 * 86400);
  });

  it("test_deploy_localhost_systemWorksThroughPlainEthers", async () => {
    const engine = new Contract(record.engine, await abi("Bulkhead"), provider);
    const pool = new Contract(record.pool, await abi("BulkheadPool"), provider);
    const lens = new Contract(record.lens, await abi("BulkheadLens"), provider);
    const timelock = new Contract(record.governance.timelock!.address, await abi("TimelockController"), provider);

    // Markets listed with the recorded feeds, pool bound, lens reading this engine.
    expect(await engine.marketCount()).to.equal(2n);
    for (const m of record.markets) {
      const stored = await engine.market(m.id);
      expect(stored.feed).to.equal(m.feed);
      expect(stored.heartbeat).to.equal(BigInt(m.heartbeat));
      expect(stored.maxLeverage).to.equal(BigInt(m.params.maxLeverage));
    }
    expect(await pool.engine()).to.equal(record.engine);
    expect(await lens.engine()).to.equal(record.engine);
    // Ownership handed to the timelock, with its real delay; the deployer kept no role.
    expect(await engine.owner()).to.equal(record.governance.timelock!.address);
    expect(await engine.pendingOwner()).to.equal("0x0000000000000000000000000000000000000000");
    expect(await timelock.getMinDelay()).to.equal(2n * 86400n);
    expect(await timelock.hasRole(PROPOSER_ROLE, record.deployer)).to.equal(false);
    expect(await timelock.hasRole(EXECUTOR_ROLE, record.deployer)).to.equal(false);
    expect(await timelock.hasRole(PROPOSER_ROLE, PROPOSER)).to.equal(true);

    // Round trip: LP liquidity, a 5x ETH long, its own vault, the lens view, close.
    const lp: JsonRpcSigner = await provider.getSigner(1);
    const trader: JsonRpcSigner = await provider.getSigner(2);
    const token = new Contract(record.token, await abi("MockStablecoin"), provider);
    const usd = (x: string) => parseUnits(x, record.tokenDecimals);
    await (await token.connect(lp).getFunction("faucet")(lp.address, usd("100000"))).wait();
    await (await token.connect(lp).getFunction("approve")(record.pool, usd("100000"))).wait();
    await (await pool.connect(lp).getFunction("deposit")(usd("100000"), lp.address)).wait();
    await (await token.connect(trader).getFunction("faucet")(trader.address, usd("1000"))).wait();
    await (await token.connect(trader).getFunction("approve")(record.engine, usd("1000"))).wait();
    const startBalance = await token.balanceOf(trader.address);

    const px: bigint = await engine.price(0);
    const collateral = usd("500");
    const size = (collateral * 5n * (await engine.unit())) / px;
    const id: bigint = await engine.nextPositionId();
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp) + 600n;
    await (await engine.connect(trader).getFunction("open")(0, true, collateral, size, (px * 101n) / 100n, deadline)).wait();
    const vault: string = await engine.vaultOf(id);
    expect(await token.balanceOf(vault)).to.equal(collateral);
    const [view] = await lens.positions([id]);
    expect(view.owner).to.equal(trader.address);
    expect(view.vault).to.equal(vault);
    expect(view.position.size).to.equal(size);
    expect(view.health.liquidatable).to.equal(false);
    expect(view.priceValid).to.equal(true);
    expect(await lens.liquidationPrice(id)).to.be.lessThan(px);

    await (await engine.connect(trader).getFunction("close")(id, (px * 99n) / 100n, deadline)).wait();
    expect((await engine.position(id)).size).to.equal(0n);
    expect(await token.balanceOf(vault)).to.equal(0n);
    // Back with the collateral minus the open and close fees (0.1% of 2,500 each) and a little borrow fee.
    const spent = startBalance - (await token.balanceOf(trader.address));
    expect(spent).to.be.greaterThanOrEqual(usd("5")).and.lessThan(usd("5.01"));
  });

  it("test_deploy_localhost_twice_sendsNothingAndKeepsAddresses", async () => {
    // Raw eth_blockNumber: ethers' getBlockNumber may answer from its short-lived cache.
    const blockNumber = async () => BigInt(await provider.send("eth_blockNumber", []));
    const block = await blockNumber();
    const res = await npmRun("deploy", args(), env());
    expect(res.code, res.stdout + res.stderr).to.equal(0);
    expect(res.stdout).to.include("nothing to send: every step is already on chain");
    expect(await blockNumber()).to.equal(block);
    const again: DeploymentRecord = JSON.parse(await readFile(path.join(dir, "deployments", "localhost.json"), "utf8"));
    const { updatedAt: _a, ...first } = record;
    const { updatedAt: _b, ...second } = again;
    expect(second).to.deep.equal(first);
  });

  it("test_deploy_localhost_changedDeployedValue_stopsWithoutSending", async () => {
    const params = JSON.parse(await readFile(path.join(dir, "params.json"), "utf8"));
    params.markets[0].heartbeat = "2h";
    await writeFile(path.join(dir, "params.json"), JSON.stringify(params));
    const block = BigInt(await provider.send("eth_blockNumber", []));
    const res = await npmRun("deploy", args(), env());
    expect(res.code).to.equal(1);
    expect(res.stderr).to.include("Deployment stopped.");
    expect(res.stderr).to.include("Bulkhead#ListMarket_ETH_USD: Argument at index 1 has been changed");
    expect(res.stderr).to.include("changed through governance");
    expect(BigInt(await provider.send("eth_blockNumber", []))).to.equal(block);
  });
});
