// End-to-end isolation (DESIGN.md invariants 1, 2, 4): three traders hold six positions on ETH
// and BTC, long and short at 3x to 40x; one ETH crash makes exactly one position (Bob's 40x ETH
// long) liquidatable, and a keeper liquidates it. Every other position's engine record (raw
// storage words, slots from solc's storage layout), ERC-721 ownership word and vault balance must
// be byte-for-byte unchanged, and every amount must equal both the pre-trade preview and an
// independent model of DESIGN.md's math.
import { expect } from "chai";
import { network } from "hardhat";
import type { Log } from "ethers";
import {
  deploySystem,
  ETH_MARKET,
  BTC_MARKET,
  ETH_PRICE,
  BTC_PRICE,
  USDC,
  WAD,
  FAR,
  wadFromFeed,
} from "../helpers/fixture.js";
import {
  storageLayoutOf,
  mappingOfStruct,
  mappingValueSlot,
  decodeMember,
  soladyOwnershipSlot,
  type MappingOfStruct,
} from "../helpers/storageLayout.js";
import { borrowIndexAt, expectedLiquidation } from "../helpers/liquidationModel.js";

const { ethers, networkHelpers } = await network.connect();

const DAY = 24 * 3600;
const feed = (usd: bigint) => usd * 10n ** 8n;

type Trader = "alice" | "bob" | "carol";
/** The book, in opening order (id = index + 1). Leverage = notional at open / collateral. */
const BOOK: { trader: Trader; market: bigint; isLong: boolean; collateral: bigint; size: bigint }[] = [
  { trader: "alice", market: ETH_MARKET, isLong: true, collateral: 600n * USDC, size: WAD }, // 5x
  { trader: "bob", market: ETH_MARKET, isLong: true, collateral: 75n * USDC, size: WAD }, // 40x: the victim
  { trader: "carol", market: ETH_MARKET, isLong: false, collateral: 300n * USDC, size: WAD }, // 10x
  { trader: "alice", market: BTC_MARKET, isLong: false, collateral: 600n * USDC, size: WAD / 10n }, // 10x
  { trader: "bob", market: BTC_MARKET, isLong: true, collateral: 300n * USDC, size: WAD / 10n }, // 20x
  { trader: "carol", market: BTC_MARKET, isLong: true, collateral: 1000n * USDC, size: WAD / 20n }, // 3x
];
const IDS = BOOK.map((_, i) => BigInt(i + 1));
const VICTIM = 2n;
const OTHERS = IDS.filter((id) => id !== VICTIM);

/** Six positions opened at 3000 / 60000, then a day of borrow fees, feeds refreshed. */
async function sixPositionsOneDayLater() {
  const sys = await deploySystem(ethers);
  const { engine, ethFeed, btcFeed, signers } = sys;
  for (const b of BOOK) {
    const px = wadFromFeed(b.market === ETH_MARKET ? ETH_PRICE : BTC_PRICE);
    await (await engine.connect(signers[b.trader]).open(b.market, b.isLong, b.collateral, b.size, px, FAR)).wait();
  }
  await networkHelpers.time.increase(DAY);
  await (await ethFeed.updateAnswer(ETH_PRICE)).wait();
  await (await btcFeed.updateAnswer(BTC_PRICE)).wait();
  return sys;
}
type System = Awaited<ReturnType<typeof sixPositionsOneDayLater>>;

let positionsLayout: MappingOfStruct;

/** Raw storage of one position: its record words, its ERC-721 ownership word, its vault. */
async function rawState(sys: System, id: bigint) {
  const engineAddr = await sys.engine.getAddress();
  const base = mappingValueSlot(id, positionsLayout.slot);
  const words: string[] = [];
  for (let i = 0n; i < BigInt(positionsLayout.structSlots); i++) {
    words.push(await ethers.provider.getStorage(engineAddr, base + i));
  }
  const ownership = await ethers.provider.getStorage(engineAddr, soladyOwnershipSlot(id));
  const vault = await sys.engine.vaultOf(id);
  return {
    words,
    ownership,
    vault,
    vaultBalance: await sys.token.balanceOf(vault),
    vaultCode: await ethers.provider.getCode(vault),
  };
}

