import { expect } from "chai";
import { network } from "hardhat";
import {
  BTC_MARKET,
  BTC_PRICE,
  ETH_MARKET,
  ETH_PRICE,
  FAR,
  HEARTBEAT,
  USDC,
  WAD,
  defaultParams,
  defaultRisk,
  wadFromFeed,
} from "../helpers/fixture.js";
import { ceilDiv, health, liquidationSplit, type Risk } from "../helpers/reference.js";
import {
  deployUnitSystem,
  expectBalanceDeltas,
  expectPoolConserved,
  expectedIndexAt,
  nextBlockAt,
  posOf,
  riskOf,
} from "../helpers/unit.js";
import { mappingOfStruct, storageLayoutOf } from "../helpers/storageLayout.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;
const RISK0: Risk = defaultRisk;

/**
 * 1: Alice long 1 ETH, 300 USDC (10x). 2: Bob long 1 ETH, 75 USDC (40x).
 * 3: Carol short 1 ETH, 75 USDC (40x). 4: Carol long 1 ETH, 75 USDC (40x).
 */
async function withPositions() {
  return openPositions(await deployUnitSystem(ethers));
}

/** The same positions on markets with zero borrow rates: equity does not move with time. */
async function withPositionsNoBorrow() {
  const s = await deployUnitSystem(ethers);
  const noBorrow = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n };
  await s.engine.setMarketParams(ETH_MARKET, noBorrow);
  await s.engine.setMarketParams(BTC_MARKET, noBorrow);
  return openPositions(s);
}

async function openPositions(s: Awaited<ReturnType<typeof deployUnitSystem>>) {
  const { alice, bob, carol } = s.signers;
  await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  await s.engine.connect(bob).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  await s.engine.connect(carol).open(ETH_MARKET, false, 75n * USDC, WAD, PX, FAR);
  await s.engine.connect(carol).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  return s;
}

type S = Awaited<ReturnType<typeof withPositions>>;

/** Sets the ETH price, pins the next block and returns the reference liquidation of `id` there. */
async function expectedLiquidation(s: S, id: bigint, usd: bigint, risk: Risk = RISK0) {
  await s.ethFeed.updateAnswer(feedAnswer(usd));
  const t = await nextBlockAt(networkHelpers, 1n);
  const p = await posOf(s.engine, id);
  const index = await expectedIndexAt(s.engine, p.marketId, t);
  const vaultBalance = await s.token.balanceOf(await s.engine.vaultOf(id));
  const l = await s.engine.ledger();
  return { price: usd * WAD, index, p, x: liquidationSplit(s.u, p, risk, usd * WAD, index, vaultBalance, l.insuranceFund) };
}

