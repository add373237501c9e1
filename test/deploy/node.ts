// Real node processes: `hardhat node` and Foundry's anvil (a second, independent implementation),
// each on a free 127.0.0.1 port. `npm run deploy -- --network localhost` deploys through the real
// scripts over JSON-RPC (timelock handover included); the SDK reads the deployed system back from
// the recorded deployment and runs an LP deposit and an open/close round trip; a second deploy
// sends nothing; every node is stopped at the end.
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { Contract, JsonRpcProvider, parseUnits, type JsonRpcSigner } from "ethers";
import { BulkheadClient, parseDeployment } from "@bulkhead/sdk";
import { WAD } from "../helpers/fixture.js";
import type { DeploymentRecord } from "../../scripts/deploy/deploy.js";
import { EXECUTOR_ROLE, PROPOSER_ROLE } from "../../ignition/modules/Bulkhead.js";
import { NODE_KINDS, npmRun, ROOT, skipUnderCoverage, startNodeProcess, type NodeKind, type NodeProcess } from "../helpers/processes.js";

const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;

for (const kind of NODE_KINDS) describeDeployOn(kind);

function describeDeployOn(kind: NodeKind) {
  describe(`deploy: real ${kind} node over JSON-RPC`, function () {
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

    before(function () {
      skipUnderCoverage(this);
    });

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "bulkhead-deploy-"));
      const params = JSON.parse(await readFile(path.join(ROOT, "ignition/parameters/localhost.json"), "utf8"));
      params.owner = { timelock: { minDelay: "2d", proposers: [PROPOSER], executors: ["anyone"] } };
      await writeFile(path.join(dir, "params.json"), JSON.stringify(params));
      node = await startNodeProcess(kind);
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

    it("test_deploy_localhost_governanceHandedToTheTimelock", async () => {
      const engine = new Contract(record.engine, await abi("Bulkhead"), provider);
      const pool = new Contract(record.pool, await abi("BulkheadPool"), provider);
      const lens = new Contract(record.lens, await abi("BulkheadLens"), provider);
      const timelock = new Contract(record.governance.timelock!.address, await abi("TimelockController"), provider);
      expect(await pool.engine()).to.equal(record.engine);
      expect(await lens.engine()).to.equal(record.engine);
      // Ownership handed to the timelock, with its real delay; the deployer kept no role.
      expect(await engine.owner()).to.equal(record.governance.timelock!.address);
      expect(await engine.pendingOwner()).to.equal("0x0000000000000000000000000000000000000000");
      expect(await timelock.getMinDelay()).to.equal(2n * 86400n);
      expect(await timelock.hasRole(PROPOSER_ROLE, record.deployer)).to.equal(false);
      expect(await timelock.hasRole(EXECUTOR_ROLE, record.deployer)).to.equal(false);
      expect(await timelock.hasRole(PROPOSER_ROLE, PROPOSER)).to.equal(true);
    });

    it("test_deploy_localhost_sdkReadsAndTradesOnTheRecordedDeployment", async () => {
      // The SDK takes the record exactly as written (the file the keeper and front-ends read).
      const deployment = parseDeployment(record);
      const lpSigner: JsonRpcSigner = await provider.getSigner(1);
      const traderSigner: JsonRpcSigner = await provider.getSigner(2);
      const lp = await BulkheadClient.connect(lpSigner, { addresses: deployment });
      const trader = await BulkheadClient.connect(traderSigner, { addresses: deployment });
      expect(trader.chainId).to.equal(31337);
      expect(trader.token.decimals).to.equal(record.tokenDecimals);

      // Markets listed with the recorded feeds and parameters, each with a valid price.
      const markets = await trader.getMarkets();
      expect(markets.map((m) => [m.id, m.symbol, m.feed, m.heartbeat])).to.deep.equal(
        record.markets.map((m) => [m.id, m.symbol, m.feed, BigInt(m.heartbeat)]),
      );
      for (const [i, m] of markets.entries()) {
        expect(m.maxLeverage, m.symbol).to.equal(BigInt(record.markets[i]!.params.maxLeverage));
        expect(m.price, m.symbol).to.be.a("bigint").and.greaterThan(0n);
      }

      // Round trip: LP liquidity, a 5x ETH long in its own vault, health from the SDK, close.
      const token = new Contract(record.token, await abi("MockStablecoin"), provider);
      const usd = (x: string) => parseUnits(x, record.tokenDecimals);
      await (await token.connect(lpSigner).getFunction("faucet")(lpSigner.address, usd("100000"))).wait();
      await (await token.connect(traderSigner).getFunction("faucet")(traderSigner.address, usd("1000"))).wait();
      const deposited = await lp.deposit({ assets: usd("100000") });
      expect(deposited.receipt.status).to.equal(1);
      expect((await lp.getLpPosition(lpSigner.address)).shares).to.equal(deposited.shares);
      expect((await lp.getPool()).lpAssets).to.equal(usd("100000"));
      const startBalance: bigint = await token.balanceOf(traderSigner.address);

      const collateral = usd("500");
      const opened = await trader.open({ market: 0, side: "long", collateral, leverage: 5n * WAD });
      expect(await token.balanceOf(opened.vault)).to.equal(collateral);
      const view = (await trader.getPosition(opened.id))!;
      expect(view.owner).to.equal(traderSigner.address);
      expect(view.vault).to.equal(opened.vault);
      expect(view.position.size).to.equal(opened.quote.size);
      expect(view.health!.liquidatable).to.equal(false);
      expect(view.health!.liquidationPrice).to.be.greaterThan(0n).and.lessThan(view.price!);
      expect(view.health!.leverage! / 10n ** 16n).to.be.within(495n, 505n);

      await trader.close({ id: opened.id });
      expect(await trader.getPosition(opened.id)).to.equal(null);
      expect(await token.balanceOf(opened.vault)).to.equal(0n);
      // Back with the collateral minus the open and close fees (0.1% of 2,500 each) and a little borrow fee.
      const spent = startBalance - (await token.balanceOf(traderSigner.address));
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

    it("test_deploy_localhost_streamsAddedAfterTheHandover_refusedWithoutSending", async () => {
      // setStream and setSettler are the owner's (the timelock now): this script cannot send them.
      const file = path.join(dir, "params.json");
      const original = await readFile(file, "utf8");
      const requests = JSON.parse(await readFile(path.join(ROOT, "ignition/parameters/localhost-requests.json"), "utf8"));
      await writeFile(file, JSON.stringify({ ...JSON.parse(original), streams: requests.streams }));
      const block = BigInt(await provider.send("eth_blockNumber", []));
      const res = await npmRun("deploy", args(), env());
      await writeFile(file, original);
      expect(res.code, res.stdout + res.stderr).to.equal(1);
      expect(res.stderr).to.include("Deployment refused before sending anything.");
      expect(res.stderr).to.match(/- streams: the engine \(0x[0-9a-fA-F]{40}\) is owned by 0x[0-9a-fA-F]{40}, not the deployer, and has no router from this journal: two-step settlement .* must then go through a governance proposal/);
      expect(BigInt(await provider.send("eth_blockNumber", []))).to.equal(block);
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
}
