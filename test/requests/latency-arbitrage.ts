// Issue 12, finding 1: riskless latency arbitrage. A push feed lags the market by up to its
// deviation threshold and its next update is visible before it lands. With instant trades at the
// push price, opening before the update and closing after it takes the move from LPs. Through
// requests, both legs fill at reports observed after each request, which already carry the move.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { deployUnitSystem } from "../helpers/unit.js";
import { Kind, created, deployRequestSystem, executeAt } from "../helpers/requests.js";

const { ethers, networkHelpers } = await network.create();

const PUSH = wadFromFeed(ETH_PRICE); // 3,000: what the push feed says
const UPDATE = (ETH_PRICE * 10_050n) / 10_000n; // +0.5 %: the pending update (a typical deviation threshold)
const TRUE = wadFromFeed(UPDATE); // 3,015: where the market already is
const SIZE = 100n * WAD;
const COLLATERAL = 6_000n * USDC;
// Through a request the open fee comes out of the amount, and the fill is at the ask, a little
// above the true price: 6,400 keeps the same 100 ETH within 50x.
const AMOUNT = 6_400n * USDC;
const MAX_UINT96 = 2n ** 96n - 1n;

describe("latency arbitrage (issue 12)", () => {
  it("reproduction: instant trades at the push price earn the pending update, riskless (what requests remove)", async () => {
    const s = await deployUnitSystem(ethers);
    const { alice } = s.signers;
    const before = await s.token.balanceOf(alice);
    // One block: open at 3,000, the +0.5 % update lands, close at 3,015.
    await ethers.provider.send("evm_setAutomine", [false]);
    await s.engine.connect(alice).open(ETH_MARKET, true, COLLATERAL, SIZE, MAX_UINT96, FAR);
    await s.ethFeed.updateAnswer(UPDATE);
    await s.engine.connect(alice).close(1n, 0n, FAR);
    await networkHelpers.mine(1);
    await ethers.provider.send("evm_setAutomine", [true]);
    const gain = (await s.token.balanceOf(alice)) - before;
    // 100 x 15 = 1,500 of PnL, less 300 + 301.5 of fees: +898.5 USDC, 15 % of the collateral.
    expect(gain).to.equal(898_500_000n);
    expect(await s.engine.balanceOf(alice)).to.equal(0n);
  });

  it("test_latencyArbitrage_openBeforeAPendingUpdateAndCloseAfterIt_throughRequests_earnsNothing", async () => {
    const s = await deployRequestSystem(ethers);
    const { alice } = s.signers;
    const before = await s.token.balanceOf(alice);
    // Alice sees the update pending and requests an open while the push feed still says 3,000.
    const open = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, true, AMOUNT, SIZE, MAX_UINT96, { value: await s.fee(Kind.Open) }));
    // The report the request pins was observed after it: it already carries the move.
    await expect(executeAt(s, networkHelpers, open, ETH_MARKET, { price: TRUE })).to.emit(s.router, "RequestExecuted");
    const entry = (await s.engine.position(1n)).entryPrice;
    expect(entry).to.be.greaterThan(TRUE); // the ask
    // The push update lands; Alice requests the close at once.
    await (await s.ethFeed.updateAnswer(UPDATE)).wait();
    const close = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
    await executeAt(s, networkHelpers, close, ETH_MARKET, { price: TRUE });
    const result = (await s.token.balanceOf(alice)) - before;
    // She paid the spread both ways and both fees: a loss, not the 898.5 of the reproduction.
    expect(result).to.be.lessThan(0n);
    expect(await s.engine.balanceOf(alice)).to.equal(0n);
  });

  it("test_latencyArbitrage_whateverTheMove_aRoundTripGainsExactlyTheReportsMove_neverThePushLag", async () => {
    // Seeded moves between the two reports; the push feed lags each by the move itself. The round
    // trip's result is set by the two pinned reports alone: the same move with or without the lag.
    let seed = 0xb01c4eadn;
    const next = () => (seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n);
    for (let i = 0; i < 4; i++) {
      const bps = (next() % 181n) - 90n; // -0.9 % .. +0.9 %, inside the 1 % deviation bound
      const results: bigint[] = [];
      for (const lagged of [true, false]) {
        const s = await deployRequestSystem(ethers);
        const { alice } = s.signers;
        const moved = (PUSH * (10_000n + bps)) / 10_000n;
        // Same transactions in both runs (the same seconds of borrow fee): only the answers differ.
        await (await s.ethFeed.updateAnswer(lagged ? ETH_PRICE : moved / 10n ** 10n)).wait();
        const before = await s.token.balanceOf(alice);
        const open = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, true, AMOUNT, SIZE, MAX_UINT96, { value: await s.fee(Kind.Open) }));
        await executeAt(s, networkHelpers, open, ETH_MARKET, { price: moved });
        await (await s.ethFeed.updateAnswer(moved / 10n ** 10n)).wait();
        const close = await created(s, s.router.connect(alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) }));
        await executeAt(s, networkHelpers, close, ETH_MARKET, { price: moved });
        results.push((await s.token.balanceOf(alice)) - before);
      }
      expect(results[0]).to.equal(results[1]);
      expect(results[0]).to.be.lessThan(0n);
    }
  });
});
