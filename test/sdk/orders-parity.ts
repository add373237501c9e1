// The SDK's OrderLogic mirror (sdk/src/orders.ts) equals contracts/libraries/OrderLogic.sol
// exactly, on seeded random inputs clustered at the boundaries (equal prices, one wei apart),
// through OrderLogicHarness (batched); and trailingStopPrice is exactly the trail's boundary.
import { expect } from "chai";
import { network } from "hardhat";
import { OrderKind, OrderLogic, trailingStopPrice, type OrderKindName } from "../../sdk/src/index.js";

const { ethers } = await network.create();
const KINDS: OrderKindName[] = ["LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit", "TrailingStop"];

function rng(seed: bigint) {
  let x = seed;
  const next = (m: bigint) => (x = (x * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n) % m;
  return { next, near: (v: bigint) => { const d = next(5n) - 2n; return v + d > 0n ? v + d : 1n; } };
}

describe("SDK parity: OrderLogic", () => {
  it("test_parity_orderLogic_equalsTheLibrary_onSeededBoundaryCases", async () => {
    const harness = (await ethers.deployContract("OrderLogicHarness")) as unknown as {
      run(cases: unknown[]): Promise<{ buys: boolean; waitsAt: boolean; crossed: boolean; trailReached: boolean; stopReachable: boolean }[]>;
    };
    const r = rng(0x0de5n);
    const cases = Array.from({ length: 600 }, () => {
      const kind = KINDS[Number(r.next(BigInt(KINDS.length)))]!;
      const isLong = r.next(2n) === 0n;
      const base = 1n + r.next(10n ** 24n);
      const trailBps = 10n + r.next(4_991n);
      const peak = 1n + r.next(10n ** 24n);
      const trailing = r.next(2n) === 0n;
      const price = trailing ? r.near(trailingStopPrice(isLong, trailBps, peak)) : r.near(base);
      return { kind, isLong, trigger: r.near(base), price, fill: r.near(price), trailBps, peak };
    });
    const out = await harness.run(cases.map((c) => ({ ...c, kind: OrderKind[c.kind] })));
    let trailsReached = 0;
    cases.forEach((c, i) => {
      const o = out[i]!;
      const sdk = {
        buys: OrderLogic.buys(c.kind, c.isLong),
        waitsAt: OrderLogic.waitsAt(c.kind, c.isLong, c.trigger, c.price),
        crossed: OrderLogic.crossed(c.kind, c.isLong, c.trigger, c.price, c.fill),
        trailReached: OrderLogic.trailReached(c.isLong, c.trailBps, c.peak, c.price),
        stopReachable: OrderLogic.stopReachable(c.isLong, c.trigger, c.price),
      };
      expect(sdk, JSON.stringify(c, (_, v) => (typeof v === "bigint" ? v.toString() : v))).to.deep.equal({
        buys: o.buys, waitsAt: o.waitsAt, crossed: o.crossed, trailReached: o.trailReached, stopReachable: o.stopReachable,
      });
      if (sdk.trailReached) trailsReached++;
    });
    expect(trailsReached).to.be.greaterThan(50).and.lessThan(550);
  });

  it("test_trailingStopPrice_isExactlyTheFirstDuePrice", () => {
    const r = rng(0x7a11n);
    for (let i = 0; i < 2_000; i++) {
      const isLong = r.next(2n) === 0n;
      const trailBps = 10n + r.next(4_991n);
      const peak = 1n + r.next(10n ** 24n);
      const at = trailingStopPrice(isLong, trailBps, peak);
      expect(OrderLogic.trailReached(isLong, trailBps, peak, at)).to.equal(true);
      expect(OrderLogic.trailReached(isLong, trailBps, peak, isLong ? at + 1n : at - 1n)).to.equal(false);
    }
  });
});
