// The evaluator's price index (keeper/src/health-index.ts): evaluating exactly only the positions
// a price move crosses gives the same liquidatable ids as evaluating every position, on random
// states and prices, with the borrow index growing past the keys' headroom, prices at a
// position's liquidation price to the wei, records changing, opening, closing and re-read.
import { expect } from "chai";
import { positionHealth, type PositionView } from "@bulkhead/sdk";
import { Evaluator } from "../../keeper/src/evaluator.js";
import { HealthIndex } from "../../keeper/src/health-index.js";
import { Rng } from "../sdk/helpers/random.js";
import { WAD, marketStatus, riskVersions, offlineClient, randomView, unitOf, withCollateral } from "./helpers/synthetic.js";

const sortIds = (ids: bigint[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe("keeper: health index", function () {
  this.timeout(300_000);

  for (const decimals of [6, 18]) {
    it(`test_indexedEvaluation_equalsTheFullEvaluation_onRandomStatesPricesAndBorrowAccrual_${decimals}Decimals`, () => {
      const rng = new Rng(0x1dec5n + BigInt(decimals));
      const unit = unitOf(decimals);
      let prices: (bigint | null)[] = [3_000n * WAD, 60_000n * WAD];
      const indexes = [10n ** 16n, 3n * 10n ** 16n];
      const live = () => prices.map((p, i) => p ?? [3_000n * WAD, 60_000n * WAD][i]!);
      const views = new Map<bigint, PositionView>();
      let next = 1n;
      const open = (n: number) => {
        for (let i = 0; i < n; i++, next++) views.set(next, randomView(rng, next, { decimals, prices: live(), indexes }));
      };
      open(1_500);
      // A small headroom: the keys are replaced many times over the run, spread over blocks (3
      // here) and, after an index jump past them, at once.
      const indexed = new Evaluator(offlineClient(decimals), { fullEvaluationBlocks: 0, indexHeadroom: 10n ** 14n, rekeyBlocks: 3 });
      const full = new Evaluator(offlineClient(decimals), { indexed: false });
      let liquidatable = 0;
      let exact = 0;
      let evaluated = 0;
      let boundary = { in: 0, out: 0 };
      for (let block = 1; block <= 150; block++) {
        // Borrow fees accrue: mostly a little, sometimes a jump past the keys' headroom.
        for (let m = 0; m < indexes.length; m++) indexes[m] = indexes[m]! + (rng.bool(0.1) ? rng.range(10n ** 14n, 10n ** 15n) : rng.range(0n, 2n * 10n ** 13n));
        // Prices: small moves, crashes and pumps, a position's liquidation price to the wei, a failed feed.
        const all = [...views.values()];
        prices = live().map((p, m) => {
          const r = rng.int(0, 9);
          const base = [3_000n * WAD, 60_000n * WAD][m]!;
          if (r < 5) return (base * rng.range(9_900n, 10_100n)) / 10_000n;
          if (r < 7) return (base * rng.range(8_500n, 11_500n)) / 10_000n;
          const onMarket = all.filter((v) => v.position.marketId === m);
          if (r < 9 && onMarket.length > 0) {
            const v = rng.pick(onMarket);
            const h = positionHealth(v.position, v.risk, p, indexes[m]!, unit);
            const L = h.liquidationPrice;
            if (L > 3n) return L + rng.range(-3n, 3n);
          }
          return rng.bool(0.5) ? null : p;
        });
        if (prices.some((p) => p !== null && p <= 0n)) prices = prices.map((p) => (p !== null && p <= 0n ? 1n : p));
        // Records change: collateral moves, opens, closes; now and then every record is re-read.
        for (let i = 0; i < 5; i++) {
          const v = rng.pick(all);
          views.set(v.id, withCollateral(v, (v.position.collateral * rng.range(50n, 200n)) / 100n + 1n));
        }
        for (let i = 0; i < 3; i++) views.delete(rng.pick(all).id);
        open(rng.int(0, 6));
        if (block % 25 === 0) for (const [id, v] of views) views.set(id, { ...v, position: { ...v.position } });

        const markets = marketStatus(prices, indexes);
        const list = [...views.values()];
        const a = indexed.evaluateAt(list, markets, null, block, block * 12);
        const b = full.evaluateAt(list, markets, null, block, block * 12);
        expect(sortIds(a.candidates.map((c) => c.id)), `block ${block}`).to.deep.equal(sortIds(b.candidates.map((c) => c.id)));
        expect(a.candidates, "same order, rewards and health").to.deep.equal(b.candidates);
        expect(a.blocked).to.equal(b.blocked);
        expect(a.full).to.equal(false);
        // Every record sits at the keys of its market's key index (none left at older ones).
        if (block % 5 === 0) {
          for (const v of list) {
            const keyIndex = indexed.index!.keyIndex(v.position.marketId);
            expect(indexed.index!.keysFor(v.id), `keys of ${v.id} at block ${block}`).to.deep.equal(indexed.index!.keysOf(v, keyIndex!));
          }
        }
        liquidatable += b.candidates.length;
        exact += a.exact;
        evaluated += b.exact;
        for (const v of list) {
          const p = prices[v.position.marketId];
          if (p === null || p === undefined) continue;
          const h = positionHealth(v.position, v.risk, p, indexes[v.position.marketId]!, unit);
          const d = h.liquidationPrice - p;
          if (d >= -3n && d <= 3n) boundary = h.liquidatable ? { ...boundary, in: boundary.in + 1 } : { ...boundary, out: boundary.out + 1 };
        }
      }
      expect(indexed.index!.rekeys, "the borrow index jumped past the keys").to.be.greaterThan(5);
      expect(indexed.index!.spreadRekeys, "next keys computed over blocks and swapped in").to.be.greaterThan(5);
      expect(liquidatable, "prices reach many positions").to.be.greaterThan(1_000);
      expect(boundary.in + boundary.out, "prices within 3 wei of a liquidation price").to.be.greaterThan(50);
      expect(exact - liquidatable, "the index evaluates few healthy positions").to.be.lessThan((evaluated - liquidatable) / 5);
    });
  }

  it("test_indexedEvaluation_backstopChecksEveryPositionOncePerNBlocks_andLiquidatesWhatABrokenIndexMissed", () => {
    const rng = new Rng(77n);
    const prices = [3_000n * WAD, 60_000n * WAD];
    const indexes = [10n ** 16n, 10n ** 16n];
    const list = Array.from({ length: 403 }, (_, i) => randomView(rng, BigInt(i + 1), { prices, indexes }));
    const crash = marketStatus([(prices[0]! * 95n) / 100n, (prices[1]! * 106n) / 100n], indexes);
    const expected = new Evaluator(offlineClient(), { indexed: false }).evaluateAt(list, crash, null, 1, 1).candidates.map((c) => c.id);
    expect(expected.length).to.be.greaterThan(20);
    const run = (e: Evaluator) => {
      const found = new Set<bigint>();
      let checked = 0;
      for (let block = 100; block < 110; block++) {
        const r = e.evaluateAt(list, crash, null, block, block);
        checked += r.backstop;
        for (const c of r.candidates) found.add(c.id);
      }
      return { found: sortIds([...found]), checked };
    };
    const sound = new Evaluator(offlineClient(), { fullEvaluationBlocks: 10 });
    const a = run(sound);
    expect(a.checked, "every position once in 10 blocks").to.equal(list.length);
    expect(a.found).to.deep.equal(sortIds(expected));
    expect(sound.mismatches).to.equal(0);
    // An index that finds nothing: within 10 blocks the backstop has found and passed on every
    // liquidatable position, and counted each as a mismatch.
    const broken = new Evaluator(offlineClient(), { fullEvaluationBlocks: 10 });
    broken.index!.candidates = () => [];
    const b = run(broken);
    expect(b.found).to.deep.equal(sortIds(expected));
    expect(broken.mismatches).to.be.at.least(expected.length);
  });

  it("test_healthIndex_positionsOutsideTheirKeysAreHealthy_upToTheKeyIndex_evenWhereRoundingDecides", () => {
    // The keys' promise, position by position: healthy one wei inside them (and in between), at
    // any borrow index up to the one they assume. Sizes, prices and collateral span many orders
    // of magnitude, so that the integer rounding of the health weighs many wei of price: without
    // the keys' EPSILON margin this fails.
    const rng = new Rng(5n);
    let checked = 0;
    for (const decimals of [6, 18]) {
      const unit = unitOf(decimals);
      const risks = riskVersions(10n ** BigInt(decimals));
      const index = new HealthIndex(unit, { headroom: 5n * 10n ** 14n });
      for (let i = 0; i < 40_000; i++) {
        const position = { size: rng.log(1n, 10n ** 24n), entryPrice: rng.log(1n, 10n ** 24n), marketId: 0, isLong: rng.bool(), collateral: rng.log(1n, 10n ** 12n), borrowIndex: 0n, riskVersion: 1, maxProfitFactorBps: rng.range(1n, 9_000n) };
        const v = { id: BigInt(i), position, risk: rng.pick(risks) } as PositionView;
        const keyIndex = rng.bool(0.3) ? 0n : rng.log(1n, 10n ** 17n);
        let keys: { low: bigint; high: bigint };
        try {
          keys = index.keysOf(v, keyIndex);
        } catch {
          continue; // past uint256 in the closed form: no such position can exist
        }
        const { low, high } = keys;
        const at = keyIndex === 0n ? 0n : rng.range(0n, keyIndex);
        const healthy = position.isLong ? [low + 1n, high - 1n, (low + high) / 2n].filter((p) => p > low && p < high) : [low - 1n, low / 2n].filter((p) => p > 0n && p < low);
        for (const p of healthy) {
          if (p > 10n ** 30n) continue;
          expect(positionHealth(position, v.risk, p, at, unit).liquidatable, `position ${i} at ${p}`).to.equal(false);
          checked++;
        }
      }
    }
    expect(checked).to.be.greaterThan(20_000);
  });
});
