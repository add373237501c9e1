// SDK parity (DESIGN.md invariant 8): the SDK's PositionMath / HealthLib mirror equals the Solidity
// libraries exactly, on seeded random and boundary inputs, through PositionMathHarness (batched).
import { expect } from "chai";
import { network } from "hardhat";
import { ArithmeticError, ConstantsLib, HealthLib, MathLib, PositionMath } from "../../sdk/src/math/index.js";
import type { Health, RiskParams } from "../../sdk/src/types.js";
import { Rng } from "./helpers/random.js";

const { ethers } = await network.connect();

const WAD = ConstantsLib.WAD;
const U96 = (1n << 96n) - 1n;
const U128 = (1n << 128n) - 1n;
const U64 = (1n << 64n) - 1n;
const SEED = 0xb01c4eadn;
const RANDOM_CASES = 2_400;
const BATCH = 200;

type Case = {
  isLong: boolean;
  size: bigint;
  entry: bigint;
  price: bigint;
  collateral: bigint;
  borrowIndex: bigint;
  index: bigint;
  unit: bigint;
  mmr: bigint;
  liquidationFeeRate: bigint;
  minLiquidationFee: bigint;
  maxProfitFactorBps: bigint;
  maxLeverage: bigint;
  minCollateral: bigint;
};

type Out = {
  ok: boolean;
  notionalDown: bigint;
  notionalUp: bigint;
  pnl: bigint;
  borrowFeeUp: bigint;
  maxProfitUp: bigint;
  liquidationFeeUp: bigint;
  maintenanceUp: bigint;
  initialMarginUp: bigint;
  equity: bigint;
  liquidationPrice: bigint;
  liquidationPriceHigh: bigint;
  liquidationFeeDown: bigint;
  closeFeeUp: bigint;
  cappedPnl: bigint;
  health: Health;
  equityWithoutProfit: bigint;
  marginAfterChangeUp: bigint;
  maxRemovableCollateral: bigint;
};

const unitOf = (decimals: number) => WAD * 10n ** BigInt(18 - decimals);
const riskOf = (c: Case): RiskParams => ({
  mmr: c.mmr,
  liquidationFeeRate: c.liquidationFeeRate,
  minLiquidationFee: c.minLiquidationFee,
  maxProfitFactorBps: c.maxProfitFactorBps,
});
const positionOf = (c: Case) => ({
  isLong: c.isLong,
  size: c.size,
  entryPrice: c.entry,
  collateral: c.collateral,
  borrowIndex: c.borrowIndex,
  maxProfitFactorBps: c.maxProfitFactorBps,
});

