// The SDK's asynchronous LP flow (client/lpRequests.ts) against the ERC-7540 pool: an LP requests
// a deposit, a third account executes it with the report of the one market holding open interest,
// the LP claims its shares; then the same for a redemption. Amounts equal the pool's own events.
import { expect } from "chai";
import { network } from "hardhat";
import { BulkheadClient } from "@bulkhead/sdk";
import { ETH_MARKET, USDC, WAD } from "../helpers/fixture.js";
import { Kind, created, deployRequestSystem, executeAt } from "../helpers/requests.js";
import { countingProvider } from "../sdk/helpers/system.js";

const { ethers, networkHelpers, provider: hardhatProvider } = await network.create();
const PX = 3_000n * WAD;

describe("SDK: asynchronous LP flows", () => {
  it("test_sdk_requestDepositExecuteClaim_thenRedeem_atThePinnedReports", async () => {
    const s = await deployRequestSystem(ethers);
    const { lp, keeper, alice } = s.signers;
    // Open interest on ETH only: an LP execution needs ETH's report, not BTC's.
    const open = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, true, 2_000n * USDC, 5n * WAD, 2n ** 96n - 1n, { value: await s.fee(Kind.Open) }));
    await executeAt(s, networkHelpers, open, ETH_MARKET, { price: PX });
    const addresses = { engine: await s.engine.getAddress(), lens: await s.lens.getAddress(), startBlock: 0 };
    const lpClient = await BulkheadClient.connect(lp, { addresses });
    const executor = await BulkheadClient.connect(keeper, { addresses });
    expect(await lpClient.isPoolAsync()).to.equal(true);
    // The pool read names the router (the engine's settler, set once): a client that has seen it
    // answers the router and the pool's mode without another request.
    const { counter, provider } = countingProvider(hardhatProvider);
    const reader = await BulkheadClient.connect(provider, { addresses });
    const { pool, lp: panel } = await reader.getPoolWithLp(lp.address);
    expect(pool.router).to.equal(await s.router.getAddress());
    expect(panel.assetBalance).to.equal(await s.token.balanceOf(lp.address));
    counter.reset();
    expect(await reader.getRequestRouter()).to.equal(await s.router.getAddress());
    expect(await reader.isPoolAsync()).to.equal(true);
    expect(counter.total).to.equal(0);
    expect(await lpClient.lpReportMarkets()).to.deep.equal([0]);
    await s.fund(lp.address, 10_000n * USDC);

    const quote = await lpClient.quoteLpRequest({ kind: "Deposit", amount: 10_000n * USDC });
    expect(quote.reportMarkets).to.deep.equal([0]);
    expect(quote.result.min).to.be.lessThan(quote.result.max);
    const dep = await lpClient.requestDeposit({ assets: 10_000n * USDC });
    expect((await lpClient.getLpRequest(dep.requestId))!.kind).to.equal("Deposit");
    await networkHelpers.time.increaseTo(dep.settlesAt);
    const done = await executor.executeLpRequest({ requestId: dep.requestId, reports: [s.signAt(ETH_MARKET, dep.settlesAt, { price: PX }), "0x"] });
    expect(done.filled).to.equal(true);
    const claimable = await lpClient.getLpClaimable(lp.address);
    expect(claimable.deposits.assets).to.equal(10_000n * USDC);
    const before = await s.pool.balanceOf(lp.address);
    // The fill lies in the quoted range (the report's benchmark is within the stream's bound).
    expect(claimable.deposits.shares >= quote.result.min && claimable.deposits.shares <= quote.result.max).to.equal(true);
    const claimed = await lpClient.claimDeposit();
    expect(claimed.shares).to.equal(claimable.deposits.shares);
    expect((await s.pool.balanceOf(lp.address)) - before).to.equal(claimed.shares);

    const redQuote = await lpClient.quoteLpRequest({ kind: "Redeem", amount: claimed.shares });
    const red = await lpClient.requestRedeem({ shares: claimed.shares });
    await networkHelpers.time.increaseTo(red.settlesAt);
    expect((await executor.executeLpRequest({ requestId: red.requestId, reports: [s.signAt(ETH_MARKET, red.settlesAt, { price: PX }), "0x"] })).filled).to.equal(true);
    const owed = (await lpClient.getLpClaimable(lp.address)).redemptions;
    expect(owed.assets >= redQuote.result.min && owed.assets <= redQuote.result.max).to.equal(true);
    const tokens = await s.token.balanceOf(lp.address);
    const out = await lpClient.claimRedeem();
    expect(out.assets).to.equal(owed.assets);
    expect((await s.token.balanceOf(lp.address)) - tokens).to.equal(owed.assets);
    // A round trip at one price never gains (the spread and rounding go to the LPs who stay).
    expect(out.assets).to.be.at.most(10_000n * USDC);
    const events = await lpClient.getLpRequestEvents();
    expect(events.map((e) => [e.type, e.requestId])).to.deep.equal([
      ["LpRequestCreated", dep.requestId],
      ["LpRequestExecuted", dep.requestId],
      ["LpRequestCreated", red.requestId],
      ["LpRequestExecuted", red.requestId],
    ]);
    expect(events[1]!.args.shares).to.equal(claimed.shares);
  });
});
