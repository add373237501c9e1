// Issue 11, findings 2 and 3 and the fee pull of `increase`: the attacks as the review reproduced
// them on the default test parameters, each asserting the safe behaviour.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, defaultRisk, wadFromFeed } from "../helpers/fixture.js";
import { wMulUp } from "../helpers/reference.js";
import { deployUnitSystem, expectPoolConserved } from "../helpers/unit.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE); // 3000e18
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;

/**
 * Alice holds position 1: long 10 ETH at 3,000 with 1,000 USDC (cap 15,000); ETH is now 6,000.
 * Borrow rates are zero so the paths differ only by what the cap lets them earn.
 */
async function longInProfit() {
  const s = await deployUnitSystem(ethers);
  await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n });
  await s.engine.connect(s.signers.alice).open(ETH_MARKET, true, 1_000n * USDC, 10n * WAD, PX, FAR);
  await s.ethFeed.updateAnswer(feedAnswer(6_000n));
  return s;
}

/** What `action` changes Alice's wallet by. */
async function aliceNet(s: Awaited<ReturnType<typeof longInProfit>>, action: () => Promise<unknown>): Promise<bigint> {
  const before = await s.token.balanceOf(s.signers.alice);
  await action();
  return (await s.token.balanceOf(s.signers.alice)) - before;
}

describe("increase: the profit cap and the risk snapshot", () => {
  it("increase: cannot raise the cap on earned profit (increase-then-close pays no more than a second position)", async () => {
    const closeOnly = await networkHelpers.loadFixture(longInProfit);
    const e0 = closeOnly.engine.connect(closeOnly.signers.alice);
    // 1,000 collateral + the 15,000 cap - 60 close fee.
    expect(await aliceNet(closeOnly, () => e0.close(1n, 0n, FAR))).to.equal(15_940n * USDC);

    const second = await networkHelpers.loadFixture(longInProfit);
    const e1 = second.engine.connect(second.signers.alice);
    const viaSecond = await aliceNet(second, async () => {
      await e1.open(ETH_MARKET, true, 1_500n * USDC, 10n * WAD, 6_000n * WAD, FAR);
      await e1.close(1n, 0n, FAR);
      await e1.close(2n, 0n, FAR);
    });
    expect(viaSecond).to.equal(15_820n * USDC); // 15,940 - 60 open fee - 60 close fee

    const increased = await networkHelpers.loadFixture(longInProfit);
    const e2 = increased.engine.connect(increased.signers.alice);
    const viaIncrease = await aliceNet(increased, async () => {
      await e2.increase(1n, 0n, 10n * WAD, 6_000n * WAD, FAR);
      await e2.close(1n, 0n, FAR);
    });
    // The review's reproduction paid 30,820 here: the earned 15,000 became a 45,000 cap.
    expect(viaIncrease).to.be.at.most(viaSecond);
    expect(viaIncrease).to.equal(15_820n * USDC);
    await expectPoolConserved(increased);
  });

  it("increase: cannot keep retired risk parameters at a new size (governance lowered max profit to 10 %)", async () => {
    const s = await deployUnitSystem(ethers);
    const { alice, bob } = s.signers;
    await s.engine.connect(alice).open(ETH_MARKET, true, 10n * USDC, WAD / 100n, PX, FAR); // version 0, 50 %
    await s.engine.setRiskParams(ETH_MARKET, { ...defaultRisk, maxProfitFactorBps: 1_000n }); // version 1
    const before = (await s.engine.ledger()).reserved;
    await s.engine.connect(alice).increase(1n, 7_000n * USDC, 100n * WAD, PX, FAR); // 100.01 ETH
    const reserveOfIncreased = (await s.engine.ledger()).reserved - before + s.u.maxProfit(WAD / 100n, PX, 5_000n);

    const fresh = (await s.engine.ledger()).reserved;
    await s.engine.connect(bob).open(ETH_MARKET, true, 7_010n * USDC, 100n * WAD + WAD / 100n, PX, FAR);
    const reserveOfFresh = (await s.engine.ledger()).reserved - fresh;
    expect(reserveOfFresh).to.equal(30_003n * USDC);
    // The review's reproduction reserved 150,015 here (version 0's 50 % on 300,030 of notional).
    expect(reserveOfIncreased).to.be.at.most(reserveOfFresh);
    expect((await s.engine.position(1n)).riskVersion).to.equal(1n);
  });

  it("increase: reverts with TransferAmountMismatch when the pool receives less than the open fee (no collateral added)", async () => {
    const s = await deployUnitSystem(ethers, { token: "FeeOnTransferToken", lpDeposit: 99n });
    const { alice, lp } = s.signers;
    const fot = await ethers.getContractAt("FeeOnTransferToken", s.token);
    await fot.setFeeOff(true);
    await s.fund(lp.address, 100_000n * USDC);
    await s.token.connect(lp).approve(s.pool, 100_000n * USDC);
    await s.pool.connect(lp)["deposit(uint256,address)"](100_000n * USDC, lp.address);
    await s.engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, PX, FAR);
    await fot.setFeeOff(false);
    const openFee = wMulUp(s.u.notional(WAD, PX), defaultParams.openFeeRate); // 3 USDC
    await expect(s.engine.connect(alice).increase(1n, 0n, WAD, PX, FAR))
      .to.be.revertedWithCustomError(s.engine, "TransferAmountMismatch")
      .withArgs(openFee, openFee - openFee / 100n);
  });
});
