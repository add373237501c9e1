// The SDK's view of delisted markets, removable collateral and malformed feeds, against the
// contracts on an in-process network.
import { expect } from "chai";
import { network } from "hardhat";
import {
  BulkheadClient,
  BulkheadLogic,
  InvalidFeedResponseError,
  MarketHasOpenInterestError,
  MarketIsDelistedError,
  PositionMath,
  decodeRevert,
} from "../../sdk/src/index.js";
import { BTC_MARKET, ETH_MARKET, ETH_PRICE, HEARTBEAT, USDC, WAD } from "../helpers/fixture.js";
import { deployForSdk } from "./helpers/system.js";

const { ethers, networkHelpers } = await network.connect();

describe("sdk: delisting, removable collateral, malformed feeds", function () {
  this.timeout(120_000);

  it("getMarkets: a delisted market comes back delisted with no price and no price error; its feed is not read", async () => {
    const sys = await deployForSdk(ethers);
    const trader = (await ethers.getSigners())[8]!;
    const client = await BulkheadClient.connect(trader, { addresses: sys.addresses, pollingInterval: 20 });
    const broken = await ethers.deployContract("RevertingAggregator");
    await (await sys.engine.setFeed(BTC_MARKET, broken, HEARTBEAT)).wait();
    await (await sys.engine.delistMarket(BTC_MARKET)).wait();
    const markets = await client.getMarkets();
    expect(markets.map((m) => [m.id, m.delisted, m.price === null, m.priceError === undefined])).to.deep.equal([
      [0, false, false, true],
      [1, true, true, true],
    ]);
    await expect(client.getPrice(Number(BTC_MARKET))).to.be.rejectedWith(MarketIsDelistedError, /market 1 is delisted/);
  });

  it("errors: MarketHasOpenInterest, MarketIsDelisted and InvalidFeedResponse decode to readable classes", async () => {
    const sys = await deployForSdk(ethers);
    const iface = sys.engine.interface;
    const ctx = { decimals: 6, symbol: "USDC" };
    const oi = decodeRevert(iface.encodeErrorResult("MarketHasOpenInterest", [0n, WAD, 2n * WAD]), ctx);
    expect(oi).to.be.instanceOf(MarketHasOpenInterestError);
    expect(oi.message).to.match(/market 0 still has open interest \(long 1(\.0+)?, short 2(\.0+)?\)/);
    const feed = await sys.ethFeed.getAddress();
    const bad = decodeRevert(iface.encodeErrorResult("InvalidFeedResponse", [feed, 96n]), ctx);
    expect(bad).to.be.instanceOf(InvalidFeedResponseError);
    expect(bad.message).to.include("malformed answer (96 bytes)");
  });

  it("test_maxRemovableCollateral_sdkEqualsLens: previewRemoveCollateral.maxRemovable equals the lens for random positions and prices, (the contract boundary itself is fuzzed in RemoveCollateral.t.sol)", async () => {
    const sys = await deployForSdk(ethers);
    const trader = (await ethers.getSigners())[8]!;
    await (await sys.token.faucet(trader.address, 100_000n * USDC)).wait();
    const client = await BulkheadClient.connect(trader, { addresses: sys.addresses, pollingInterval: 20 });
    let seed = 0x5eedn;
    const next = (n: bigint) => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
      return seed % n;
    };
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) {
      const leverage = 1n + next(50n);
      const collateral = 10n * USDC + next(2_000n * USDC);
      const r = await client.open({ market: Number(ETH_MARKET), side: i % 2 === 0 ? "long" : "short", collateral, leverage: leverage * WAD });
      ids.push(r.id);
    }
    for (const pct of [62n, 97n, 100n, 103n, 140n]) {
      await networkHelpers.time.increase(3_600n * (1n + next(24n)) - 60n);
      await (await sys.ethFeed.updateAnswer((ETH_PRICE * pct) / 100n)).wait();
      const block = await ethers.provider.getBlockNumber();
      const market = await client.getMarket(Number(ETH_MARKET));
      for (const id of ids) {
        const view = (await client.getPositions([id], block))[0]!;
        const ctx = { market, risk: view.risk, unit: client.unit, price: view.price!, index: view.index };
        const preview = BulkheadLogic.previewRemoveCollateral(ctx, view.position, 1n);
        expect(preview.maxRemovable, `id ${id} at ${pct}%`).to.equal(await client.getMaxRemovableCollateral(id, block));
        const pnl = PositionMath.pnl(view.position.isLong, view.position.size, view.position.entryPrice, view.price!, client.unit);
        expect(preview.equityAfter).to.equal(PositionMath.equityWithoutProfit(view.position.collateral - 1n, pnl, preview.borrowFee));
      }
    }
  });
});

