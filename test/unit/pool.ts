import { expect } from "chai";
import { network } from "hardhat";
import { BTC_MARKET, ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { borrowRate, ceilDiv, indexAt, utilisationOf } from "../helpers/reference.js";
import { deployUnitSystem, elapse, expectBalanceDeltas, expectPoolConserved, expectedIndexAt } from "../helpers/unit.js";
import { deployEngineLibraries } from "../helpers/engine.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const OFFSET = 10n ** 6n; // the pool's virtual-share offset (6 decimals)
const LP_DEPOSIT = 1_000_000n * USDC;

async function unitSystem() {
  return deployUnitSystem(ethers);
}

/** LP deposit of 1000 USDC; Alice long 0.5 ETH reserves 750 USDC of it. */
async function smallPoolWithPosition() {
  const s = await deployUnitSystem(ethers, { lpDeposit: 1_000n * USDC });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD / 2n, PX, FAR);
  return s;
}

/** As smallPoolWithPosition with zero borrow rates: share prices do not drift between blocks. */
async function smallPoolNoBorrow() {
  const s = await deployUnitSystem(ethers, { lpDeposit: 1_000n * USDC });
  await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD / 2n, PX, FAR);
  return s;
}

/** Zero borrow rates, Alice long 1 ETH at 3000: totalAssets moves only with the price. */
async function noBorrowWithLong() {
  const s = await deployUnitSystem(ethers);
  const noBorrow = { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n };
  await s.engine.setMarketParams(ETH_MARKET, noBorrow);
  await s.engine.setMarketParams(BTC_MARKET, noBorrow);
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  return s;
}

/** ERC-4626 conversions with the virtual offset, from the EIP and OZ's documented formula. */
const toShares = (assets: bigint, supply: bigint, total: bigint, up = false) =>
  up ? ceilDiv(assets * (supply + OFFSET), total + 1n) : (assets * (supply + OFFSET)) / (total + 1n);
const toAssets = (shares: bigint, supply: bigint, total: bigint, up = false) =>
  up ? ceilDiv(shares * (total + 1n), supply + OFFSET) : (shares * (total + 1n)) / (supply + OFFSET);