describe("liquidate", () => {
  describe("effects", () => {
    it("liquidate: pays the keeper liquidationFee(p) from the vault and the vault's remainder to the insurance fund", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { bob, keeper, alice } = s.signers;
      const { price, x } = await expectedLiquidation(s, 2n, 2_950n);
      expect(x.liquidatable).to.equal(true);
      expect(x.keeperReward).to.equal(14_750_000n); // 0.5% of 2950 USDC
      expect(x.maintenance).to.equal(29_500_000n); // 0.5% + the keeper fee
      expect(x.toInsurance).to.equal(75n * USDC - 50n * USDC - x.borrowFee - 14_750_000n);
      expect([x.fromInsurance, x.fromPool, x.badDebt]).to.deep.equal([0n, 0n, 0n]);
      const before = await s.engine.ledger();
      const vault = await s.engine.vaultOf(2n);
      await expectBalanceDeltas(
        s.token,
        [keeper, bob, vault, s.pool, alice, await s.engine.vaultOf(1n)],
        async () => {
          await expect(s.engine.connect(keeper).liquidate(2n))
            .to.emit(s.engine, "PositionLiquidated")
            .withArgs(
              2n,
              keeper.address,
              bob.address,
              price,
              x.equity,
              x.maintenance,
              x.keeperReward,
              0n,
              x.toInsurance,
              0n,
              0n,
              x.lpDelta,
            );
        },
        [x.keeperReward, 0n, -75n * USDC, 75n * USDC - x.keeperReward, 0n, 0n],
      );
      const l = await s.engine.ledger();
      expect(l.lpAssets - before.lpAssets).to.equal(50n * USDC + x.borrowFee);
      expect(l.insuranceFund - before.insuranceFund).to.equal(x.toInsurance);
      expect(before.reserved - l.reserved).to.equal(s.u.maxProfit(WAD, PX, RISK0.maxProfitFactorBps));
      expect(l.protocolFees).to.equal(before.protocolFees);
      await expectPoolConserved(s);
    });

    it("liquidate: burns the token, deletes the record and removes the open interest", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n))
        .to.emit(s.engine, "Transfer")
        .withArgs(s.signers.bob.address, ethers.ZeroAddress, 2n);
      expect((await s.engine.position(2n)).size).to.equal(0n);
      await expect(s.engine.ownerOf(2n)).to.be.revertedWithCustomError(s.engine, "TokenDoesNotExist");
      const m = await s.engine.market(ETH_MARKET);
      expect([m.longSize, m.longSizeEntry]).to.deep.equal([2n * WAD, 2n * WAD * PX]);
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(2n);
    });

    it("liquidate: bad debt is covered by the insurance fund first, then by the pool", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { keeper } = s.signers;
      await s.engine.connect(keeper).fundInsurance(10n * USDC);
      const { price, x } = await expectedLiquidation(s, 2n, 2_900n);
      expect(x.equity).to.be.lessThan(0n);
      expect(x.badDebt).to.equal(25n * USDC + x.borrowFee);
      expect(x.fromInsurance).to.equal(10n * USDC);
      // 75 in the vault against a 100 loss (+ borrow fee) and a 14.5 reward: 39.5 (+ fee) short.
      expect(x.fromPool).to.equal(29_500_000n + x.borrowFee);
      expect(x.lpDelta).to.equal(70_500_000n); // LPs get the vault's 75 - 14.5 reward + 10 from insurance
      const before = await s.engine.ledger();
      await expectBalanceDeltas(
        s.token,
        [keeper, await s.engine.vaultOf(2n), s.pool],
        async () => {
          await expect(s.engine.connect(keeper).liquidate(2n))
            .to.emit(s.engine, "PositionLiquidated")
            .withArgs(2n, keeper.address, s.signers.bob.address, price, x.equity, x.maintenance, 14_500_000n, x.badDebt, 0n, 10n * USDC, x.fromPool, x.lpDelta);
        },
        [14_500_000n, -75n * USDC, 75n * USDC - 14_500_000n],
      );
      const l = await s.engine.ledger();
      expect(l.insuranceFund).to.equal(before.insuranceFund - 10n * USDC);
      expect(l.lpAssets - before.lpAssets).to.equal(x.lpDelta);
      await expectPoolConserved(s);
    });

    it("liquidate: with an empty insurance fund the pool covers the whole shortfall", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { price, x } = await expectedLiquidation(s, 2n, 2_800n);
      expect((await s.engine.ledger()).insuranceFund).to.equal(0n);
      expect(x.fromPool).to.equal(200n * USDC + x.borrowFee + 14n * USDC - 75n * USDC);
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n))
        .to.emit(s.engine, "PositionLiquidated")
        .withArgs(2n, s.signers.keeper.address, s.signers.bob.address, price, x.equity, x.maintenance, 14n * USDC, x.badDebt, 0n, 0n, x.fromPool, x.lpDelta);
      await expectPoolConserved(s);
    });

    it("liquidate: a donation in the vault goes to the insurance fund, never to the owner", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { bob, carol, keeper } = s.signers;
      const vault = await s.engine.vaultOf(2n);
      await s.token.connect(carol).transfer(vault, 5n * USDC);
      const { x } = await expectedLiquidation(s, 2n, 2_950n);
      expect(x.toInsurance).to.equal(80n * USDC - 50n * USDC - x.borrowFee - 14_750_000n);
      const before = await s.engine.ledger();
      await expectBalanceDeltas(
        s.token,
        [bob, vault, keeper, s.pool],
        () => s.engine.connect(keeper).liquidate(2n),
        [0n, -80n * USDC, x.keeperReward, 80n * USDC - x.keeperReward],
      );
      expect((await s.engine.ledger()).insuranceFund - before.insuranceFund).to.equal(x.toInsurance);
      await expectPoolConserved(s);
    });

    it("liquidate: the keeper reward is at least minLiquidationFee", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { bob, keeper } = s.signers;
      await s.engine.connect(bob).open(ETH_MARKET, true, 10n * USDC, WAD / 100n, PX, FAR); // id 5
      const { x } = await expectedLiquidation(s, 5n, 2_110n);
      expect(x.liquidatable).to.equal(true);
      expect(x.keeperReward).to.equal(RISK0.minLiquidationFee); // 0.5% of 21.1 USDC is below 1 USDC
      await expectBalanceDeltas(s.token, [keeper], () => s.engine.connect(keeper).liquidate(5n), [USDC]);
      await expectPoolConserved(s);
    });

    it("liquidate: a short is liquidated when the price rises", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { carol, keeper } = s.signers;
      const { price, x } = await expectedLiquidation(s, 3n, 3_050n);
      expect(x.liquidatable).to.equal(true);
      await expectBalanceDeltas(
        s.token,
        [carol, keeper, await s.engine.vaultOf(3n)],
        async () => {
          await expect(s.engine.connect(keeper).liquidate(3n))
            .to.emit(s.engine, "PositionLiquidated")
            .withArgs(3n, keeper.address, carol.address, price, x.equity, x.maintenance, x.keeperReward, 0n, x.toInsurance, 0n, 0n, x.lpDelta);
        },
        [0n, x.keeperReward, -75n * USDC],
      );
      const m = await s.engine.market(ETH_MARKET);
      expect([m.shortSize, m.shortSizeEntry]).to.deep.equal([0n, 0n]);
      await expectPoolConserved(s);
    });

    it("liquidate: works while the protocol and the market are paused", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.engine.connect(s.signers.guardian).setPaused(true);
      await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n)).to.emit(s.engine, "PositionLiquidated");
    });

    it("liquidate: equals previewLiquidation evaluated in the same block", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.ethFeed.updateAnswer(feedAnswer(2_900n));
      await s.engine.connect(s.signers.keeper).fundInsurance(3n * USDC);
      const preview = await s.engine.previewLiquidation(2n);
      const result = await s.engine.connect(s.signers.keeper).liquidate.staticCall(2n);
      expect([...result]).to.deep.equal([...preview]);
      expect(preview.liquidatable).to.equal(true);
    });
  });

  describe("reverts", () => {
    it("liquidate: reverts with PositionNotLiquidatable(id, equity, maintenance) for a healthy position", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { x } = await expectedLiquidation(s, 2n, 2_960n);
      expect(x.liquidatable).to.equal(false);
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n))
        .to.be.revertedWithCustomError(s.engine, "PositionNotLiquidatable")
        .withArgs(2n, x.equity, x.maintenance);
    });

    it("liquidate: a position exactly at maintenance is not liquidatable; one price tick lower it is", async () => {
      const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
      const { carol, keeper } = s.signers;
      // 1 ETH long at 3000 with 79.5 USDC: at 2950, equity = 79.5 - 50 = 29.5 = 0.5% + 0.5% of 2950.
      await s.engine.connect(carol).open(ETH_MARKET, true, 79_500_000n, WAD, PX, FAR); // id 5
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(keeper).liquidate(5n))
        .to.be.revertedWithCustomError(s.engine, "PositionNotLiquidatable")
        .withArgs(5n, 29_500_000n, 29_500_000n);
      expect(await s.engine.isLiquidatable(5n)).to.equal(false);
      // The lens's closed form gives exactly this price: equity = maintenance, so (strict <) not
      // liquidatable there, although IBulkheadLens says "a long is liquidatable at or below it".
      expect(await s.lens.liquidationPrice(5n)).to.equal(2_950n * WAD);
      expect((await s.lens.healthAt(5n, 2_950n * WAD)).liquidatable).to.equal(false);
      await s.ethFeed.updateAnswer(294_999_999_900n); // 2949.999999
      await expect(s.engine.connect(keeper).liquidate(5n))
        .to.emit(s.engine, "PositionLiquidated")
        .withArgs(5n, keeper.address, carol.address, 2_949_999_999n * 10n ** 12n, 29_499_999n, 29_500_000n, 14_749_999n, 0n, 14_750_000n, 0n, 0n, 50_000_001n);
    });

    it("liquidate: reverts with PositionNotFound for an unknown id", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await expect(s.engine.liquidate(42n)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(42n);
      await expect(s.engine.previewLiquidation(42n))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(42n);
    });

    it("liquidate: a stale price halts it (StalePrice) and isLiquidatable reports false", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.ethFeed.updateAnswer(feedAnswer(2_900n));
      expect(await s.engine.isLiquidatable(2n)).to.equal(true);
      const updatedAt = (await s.ethFeed.latestRoundData()).updatedAt;
      await networkHelpers.time.increase(HEARTBEAT + 1n);
      expect(await s.engine.isLiquidatable(2n)).to.equal(false);
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n))
        .to.be.revertedWithCustomError(s.engine, "StalePrice")
        .withArgs(await s.ethFeed.getAddress(), updatedAt, HEARTBEAT);
    });
  });

  describe("views", () => {
    it("isLiquidatable: false for unknown ids and healthy positions, true under maintenance", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      expect(await s.engine.isLiquidatable(0n)).to.equal(false);
      expect(await s.engine.isLiquidatable(99n)).to.equal(false);
      expect(await s.engine.isLiquidatable(2n)).to.equal(false);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      expect(await s.engine.isLiquidatable(1n)).to.equal(false);
      expect(await s.engine.isLiquidatable(2n)).to.equal(true);
    });

    it("previewLiquidation: a healthy position previews liquidatable = false with its equity and maintenance only", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const p = await s.engine.previewLiquidation(1n);
      expect(p.liquidatable).to.equal(false);
      expect(p.maintenance).to.equal(30n * USDC);
      expect([p.badDebt, p.toInsurance, p.fromInsurance, p.fromPool, p.lpDelta]).to.deep.equal([0n, 0n, 0n, 0n, 0n]);
    });

    it("health, healthAt, liquidationPrice (lens): an id never opened, or closed, reverts with PositionNotFound(id)", async () => {
      const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
      await (await s.engine.connect(s.signers.alice).close(1n, 0n, FAR)).wait();
      for (const id of [1n, 99n]) {
        await expect(s.lens.health(id)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(id);
        await expect(s.lens.healthAt(id, PX)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(id);
        await expect(s.lens.liquidationPrice(id)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(id);
      }
    });

    it("liquidationPrice (lens): a long's equals the closed form; liquidatable just below it, not above it", async () => {
      const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
      // Proportional branch: 75 + (p - 3000) = 1% p, so p = 2925 / 0.99, rounded up.
      const expected = ceilDiv(2_925n * WAD * WAD, (99n * WAD) / 100n);
      const lp = await s.lens.liquidationPrice(2n);
      expect(lp).to.equal(expected);
      expect((await s.lens.health(2n)).liquidationPrice).to.equal(expected);
      expect((await s.lens.healthAt(2n, lp)).liquidatable).to.equal(true);
      expect((await s.lens.healthAt(2n, lp - 10n ** 12n)).liquidatable).to.equal(true);
      expect((await s.lens.healthAt(2n, lp + 2n * 10n ** 12n)).liquidatable).to.equal(false);
    });

    it("liquidationPrice (lens): a short's equals the closed form; liquidatable just above it, not below it", async () => {
      const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
      // Proportional branch: 75 + (3000 - p) = 1% p, so p = 3075 / 1.01, rounded down.
      const expected = (3_075n * WAD * WAD) / ((101n * WAD) / 100n);
      const lp = await s.lens.liquidationPrice(3n);
      expect(lp).to.equal(expected);
      expect((await s.lens.healthAt(3n, lp + 10n ** 12n)).liquidatable).to.equal(true);
      expect((await s.lens.healthAt(3n, lp - 2n * 10n ** 12n)).liquidatable).to.equal(false);
    });

    it("liquidationPrice (lens): the fixed-fee branch wins for a small position", async () => {
      const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
      await s.engine.connect(s.signers.bob).open(ETH_MARKET, true, 10n * USDC, WAD / 100n, PX, FAR); // id 5
      // 10 + 0.01 (p - 3000) = 0.005 * 0.01 p + 1  =>  p = 2100 / 0.00995 (the 0.5% fee is below 1 USDC)
      const expected = ceilDiv(((WAD / 100n) * PX + (USDC - 10n * USDC) * 10n ** 30n) * WAD, (WAD / 100n) * (WAD - WAD / 200n));
      expect(await s.lens.liquidationPrice(5n)).to.equal(expected);
      expect(expected / WAD).to.equal(2_110n);
    });
  });

  describe("risk snapshot", () => {
    it("setRiskParams after open changes neither an open position's maintenance nor its liquidatability", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { carol, keeper } = s.signers;
      const strict: Risk = { mmr: WAD / 100n, liquidationFeeRate: (99n * WAD) / 10_000n, minLiquidationFee: USDC, maxProfitFactorBps: 5000n };
      await expect(s.engine.setRiskParams(ETH_MARKET, strict)).to.emit(s.engine, "RiskParamsSet");
      expect(await riskOf(s.engine, ETH_MARKET, 1n)).to.deep.equal(strict);
      await s.engine.connect(carol).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR); // id 5, version 1
      expect((await s.engine.position(5n)).riskVersion).to.equal(1n);
      expect((await s.engine.position(2n)).riskVersion).to.equal(0n);

      const { x: old } = await expectedLiquidation(s, 2n, 2_970n, RISK0);
      const underNew = health(s.u, await posOf(s.engine, 2n), strict, 2_970n * WAD, 0n);
      expect(underNew.liquidatable).to.equal(true); // would be, under the new parameters
      expect(old.liquidatable).to.equal(false);
      await expect(s.engine.connect(keeper).liquidate(2n))
        .to.be.revertedWithCustomError(s.engine, "PositionNotLiquidatable")
        .withArgs(2n, old.equity, old.maintenance);
      expect(old.maintenance).to.equal(29_700_000n);
      expect(await s.engine.isLiquidatable(2n)).to.equal(false);
      expect(await s.engine.isLiquidatable(5n)).to.equal(true);
      const { x: fresh } = await expectedLiquidation(s, 5n, 2_970n, strict);
      await expect(s.engine.connect(keeper).liquidate(5n))
        .to.emit(s.engine, "PositionLiquidated")
        .withArgs(5n, keeper.address, carol.address, 2_970n * WAD, fresh.equity, fresh.maintenance, fresh.keeperReward, 0n, fresh.toInsurance, 0n, 0n, fresh.lpDelta);
    });
  });
});

