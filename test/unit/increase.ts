import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, defaultRisk, wadFromFeed } from "../helpers/fixture.js";
import { initialMargin, wMulDown, wMulUp } from "../helpers/reference.js";
import {
  PROTOCOL_SHARE,
  deployUnitSystem,
  expectBalanceDeltas,
  expectPoolConserved,
  expectedIndexAt,
  elapse,
  nextBlockAt,
  posOf,
} from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18
const DAY = 86_400n;
const MAX_UINT128 = 2n ** 128n - 1n;
const MAX_UINT96 = 2n ** 96n - 1n;

/** Alice holds position 1: long 1 ETH at 3000 with 300 USDC. */
async function withLong() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  return s;
}

/** Alice holds position 1: short 1 ETH at 3000 with 300 USDC. */
async function withShort() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, false, 300n * USDC, WAD, PX, FAR);
  return s;
}

async function withLongSmallPool() {
  const s = await deployUnitSystem(ethers, { lpDeposit: 1_000n * USDC });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD / 2n, PX, FAR);
  return s;
}

describe("increase", () => {
  describe("effects", () => {
    it("increase: settles the PnL into collateral, moves the entry to the price and carries the cap left (long, price up)", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice } = s.signers;
      const price = 3_300n * WAD;
      await s.ethFeed.updateAnswer(3_300n * 10n ** 8n);
      const before = await posOf(s.engine, 1n);
      const ledgerBefore = await s.engine.ledger();
      await elapse(networkHelpers, DAY, [s.ethFeed]);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      expect(borrowFee).to.be.greaterThan(0n);
      const realised = 300n * USDC; // 1 ETH x 300, under the 1,500 cap
      // (1,500 - 300) of cap left on 3,300 of notional: 36.36 % rounded down.
      const factor = 3_636n;
      const openFee = wMulUp(s.u.notional(WAD, price), defaultParams.openFeeRate); // 3.3 USDC
      const collateralDelta = 100n * USDC;
      const newCollateral = 300n * USDC + collateralDelta - borrowFee + realised;
      const vault = await s.engine.vaultOf(1n);
      await expectBalanceDeltas(
        s.token,
        [alice, vault, s.pool],
        async () => {
          await expect(s.engine.connect(alice).increase(1n, collateralDelta, WAD, price, FAR))
            .to.emit(s.engine, "PositionIncreased")
            .withArgs(1n, WAD, collateralDelta, price, realised, openFee, borrowFee, 2n * WAD, price, newCollateral, index, 0n, factor);
        },
        [-(collateralDelta + openFee), collateralDelta - borrowFee + realised, openFee + borrowFee - realised],
      );
      const p = await s.engine.position(1n);
      expect([p.size, p.entryPrice, p.collateral, p.borrowIndex, p.riskVersion, p.maxProfitFactorBps]).to.deep.equal([
        2n * WAD,
        price,
        newCollateral,
        index,
        0n,
        factor,
      ]);
      const l = await s.engine.ledger();
      const cut = wMulDown(openFee, PROTOCOL_SHARE);
      expect(l.lpAssets - ledgerBefore.lpAssets).to.equal(openFee - cut + borrowFee - realised);
      expect(l.protocolFees - ledgerBefore.protocolFees).to.equal(cut);
      const newReserve = s.u.maxProfit(2n * WAD, price, factor);
      expect(newReserve).to.be.at.most(1_200n * USDC + s.u.maxProfit(WAD, price, defaultRisk.maxProfitFactorBps));
      expect(l.reserved - ledgerBefore.reserved).to.equal(newReserve - s.u.maxProfit(WAD, PX, defaultRisk.maxProfitFactorBps));
      const m = await s.engine.market(ETH_MARKET);
      expect([m.longSize, m.longSizeEntry]).to.deep.equal([2n * WAD, 2n * WAD * price]);
      await expectPoolConserved(s);
    });

    it("increase: a long's and a short's entry become the price; a loss leaves the vault and keeps the factor", async () => {
      const long = await networkHelpers.loadFixture(withLong);
      await long.ethFeed.updateAnswer(3_001n * 10n ** 8n);
      await long.engine.connect(long.signers.alice).increase(1n, 0n, 2n * WAD, ethers.MaxUint256, FAR);
      const l = await long.engine.position(1n);
      expect(l.entryPrice).to.equal(3_001n * WAD);
      // 1 USDC of profit leaves 1,499 of the 1,500 cap on 3,001 of notional: 49.95 %.
      expect(l.maxProfitFactorBps).to.equal(4_995n);
      const short = await networkHelpers.loadFixture(withShort);
      await short.ethFeed.updateAnswer(3_001n * 10n ** 8n);
      const vault = await short.engine.vaultOf(1n);
      const vaultBefore = await short.token.balanceOf(vault);
      await short.engine.connect(short.signers.alice).increase(1n, 0n, 2n * WAD, 0n, FAR);
      const p = await short.engine.position(1n);
      expect(p.entryPrice).to.equal(3_001n * WAD);
      // The 1 USDC loss left the vault with the borrow fee; the cap left exceeds the market's factor.
      expect(p.maxProfitFactorBps).to.equal(defaultRisk.maxProfitFactorBps);
      const borrowFee = 300n * USDC - USDC - p.collateral;
      expect(vaultBefore - (await short.token.balanceOf(vault))).to.equal(USDC + borrowFee);
      await expectPoolConserved(short);
    });

    it("increase: a position past its cap carries factor 0 and reserves nothing more", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await s.ethFeed.updateAnswer(4_600n * 10n ** 8n); // pnl 1,600 > cap 1,500
      const before = await s.engine.ledger();
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, WAD, ethers.MaxUint256, FAR))
        .to.emit(s.engine, "PositionIncreased")
        .withArgs(1n, WAD, 0n, 4_600n * WAD, 1_500n * USDC, (x: bigint) => x > 0n, (x: bigint) => x >= 0n, 2n * WAD, 4_600n * WAD, (x: bigint) => x > 0n, (x: bigint) => x > 0n, 0n, 0n);
      const l = await s.engine.ledger();
      expect(before.reserved - l.reserved).to.equal(1_500n * USDC);
      await expectPoolConserved(s);
    });

    it("increase: without new collateral the borrow fee is paid from the vault", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice } = s.signers;
      const before = await posOf(s.engine, 1n);
      await elapse(networkHelpers, 3n * DAY, [s.ethFeed]);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      const openFee = wMulUp(s.u.notional(WAD / 2n, PX), defaultParams.openFeeRate);
      await expectBalanceDeltas(
        s.token,
        [alice, await s.engine.vaultOf(1n), s.pool],
        () => s.engine.connect(alice).increase(1n, 0n, WAD / 2n, PX, FAR),
        [-openFee, -borrowFee, openFee + borrowFee],
      );
      expect((await s.engine.position(1n)).collateral).to.equal(300n * USDC - borrowFee);
      await expectPoolConserved(s);
    });

    it("increase: a collateralDelta smaller than the borrow fee goes to the pool and the vault pays the rest", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice } = s.signers;
      const before = await posOf(s.engine, 1n);
      await elapse(networkHelpers, 30n * DAY, [s.ethFeed]);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      const collateralDelta = 1_000n; // 0.001 USDC, far below a month of borrow fee
      expect(borrowFee).to.be.greaterThan(collateralDelta);
      const openFee = wMulUp(s.u.notional(WAD / 10n, PX), defaultParams.openFeeRate);
      await expectBalanceDeltas(
        s.token,
        [alice, await s.engine.vaultOf(1n), s.pool],
        () => s.engine.connect(alice).increase(1n, collateralDelta, WAD / 10n, PX, FAR),
        [-(collateralDelta + openFee), -(borrowFee - collateralDelta), openFee + borrowFee],
      );
      expect((await s.engine.position(1n)).collateral).to.equal(300n * USDC + collateralDelta - borrowFee);
      await expectPoolConserved(s);
    });

    it("increase: an approved operator increases and pays; the owner keeps the position", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, bob } = s.signers;
      await s.engine.connect(alice).approve(bob, 1n);
      const openFee = wMulUp(s.u.notional(WAD, PX), defaultParams.openFeeRate);
      await nextBlockAt(networkHelpers, 1n);
      await expectBalanceDeltas(
        s.token,
        [alice, bob],
        () => s.engine.connect(bob).increase(1n, 50n * USDC, WAD, PX, FAR),
        [0n, -(50n * USDC + openFee)],
      );
      expect(await s.engine.ownerOf(1n)).to.equal(alice.address);
      expect((await s.engine.position(1n)).size).to.equal(2n * WAD);
    });

    it("increase: an operator approved for all of the owner's positions can increase", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { alice, carol } = s.signers;
      await s.engine.connect(alice).setApprovalForAll(carol, true);
      await expect(s.engine.connect(carol).increase(1n, 0n, WAD, PX, FAR)).to.emit(s.engine, "PositionIncreased");
    });
  });

  // Found by this suite when the entry was a size-weighted average (a short's rounded down, so
  // newSize * newEntry could fall below the old size * entry and increase underflowed). The side's
  // Σsize·entry is still updated as sum - oldBase + newBase, now with the entry at the price.
  it("increase: a dust increase of a large short does not underflow", async () => {
    const s = await deployUnitSystem(ethers, { lpDeposit: 10_000_000n * USDC });
    await s.engine.connect(s.signers.bob).open(ETH_MARKET, false, 400_000n * USDC, 5_000n * WAD, 0n, FAR);
    await s.ethFeed.updateAnswer(2_999n * 10n ** 8n);
    // (5000e18 * 3000e18 + 2999e18) mod (5000e18 + 1) = 4999e18 + 1 > 1 * 2999e18
    await expect(s.engine.connect(s.signers.bob).increase(1n, 0n, 1n, 0n, FAR)).to.emit(s.engine, "PositionIncreased");
  });

  describe("reverts", () => {
    it("increase: reverts with DeadlineExpired after the deadline", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const t = await nextBlockAt(networkHelpers, 5n);
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, WAD, PX, t - 1n))
        .to.be.revertedWithCustomError(s.engine, "DeadlineExpired")
        .withArgs(t - 1n, t);
    });

    it("increase: reverts with PositionNotFound for an unknown id", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await expect(s.engine.connect(s.signers.alice).increase(7n, 0n, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(7n);
    });

    it("increase: reverts with NotPositionOwner for a stranger", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await expect(s.engine.connect(s.signers.bob).increase(1n, 0n, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "NotPositionOwner")
        .withArgs(1n, s.signers.bob.address);
    });

    it("increase: reverts with ProtocolPaused or MarketPaused while paused", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const e = s.engine.connect(s.signers.alice);
      await s.engine.connect(s.signers.guardian).setPaused(true);
      await expect(e.increase(1n, 0n, WAD, PX, FAR)).to.be.revertedWithCustomError(s.engine, "ProtocolPaused");
      await s.engine.connect(s.signers.guardian).setPaused(false);
      await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
      await expect(e.increase(1n, 0n, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "MarketPaused")
        .withArgs(ETH_MARKET);
    });

    it("increase: reverts with ZeroAmount for a zero sizeDelta", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await expect(s.engine.connect(s.signers.alice).increase(1n, 10n * USDC, 0n, PX, FAR)).to.be.revertedWithCustomError(
        s.engine,
        "ZeroAmount",
      );
    });

    it("increase: reverts with AmountTooLarge when the new size or collateral overflows its field", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const e = s.engine.connect(s.signers.alice);
      await expect(e.increase(1n, 0n, MAX_UINT128, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(MAX_UINT128 + WAD, MAX_UINT128);
      await expect(e.increase(1n, MAX_UINT96, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(MAX_UINT96 + 300n * USDC, MAX_UINT96);
    });

    it("increase: reverts with SlippageExceeded above a long's or below a short's acceptable price", async () => {
      const long = await networkHelpers.loadFixture(withLong);
      await expect(long.engine.connect(long.signers.alice).increase(1n, 0n, WAD, PX - 1n, FAR))
        .to.be.revertedWithCustomError(long.engine, "SlippageExceeded")
        .withArgs(PX - 1n, PX);
      const short = await networkHelpers.loadFixture(withShort);
      await expect(short.engine.connect(short.signers.alice).increase(1n, 0n, WAD, PX + 1n, FAR))
        .to.be.revertedWithCustomError(short.engine, "SlippageExceeded")
        .withArgs(PX + 1n, PX);
    });

    it("increase: reverts with InsufficientMargin when the new size needs more than collateral after the fee", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      // Price falls to 2900: the 100 USDC loss of the first ETH is realised into collateral.
      const price = 2_900n * WAD;
      await s.ethFeed.updateAnswer(2_900n * 10n ** 8n);
      const before = await posOf(s.engine, 1n);
      await elapse(networkHelpers, DAY, [s.ethFeed]);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      const sizeDelta = 5n * WAD;
      const newSize = 6n * WAD;
      const equity = 300n * USDC - borrowFee + s.u.pnl(true, WAD, PX, price); // the 100 USDC loss is realised
      const required = initialMargin(s.u.notional(newSize, price), defaultParams.maxLeverage); // 348 USDC
      expect(required).to.equal(348n * USDC);
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, sizeDelta, price, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(equity, required);
      expect(equity).to.be.lessThan(200n * USDC);
    });

    it("increase: reverts with InsufficientMargin (negative) when the borrow fee exceeds all collateral", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await elapse(networkHelpers, 4n * 365n * DAY, [s.ethFeed]); // ~10%/year on 3000 USDC of notional
      const before = await posOf(s.engine, 1n);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      const collateralDelta = 5n * USDC;
      expect(borrowFee).to.be.greaterThan(300n * USDC + collateralDelta);
      const required = initialMargin(s.u.notional(WAD + 1n, PX), defaultParams.maxLeverage);
      await expect(s.engine.connect(s.signers.alice).increase(1n, collateralDelta, 1n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(300n * USDC + collateralDelta - borrowFee, required);
    });

    it("increase: reverts with InsufficientMargin (negative) when the realised loss exceeds the collateral", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await s.ethFeed.updateAnswer(2_600n * 10n ** 8n); // 1 ETH x -400 against 300 + 50
      const before = await posOf(s.engine, 1n);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      const required = initialMargin(s.u.notional(WAD + 1n, 2_600n * WAD), defaultParams.maxLeverage);
      await expect(s.engine.connect(s.signers.alice).increase(1n, 50n * USDC, 1n, ethers.MaxUint256, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(350n * USDC - 400n * USDC - borrowFee, required);
    });

    it("increase: reverts with CollateralBelowMinimum when the settled borrow fee takes collateral under the minimum", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      const { bob } = s.signers;
      const min = defaultParams.minCollateral;
      await s.engine.connect(bob).open(ETH_MARKET, true, min, WAD / 100n, PX, FAR); // id 2
      const before = await posOf(s.engine, 2n);
      await elapse(networkHelpers, DAY, [s.ethFeed]);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD / 100n, PX, index - before.borrowIndex);
      expect(borrowFee).to.be.greaterThan(0n);
      await expect(s.engine.connect(bob).increase(2n, 0n, 1n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "CollateralBelowMinimum")
        .withArgs(min - borrowFee, min);
    });

    it("increase: reverts with OpenInterestCapExceeded past the side's cap", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, maxLongOpenInterest: 2n * WAD });
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, WAD + 1n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "OpenInterestCapExceeded")
        .withArgs(ETH_MARKET, true, 2n * WAD + 1n, 2n * WAD);
    });

    it("increase: reverts with InsufficientFreeLiquidity when the added reserve exceeds free liquidity", async () => {
      const s = await networkHelpers.loadFixture(withLongSmallPool);
      const l = await s.engine.ledger();
      const bps = defaultRisk.maxProfitFactorBps;
      // Free liquidity once the old 750 reserve is released, against the new 1,500 reserve.
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, WAD / 2n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(l.lpAssets - l.reserved + s.u.maxProfit(WAD / 2n, PX, bps), s.u.maxProfit(WAD, PX, bps));
    });

    it("increase: reverts with InsufficientFreeLiquidity when the realised profit plus the new reserve exceed free liquidity", async () => {
      const s = await networkHelpers.loadFixture(withLongSmallPool);
      await s.ethFeed.updateAnswer(4_000n * 10n ** 8n); // 0.5 ETH x 1,000 = 500 of profit, 250 of cap left
      const l = await s.engine.ledger();
      const free = l.lpAssets - l.reserved + 750n * USDC;
      // Factor 250 / 2,000 = 12.5 %: 1.5 ETH reserve 750; with the 500 paid out the pool needs 1,250.
      expect(free).to.be.lessThan(1_250n * USDC);
      expect(free).to.be.greaterThan(750n * USDC);
      await expect(s.engine.connect(s.signers.alice).increase(1n, 0n, WAD, ethers.MaxUint256, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(free, 1_250n * USDC);
    });

    it("increase: reverts with AmountTooLarge when the realised profit takes the collateral past its field", async () => {
      const s = await networkHelpers.loadFixture(withLong);
      await s.ethFeed.updateAnswer(3_100n * 10n ** 8n); // 100 USDC of profit
      const before = await posOf(s.engine, 1n);
      const t = await nextBlockAt(networkHelpers, 1n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const borrowFee = s.u.borrowFee(WAD, PX, index - before.borrowIndex);
      await expect(s.engine.connect(s.signers.alice).increase(1n, MAX_UINT96 - 300n * USDC, WAD, ethers.MaxUint256, FAR))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(MAX_UINT96 + 100n * USDC - borrowFee, MAX_UINT96);
    });
  });
});
