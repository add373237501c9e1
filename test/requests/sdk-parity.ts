// SDK parity of the request rules (sdk/src/requests.ts): the open fee the router takes from the
// amount, the pinned settlement second, the fill side and the status timeline equal what the
// contracts do, on seeded random requests.
import { expect } from "chai";
import { network } from "hardhat";
import { buys, expiresAt, requestOpenFee, requestStatus, settlementTime, toTradeRequest } from "@bulkhead/sdk";
import { ETH_MARKET, USDC, WAD, defaultParams } from "../helpers/fixture.js";
import { Kind, TIMING, created, deployRequestSystem } from "../helpers/requests.js";
import { HALF_SPREAD_BPS } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();
const MAX_UINT96 = 2n ** 96n - 1n;

async function system() {
  return deployRequestSystem(ethers);
}

describe("SDK parity: requests", () => {
  it("test_parity_requestOpenFeeAndFillSide_equalTheRouters_onSeededRequests", async () => {
    const s = await networkHelpers.loadFixture(system);
    let seed = 0x5eedn;
    const next = (m: bigint) => (seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n) % m;
    for (let i = 0; i < 12; i++) {
      const isLong = next(2n) === 0n;
      const size = WAD / 10n + next(5n * WAD);
      const price = 3_000n * WAD + next(60n * WAD) - 30n * WAD; // within 1 % of the push price
      const amount = 2_000n * USDC + next(1_000n * USDC);
      const r = await created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, isLong, amount, size, isLong ? MAX_UINT96 : 0n, { value: await s.fee(Kind.Open) }));
      const stored = toTradeRequest((await s.router.request(r.id)) as never)!;
      expect(settlementTime(stored)).to.equal(Number(r.settlesAt));
      expect(expiresAt(stored)).to.equal(Number(r.createdAt + TIMING.expiry));
      expect(requestStatus(stored, Number(r.createdAt))).to.equal("waiting-for-report");
      expect(requestStatus(stored, Number(r.settlesAt))).to.equal("executable");
      expect(requestStatus(stored, expiresAt(stored) + 1)).to.equal("expired");
      await networkHelpers.time.increaseTo(r.settlesAt);
      const q = { price };
      const spread = (price * HALF_SPREAD_BPS) / 10_000n;
      const fill = buys("Open", isLong) ? price + spread : price - spread;
      const tx = await s.router.connect(s.signers.keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, q));
      const receipt = (await tx.wait())!;
      const engine = await s.engine.getAddress();
      const opened = receipt.logs.filter((l) => l.address === engine).map((l) => s.engine.interface.parseLog(l)).find((p) => p?.name === "PositionOpened")!;
      expect(opened.args.price).to.equal(fill);
      const fee = requestOpenFee(size, fill, defaultParams.openFeeRate, await s.engine.unit());
      expect(opened.args.openFee).to.equal(fee);
      expect(opened.args.collateral).to.equal(amount - fee);
    }
  });
});
