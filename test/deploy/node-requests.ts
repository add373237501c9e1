// `npm run deploy` of localhost-requests.json on real node processes (`hardhat node` and anvil) over
// JSON-RPC: the recorded system trades through requests only; a request executed by a third
// account with a report the deterministic local oracle set signs for the recorded config digest
// fills at the report's ask; a second deploy sends nothing.
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { Contract, JsonRpcProvider, parseUnits } from "ethers";
import { parseDeployment, type ReportV3 } from "@bulkhead/sdk";
import type { DeploymentRecord } from "../../scripts/deploy/deploy.js";
import { LocalOracleSet, localFeedId } from "../../scripts/streams/oracleSet.js";
import { WAD } from "../helpers/fixture.js";
import { NODE_KINDS, npmRun, ROOT, skipUnderCoverage, startNodeProcess, type NodeKind, type NodeProcess } from "../helpers/processes.js";
import { depositThroughRequest } from "../helpers/lpRequests.js";

const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of NODE_KINDS) describeRequestsDeployOn(kind);

function describeRequestsDeployOn(kind: NodeKind) {
  describe(`deploy: localhost-requests.json on a real ${kind} node`, function () {
    this.timeout(120_000);
    let node: NodeProcess;
    let dir: string;
    let provider: JsonRpcProvider;
    const args = () => [
      "--network", "localhost",
      "--parameters", path.join(ROOT, "ignition/parameters/localhost-requests.json"),
      "--deployments-dir", path.join(dir, "deployments"),
      "--journal-dir", path.join(dir, "journal"),
    ];
    const env = () => ({ LOCALHOST_RPC_URL: node.url, NO_COLOR: "1" });

    before(function () {
      skipUnderCoverage(this);
    });

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "bulkhead-deploy-requests-"));
      node = await startNodeProcess(kind);
      provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    });

    after(async () => {
      provider?.destroy();
      await node?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("test_deployRequests_realNode_requestExecutedByAThirdAccount_fillsAtTheReportsAsk_secondDeploySendsNothing", async () => {
      const res = await npmRun("deploy", args(), env());
      expect(res.code, res.stdout + res.stderr).to.equal(0);
      // The two-step settlement's 23, plus the order book and `setOrderBook`.
      expect(res.stdout).to.match(/25 transactions sent/);
      const record: DeploymentRecord = JSON.parse(await readFile(path.join(dir, "deployments", "localhost.json"), "utf8"));
      const d = parseDeployment(record);
      expect(d.markets.map((m) => m.streamId)).to.deep.equal([localFeedId("ETH/USD"), localFeedId("BTC/USD")]);

      const engine = new Contract(record.engine, await abi("Bulkhead"), provider);
      const router = new Contract(d.router!, await abi("BulkheadRouter"), provider);
      const token = new Contract(record.token, await abi("MockStablecoin"), provider);
      const pool = new Contract(record.pool, await abi("BulkheadPool"), provider);
      expect(await engine.settler()).to.equal(d.router);
      expect(await router.orderBook()).to.equal(record.orderBook);

      const [lp, trader, executor] = await Promise.all([1, 2, 3].map((i) => provider.getSigner(i)));
      const usd = (x: string) => parseUnits(x, record.tokenDecimals);
      await (await token.connect(lp).getFunction("faucet")(lp.address, usd("100000"))).wait();
      await (await token.connect(lp).getFunction("approve")(record.pool, usd("100000"))).wait();
      // The pool is asynchronous here (the engine has a settler): LPs deposit through a request.
      await depositThroughRequest(pool, lp, usd("100000"), 2);
      await (await token.connect(trader).getFunction("faucet")(trader.address, usd("1000"))).wait();
      await (await token.connect(trader).getFunction("approve")(d.router, usd("1000"))).wait();

      const fee = await router.quoteExecutionFee(1n, 10n ** 11n);
      const receipt = await (await router.connect(trader).getFunction("requestOpen")(0, true, usd("500"), WAD, 2n ** 96n - 1n, { value: fee })).wait();
      const created = router.interface.parseLog(receipt!.logs.find((l: { address: string }) => l.address === d.router)!)!;
      const [id, settlesAt] = [created.args.requestId as bigint, created.args.settlesAt as bigint];
      // Real time passes on a real node: wait until a block can be at or after the pinned second.
      while (BigInt(Math.floor(Date.now() / 1000)) <= settlesAt) await sleep(250);

      const price = 3000n * WAD;
      const report: ReportV3 = {
        feedId: d.markets[0]!.streamId!,
        validFromTimestamp: Number(settlesAt),
        observationsTimestamp: Number(settlesAt),
        nativeFee: 0n,
        linkFee: 0n,
        expiresAt: Number(settlesAt) + 3600,
        price,
        bid: price - 3n * WAD,
        ask: price + 3n * WAD,
      };
      const signed = LocalOracleSet.deterministic().sign(report, record.markets[0]!.configDigest!, { epoch: Number(settlesAt), round: 0 });
      // anvil's eth_estimateGas answers too little for execute: the mined transaction runs out of
      // gas at the estimate (hardhat node's is enough), so the executor adds a margin.
      const gasLimit = ((await router.connect(executor).getFunction("execute").estimateGas(id, signed)) * 6n) / 5n;
      const executed = await (await router.connect(executor).getFunction("execute")(id, signed, { gasLimit })).wait();
      const fill = executed!.logs.map((l: { topics: readonly string[]; data: string }) => router.interface.parseLog(l)).find((p: ReturnType<typeof router.interface.parseLog>) => p?.name === "RequestExecuted")!;
      expect([fill.args.requestId, fill.args.executor, fill.args.fillPrice]).to.deep.equal([id, executor.address, report.ask]);
      expect(await engine.ownerOf(fill.args.positionId)).to.equal(trader.address);
      expect((await engine.position(fill.args.positionId)).entryPrice).to.equal(report.ask);

      const again = await npmRun("deploy", args(), env());
      expect(again.code, again.stdout + again.stderr).to.equal(0);
      expect(again.stdout).to.include("nothing to send: every step is already on chain");
    });
  });
}
