import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { deployUnitSystem, expectBalanceDeltas, expectPoolConserved } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;

/** Fee-on-transfer collateral (1% skimmed from transfers of 100 units or more). The LP
 *  deposits 99 units, which the token does not skim, so the engine has a little free liquidity. */
async function feeToken() {
  return deployUnitSystem(ethers, { token: "FeeOnTransferToken", lpDeposit: 99n });
}

/** Blacklist token; 1: Alice long 1 ETH 300 USDC; 2: Bob long 1 ETH 75 USDC; 3: Carol long 1 ETH 75 USDC. */
async function blacklist() {
  const s = await deployUnitSystem(ethers, { token: "BlacklistToken" });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  await s.engine.connect(s.signers.bob).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  await s.engine.connect(s.signers.carol).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  const bl = await ethers.getContractAt("BlacklistToken", s.token);
  return { ...s, bl };
}

/** Reentrant token; 1: Alice long 1 ETH 300 USDC; 2: Bob long 1 ETH 75 USDC. */
async function reentrant() {
  const s = await deployUnitSystem(ethers, { token: "ReentrantToken" });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
  await s.engine.connect(s.signers.bob).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR);
  const rt = await ethers.getContractAt("ReentrantToken", s.token);
  return { ...s, rt };
}

describe("security", () => {
  describe("fee-on-transfer collateral", () => {
    it("open: reverts with TransferAmountMismatch when the vault receives less than the collateral", async () => {
      const s = await networkHelpers.loadFixture(feeToken);
      const collateral = 10n * USDC;
      await expect(s.engine.connect(s.signers.alice).open(ETH_MARKET, true, collateral, 10n ** 10n, PX, FAR))
        .to.be.revertedWithCustomError(s.engine, "TransferAmountMismatch")
        .withArgs(collateral, collateral - collateral / 100n);
      expect(await s.engine.nextPositionId()).to.equal(1n);
    });

    it("fundInsurance: reverts with TransferAmountMismatch when the pool receives less", async () => {
      const s = await networkHelpers.loadFixture(feeToken);
      await expect(s.engine.connect(s.signers.alice).fundInsurance(1_000n))
        .to.be.revertedWithCustomError(s.engine, "TransferAmountMismatch")
        .withArgs(1_000n, 990n);
    });

    it("deposit: the pool reverts with TransferAmountMismatch when it receives less than the assets", async () => {
      const s = await networkHelpers.loadFixture(feeToken);
      const { bob } = s.signers;
      await s.token.connect(bob).approve(s.pool, 500n);
      await expect(s.pool.connect(bob)["deposit(uint256,address)"](500n, bob))
        .to.be.revertedWithCustomError(s.pool, "TransferAmountMismatch")
        .withArgs(500n, 495n);
    });
  });

  describe("blacklisting collateral token", () => {
    it("liquidate: a blacklisted owner cannot block the liquidation of their position", async () => {
      const s = await networkHelpers.loadFixture(blacklist);
      const { bob, keeper } = s.signers;
      await s.bl.setBlacklisted(bob, true);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(bob).close(2n, 0n, FAR))
        .to.be.revertedWithCustomError(s.bl, "Blacklisted")
        .withArgs(bob.address);
      const reward = (await s.engine.previewLiquidation(2n)).keeperReward;
      await expectBalanceDeltas(
        s.token,
        [bob, keeper],
        async () => {
          await expect(s.engine.connect(keeper).liquidate(2n)).to.emit(s.engine, "PositionLiquidated");
        },
        [0n, reward],
      );
      await expectPoolConserved(s);
    });

    it("liquidate: a blacklisted vault blocks only its own position", async () => {
      const s = await networkHelpers.loadFixture(blacklist);
      const { alice, keeper } = s.signers;
      const vault2 = await s.engine.vaultOf(2n);
      await s.bl.setBlacklisted(vault2, true);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(keeper).liquidate(2n)).to.be.revertedWithCustomError(s.bl, "Blacklisted").withArgs(vault2);
      await expect(s.engine.connect(keeper).liquidate(3n)).to.emit(s.engine, "PositionLiquidated");
      await expect(s.engine.connect(alice).close(1n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
      await expect(s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, ethers.MaxUint256, FAR)).to.emit(
        s.engine,
        "PositionOpened",
      );
      expect(await s.token.balanceOf(vault2)).to.equal(75n * USDC);
      await expectPoolConserved(s);
    });

    it("liquidateMany: a blacklisted vault is skipped untouched; the rest of the batch is liquidated and rewarded", async () => {
      // Changed rule (issue 11): a vault whose transfer reverts used to revert the whole batch.
      const s = await networkHelpers.loadFixture(blacklist);
      const { keeper, alice } = s.signers;
      await s.engine.connect(alice).open(ETH_MARKET, true, 75n * USDC, WAD, PX, FAR); // id 4
      const vault3 = await s.engine.vaultOf(3n);
      await s.bl.setBlacklisted(vault3, true);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      const before3 = await s.engine.position(3n);
      const previews = [await s.engine.previewLiquidation(2n), await s.engine.previewLiquidation(4n)];
      const reward = previews[0]!.keeperReward + previews[1]!.keeperReward;
      expect(await s.engine.connect(keeper).liquidateMany.staticCall([2n, 3n, 4n])).to.deep.equal([2n, reward]);
      await expectBalanceDeltas(
        s.token,
        [keeper, vault3],
        async () => {
          const tx = s.engine.connect(keeper).liquidateMany([2n, 3n, 4n]);
          // One block later than the previews: the borrow fee (and so equity and the split) moved a little.
          await expect(tx).to.emit(s.engine, "PositionLiquidated").withArgs(2n, keeper.address, s.signers.bob.address, 2_950n * WAD, () => true, previews[0]!.maintenance, previews[0]!.keeperReward, 0n, (x: bigint) => x >= 0n, 0n, 0n, () => true);
          await expect(tx).to.emit(s.engine, "PositionLiquidated").withArgs(4n, keeper.address, alice.address, 2_950n * WAD, () => true, previews[1]!.maintenance, previews[1]!.keeperReward, 0n, (x: bigint) => x >= 0n, 0n, 0n, () => true);
        },
        [reward, 0n],
      );
      expect(await s.engine.position(3n)).to.deep.equal(before3);
      expect(await s.engine.ownerOf(3n)).to.equal(s.signers.carol.address);
      expect(await s.engine.isLiquidatable(3n)).to.equal(true);
      expect((await s.engine.position(2n)).size).to.equal(0n);
      expect((await s.engine.position(4n)).size).to.equal(0n);
      await expectPoolConserved(s);
    });

    it("liquidateMany: a batch given too little gas for a liquidation reverts instead of skipping it", async () => {
      // Without this a gas estimate (binary search for the least gas that does not revert) would
      // settle on the gas at which the self-call runs out and every id is skipped.
      const s = await networkHelpers.loadFixture(blacklist);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      const engine = s.engine.connect(s.signers.keeper);
      const used = (await (await engine.liquidateMany.send([2n])).wait())!.gasUsed;
      await networkHelpers.loadFixture(blacklist).then(() => s.ethFeed.updateAnswer(feedAnswer(2_950n)));
      let reverted = 0;
      for (let gasLimit = 40_000n; gasLimit < used + 10_000n; gasLimit += 2_000n) {
        const out = await engine.liquidateMany.staticCall([2n], { gasLimit }).then(
          (r) => r,
          () => null,
        );
        if (out === null) reverted++;
        else expect(out[0], `gas ${gasLimit}: succeeded without liquidating`).to.equal(1n);
      }
      expect(reverted).to.be.greaterThan(0);
    });

    it("liquidateFromBatch: reverts with Unauthorized for any caller but the engine", async () => {
      const s = await networkHelpers.loadFixture(blacklist);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await expect(s.engine.connect(s.signers.keeper).liquidateFromBatch(2n, s.signers.keeper, 2_950n * WAD))
        .to.be.revertedWithCustomError(s.engine, "Unauthorized")
        .withArgs(s.signers.keeper.address);
    });
  });

  describe("reentrancy (token callback during a transfer)", () => {
    const GUARD = "ReentrancyGuardReentrantCall";

    it("open: a callback into close during the collateral transfer fails with ReentrancyGuardReentrantCall", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      const { alice } = s.signers;
      await s.rt.arm(s.engine, s.engine.interface.encodeFunctionData("close", [1n, 0n, FAR]));
      await expect(s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR)).to.emit(s.engine, "PositionOpened");
      expect(await s.rt.lastCallSucceeded()).to.equal(false);
      expect(await s.rt.lastRevertData()).to.equal(s.engine.interface.encodeErrorResult(GUARD, []));
      expect((await s.engine.position(1n)).size).to.equal(WAD);
    });

    type Encodes = { interface: { encodeFunctionData(f: string, a: unknown[]): string } };
    const calls: [string, (e: Encodes) => string][] = [
      ["open", (e) => e.interface.encodeFunctionData("open", [ETH_MARKET, true, 300n * USDC, WAD, PX, FAR])],
      ["increase", (e) => e.interface.encodeFunctionData("increase", [1n, 0n, WAD, PX, FAR])],
      ["decrease", (e) => e.interface.encodeFunctionData("decrease", [1n, WAD / 2n, 0n, FAR])],
      ["addCollateral", (e) => e.interface.encodeFunctionData("addCollateral", [1n, USDC])],
      ["removeCollateral", (e) => e.interface.encodeFunctionData("removeCollateral", [1n, USDC])],
      ["liquidate", (e) => e.interface.encodeFunctionData("liquidate", [2n])],
      ["liquidateMany", (e) => e.interface.encodeFunctionData("liquidateMany", [[2n]])],
      ["fundInsurance", (e) => e.interface.encodeFunctionData("fundInsurance", [USDC])],
    ];
    for (const [name, encode] of calls) {
      it(`close: a callback into ${name} during the payout fails with ReentrancyGuardReentrantCall`, async () => {
        const s = await networkHelpers.loadFixture(reentrant);
        await s.ethFeed.updateAnswer(feedAnswer(2_950n)); // position 2 liquidatable
        await s.rt.arm(s.engine, encode(s.engine));
        await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
        expect(await s.rt.lastCallSucceeded()).to.equal(false);
        expect(await s.rt.lastRevertData()).to.equal(s.engine.interface.encodeErrorResult(GUARD, []));
      });
    }

    it("liquidate: a token hook on the first transfer sees the final ledger and no position (effects before transfers)", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      // The first transfer is the vault paying the keeper; the hook reads the ledger right then.
      await s.rt.arm(s.engine, s.engine.interface.encodeFunctionData("ledger"));
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n)).to.emit(s.engine, "PositionLiquidated");
      expect(await s.rt.lastCallSucceeded()).to.equal(true);
      const seen = s.engine.interface.decodeFunctionResult("ledger", await s.rt.lastRevertData())[0] as bigint[];
      expect([...seen]).to.deep.equal([...(await s.engine.ledger())]);
    });

    it("liquidateMany: a token hook on the vault transfer sees the final ledger and no position", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await s.rt.arm(s.engine, s.engine.interface.encodeFunctionData("position", [2n]));
      await expect(s.engine.connect(s.signers.keeper).liquidateMany([2n])).to.emit(s.engine, "PositionLiquidated");
      expect(await s.rt.lastCallSucceeded()).to.equal(true);
      const seen = s.engine.interface.decodeFunctionResult("position", await s.rt.lastRevertData())[0];
      expect(seen.size).to.equal(0n);
    });

    it("close: a callback into liquidateFromBatch during the payout fails with Unauthorized", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n)); // position 2 liquidatable
      await s.rt.arm(s.engine, s.engine.interface.encodeFunctionData("liquidateFromBatch", [2n, s.signers.bob.address, 2_950n * WAD]));
      await expect(s.engine.connect(s.signers.alice).close(1n, 0n, FAR)).to.emit(s.engine, "PositionDecreased");
      expect(await s.rt.lastCallSucceeded()).to.equal(false);
      expect(await s.rt.lastRevertData()).to.equal(s.engine.interface.encodeErrorResult("Unauthorized", [await s.rt.getAddress()]));
      expect((await s.engine.position(2n)).size).to.equal(WAD);
    });

    it("liquidate: a callback into the pool's deposit (engine hook) fails with the engine's guard", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      await s.ethFeed.updateAnswer(feedAnswer(2_950n));
      await s.rt.arm(s.pool, s.pool.interface.encodeFunctionData("deposit(uint256,address)", [0n, await s.rt.getAddress()]));
      await expect(s.engine.connect(s.signers.keeper).liquidate(2n)).to.emit(s.engine, "PositionLiquidated");
      expect(await s.rt.lastCallSucceeded()).to.equal(false);
      expect(await s.rt.lastRevertData()).to.equal(s.engine.interface.encodeErrorResult(GUARD, []));
      await expectPoolConserved(s);
    });

    it("deposit: a callback into the pool during an LP deposit fails with the pool's guard", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      const { lp } = s.signers;
      await s.token.connect(s.signers.bob).transfer(lp, 10n * USDC);
      await s.token.connect(lp).approve(s.pool, 10n * USDC);
      await s.rt.arm(s.pool, s.pool.interface.encodeFunctionData("withdraw", [1n, lp.address, lp.address]));
      await expect(s.pool.connect(lp)["deposit(uint256,address)"](10n * USDC, lp)).to.emit(s.pool, "Deposit");
      expect(await s.rt.lastCallSucceeded()).to.equal(false);
      expect(await s.rt.lastRevertData()).to.equal(s.pool.interface.encodeErrorResult(GUARD, []));
    });

    it("control: the same callback outside an engine call is not stopped by the guard", async () => {
      const s = await networkHelpers.loadFixture(reentrant);
      await s.rt.arm(s.engine, s.engine.interface.encodeFunctionData("close", [1n, 0n, FAR]));
      await s.token.connect(s.signers.bob).transfer(s.signers.carol, 1n);
      expect(await s.rt.lastCallSucceeded()).to.equal(false);
      // It fails for the right reason: the token is not the position's owner.
      expect(await s.rt.lastRevertData()).to.equal(
        s.engine.interface.encodeErrorResult("NotPositionOwner", [1n, await s.rt.getAddress()]),
      );
    });
  });

  describe("isolation", () => {
    it("every action on other positions leaves a position's record, owner and vault untouched", async () => {
      const s = await networkHelpers.loadFixture(reentrant); // a plain ERC-20 while not armed
      const { alice, bob, carol, keeper } = s.signers;
      const vault1 = await s.engine.vaultOf(1n);
      const snapshot = async () => [
        [...(await s.engine.position(1n))],
        await s.engine.ownerOf(1n),
        await s.token.balanceOf(vault1),
      ];
      const before = await snapshot();
      const steps: (() => Promise<unknown>)[] = [
        () => s.engine.connect(carol).open(ETH_MARKET, false, 300n * USDC, WAD, 0n, FAR), // 3
        () => s.engine.connect(carol).increase(3n, 10n * USDC, WAD / 2n, 0n, FAR),
        () => s.engine.connect(carol).decrease(3n, WAD / 4n, ethers.MaxUint256, FAR),
        () => s.engine.connect(carol).addCollateral(3n, USDC),
        () => s.engine.connect(carol).removeCollateral(3n, USDC),
        () => s.engine.connect(carol).close(3n, ethers.MaxUint256, FAR),
        () => s.ethFeed.updateAnswer(feedAnswer(2_950n)),
        () => s.engine.connect(keeper).liquidate(2n),
        () => s.engine.connect(bob).fundInsurance(USDC),
      ];
      for (const step of steps) {
        await step();
        const now = await snapshot();
        expect(now).to.deep.equal(before);
      }
      expect(await s.engine.ownerOf(1n)).to.equal(alice.address);
      await expectPoolConserved(s);
    });
  });
});
