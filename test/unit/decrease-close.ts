import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, defaultRisk, wadFromFeed } from "../helpers/fixture.js";
import { decreaseSettlement, initialMargin, wMulDown, wMulUp } from "../helpers/reference.js";
import {
  PROTOCOL_SHARE,
  deployUnitSystem,
  elapse,
  expectBalanceDeltas,
  expectPoolConserved,
  expectedIndexAt,
  nextBlockAt,
  posOf,
} from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18
const DAY = 86_400n;
const BPS = defaultRisk.maxProfitFactorBps;
const CLOSE_FEE = defaultParams.closeFeeRate;
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;

/** Position 1: Alice long 1 ETH at 3000 with 300 USDC. Position 2: Bob short 1 ETH at 3000 with 300 USDC. */
async function withPositions() {
  const s = await deployUnitSystem(ethers);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  await s.engine.connect(s.signers.bob).open(ETH_MARKET, false, 300n * USDC, WAD, PX, FAR);
  return s;
}

type S = Awaited<ReturnType<typeof withPositions>>;

/** Moves the ETH price, lets `dt` pass, pins the next block; returns the expected settlement. */
async function prepare(s: S, id: bigint, usd: bigint, sizeDelta: bigint | "all", dt = DAY) {
  await elapse(networkHelpers, dt, []);
  await s.ethFeed.updateAnswer(feedAnswer(usd));
  const t = await nextBlockAt(networkHelpers, 1n);
  const p = await posOf(s.engine, id);
  const index = await expectedIndexAt(s.engine, ETH_MARKET, t);
  const delta = sizeDelta === "all" ? p.size : sizeDelta;
  return { p, index, price: usd * WAD, x: decreaseSettlement(s.u, p, delta, usd * WAD, index, CLOSE_FEE, BPS) };
}

/** Checks the ledger moved by the settlement's fees, PnL and reserve release. */
async function expectLedgerMoved(
  s: S,
  before: { lpAssets: bigint; reserved: bigint; protocolFees: bigint; insuranceFund: bigint },
  x: ReturnType<typeof decreaseSettlement>,
) {
  const l = await s.engine.ledger();
  const cut = wMulDown(x.closeFee, PROTOCOL_SHARE);
  expect(l.lpAssets - before.lpAssets).to.equal(x.borrowFee + x.closeFee - cut - x.pnl);
  expect(l.protocolFees - before.protocolFees).to.equal(cut);
  expect(before.reserved - l.reserved).to.equal(x.reserveReleased);
  expect(l.insuranceFund).to.equal(before.insuranceFund);
  await expectPoolConserved(s);
}

