// scripts/deploy/bounds.ts mirrors ConstantsLib and MarketConfigLogic. These tests hold the mirror
// to the contract: for boundary and random inputs, the TS validator and a real `listMarket` (and
// the constructor, setProtocolFeeShare, the market cap) must give the same verdict, down to the
// name, value, min and max carried by ParameterOutOfBounds.
import { expect } from "chai";
import { network } from "hardhat";
import * as B from "../../scripts/deploy/bounds.js";
import { deploySystem, defaultParams, defaultRisk, HEARTBEAT } from "../helpers/fixture.js";
import { engineFactory } from "../helpers/engine.js";

const { ethers } = await network.create();

type Verdict = { ok: true } | { ok: false; name: string; value: bigint; min: bigint; max: bigint } | { ok: false; error: string };

const tsVerdict = (hb: bigint, dec: bigint, p: B.MarketParams, r: B.RiskParams): Verdict => {
  const v = B.listMarketViolations(hb, dec, p, r)[0];
  return v ? { ok: false, ...v } : { ok: true };
};

describe("deploy: TS bounds agree with the contract", function () {
  this.timeout(120_000);
  let sys: Awaited<ReturnType<typeof deploySystem>>;
  const feeds = new Map<bigint, string>();

  before(async () => {
    sys = await deploySystem(ethers, { lpDeposit: 0n });
    for (const d of [0n, 8n, 18n, 36n, 37n, 255n]) {
      feeds.set(d, await (await ethers.deployContract("MockV3Aggregator", [d, 1n])).getAddress());
    }
  });

  async function contractVerdict(feed: string, hb: bigint, p: B.MarketParams, r: B.RiskParams): Promise<Verdict> {
    try {
      await sys.engine.listMarket.staticCall(feed, hb, p, r);
      return { ok: true };
    } catch (e) {
      return decode(e);
    }
  }

  function decode(e: unknown): Verdict {
    const data = (e as { data?: string }).data;
    const parsed = data ? sys.engine.interface.parseError(data) : null;
    if (parsed?.name === "ParameterOutOfBounds") {
      const [name, value, min, max] = parsed.args as unknown as [string, bigint, bigint, bigint];
      return { ok: false, name, value, min, max };
    }
    return { ok: false, error: parsed?.name ?? String(e) };
  }

  async function expectSame(dec: bigint, hb: bigint, p: B.MarketParams, r: B.RiskParams, label: string) {
    const contract = await contractVerdict(feeds.get(dec)!, hb, p, r);
    expect(contract, label).to.deep.equal(tsVerdict(hb, dec, p, r));
    return contract;
  }

  const P: B.MarketParams = { ...defaultParams };
  const R: B.RiskParams = { ...defaultRisk };

  it("test_bounds_constants_matchContractAtEveryEdge", async () => {
    // [field, min, max] per bounded field; min - 1, min, max and max + 1 are each judged by both.
    const paramEdges: [keyof B.MarketParams, bigint, bigint][] = [
      ["maxLeverage", B.MIN_MAX_LEVERAGE, B.MAX_MAX_LEVERAGE],
      ["openFeeRate", 0n, B.MAX_TRADING_FEE_RATE],
      ["closeFeeRate", 0n, B.MAX_TRADING_FEE_RATE],
      ["baseBorrowRate", 0n, B.MAX_BASE_BORROW_RATE],
      ["borrowRateSlope", 0n, B.MAX_BORROW_RATE_SLOPE],
      ["minCollateral", 1n, B.MAX_COLLATERAL],
      ["maxLongOpenInterest", 0n, B.MAX_SIZE],
      ["maxShortOpenInterest", 0n, B.MAX_SIZE],
    ];
    // Each value is paired with loose values of the other fields, so only the field itself can fail.
    const looseR = { mmr: B.MIN_MMR, liquidationFeeRate: 0n, minLiquidationFee: 0n, maxProfitFactorBps: R.maxProfitFactorBps };
    const looseP = { ...P, maxLeverage: B.MIN_MAX_LEVERAGE, minCollateral: 10n ** 12n };
    const riskEdges: [keyof B.RiskParams, bigint, bigint][] = [
      ["mmr", B.MIN_MMR, B.MAX_MMR],
      ["liquidationFeeRate", 0n, B.MAX_LIQUIDATION_FEE_RATE],
      ["maxProfitFactorBps", B.MIN_MAX_PROFIT_FACTOR_BPS, B.MAX_MAX_PROFIT_FACTOR_BPS],
    ];
    const around = (min: bigint, max: bigint) => [min - 1n, min, max, max + 1n].filter((x) => x >= 0n);
    let failures = 0;
    let outside = 0; // values outside [min, max], counted without the TS validator
    const judge = (x: bigint, min: bigint, max: bigint) => {
      if (x < min || x > max) outside++;
    };
    for (const hb of around(B.MIN_HEARTBEAT, B.MAX_HEARTBEAT).concat([0n])) {
      judge(hb, B.MIN_HEARTBEAT, B.MAX_HEARTBEAT);
      const v = await expectSame(8n, hb, P, R, `heartbeat ${hb}`);
      if (!v.ok) failures++;
    }
    for (const dec of [0n, 36n, 37n, 255n]) await expectSame(dec, HEARTBEAT, P, R, `feedDecimals ${dec}`);
    for (const [field, min, max] of paramEdges) {
      for (const x of around(min, max)) {
        // A cap of MAX_SIZE + 1 (or collateral beyond uint96) still ABI-encodes as uint256: the contract judges it.
        judge(x, min, max);
        const v = await expectSame(8n, HEARTBEAT, { ...P, [field]: x }, looseR, `${field} = ${x}`);
        if (!v.ok) failures++;
      }
    }
    for (const [field, min, max] of riskEdges) {
      for (const x of around(min, max)) {
        if (field === "mmr" && x > B.MAX_MMR + 1n) continue;
        judge(x, min, max);
        const r = { ...R, liquidationFeeRate: 0n, [field]: x };
        const v = await expectSame(8n, HEARTBEAT, looseP, r, `${field} = ${x}`);
        if (!v.ok) failures++;
      }
    }
    // The contract refused exactly the values outside their bounds, and accepted the edges.
    expect(failures).to.equal(outside);
    expect(outside).to.be.greaterThan(15);
  });

  it("test_bounds_coupledChecks_matchContractAtTheirEdges", async () => {
    for (const lev of [2n, 10n, 50n, 100n].map((x) => x * B.WAD)) {
      const initialRate = (B.WAD * B.WAD) / lev;
      for (const sum of [initialRate - 1n, initialRate]) {
        const r = { ...R, mmr: sum / 2n, liquidationFeeRate: sum - sum / 2n, minLiquidationFee: 0n };
        await expectSame(8n, HEARTBEAT, { ...P, maxLeverage: lev }, r, `lev ${lev} mmr+fee ${sum}`);
      }
      const mmr = B.MIN_MMR;
      const leveraged = (lev * mmr + B.WAD - 1n) / B.WAD;
      const room = (P.minCollateral * (B.WAD - leveraged)) / B.WAD;
      for (const fee of [0n, room - 1n, room, room + 1n]) {
        const v = await expectSame(8n, HEARTBEAT, { ...P, maxLeverage: lev }, { ...R, mmr, liquidationFeeRate: 0n, minLiquidationFee: fee }, `lev ${lev} minLiquidationFee ${fee}`);
        expect(v.ok, `fee ${fee} room ${room}`).to.equal(fee < room);
      }
    }
  });

  it("testFuzz_bounds_randomParameters_sameVerdictAsListMarket", async () => {
    let seed = 0xb01c4eadn;
    const rnd = (below: bigint) => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
      return (seed >> 16n) % below;
    };
    // Values spread around each bound, so every check fails in some cases and passes in others.
    const near = (lo: bigint, hi: bigint) => [lo, hi, lo + rnd(hi - lo + 1n), hi + 1n + rnd(hi / 4n + 1n), lo > 0n ? lo - 1n : 0n][Number(rnd(5n))];
    const counts = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const p: B.MarketParams = {
        maxLeverage: near(B.MIN_MAX_LEVERAGE, B.MAX_MAX_LEVERAGE),
        openFeeRate: near(0n, B.MAX_TRADING_FEE_RATE),
        closeFeeRate: near(0n, B.MAX_TRADING_FEE_RATE),
        baseBorrowRate: near(0n, B.MAX_BASE_BORROW_RATE),
        borrowRateSlope: near(0n, B.MAX_BORROW_RATE_SLOPE),
        minCollateral: near(1n, 10n ** 10n),
        maxLongOpenInterest: near(0n, 10n ** 24n),
        maxShortOpenInterest: near(0n, 10n ** 24n),
      };
      const r: B.RiskParams = {
        mmr: near(B.MIN_MMR, B.MAX_MMR / 20n),
        liquidationFeeRate: near(0n, B.MAX_LIQUIDATION_FEE_RATE / 5n),
        minLiquidationFee: near(0n, 10n ** 7n),
        maxProfitFactorBps: near(B.MIN_MAX_PROFIT_FACTOR_BPS, B.MAX_MAX_PROFIT_FACTOR_BPS),
      };
      const hb = near(B.MIN_HEARTBEAT, B.MAX_HEARTBEAT);
      const v = await expectSame(8n, hb, p, r, `case ${i}: ${JSON.stringify({ hb, p, r }, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}`);
      const key = v.ok ? "ok" : "name" in v ? v.name : v.error;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    // Both verdicts occurred, and more than a few different checks fired.
    expect(counts.get("ok") ?? 0).to.be.greaterThan(2);
    expect(counts.size).to.be.greaterThan(6);
  });

  it("test_bounds_feedWithoutCode_revertsFeedHasNoCode", async () => {
    const nobody = ethers.Wallet.createRandom().address;
    const v = await contractVerdict(nobody, HEARTBEAT, P, R);
    expect(v).to.deep.equal({ ok: false, error: "FeedHasNoCode" });
  });
  it("test_bounds_constructorGracePeriod_protocolFeeShare_marketCap", async () => {
    const factory = await engineFactory(ethers, sys.libraries);
    const [deployer] = await ethers.getSigners();
    for (const grace of [B.MAX_SEQUENCER_GRACE_PERIOD, B.MAX_SEQUENCER_GRACE_PERIOD + 1n]) {
      const tx = await factory.getDeployTransaction(sys.token, sys.pool, deployer.address, deployer.address, ethers.ZeroAddress, grace);
      let verdict: Verdict = { ok: true };
      try {
        await deployer.call(tx);
      } catch (e) {
        verdict = decode(e);
      }
      const v = B.gracePeriodViolation(grace);
      expect(verdict).to.deep.equal(v ? { ok: false, ...v } : { ok: true });
    }
    for (const share of [B.MAX_PROTOCOL_FEE_SHARE, B.MAX_PROTOCOL_FEE_SHARE + 1n]) {
      let verdict: Verdict = { ok: true };
      try {
        await sys.engine.setProtocolFeeShare.staticCall(share);
      } catch (e) {
        verdict = decode(e);
      }
      const v = B.protocolFeeShareViolation(share);
      expect(verdict).to.deep.equal(v ? { ok: false, ...v } : { ok: true });
    }
    // Two markets are listed by the fixture; list up to MAX_MARKETS, then one more must fail.
    const feed = feeds.get(8n)!;
    while ((await sys.engine.marketCount()) < B.MAX_MARKETS) await (await sys.engine.listMarket(feed, HEARTBEAT, P, R)).wait();
    let err = "";
    try {
      await sys.engine.listMarket.staticCall(feed, HEARTBEAT, P, R);
    } catch (e) {
      const d = decode(e);
      err = "error" in d ? d.error : "ParameterOutOfBounds";
    }
    expect(err).to.equal("TooManyMarkets");
  });

});
