// What a front-end page reads, through an EIP-1193 provider as a wallet gives it: the page load's
// request count, the trade history (entries, amounts, paging, owners apart) and the position
// watch (at once, on change, errors with backoff, abort).
import { expect } from "chai";
import { network } from "hardhat";
import { BrowserProvider } from "ethers";
import {
  BulkheadClient,
  InvalidRequestError,
  PositionMath,
  type PositionsUpdate,
  type TradeHistoryEntry,
} from "../../sdk/src/index.js";
import { USDC, WAD } from "../helpers/fixture.js";
import { CountingEip1193, countingProvider, deployForSdk, expectRejection } from "./helpers/system.js";

const connection = await network.connect();
const { ethers } = connection;
type Sys = Awaited<ReturnType<typeof deployForSdk>>;

/** Forwards to the in-process node, failing every request while `failing` is set. */
class FlakyEip1193 extends CountingEip1193 {
  failing = false;
  override request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    if (this.failing) {
      this.byMethod.set(args.method, (this.byMethod.get(args.method) ?? 0) + 1);
      return Promise.reject(Object.assign(new Error("node unavailable"), { code: -32603 }));
    }
    return super.request(args);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("sdk front-end reads (batched reads, trade history, position watch)", function () {
  this.timeout(180_000);
  let sys: Sys;

  before(async () => {
    sys = await deployForSdk(ethers);
  });

  it("test_pageLoad_atMostSixRequests", async () => {
    const { alice } = sys.signers;
    const opener = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    const ids: bigint[] = [];
    for (let i = 0; i < 10; i++) ids.push((await opener.open({ market: i % 2, side: i % 3 ? "long" : "short", collateral: 100n * USDC, leverage: 2n * WAD })).id);
    const { counter, provider } = countingProvider(connection.provider);
    const client = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    const [markets, positions, pool, lp] = await Promise.all([client.getMarkets(), client.getPositions(ids), client.getPool(), client.getLpPosition(alice.address)]);
    // connect (one lens call) + markets + positions + pool + LP position, one eth_call each.
    expect(counter.total).to.be.at.most(6);
    expect(counter.count("eth_call")).to.equal(counter.total);
    expect(markets.map((m) => m.price)).to.deep.equal([await sys.engine.price(0), await sys.engine.price(1)]);
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    for (const m of markets) {
      const [, , , updatedAt] = await (m.id === 0 ? sys.ethFeed : sys.btcFeed).latestRoundData();
      expect(m.feedUpdatedAt).to.equal(updatedAt);
      expect(m.blockTimestamp).to.equal(now);
      expect(m.borrowRate).to.equal(await sys.engine.borrowRate(m.id));
    }
    expect(positions.every((v) => v !== null && v.health !== null && v.owner === alice.address)).to.equal(true);
    expect(pool.totalSupply).to.equal(await sys.pool.totalSupply());
    expect(lp.shares).to.equal(await sys.pool.balanceOf(alice.address));
    for (const id of ids) await opener.close({ id });
  });

  it("test_poolWithLp_oneReadEqualsTheContracts_instantDeploymentHasNoRouter", async () => {
    const { alice } = sys.signers;
    await sys.fund(alice.address, 1_234n * USDC);
    const { counter, provider } = countingProvider(connection.provider);
    const client = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    counter.reset();
    const { pool, lp } = await client.getPoolWithLp(alice.address);
    // The account panel (pool, LP position, wallet balance, router, next vault) is one eth_call.
    expect(counter.total).to.equal(1);
    expect(counter.count("eth_call")).to.equal(1);
    expect(lp.assetBalance).to.equal(await sys.token.balanceOf(alice.address));
    expect(lp.shares).to.equal(await sys.pool.balanceOf(alice.address));
    expect(pool.nextPositionId).to.equal(await sys.engine.nextPositionId());
    expect(pool.router).to.equal(null);
    expect(pool.totalSupply).to.equal(await sys.pool.totalSupply());
    const { blockNumber: _a, ...alone } = await client.getPool();
    const { blockNumber: _b, ...together } = pool;
    expect(together).to.deep.equal(alone);
    expect(await client.getLpPosition(alice.address)).to.deep.equal(lp);
    // Without a settler the router is read each time (it may be set later), the pool is synchronous.
    counter.reset();
    expect(await client.getRequestRouter()).to.equal(null);
    expect(await client.isPoolAsync()).to.equal(false);
    expect(counter.total).to.equal(2);
    const zero = await client.getPoolWithLp("0x000000000000000000000000000000000000dEaD");
    expect(zero.lp).to.deep.equal({ shares: 0n, assets: 0n, maxWithdraw: 0n, assetBalance: await sys.token.balanceOf("0x000000000000000000000000000000000000dEaD") });
  });

  it("test_overview_marketsPoolAndLpInOneReadAtOneBlock_equalToTheirOwnReads", async () => {
    const { alice } = sys.signers;
    const opener = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    const { id } = await opener.open({ market: 1, side: "long", collateral: 100n * USDC, leverage: 3n * WAD });
    const { counter, provider } = countingProvider(connection.provider);
    const client = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    counter.reset();
    const overview = await client.getOverview(alice.address);
    expect(counter.total).to.equal(1);
    expect(counter.count("eth_call")).to.equal(1);
    const [markets, { pool, lp }] = await Promise.all([client.getMarkets(), client.getPoolWithLp(alice.address)]);
    // Nothing moved in between: the same block, the same values.
    expect(overview.pool.blockNumber).to.equal(pool.blockNumber);
    expect(overview.markets.every((m) => m.blockNumber === pool.blockNumber)).to.equal(true);
    expect(overview.markets).to.deep.equal(markets);
    expect(overview.pool).to.deep.equal(pool);
    expect(overview.lp).to.deep.equal(lp);
    expect(overview.markets.map((m) => m.id)).to.deep.equal([0, 1]);
    expect(overview.markets[1]!.longSize).to.equal((await sys.engine.market(1)).longSize);
    await opener.close({ id });
  });

  it("test_tradeHistory_lifecycleEntriesExactAmountsPagedOwnersApart", async () => {
    const { alice, bob, keeper } = sys.signers;
    const a = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    const b = await BulkheadClient.connect(bob, { addresses: sys.addresses });
    const k = await BulkheadClient.connect(keeper, { addresses: sys.addresses });
    const from = (await ethers.provider.getBlockNumber()) + 1;
    const opened = await a.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    const id = opened.id;
    const bobs = await b.open({ market: 0, side: "short", collateral: 50n * USDC, leverage: 2n * WAD });
    const topUp = await a.addCollateral({ id, amount: 20n * USDC });
    await b.addCollateral({ id: bobs.id, amount: 5n * USDC });
    const increased = await a.increase({ id, sizeDelta: WAD / 10n, collateralDelta: 10n * USDC });
    await (await sys.ethFeed.updateAnswer(3_030n * 10n ** 8n)).wait();
    const entry = (await a.getPosition(id))!.position.entryPrice;
    const decreased = await a.decrease({ id, sizeDelta: WAD / 20n });
    const closed = await a.close({ id });
    const risky = await a.open({ market: 0, side: "long", collateral: 20n * USDC, leverage: 20n * WAD });
    await (await sys.ethFeed.updateAnswer(2_880n * 10n ** 8n)).wait();
    const liquidated = await k.liquidate({ id: risky.id });
    await (await sys.ethFeed.updateAnswer(3_000n * 10n ** 8n)).wait();

    const { counter, provider } = countingProvider(connection.provider);
    const reader = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    counter.reset();
    const page = await reader.getTradeHistory(alice.address, { fromBlock: from, limit: 100 });
    // Transfers to and from the owner, then the events of its ids: three eth_getLogs for the whole range.
    expect(counter.count("eth_getLogs")).to.equal(3);
    expect(page.cursor).to.equal(undefined);
    const all = page.entries;
    expect(all.map((e) => [e.action, e.id])).to.deep.equal([
      ["liquidated", risky.id], ["opened", risky.id], ["closed", id], ["decreased", id], ["increased", id], ["collateralAdded", id], ["opened", id],
    ]);
    const [liq, open2, close, dec, inc, add, open1] = all as [TradeHistoryEntry, ...TradeHistoryEntry[]];
    const unit = reader.unit;
    const oe = opened.event;
    expect(open1).to.include({ marketId: 0, isLong: true, price: oe.price, sizeDelta: oe.size, size: oe.size, collateralDelta: oe.collateral, collateral: oe.collateral, realisedPnl: 0n, payout: 0n, transactionHash: opened.hash });
    expect(open1!.fees).to.deep.equal({ open: oe.openFee, close: 0n, borrow: 0n, liquidation: 0n });
    expect(add).to.include({ collateralDelta: 20n * USDC, collateral: topUp.event.newCollateral, size: oe.size, price: null, transactionHash: topUp.hash });
    const ie = increased.event;
    expect(inc).to.include({ price: ie.price, sizeDelta: WAD / 10n, size: ie.newSize, collateral: ie.newCollateral, collateralDelta: ie.newCollateral - topUp.event.newCollateral, realisedPnl: ie.realisedPnl });
    expect(inc!.fees).to.deep.equal({ open: ie.openFee, close: 0n, borrow: ie.borrowFee, liquidation: 0n });
    const de = decreased.event;
    expect(dec).to.include({ action: "decreased", price: de.price, sizeDelta: WAD / 20n, size: de.newSize, collateral: de.newCollateral, realisedPnl: de.pnl, payout: de.payout });
    // The realised PnL is the SDK's PositionMath on the part taken off (below the profit cap here).
    expect(dec!.realisedPnl).to.equal(PositionMath.pnl(true, WAD / 20n, entry, de.price, unit));
    expect(dec!.realisedPnl > 0n).to.equal(true);
    expect(dec!.fees).to.deep.equal({ open: 0n, close: de.closeFee, borrow: de.borrowFee, liquidation: 0n });
    const ce = closed.event;
    expect(close).to.include({ action: "closed", size: 0n, sizeDelta: de.newSize, realisedPnl: ce.pnl, payout: ce.payout, collateral: ce.newCollateral, transactionHash: closed.hash });
    expect(close!.realisedPnl).to.equal(PositionMath.pnl(true, de.newSize, entry, ce.price, unit));
    expect(open2).to.include({ collateral: risky.event.collateral });
    const le = liquidated.event;
    expect(liq).to.include({ price: le.price, size: 0n, sizeDelta: risky.event.size, collateral: 0n, collateralDelta: -risky.event.collateral, realisedPnl: -risky.event.collateral, payout: 0n, transactionHash: liquidated.hash });
    expect(liq!.fees.liquidation).to.equal(le.keeperReward + le.toInsurance);
    for (const e of all) expect(e.timestamp).to.equal((await ethers.provider.getBlock(e.blockNumber))!.timestamp);

    // Paging: every entry once, in the same order.
    const paged: TradeHistoryEntry[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await reader.getTradeHistory(alice.address, { fromBlock: from, limit: 2, timestamps: false, ...(cursor ? { cursor } : {}) });
      expect(p.entries.length).to.be.at.most(2);
      paged.push(...p.entries);
      cursor = p.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).to.equal(4);
    expect(paged.map((e) => `${e.transactionHash}:${e.logIndex}`)).to.deep.equal(all.map((e) => `${e.transactionHash}:${e.logIndex}`));

    // Another owner's positions never appear, and theirs hold only their own.
    const ids = new Set(all.map((e) => e.id));
    expect(ids.has(bobs.id)).to.equal(false);
    const bobsHistory = (await reader.getTradeHistory(bob.address, { fromBlock: from })).entries;
    expect(bobsHistory.map((e) => [e.action, e.id])).to.deep.equal([["collateralAdded", bobs.id], ["opened", bobs.id]]);
    await expectRejection(reader.getTradeHistory(alice.address, { cursor: "latest" }), InvalidRequestError, 'cursor must be the cursor of a previous page ("block:logIndex"), got "latest"');
    await b.close({ id: bobs.id });
  });

  it("test_watchPositions_emitsAtOnceThenChangesAndRemovals", async () => {
    const { carol } = sys.signers;
    const c = await BulkheadClient.connect(carol, { addresses: sys.addresses });
    const first = await c.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 2n * WAD });
    const { provider } = countingProvider(connection.provider);
    const reader = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    const updates: PositionsUpdate[] = [];
    const errors: unknown[] = [];
    const controller = new AbortController();
    reader.watchPositions(carol.address, (u) => updates.push(u), { onError: (e) => errors.push(e), signal: controller.signal, pollingInterval: 20 });
    await until(() => updates.length === 1, "the first update");
    expect(updates[0]!.views.map((v) => v.id)).to.deep.equal([first.id]);
    expect(updates[0]!.changed.map((v) => v.id)).to.deep.equal([first.id]);

    const second = await c.open({ market: 1, side: "short", collateral: 60n * USDC, leverage: 2n * WAD });
    await until(() => updates.some((u) => u.changed.some((v) => v.id === second.id)), "the new position");
    await c.addCollateral({ id: first.id, amount: 7n * USDC });
    await until(() => updates.some((u) => u.changed.some((v) => v.id === first.id && v.position.collateral === first.event.collateral + 7n * USDC)), "the top-up");
    await c.close({ id: second.id });
    await until(() => updates.some((u) => u.removed.includes(second.id)), "the close");
    expect(updates.at(-1)!.views.map((v) => v.id)).to.deep.equal([first.id]);
    controller.abort();
    expect(errors).to.deep.equal([]);

    // A list of ids: the same views.
    const byIds: PositionsUpdate[] = [];
    const stop = reader.watchPositions([first.id, second.id], (u) => byIds.push(u), { onError: (e) => errors.push(e), pollingInterval: 20 });
    await until(() => byIds.length === 1, "the first update by ids");
    stop();
    expect(byIds[0]!.views.map((v) => v.id)).to.deep.equal([first.id]);
    expect(() => reader.watchPositions("alice", () => {}, { onError: () => {} })).to.throw(InvalidRequestError, 'watchPositions needs an owner address or a list of ids, got "alice"');
    expect(() => reader.watchPositions([first.id], () => {}, {} as never)).to.throw(InvalidRequestError, "watchPositions needs an onError callback: its errors are not swallowed");
    await c.close({ id: first.id });
  });