/** The SDK side: every function on one case, in the harness's order; ok = false where it throws. */
function sdkEvaluate(c: Case): Out | { ok: false } {
  try {
    const notionalDown = PositionMath.notionalDown(c.size, c.price, c.unit);
    const notionalUp = PositionMath.notionalUp(c.size, c.price, c.unit);
    const pnl = PositionMath.pnl(c.isLong, c.size, c.entry, c.price, c.unit);
    const borrowFeeUp = PositionMath.borrowFeeUp(c.size, c.entry, c.index - c.borrowIndex, c.unit);
    const maxProfitUp = PositionMath.maxProfitUp(c.size, c.entry, c.maxProfitFactorBps, c.unit);
    const liquidationFeeUp = PositionMath.liquidationFeeUp(notionalUp, c.liquidationFeeRate, c.minLiquidationFee);
    const maintenanceUp = PositionMath.maintenanceUp(notionalUp, c.mmr, c.liquidationFeeRate, c.minLiquidationFee);
    const initialMarginUp = PositionMath.initialMarginUp(notionalUp, c.maxLeverage);
    const equity = PositionMath.equity(c.collateral, pnl, borrowFeeUp);
    const liquidationPrice = PositionMath.liquidationPrice(
      c.isLong, c.size, c.entry, c.collateral, borrowFeeUp, maxProfitUp, c.mmr, c.liquidationFeeRate, c.minLiquidationFee, c.unit,
    );
    const liquidationPriceHigh = PositionMath.liquidationPriceHigh(
      c.size, c.collateral, borrowFeeUp, maxProfitUp, c.mmr, c.liquidationFeeRate, c.minLiquidationFee, c.unit,
    );
    const liquidationFeeDown = PositionMath.liquidationFeeDown(notionalDown, c.liquidationFeeRate, c.minLiquidationFee);
    // The harness uses the case's maxLeverage as the close fee rate (both WAD).
    const closeFeeUp = PositionMath.closeFeeUp(notionalUp, c.maxLeverage, c.mmr);
    const cappedPnl = PositionMath.cappedPnl(pnl, maxProfitUp);
    const risk = riskOf(c);
    const p = positionOf(c);
    const health = HealthLib.withLiquidationPrice(HealthLib.health(p, risk, c.price, c.index, c.unit), p, risk, c.unit);
    const equityWithoutProfit = PositionMath.equityWithoutProfit(c.collateral, pnl, borrowFeeUp);
    const marginAfterChangeUp = PositionMath.marginAfterChangeUp(
      notionalUp, c.maxLeverage, c.mmr, c.liquidationFeeRate, c.minLiquidationFee,
    );
    const maxRemovableCollateral = PositionMath.maxRemovableCollateral(
      c.collateral, pnl, borrowFeeUp, marginAfterChangeUp, c.minCollateral,
    );
    return {
      ok: true, notionalDown, notionalUp, pnl, borrowFeeUp, maxProfitUp, liquidationFeeUp, maintenanceUp,
      initialMarginUp, equity, liquidationPrice, liquidationPriceHigh, liquidationFeeDown, closeFeeUp, cappedPnl, health,
      equityWithoutProfit, marginAfterChangeUp, maxRemovableCollateral,
    };
  } catch (e) {
    if (e instanceof ArithmeticError) return { ok: false };
    throw e;
  }
}

