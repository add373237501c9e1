// Two-step trades end to end on real JSON-RPC node processes (`hardhat node`, then anvil), each
// started and always stopped by this test: a trader requests through the SDK, the local oracle
// set signs the report the request pins, a third account executes it through the SDK, and the
// position's entry is the report's ask; the close fills at the next pinned report's bid.
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { BulkheadClient, RequestNotExpiredError, settlementTime, type RequestEvent } from "../../sdk/src/index.js";
import { USDC, WAD } from "../helpers/fixture.js";
import { deployOverRpc, deployRequestsOverRpc, startNode, type RpcNode } from "../sdk/helpers/rpc-node.js";
import { expectRejection } from "../sdk/helpers/system.js";
import { NODE_KINDS, skipUnderCoverage } from "../helpers/processes.js";

const PX = 3_000n * WAD;
const SPREAD = (PX * 5n) / 10_000n;

for (const kind of NODE_KINDS) {
  describe(`trade requests (real ${kind} node process)`, function () {
    this.timeout(120_000);
    let node: RpcNode | undefined;

    before(function () {
      skipUnderCoverage(this);
    });
    before(async () => {
      node = await startNode(kind);
    });
    after(async () => {
      await node?.stop();
    });

    it("test_rpc_requestSignExecute_byAThirdAccount_fillsAtThePinnedReport", async () => {
      const provider: JsonRpcProvider = node!.provider;
      const sys = await deployOverRpc(provider);
      const streams = await deployRequestsOverRpc(sys);
      const { alice, keeper } = sys.signers;
      const trader = await BulkheadClient.connect(alice, { addresses: sys.addresses, pollingInterval: 50 });
      const executor = await BulkheadClient.connect(keeper, { addresses: sys.addresses, pollingInterval: 50 });
      expect(await trader.getRequestRouter()).to.equal(await streams.router.getAddress());
      const seen: RequestEvent[] = [];
      const stop = trader.watchRequests((e) => seen.push(e));
      try {
        const quote = await trader.quoteRequestOpen({ market: 0, side: "long", amount: 1_000n * USDC, size: WAD, slippageBps: 100 });
        expect(quote.buying).to.equal(true);
        expect(quote.fill.min).to.equal((PX * 9_900n) / 10_000n);
        expect(quote.fill.max).to.equal(quote.acceptablePrice);
        expect(quote.collateral.max).to.be.lessThan(1_000n * USDC);
        const requested = await trader.requestOpen({ market: 0, side: "long", amount: 1_000n * USDC, size: WAD, slippageBps: 100 });
        expect(requested.approvals).to.have.length(1); // exact approval of the router for the amount
        const view = (await trader.getRequest(requested.requestId))!;
        expect(view.status).to.equal("waiting-for-report");
        // Cancelling before expiry is refused, with the sentence.
        await expectRejection(trader.cancelRequest({ requestId: requested.requestId }), RequestNotExpiredError, /can be cancelled after/);

        // The report of the request's settlement second, signed by the local oracle set.
        await provider.send("evm_increaseTime", [3]);
        await provider.send("evm_mine", []);
        const t = settlementTime(view);
        const sign = (at: number) =>
          streams.oracleSet.sign(
            { feedId: streams.feedIds[0]!, validFromTimestamp: at, observationsTimestamp: at, nativeFee: 0n, linkFee: 0n, expiresAt: at + 3600, price: PX, bid: PX - SPREAD, ask: PX + SPREAD },
            streams.digests[0]!,
            { epoch: at, round: 0 },
          );
        const opened = await executor.executeRequest({ requestId: requested.requestId, report: sign(t) });
        expect(opened.filled).to.equal(true);
        if (opened.event.type !== "RequestExecuted") throw new Error("not executed");
        expect(opened.event.fillPrice).to.equal(PX + SPREAD);
        expect(opened.event.executor).to.equal(await keeper.getAddress());
        const id = opened.event.positionId;
        // Read through the executor's client: it holds the receipt (read-your-writes).
        const position = (await executor.getPosition(id))!;
        expect(position.position.entryPrice).to.equal(PX + SPREAD);
        expect(await executor.getRequest(requested.requestId)).to.equal(null);

        // The trader's client learns of the executor's block from the provider, whose block number
        // ethers caches for 250 ms: wait until it has seen the block (anvil mines at once).
        while ((await provider.getBlockNumber()) < opened.receipt.blockNumber) await new Promise((r) => setTimeout(r, 50));
        // Close: the long sells at the bid of its own pinned report.
        const close = await trader.requestClose({ id, slippageBps: 100 });
        await provider.send("evm_increaseTime", [3]);
        await provider.send("evm_mine", []);
        const closeView = { createdAt: close.event.settlesAt - 2, settlementDelay: 2 };
        const closed = await executor.executeRequest({ requestId: close.requestId, report: sign(settlementTime(closeView)) });
        if (closed.event.type !== "RequestExecuted") throw new Error("not executed");
        expect(closed.event.fillPrice).to.equal(PX - SPREAD);
        expect(await executor.getPosition(id)).to.equal(null);

        const events = await executor.getRequestEvents({ account: await alice.getAddress() });
        expect(events.map((e) => e.type)).to.deep.equal(["RequestCreated", "RequestExecuted", "RequestCreated", "RequestExecuted"]);
        const deadline = Date.now() + 10_000;
        while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(seen.map((e) => e.type)).to.deep.equal(events.map((e) => e.type));
      } finally {
        stop();
      }
    });
  });
}
