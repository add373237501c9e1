// ERC-7540 LP requests (issue 12): with a settler on the engine, LP deposits and redemptions are
// requests executed by anyone at the Data Streams reports their creation pins (real Chainlink
// Verifier, local oracle set), then claimed. Expected amounts are computed here from DESIGN.md's
// rules: each market side valued at the end of the spread that protects the LPs who stay.
import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ContractRevertError, PoolRequestMath, decodeRevert } from "@bulkhead/sdk";
import { BTC_MARKET, ETH_MARKET, FAR, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { ceilDiv, min } from "../helpers/reference.js";
import { deployUnitSystem, expectPoolConserved, nextBlockAt } from "../helpers/unit.js";
import { TIMING, deployStreams } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(3000n * 10n ** 8n);
const BTC_PX = wadFromFeed(60_000n * 10n ** 8n);
const OFFSET = 10n ** 6n; // the pool's virtual shares
const GAS_PRICE = 10n ** 10n; // 10 gwei, legacy: tx.gasprice is exactly this
const DEPOSIT = 1n;
const REDEEM = 2n;
const SCALE = 10n ** 30n; // size (WAD) x price (WAD) per token unit of a 6-decimal token
const HALF_SPREAD_BPS = 5n;
const bidOf = (p: bigint) => p - (p * HALF_SPREAD_BPS) / 10_000n;
const askOf = (p: bigint) => p + (p * HALF_SPREAD_BPS) / 10_000n;

/**
 * Instant-mode setup (no borrow rates, so values do not drift between blocks): Alice long 10 ETH,
 * and short 1 BTC unless `oneMarket`; then the engine gets its settler and the pool turns
 * asynchronous.
 */
async function build(oneMarket: boolean) {
  const s = await deployUnitSystem(ethers);
  const { alice, bob, carol } = s.signers;
  const noBorrow = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n };
  await (await s.engine.setMarketParams(ETH_MARKET, noBorrow)).wait();
  await (await s.engine.setMarketParams(BTC_MARKET, noBorrow)).wait();
  await (await s.engine.connect(alice).open(ETH_MARKET, true, 3_000n * USDC, 10n * WAD, PX, FAR)).wait();
  if (!oneMarket) await (await s.engine.connect(alice).open(BTC_MARKET, false, 3_000n * USDC, WAD, BTC_PX, FAR)).wait();
  const streams = await deployStreams(ethers, s.engine);
  const settler = await ethers.deployContract("BulkheadRouter", [s.engine, streams.oracle]);
  await (await s.engine.setSettler(settler)).wait();
  for (const who of [bob, carol]) await (await s.token.connect(who).approve(s.pool, ethers.MaxUint256)).wait();
  return { ...s, streams, settler };
}
const asyncPool = () => build(false);
const asyncPoolOneMarket = () => build(true);
type Sys = Awaited<ReturnType<typeof asyncPool>>;

/** One trader side's claim on the pool at price `px`: PnL rounded in the traders' favour, capped at its reserve. */
function sideClaim(gain: bigint, loss: bigint, reserved: bigint): bigint {
  if (gain < loss) return -((loss - gain) / SCALE);
  return min(ceilDiv(gain - loss, SCALE), reserved);
}

/** LP value with longs at `longPx[i]` and shorts at `shortPx[i]` (DESIGN "Solvency rules"). */
async function valueAt(s: Sys, longPx: bigint[], shortPx: bigint[]): Promise<bigint> {
  let value = (await s.engine.ledger()).lpAssets;
  for (const i of [0, 1]) {
    const m = await s.engine.market(i);
    value += m.accruedBorrowFees;
    value -= sideClaim(m.longSize * longPx[i]!, m.longSizeEntry, m.longReserved);
    value -= sideClaim(m.shortSizeEntry, m.shortSize * shortPx[i]!, m.shortReserved);
  }
  return value;
}

const fee = (s: Sys, kind: bigint) => s.pool.quoteExecutionFee(kind, GAS_PRICE);

async function requestDepositAt(s: Sys, who: HardhatEthersSigner, assets: bigint, dt = 10n) {
  const t = await nextBlockAt(networkHelpers, dt);
  const id = await s.pool.nextRequestId();
  await (await s.pool.connect(who).requestDeposit(assets, who, who, { value: await fee(s, DEPOSIT), gasPrice: GAS_PRICE })).wait();
  return { id, t };
}

async function requestRedeemAt(s: Sys, who: HardhatEthersSigner, shares: bigint, dt = 10n) {
  const t = await nextBlockAt(networkHelpers, dt);
  const id = await s.pool.nextRequestId();
  await (await s.pool.connect(who).requestRedeem(shares, who, who, { value: await fee(s, REDEEM), gasPrice: GAS_PRICE })).wait();
  return { id, t };
}

/** Both markets' reports observed at `t` (ETH at `eth`, BTC at `btc`). */
const reportsAt = (s: Sys, t: bigint, eth = PX, btc = BTC_PX) => [s.streams.signAt(0, t, { price: eth }), s.streams.signAt(1, t, { price: btc })];