describe("close", () => {
  describe("effects", () => {
    it("close: a long in profit gets collateral + pnl - fees; the vault empties and the pool pays the profit", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const { index, price, x } = await prepare(s, 1n, 3_100n, "all");
      expect(x.pnl).to.equal(100n * USDC);
      expect(x.closeFee).to.equal(3_100_000n);
      const payout = 300n * USDC + 100n * USDC - x.borrowFee - 3_100_000n;
      expect(x.payout).to.equal(payout);
      const before = await s.engine.ledger();
      const vault = await s.engine.vaultOf(1n);
      await expectBalanceDeltas(
        s.token,
        [alice, vault, s.pool, s.engine],
        async () => {
          await expect(s.engine.connect(alice).close(1n, price, FAR))
            .to.emit(s.engine, "PositionDecreased")
            .withArgs(1n, alice.address, WAD, price, 100n * USDC, x.borrowFee, x.closeFee, payout, 0n, 0n, index);
        },
        [payout, -300n * USDC, -(payout - 300n * USDC), 0n],
      );
      await expectLedgerMoved(s, before, x);
      const m = await s.engine.market(ETH_MARKET);
      expect([m.longSize, m.longSizeEntry]).to.deep.equal([0n, 0n]);
    });

    it("close: burns the token and deletes the record", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      await expect(s.engine.connect(alice).close(1n, 0n, FAR))
        .to.emit(s.engine, "Transfer")
        .withArgs(alice.address, ethers.ZeroAddress, 1n);
      expect((await s.engine.position(1n)).size).to.equal(0n);
      expect(await s.engine.balanceOf(alice)).to.equal(0n);
      await expect(s.engine.ownerOf(1n)).to.be.revertedWithCustomError(s.engine, "TokenDoesNotExist");
      await expect(s.engine.tokenURI(1n)).to.be.revertedWithCustomError(s.engine, "PositionNotFound").withArgs(1n);
      await expect(s.engine.connect(alice).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(1n);
    });

    it("close: a long at a loss gets collateral - loss - fees from its vault; the vault sends the rest to the pool", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const { price, x } = await prepare(s, 1n, 2_900n, "all");
      expect(x.pnl).to.equal(-100n * USDC);
      const payout = 200n * USDC - x.borrowFee - x.closeFee;
      expect(x.payout).to.equal(payout);
      const before = await s.engine.ledger();
      await expectBalanceDeltas(
        s.token,
        [alice, await s.engine.vaultOf(1n), s.pool],
        () => s.engine.connect(alice).close(1n, price, FAR),
        [payout, -300n * USDC, 300n * USDC - payout],
      );
      await expectLedgerMoved(s, before, x);
    });

    it("close: a short gains when the price falls", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { bob } = s.signers;
      const { price, index, x } = await prepare(s, 2n, 2_800n, "all");
      expect(x.pnl).to.equal(200n * USDC);
      const payout = 500n * USDC - x.borrowFee - x.closeFee;
      const before = await s.engine.ledger();
      await expectBalanceDeltas(
        s.token,
        [bob, await s.engine.vaultOf(2n), s.pool],
        async () => {
          await expect(s.engine.connect(bob).close(2n, price, FAR))
            .to.emit(s.engine, "PositionDecreased")
            .withArgs(2n, bob.address, WAD, price, 200n * USDC, x.borrowFee, x.closeFee, payout, 0n, 0n, index);
        },
        [payout, -300n * USDC, -(payout - 300n * USDC)],
      );
      await expectLedgerMoved(s, before, x);
      const m = await s.engine.market(ETH_MARKET);
      expect([m.shortSize, m.shortSizeEntry]).to.deep.equal([0n, 0n]);
    });

    it("close: profit is capped at entry notional x maxProfitFactor", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const { price, index, x } = await prepare(s, 1n, 5_000n, "all");
      expect(x.rawPnl).to.equal(2_000n * USDC);
      expect(x.pnl).to.equal(1_500n * USDC); // 50% of 3000 USDC entry notional
      const payout = 1_800n * USDC - x.borrowFee - x.closeFee;
      await expectBalanceDeltas(
        s.token,
        [alice, s.pool],
        async () => {
          await expect(s.engine.connect(alice).close(1n, price, FAR))
            .to.emit(s.engine, "PositionDecreased")
            .withArgs(1n, alice.address, WAD, price, 1_500n * USDC, x.borrowFee, x.closeFee, payout, 0n, 0n, index);
        },
        [payout, -(payout - 300n * USDC)],
      );
    });

    it("close: pays a donation sitting in the vault to the owner", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, carol } = s.signers;
      const vault = await s.engine.vaultOf(1n);
      await s.token.connect(carol).transfer(vault, 7n * USDC);
      const { price, x } = await prepare(s, 1n, 3_000n, "all", 10n);
      await expectBalanceDeltas(
        s.token,
        [alice, vault, s.pool],
        () => s.engine.connect(alice).close(1n, price, FAR),
        [x.payout + 7n * USDC, -307n * USDC, 300n * USDC - x.payout],
      );
      expect(await s.token.balanceOf(vault)).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("close: an approved operator closes and the owner is paid; a stranger cannot", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, bob, carol } = s.signers;
      await expect(s.engine.connect(carol).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "NotPositionOwner")
        .withArgs(1n, carol.address);
      await s.engine.connect(alice).approve(carol, 1n);
      const { index, x } = await prepare(s, 1n, 3_000n, "all", 10n);
      await expectBalanceDeltas(
        s.token,
        [alice, carol, bob],
        async () => {
          await expect(s.engine.connect(carol).close(1n, 0n, FAR))
            .to.emit(s.engine, "PositionDecreased")
            .withArgs(1n, alice.address, WAD, PX, 0n, x.borrowFee, x.closeFee, x.payout, 0n, 0n, index);
        },
        [x.payout, 0n, 0n],
      );
    });

    it("close: after an ERC-721 transfer the new owner closes and is paid; the old owner cannot", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, carol } = s.signers;
      await s.engine.connect(alice).transferFrom(alice, carol, 1n);
      await expect(s.engine.connect(alice).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "NotPositionOwner")
        .withArgs(1n, alice.address);
      const { x } = await prepare(s, 1n, 3_200n, "all", 10n);
      await expectBalanceDeltas(
        s.token,
        [alice, carol],
        () => s.engine.connect(carol).close(1n, 0n, FAR),
        [0n, x.payout],
      );
    });

    it("close: works while the protocol and the market are paused", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await s.engine.connect(s.signers.guardian).setPaused(true);
      await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
      await expect(s.engine.connect(s.signers.bob).close(2n, ethers.MaxUint256, FAR)).to.emit(
        s.engine,
        "PositionDecreased",
      );
      await expectPoolConserved(s);
    });

    it("close: opening and closing at an unchanged price returns less than was put in", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { carol } = s.signers;
      const before = await s.token.balanceOf(carol);
      await s.engine.connect(carol).open(ETH_MARKET, true, 1_000n * USDC, 10n * WAD, PX, FAR);
      await s.engine.connect(carol).close(3n, 0n, FAR);
      const spent = before - (await s.token.balanceOf(carol));
      const openFee = wMulUp(s.u.notional(10n * WAD, PX), defaultParams.openFeeRate);
      expect(spent).to.be.greaterThanOrEqual(openFee + wMulUp(s.u.notional(10n * WAD, PX), CLOSE_FEE));
    });
  });

  describe("reverts", () => {
    it("close: reverts with PositionUnderwater when the loss and fees exceed the collateral", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { x } = await prepare(s, 1n, 2_650n, "all", 10n);
      expect(x.net).to.be.lessThan(0n);
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionUnderwater")
        .withArgs(1n, x.net);
    });

    it("close: reverts with DeadlineExpired after the deadline", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const t = await nextBlockAt(networkHelpers, 3n);
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, t - 1n))
        .to.be.revertedWithCustomError(s.engine, "DeadlineExpired")
        .withArgs(t - 1n, t);
    });

    it("close: reverts with PositionNotFound for an unknown id", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await expect(s.engine.connect(s.signers.alice).close(3n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(3n);
    });

    it("close: reverts with SlippageExceeded below a long's or above a short's acceptable price", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await expect(s.engine.connect(s.signers.alice).close(1n, PX + 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX + 1n, PX);
      await expect(s.engine.connect(s.signers.bob).close(2n, PX - 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX - 1n, PX);
      await expect(s.engine.connect(s.signers.alice).close(1n, PX, FAR)).to.emit(s.engine, "PositionDecreased");
      await expect(s.engine.connect(s.signers.bob).close(2n, PX, FAR)).to.emit(s.engine, "PositionDecreased");
    });
  });
});

