import { expect } from "chai";
import { network } from "hardhat";
import {
  BTC_MARKET,
  ETH_MARKET,
  ETH_PRICE,
  FAR,
  HEARTBEAT,
  USDC,
  WAD,
  YEAR,
  defaultParams,
  defaultRisk,
  wadFromFeed,
} from "../helpers/fixture.js";
import { indexAt, wMulDown } from "../helpers/reference.js";
import { deployUnitSystem, expectBalanceDeltas, expectPoolConserved, expectedIndexAt, nextBlockAt } from "../helpers/unit.js";
import { engineFactory } from "../helpers/engine.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const MAX_UINT96 = 2n ** 96n - 1n;
const MAX_UINT128 = 2n ** 128n - 1n;
const DAY = 86_400n;

async function unitSystem() {
  return deployUnitSystem(ethers);
}

type Params = typeof defaultParams;
type RiskInput = typeof defaultRisk;
const paramsTuple = (p: Params) => [
  p.maxLeverage,
  p.openFeeRate,
  p.closeFeeRate,
  p.baseBorrowRate,
  p.borrowRateSlope,
  p.minCollateral,
  p.maxLongOpenInterest,
  p.maxShortOpenInterest,
];
const riskTuple = (r: RiskInput) => [r.mmr, r.liquidationFeeRate, r.minLiquidationFee, r.maxProfitFactorBps];

/** [name, field, bad value, min, max] for every MarketParams bound (ConstantsLib, DESIGN "bounds"). */
const PARAM_BOUNDS: [string, keyof Params, bigint, bigint, bigint][] = [
  ["maxLeverage", "maxLeverage", (11n * WAD) / 10n - 1n, (11n * WAD) / 10n, 100n * WAD],
  ["maxLeverage", "maxLeverage", 100n * WAD + 1n, (11n * WAD) / 10n, 100n * WAD],
  ["openFeeRate", "openFeeRate", WAD / 100n + 1n, 0n, WAD / 100n],
  ["closeFeeRate", "closeFeeRate", WAD / 100n + 1n, 0n, WAD / 100n],
  ["baseBorrowRate", "baseBorrowRate", WAD / YEAR + 1n, 0n, WAD / YEAR],
  ["borrowRateSlope", "borrowRateSlope", (4n * WAD) / YEAR + 1n, 0n, (4n * WAD) / YEAR],
  ["minCollateral", "minCollateral", 0n, 1n, MAX_UINT96],
  ["minCollateral", "minCollateral", MAX_UINT96 + 1n, 1n, MAX_UINT96],
  ["maxLongOpenInterest", "maxLongOpenInterest", MAX_UINT128 + 1n, 0n, MAX_UINT128],
  ["maxShortOpenInterest", "maxShortOpenInterest", MAX_UINT128 + 1n, 0n, MAX_UINT128],
];

/** [name, field, bad value, min, max] for every RiskParams bound (with the default market params). */
const RISK_BOUNDS: [string, keyof RiskInput, bigint, bigint, bigint][] = [
  ["mmr", "mmr", WAD / 1000n - 1n, WAD / 1000n, WAD / 2n],
  ["mmr", "mmr", WAD / 2n + 1n, WAD / 1000n, WAD / 2n],
  ["liquidationFeeRate", "liquidationFeeRate", (5n * WAD) / 100n + 1n, 0n, (5n * WAD) / 100n],
  ["maxProfitFactorBps", "maxProfitFactorBps", 999n, 1_000n, 100_000n],
  ["maxProfitFactorBps", "maxProfitFactorBps", 100_001n, 1_000n, 100_000n],
];