async function ledgerOf(sys: System) {
  const l = await sys.engine.ledger();
  return { lpAssets: l.lpAssets, reserved: l.reserved, insuranceFund: l.insuranceFund, protocolFees: l.protocolFees };
}

async function expectPoolBalanced(sys: System) {
  const l = await ledgerOf(sys);
  expect(await sys.token.balanceOf(await sys.pool.getAddress())).to.equal(l.lpAssets + l.insuranceFund + l.protocolFees);
}

async function expectNotLiquidatable(sys: System, ids: bigint[], blockTag: "latest" | "pending" = "latest") {
  for (const id of ids) {
    expect(await sys.engine.isLiquidatable(id, { blockTag }), `isLiquidatable(${id})`).to.equal(false);
    expect((await sys.engine.previewLiquidation(id, { blockTag })).liquidatable, `preview(${id})`).to.equal(false);
    await expect(
      sys.engine.connect(sys.signers.keeper).liquidate.staticCall(id, { blockTag }),
    ).to.be.revertedWithCustomError(sys.engine, "PositionNotLiquidatable");
  }
}

/**
 * Crashes ETH to `crashUsd`, liquidates the victim (alone or inside a batch of every id) and checks
 * isolation, conservation and that every amount equals the preview and the independent model.
 * Returns the preview for variant-specific checks.
 */
