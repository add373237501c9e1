import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { Kind, created, executeAt } from "../helpers/requests.js";
import { OrderKind, deployOrderSystem, params, placed } from "../helpers/orders.js";

const { ethers, networkHelpers } = await network.create();
const PX = wadFromFeed(ETH_PRICE);

describe("order book smoke", () => {
  it("stop-loss closes a long at a crossing report", async () => {
    const s = await deployOrderSystem(ethers);
    const r = await created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, 2n ** 96n - 1n, { value: await s.fee(Kind.Open) }));
    await executeAt(s, networkHelpers, r, ETH_MARKET, { price: PX });
    const stop = (PX * 95n) / 100n;
    const o = await placed(s, s.book.connect(s.signers.alice).place(params({ kind: OrderKind.StopLoss, positionId: 1n, trigger: stop, acceptablePrice: (stop * 98n) / 100n }), { value: await s.orderFee(OrderKind.StopLoss) }));
    await networkHelpers.time.increase(5);
    const t = BigInt(await networkHelpers.time.latest());
    // Not crossed.
    await expect(s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, t, { price: PX }))).to.be.revertedWithCustomError(s.book, "TriggerNotCrossed");
    await (await s.ethFeed.updateAnswer((ETH_PRICE * 95n) / 100n)).wait();
    const t2 = BigInt(await networkHelpers.time.latest());
    const tx = await s.book.connect(s.signers.keeper).execute(o.id, s.signAt(ETH_MARKET, t2, { price: stop }));
    console.log("ok", (await tx.wait())?.gasUsed, await s.engine.position(1n));
  });
});
