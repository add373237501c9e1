import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, HEARTBEAT, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { initialMargin } from "../helpers/reference.js";
import {
  deployUnitSystem,
  expectBalanceDeltas,
  expectPoolConserved,
  expectedIndexAt,
  nextBlockAt,
  posOf,
} from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const MAX_UINT96 = 2n ** 96n - 1n;

/** Position 1: Alice long 1 ETH at 3000 with 300 USDC. */
async function withLong() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  return s;
}

describe("addCollateral", () => {
  it("addCollateral: anyone tops up any position's vault; the pool and the ledger do not move", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { bob } = s.signers;
    const ledger = await s.engine.ledger();
    const vault = await s.engine.vaultOf(1n);
    await expectBalanceDeltas(
      s.token,
      [bob, vault, s.pool, s.signers.alice],
      async () => {
        await expect(s.engine.connect(bob).addCollateral(1n, 25n * USDC))
          .to.emit(s.engine, "CollateralAdded")
          .withArgs(1n, bob.address, 25n * USDC, 325n * USDC);
      },
      [-25n * USDC, 25n * USDC, 0n, 0n],
    );
    const p = await s.engine.position(1n);
    expect([p.collateral, p.size, p.entryPrice]).to.deep.equal([325n * USDC, WAD, PX]);
    expect(await s.engine.ledger()).to.deep.equal(ledger);
  });

  it("addCollateral: works while the protocol and the market are paused", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await s.engine.connect(s.signers.guardian).setPaused(true);
    await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
    await expect(s.engine.connect(s.signers.alice).addCollateral(1n, 1n))
      .to.emit(s.engine, "CollateralAdded")
      .withArgs(1n, s.signers.alice.address, 1n, 300n * USDC + 1n);
  });

  it("addCollateral: works with a stale feed and with a reverting feed (it reads no oracle)", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await networkHelpers.time.increase(HEARTBEAT + 1n);
    await expect(s.engine.price(ETH_MARKET)).to.be.revertedWithCustomError(s.engine, "StalePrice");
    await expect(s.engine.connect(s.signers.alice).addCollateral(1n, 5n * USDC)).to.emit(s.engine, "CollateralAdded");
    const broken = await ethers.deployContract("RevertingAggregator");
    await s.engine.setFeed(ETH_MARKET, broken, HEARTBEAT);
    await expect(s.engine.connect(s.signers.alice).addCollateral(1n, 5n * USDC))
      .to.emit(s.engine, "CollateralAdded")
      .withArgs(1n, s.signers.alice.address, 5n * USDC, 310n * USDC);
  });

  it("addCollateral: reverts with ZeroAmount for zero", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await expect(s.engine.connect(s.signers.bob).addCollateral(1n, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroAmount");
  });

  it("addCollateral: reverts with PositionNotFound for an unknown or closed id", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await expect(s.engine.connect(s.signers.bob).addCollateral(2n, 1n))
      .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
      .withArgs(2n);
    await s.engine.connect(s.signers.alice).close(1n, 0n, FAR);
    await expect(s.engine.connect(s.signers.bob).addCollateral(1n, 1n))
      .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
      .withArgs(1n);
  });

  it("addCollateral: reverts with AmountTooLarge when collateral would exceed 2^96-1", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const amount = MAX_UINT96 - 300n * USDC + 1n;
    await expect(s.engine.connect(s.signers.bob).addCollateral(1n, amount))
      .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
      .withArgs(MAX_UINT96 + 1n, MAX_UINT96);
  });
});

