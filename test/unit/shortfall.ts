// The engine's own actions keep LP assets >= reserved (DESIGN invariant 6), so LP assets never
// fall short of a trader's capped profit or of a liquidation's payout. The two branches that guard
// the pool if they ever did are defence in depth; these tests force the state (LP assets moved to
// protocol fees in raw storage, so the pool still holds exactly its ledger) and take each branch:
// a close whose profit LPs cannot pay (LP assets, then the insurance fund, then unpaid), and a
// liquidation whose LP share is more than LP assets (LP assets stop at zero, the keeper reward
// gives back the rest).
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, FAR, USDC, WAD, defaultParams, wadFromFeed } from "../helpers/fixture.js";
import { PROTOCOL_SHARE, deployUnitSystem, expectPoolConserved } from "../helpers/unit.js";
import { storageLayoutOf } from "../helpers/storageLayout.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const feedAnswer = (usd: bigint) => usd * 10n ** 8n;

/** A 2,000 USDC pool on an ETH market without borrow fees, so every number below is exact. */
async function thinPool() {
  const s = await deployUnitSystem(ethers, { lpDeposit: 2_000n * USDC });
  await (await s.engine.setMarketParams(ETH_MARKET, { ...defaultParams, baseBorrowRate: 0n, borrowRateSlope: 0n })).wait();
  return s;
}

type S = Awaited<ReturnType<typeof thinPool>>;

/** Moves LP assets down to `lpAssets` and the difference into protocol fees, in the engine's raw storage. */
async function forceLpAssets(s: S, lpAssets: bigint) {
  const layout = await storageLayoutOf("Bulkhead");
  const ledger = layout.storage.find((x) => x.label === "_ledger")!;
  const member = (label: string) => {
    const m = layout.types[ledger.type]!.members!.find((x) => x.label === label)!;
    return { slot: BigInt(ledger.slot) + BigInt(m.slot), shift: BigInt(m.offset * 8), mask: (1n << BigInt(Number(layout.types[m.type]!.numberOfBytes) * 8)) - 1n };
  };
  const engine = await s.engine.getAddress();
  const write = async (label: string, f: (old: bigint) => bigint) => {
    const m = member(label);
    const word = BigInt(await ethers.provider.getStorage(engine, m.slot));
    const old = (word >> m.shift) & m.mask;
    await networkHelpers.setStorageAt(engine, m.slot, (word & ~(m.mask << m.shift)) | ((f(old) & m.mask) << m.shift));
    return old;
  };
  const before = await write("lpAssets", () => lpAssets);
  await write("protocolFees", (fees) => fees + before - lpAssets);
  const l = await s.engine.ledger();
  expect(l.lpAssets).to.equal(lpAssets);
  await expectPoolConserved(s);
}

describe("LP shortfall (forced state, defence in depth)", () => {
  it("close: a profit LPs cannot pay comes from LP assets, then the insurance fund, and the rest is unpaid", async () => {
    const s = await networkHelpers.loadFixture(thinPool);
    const { alice, carol } = s.signers;
    await (await s.engine.connect(alice).open(ETH_MARKET, false, 150n * USDC, WAD / 2n, PX, FAR)).wait();
    await (await s.ethFeed.updateAnswer(feedAnswer(600n))).wait(); // pnl 1,200, capped at 750
    await (await s.engine.connect(carol).fundInsurance(10n * USDC)).wait();
    await forceLpAssets(s, 300n * USDC);
    const l = await s.engine.ledger();
    expect(l.lpAssets).to.be.lessThan(l.reserved);

    const p = await s.engine.position(1n);
    const cap = 750n * USDC; // 50 % of 0.5 ETH x 3,000
    const closeFee = 300_000n; // 0.1 % of 0.5 ETH x 600
    const protocolCut = (closeFee * PROTOCOL_SHARE) / WAD;
    const owedByLps = cap - (closeFee - protocolCut);
    const unpaid = owedByLps - l.lpAssets - l.insuranceFund;
    expect(unpaid).to.be.greaterThan(0n);

    const aliceBefore = await s.token.balanceOf(alice);
    const poolBefore = await s.token.balanceOf(s.pool);
    await (await s.engine.connect(alice).close(1n, ethers.MaxUint256, FAR)).wait();
    // What a full pool would have paid (collateral + capped profit - close fee), less the unpaid part.
    expect((await s.token.balanceOf(alice)) - aliceBefore).to.equal(p.collateral + cap - closeFee - unpaid);
    const after = await s.engine.ledger();
    expect(after.lpAssets).to.equal(0n);
    expect(after.insuranceFund).to.equal(0n);
    expect(after.protocolFees).to.equal(l.protocolFees + protocolCut);
    // The pool paid out all it held for LPs and insurance, less the protocol's cut of the close fee.
    expect(poolBefore - (await s.token.balanceOf(s.pool))).to.equal(l.lpAssets + l.insuranceFund - protocolCut);
    expect(await s.token.balanceOf(await s.engine.vaultOf(1n))).to.equal(0n);
    await expectPoolConserved(s);
  });

  it("liquidate: an LP share larger than LP assets stops LP assets at zero and takes the rest out of the keeper reward", async () => {
    const s = await networkHelpers.loadFixture(thinPool);
    const { alice, keeper } = s.signers;
    // 1 ETH short at 50x; a gap to 15,000 makes the reward (0.5 % of 15,000 = 75) exceed the vault (60),
    // so LPs owe 15 of it, and they hold only 5.
    await (await s.engine.connect(alice).open(ETH_MARKET, false, 60n * USDC, WAD, PX, FAR)).wait();
    await (await s.ethFeed.updateAnswer(feedAnswer(15_000n))).wait();
    await forceLpAssets(s, 5n * USDC);
    expect((await s.engine.ledger()).insuranceFund).to.equal(0n);

    const preview = await s.engine.previewLiquidation(1n);
    expect(preview.liquidatable).to.equal(true);
    expect(preview.lpDelta).to.equal(-5n * USDC);
    expect(preview.keeperReward).to.equal(65n * USDC); // the vault's 60 and the LPs' last 5
    expect(preview.toInsurance).to.equal(0n);
    expect(preview.fromInsurance).to.equal(0n);

    const keeperBefore = await s.token.balanceOf(keeper);
    const poolBefore = await s.token.balanceOf(s.pool);
    await (await s.engine.connect(keeper).liquidate(1n)).wait();
    expect((await s.token.balanceOf(keeper)) - keeperBefore).to.equal(65n * USDC);
    expect(poolBefore - (await s.token.balanceOf(s.pool))).to.equal(5n * USDC);
    expect((await s.engine.ledger()).lpAssets).to.equal(0n);
    expect(await s.token.balanceOf(await s.engine.vaultOf(1n))).to.equal(0n);
    await expectPoolConserved(s);
  });
});
