// The same SDK flows against real JSON-RPC node processes (`hardhat node`, then anvil as a second,
// independent implementation, on 127.0.0.1), each started and always stopped by this test: plain
// ethers JsonRpcProvider/JsonRpcSigner, no Hardhat plugin.
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { BulkheadClient, InsufficientMarginError, PositionNotFoundError, PositionNotLiquidatableError, type PositionEvent } from "../../sdk/src/index.js";
import { USDC, WAD } from "../helpers/fixture.js";
import { deployOverRpc, startNode, type RpcNode } from "./helpers/rpc-node.js";
import { expectRejection } from "./helpers/system.js";
import { NODE_KINDS, skipUnderCoverage } from "../helpers/processes.js";

for (const kind of NODE_KINDS) {
  describe(`sdk client (real ${kind} node process)`, function () {
    this.timeout(120_000);
    let node: RpcNode | undefined;
    let keeperProvider: JsonRpcProvider | undefined;

    before(function () {
      skipUnderCoverage(this);
    });

    before(async () => {
      node = await startNode(kind);
    });

    after(async () => {
      // Always stop the node process, even when the test failed.
      await node?.stop();
      keeperProvider?.destroy();
    });

    it("test_rpc_frontEndAndKeeperFlows", async () => {
      const { provider } = node!;
      const sys = await deployOverRpc(provider);
      const { alice, bob, keeper } = sys.signers;
      // The engine links its four logic libraries and fits the 24 KB limit on a stock node.
      expect(Object.keys(sys.libraries).sort()).to.deep.equal(["DecreaseLogic", "IncreaseLogic", "MarketConfigLogic", "PoolLogic"]);
      for (const address of Object.values(sys.libraries)) expect(await provider.getCode(address)).to.not.equal("0x");
      expect((await provider.getCode(sys.addresses.engine)).length / 2 - 1).to.be.at.most(24_576);
      const trader = await BulkheadClient.connect(alice, { addresses: sys.addresses, pollingInterval: 50 });
      expect(trader.chainId).to.equal(31337);

      // A failed open explains itself and sends nothing.
      const nonce = await provider.getTransactionCount(await alice.getAddress());
      await expectRejection(
        trader.open({ market: 0, side: "long", collateral: 100n * USDC, size: 2n * WAD }),
        InsufficientMarginError,
        "needs 20 USDC more collateral: equity 100, required 120",
      );
      expect(await provider.getTransactionCount(await alice.getAddress())).to.equal(nonce);

      // quote -> approve (exact) -> open -> top up -> reduce -> close
      const seen: PositionEvent[] = [];
      const stop = trader.watchPositionEvents((e) => seen.push(e));
      try {
      const quote = await trader.quoteOpen({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
      expect(quote.needsApproval).to.equal(true);
      const opened = await trader.open({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
      expect(opened.approvals).to.have.length(1);
      expect(opened.vault).to.equal(await sys.engine.getFunction("vaultOf")(opened.id));
      let view = (await trader.getPosition(opened.id))!;
      const lensHealth = await sys.lens.getFunction("health")(opened.id);
      expect(view.health!.equity).to.equal(lensHealth.equity);
      expect(view.health!.liquidationPrice).to.equal(lensHealth.liquidationPrice);
      expect(view.health!.maintenance).to.equal(lensHealth.maintenance);
      await trader.addCollateral({ id: opened.id, amount: 50n * USDC });
      // An error raised inside a linked library (IncreaseLogic) decodes as the engine's own.
      await expectRejection(trader.increase({ id: opened.id, sizeDelta: 5n * WAD }), InsufficientMarginError, /more collateral/);
      await trader.increase({ id: opened.id, sizeDelta: WAD / 4n });
      await trader.decrease({ id: opened.id, sizeDelta: WAD / 2n });
      view = (await trader.getPosition(opened.id))!;
      expect(view.position.size).to.equal(WAD * 3n / 4n);
      const closed = await trader.close({ id: opened.id });
      expect(closed.event.newSize).to.equal(0n);

      // keeper: scan -> preview -> liquidate
      const b = await BulkheadClient.connect(bob, { addresses: sys.addresses });
      const risky = await b.open({ market: 0, side: "long", collateral: 75n * USDC, leverage: 40n * WAD });
      const tx = await sys.ethFeed.connect(sys.signers.deployer).getFunction("updateAnswer")(2_940n * 10n ** 8n);
      await tx.wait();
      // A keeper usually runs on its own provider; this one disables ethers' 250 ms response cache
      // so it sees the price update just sent by another connection.
      keeperProvider = new JsonRpcProvider(node!.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      const bot = await BulkheadClient.connect(await keeperProvider.getSigner(await keeper.getAddress()), { addresses: sys.addresses });
      const ids = await bot.getOpenPositionIds();
      expect(ids).to.deep.equal([risky.id]);
      const [v] = await bot.getPositions(ids);
      expect(v!.health!.liquidatable).to.equal(true);
      const [preview] = await bot.previewLiquidations(ids);
      expect(bot.previewLiquidationLocal(v!, await bot.getLedger())).to.deep.equal(preview);
      const result = await bot.liquidateMany({ ids });
      expect(result.liquidated).to.equal(1);
      expect(result.reward).to.equal(preview!.keeperReward);
      await expectRejection(bot.liquidate({ id: risky.id }), PositionNotFoundError, `position ${risky.id} does not exist (closed, liquidated or never opened)`);
      const healthy = await b.open({ market: 0, side: "short", collateral: 100n * USDC, leverage: 2n * WAD });
      await expectRejection(bot.liquidate({ id: healthy.id }), PositionNotLiquidatableError, /is not liquidatable/);

      const deadline = Date.now() + 10_000;
      while (seen.length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } finally {
        stop();
      }
      expect(seen.map((e) => e.type)).to.deep.equal([
        "PositionOpened", "CollateralAdded", "PositionIncreased", "PositionDecreased", "PositionDecreased", "PositionOpened", "PositionLiquidated", "PositionOpened",
      ]);
      expect(await trader.getPositionEvents({ chunkSize: 3 })).to.deep.equal(seen);
    });
  });
}