describe("removeCollateral", () => {
  it("removeCollateral: moves tokens from the vault to the owner without settling the borrow fee", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { alice } = s.signers;
    const before = await posOf(s.engine, 1n);
    const ledger = await s.engine.ledger();
    const vault = await s.engine.vaultOf(1n);
    await networkHelpers.time.increase(600n);
    await expectBalanceDeltas(
      s.token,
      [alice, vault, s.pool],
      async () => {
        await expect(s.engine.connect(alice).removeCollateral(1n, 100n * USDC))
          .to.emit(s.engine, "CollateralRemoved")
          .withArgs(1n, alice.address, 100n * USDC, 0n, 200n * USDC, before.borrowIndex);
      },
      [100n * USDC, -100n * USDC, 0n],
    );
    const p = await posOf(s.engine, 1n);
    expect([p.collateral, p.borrowIndex]).to.deep.equal([200n * USDC, before.borrowIndex]);
    expect(await s.engine.ledger()).to.deep.equal(ledger);
    await expectPoolConserved(s);
  });

  it("removeCollateral: the margin check debits the accrued borrow fee: exactly to initial margin passes, one unit more fails", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { alice } = s.signers;
    const price = 2_950n * WAD;
    await s.ethFeed.updateAnswer(2_950n * 10n ** 8n);
    const p = await posOf(s.engine, 1n);
    const required = initialMargin(s.u.notional(WAD, price), defaultParams.maxLeverage); // 59 USDC
    const pnl = s.u.pnl(true, WAD, PX, price); // -50 USDC
    // Two attempts in consecutive blocks: the first fails one unit too far, the second removes the max.
    const t1 = await nextBlockAt(networkHelpers, 100n);
    const fee1 = s.u.borrowFee(WAD, PX, (await expectedIndexAt(s.engine, ETH_MARKET, t1)) - p.borrowIndex);
    const max1 = p.collateral + pnl - fee1 - required;
    await expect(s.engine.connect(alice).removeCollateral(1n, max1 + 1n))
      .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
      .withArgs(required - 1n, required);
    const t2 = await nextBlockAt(networkHelpers, 1n);
    const fee2 = s.u.borrowFee(WAD, PX, (await expectedIndexAt(s.engine, ETH_MARKET, t2)) - p.borrowIndex);
    const max2 = p.collateral + pnl - fee2 - required;
    await expect(s.engine.connect(alice).removeCollateral(1n, max2))
      .to.emit(s.engine, "CollateralRemoved")
      .withArgs(1n, alice.address, max2, 0n, p.collateral - max2, p.borrowIndex);
    expect(fee2).to.be.greaterThan(0n);
  });

  it("removeCollateral: reverts with CollateralBelowMinimum under minCollateral even when equity allows more", async () => {
    // A small position (notional 3 USDC, required margin ~1 USDC) whose collateral alone covers
    // the margin: unrealised profit no longer counts toward a withdrawal (see removable-margin.ts),
    // so the case needs a position that is over-collateralised without it.
    const s = await networkHelpers.loadFixture(withLong);
    await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD / 1000n, PX, FAR); // id 2
    const min = defaultParams.minCollateral;
    await expect(s.engine.connect(s.signers.alice).removeCollateral(2n, 300n * USDC - min + 1n))
      .to.be.revertedWithCustomError(s.engine, "CollateralBelowMinimum")
      .withArgs(min - 1n, min);
    await expect(s.engine.connect(s.signers.alice).removeCollateral(2n, 300n * USDC - min))
      .to.emit(s.engine, "CollateralRemoved")
      .withArgs(2n, s.signers.alice.address, 300n * USDC - min, 0n, min, (await s.engine.position(2n)).borrowIndex);
  });

  it("removeCollateral: works while paused", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await s.engine.connect(s.signers.guardian).setPaused(true);
    await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
    await expect(s.engine.connect(s.signers.alice).removeCollateral(1n, USDC)).to.emit(s.engine, "CollateralRemoved");
  });

  it("removeCollateral: an approved operator may trigger it but the tokens go to the owner", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const { alice, bob } = s.signers;
    await s.engine.connect(alice).approve(bob, 1n);
    await expectBalanceDeltas(
      s.token,
      [alice, bob],
      async () => {
        await expect(s.engine.connect(bob).removeCollateral(1n, 10n * USDC))
          .to.emit(s.engine, "CollateralRemoved")
          .withArgs(1n, alice.address, 10n * USDC, 0n, 290n * USDC, (await s.engine.position(1n)).borrowIndex);
      },
      [10n * USDC, 0n],
    );
  });

  it("removeCollateral: reverts with NotPositionOwner for a stranger", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    await expect(s.engine.connect(s.signers.bob).removeCollateral(1n, USDC))
      .to.be.revertedWithCustomError(s.engine, "NotPositionOwner")
      .withArgs(1n, s.signers.bob.address);
  });

  it("removeCollateral: reverts with ZeroAmount, PositionNotFound and CollateralTooLow", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const e = s.engine.connect(s.signers.alice);
    await expect(e.removeCollateral(1n, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroAmount");
    await expect(e.removeCollateral(5n, 1n)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(5n);
    await expect(e.removeCollateral(1n, 300n * USDC + 1n))
      .to.be.revertedWithCustomError(s.engine, "CollateralTooLow")
      .withArgs(300n * USDC + 1n, 300n * USDC);
  });

  it("removeCollateral: needs a valid price (reverts with StalePrice on a stale feed)", async () => {
    const s = await networkHelpers.loadFixture(withLong);
    const updatedAt = (await s.ethFeed.latestRoundData()).updatedAt;
    await networkHelpers.time.increase(HEARTBEAT + 1n);
    await expect(s.engine.connect(s.signers.alice).removeCollateral(1n, USDC))
      .to.be.revertedWithCustomError(s.engine, "StalePrice")
      .withArgs(await s.ethFeed.getAddress(), updatedAt, HEARTBEAT);
  });
});