describe("liquidateMany", () => {
  it("liquidateMany: liquidates the liquidatable ids, skips healthy and unknown ones, pays the keeper once", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { keeper } = s.signers;
    await s.ethFeed.updateAnswer(feedAnswer(2_950n));
    const ids = [1n, 2n, 99n, 3n, 4n, 0n];
    const [count, reward] = await s.engine.connect(keeper).liquidateMany.staticCall(ids);
    expect(count).to.equal(2n);
    expect(reward).to.equal(2n * 14_750_000n);
    await expectBalanceDeltas(
      s.token,
      [keeper, s.signers.alice, s.signers.carol],
      async () => {
        await expect(s.engine.connect(keeper).liquidateMany(ids)).to.emit(s.engine, "PositionLiquidated");
      },
      [2n * 14_750_000n, 0n, 0n],
    );
    expect((await s.engine.position(1n)).size).to.equal(WAD);
    expect((await s.engine.position(3n)).size).to.equal(WAD);
    expect((await s.engine.position(2n)).size).to.equal(0n);
    expect((await s.engine.position(4n)).size).to.equal(0n);
    await expectPoolConserved(s);
  });

  it("liquidateMany: skips positions on a market whose price is invalid without reverting", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { bob, keeper } = s.signers;
    const btcPx = wadFromFeed(BTC_PRICE);
    await s.engine.connect(bob).open(BTC_MARKET, true, 75n * USDC, WAD / 20n, btcPx, FAR); // id 5, 40x
    await s.btcFeed.updateAnswer(58_000n * 10n ** 8n);
    expect(await s.engine.isLiquidatable(5n)).to.equal(true);
    await s.ethFeed.updateAnswer(feedAnswer(2_950n));
    const broken = await ethers.deployContract("RevertingAggregator");
    await s.engine.setFeed(BTC_MARKET, broken, HEARTBEAT);
    await expect(s.engine.connect(keeper).liquidateMany([5n, 2n, 4n]))
      .to.emit(s.engine, "PositionLiquidated")
      .withArgs(2n, keeper.address, bob.address, 2_950n * WAD, (x: bigint) => x > 0n, 29_500_000n, 14_750_000n, 0n, (x: bigint) => x > 0n, 0n, 0n, (x: bigint) => x > 0n);
    expect((await s.engine.position(5n)).size).to.equal(WAD / 20n);
    expect((await s.engine.position(4n)).size).to.equal(0n);
    // A stale (not reverting) feed is skipped the same way.
    await s.engine.setFeed(BTC_MARKET, s.btcFeed, HEARTBEAT);
    await networkHelpers.time.increase(HEARTBEAT + 1n);
    const [count, reward] = await s.engine.connect(keeper).liquidateMany.staticCall([5n]);
    expect([count, reward]).to.deep.equal([0n, 0n]);
  });

  it("liquidateMany: a batch with nothing to liquidate changes nothing and pays nothing", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const ledger = await s.engine.ledger();
    await expectBalanceDeltas(
      s.token,
      [s.signers.keeper, s.pool],
      async () => {
        await expect(s.engine.connect(s.signers.keeper).liquidateMany([1n, 2n, 3n, 4n, 77n])).to.not.emit(
          s.engine,
          "PositionLiquidated",
        );
        await expect(s.engine.connect(s.signers.keeper).liquidateMany([])).to.not.emit(s.engine, "PositionLiquidated");
      },
      [0n, 0n],
    );
    expect(await s.engine.ledger()).to.deep.equal(ledger);
  });

  it("liquidateMany: at the boundary it agrees with liquidate (equity = maintenance skipped, one tick past liquidated)", async () => {
    // Healthy ids are skipped through a conservative stack-only bound; ids within a few units of
    // their boundary must fall through to the exact health, like these two.
    const s = await networkHelpers.loadFixture(withPositionsNoBorrow);
    const { carol, keeper } = s.signers;
    // 5: 1 ETH long with 79.5 USDC, at maintenance at 2950 (see the liquidate test above).
    // 6: 1 ETH short with 80.5 USDC: at 3050, equity = 80.5 - 50 = 30.5 = 0.5% + 0.5% of 3050.
    await s.engine.connect(carol).open(ETH_MARKET, true, 79_500_000n, WAD, PX, FAR); // id 5
    await s.engine.connect(carol).open(ETH_MARKET, false, 80_500_000n, WAD, 0n, FAR); // id 6
    await s.ethFeed.updateAnswer(feedAnswer(2_950n));
    expect(await s.engine.connect(keeper).liquidateMany.staticCall([5n])).to.deep.equal([0n, 0n]);
    await s.ethFeed.updateAnswer(294_999_999_900n);
    // The reward rounds down: 0.5 % of 2,949.999999 is 14.749999995.
    expect(await s.engine.connect(keeper).liquidateMany.staticCall([5n])).to.deep.equal([1n, 14_749_999n]);
    await s.ethFeed.updateAnswer(feedAnswer(3_050n));
    expect((await s.engine.previewLiquidation(6n)).equity).to.equal(30_500_000n);
    expect(await s.engine.connect(keeper).liquidateMany.staticCall([6n])).to.deep.equal([0n, 0n]);
    await s.ethFeed.updateAnswer(305_000_000_100n); // 3050.000001
    expect(await s.engine.isLiquidatable(6n)).to.equal(true);
    await expect(s.engine.connect(keeper).liquidateMany([6n, 5n])).to.emit(s.engine, "PositionLiquidated").withArgs(6n, keeper.address, carol.address, 3_050_000_001n * 10n ** 12n, 30_499_999n, 30_500_002n, (x: bigint) => x > 0n, 0n, (x: bigint) => x >= 0n, 0n, 0n, (x: bigint) => x > 0n);
    expect((await s.engine.position(5n)).size).to.equal(WAD);
  });

  it("liquidateMany: the packed record layout its raw slot reads assume is the compiler's", async () => {
    // Bulkhead._positionSlots reads `_positions[id]` as two raw words and unpacks them by these
    // offsets; a reordered or resized Position field must fail here, not in production.
    const layout = mappingOfStruct(await storageLayoutOf("Bulkhead"), "_positions");
    expect(layout.structSlots).to.equal(2);
    expect(layout.members.map((m) => [m.label, Number(m.slot), m.offset * 8, m.bytes * 8])).to.deep.equal([
      ["size", 0, 0, 128],
      ["entryPrice", 0, 128, 96],
      ["marketId", 0, 224, 16],
      ["isLong", 0, 240, 8],
      ["collateral", 1, 0, 96],
      ["borrowIndex", 1, 96, 96],
      ["riskVersion", 1, 192, 32],
      ["maxProfitFactorBps", 1, 224, 32],
    ]);
  });

  it("liquidateMany: a duplicated id is liquidated once", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    await s.ethFeed.updateAnswer(feedAnswer(2_950n));
    const [count, reward] = await s.engine.connect(s.signers.keeper).liquidateMany.staticCall([2n, 2n, 2n]);
    expect([count, reward]).to.deep.equal([1n, 14_750_000n]);
  });

  it("liquidateMany: ends in the same state as liquidating each id on its own", async () => {
    const s = await networkHelpers.loadFixture(withPositions);
    const { keeper } = s.signers;
    // Zero borrow rates so block times do not matter; positions under two risk versions, two markets.
    const noBorrow = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n };
    await s.engine.setMarketParams(ETH_MARKET, noBorrow);
    await s.engine.setMarketParams(BTC_MARKET, noBorrow);
    await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, liquidationFeeRate: WAD / 100n });
    await s.engine.connect(s.signers.carol).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR); // id 5, version 1
    await s.engine.connect(s.signers.bob).open(BTC_MARKET, true, 75n * USDC, WAD / 20n, ethers.MaxUint256, FAR); // id 6
    await s.engine.connect(keeper).fundInsurance(5n * USDC);
    await s.ethFeed.updateAnswer(feedAnswer(2_900n));
    await s.btcFeed.updateAnswer(58_000n * 10n ** 8n);
    const ids = [6n, 2n, 1n, 5n, 4n];
    const snapshot = await networkHelpers.takeSnapshot();
    const k0 = await s.token.balanceOf(keeper);
    for (const id of ids) {
      if (await s.engine.isLiquidatable(id)) await s.engine.connect(keeper).liquidate(id);
    }
    const one = { ledger: await s.engine.ledger(), keeper: (await s.token.balanceOf(keeper)) - k0, pool: await s.token.balanceOf(s.pool) };
    await snapshot.restore();
    await s.engine.connect(keeper).liquidateMany(ids);
    const many = { ledger: await s.engine.ledger(), keeper: (await s.token.balanceOf(keeper)) - k0, pool: await s.token.balanceOf(s.pool) };
    expect(many).to.deep.equal(one);
    expect((await s.engine.position(5n)).size).to.equal(0n);
    expect((await s.engine.position(1n)).size).to.equal(WAD);
    await expectPoolConserved(s);
  });
});