describe("decrease", () => {
  describe("effects", () => {
    it("decrease: realises the delta's pnl, releases its collateral share and settles the whole borrow fee", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const sizeDelta = WAD / 4n;
      const { price, index, x } = await prepare(s, 1n, 3_200n, sizeDelta);
      expect(x.pnl).to.equal(50n * USDC); // 0.25 ETH x 200
      expect(x.released).to.equal(75n * USDC);
      expect(x.closeFee).to.equal(800_000n); // 0.1% of 800 USDC
      const payout = 125n * USDC - x.borrowFee - 800_000n;
      const before = await s.engine.ledger();
      await expectBalanceDeltas(
        s.token,
        [alice, await s.engine.vaultOf(1n), s.pool],
        async () => {
          await expect(s.engine.connect(alice).decrease(1n, sizeDelta, price, FAR))
            .to.emit(s.engine, "PositionDecreased")
            .withArgs(1n, alice.address, sizeDelta, price, 50n * USDC, x.borrowFee, x.closeFee, payout, (3n * WAD) / 4n, 225n * USDC, index);
        },
        [payout, -75n * USDC, -(payout - 75n * USDC)],
      );
      const p = await posOf(s.engine, 1n);
      expect([p.size, p.entry, p.collateral, p.borrowIndex]).to.deep.equal([(3n * WAD) / 4n, PX, 225n * USDC, index]);
      expect(x.reserveReleased).to.equal(375n * USDC);
      await expectLedgerMoved(s, before, x);
      const m = await s.engine.market(ETH_MARKET);
      expect([m.longSize, m.longSizeEntry]).to.deep.equal([(3n * WAD) / 4n, ((3n * WAD) / 4n) * PX]);
      expect(await s.engine.ownerOf(1n)).to.equal(alice.address);
    });

    it("decrease: caps the delta's profit at its share of the max profit", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { price, index, x } = await prepare(s, 1n, 5_000n, WAD / 2n, 10n);
      expect(x.rawPnl).to.equal(1_000n * USDC);
      expect(x.pnl).to.equal(750n * USDC);
      await expect(s.engine.connect(s.signers.alice).decrease(1n, WAD / 2n, price, FAR))
        .to.emit(s.engine, "PositionDecreased")
        .withArgs(1n, s.signers.alice.address, WAD / 2n, price, 750n * USDC, x.borrowFee, x.closeFee, x.payout, WAD / 2n, 150n * USDC, index);
      await expectPoolConserved(s);
    });

    it("decrease: a borrow fee above the released collateral is taken from the remaining collateral", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice } = s.signers;
      const sizeDelta = WAD / 100n;
      const { price, x } = await prepare(s, 1n, 3_000n, sizeDelta, 30n * DAY);
      expect(x.net).to.be.lessThan(0n);
      expect(x.payout).to.equal(0n);
      const fees = x.borrowFee + x.closeFee;
      await expectBalanceDeltas(
        s.token,
        [alice, await s.engine.vaultOf(1n), s.pool],
        () => s.engine.connect(alice).decrease(1n, sizeDelta, price, FAR),
        [0n, -fees, fees],
      );
      expect((await s.engine.position(1n)).collateral).to.equal(300n * USDC - fees);
      await expectPoolConserved(s);
    });

    it("decrease: works while paused, and an approved operator can decrease", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { alice, guardian, carol } = s.signers;
      await s.engine.connect(guardian).setPaused(true);
      await s.engine.connect(alice).setApprovalForAll(carol, true);
      await expect(s.engine.connect(carol).decrease(1n, WAD / 2n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
      await expect(s.engine.connect(s.signers.bob).decrease(2n, WAD / 2n, ethers.MaxUint256, FAR)).to.emit(
        s.engine,
        "PositionDecreased",
      );
    });
  });

  describe("reverts", () => {
    it("decrease: reverts with SizeDeltaTooLarge for the whole size or more (close takes it all)", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const e = s.engine.connect(s.signers.alice);
      await expect(e.decrease(1n, WAD, 0n, FAR)).to.be.revertedWithCustomError(s.engine, "SizeDeltaTooLarge").withArgs(WAD, WAD);
      await expect(e.decrease(1n, WAD + 1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SizeDeltaTooLarge")
        .withArgs(WAD + 1n, WAD);
    });

    it("decrease: reverts with ZeroAmount for a zero sizeDelta", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await expect(s.engine.connect(s.signers.alice).decrease(1n, 0n, 0n, FAR)).to.be.revertedWithCustomError(
        s.engine,
        "ZeroAmount",
      );
    });

    it("decrease: reverts with PositionNotFound and NotPositionOwner", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      await expect(s.engine.connect(s.signers.alice).decrease(9n, 1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionNotFound")
        .withArgs(9n);
      await expect(s.engine.connect(s.signers.bob).decrease(1n, 1n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "NotPositionOwner")
        .withArgs(1n, s.signers.bob.address);
    });

    it("decrease: reverts with DeadlineExpired and SlippageExceeded", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const t = await nextBlockAt(networkHelpers, 3n);
      await expect(s.engine.connect(s.signers.alice).decrease(1n, 1n, 0n, t - 1n))
        .to.be.revertedWithCustomError(s.engine, "DeadlineExpired")
        .withArgs(t - 1n, t);
      await expect(s.engine.connect(s.signers.alice).decrease(1n, 1n, PX + 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX + 1n, PX);
      await expect(s.engine.connect(s.signers.bob).decrease(2n, 1n, PX - 1n, FAR))
        .to.be.revertedWithCustomError(s.engine, "SlippageExceeded")
        .withArgs(PX - 1n, PX);
    });

    it("decrease: reverts with PositionUnderwater when the net loss exceeds the remaining collateral", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const sizeDelta = (99n * WAD) / 100n;
      const { x } = await prepare(s, 1n, 2_650n, sizeDelta, 10n);
      expect(-x.net).to.be.greaterThan(300n * USDC - x.released);
      await expect(s.engine.connect(s.signers.alice).decrease(1n, sizeDelta, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "PositionUnderwater")
        .withArgs(1n, x.net);
    });

    it("decrease: reverts with InsufficientMargin when the remainder falls under initial margin", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { carol } = s.signers;
      await s.engine.connect(carol).open(ETH_MARKET, true, 60n * USDC, WAD, PX, FAR); // id 3, at 50x
      const { price, x } = await prepare(s, 3n, 2_990n, WAD / 2n, 10n);
      const remainderEquity = x.newCollateral + s.u.pnl(true, WAD / 2n, PX, price); // 30 - 5 USDC
      const required = initialMargin(s.u.notional(WAD / 2n, price), defaultParams.maxLeverage); // 29.9 USDC
      expect([remainderEquity, required]).to.deep.equal([25n * USDC, 29_900_000n]);
      await expect(s.engine.connect(carol).decrease(3n, WAD / 2n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "InsufficientMargin")
        .withArgs(remainderEquity, required);
    });

    it("decrease: reverts with CollateralBelowMinimum when the remainder's collateral is under minCollateral", async () => {
      const s = await networkHelpers.loadFixture(withPositions);
      const { carol } = s.signers;
      await s.engine.connect(carol).open(ETH_MARKET, true, 15n * USDC, WAD / 20n, PX, FAR); // id 3
      await expect(s.engine.connect(carol).decrease(3n, WAD / 40n, 0n, FAR))
        .to.be.revertedWithCustomError(s.engine, "CollateralBelowMinimum")
        .withArgs(7_500_000n, defaultParams.minCollateral);
    });
  });
});