describe("pool", () => {
  describe("deposit and mint", () => {
    it("deposit: mints shares rounded down, books LP assets in the engine and emits both events", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { bob } = s.signers;
      expect(await s.pool.totalSupply()).to.equal(LP_DEPOSIT * OFFSET); // first deposit: 1e6 shares per unit
      const supply = await s.pool.totalSupply();
      const total = await s.pool.totalAssets();
      expect(total).to.equal(LP_DEPOSIT);
      const assets = 1_234_567_891n;
      const shares = toShares(assets, supply, total);
      await s.token.connect(bob).approve(s.pool, assets);
      await expectBalanceDeltas(
        s.token,
        [bob, s.pool],
        async () => {
          const tx = s.pool.connect(bob)["deposit(uint256,address)"](assets, bob);
          await expect(tx).to.emit(s.pool, "Deposit").withArgs(bob.address, bob.address, assets, shares);
          await expect(tx).to.emit(s.engine, "LiquidityChanged").withArgs(assets, LP_DEPOSIT + assets);
        },
        [-assets, assets],
      );
      expect(await s.pool.balanceOf(bob)).to.equal(shares);
      expect((await s.engine.ledger()).lpAssets).to.equal(LP_DEPOSIT + assets);
      await expectPoolConserved(s);
    });

    it("mint: pulls assets rounded up for the exact shares", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { carol } = s.signers;
      const supply = await s.pool.totalSupply();
      const total = await s.pool.totalAssets();
      const shares = 777_777_777_777_777n;
      const assets = toAssets(shares, supply, total, true);
      await s.token.connect(carol).approve(s.pool, assets);
      await expectBalanceDeltas(
        s.token,
        [carol, s.pool],
        async () => {
          await expect(s.pool.connect(carol)["mint(uint256,address)"](shares, carol))
            .to.emit(s.pool, "Deposit")
            .withArgs(carol.address, carol.address, assets, shares);
        },
        [-assets, assets],
      );
      expect(await s.pool.balanceOf(carol)).to.equal(shares);
      await expectPoolConserved(s);
    });

    it("deposit: shares are priced on LP assets minus unrealised trader PnL", async () => {
      const s = await networkHelpers.loadFixture(noBorrowWithLong);
      const { bob } = s.signers;
      const lpAssets = (await s.engine.ledger()).lpAssets;
      await s.ethFeed.updateAnswer(3_100n * 10n ** 8n); // Alice is 100 USDC up: LPs are 100 down
      expect(await s.pool.totalAssets()).to.equal(lpAssets - 100n * USDC);
      await s.ethFeed.updateAnswer(2_900n * 10n ** 8n);
      expect(await s.pool.totalAssets()).to.equal(lpAssets + 100n * USDC);
      const supply = await s.pool.totalSupply();
      const assets = 10_000n * USDC;
      await s.token.connect(bob).approve(s.pool, assets);
      await s.pool.connect(bob)["deposit(uint256,address)"](assets, bob);
      expect(await s.pool.balanceOf(bob)).to.equal(toShares(assets, supply, lpAssets + 100n * USDC));
    });

    it("totalAssets: includes borrow fees accrued but not yet collected", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
      await elapse(networkHelpers, 86_400n, [s.ethFeed, s.btcFeed]);
      const now = BigInt(await networkHelpers.time.latest()); // views run at the latest block
      const m = await s.engine.market(ETH_MARKET);
      const index = await expectedIndexAt(s.engine, ETH_MARKET, now);
      const pending = (m.longSizeEntry * (index - m.borrowIndex)) / (WAD * s.u.scale);
      expect(pending).to.be.greaterThan(0n);
      expect(await s.pool.totalAssets()).to.equal((await s.engine.ledger()).lpAssets + m.accruedBorrowFees + pending);
    });

    it("totalAssets: a token donation to the pool does not move the share price", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const before = await s.pool.convertToAssets(10n ** 18n);
      await s.token.connect(s.signers.bob).transfer(s.pool, 500_000n * USDC);
      expect(await s.pool.totalAssets()).to.equal(LP_DEPOSIT);
      expect(await s.pool.convertToAssets(10n ** 18n)).to.equal(before);
    });
  });

  describe("withdraw and redeem", () => {
    it("withdraw: burns shares rounded up, pays the receiver and books the withdrawal", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { lp, carol } = s.signers;
      const supply = await s.pool.totalSupply();
      const assets = 250_000n * USDC + 1n;
      const shares = toShares(assets, supply, LP_DEPOSIT, true);
      await expectBalanceDeltas(
        s.token,
        [carol, lp, s.pool],
        async () => {
          const tx = s.pool.connect(lp).withdraw(assets, carol, lp);
          await expect(tx).to.emit(s.pool, "Withdraw").withArgs(lp.address, carol.address, lp.address, assets, shares);
          await expect(tx).to.emit(s.engine, "LiquidityChanged").withArgs(-assets, LP_DEPOSIT - assets);
        },
        [assets, 0n, -assets],
      );
      expect(await s.pool.balanceOf(lp)).to.equal(supply - shares);
      await expectPoolConserved(s);
    });

    it("redeem: pays assets rounded down; a spender needs an allowance", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { lp, bob } = s.signers;
      const supply = await s.pool.totalSupply();
      const shares = supply / 3n + 1n;
      const assets = toAssets(shares, supply, LP_DEPOSIT);
      await expect(s.pool.connect(bob).redeem(shares, bob, lp))
        .to.be.revertedWithCustomError(s.pool, "ERC20InsufficientAllowance")
        .withArgs(bob.address, 0n, shares);
      await s.pool.connect(lp).approve(bob, shares);
      await expectBalanceDeltas(
        s.token,
        [bob, s.pool],
        async () => {
          await expect(s.pool.connect(bob).redeem(shares, bob, lp))
            .to.emit(s.pool, "Withdraw")
            .withArgs(bob.address, bob.address, lp.address, assets, shares);
        },
        [assets, -assets],
      );
      expect((await s.engine.ledger()).lpAssets).to.equal(LP_DEPOSIT - assets);
      await expectPoolConserved(s);
    });

    it("maxWithdraw and maxRedeem: limited to free liquidity (LP assets - reserved)", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const { lp } = s.signers;
      const l = await s.engine.ledger();
      const free = l.lpAssets - l.reserved;
      expect(l.reserved).to.equal(750n * USDC);
      const own = await s.pool.convertToAssets(await s.pool.balanceOf(lp));
      expect(own).to.be.greaterThan(free);
      expect(await s.pool.maxWithdraw(lp)).to.equal(free);
      const supply = await s.pool.totalSupply();
      const total = await s.pool.totalAssets();
      expect(await s.pool.maxRedeem(lp)).to.equal(toShares(free, supply, total));
    });

    it("withdraw: never takes LP assets below reserved (ERC4626ExceededMaxWithdraw one unit over)", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const { lp } = s.signers;
      const l = await s.engine.ledger();
      const free = l.lpAssets - l.reserved;
      await expect(s.pool.connect(lp).withdraw(free + 1n, lp, lp))
        .to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(lp.address, free + 1n, free);
      await s.pool.connect(lp).withdraw(free, lp, lp);
      const after = await s.engine.ledger();
      expect(after.lpAssets).to.equal(after.reserved);
      expect(await s.pool.maxWithdraw(lp)).to.equal(0n);
      expect(await s.pool.maxRedeem(lp)).to.equal(0n);
      await expect(s.pool.connect(lp).redeem(1n, lp, lp))
        .to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxRedeem")
        .withArgs(lp.address, 1n, 0n);
      await expectPoolConserved(s);
    });

    it("redeem: more shares than the free liquidity buys reverts with ERC4626ExceededMaxRedeem", async () => {
      const s = await networkHelpers.loadFixture(smallPoolNoBorrow);
      const { lp } = s.signers;
      const max = await s.pool.maxRedeem(lp);
      await expect(s.pool.connect(lp).redeem(max + 1n, lp, lp))
        .to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxRedeem")
        .withArgs(lp.address, max + 1n, max);
      await s.pool.connect(lp).redeem(max, lp, lp);
      const l = await s.engine.ledger();
      expect(l.lpAssets).to.be.greaterThanOrEqual(l.reserved);
    });

    it("withdraw: moves the utilisation integrals to the block before liquidity changes; no market is touched", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      await elapse(networkHelpers, 3_000n, []);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const [eth, btc] = [await expectedIndexAt(s.engine, ETH_MARKET, t), await expectedIndexAt(s.engine, BTC_MARKET, t)];
      const [l0, a0] = [await s.engine.ledger(), await s.engine.utilisationAccumulator()];
      const [m0Before, m1Before] = [await s.engine.market(ETH_MARKET), await s.engine.market(BTC_MARKET)];
      await s.pool.connect(s.signers.lp).withdraw(USDC, s.signers.lp, s.signers.lp);
      const u = utilisationOf(l0.lpAssets, l0.reserved);
      const a = await s.engine.utilisationAccumulator();
      expect([a.updatedAt, a.utilisationTime, a.aboveTargetTime]).to.deep.equal([t, a0.utilisationTime + u * (t - a0.updatedAt), a0.aboveTargetTime]);
      expect(await s.engine.market(ETH_MARKET)).to.deep.equal(m0Before);
      expect(await s.engine.market(BTC_MARKET)).to.deep.equal(m1Before);
      expect([await s.engine.currentBorrowIndex(ETH_MARKET), await s.engine.currentBorrowIndex(BTC_MARKET)]).to.deep.equal([eth, btc]);
    });
  });

  describe("borrow index", () => {
    it("borrowRate: base + slope x utilisation, utilisation = reserved / LP assets, the same for an idle market", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const l = await s.engine.ledger();
      const utilisation = (l.reserved * WAD) / l.lpAssets; // 750 / 1001.35, below the 90 % target
      const expected = defaultParams.baseBorrowRate + (defaultParams.borrowRateSlope * utilisation) / WAD;
      expect(await s.engine.borrowRate(ETH_MARKET)).to.equal(expected);
      // BTC was last touched by listing, at zero utilisation; it follows the pool's utilisation all the same.
      expect(await s.engine.borrowRate(BTC_MARKET)).to.equal(expected);
      await networkHelpers.time.increase(1_000n);
      const now = BigInt(await networkHelpers.time.latest());
      for (const id of [ETH_MARKET, BTC_MARKET]) {
        expect(await s.engine.currentBorrowIndex(id)).to.equal(await expectedIndexAt(s.engine, id, now));
      }
    });

    // Found by this suite: the engine used to compute an idle market's rate from the utilisation
    // at the moment it was next touched and apply it to the whole idle period, so an LP could
    // raise the utilisation on one market and charge another market's traders retroactively.
    // Then each market stored the rate of its last action, which could be steered (issue 11,
    // finding 6). Now every index follows the utilisation path: a new utilisation applies from
    // the block it is set, to every market, never before.
    it("borrow index: an idle market follows the utilisation from the block it changes, never retroactively", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { alice, bob, carol } = s.signers;
      const btcPx = 60_000n * WAD;
      await s.engine.connect(bob).open(BTC_MARKET, true, 3_000n * USDC, WAD, btcPx, FAR);
      const m0 = await s.engine.market(BTC_MARKET);
      // A day at low utilisation, then Alice's large ETH open raises it.
      await elapse(networkHelpers, 86_400n, [s.ethFeed, s.btcFeed]);
      const t1 = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t1);
      const [l0, a0] = [await s.engine.ledger(), await s.engine.utilisationAccumulator()];
      const indexAtT1 = indexAt(m0, l0, a0, t1);
      await s.engine.connect(alice).open(ETH_MARKET, true, 100_000n * USDC, 400n * WAD, PX, FAR);
      const [l1, a1] = [await s.engine.ledger(), await s.engine.utilisationAccumulator()];
      expect(utilisationOf(l1.lpAssets, l1.reserved)).to.be.greaterThan(utilisationOf(l0.lpAssets, l0.reserved));
      expect(await s.engine.currentBorrowIndex(BTC_MARKET)).to.equal(indexAtT1);
      // One second later the BTC market is touched (a tiny open accrues it).
      const t2 = t1 + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t2);
      await s.engine.connect(carol).open(BTC_MARKET, true, 10n * USDC, WAD / 1000n, btcPx, FAR);
      const m2 = await s.engine.market(BTC_MARKET);
      expect(m2.borrowIndex).to.equal(indexAt(m0, l1, a1, t2));
      expect(m2.borrowIndex - indexAtT1).to.be.closeTo(borrowRate(defaultParams.baseBorrowRate, defaultParams.borrowRateSlope, l1.reserved, l1.lpAssets), 1n);
    });
  });

  describe("invalid prices", () => {
    // A stale feed blocks LP flows only on a market with open interest (Alice's ETH long here);
    // contracts/test/PoolValuation.t.sol covers a bad feed on a market without any.
    it("withdraw and deposit: refuse while a feed is stale (shares are never priced on a bad price)", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const { lp } = s.signers;
      await networkHelpers.time.increase(3_601n);
      await expect(s.pool.connect(lp).withdraw(USDC, lp, lp)).to.be.revertedWithCustomError(s.engine, "StalePrice");
      await s.token.connect(s.signers.bob).approve(s.pool, USDC);
      await expect(s.pool.connect(s.signers.bob)["deposit(uint256,address)"](USDC, s.signers.bob)).to.be.revertedWithCustomError(
        s.engine,
        "StalePrice",
      );
    });

    // Found by this suite (ERC-4626 compliance): with a stale feed the max* views used to revert
    // or promise a deposit that would revert. They now return 0 while shares cannot be priced.
    it("maxWithdraw, maxRedeem, maxDeposit and maxMint: return 0 instead of reverting on a stale feed", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const { lp } = s.signers;
      await networkHelpers.time.increase(3_601n);
      expect(await s.pool.maxWithdraw(lp)).to.equal(0n);
      expect(await s.pool.maxRedeem(lp)).to.equal(0n);
      expect(await s.pool.maxDeposit(lp)).to.equal(0n);
      expect(await s.pool.maxMint(lp)).to.equal(0n);
    });
  });

  describe("pause", () => {
    it("pause: blocks deposits and mints (max 0) but not withdrawals or redemptions", async () => {
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const { lp, bob, guardian } = s.signers;
      await s.engine.connect(guardian).setPaused(true);
      expect(await s.pool.maxDeposit(bob)).to.equal(0n);
      expect(await s.pool.maxMint(bob)).to.equal(0n);
      await s.token.connect(bob).approve(s.pool, ethers.MaxUint256);
      await expect(s.pool.connect(bob)["deposit(uint256,address)"](USDC, bob))
        .to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxDeposit")
        .withArgs(bob.address, USDC, 0n);
      await expect(s.pool.connect(bob)["mint(uint256,address)"](10n ** 12n, bob))
        .to.be.revertedWithCustomError(s.pool, "ERC4626ExceededMaxMint")
        .withArgs(bob.address, 10n ** 12n, 0n);
      await expect(s.pool.connect(lp).withdraw(10n * USDC, lp, lp)).to.emit(s.pool, "Withdraw");
      await expect(s.pool.connect(lp).redeem(10n ** 12n, lp, lp)).to.emit(s.pool, "Withdraw");
      await s.engine.connect(guardian).setPaused(false);
      expect(await s.pool.maxDeposit(bob)).to.equal(ethers.MaxUint256);
      await expect(s.pool.connect(bob)["deposit(uint256,address)"](USDC, bob)).to.emit(s.pool, "Deposit");
    });

    it("pause: the engine's deposit hook itself refuses with ProtocolPaused (a zero deposit reaches it)", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.guardian).setPaused(true);
      await expect(s.pool.connect(s.signers.bob)["deposit(uint256,address)"](0n, s.signers.bob)).to.be.revertedWithCustomError(
        s.engine,
        "ProtocolPaused",
      );
    });

    it("pause: a market pause does not block LP deposits", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await s.engine.connect(s.signers.guardian).setMarketPaused(ETH_MARKET, true);
      await s.token.connect(s.signers.bob).approve(s.pool, USDC);
      await expect(s.pool.connect(s.signers.bob)["deposit(uint256,address)"](USDC, s.signers.bob)).to.emit(s.pool, "Deposit");
    });
  });

  describe("engine binding and access", () => {
    async function unbound() {
      const [deployer] = await ethers.getSigners();
      const token = await ethers.deployContract("MockStablecoin", ["USD Coin", "USDC", 6]);
      const pool = await ethers.deployContract("BulkheadPool", [token, "LP", "LP"]);
      const engine = await ethers.deployContract("Bulkhead", [token, pool, deployer, deployer, ethers.ZeroAddress, 0n], {
        libraries: await deployEngineLibraries(ethers),
      });
      return { token, pool, engine, deployer };
    }

    it("bindEngine: the deployer binds the engine once and EngineBound is emitted", async () => {
      const u = await networkHelpers.loadFixture(unbound);
      expect(await u.pool.engine()).to.equal(ethers.ZeroAddress);
      await expect(u.pool.bindEngine(u.engine)).to.emit(u.pool, "EngineBound").withArgs(await u.engine.getAddress());
      expect(await u.pool.engine()).to.equal(await u.engine.getAddress());
      await expect(u.pool.bindEngine(u.engine)).to.be.revertedWithCustomError(u.pool, "EngineAlreadySet");
    });

    it("bindEngine: reverts with PoolUnauthorized for anyone but the deployer", async () => {
      const u = await networkHelpers.loadFixture(unbound);
      const [, other] = await ethers.getSigners();
      await expect(u.pool.connect(other).bindEngine(u.engine))
        .to.be.revertedWithCustomError(u.pool, "PoolUnauthorized")
        .withArgs(other.address);
    });

    it("bindEngine: reverts with PoolUnauthorized(engine) for an engine of another pool", async () => {
      const u = await networkHelpers.loadFixture(unbound);
      const otherPool = await ethers.deployContract("BulkheadPool", [u.token, "LP2", "LP2"]);
      await expect(otherPool.bindEngine(u.engine))
        .to.be.revertedWithCustomError(otherPool, "PoolUnauthorized")
        .withArgs(await u.engine.getAddress());
    });

    it("unbound pool: totalAssets and maxDeposit are 0 and a deposit reverts with EngineNotSet", async () => {
      const u = await networkHelpers.loadFixture(unbound);
      const [deployer] = await ethers.getSigners();
      expect(await u.pool.totalAssets()).to.equal(0n);
      expect(await u.pool.maxDeposit(deployer)).to.equal(0n);
      expect(await u.pool.maxWithdraw(deployer)).to.equal(0n);
      await expect(u.pool["deposit(uint256,address)"](0n, deployer)).to.be.revertedWithCustomError(u.pool, "EngineNotSet");
      await expect(u.pool["mint(uint256,address)"](0n, deployer)).to.be.revertedWithCustomError(u.pool, "EngineNotSet");
      await u.token.faucet(deployer, USDC);
      await u.token.approve(u.pool, USDC);
      await expect(u.pool["deposit(uint256,address)"](USDC, deployer))
        .to.be.revertedWithCustomError(u.pool, "ERC4626ExceededMaxDeposit")
        .withArgs(deployer.address, USDC, 0n);
    });

    it("pay: reverts with PoolUnauthorized for anyone but the engine (deployer included)", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { deployer, lp } = s.signers;
      for (const caller of [deployer, lp]) {
        await expect(s.pool.connect(caller).pay(caller, 1n))
          .to.be.revertedWithCustomError(s.pool, "PoolUnauthorized")
          .withArgs(caller.address);
      }
    });

    it("onDeposit and onWithdraw: the engine's hooks revert with Unauthorized for anyone but the pool", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { lp, deployer } = s.signers;
      await expect(s.engine.connect(lp).onDeposit(USDC)).to.be.revertedWithCustomError(s.engine, "Unauthorized").withArgs(lp.address);
      await expect(s.engine.connect(deployer).onWithdraw(USDC))
        .to.be.revertedWithCustomError(s.engine, "Unauthorized")
        .withArgs(deployer.address);
    });

    it("onWithdraw: the engine itself refuses to book a withdrawal past free liquidity, whatever the pool asks", async () => {
      // BulkheadPool caps withdrawals at maxWithdraw first; this is the engine's own guard behind it.
      const s = await networkHelpers.loadFixture(smallPoolWithPosition);
      const l = await s.engine.ledger();
      const free = l.lpAssets - l.reserved;
      expect(free).to.be.greaterThan(0n);
      const pool = await s.pool.getAddress();
      await networkHelpers.impersonateAccount(pool);
      await networkHelpers.setBalance(pool, 10n ** 18n);
      const asPool = await ethers.getSigner(pool);
      await expect(s.engine.connect(asPool).onWithdraw(free + 1n))
        .to.be.revertedWithCustomError(s.engine, "InsufficientFreeLiquidity")
        .withArgs(free, free + 1n);
      await (await s.engine.connect(asPool).onWithdraw(free)).wait();
      expect((await s.engine.ledger()).lpAssets).to.equal(l.reserved);
      await networkHelpers.stopImpersonatingAccount(pool);
    });
  });

  describe("insurance fund", () => {
    it("fundInsurance: anyone adds to the insurance fund; the tokens go to the pool", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      const { carol } = s.signers;
      await expectBalanceDeltas(
        s.token,
        [carol, s.pool],
        async () => {
          await expect(s.engine.connect(carol).fundInsurance(12n * USDC))
            .to.emit(s.engine, "InsuranceFunded")
            .withArgs(carol.address, 12n * USDC);
        },
        [-12n * USDC, 12n * USDC],
      );
      const l = await s.engine.ledger();
      expect([l.insuranceFund, l.lpAssets]).to.deep.equal([12n * USDC, LP_DEPOSIT]);
      expect(await s.pool.totalAssets()).to.equal(LP_DEPOSIT); // not LP value
      await expectPoolConserved(s);
    });

    it("fundInsurance: reverts with ZeroAmount and with AmountTooLarge past 2^128-1", async () => {
      const s = await networkHelpers.loadFixture(unitSystem);
      await expect(s.engine.fundInsurance(0n)).to.be.revertedWithCustomError(s.engine, "ZeroAmount");
      await expect(s.engine.fundInsurance(2n ** 128n))
        .to.be.revertedWithCustomError(s.engine, "AmountTooLarge")
        .withArgs(2n ** 128n, 2n ** 128n - 1n);
    });
  });
});