describe("governance", () => {
  describe("listMarket", () => {
    it("listMarket: stores the market at risk version 0 and emits MarketListed", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const feed = await ethers.deployContract("MockV3Aggregator", [18n, 150n * WAD]);
      const params = { ...defaultParams, maxLeverage: 20n * WAD, openFeeRate: WAD / 500n };
      const risk = { ...defaultRisk, mmr: WAD / 100n };
      const t = await nextBlockAt(networkHelpers, 3n);
      await expect(s.engine.listMarket(feed, 600n, params, risk))
        .to.emit(s.engine, "MarketListed")
        .withArgs(2n, await feed.getAddress(), 600n, 18n, paramsTuple(params), riskTuple(risk));
      expect(await s.engine.marketCount()).to.equal(3n);
      const m = await s.engine.market(2n);
      // The index starts at 0 and the market's rate integral at its value for this block.
      const integral = indexAt({ ...params, borrowIndex: 0n, rateIntegral: 0n }, await s.engine.ledger(), await s.engine.utilisationAccumulator(), t);
      expect([m.feed, m.heartbeat, m.feedDecimals, m.paused, m.riskVersion, m.rateIntegral, m.borrowIndex]).to.deep.equal([
        await feed.getAddress(),
        600n,
        18n,
        false,
        0n,
        integral,
        0n,
      ]);
      expect([m.maxLeverage, m.openFeeRate, m.closeFeeRate, m.baseBorrowRate, m.borrowRateSlope, m.minCollateral]).to.deep.equal(
        paramsTuple(params).slice(0, 6),
      );
      expect([m.maxLongOpenInterest, m.maxShortOpenInterest]).to.deep.equal(paramsTuple(params).slice(6));
      expect(riskTuple(await s.engine.riskParams(2n, 0n))).to.deep.equal(riskTuple(risk));
      expect(await s.engine.price(2n)).to.equal(150n * WAD);
    });

    it("listMarket: reverts with OwnableUnauthorizedAccount for anyone but the owner", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { guardian } = s.signers;
      await expect(s.engine.connect(guardian).listMarket(s.ethFeed, HEARTBEAT, defaultParams, defaultRisk))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(guardian.address);
    });

    it("listMarket: reverts with FeedHasNoCode for an address without code", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const eoa = s.signers.carol.address;
      await expect(s.engine.listMarket(eoa, HEARTBEAT, defaultParams, defaultRisk))
        .to.be.revertedWithCustomError(s.engine, "FeedHasNoCode")
        .withArgs(eoa);
    });

    it("listMarket: reverts with TooManyMarkets(16) for the 17th market", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      for (let i = 2; i < 16; i++) await s.engine.listMarket(s.ethFeed, HEARTBEAT, defaultParams, defaultRisk);
      expect(await s.engine.marketCount()).to.equal(16n);
      await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, defaultParams, defaultRisk))
        .to.be.revertedWithCustomError(s.engine, "TooManyMarkets")
        .withArgs(16n);
      // LP accounting loops over all 16 markets and still works.
      expect(await s.pool.totalAssets()).to.equal((await s.engine.ledger()).lpAssets);
    });

    it("listMarket: reverts with ParameterOutOfBounds for a heartbeat outside [60 s, 2 days]", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      for (const hb of [59n, 2n * DAY + 1n]) {
        await expect(s.engine.listMarket(s.ethFeed, hb, defaultParams, defaultRisk))
          .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
          .withArgs("heartbeat", hb, 60n, 2n * DAY);
      }
      await expect(s.engine.listMarket(s.ethFeed, 60n, defaultParams, defaultRisk)).to.emit(s.engine, "MarketListed");
      await expect(s.engine.listMarket(s.ethFeed, 2n * DAY, defaultParams, defaultRisk)).to.emit(s.engine, "MarketListed");
    });

    it("listMarket: reverts with ParameterOutOfBounds for a feed with more than 36 decimals", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const feed = await ethers.deployContract("MockV3Aggregator", [37n, 1n]);
      await expect(s.engine.listMarket(feed, HEARTBEAT, defaultParams, defaultRisk))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("feedDecimals", 37n, 0n, 36n);
    });

    for (const [name, field, bad, min, max] of PARAM_BOUNDS) {
      it(`listMarket: reverts with ParameterOutOfBounds("${name}") for ${bad < min ? "below" : "above"} its bound`, async () => {
        const s = await networkHelpers.loadFixture(unitSystem);
        const params = { ...defaultParams, [field]: bad };
        await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, params, defaultRisk))
          .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
          .withArgs(name, bad, min, max);
        await expect(s.engine.setMarketParams(ETH_MARKET, params))
          .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
          .withArgs(name, bad, min, max);
      });
    }

    for (const [name, field, bad, min, max] of RISK_BOUNDS) {
      it(`listMarket: reverts with ParameterOutOfBounds("${name}") for ${bad < min ? "below" : "above"} its bound`, async () => {
        const s = await networkHelpers.loadFixture(unitSystem);
        const risk = { ...defaultRisk, [field]: bad };
        await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, defaultParams, risk))
          .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
          .withArgs(name, bad, min, max);
        await expect(s.engine.setRiskParams(ETH_MARKET, risk))
          .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
          .withArgs(name, bad, min, max);
      });
    }

    it("listMarket: accepts every bound exactly", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const loose = {
        maxLeverage: (11n * WAD) / 10n,
        openFeeRate: WAD / 100n,
        closeFeeRate: WAD / 100n,
        baseBorrowRate: WAD / YEAR,
        borrowRateSlope: (4n * WAD) / YEAR,
        minCollateral: MAX_UINT96,
        maxLongOpenInterest: MAX_UINT128,
        maxShortOpenInterest: 0n,
      };
      const risk = { mmr: WAD / 2n, liquidationFeeRate: (5n * WAD) / 100n, minLiquidationFee: 0n, maxProfitFactorBps: 100_000n };
      await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, loose, risk)).to.emit(s.engine, "MarketListed");
      const tight = { ...defaultParams, maxLeverage: 100n * WAD, openFeeRate: 0n, closeFeeRate: 0n, baseBorrowRate: 0n, borrowRateSlope: 0n, minCollateral: 1n };
      await expect(
        s.engine.listMarket(s.ethFeed, HEARTBEAT, tight, { mmr: WAD / 1000n, liquidationFeeRate: 0n, minLiquidationFee: 0n, maxProfitFactorBps: 1_000n }),
      ).to.emit(s.engine, "MarketListed");
    });
  });

  describe("coupling checks (a fresh max-leverage, min-collateral position is not liquidatable)", () => {
    it('setRiskParams: reverts with ParameterOutOfBounds("mmr+liquidationFeeRate") at 1 / maxLeverage', async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      // maxLeverage 50: the sum must stay below 1/50 = 2%.
      const atLimit = { ...defaultRisk, mmr: WAD / 100n, liquidationFeeRate: WAD / 100n };
      await expect(s.engine.setRiskParams(ETH_MARKET, atLimit))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("mmr+liquidationFeeRate", WAD / 50n, 0n, WAD / 50n - 1n);
      await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, defaultParams, atLimit))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("mmr+liquidationFeeRate", WAD / 50n, 0n, WAD / 50n - 1n);
      await expect(s.engine.setRiskParams(ETH_MARKET, { ...atLimit, liquidationFeeRate: WAD / 100n - 1n })).to.emit(
        s.engine,
        "RiskParamsSet",
      );
    });

    it('setRiskParams: reverts with ParameterOutOfBounds("minLiquidationFee") at minCollateral x (1 - maxLeverage x mmr)', async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      // 10 USDC x (1 - 50 x 0.5%) = 7.5 USDC: the fee must stay below it.
      const room = wMulDown(defaultParams.minCollateral, WAD - (defaultParams.maxLeverage * defaultRisk.mmr) / WAD);
      expect(room).to.equal(7_500_000n);
      await expect(s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, minLiquidationFee: room }))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("minLiquidationFee", room, 0n, room - 1n);
      await expect(s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, minLiquidationFee: room - 1n })).to.emit(
        s.engine,
        "RiskParamsSet",
      );
    });

    it('listMarket: forces minLiquidationFee to 0 when maxLeverage x mmr leaves no room', async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const params = { ...defaultParams, maxLeverage: 100n * WAD, minCollateral: 1_000n };
      const risk = { mmr: WAD / 100n - 1n, liquidationFeeRate: 0n, minLiquidationFee: 1n, maxProfitFactorBps: 5_000n };
      await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, params, risk))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("minLiquidationFee", 1n, 0n, 0n);
      await expect(s.engine.listMarket(s.ethFeed, HEARTBEAT, params, { ...risk, minLiquidationFee: 0n })).to.emit(
        s.engine,
        "MarketListed",
      );
    });

    it("setMarketParams: is checked against the market's current risk parameters", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      // maxLeverage 100 leaves 1% for mmr + fee rate, which the default 0.5% + 0.5% reaches.
      await expect(s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, maxLeverage: 100n * WAD }))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("mmr+liquidationFeeRate", WAD / 100n, 0n, WAD / 100n - 1n);
      // minCollateral 1 USDC leaves 0.75 USDC of room for the 1 USDC minimum fee.
      await expect(s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, minCollateral: USDC }))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("minLiquidationFee", USDC, 0n, 750_000n - 1n);
      // After a risk change to a smaller fee, the same market params pass.
      await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, minLiquidationFee: 100_000n });
      await expect(s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, minCollateral: USDC })).to.emit(
        s.engine,
        "MarketParamsSet",
      );
    });

    it("coupling: a position opened at max leverage with min collateral is not liquidatable", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      // The tightest risk parameters the bounds allow at maxLeverage 50, minCollateral 10 USDC.
      const risk = { mmr: WAD / 200n, liquidationFeeRate: WAD / 50n - WAD / 200n - 1n, minLiquidationFee: 7_499_999n, maxProfitFactorBps: 5_000n };
      await s.engine.setRiskParams(ETH_MARKET, risk);
      const size = (10n * USDC * 50n * 10n ** 30n) / PX; // notional 500 USDC: exactly 50x on 10 USDC
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 10n * USDC, size, PX, FAR);
      const preview = await s.engine.previewLiquidation(1n);
      expect(preview.liquidatable).to.equal(false);
      expect(preview.maintenance).to.be.lessThanOrEqual(10n * USDC);
    });
  });

  describe("setFeed, setMarketParams, setRiskParams", () => {
    it("setFeed: replaces feed and heartbeat and emits FeedSet; checks code and bounds", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const feed = await ethers.deployContract("MockV3Aggregator", [6n, 3_001n * USDC]);
      await expect(s.engine.setFeed(ETH_MARKET, feed, 120n))
        .to.emit(s.engine, "FeedSet")
        .withArgs(ETH_MARKET, await feed.getAddress(), 120n, 6n);
      expect(await s.engine.price(ETH_MARKET)).to.equal(3_001n * WAD);
      await expect(s.engine.setFeed(ETH_MARKET, s.signers.bob.address, 120n))
        .to.be.revertedWithCustomError(s.engine, "FeedHasNoCode")
        .withArgs(s.signers.bob.address);
      await expect(s.engine.setFeed(ETH_MARKET, feed, 59n))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("heartbeat", 59n, 60n, 2n * DAY);
      await expect(s.engine.setFeed(5n, feed, 120n)).to.be.revertedWithCustomError(s.engine, "MarketNotListed").withArgs(5n);
      await expect(s.engine.connect(s.signers.guardian).setFeed(ETH_MARKET, feed, 120n))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(s.signers.guardian.address);
    });

    it("setMarketParams: accrues the borrow index at the old rate first, then applies the new parameters", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      const t = await nextBlockAt(networkHelpers, DAY);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const params = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n, closeFeeRate: 0n };
      await expect(s.engine.setMarketParams(ETH_MARKET, params))
        .to.emit(s.engine, "MarketParamsSet")
        .withArgs(ETH_MARKET, paramsTuple(params));
      const m = await s.engine.market(ETH_MARKET);
      const integral = indexAt({ ...params, borrowIndex: 0n, rateIntegral: 0n }, await s.engine.ledger(), await s.engine.utilisationAccumulator(), t);
      expect([m.borrowIndex, m.rateIntegral, m.closeFeeRate, m.baseBorrowRate]).to.deep.equal([index, integral, 0n, 0n]);
      await networkHelpers.time.increase(DAY);
      expect(await s.engine.currentBorrowIndex(ETH_MARKET)).to.equal(index); // rate 0 from then on
      expect(await s.engine.borrowRate(ETH_MARKET)).to.equal(0n);
    });

    it("setMarketParams and setRiskParams: revert with MarketNotListed and OwnableUnauthorizedAccount", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.setMarketParams(2n, defaultParams)).to.be.revertedWithCustomError(s.engine, "MarketNotListed").withArgs(2n);
      await expect(s.engine.setRiskParams(2n, defaultRisk)).to.be.revertedWithCustomError(s.engine, "MarketNotListed").withArgs(2n);
      const { bob } = s.signers;
      await expect(s.engine.connect(bob).setMarketParams(ETH_MARKET, defaultParams))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(bob.address);
      await expect(s.engine.connect(bob).setRiskParams(ETH_MARKET, defaultRisk))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(bob.address);
    });

    it("setRiskParams: appends a version; new positions take it", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const r1 = { ...defaultRisk, maxProfitFactorBps: 2_000n };
      const r2 = { ...defaultRisk, mmr: WAD / 100n };
      await expect(s.engine.setRiskParams(ETH_MARKET, r1)).to.emit(s.engine, "RiskParamsSet").withArgs(ETH_MARKET, 1n, riskTuple(r1));
      await expect(s.engine.setRiskParams(ETH_MARKET, r2)).to.emit(s.engine, "RiskParamsSet").withArgs(ETH_MARKET, 2n, riskTuple(r2));
      expect((await s.engine.market(ETH_MARKET)).riskVersion).to.equal(2n);
      expect((await s.engine.market(BTC_MARKET)).riskVersion).to.equal(0n);
      expect(riskTuple(await s.engine.riskParams(ETH_MARKET, 1n))).to.deep.equal(riskTuple(r1));
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      expect((await s.engine.position(1n)).riskVersion).to.equal(2n);
    });
  });

  describe("protocol fee, guardian and pause", () => {
    it("setProtocolFeeShare: bounded by 50%; emits ProtocolFeeShareSet; owner only", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.setProtocolFeeShare(WAD / 2n)).to.emit(s.engine, "ProtocolFeeShareSet").withArgs(WAD / 2n);
      expect(await s.engine.protocolFeeShare()).to.equal(WAD / 2n);
      await expect(s.engine.setProtocolFeeShare(WAD / 2n + 1n))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs("protocolFeeShare", WAD / 2n + 1n, 0n, WAD / 2n);
      await expect(s.engine.connect(s.signers.guardian).setProtocolFeeShare(0n))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(s.signers.guardian.address);
    });

    it("withdrawProtocolFees: pays the owner's chosen address from the pool; AmountTooLarge above the fees", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice, carol } = s.signers;
      await s.engine.connect(alice).open(ETH_MARKET, true, 3_000n * USDC, 10n * WAD, PX, FAR); // 30 USDC fee
      const fees = (await s.engine.ledger()).protocolFees;
      expect(fees).to.equal(3n * USDC); // 10% of 30 USDC
      await expect(s.engine.withdrawProtocolFees(carol, fees + 1n))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(fees + 1n, fees);
      await expect(s.engine.connect(carol).withdrawProtocolFees(carol, 1n))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(carol.address);
      await expectBalanceDeltas(
        s.token,
        [carol, s.pool],
        async () => {
          await expect(s.engine.withdrawProtocolFees(carol, fees - 1n))
            .to.emit(s.engine, "ProtocolFeesWithdrawn")
            .withArgs(carol.address, fees - 1n);
        },
        [fees - 1n, -(fees - 1n)],
      );
      expect((await s.engine.ledger()).protocolFees).to.equal(1n);
      await expectPoolConserved(s);
    });

    it("setGuardian: the owner replaces the guardian; the old one loses pause rights", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { guardian, carol } = s.signers;
      expect(await s.engine.guardian()).to.equal(guardian.address);
      await expect(s.engine.setGuardian(carol)).to.emit(s.engine, "GuardianSet").withArgs(carol.address);
      await expect(s.engine.connect(guardian).setPaused(true))
        .to.be.revertedWithCustomError(s.engine, "Unauthorized")
        .withArgs(guardian.address);
      await expect(s.engine.connect(carol).setPaused(true)).to.emit(s.engine, "PauseSet").withArgs(true);
      await expect(s.engine.connect(guardian).setGuardian(guardian))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(guardian.address);
    });

    it("setPaused and setMarketPaused: guardian or owner only (Unauthorized otherwise); emit their events", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { guardian, deployer, bob } = s.signers;
      await expect(s.engine.connect(bob).setPaused(true)).to.be.revertedWithCustomError(s.engine, "Unauthorized").withArgs(bob.address);
      await expect(s.engine.connect(bob).setMarketPaused(ETH_MARKET, true))
        .to.be.revertedWithCustomError(s.engine, "Unauthorized")
        .withArgs(bob.address);
      await expect(s.engine.connect(guardian).setPaused(true)).to.emit(s.engine, "PauseSet").withArgs(true);
      expect(await s.engine.paused()).to.equal(true);
      await expect(s.engine.connect(deployer).setPaused(false)).to.emit(s.engine, "PauseSet").withArgs(false);
      await expect(s.engine.connect(deployer).setMarketPaused(BTC_MARKET, true))
        .to.emit(s.engine, "MarketPauseSet")
        .withArgs(BTC_MARKET, true);
      expect((await s.engine.market(BTC_MARKET)).paused).to.equal(true);
      expect((await s.engine.market(ETH_MARKET)).paused).to.equal(false);
      await expect(s.engine.connect(guardian).setMarketPaused(BTC_MARKET, false))
        .to.emit(s.engine, "MarketPauseSet")
        .withArgs(BTC_MARKET, false);
      await expect(s.engine.connect(guardian).setMarketPaused(9n, true))
        .to.be.revertedWithCustomError(s.engine, "MarketNotListed")
        .withArgs(9n);
    });
  });

  describe("ownership (Ownable2Step)", () => {
    it("transferOwnership: takes effect only when the new owner accepts", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { deployer, bob, carol } = s.signers;
      await expect(s.engine.transferOwnership(bob))
        .to.emit(s.engine, "OwnershipTransferStarted")
        .withArgs(deployer.address, bob.address);
      expect(await s.engine.owner()).to.equal(deployer.address);
      expect(await s.engine.pendingOwner()).to.equal(bob.address);
      await expect(s.engine.connect(carol).acceptOwnership())
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(carol.address);
      await expect(s.engine.connect(bob).acceptOwnership())
        .to.emit(s.engine, "OwnershipTransferred")
        .withArgs(deployer.address, bob.address);
      expect(await s.engine.owner()).to.equal(bob.address);
      expect(await s.engine.pendingOwner()).to.equal(ethers.ZeroAddress);
      await expect(s.engine.connect(deployer).setGuardian(deployer))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(deployer.address);
      await expect(s.engine.connect(bob).setGuardian(bob)).to.emit(s.engine, "GuardianSet");
      await expect(s.engine.connect(deployer).setPaused(true))
        .to.be.revertedWithCustomError(s.engine, "Unauthorized")
        .withArgs(deployer.address);
    });

    it("transferOwnership: only the owner can start it, and a new call replaces the pending owner", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { bob, carol } = s.signers;
      await expect(s.engine.connect(bob).transferOwnership(bob))
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(bob.address);
      await s.engine.transferOwnership(bob);
      await s.engine.transferOwnership(carol);
      await expect(s.engine.connect(bob).acceptOwnership())
        .to.be.revertedWithCustomError(s.engine, "OwnableUnauthorizedAccount")
        .withArgs(bob.address);
      await s.engine.connect(carol).acceptOwnership();
      expect(await s.engine.owner()).to.equal(carol.address);
    });
  });

  describe("constructor", () => {
    async function parts(decimals: number) {
      const [deployer] = await ethers.getSigners();
      const token = await ethers.deployContract("MockStablecoin", ["T", "T", decimals]);
      const pool = await ethers.deployContract("BulkheadPool", [token, "LP", "LP"]);
      const factory = await engineFactory(ethers);
      return { deployer, token, pool, factory };
    }

    it("constructor: reverts with UnsupportedDecimals for a token with more than 18 decimals", async () => {
      const { deployer, token, pool, factory } = await parts(19);
      await expect(factory.deploy(token, pool, deployer, deployer, ethers.ZeroAddress, 0n))
        .to.be.revertedWithCustomError(factory, "UnsupportedDecimals")
        .withArgs(19n);
    });

    it("constructor: reverts with InvalidPool for a pool of another asset", async () => {
      const { deployer, pool, factory } = await parts(6);
      const other = await ethers.deployContract("MockStablecoin", ["O", "O", 6]);
      await expect(factory.deploy(other, pool, deployer, deployer, ethers.ZeroAddress, 0n))
        .to.be.revertedWithCustomError(factory, "InvalidPool")
        .withArgs(await pool.getAddress());
    });

    it("constructor: reverts with FeedHasNoCode for a sequencer feed without code", async () => {
      const { deployer, token, pool, factory } = await parts(6);
      await expect(factory.deploy(token, pool, deployer, deployer, deployer.address, 0n))
        .to.be.revertedWithCustomError(factory, "FeedHasNoCode")
        .withArgs(deployer.address);
    });

    it("constructor: reverts with ParameterOutOfBounds for a sequencer grace period above 1 day", async () => {
      const { deployer, token, pool, factory } = await parts(6);
      await expect(factory.deploy(token, pool, deployer, deployer, ethers.ZeroAddress, DAY + 1n))
        .to.be.revertedWithCustomError(factory, "ParameterOutOfBounds")
        .withArgs("sequencerGracePeriod", DAY + 1n, 0n, DAY);
    });

    it("constructor: sets unit from the token decimals, the guardian and the vault implementation", async () => {
      for (const decimals of [0, 6, 18]) {
        const { deployer, token, pool, factory } = await parts(decimals);
        const engine = await factory.deploy(token, pool, deployer, deployer, ethers.ZeroAddress, DAY);
        await expect(engine.deploymentTransaction()).to.emit(engine, "GuardianSet").withArgs(deployer.address);
        expect(await engine.unit()).to.equal(WAD * 10n ** BigInt(18 - decimals));
        const impl = await ethers.getContractAt("PositionVault", await engine.vaultImplementation());
        expect([await impl.engine(), await impl.token()]).to.deep.equal([await engine.getAddress(), await token.getAddress()]);
        expect(await engine.token()).to.equal(await token.getAddress());
        expect(await engine.pool()).to.equal(await pool.getAddress());
        expect([await engine.name(), await engine.symbol()]).to.deep.equal(["Bulkhead Position", "BULK-POS"]);
      }
    });
  });
});