/** Executes a deposit at its pinned reports and returns the shares it made claimable. */
async function depositFilled(s: Sys, who: HardhatEthersSigner, assets: bigint, eth = PX, btc = BTC_PX) {
  const { id, t } = await requestDepositAt(s, who, assets);
  await nextBlockAt(networkHelpers, 5n);
  await (await s.pool.connect(s.signers.keeper).executeDeposit(id, reportsAt(s, t + TIMING.settlementDelay, eth, btc), { gasPrice: GAS_PRICE })).wait();
  return (await s.pool.claimable(who))[0].shares;
}

describe("LP requests (ERC-7540)", () => {
  describe("deposit: request, execute, claim", () => {
    it("test_requestDeposit_executeDeposit_deposit_sharesAtTheReportValuationNoLowerThanFair", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { bob, carol, keeper } = s.signers;
      const assets = 250_000n * USDC + 123_457n;
      const depositFee = await fee(s, DEPOSIT);
      const t = await nextBlockAt(networkHelpers, 10n);
      const tx = s.pool.connect(bob).requestDeposit(assets, carol, bob, { value: depositFee, gasPrice: GAS_PRICE });
      await expect(tx).to.emit(s.pool, "DepositRequest").withArgs(carol.address, bob.address, 1n, bob.address, assets);
      await expect(tx)
        .to.emit(s.pool, "LpRequestCreated")
        .withArgs(1n, depositFee, t + TIMING.settlementDelay, t + TIMING.expiry);
      expect(await s.pool.pendingDepositRequest(1n, carol)).to.equal(assets);
      expect(await s.pool.pendingDepositRequest(1n, bob)).to.equal(0n);
      expect(await s.pool.claimableDepositRequest(1n, carol)).to.equal(0n);
      expect((await s.pool.escrow()).pendingDepositAssets).to.equal(assets);
      await expectPoolConserved(s);

      // Reports observed at the settlement time: ETH +0.3 %, BTC -0.2 % against the push feeds.
      const eth = (PX * 1003n) / 1000n;
      const btc = (BTC_PX * 998n) / 1000n;
      const supply = await s.pool.totalSupply();
      const value = await valueAt(s, [bidOf(eth), bidOf(btc)], [askOf(eth), askOf(btc)]);
      expect(value).to.be.greaterThan(await valueAt(s, [eth, btc], [eth, btc])); // no lower than fair
      const shares = (assets * (supply + OFFSET)) / (value + 1n);
      expect(shares).to.equal(PoolRequestMath.toSharesDown(assets, value, supply)); // SDK mirror
      const inputs = await Promise.all(
        [0n, 1n].map(async (i) => ({ market: await s.engine.market(i), currentIndex: await s.engine.currentBorrowIndex(i), bid: bidOf(i === 0n ? eth : btc), ask: askOf(i === 0n ? eth : btc) })),
      );
      expect(PoolRequestMath.valuationAt(await s.engine.ledger(), inputs, 10n ** 30n, true)).to.equal(value);
      const lpAssets = (await s.engine.ledger()).lpAssets;
      await nextBlockAt(networkHelpers, 5n);
      const exec = s.pool.connect(keeper).executeDeposit(1n, reportsAt(s, t + TIMING.settlementDelay, eth, btc), { gasPrice: GAS_PRICE });
      await expect(exec).to.emit(s.pool, "LpRequestExecuted");
      await expect(exec).to.emit(s.engine, "LiquidityChanged").withArgs(assets, lpAssets + assets);
      expect((await s.engine.ledger()).lpAssets).to.equal(lpAssets + assets);
      expect(await s.pool.pendingDepositRequest(1n, carol)).to.equal(0n);
      expect(await s.pool.claimableDepositRequest(1n, carol)).to.equal(assets);
      expect(await s.pool.maxDeposit(carol)).to.equal(assets);
      expect(await s.pool.maxMint(carol)).to.equal(shares);
      expect(await s.pool.balanceOf(s.pool)).to.equal(shares);
      await expectPoolConserved(s);

      // Claim: the controller pulls its shares (ERC-7540: Deposit(controller, receiver, ...)).
      await expect(s.pool.connect(carol)["deposit(uint256,address,address)"](assets, bob, carol))
        .to.emit(s.pool, "Deposit")
        .withArgs(carol.address, bob.address, assets, shares);
      expect(await s.pool.balanceOf(bob)).to.equal(shares);
      expect(await s.pool.maxDeposit(carol)).to.equal(0n);
      expect(await s.pool.claimableDepositRequest(1n, carol)).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("test_mintAndDepositClaims_splitTheClaimAgainstTheClaimer_andTheLastClaimTakesTheRest", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { bob, carol } = s.signers;
      const assets = 10_000n * USDC + 7n;
      const shares = await depositFilled(s, bob, assets);
      // mint: exact shares, assets charged rounded up.
      const part = shares / 3n;
      const charged = ceilDiv(part * assets, shares);
      await expect(s.pool.connect(bob)["mint(uint256,address)"](part, bob))
        .to.emit(s.pool, "Deposit")
        .withArgs(bob.address, bob.address, charged, part);
      // An operator claims by assets for the controller: shares rounded down.
      await (await s.pool.connect(bob).setOperator(carol, true)).wait();
      const left = (await s.pool.claimable(bob))[0];
      const byAssets = 1_000n * USDC;
      const got = (byAssets * left.shares) / left.assets;
      expect(got).to.equal(PoolRequestMath.claimPartDown(byAssets, left.assets, left.shares));
      await expect(s.pool.connect(carol)["deposit(uint256,address,address)"](byAssets, carol, bob))
        .to.emit(s.pool, "Deposit")
        .withArgs(bob.address, carol.address, byAssets, got);
      // The rest: exactly what is left, no dust.
      const rest = (await s.pool.claimable(bob))[0];
      await (await s.pool.connect(bob)["deposit(uint256,address)"](rest.assets, bob)).wait();
      expect(await s.pool.balanceOf(bob)).to.equal(shares - got);
      expect(await s.pool.balanceOf(carol)).to.equal(got);
      expect(await s.pool.balanceOf(s.pool)).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("test_deposit_marketWithoutOpenInterest_needsNoReport", async () => {
      const s = await networkHelpers.loadFixture(asyncPoolOneMarket);
      const { bob, keeper } = s.signers;
      const { id, t } = await requestDepositAt(s, bob, 1_000n * USDC);
      await nextBlockAt(networkHelpers, 5n);
      await expect(s.pool.connect(keeper).executeDeposit(id, [s.streams.signAt(0, t + TIMING.settlementDelay, { price: PX })], { gasPrice: GAS_PRICE }))
        .to.emit(s.pool, "LpRequestExecuted");
    });
  });

  describe("redeem: request, execute, claim", () => {
    it("test_requestRedeem_executeRedeem_redeem_assetsAtTheReportValuationNoHigherThanFair", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { lp, bob, keeper } = s.signers;
      const shares = (await s.pool.balanceOf(lp)) / 7n;
      const t = await nextBlockAt(networkHelpers, 10n);
      // Bob holds an allowance: ERC-7540 lets an approved spender request for the owner.
      await (await s.pool.connect(lp).approve(bob, shares)).wait();
      const t2 = await nextBlockAt(networkHelpers, 1n);
      const tx = s.pool.connect(bob).requestRedeem(shares, lp, lp, { value: await fee(s, REDEEM), gasPrice: GAS_PRICE });
      await expect(tx).to.emit(s.pool, "RedeemRequest").withArgs(lp.address, lp.address, 1n, bob.address, shares);
      expect(await s.pool.allowance(lp, bob)).to.equal(0n);
      expect(await s.pool.pendingRedeemRequest(1n, lp)).to.equal(shares);
      expect(await s.pool.balanceOf(s.pool)).to.equal(shares);
      await expectPoolConserved(s);
      expect(t2).to.equal(t + 1n);

      const eth = (PX * 997n) / 1000n;
      const btc = (BTC_PX * 1004n) / 1000n;
      const supply = await s.pool.totalSupply();
      const value = await valueAt(s, [askOf(eth), askOf(btc)], [bidOf(eth), bidOf(btc)]);
      expect(value).to.be.lessThan(await valueAt(s, [eth, btc], [eth, btc])); // no higher than fair
      const assets = (shares * (value + 1n)) / (supply + OFFSET);
      expect(assets).to.equal(PoolRequestMath.toAssetsDown(shares, value, supply));
      const lpAssets = (await s.engine.ledger()).lpAssets;
      await nextBlockAt(networkHelpers, 5n);
      const exec = s.pool.connect(keeper).executeRedeem(1n, reportsAt(s, t2 + TIMING.settlementDelay, eth, btc), { gasPrice: GAS_PRICE });
      await expect(exec).to.emit(s.engine, "LiquidityChanged").withArgs(-assets, lpAssets - assets);
      expect(await s.pool.totalSupply()).to.equal(supply - shares);
      expect(await s.pool.claimableRedeemRequest(1n, lp)).to.equal(shares);
      expect(await s.pool.maxRedeem(lp)).to.equal(shares);
      expect(await s.pool.maxWithdraw(lp)).to.equal(assets);
      expect((await s.pool.escrow()).claimableRedeemAssets).to.equal(assets);
      await expectPoolConserved(s);

      // Claim half by withdraw (shares rounded up), the rest by redeem.
      const half = assets / 2n;
      const burned = ceilDiv(half * shares, assets);
      await expect(s.pool.connect(lp).withdraw(half, bob, lp)).to.emit(s.pool, "Withdraw").withArgs(lp.address, bob.address, lp.address, half, burned);
      const before = await s.token.balanceOf(lp);
      await expect(s.pool.connect(lp).redeem(shares - burned, lp, lp))
        .to.emit(s.pool, "Withdraw")
        .withArgs(lp.address, lp.address, lp.address, assets - half, shares - burned);
      expect((await s.token.balanceOf(lp)) - before).to.equal(assets - half);
      expect(await s.pool.maxWithdraw(lp)).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("test_executeRedeemAtPushRounds_afterTheFallbackDelay_fillsAtTheFirstRoundAfterTheRequest", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { lp, keeper } = s.signers;
      const shares = (await s.pool.balanceOf(lp)) / 10n;
      const { id, t } = await requestRedeemAt(s, lp, shares);
      await nextBlockAt(networkHelpers, 30n);
      await (await s.ethFeed.updateAnswer(2_990n * 10n ** 8n)).wait();
      await nextBlockAt(networkHelpers, 1n);
      await (await s.btcFeed.updateAnswer(60_100n * 10n ** 8n)).wait();
      const [ethRound, btcRound] = [await s.ethFeed.latestRound(), await s.btcFeed.latestRound()];
      const opensAt = t + TIMING.pushFallbackDelay;
      const early = opensAt - 1n;
      await networkHelpers.time.setNextBlockTimestamp(early);
      await expect(s.pool.connect(keeper).executeRedeemAtPushRounds(id, [ethRound, btcRound]))
        .to.be.revertedWithCustomError(s.pool, "PushFallbackNotOpen")
        .withArgs(id, opensAt, early);
      // A round before the request is not the first after it.
      await networkHelpers.time.setNextBlockTimestamp(opensAt);
      await expect(s.pool.connect(keeper).executeRedeemAtPushRounds(id, [ethRound - 1n, btcRound]))
        .to.be.revertedWithCustomError(s.streams.oracle, "RoundNotFirstAfter");
      await expect(s.pool.connect(keeper).executeRedeemAtPushRounds(id, [ethRound]))
        .to.be.revertedWithCustomError(s.pool, "MarketPriceMissing")
        .withArgs(1n);
      const eth = wadFromFeed(2_990n * 10n ** 8n);
      const btc = wadFromFeed(60_100n * 10n ** 8n);
      const supply = await s.pool.totalSupply();
      const value = await valueAt(s, [eth, btc], [eth, btc]);
      const assets = (shares * (value + 1n)) / (supply + OFFSET);
      await expect(s.pool.connect(keeper).executeRedeemAtPushRounds(id, [ethRound, btcRound], { gasPrice: GAS_PRICE }))
        .to.emit(s.pool, "LpRequestExecuted");
      expect((await s.pool.claimable(lp))[1]).to.deep.equal([assets, shares]);
      await expectPoolConserved(s);
    });
  });

  describe("cancel and refusal", () => {
    it("test_cancelRequest_afterExpiry_returnsTheEscrowAndTheWholeFee", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { lp, bob, carol } = s.signers;
      const assets = 5_000n * USDC;
      const { id: dep, t } = await requestDepositAt(s, bob, assets);
      const shares = (await s.pool.balanceOf(lp)) / 100n;
      const { id: red } = await requestRedeemAt(s, lp, shares, 1n);
      const expiresAt = t + TIMING.expiry;
      const now = await nextBlockAt(networkHelpers, expiresAt - BigInt(await networkHelpers.time.latest()));
      await expect(s.pool.connect(bob).cancelRequest(dep)).to.be.revertedWithCustomError(s.pool, "RequestNotExpired").withArgs(dep, expiresAt, now);
      await expect(s.pool.connect(carol).cancelRequest(dep)).to.be.revertedWithCustomError(s.pool, "NotOperator").withArgs(bob.address, carol.address);
      // Executing after expiry is refused: it can only be cancelled.
      const late = expiresAt + 1n;
      await networkHelpers.time.setNextBlockTimestamp(late);
      await expect(s.pool.executeDeposit(dep, reportsAt(s, t + TIMING.settlementDelay)))
        .to.be.revertedWithCustomError(s.pool, "RequestExpired")
        .withArgs(dep, expiresAt, late);
      const [tokens, eth] = [await s.token.balanceOf(bob), await ethers.provider.getBalance(bob)];
      const depositFee = await fee(s, DEPOSIT);
      const tx = await s.pool.connect(bob).cancelRequest(dep, { gasPrice: GAS_PRICE });
      await expect(tx).to.emit(s.pool, "LpRequestCancelled").withArgs(dep, bob.address, bob.address, "0x", 0n, depositFee);
      const receipt = (await tx.wait())!;
      expect((await s.token.balanceOf(bob)) - tokens).to.equal(assets);
      expect((await ethers.provider.getBalance(bob)) - eth).to.equal(depositFee - receipt.gasUsed * GAS_PRICE);
      expect((await s.pool.lpRequest(dep)).kind).to.equal(0n);
      // An operator cancels the redemption for its controller: the shares go back to it.
      await (await s.pool.connect(lp).setOperator(carol, true)).wait();
      const lpShares = await s.pool.balanceOf(lp);
      await expect(s.pool.connect(carol).cancelRequest(red)).to.emit(s.pool, "LpRequestCancelled");
      expect((await s.pool.balanceOf(lp)) - lpShares).to.equal(shares);
      await expectPoolConserved(s);
      expect(await s.pool.escrow()).to.deep.equal([0n, 0n, 0n, 0n]);
      // Execute after cancel, cancel after cancel.
      await expect(s.pool.executeDeposit(dep, [])).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(dep);
      await expect(s.pool.connect(bob).cancelRequest(dep)).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(dep);
    });

    it("test_executeDeposit_whilePaused_cancelsTheRequest_escrowBackAndExecutorPaid", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { bob, keeper, guardian } = s.signers;
      const assets = 5_000n * USDC;
      const { id, t } = await requestDepositAt(s, bob, assets);
      await (await s.engine.connect(guardian).setPaused(true)).wait();
      const tokens = await s.token.balanceOf(bob);
      await nextBlockAt(networkHelpers, 5n);
      const tx = await s.pool.connect(keeper).executeDeposit(id, reportsAt(s, t + TIMING.settlementDelay), { gasPrice: GAS_PRICE });
      const reason = s.engine.interface.encodeErrorResult("ProtocolPaused", []);
      await expect(tx).to.emit(s.pool, "LpRequestCancelled").withArgs(id, bob.address, keeper.address, reason, (v: bigint) => v > 0n, (v: bigint) => v > 0n);
      expect((await s.token.balanceOf(bob)) - tokens).to.equal(assets);
      await expectPoolConserved(s);
      // A request is refused up front while paused.
      await expect(s.pool.connect(bob).requestDeposit(assets, bob, bob, { value: await fee(s, DEPOSIT), gasPrice: GAS_PRICE }))
        .to.be.revertedWithCustomError(s.engine, "ProtocolPaused");
    });

    it("test_executeRedeem_beyondFreeLiquidity_cancelsTheRequest_sharesBack", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { lp, keeper } = s.signers;
      const shares = await s.pool.balanceOf(lp); // all of it: more than free liquidity (reserved is held back)
      const { id, t } = await requestRedeemAt(s, lp, shares);
      const l = await s.engine.ledger();
      const supply = await s.pool.totalSupply();
      const value = await valueAt(s, [askOf(PX), askOf(BTC_PX)], [bidOf(PX), bidOf(BTC_PX)]);
      const assets = (shares * (value + 1n)) / (supply + OFFSET);
      await nextBlockAt(networkHelpers, 5n);
      const reason = s.engine.interface.encodeErrorResult("InsufficientFreeLiquidity", [l.lpAssets - l.reserved, assets]);
      await expect(s.pool.connect(keeper).executeRedeem(id, reportsAt(s, t + TIMING.settlementDelay), { gasPrice: GAS_PRICE }))
        .to.emit(s.pool, "LpRequestCancelled")
        .withArgs(id, lp.address, keeper.address, reason, (v: bigint) => v > 0n, (v: bigint) => v >= 0n);
      expect(await s.pool.balanceOf(lp)).to.equal(shares);
      await expectPoolConserved(s);
    });
  });

  describe("governance", () => {
    it("test_setTiming_afterARequest_movesNeitherItsPinnedReportNorItsExpiry", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { bob, deployer, keeper } = s.signers;
      const { id, t } = await requestDepositAt(s, bob, 1_000n * USDC);
      const { id: second, t: t2 } = await requestDepositAt(s, bob, 1_000n * USDC, 1n);
      await (await s.streams.oracle.connect(deployer).setTiming(10n, 600n, 200n)).wait();
      await nextBlockAt(networkHelpers, 5n);
      await expect(s.pool.connect(keeper).executeDeposit(id, reportsAt(s, t + TIMING.settlementDelay))).to.emit(s.pool, "LpRequestExecuted");
      // The second still expires at its own creation + 300 s.
      const expiresAt = t2 + TIMING.expiry;
      await networkHelpers.time.setNextBlockTimestamp(expiresAt + 1n);
      await expect(s.pool.connect(keeper).executeDeposit(second, reportsAt(s, t2 + TIMING.settlementDelay)))
        .to.be.revertedWithCustomError(s.pool, "RequestExpired")
        .withArgs(second, expiresAt, expiresAt + 1n);
      await expect(s.pool.connect(bob).cancelRequest(second)).to.emit(s.pool, "LpRequestCancelled");
    });
  });

  describe("reports", () => {
    it("test_executeDeposit_reportNotPinned_anotherMarketsReport_missingReport_replay_revert", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { bob, keeper } = s.signers;
      const { id, t } = await requestDepositAt(s, bob, 1_000n * USDC);
      const target = t + TIMING.settlementDelay;
      await nextBlockAt(networkHelpers, 5n);
      // A report observed before the request.
      await expect(s.pool.connect(keeper).executeDeposit(id, reportsAt(s, t - 1n)))
        .to.be.revertedWithCustomError(s.streams.oracle, "ReportNotPinned")
        .withArgs(target, t - 1n, t - 1n);
      // Market 1's report in market 0's place.
      const [eth, btc] = reportsAt(s, target);
      await expect(s.pool.connect(keeper).executeDeposit(id, [btc!, btc!]))
        .to.be.revertedWithCustomError(s.streams.oracle, "ReportFeedMismatch");
      // A market with open interest without its report.
      await expect(s.pool.connect(keeper).executeDeposit(id, [eth!]))
        .to.be.revertedWithCustomError(s.pool, "MarketPriceMissing")
        .withArgs(1n);
      await expect(s.pool.connect(keeper).executeDeposit(id, [eth!, "0x"]))
        .to.be.revertedWithCustomError(s.pool, "MarketPriceMissing")
        .withArgs(1n);
      // A redeem execution of a deposit request.
      await expect(s.pool.connect(keeper).executeRedeem(id, [eth!, btc!])).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(id);
      await expect(s.pool.connect(keeper).executeRedeemAtPushRounds(id, [1n, 1n]))
        .to.be.revertedWithCustomError(s.pool, "PushFallbackNotForDeposits")
        .withArgs(id);
      await (await s.pool.connect(keeper).executeDeposit(id, [eth!, btc!])).wait();
      // Executed: neither execution nor cancel again; the same reports cannot fill a later request.
      await expect(s.pool.connect(keeper).executeDeposit(id, [eth!, btc!])).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(id);
      await expect(s.pool.connect(bob).cancelRequest(id)).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(id);
      const second = await requestDepositAt(s, bob, 1_000n * USDC, 1n);
      await nextBlockAt(networkHelpers, 5n);
      await expect(s.pool.connect(keeper).executeDeposit(second.id, [eth!, btc!]))
        .to.be.revertedWithCustomError(s.streams.oracle, "ReportNotPinned")
        .withArgs(second.t + TIMING.settlementDelay, target, target);
    });
  });

  describe("reverts", () => {
    it("test_requests_badInputs_revertWithTheirArguments", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { lp, bob, carol } = s.signers;
      const value = await fee(s, DEPOSIT);
      const opts = { value, gasPrice: GAS_PRICE };
      await expect(s.pool.connect(carol).requestDeposit(1n, carol, bob, opts)).to.be.revertedWithCustomError(s.pool, "NotOperator").withArgs(bob.address, carol.address);
      await expect(s.pool.connect(bob).requestDeposit(0n, bob, bob, opts)).to.be.revertedWithCustomError(s.pool, "ZeroAmount");
      await expect(s.pool.connect(bob).requestDeposit(2n ** 128n, bob, bob, opts))
        .to.be.revertedWithCustomError(s.pool, "AmountTooLarge")
        .withArgs(2n ** 128n, 2n ** 128n - 1n);
      await expect(s.pool.connect(bob).requestDeposit(1n, ethers.ZeroAddress, bob, opts))
        .to.be.revertedWithCustomError(s.pool, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
      await expect(s.pool.connect(bob).requestDeposit(1n, bob, bob, { value: value - 1n, gasPrice: GAS_PRICE }))
        .to.be.revertedWithCustomError(s.pool, "ExecutionFeeTooLow")
        .withArgs(value - 1n, value);
      await expect(s.pool.connect(bob).requestDeposit(1n, bob, bob, { value: 2n ** 96n, gasPrice: GAS_PRICE }))
        .to.be.revertedWithCustomError(s.pool, "ExecutionFeeTooLarge")
        .withArgs(2n ** 96n, 2n ** 96n - 1n);
      // An operator of the owner may request for it; a stranger needs an allowance for shares.
      await (await s.pool.connect(bob).setOperator(carol, true)).wait();
      await expect(s.pool.connect(carol).requestDeposit(1n, carol, bob, opts)).to.emit(s.pool, "DepositRequest").withArgs(carol.address, bob.address, 1n, carol.address, 1n);
      await expect(s.pool.connect(carol).requestRedeem(1n, carol, lp, opts))
        .to.be.revertedWithCustomError(s.pool, "ERC20InsufficientAllowance")
        .withArgs(carol.address, 0n, 1n);
      // Claims beyond what is claimable, or by someone else.
      await expect(s.pool.connect(bob)["deposit(uint256,address)"](1n, bob)).to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxDeposit").withArgs(bob.address, 1n, 0n);
      await expect(s.pool.connect(bob)["mint(uint256,address,address)"](1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxMint").withArgs(bob.address, 1n, 0n);
      await expect(s.pool.connect(bob).withdraw(1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxWithdraw").withArgs(bob.address, 1n, 0n);
      await expect(s.pool.connect(bob).redeem(1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxRedeem").withArgs(bob.address, 1n, 0n);
      await expect(s.pool.connect(bob).redeem(1n, bob, lp)).to.be.revertedWithCustomError(s.pool, "NotOperator").withArgs(lp.address, bob.address);
      // Unknown ids; previews have no price in asynchronous mode.
      await expect(s.pool.executeDeposit(99n, [])).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(99n);
      await expect(s.pool.cancelRequest(99n)).to.be.revertedWithCustomError(s.pool, "RequestNotFound").withArgs(99n);
      for (const f of ["previewDeposit", "previewMint", "previewWithdraw", "previewRedeem"] as const) {
        await expect(s.pool[f](1n)).to.be.revertedWithCustomError(s.pool, "PoolIsAsynchronous");
      }
      await expect(s.pool.connect(bob).withdrawNative()).to.be.revertedWithCustomError(s.pool, "NothingOwed").withArgs(bob.address);
    });

    it("test_setExecutionGas_ownerOnly_withinBounds", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const { deployer, bob } = s.signers;
      await expect(s.pool.connect(bob).setExecutionGas(DEPOSIT, 500_000n)).to.be.revertedWithCustomError(s.pool, "PoolUnauthorized").withArgs(bob.address);
      await expect(s.pool.connect(deployer).setExecutionGas(DEPOSIT, 99_999n))
        .to.be.revertedWithCustomError(s.pool, "ParameterOutOfBounds")
        .withArgs("gasLimit", 99_999n, 100_000n, 5_000_000n);
      await expect(s.pool.connect(deployer).setExecutionGas(REDEEM, 5_000_001n))
        .to.be.revertedWithCustomError(s.pool, "ParameterOutOfBounds")
        .withArgs("gasLimit", 5_000_001n, 100_000n, 5_000_000n);
      await expect(s.pool.connect(deployer).setExecutionGas(0n, 500_000n))
        .to.be.revertedWithCustomError(s.pool, "ParameterOutOfBounds")
        .withArgs("kind", 0n, 1n, 2n);
      await expect(s.pool.connect(deployer).setExecutionGas(REDEEM, 500_000n)).to.emit(s.pool, "LpExecutionGasSet").withArgs(REDEEM, 500_000n);
      expect(await s.pool.quoteExecutionFee(REDEEM, GAS_PRICE)).to.equal(500_000n * GAS_PRICE);
    });

    it("test_synchronousPool_refusesRequests_andKeepsItsPreviews", async () => {
      const s = await deployUnitSystem(ethers);
      const { bob } = s.signers;
      expect(await s.pool.isAsync()).to.equal(false);
      await expect(s.pool.connect(bob).requestDeposit(1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "PoolIsSynchronous");
      await expect(s.pool.connect(bob).requestRedeem(1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "PoolIsSynchronous");
      await expect(s.pool.connect(bob)["deposit(uint256,address,address)"](1n, bob, bob)).to.be.revertedWithCustomError(s.pool, "PoolIsSynchronous");
      expect(await s.pool.previewDeposit(USDC)).to.equal(USDC * OFFSET);
      expect(await s.pool.supportsInterface("0xce3bbe50")).to.equal(false);
      expect(await s.pool.supportsInterface("0x2f0a18c5")).to.equal(true);
    });

    it("test_supportsInterface_listsTheErc7540Ids_once_asynchronous", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      for (const id of ["0x01ffc9a7", "0xe3bc4e65", "0x2f0a18c5", "0xce3bbe50", "0x620ee8e4"]) expect(await s.pool.supportsInterface(id)).to.equal(true);
      expect(await s.pool.supportsInterface("0xffffffff")).to.equal(false);
      expect(await s.pool.share()).to.equal(await s.pool.getAddress());
      await expect(s.pool.connect(s.signers.bob).setOperator(s.signers.carol, true))
        .to.emit(s.pool, "OperatorSet")
        .withArgs(s.signers.bob.address, s.signers.carol.address, true);
      expect(await s.pool.isOperator(s.signers.bob, s.signers.carol)).to.equal(true);
    });
  });

  describe("executor pay", () => {
    it("test_executeDeposit_feeSplit_executorPaidItsGasAtTheQuotedPrice_restRefunded", async () => {
      const s = await networkHelpers.loadFixture(asyncPoolOneMarket);
      const { bob, keeper } = s.signers;
      const { id, t } = await requestDepositAt(s, bob, 1_000n * USDC);
      const [keeperEth, bobEth] = [await ethers.provider.getBalance(keeper), await ethers.provider.getBalance(bob)];
      await nextBlockAt(networkHelpers, 5n);
      const tx = await s.pool.connect(keeper).executeDeposit(id, [s.streams.signAt(0, t + TIMING.settlementDelay, { price: PX })], { gasPrice: GAS_PRICE });
      const receipt = (await tx.wait())!;
      const log = receipt.logs.map((l) => s.pool.interface.parseLog(l)).find((l) => l?.name === "LpRequestExecuted")!;
      const { executorFee, refund } = log.args;
      const depositFee = await fee(s, DEPOSIT);
      expect(executorFee + refund).to.equal(depositFee);
      // Paid for the gas it used up to the split (most of the transaction), never more than it spent.
      expect(executorFee).to.be.lessThanOrEqual(receipt.gasUsed * GAS_PRICE);
      expect(executorFee).to.be.greaterThan((receipt.gasUsed * GAS_PRICE * 8n) / 10n);
      expect((await ethers.provider.getBalance(keeper)) - keeperEth).to.equal(executorFee - receipt.gasUsed * GAS_PRICE);
      expect((await ethers.provider.getBalance(bob)) - bobEth).to.equal(refund);
    });

    it("gas: requestDeposit + executeDeposit with one market with open interest (printed)", async () => {
      const s = await networkHelpers.loadFixture(asyncPoolOneMarket);
      const { bob, keeper } = s.signers;
      const t = await nextBlockAt(networkHelpers, 10n);
      const req = await (await s.pool.connect(bob).requestDeposit(1_000n * USDC, bob, bob, { value: await fee(s, DEPOSIT), gasPrice: GAS_PRICE })).wait();
      await nextBlockAt(networkHelpers, 5n);
      const exec = await (await s.pool.connect(keeper).executeDeposit(1n, [s.streams.signAt(0, t + TIMING.settlementDelay, { price: PX }), "0x"], { gasPrice: GAS_PRICE })).wait();
      const claim = await (await s.pool.connect(bob)["deposit(uint256,address)"](1_000n * USDC, bob)).wait();
      console.log(`      first: requestDeposit ${req!.gasUsed}, executeDeposit ${exec!.gasUsed}, together ${req!.gasUsed + exec!.gasUsed}; claim ${claim!.gasUsed}`);
      // A later request, with the pool's request counter and escrow slots already written once.
      const t2 = await nextBlockAt(networkHelpers, 10n);
      const req2 = await (await s.pool.connect(bob).requestDeposit(1_000n * USDC, bob, bob, { value: await fee(s, DEPOSIT), gasPrice: GAS_PRICE })).wait();
      await nextBlockAt(networkHelpers, 5n);
      const exec2 = await (await s.pool.connect(keeper).executeDeposit(2n, [s.streams.signAt(0, t2 + TIMING.settlementDelay, { price: PX }), "0x"], { gasPrice: GAS_PRICE })).wait();
      console.log(`      later: requestDeposit ${req2!.gasUsed}, executeDeposit ${exec2!.gasUsed}, together ${req2!.gasUsed + exec2!.gasUsed}`);
    });
  });
  describe("attacks", () => {
    const BOB_DEPOSIT = 900_000n * USDC;
    const MOVED = (PX * 995n) / 1000n; // the pending -0.5 % push-feed update
    /** Default parameters (borrow fees on): traders 1.8M net long (600 ETH at 3,000) on the 1M pool. */
    async function netLongBook() {
      const s = await deployUnitSystem(ethers);
      await (await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 200_000n * USDC, 600n * WAD, PX, FAR)).wait();
      await (await s.token.connect(s.signers.bob).approve(s.pool, ethers.MaxUint256)).wait();
      return s;
    }
    async function netLongBookAsync() {
      const s = await netLongBook();
      const streams = await deployStreams(ethers, s.engine);
      const settler = await ethers.deployContract("BulkheadRouter", [s.engine, streams.oracle]);
      await (await s.engine.setSettler(settler)).wait();
      return { ...s, streams, settler };
    }

    it("test_lpSandwich_instantMode_reproduction_takesAbout4259FromTheExistingLp", async () => {
      const s = await networkHelpers.loadFixture(netLongBook);
      const { bob } = s.signers;
      const before = await s.token.balanceOf(bob);
      await (await s.pool.connect(bob)["deposit(uint256,address)"](BOB_DEPOSIT, bob)).wait();
      await (await s.ethFeed.updateAnswer(2_985n * 10n ** 8n)).wait();
      await (await s.pool.connect(bob).redeem(await s.pool.balanceOf(bob), bob, bob)).wait();
      const gain = (await s.token.balanceOf(bob)) - before;
      expect(gain).to.be.greaterThan(4_255n * USDC);
      expect(gain).to.be.lessThan(4_263n * USDC);
    });

    it("test_lpSandwich_depositBeforeAndRedeemAfterAPushUpdate_earnsNothing", async () => {
      const s = await networkHelpers.loadFixture(netLongBookAsync);
      const { bob, keeper } = s.signers;
      const tokens = await s.token.balanceOf(bob);
      // Bob requests the deposit while the push feed still says 3,000; the market is already at
      // 2,985, and so is the report observed at the request's settlement time.
      const dep = await requestDepositAt(s as unknown as Sys, bob, BOB_DEPOSIT, 1n);
      await nextBlockAt(networkHelpers, 3n);
      await (await s.pool.connect(keeper).executeDeposit(dep.id, [s.streams.signAt(0, dep.t + TIMING.settlementDelay, { price: MOVED }), "0x"], { gasPrice: GAS_PRICE })).wait();
      await (await s.pool.connect(bob)["deposit(uint256,address)"](BOB_DEPOSIT, bob)).wait();
      // The push update lands; Bob leaves at once.
      await (await s.ethFeed.updateAnswer(2_985n * 10n ** 8n)).wait();
      const red = await requestRedeemAt(s as unknown as Sys, bob, await s.pool.balanceOf(bob), 1n);
      await nextBlockAt(networkHelpers, 3n);
      await (await s.pool.connect(keeper).executeRedeem(red.id, [s.streams.signAt(0, red.t + TIMING.settlementDelay, { price: MOVED }), "0x"], { gasPrice: GAS_PRICE })).wait();
      const claim = (await s.pool.claimable(bob))[1];
      await (await s.pool.connect(bob).redeem(claim.shares, bob, bob)).wait();
      const gain = (await s.token.balanceOf(bob)) - tokens;
      expect(gain).to.be.lessThanOrEqual(0n);
      await expectPoolConserved(s);
    });
  });

  describe("SDK errors", () => {
    it("test_sdkErrors_everyNewPoolError_decodesToAReadableSentence", async () => {
      const s = await networkHelpers.loadFixture(asyncPool);
      const i = s.pool.interface;
      const a = "0x0000000000000000000000000000000000000003";
      const cases: [string, unknown[], RegExp][] = [
        ["PoolIsSynchronous", [], /synchronous/],
        ["PoolIsAsynchronous", [], /asynchronous \(ERC-7540\)/],
        ["NotOperator", [a, a], /nor an operator/],
        ["RequestNotFound", [7n], /request 7 is not pending/],
        ["RequestExpired", [7n, 1_700_000_000n, 1_700_000_001n], /expired at 2023-11-14T22:13:20.000Z/],
        ["RequestNotExpired", [7n, 1_700_000_000n, 1_699_999_999n], /can be cancelled after/],
        ["PushFallbackNotOpen", [7n, 1_700_000_000n, 1_699_999_999n], /at a push-feed round from/],
        ["PushFallbackNotForDeposits", [7n], /is a deposit/],
        ["MarketPriceMissing", [1n], /market 1 has open interest/],
        ["ExecutionFeeTooLow", [1n, 2n], /below the 2 wei/],
        ["ExecutionFeeTooLarge", [3n, 2n], /above the maximum 2 wei/],
        ["NothingOwed", [a], /nothing is owed/],
        ["ParameterOutOfBounds", ["gasLimit", 1n, 2n, 3n], /gasLimit = 1 is outside its bounds \[2, 3\]/],
      ];
      for (const [name, args, message] of cases) {
        const e = decodeRevert(i.encodeErrorResult(name, args));
        expect(e, name).to.be.instanceOf(ContractRevertError);
        expect((e as ContractRevertError).errorName).to.equal(name);
        expect(e.message, name).to.match(message);
      }
    });
  });
});