async function crashAndLiquidate(sys: System, crashUsd: bigint, opts: { insurance?: bigint; batch?: boolean } = {}) {
  const { engine, token, pool, ethFeed, signers } = sys;
  const { keeper, alice, bob, carol, deployer } = signers;
  const poolAddr = await pool.getAddress();
  if (opts.insurance) {
    await (await token.faucet(deployer.address, opts.insurance)).wait();
    await (await token.connect(deployer).approve(engine, opts.insurance)).wait();
    await (await engine.connect(deployer).fundInsurance(opts.insurance)).wait();
  }

  // The slot derivation is verified before it is trusted: every member decoded from raw storage
  // equals the public view, and the ownership word holds the ERC-721 owner.
  for (const id of IDS) {
    const raw = await rawState(sys, id);
    const view = await engine.position(id);
    const words = raw.words.map(BigInt);
    for (const m of positionsLayout.members) {
      const expected = view[m.label as keyof typeof view];
      expect(decodeMember(words, m), `${m.label} of #${id}`).to.equal(
        typeof expected === "boolean" ? BigInt(expected) : expected,
      );
    }
    expect(ethers.getAddress(ethers.toBeHex(BigInt(raw.ownership) & ((1n << 160n) - 1n), 20))).to.equal(
      await engine.ownerOf(id),
    );
    expect(raw.vaultBalance).to.equal(view.collateral);
  }
  await expectNotLiquidatable(sys, IDS);
  await expectPoolBalanced(sys);

  await (await ethFeed.updateAnswer(feed(crashUsd))).wait();
  await expectNotLiquidatable(sys, OTHERS);
  expect(await engine.isLiquidatable(VICTIM)).to.equal(true);

  // Snapshot, then pin the liquidation's block time so the preview runs in the same block context.
  const before = new Map<bigint, Awaited<ReturnType<typeof rawState>>>();
  for (const id of OTHERS) before.set(id, await rawState(sys, id));
  const victimVault = await engine.vaultOf(VICTIM);
  const victimVaultBalance = await token.balanceOf(victimVault);
  const wallets = [alice, bob, carol].map((s) => s.address);
  const walletsBefore = await Promise.all(wallets.map((a) => token.balanceOf(a)));
  const keeperBefore = await token.balanceOf(keeper.address);
  const poolBefore = await token.balanceOf(poolAddr);
  const ledgerBefore = await ledgerOf(sys);
  const victim = await engine.position(VICTIM);
  const risk = await engine.riskParams(victim.marketId, victim.riskVersion);
  const market = await engine.market(victim.marketId);

  const t = BigInt(await networkHelpers.time.latest()) + 7n;
  await networkHelpers.time.setNextBlockTimestamp(t);
  const preview = await engine.previewLiquidation(VICTIM, { blockTag: "pending" });
  await expectNotLiquidatable(sys, OTHERS, "pending");

  const model = expectedLiquidation(
    victim,
    risk,
    wadFromFeed(feed(crashUsd)),
    borrowIndexAt(market, ledgerBefore, await engine.utilisationAccumulator(), t),
    victimVaultBalance,
    ledgerBefore,
    await engine.unit(),
  );
  expect(preview.liquidatable).to.equal(true);
  expect(model.liquidatable).to.equal(true);
  expect(preview.price).to.equal(wadFromFeed(feed(crashUsd)));
  for (const k of ["equity", "maintenance", "keeperReward", "badDebt", "toInsurance", "fromInsurance", "fromPool", "lpDelta"] as const) {
    expect(preview[k], `preview.${k} vs model`).to.equal(model[k]);
  }

  if (opts.batch) {
    const [count, reward] = await engine.connect(keeper).liquidateMany.staticCall(IDS, { blockTag: "pending" });
    expect(count).to.equal(1n);
    expect(reward).to.equal(preview.keeperReward);
  }
  const tx = opts.batch ? await engine.connect(keeper).liquidateMany(IDS) : await engine.connect(keeper).liquidate(VICTIM);
  const receipt = (await tx.wait())!;
  expect(BigInt((await receipt.getBlock()).timestamp)).to.equal(t);

  // The event carries the previewed numbers, once, for the victim only.
  const engineAddr = await engine.getAddress();
  const events = receipt.logs
    .filter((log: Log) => log.address === engineAddr)
    .map((log: Log) => engine.interface.parseLog(log))
    .filter((e) => e?.name === "PositionLiquidated");
  expect(events).to.have.length(1);
  const ev = events[0]!.args;
  expect(ev.id).to.equal(VICTIM);
  expect(ev.keeper).to.equal(keeper.address);
  expect(ev.owner).to.equal(bob.address);
  for (const k of ["price", "equity", "maintenance", "keeperReward", "badDebt", "toInsurance", "fromInsurance", "fromPool", "lpDelta"] as const) {
    expect(ev[k], `event.${k}`).to.equal(preview[k]);
  }

  // Money: keeper, insurance, LPs, pool, victim vault; no trader wallet moves.
  expect((await token.balanceOf(keeper.address)) - keeperBefore).to.equal(preview.keeperReward);
  const ledgerAfter = await ledgerOf(sys);
  expect(ledgerAfter.insuranceFund - ledgerBefore.insuranceFund).to.equal(preview.toInsurance - preview.fromInsurance);
  expect(ledgerAfter.lpAssets - ledgerBefore.lpAssets).to.equal(preview.lpDelta);
  const victimReserve =
    (victim.size * victim.entryPrice * risk.maxProfitFactorBps + 10_000n * (await engine.unit()) - 1n) /
    (10_000n * (await engine.unit()));
  expect(ledgerBefore.reserved - ledgerAfter.reserved).to.equal(victimReserve);
  expect(ledgerAfter.protocolFees).to.equal(ledgerBefore.protocolFees);
  expect((await token.balanceOf(poolAddr)) - poolBefore).to.equal(victimVaultBalance - preview.keeperReward);
  await expectPoolBalanced(sys);
  expect(await token.balanceOf(victimVault)).to.equal(0n);
  for (const [i, a] of wallets.entries()) expect(await token.balanceOf(a), `wallet ${a}`).to.equal(walletsBefore[i]);

  // The victim is gone: record words zeroed, token burned.
  const victimAfter = await rawState(sys, VICTIM);
  for (const w of victimAfter.words) expect(BigInt(w)).to.equal(0n);
  await expect(engine.ownerOf(VICTIM)).to.be.revert(ethers);
  expect(await engine.isLiquidatable(VICTIM)).to.equal(false);

  // Everyone else: byte-for-byte unchanged, still open, still not liquidatable.
  for (const id of OTHERS) {
    const after = await rawState(sys, id);
    expect(after, `position #${id}`).to.deep.equal(before.get(id));
    expect(await engine.ownerOf(id)).to.equal(signers[BOOK[Number(id) - 1].trader].address);
    expect((await engine.position(id)).size).to.equal(BOOK[Number(id) - 1].size);
  }
  await expectNotLiquidatable(sys, OTHERS);
  return { preview, victimVaultBalance, ledgerBefore };
}