  it("test_watchPositions_errorsReachOnErrorWithBackoff_abortStopsRequests", async () => {
    const { carol } = sys.signers;
    const c = await BulkheadClient.connect(carol, { addresses: sys.addresses });
    const { id } = await c.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 2n * WAD });
    const flaky = new FlakyEip1193(connection.provider);
    const provider = new BrowserProvider(flaky, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const reader = await BulkheadClient.connect(provider, { addresses: sys.addresses });
    const updates: PositionsUpdate[] = [];
    const failedAt: number[] = [];
    const errors: unknown[] = [];
    const controller = new AbortController();
    const interval = 20;
    reader.watchPositions([id], (u) => updates.push(u), {
      onError: (e) => {
        errors.push(e);
        failedAt.push(performance.now());
      },
      signal: controller.signal,
      pollingInterval: interval,
      maxBackoff: 10_000,
    });
    await until(() => updates.length === 1, "the first update");
    flaky.failing = true;
    await until(() => failedAt.length === 4, "four failed polls");
    // Each wait doubles: 2, 4, 8 intervals after the 1st, 2nd, 3rd failure in a row.
    for (let i = 1; i < 4; i++) expect(failedAt[i]! - failedAt[i - 1]!).to.be.at.least(interval * 2 ** i - 2);
    expect(errors.every((e) => e instanceof Error && /node unavailable/.test(String((e as Error).message)))).to.equal(true);
    // Recovered: the next change comes through.
    flaky.failing = false;
    await c.addCollateral({ id, amount: 3n * USDC });
    await until(() => updates.length === 2, "the update after recovery");
    expect(updates[1]!.changed.map((v) => v.position.collateral)).to.deep.equal([updates[0]!.views[0]!.position.collateral + 3n * USDC]);

    controller.abort();
    await sleep(interval * 3); // a poll in flight when it aborted may finish
    const after = flaky.total;
    await c.addCollateral({ id, amount: 1n * USDC });
    await sleep(interval * 10);
    expect(flaky.total).to.equal(after);
    expect(updates.length).to.equal(2);
    // A signal aborted before the watch starts sends nothing.
    const before = flaky.total;
    reader.watchPositions([id], () => {}, { onError: () => {}, signal: AbortSignal.abort(), pollingInterval: interval });
    await sleep(interval * 5);
    expect(flaky.total).to.equal(before);
    await c.close({ id });
  });
});
