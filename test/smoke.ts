import { expect } from "chai";
import { network } from "hardhat";
import { deploySystem, ETH_MARKET, USDC, WAD, FAR, wadFromFeed, ETH_PRICE } from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.connect();

describe("smoke", () => {
  it("open, close, liquidate", async () => {
    const { engine, token, ethFeed, pool, lens, signers } = await deploySystem(ethers);
    const { alice, bob, keeper } = signers;
    const px = wadFromFeed(ETH_PRICE);
    // Alice 10x long 1 ETH with 300 USDC
    await engine.connect(alice).open(ETH_MARKET, true, 300n * USDC, WAD, px, FAR);
    // Bob 40x long 1 ETH with 75 USDC
    await engine.connect(bob).open(ETH_MARKET, true, 75n * USDC, WAD, px, FAR);
    const h = await lens.health(2n);
    console.log("bob health", h.equity, h.maintenance, h.liquidationPrice);
    await ethFeed.updateAnswer(2950n * 10n ** 8n);
    console.log("liquidatable", await engine.isLiquidatable(1n), await engine.isLiquidatable(2n));
    const prev = await engine.previewLiquidation(2n);
    console.log(prev);
    const before = await token.balanceOf(keeper.address);
    await engine.connect(keeper).liquidate(2n);
    expect((await token.balanceOf(keeper.address)) - before).to.equal(prev.keeperReward);
    const v1 = await engine.vaultOf(1n);
    expect(await token.balanceOf(v1)).to.equal(300n * USDC);
    await engine.connect(alice).close(1n, 0n, FAR);
    const l = await engine.ledger();
    console.log(l, await token.balanceOf(pool));
    expect(await token.balanceOf(pool)).to.equal(l.lpAssets + l.insuranceFund + l.protocolFees);
    void networkHelpers;
  });
});