function randomCase(rng: Rng): Case {
  const decimals = rng.pick([6, 6, 18, 18, 0, 8, 12, rng.int(0, 18)]);
  const unit = unitOf(decimals);
  const one = 10n ** BigInt(decimals);
  const price = rng.bool(0.7) ? rng.range(WAD / 100n, 200_000n * WAD) : rng.log(1n, U96);
  const move = rng.range(0n, 2n * WAD); // entry = price * [0, 2]
  let entry = rng.bool(0.8) ? MathLib.mulDivDown(price, move, WAD) : rng.log(1n, U96);
  if (entry === 0n) entry = 1n;
  if (entry > U96) entry = U96;
  const size = rng.bool(0.7) ? rng.range(WAD / 1000n, 1_000n * WAD) : rng.log(1n, U128);
  const maxLeverage = rng.range(ConstantsLib.MIN_MAX_LEVERAGE, ConstantsLib.MAX_MAX_LEVERAGE);
  const leverage = rng.range(WAD, maxLeverage);
  const notional = (size * entry) / unit;
  let collateral = rng.bool(0.8) ? (notional * WAD) / leverage : rng.log(1n, U96);
  if (collateral > U96) collateral = U96;
  const borrowIndex = rng.bool(0.3) ? 0n : rng.log(1n, 1n << 70n);
  let index = borrowIndex + (rng.bool(0.2) ? 0n : rng.log(1n, 1n << 64n));
  if (rng.bool(0.01)) index = borrowIndex === 0n ? 0n : borrowIndex - 1n; // underflow: both must revert
  if (index > U96) index = U96;
  const mmr = rng.range(ConstantsLib.MIN_MMR, ConstantsLib.MAX_MMR);
  const liquidationFeeRate = rng.bool(0.1) ? 0n : rng.range(0n, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
  const minLiquidationFee = rng.bool(0.1) ? 0n : rng.range(0n, 100n * one > U96 ? U96 : 100n * one);
  const maxProfitFactorBps = rng.range(ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS, ConstantsLib.MAX_MAX_PROFIT_FACTOR_BPS);
  // Around the collateral half the time, so both bounds of maxRemovableCollateral bind.
  const minCollateral = rng.bool(0.5) ? rng.range(1n, collateral + 1n) : rng.log(1n, U96);
  return {
    isLong: rng.bool(), size, entry, price, collateral, borrowIndex, index, unit, mmr, liquidationFeeRate,
    minLiquidationFee, maxProfitFactorBps, maxLeverage, minCollateral,
  };
}

/** Hand-picked edges: zero, one wei, max leverage, maxima, 6/18 decimals. */
function boundaryCases(): Case[] {
  const base = (decimals: number, isLong: boolean): Case => ({
    isLong,
    size: WAD,
    entry: 3000n * WAD,
    price: 3000n * WAD,
    collateral: 300n * 10n ** BigInt(decimals),
    borrowIndex: 0n,
    index: 0n,
    unit: unitOf(decimals),
    mmr: WAD / 200n,
    liquidationFeeRate: WAD / 200n,
    minLiquidationFee: 10n ** BigInt(decimals),
    maxProfitFactorBps: 5000n,
    maxLeverage: 50n * WAD,
    minCollateral: 10n ** BigInt(decimals + 1),
  });
  const out: Case[] = [];
  for (const decimals of [6, 18]) {
    for (const isLong of [true, false]) {
      const b = base(decimals, isLong);
      out.push(b);
      out.push({ ...b, size: 0n }); // size 0: liquidationPrice divides by zero on both sides
      out.push({ ...b, size: 1n });
      out.push({ ...b, size: 1n, price: 1n, entry: 1n, collateral: 1n });
      out.push({ ...b, collateral: 0n });
      out.push({ ...b, collateral: 1n });
      out.push({ ...b, price: 1n });
      out.push({ ...b, price: U96 });
      out.push({ ...b, entry: U96, price: 1n });
      out.push({ ...b, size: U128 });
      out.push({ ...b, size: U128, entry: U96, price: U96, collateral: U96 });
      out.push({ ...b, size: U128, entry: U96, price: 1n, collateral: 0n, index: U96 });
      out.push({ ...b, collateral: U96 });
      out.push({ ...b, index: U96 }); // maximal borrow index move
      out.push({ ...b, borrowIndex: 1n, index: 0n }); // index below snapshot: both revert
      out.push({ ...b, mmr: ConstantsLib.MAX_MMR, liquidationFeeRate: ConstantsLib.MAX_LIQUIDATION_FEE_RATE });
      out.push({ ...b, mmr: U64, liquidationFeeRate: U64 }); // rate >= 1: WAD - rate underflows for a long
      out.push({ ...b, minLiquidationFee: U96 });
      out.push({ ...b, maxLeverage: 0n }); // wDivUp by zero
      out.push({ ...b, maxLeverage: ConstantsLib.MAX_MAX_LEVERAGE });
      // exactly at max leverage: collateral = initial margin of the notional
      for (const lev of [ConstantsLib.MIN_MAX_LEVERAGE, 50n * WAD, ConstantsLib.MAX_MAX_LEVERAGE]) {
        const n = PositionMath.notionalUp(b.size, b.price, b.unit);
        const c = PositionMath.initialMarginUp(n, lev);
        out.push({ ...b, maxLeverage: lev, collateral: c });
        out.push({ ...b, maxLeverage: lev, collateral: c - 1n });
      }
    }
  }
  return out;
}

/** For each case with a liquidation price L > 0: the same position valued at L - 1, L, L + 1. */
function atLiquidationPrice(cases: Case[]): Case[] {
  const out: Case[] = [];
  for (const c of cases) {
    const r = sdkEvaluate(c);
    if (!r.ok) continue;
    const L = (r as Out).liquidationPrice;
    if (L === 0n) continue;
    for (const price of [L - 1n, L, L + 1n]) if (price > 0n) out.push({ ...c, price });
  }
  return out;
}

async function harnessRun(harness: { run: (cases: Case[]) => Promise<unknown[]> }, cases: Case[]): Promise<Out[]> {
  const chunks: Promise<unknown[]>[] = [];
  for (let i = 0; i < cases.length; i += BATCH) chunks.push(harness.run(cases.slice(i, i + BATCH)));
  const results = (await Promise.all(chunks)).flat();
  return results.map((r) => {
    const o = r as unknown as Out & { health: Health };
    return {
      ok: o.ok,
      notionalDown: o.notionalDown,
      notionalUp: o.notionalUp,
      pnl: o.pnl,
      borrowFeeUp: o.borrowFeeUp,
      maxProfitUp: o.maxProfitUp,
      liquidationFeeUp: o.liquidationFeeUp,
      maintenanceUp: o.maintenanceUp,
      initialMarginUp: o.initialMarginUp,
      equity: o.equity,
      liquidationPrice: o.liquidationPrice,
      equityWithoutProfit: o.equityWithoutProfit,
      marginAfterChangeUp: o.marginAfterChangeUp,
      maxRemovableCollateral: o.maxRemovableCollateral,
      liquidationPriceHigh: o.liquidationPriceHigh,
      liquidationFeeDown: o.liquidationFeeDown,
      closeFeeUp: o.closeFeeUp,
      cappedPnl: o.cappedPnl,
      health: {
        price: o.health.price,
        notional: o.health.notional,
        pnl: o.health.pnl,
        borrowFee: o.health.borrowFee,
        equity: o.health.equity,
        maintenance: o.health.maintenance,
        liquidationFee: o.health.liquidationFee,
        liquidationPrice: o.health.liquidationPrice,
        liquidatable: o.health.liquidatable,
      },
    };
  });
}

function compare(cases: Case[], chain: Out[]): { compared: number; reverted: number } {
  let reverted = 0;
  cases.forEach((c, i) => {
    const sdk = sdkEvaluate(c);
    const onchain = chain[i]!;
    const where = `case ${i}: ${JSON.stringify(c, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`;
    expect(sdk.ok, `revert parity, ${where}`).to.equal(onchain.ok);
    if (!onchain.ok) {
      reverted++;
      return;
    }
    expect(sdk, where).to.deep.equal(onchain);
  });
  return { compared: cases.length, reverted };
}

describe("sdk parity: PositionMath and HealthLib against the Solidity libraries", function () {
  this.timeout(120_000);
  let harness: { run: (cases: Case[]) => Promise<unknown[]> };

  before(async () => {
    harness = (await ethers.deployContract("PositionMathHarness")) as unknown as typeof harness;
  });

  it(`test_parity_randomCases: ${RANDOM_CASES} seeded random cases are bit-identical`, async () => {
    const rng = new Rng(SEED);
    const cases = Array.from({ length: RANDOM_CASES }, () => randomCase(rng));
    const { compared, reverted } = compare(cases, await harnessRun(harness, cases));
    expect(compared).to.equal(RANDOM_CASES);
    // Almost every random case is in range; the few deliberate underflows revert on both sides.
    expect(reverted).to.be.lessThan(RANDOM_CASES / 10);
  });

  it("test_parity_boundaries: zero, one wei, maxima, max leverage, 6 and 18 decimals", async () => {
    const cases = boundaryCases();
    const { reverted } = compare(cases, await harnessRun(harness, cases));
    expect(reverted).to.be.greaterThan(0); // the deliberate panics are compared, not skipped
  });

  it("test_parity_liquidationPrice: valued at L - 1, L and L + 1 wei", async () => {
    const rng = new Rng(SEED ^ 0x5eedn);
    const cases = atLiquidationPrice([...boundaryCases(), ...Array.from({ length: 600 }, () => randomCase(rng))]);
    expect(cases.length).to.be.greaterThan(1_000);
    compare(cases, await harnessRun(harness, cases));
  });

  it("test_liquidationPrice_boundary: a long is liquidatable one wei below L and above H, a short one wei above L; at L either way", () => {
    // L rounds towards liquidation; one wei past it the real-number margin is already negative
    // and every rounding in health() favours liquidation, so the position must be liquidatable.
    const rng = new Rng(SEED ^ 0xb0bn);
    let checked = 0;
    let checkedHigh = 0;
    const atL = { liquidatable: 0, healthy: 0 };
    for (let i = 0; i < 3_000; i++) {
      const c = randomCase(rng);
      const r = sdkEvaluate(c);
      if (!r.ok) continue;
      const L = (r as Out).liquidationPrice;
      const past = c.isLong ? L - 1n : L + 1n;
      if (L === 0n || past <= 0n || past > U96) continue;
      const h = HealthLib.health(positionOf(c), riskOf(c), past, c.index, c.unit);
      expect(h.liquidatable, `case ${i} L=${L}`).to.equal(true);
      checked++;
      atL[HealthLib.health(positionOf(c), riskOf(c), L, c.index, c.unit).liquidatable ? "liquidatable" : "healthy"]++;
      // A long's profit side: with its gain capped it is liquidatable again one wei above H.
      const H = (r as Out).liquidationPriceHigh;
      if (c.isLong && H + 1n <= U96) {
        expect(HealthLib.health(positionOf(c), riskOf(c), H + 1n, c.index, c.unit).liquidatable, `case ${i} H=${H}`).to.equal(true);
        checkedHigh++;
      }
    }
    expect(checked).to.be.greaterThan(1_000);
    expect(checkedHigh, "capped longs checked one wei above H").to.be.greaterThan(100);
    // At L itself the integer-rounded health goes either way (hence "strictly past L" in the docs).
    expect(atL.liquidatable, "liquidatable at L").to.be.greaterThan(0);
    expect(atL.healthy, "healthy at L").to.be.greaterThan(0);
  });
  it("test_parity_carriedProfitFactorDown: increase's carried cap factor is bit-identical on random and edge inputs", async () => {
    type Carry = { isLong: boolean; size: bigint; entry: bigint; price: bigint; oldFactorBps: bigint; currentFactorBps: bigint; unit: bigint };
    const sdkCarry = (c: Carry): bigint | null => {
      try {
        const cap = PositionMath.maxProfitUp(c.size, c.entry, c.oldFactorBps, c.unit);
        let realised = PositionMath.pnl(c.isLong, c.size, c.entry, c.price, c.unit);
        if (realised > cap) realised = cap;
        return PositionMath.carriedProfitFactorDown(c.size, c.price, cap - realised, c.currentFactorBps, c.unit);
      } catch (e) {
        if (e instanceof ArithmeticError) return null;
        throw e;
      }
    };
    const rng = new Rng(SEED ^ 0xca9n);
    const { MIN_MAX_PROFIT_FACTOR_BPS: LO, MAX_MAX_PROFIT_FACTOR_BPS: HI } = ConstantsLib;
    const cases: Carry[] = Array.from({ length: 600 }, () => {
      const c = randomCase(rng);
      return { isLong: c.isLong, size: c.size, entry: c.entry, price: c.price, oldFactorBps: rng.range(0n, HI), currentFactorBps: rng.range(LO, HI), unit: c.unit };
    });
    const b = { isLong: true, size: WAD, entry: 3_000n * WAD, price: 3_000n * WAD, oldFactorBps: 5_000n, currentFactorBps: 5_000n, unit: unitOf(6) };
    cases.push(
      b,
      { ...b, price: 4_500n * WAD }, // exactly at the cap: factor 0
      { ...b, price: 4_500n * WAD - 1n }, // one wei under it
      { ...b, price: 3_001n * WAD, isLong: false }, // a loss: cap left above the current factor
      { ...b, oldFactorBps: 0n },
      { ...b, size: U128, entry: U96, price: U96 },
      { ...b, size: 1n, price: 1n, unit: unitOf(18) },
      { ...b, price: 0n }, // division by zero on both sides
    );
    const chain = { ok: [] as boolean[], factor: [] as bigint[] };
    const h = harness as unknown as { runCarry: (c: Carry[]) => Promise<[boolean[], bigint[]]> };
    for (let i = 0; i < cases.length; i += BATCH) {
      const [ok, factor] = await h.runCarry(cases.slice(i, i + BATCH));
      chain.ok.push(...ok);
      chain.factor.push(...factor);
    }
    let reverted = 0;
    cases.forEach((c, i) => {
      const sdk = sdkCarry(c);
      const where = `case ${i}: ${JSON.stringify(c, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`;
      expect(sdk !== null, `revert parity, ${where}`).to.equal(chain.ok[i]);
      if (sdk === null) reverted++;
      else expect(sdk, where).to.equal(chain.factor[i]);
    });
    expect(reverted).to.be.greaterThan(0);
    expect(sdkCarry({ ...b, price: 4_500n * WAD })).to.equal(0n);
    expect(sdkCarry({ ...b, price: 3_001n * WAD, isLong: false })).to.equal(5_000n);
  });
});
