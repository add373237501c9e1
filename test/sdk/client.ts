// End-to-end through the SDK only, on Hardhat's in-process network: a front-end's flow (quote,
// approve, open, top up, reduce, close), a failed open's readable error, a keeper's flow (scan,
// preview, liquidate), LP deposits, events and reads, each checked against the contracts' views.
import { expect } from "chai";
import { network } from "hardhat";
import {
  BorrowLib,
  BulkheadClient,
  BulkheadLogic,
  CollateralTooLowError,
  InsufficientAllowanceError,
  InsufficientBalanceError,
  InsufficientMarginError,
  PoolLimitExceededError,
  PoolMath,
  PositionNotLiquidatableError,
  ReadOnlyClientError,
  SlippageExceededError,
  StalePriceError,
  UnknownChainError,
  computeVaultAddress,
  formatAmount,
  getDeployment,
  parseDeployment,
  registerDeployment,
  InvalidDeploymentError,
  type PositionEvent,
  type PositionView,
} from "../../sdk/src/index.js";
import { ETH_MARKET, ETH_PRICE, HEARTBEAT, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { countingProvider, deployForSdk } from "./helpers/system.js";

const ETH = Number(ETH_MARKET); // the SDK takes market ids as numbers
const connection = await network.connect();
const { ethers, networkHelpers } = connection;

type Sys = Awaited<ReturnType<typeof deployForSdk>>;

/** The lens' own health for an id, as plain bigints (the reference the SDK must equal). */
async function lensHealth(sys: Sys, id: bigint) {
  const h = await sys.lens.health(id);
  return {
    price: h.price, notional: h.notional, pnl: h.pnl, borrowFee: h.borrowFee, equity: h.equity,
    maintenance: h.maintenance, liquidationFee: h.liquidationFee, liquidationPrice: h.liquidationPrice,
    liquidatable: h.liquidatable,
  };
}

function contractHealthOf(v: PositionView) {
  const h = v.health!;
  return {
    price: h.price, notional: h.notional, pnl: h.pnl, borrowFee: h.borrowFee, equity: h.equity,
    maintenance: h.maintenance, liquidationFee: h.liquidationFee, liquidationPrice: h.liquidationPrice,
    liquidatable: h.liquidatable,
  };
}

describe("sdk client (in-process network)", function () {
  this.timeout(120_000);
  let sys: Sys;
  let trader: Awaited<ReturnType<typeof ethers.getSigners>>[number];
  let client: BulkheadClient;

  beforeEach(async () => {
    sys = await deployForSdk(ethers);
    // A fresh trader with tokens and no allowance: the SDK must handle the approval.
    trader = (await ethers.getSigners())[8]!;
    await (await sys.token.faucet(trader.address, 100_000n * USDC)).wait();
    client = await BulkheadClient.connect(trader, { addresses: sys.addresses, pollingInterval: 20 });
  });

  it("test_connect_readsTokenAndComputesVaultsOffChain", async () => {
    expect(client.token).to.deep.equal({ address: sys.addresses.token, symbol: "USDC", decimals: 6 });
    expect(client.unit).to.equal(10n ** 30n);
    expect(client.readOnly).to.equal(false);
    for (const id of [0n, 1n, 2n, 77n, 2n ** 64n, 2n ** 256n - 1n]) {
      expect(client.vaultOf(id)).to.equal(await sys.engine.vaultOf(id));
    }
    const { id, vault } = await client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    expect(vault).to.equal(await sys.engine.vaultOf(id));
    expect(await ethers.provider.getCode(vault)).to.not.equal("0x"); // the clone is really there
    expect(computeVaultAddress(sys.addresses.engine, await sys.engine.vaultImplementation(), id)).to.equal(vault);
  });

  it("test_markets_matchEngineViews", async () => {
    const markets = await client.getMarkets();
    expect(markets.map((m) => m.symbol)).to.deep.equal(["ETH/USD", "BTC/USD"]);
    const m = markets[0]!;
    expect(m.price).to.equal(await sys.engine.price(0));
    expect(m.params.maxLeverage).to.equal(50n * WAD);
    expect(m.risk.mmr).to.equal(WAD / 200n);
    expect(m.currentIndex).to.equal(await sys.engine.currentBorrowIndex(0));
    const l = await client.getLedger();
    expect(await client.getBorrowRate(0)).to.equal(await sys.engine.borrowRate(0));
    expect(await client.getBorrowRate(0)).to.equal(BorrowLib.rateAt(m, l.lpAssets, l.reserved));
  });

  it("test_frontEndFlow_quoteApproveOpenTopUpReduceClose", async () => {
    const px = wadFromFeed(ETH_PRICE);
    const quote = await client.quoteOpen({ market: ETH, side: "long", collateral: 300n * USDC, leverage: 10n * WAD, slippageBps: 30 });
    expect(quote.ok).to.equal(true);
    expect(quote.size).to.equal(WAD); // 3,000 USDC notional at 3,000
    expect(quote.notional).to.equal(3_000n * USDC);
    expect(quote.openFee).to.equal(3n * USDC); // 0.1 %
    expect(quote.acceptablePrice).to.equal((px * 10_030n + 9_999n) / 10_000n);
    expect(quote.requiredAllowance).to.equal(300n * USDC + (3_000n * USDC * 10_030n + 9_999_999n) / 10_000n / 1_000n + 0n);
    expect(quote.needsApproval).to.equal(true);

    const opened = await client.open({ market: ETH, side: "long", collateral: 300n * USDC, leverage: 10n * WAD, slippageBps: 30 });
    expect(opened.approvals).to.have.length(1); // exact approval, sent once
    const allowanceLeft = await sys.token.allowance(trader.address, sys.addresses.engine);
    expect(allowanceLeft).to.equal(quote.requiredAllowance - 303n * USDC); // never unlimited
    expect(opened.event).to.include({ owner: trader.address, marketId: 0, isLong: true, size: WAD, price: px, collateral: 300n * USDC, openFee: 3n * USDC });
    const id = opened.id;

    // Health computed locally equals the lens exactly, also after time passes and the price moves.
    let view = (await client.getPosition(id))!;
    expect(contractHealthOf(view)).to.deep.equal(await lensHealth(sys, id));
    expect(view.health!.liquidationPrice).to.equal(opened.quote.liquidationPrice);
    await networkHelpers.time.increase(30 * 24 * 3600);
    await (await sys.ethFeed.updateAnswer(2_900n * 10n ** 8n)).wait();
    view = (await client.getPosition(id))!;
    expect(view.health!.borrowFee).to.be.greaterThan(0n);
    expect(contractHealthOf(view)).to.deep.equal(await lensHealth(sys, id));
    expect(view.health!.pnl).to.equal(-100n * USDC);
    expect(view.health!.distanceToLiquidation).to.be.greaterThan(0n);
    const at = client.healthAt(view, 2_800n * WAD);
    const ref = await sys.lens.healthAt(id, 2_800n * WAD);
    expect([at.equity, at.maintenance, at.liquidationPrice, at.liquidatable]).to.deep.equal([ref.equity, ref.maintenance, ref.liquidationPrice, ref.liquidatable]);

    // Top up: the mirror of `increase` at the execution timestamp equals the event exactly.
    const inc = await client.quoteIncrease({ id, sizeDelta: WAD / 2n, collateralDelta: 100n * USDC });
    expect(inc.ok).to.equal(true);
    const t = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 10n;
    const ledger = await client.getLedger();
    const [market, pool] = [await client.getMarket(0), await client.getUtilisationState()];
    await networkHelpers.time.setNextBlockTimestamp(t);
    const increased = await client.increase({ id, sizeDelta: WAD / 2n, collateralDelta: 100n * USDC });
    const execBlock = (await ethers.provider.getBlock(increased.receipt.blockNumber))!;
    const execIndex = BorrowLib.currentIndex(market, pool, BigInt(execBlock.timestamp));
    const expected = BulkheadLogic.previewIncrease(
      { market, risk: view.risk, protocolPaused: false, unit: client.unit, price: 2_900n * WAD, index: execIndex, ledger, protocolFeeShare: 0n },
      view.position,
      100n * USDC,
      WAD / 2n,
    );
    expect(expected.realisedPnl).to.equal(-100n * USDC);
    expect(increased.event).to.include({
      realisedPnl: expected.realisedPnl,
      borrowFee: expected.borrowFee,
      openFee: expected.openFee,
      newSize: expected.newSize,
      newEntryPrice: expected.newEntryPrice,
      newCollateral: expected.newCollateral,
      borrowIndex: execIndex,
      riskVersion: expected.riskVersion,
      maxProfitFactorBps: expected.maxProfitFactorBps,
    });
    const stored = (await client.getPosition(id))!.position;
    expect([stored.entryPrice, stored.collateral, stored.riskVersion, stored.maxProfitFactorBps]).to.deep.equal([
      expected.newEntryPrice, expected.newCollateral, expected.riskVersion, expected.maxProfitFactorBps,
    ]);
    expect(await client.getLedger()).to.deep.equal(expected.ledgerAfter);
    expect(await client.getBorrowRate(0)).to.equal(expected.borrowRateAfter);

    // Reduce by half: payout, fees and PnL equal the mirror of `_decrease` exactly.
    view = (await client.getPosition(id))!;
    await (await sys.ethFeed.updateAnswer(3_100n * 10n ** 8n)).wait();
    const ledger2 = await client.getLedger();
    const [market2, pool2] = [await client.getMarket(0), await client.getUtilisationState()];
    const dq = await client.quoteDecrease({ id, sizeDelta: WAD / 2n });
    expect(dq.ok).to.equal(true);
    const before = await sys.token.balanceOf(trader.address);
    const decreased = await client.decrease({ id, sizeDelta: WAD / 2n });
    const execTs = BigInt((await ethers.provider.getBlock(decreased.receipt.blockNumber))!.timestamp);
    const d = BulkheadLogic.previewDecrease(
      { market: market2, risk: view.risk, protocolFeeShare: 0n, vaultBalance: view.vaultBalance, id, unit: client.unit, price: 3_100n * WAD, index: BorrowLib.currentIndex(market2, pool2, execTs), ledger: ledger2 },
      view.position,
      WAD / 2n,
    );
    expect(decreased.event).to.include({ pnl: d.pnl, borrowFee: d.borrowFee, closeFee: d.closeFee, payout: d.payout, newSize: d.newSize, newCollateral: d.newCollateral });
    expect((await sys.token.balanceOf(trader.address)) - before).to.equal(d.payout);
    expect(await client.getLedger()).to.deep.equal(d.ledgerAfter);
    expect(await client.getBorrowRate(0)).to.equal(d.borrowRateAfter);

    // Close: the rest, token burned, position gone.
    const closeQuote = await client.quoteClose({ id });
    const closed = await client.close({ id });
    expect(closed.event.newSize).to.equal(0n);
    expect(closed.event.payout).to.be.closeTo(closeQuote.payout, 1_000n); // one second of borrow fee apart at most
    expect(await client.getPosition(id)).to.equal(null);
    expect(await client.getPositionsOf(trader.address)).to.deep.equal([]);

    // The log reader rebuilds the life of the position, whatever the page size.
    const events = await client.getPositionEvents({ ids: [id] });
    expect(events.map((e) => e.type)).to.deep.equal(["PositionOpened", "PositionIncreased", "PositionDecreased", "PositionDecreased"]);
    expect(await client.getPositionEvents({ ids: [id], chunkSize: 1 })).to.deep.equal(events);
  });

  it("test_open_tooLittleCollateral_throwsReadableErrorBeforeAnyApproval", async () => {
    const nonce = await ethers.provider.getTransactionCount(trader.address);
    let error: unknown;
    try {
      // 100 USDC at 60x on a 50x market: margin needs 3,600 / 50 = 120 USDC.
      await client.open({ market: ETH, side: "long", collateral: 100n * USDC, size: 2n * WAD });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InsufficientMarginError);
    const e = error as InsufficientMarginError;
    expect(e.name).to.equal("InsufficientMarginError");
    expect(e.args).to.deep.equal({ equity: 100n * USDC, required: 120n * USDC });
    expect(e.shortfall).to.equal(20n * USDC);
    expect(e.message).to.equal("needs 20 USDC more collateral: equity 100, required 120");
    expect(e.data).to.match(/^0x[0-9a-f]{8}/);
    expect(await ethers.provider.getTransactionCount(trader.address)).to.equal(nonce); // nothing was sent

    // The quote shows the same typed issue up front.
    const q = await client.quoteOpen({ market: ETH, side: "long", collateral: 100n * USDC, size: 2n * WAD });
    expect(q.ok).to.equal(false);
    expect(q.issues[0]).to.be.instanceOf(InsufficientMarginError);
    expect(q.issues[0]!.message).to.equal(e.message);
  });

  it("test_errors_slippageCollateralOracleReadOnly", async () => {
    const { id } = await client.open({ market: ETH, side: "short", collateral: 200n * USDC, leverage: 5n * WAD });
    // The price moved past the acceptable price between the quote and the transaction.
    await expect(client.increase({ id, sizeDelta: WAD / 10n, acceptablePrice: 3_100n * WAD })).to.be.rejectedWith(SlippageExceededError, /oracle price 3000.00, acceptable 3100.00/);
    await expect(client.removeCollateral({ id, amount: 201n * USDC })).to.be.rejectedWith(CollateralTooLowError, "cannot remove 201 USDC: the position holds 200 USDC");
    const rq = await client.quoteRemoveCollateral({ id, amount: 1n * USDC });
    expect(rq.ok).to.equal(true);
    await expect(client.removeCollateral({ id, amount: rq.maxRemovable + 1n * USDC })).to.be.rejectedWith(InsufficientMarginError, /more collateral/);
    const removed = await client.removeCollateral({ id, amount: rq.maxRemovable });
    expect(removed.event.newCollateral).to.equal(200n * USDC - rq.maxRemovable);

    await networkHelpers.time.increase(Number(HEARTBEAT) + 1);
    await expect(client.getPrice(ETH)).to.be.rejectedWith(StalePriceError, /is stale/);
    const markets = await client.getMarkets();
    expect(markets[0]!.price).to.equal(null);
    expect(markets[0]!.priceError).to.be.instanceOf(StalePriceError);
    const view = (await client.getPosition(id))!;
    expect(view.price).to.equal(null);
    expect(view.health).to.equal(null);
    // A top-up reads no oracle: it works on a stale feed.
    await client.addCollateral({ id, amount: 5n * USDC });

    const readOnly = await BulkheadClient.connect(ethers.provider, { addresses: sys.addresses });
    expect(readOnly.readOnly).to.equal(true);
    await expect(readOnly.close({ id })).to.be.rejectedWith(ReadOnlyClientError);
  });

  it("test_keeperFlow_scanPreviewLiquidate", async () => {
    const { alice, bob, carol, keeper } = sys.signers;
    const a = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    const b = await BulkheadClient.connect(bob, { addresses: sys.addresses });
    const c = await BulkheadClient.connect(carol, { addresses: sys.addresses });
    await a.open({ market: 0, side: "long", collateral: 300n * USDC, leverage: 10n * WAD });
    await b.open({ market: 0, side: "long", collateral: 75n * USDC, leverage: 40n * WAD });
    await c.open({ market: 0, side: "short", collateral: 100n * USDC, leverage: 45n * WAD });
    await c.open({ market: 1, side: "long", collateral: 500n * USDC, leverage: 20n * WAD });
    await (await sys.ethFeed.updateAnswer(2_940n * 10n ** 8n)).wait(); // bob under water, carol's short fine

    const bot = await BulkheadClient.connect(keeper, { addresses: sys.addresses });
    const ids = await bot.getOpenPositionIds();
    expect(ids).to.deep.equal([1n, 2n, 3n, 4n]);
    const views = (await bot.getPositions(ids)) as PositionView[];
    const ledger = await bot.getLedger();
    const onchain = await bot.previewLiquidations(ids);
    for (const [i, v] of views.entries()) {
      expect(v.health!.liquidatable).to.equal(await sys.engine.isLiquidatable(v.id));
      expect(contractHealthOf(v)).to.deep.equal(await lensHealth(sys, v.id));
      // The local mirror of _previewLiquidation equals the contract's preview, field for field.
      expect(bot.previewLiquidationLocal(v, ledger)).to.deep.equal(onchain[i]);
    }
    const liquidatable = views.filter((v) => v.health!.liquidatable).map((v) => v.id);
    expect(liquidatable).to.deep.equal([2n]);

    await expect(bot.liquidate({ id: 1n })).to.be.rejectedWith(PositionNotLiquidatableError, /position 1 is not liquidatable: equity .* USDC is not below maintenance/);
    const before = await sys.token.balanceOf(keeper.address);
    const [market, pool] = [await bot.getMarket(0), await bot.getUtilisationState()];
    const result = await bot.liquidateMany({ ids });
    expect(result.liquidated).to.equal(1);
    expect(result.reward).to.equal(onchain[1]!.keeperReward);
    expect((await sys.token.balanceOf(keeper.address)) - before).to.equal(result.reward);
    // The liquidation executed one block later: it equals the local preview at that block's index.
    const execTs = BigInt((await ethers.provider.getBlock(result.receipt.blockNumber))!.timestamp);
    const v2 = views[1]!;
    const atExec = BulkheadLogic.previewLiquidation(v2.position, v2.risk, v2.price!, BorrowLib.currentIndex(market, pool, execTs), bot.unit, v2.vaultBalance, ledger);
    const { type: _t, blockNumber: _b, transactionHash: _h, logIndex: _l, id: _i, keeper: _k, owner: _o, ...amounts } = result.events[0]!;
    const { liquidatable: _x, ...expected } = atExec;
    expect(amounts).to.deep.equal(expected);
    expect(result.events[0]).to.include({ id: 2n, keeper: keeper.address, owner: bob.address });
    expect(await bot.getOpenPositionIds()).to.deep.equal([1n, 3n, 4n]);
    expect((await bot.getPositionsOf(carol.address)).map((v) => v.id)).to.deep.equal([3n, 4n]);

    // A position token moved to another wallet moves with it in getPositionsOf.
    await (await sys.engine.connect(carol).transferFrom(carol.address, alice.address, 4n)).wait();
    expect((await bot.getPositionsOf(carol.address)).map((v) => v.id)).to.deep.equal([3n]);
    expect((await bot.getPositionsOf(alice.address)).map((v) => v.id)).to.deep.equal([1n, 4n]);
  });

  it("test_events_typedSubscriptionsAndWatchers", async () => {
    const seen: PositionEvent[] = [];
    const opened: bigint[] = [];
    const stopAll = client.watchPositionEvents((e) => seen.push(e));
    const stopOpened = client.on("PositionOpened", (e) => opened.push(e.id));
    const healths: (bigint | null)[] = [];
    await new Promise((r) => setTimeout(r, 60)); // the watchers have taken their starting block
    const { id } = await client.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 3n * WAD });
    const stopHealth = client.watchHealth(id, (v) => healths.push(v?.health?.equity ?? null), { pollingInterval: 20 });
    await new Promise((r) => setTimeout(r, 60));
    await client.addCollateral({ id, amount: 1n * USDC });
    // Let the health watcher report the open position before the close (one poll may span both blocks).
    const seenOpen = Date.now() + 5_000;
    while (!healths.some((h) => h !== null) && Date.now() < seenOpen) await new Promise((r) => setTimeout(r, 20));
    await client.close({ id });
    const deadline = Date.now() + 5_000;
    while ((seen.length < 3 || healths.at(-1) !== null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stopAll();
    stopOpened();
    stopHealth();
    expect(seen.map((e) => e.type)).to.deep.equal(["PositionOpened", "CollateralAdded", "PositionDecreased"]);
    expect(opened).to.deep.equal([id]);
    expect(healths.at(-1)).to.equal(null); // the watcher reported the close, then stopped
    expect(healths.filter((h) => h !== null).length).to.be.greaterThan(0);
  });

  it("test_pool_stateDepositWithdraw", async () => {
    const { alice } = sys.signers;
    await BulkheadClient.connect(alice, { addresses: sys.addresses }).then((a) => a.open({ market: 0, side: "long", collateral: 1_000n * USDC, leverage: 10n * WAD }));
    await (await sys.ethFeed.updateAnswer(3_050n * 10n ** 8n)).wait();
    await networkHelpers.time.increase(600);
    await (await sys.ethFeed.updateAnswer(3_050n * 10n ** 8n)).wait();

    const pool = await client.getPool();
    expect(pool.totalAssets).to.equal(await sys.pool.totalAssets());
    expect(pool.sharePrice).to.equal(await sys.pool.convertToAssets(10n ** 12n));
    expect(pool.freeLiquidity).to.equal(pool.lpAssets - pool.reserved);
    // The pool's totalAssets mirrored locally from engine state.
    const markets = await client.getMarkets();
    const ledger = await client.getLedger();
    const local = PoolMath.totalAssets(ledger, markets.map((m) => ({ market: m, price: m.price!, currentIndex: m.currentIndex })), client.unit);
    expect(local).to.equal(pool.totalAssets);

    const dep = await client.deposit({ assets: 1_000n * USDC });
    expect(dep.approvals).to.have.length(1);
    expect(dep.shares).to.equal(await sys.pool.balanceOf(trader.address));
    const lp = await client.getLpPosition(trader.address);
    expect(lp.shares).to.equal(dep.shares);
    expect(lp.assets).to.be.closeTo(1_000n * USDC, 2n);
    await expect(client.withdraw({ assets: lp.maxWithdraw + 1n })).to.be.rejectedWith(PoolLimitExceededError, /cannot withdraw/);
    const w = await client.withdraw({ assets: lp.maxWithdraw });
    expect(w.shares).to.be.greaterThan(0n);
    expect(formatAmount(lp.maxWithdraw, client.token)).to.match(/^99\d\.\d+ USDC$|^1000 USDC$/);
  });


  it("test_poolMath_valuationMirrorsThePoolPastTheCapWithBadDebtAndIdleMarkets", async () => {
    const { alice, bob } = sys.signers;
    const a = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    await a.open({ market: ETH, side: "long", collateral: 10_000n * USDC, leverage: 50n * WAD }); // cap 250k
    const b = await BulkheadClient.connect(bob, { addresses: sys.addresses });
    await b.open({ market: ETH, side: "short", collateral: 1_000n * USDC, leverage: 10n * WAD });
    await networkHelpers.time.increase(3_600);
    await (await sys.ethFeed.updateAnswer(4_800n * 10n ** 8n)).wait(); // long past its cap, short in bad debt

    const markets = await client.getMarkets();
    const inputs = markets.map((m) => {
      const idle = m.longSize === 0n && m.shortSize === 0n;
      return { market: m, price: idle ? null : m.price, currentIndex: idle ? null : m.currentIndex };
    });
    const ledger = await client.getLedger();
    const value = PoolMath.valuation(ledger, inputs, client.unit);
    expect(value).to.equal(await sys.pool.valuation());
    expect(PoolMath.totalAssets(ledger, inputs, client.unit)).to.equal(await sys.pool.totalAssets());
    const eth = markets[Number(ETH)]!;
    expect(eth.longReserved + eth.shortReserved).to.equal(ledger.reserved);
    expect(PoolMath.sideClaimUp(eth.longSize * eth.price!, eth.longSizeEntry, eth.longReserved, client.unit)).to.equal(eth.longReserved);
    expect(PoolMath.degenerate(value, await sys.pool.totalSupply())).to.equal(false);
    expect(PoolMath.degenerate(0n, 1n)).to.equal(true);
    expect(PoolMath.degenerate(0n, 0n)).to.equal(false);
  });
  it("test_gasLimit_estimatePlusBuffer_orTheCallersOwn", async () => {
    // The block a transaction lands in is later than the one it was estimated on: the borrow
    // accrual that time triggers writes storage the estimate did not pay for (seen on anvil,
    // where a bare estimate ran out of gas). So the SDK sends the estimate plus 20% by default.
    const gasOf = async (hash: string) => {
      const [tx, receipt] = await Promise.all([ethers.provider.getTransaction(hash), ethers.provider.getTransactionReceipt(hash)]);
      return { limit: tx!.gasLimit, used: receipt!.gasUsed };
    };
    const opened = await client.open({ market: ETH, side: "long", collateral: 1_000n * USDC, leverage: 5n * WAD });
    const open = await gasOf(opened.hash);
    // An estimate is at least the gas used (more with nested calls' 63/64 reserve and refunds).
    expect(open.limit).to.be.greaterThanOrEqual((open.used * 12n) / 10n);
    expect(open.limit * 100n).to.be.lessThan(open.used * 145n);

    const own = await client.addCollateral({ id: opened.id, amount: 10n * USDC, gasLimit: 400_000n });
    expect((await gasOf(own.hash)).limit).to.equal(400_000n);

    const bare = await BulkheadClient.connect(trader, { addresses: sys.addresses, gasBufferBps: 0 });
    const topUp = await gasOf((await bare.addCollateral({ id: opened.id, amount: 10n * USDC })).hash);
    expect(topUp.limit).to.be.greaterThanOrEqual(topUp.used);
    expect(topUp.limit * 100n).to.be.lessThan(topUp.used * 115n);
  });

  it("test_borrowIndexMirror_equalsEngineAfterTime", async () => {
    await client.open({ market: 0, side: "long", collateral: 5_000n * USDC, leverage: 20n * WAD });
    const ledger = await client.getLedger();
    for (const dt of [1, 3_600, 86_400 * 30]) {
      await networkHelpers.time.increase(dt);
      const block = (await ethers.provider.getBlock("latest"))!;
      const [m0, m1] = await client.getMarkets();
      // Both markets accrue at the rate of the ledger after the open, whichever acted last.
      const pool = await client.getUtilisationState();
      for (const id of [0, 1]) expect(await client.getBorrowRate(id)).to.equal(BorrowLib.rateAt(m0!, ledger.lpAssets, ledger.reserved));
      for (const m of [m0!, m1!]) expect(BorrowLib.currentIndex(m, pool, BigInt(block.timestamp))).to.equal(m.currentIndex);
    }
  });

  it("test_transferFromFailed_diagnosedAsAllowanceOrBalance", async () => {
    // The engine's Solady transfers revert with a bare TransferFromFailed(): the SDK reads the
    // allowance and the balance to say which one is short.
    await expect(client.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 2n * WAD, approval: "none" })).to.be.rejectedWith(
      InsufficientAllowanceError,
      /token allowance for .* is 0 USDC, needs 100\.2/,
    );
    const poor = (await ethers.getSigners())[9]!;
    await (await sys.token.faucet(poor.address, 50n * USDC)).wait();
    await (await sys.token.connect(poor).approve(sys.addresses.engine, 10n ** 12n)).wait();
    const p = await BulkheadClient.connect(poor, { addresses: sys.addresses });
    const nonce = await ethers.provider.getTransactionCount(poor.address);
    await expect(p.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 2n * WAD })).to.be.rejectedWith(
      InsufficientBalanceError,
      /needs 50\.2\d* USDC more in the wallet: balance 50, needed 100\.2/,
    );
    expect(await ethers.provider.getTransactionCount(poor.address)).to.equal(nonce);
  });

  it("test_pool_invalidFeed_maxViewsZeroAndTypedOracleError", async () => {
    // The stale market has open interest: the pool skips the feeds of markets without any.
    await client.open({ market: ETH, side: "long", collateral: 100n * USDC, leverage: 5n * WAD });
    await (await sys.token.connect(trader).approve(sys.pool, 1_000n * USDC)).wait();
    await client.deposit({ assets: 1_000n * USDC });
    await networkHelpers.time.increase(Number(HEARTBEAT) + 1);
    const lp = await client.getLpPosition(trader.address);
    expect(lp.assets).to.equal(null); // shares cannot be priced while a feed is stale
    expect(lp.maxWithdraw).to.equal(0n);
    expect((await client.getPool()).totalAssets).to.equal(null);
    const nonce = await ethers.provider.getTransactionCount(trader.address);
    await expect(client.deposit({ assets: 1n * USDC })).to.be.rejectedWith(StalePriceError, /is stale/);
    await expect(client.withdraw({ assets: 1n * USDC })).to.be.rejectedWith(StalePriceError);
    expect(await ethers.provider.getTransactionCount(trader.address)).to.equal(nonce);
  });

  it("test_batchedReads_fewRpcCalls", async () => {
    const { alice } = sys.signers;
    const a = await BulkheadClient.connect(alice, { addresses: sys.addresses });
    for (let i = 0; i < 12; i++) await a.open({ market: i % 2, side: i % 3 ? "long" : "short", collateral: 100n * USDC, leverage: 2n * WAD });
    const { counter, provider } = countingProvider(connection.provider);
    const reader = await BulkheadClient.connect(provider, { addresses: sys.addresses, lensBatchSize: 5 });
    const ids = Array.from({ length: 12 }, (_, i) => BigInt(i + 1));
    await reader.getPositions(ids); // warms the risk-parameter cache (2 markets)
    counter.reset();
    const views = await reader.getPositions(ids);
    // ceil(12 / 5) lens calls: each returns its block, risk parameters and borrow indexes.
    expect(counter.total).to.equal(3);
    expect(views.every((v) => v !== null && v.health !== null)).to.equal(true);
  });

  it("test_addresses_registryAndValidation", async () => {
    expect(() => getDeployment(999_999)).to.throw(UnknownChainError, /no Bulkhead deployment is known for chain id 999999; known chain ids: /);
    expect(() => parseDeployment({ chainId: 1, network: "x", engine: "0x12" })).to.throw(InvalidDeploymentError, /engine must be an address/);
    const d = registerDeployment({ chainId: 31337, network: "hardhat", ...sys.addresses, markets: sys.addresses.markets, startBlock: 0 });
    expect(getDeployment(31337n)).to.deep.equal(d);
    const viaRegistry = await BulkheadClient.connect(ethers.provider);
    expect(viaRegistry.engineAddress).to.equal(sys.addresses.engine);
    await expect(BulkheadClient.connect(ethers.provider, { addresses: { ...d, chainId: 1 } })).to.be.rejectedWith(/deployment is for chain 1/);
  });
});