describe("e2e: isolation of one liquidation", () => {
  before(async () => {
    positionsLayout = mappingOfStruct(await storageLayoutOf("Bulkhead"), "_positions");
    expect(positionsLayout.structSlots).to.equal(2); // IBulkhead: "A position record, two slots"
  });

  it("test_liquidate_crashMakesOneLiquidatable_onlyItsVaultMoves", async () => {
    const sys = await networkHelpers.loadFixture(sixPositionsOneDayLater);
    const { preview } = await crashAndLiquidate(sys, 2950n);
    // Equity covers the reward: no bad debt, nothing from insurance or LPs, the rest to insurance.
    expect(preview.equity).to.be.greaterThanOrEqual(preview.keeperReward);
    expect(preview.badDebt).to.equal(0n);
    expect(preview.fromInsurance).to.equal(0n);
    expect(preview.fromPool).to.equal(0n);
    expect(preview.toInsurance).to.be.greaterThan(0n);
  });

  it("test_liquidateMany_allIds_liquidatesOnlyTheLiquidatableOne", async () => {
    const sys = await networkHelpers.loadFixture(sixPositionsOneDayLater);
    await crashAndLiquidate(sys, 2950n, { batch: true });
  });

  it("test_liquidate_badDebt_insuranceCoversShortfallFirst", async () => {
    const sys = await networkHelpers.loadFixture(sixPositionsOneDayLater);
    const { preview, victimVaultBalance } = await crashAndLiquidate(sys, 2700n, { insurance: 1_000n * USDC });
    expect(preview.badDebt).to.be.greaterThan(0n);
    // Shortfall = what the vault lacks for the LPs' due and the reward = bad debt + reward.
    expect(preview.fromInsurance).to.equal(preview.badDebt + preview.keeperReward);
    expect(preview.fromPool).to.equal(0n);
    expect(preview.toInsurance).to.equal(0n);
    expect(preview.lpDelta).to.equal(victimVaultBalance + preview.badDebt); // LPs made whole
  });

  it("test_liquidate_badDebt_insuranceTooSmall_poolCoversTheRest", async () => {
    const sys = await networkHelpers.loadFixture(sixPositionsOneDayLater);
    const insurance = 50n * USDC;
    const { preview, victimVaultBalance } = await crashAndLiquidate(sys, 2700n, { insurance });
    expect(preview.badDebt + preview.keeperReward).to.be.greaterThan(insurance);
    expect(preview.fromInsurance).to.equal(insurance);
    expect(preview.fromPool).to.equal(preview.badDebt + preview.keeperReward - insurance);
    expect(preview.lpDelta).to.equal(victimVaultBalance + insurance - preview.keeperReward);
    expect((await sys.engine.ledger()).insuranceFund).to.equal(0n);
  });

  it("test_liquidate_badDebt_emptyInsurance_lpsAbsorb", async () => {
    const sys = await networkHelpers.loadFixture(sixPositionsOneDayLater);
    const { preview, victimVaultBalance, ledgerBefore } = await crashAndLiquidate(sys, 2700n);
    expect(ledgerBefore.insuranceFund).to.equal(0n);
    expect(preview.badDebt).to.be.greaterThan(0n);
    expect(preview.fromInsurance).to.equal(0n);
    expect(preview.fromPool).to.equal(preview.badDebt + preview.keeperReward);
    // LPs receive only what the vault held minus the reward, instead of the trader's whole loss.
    expect(preview.lpDelta).to.equal(victimVaultBalance - preview.keeperReward);
  });
});
