import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, defaultRisk, wadFromFeed } from "../helpers/fixture.js";
import { initialMargin, wMulDown, wMulUp } from "../helpers/reference.js";
import {
  PROTOCOL_SHARE,
  deployUnitSystem,
  expectBalanceDeltas,
  expectPoolConserved,
  expectedIndexAt,
  nextBlockAt,
} from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18
const MAX_UINT128 = 2n ** 128n - 1n;
const MAX_UINT96 = 2n ** 96n - 1n;

async function unitSystem() {
  return deployUnitSystem(ethers);
}
async function smallPool() {
  return deployUnitSystem(ethers, { lpDeposit: 1_000n * USDC });
}

describe("open", () => {
  describe("effects", () => {
    it("open: moves the collateral into the position's own vault and the open fee into the pool", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice } = s.signers;
      const id = await s.engine.nextPositionId();
      const vault = await s.engine.vaultOf(id);
      expect(await ethers.provider.getCode(vault)).to.equal("0x");
      const collateral = 300n * USDC;
      const fee = wMulUp(s.u.notional(WAD, PX), defaultParams.openFeeRate); // 3000 USDC * 0.1% = 3 USDC
      expect(fee).to.equal(3n * USDC);
      await expectBalanceDeltas(
        s.token,
        [alice, vault, s.pool, s.engine],
        () => s.engine.connect(alice).open(ETH_MARKET, true, collateral, WAD, PX, FAR),
        [-(collateral + fee), collateral, fee, 0n],
      );
      expect(await ethers.provider.getCode(vault)).to.not.equal("0x");
      await expectPoolConserved(s);
    });

    it("open: emits PositionOpened with the oracle entry, fee, risk version and borrow index", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice } = s.signers;
      const t = await nextBlockAt(networkHelpers, 100n);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
      const size = 2n * WAD;
      const fee = wMulUp(s.u.notional(size, PX), defaultParams.openFeeRate);
      await expect(s.engine.connect(alice).open(ETH_MARKET, false, 500n * USDC, size, PX, FAR))
        .to.emit(s.engine, "PositionOpened")
        .withArgs(1n, alice.address, ETH_MARKET, false, size, PX, 500n * USDC, fee, 0n, index);
      expect(index).to.be.greaterThan(0n); // fixture LP deposit time to now, at the base rate
    });

    it("open: mints the position token to the trader and stores the record", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice } = s.signers;
      await expect(s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR))
        .to.emit(s.engine, "Transfer")
        .withArgs(ethers.ZeroAddress, alice.address, 1n);
      expect(await s.engine.ownerOf(1n)).to.equal(alice.address);
      expect(await s.engine.balanceOf(alice)).to.equal(1n);
      expect(await s.engine.nextPositionId()).to.equal(2n);
      const p = await s.engine.position(1n);
      expect([p.size, p.entryPrice, p.marketId, p.isLong, p.collateral, p.riskVersion]).to.deep.equal([
        WAD,
        PX,
        ETH_MARKET,
        true,
        300n * USDC,
        0n,
      ]);
      expect(await s.engine.tokenURI(1n)).to.equal("");
    });

    it("open: books the fee net of the protocol share for LPs and reserves the max profit", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice } = s.signers;
      const before = await s.engine.ledger();
      const size = 3n * WAD;
      const fee = wMulUp(s.u.notional(size, PX), defaultParams.openFeeRate); // 9 USDC
      const cut = wMulDown(fee, PROTOCOL_SHARE);
      const reserve = s.u.maxProfit(size, PX, defaultRisk.maxProfitFactorBps); // 50% of 9000 USDC
      expect(reserve).to.equal(4_500n * USDC);
      await s.engine.connect(alice).open(ETH_MARKET, true, 900n * USDC, size, PX, FAR);
      const after = await s.engine.ledger();
      expect(after.lpAssets - before.lpAssets).to.equal(fee - cut);
      expect(after.protocolFees - before.protocolFees).to.equal(cut);
      expect(cut).to.equal(900_000n);
      expect(after.reserved - before.reserved).to.equal(reserve);
      expect(after.insuranceFund).to.equal(before.insuranceFund);
      await expectPoolConserved(s);
    });

    it("open: adds size and size x entry to the market side's open interest", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice, bob } = s.signers;
      await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      await s.engine.connect(bob).open(ETH_MARKET, false, 300n * USDC, 2n * WAD, PX, FAR);
      const m = await s.engine.market(ETH_MARKET);
      expect([m.longSize, m.longSizeEntry, m.shortSize, m.shortSizeEntry]).to.deep.equal([
        WAD,
        WAD * PX,
        2n * WAD,
        2n * WAD * PX,
      ]);
      const other = await s.engine.market(BTC_MARKET);
      expect([other.longSize, other.shortSize]).to.deep.equal([0n, 0n]);
    });

    it("open: converts notional with the token's own decimals (18-decimal collateral)", async () => {
      const s = await deployUnitSystem(ethers, { tokenDecimals: 18 });
      const { alice } = s.signers;
      const one = 10n ** 18n;
      const fee = wMulUp(s.u.notional(WAD, PX), defaultParams.openFeeRate);
      expect(fee).to.equal(3n * one); // 3 tokens of 18 decimals
      const vault = await s.engine.vaultOf(1n);
      await expectBalanceDeltas(
        s.token,
        [alice, vault, s.pool],
        () => s.engine.connect(alice).open(ETH_MARKET, true, 300n * one, WAD, PX, FAR),
        [-(300n * one + fee), 300n * one, fee],
      );
      expect((await s.engine.ledger()).reserved - 0n).to.equal(1_500n * one);
      await expectPoolConserved(s);
    });

    it("open: a donation made to the future vault before open is kept apart from the collateral", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice, bob } = s.signers;
      const vault = await s.engine.vaultOf(await s.engine.nextPositionId());
      await s.token.connect(bob).transfer(vault, 7n * USDC);
      await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      expect((await s.engine.position(1n)).collateral).to.equal(300n * USDC);
      expect(await s.token.balanceOf(vault)).to.equal(307n * USDC);
    });

    it("open: accepts collateral of exactly notional / maxLeverage", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const required = initialMargin(s.u.notional(WAD, PX), defaultParams.maxLeverage); // 60 USDC
      expect(required).to.equal(60n * USDC);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, required, WAD, PX, FAR)).to.emit(
        s.engine,
        "PositionOpened",
      );
    });

    it("open: accepts an entry price exactly at acceptablePrice and a deadline equal to the block time", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const t = await nextBlockAt(networkHelpers, 10n);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, t)).to.emit(
        s.engine,
        "PositionOpened",
      );
      await expect(s.engine.connect(s.signers.bob).open(ETH_MARKET, false, 300n * USDC, WAD, PX, FAR)).to.emit(
        s.engine,
        "PositionOpened",
      );
    });

    it("open: ids increase and each position gets a distinct vault", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice } = s.signers;
      await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      await s.engine.connect(alice).open(BTC_MARKET, false, 300n * USDC, WAD / 100n, 0n, FAR);
      const [v1, v2] = [await s.engine.vaultOf(1n), await s.engine.vaultOf(2n)];
      expect(v1).to.not.equal(v2);
      expect(await s.token.balanceOf(v1)).to.equal(300n * USDC);
      expect(await s.token.balanceOf(v2)).to.equal(300n * USDC);
      expect((await s.engine.position(2n)).marketId).to.equal(BTC_MARKET);
    });
  });

  describe("reverts", () => {
    it("open: reverts with DeadlineExpired when the block time is past the deadline", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const t = await nextBlockAt(networkHelpers, 10n);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, t - 1n))
        .to.be.revertedWithCustomError(s.engine, "DeadlineExpired")
        .withArgs(t - 1n, t);
    });

    it("open: reverts with MarketNotListed for an unknown market", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.connect(s.signers.alice).open(2n, true, 300n * USDC, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "MarketNotListed")
        .withArgs(2n);
    });

    it("open: reverts with ProtocolPaused while the protocol is paused", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.guardian).setPaused(true);
      await expect(
        s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR),
      ).to.be.revertedWithCustomError(s.engine, "ProtocolPaused");
    });

    it("open: reverts with MarketPaused on a paused market and still opens on the others", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "MarketPaused")
        .withArgs(ETH_MARKET);
      await expect(
        s.engine.connect(s.signers.alice).open(BTC_MARKET, true, 300n * USDC, WAD / 100n, 2n ** 96n, FAR),
      ).to.emit(s.engine, "PositionOpened");
    });

    it("open: reverts with ZeroAmount for zero collateral or zero size", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const e = s.engine.connect(s.signers.alice);
      await expect(e.open(ETH_MARKET, true, 0n, WAD, PX, FAR)).to.be.revertedWithCustomError(s.engine, "ZeroAmount");
      await expect(e.open(ETH_MARKET, true, 300n * USDC, 0n, PX, FAR)).to.be.revertedWithCustomError(
        s.engine,
        "ZeroAmount",
      );
    });

    it("open: reverts with AmountTooLarge when size exceeds 2^128-1 or collateral exceeds 2^96-1", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const e = s.engine.connect(s.signers.alice);
      await expect(e.open(ETH_MARKET, true, 300n * USDC, MAX_UINT128 + 1n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(MAX_UINT128 + 1n, MAX_UINT128);
      await expect(e.open(ETH_MARKET, true, MAX_UINT96 + 1n, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(MAX_UINT96 + 1n, MAX_UINT96);
    });

    it("open: reverts with SlippageExceeded when a long's price is above acceptablePrice", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX - 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX - 1n, PX);
    });

    it("open: reverts with SlippageExceeded when a short's price is below acceptablePrice", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, false, 300n * USDC, WAD, PX + 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX + 1n, PX);
    });

    it("open: reverts with InsufficientMargin one token unit below notional / maxLeverage", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const size = (7n * WAD) / 3n; // not a round notional: 6999.999999999999999 USDC
      const notional = s.u.notional(size, PX);
      const required = initialMargin(notional, defaultParams.maxLeverage);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, required - 1n, size, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(required - 1n, required);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, required, size, PX, FAR)).to.emit(
        s.engine,
        "PositionOpened",
      );
    });

    it("open: reverts with CollateralBelowMinimum below the market's minCollateral", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const min = defaultParams.minCollateral;
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, min - 1n, WAD / 1000n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "CollateralBelowMinimum")
        .withArgs(min - 1n, min);
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, min, WAD / 1000n, PX, FAR)).to.emit(
        s.engine,
        "PositionOpened",
      );
    });

    it("open: reverts with OpenInterestCapExceeded past the side's cap, per side", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const capLong = 2n * WAD;
      const capShort = 3n * WAD;
      await s.engine.setMarketParams(ETH_MARKET, {
        ...defaultParams,
        maxLongOpenInterest: capLong,
        maxShortOpenInterest: capShort,
      });
      const e = s.engine.connect(s.signers.alice);
      await e.open(ETH_MARKET, true, 300n * USDC, (3n * WAD) / 2n, PX, FAR);
      await expect(e.open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "OpenInterestCapExceeded")
        .withArgs(ETH_MARKET, true, (5n * WAD) / 2n, capLong);
      await e.open(ETH_MARKET, true, 300n * USDC, WAD / 2n, PX, FAR); // exactly at the cap
      await expect(e.open(ETH_MARKET, false, 300n * USDC, capShort + 1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "OpenInterestCapExceeded")
        .withArgs(ETH_MARKET, false, capShort + 1n, capShort);
      await expect(e.open(ETH_MARKET, false, 300n * USDC, capShort, 0n, FAR)).to.emit(s.engine, "PositionOpened");
    });

    it("open: reverts with InsufficientFreeLiquidity when LP assets minus reserved cannot cover the max profit", async () => {
      const s = await networkHelpers.loadFixture(smallPool);
      const reserve = s.u.maxProfit(WAD, PX, defaultRisk.maxProfitFactorBps); // 1500 USDC
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(1_000n * USDC, reserve);
    });

    it("open: free liquidity shrinks by each open's reserve (and grows by its LP fee)", async () => {
      const s = await networkHelpers.loadFixture(smallPool);
      const e = s.engine.connect(s.signers.alice);
      const size = WAD / 2n; // reserve 750 USDC
      await e.open(ETH_MARKET, true, 300n * USDC, size, PX, FAR);
      const fee = wMulUp(s.u.notional(size, PX), defaultParams.openFeeRate);
      const free = 1_000n * USDC + fee - wMulDown(fee, PROTOCOL_SHARE) - 750n * USDC;
      await expect(e.open(ETH_MARKET, true, 300n * USDC, size, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(free, 750n * USDC);
    });
  });
});
