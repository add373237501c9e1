// Pure pieces of the keeper's order execution: the trigger index (a price move touches only the
// orders it crosses, equality crosses, as OrderLogic.crossed), the executor-pay rule of
// ExecutionFeeLib, the store's migration from version 1, and the Data Streams options.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { OrderLogic, quoteTopUp, trailingStopPrice, type OrderKindName } from "@bulkhead/sdk";
import { guardDuePrice } from "../../keeper/src/guards.js";
import { ConfigError, loadConfig, type KeeperConfig } from "../../keeper/src/config.js";
import { executorPay } from "../../keeper/src/jobs.js";
import { JsonStore, STORE_VERSION } from "../../keeper/src/store.js";
import { TriggerIndex, triggerOf } from "../../keeper/src/triggers.js";
import { Rng } from "../sdk/helpers/random.js";

const WAD = 10n ** 18n;
const ENGINE = "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6";

describe("keeper: trigger index, executor pay, store v2, streams options", () => {
  it("test_triggerIndex_returnsExactlyTheOrdersThePriceCrosses_asOrderLogic", () => {
    const rng = new Rng(14n);
    const index = new TriggerIndex();
    const kinds: OrderKindName[] = ["LimitOpen", "LimitIncrease", "StopLoss", "TakeProfit"];
    const orders = new Map<string, { kind: OrderKindName; isLong: boolean; trigger: bigint }>();
    for (let i = 0; i < 400; i++) {
      const o = { kind: kinds[rng.int(0, 3)]!, isLong: rng.int(0, 1) === 1, trigger: BigInt(rng.int(2_900, 3_100)) * WAD };
      orders.set(String(i), o);
      index.set(String(i), triggerOf({ ...o, market: 0 })!);
    }
    for (let i = 0; i < 100; i += 3) {
      index.delete(String(i));
      orders.delete(String(i));
    }
    for (let step = 0; step < 60; step++) {
      const price = BigInt(rng.int(2_880, 3_120)) * WAD;
      const q = { price, bid: price - WAD, ask: price + WAD };
      const due = new Set(index.due(0, q));
      const expected = [...orders].filter(([, o]) => OrderLogic.crossed(o.kind, o.isLong, o.trigger, q.price, OrderLogic.buys(o.kind, o.isLong) ? q.ask : q.bid)).map(([id]) => id);
      expect([...due].sort()).to.deep.equal(expected.sort());
      expect(index.due(1, q), "another market").to.deep.equal([]);
    }
  });

  it("test_triggerIndex_aTrailingStopIsDueFromItsPeak_andMovesWithIt", () => {
    const index = new TriggerIndex();
    expect(triggerOf({ kind: "TrailingStop", isLong: true, market: 0, trigger: 100n })).to.equal(null);
    index.set("1", triggerOf({ kind: "TrailingStop", isLong: true, market: 0, trigger: 100n, peak: 3_000n * WAD })!);
    const at = (p: bigint) => index.due(0, { price: p, bid: p, ask: p });
    expect(at(2_970n * WAD)).to.deep.equal(["1"]);
    expect(at(2_970n * WAD + 1n)).to.deep.equal([]);
    index.set("1", triggerOf({ kind: "TrailingStop", isLong: true, market: 0, trigger: 100n, peak: 3_100n * WAD })!);
    expect(at(3_069n * WAD)).to.deep.equal(["1"]);
    expect(trailingStopPrice(true, 100n, 3_100n * WAD)).to.equal(3_069n * WAD);
  });

  it("test_guardDuePrice_isExactlyTheBoundaryOfTheTopUpQuote_forLongsAndShorts", () => {
    const rng = new Rng(1414n);
    const unit = 10n ** 30n; // 6-decimal token, 18-decimal size and price
    const risk = { mmr: WAD / 200n, liquidationFeeRate: WAD / 200n, minLiquidationFee: 10n ** 6n, maxProfitFactorBps: 90_000n };
    for (let i = 0; i < 40; i++) {
      const isLong = i % 2 === 0;
      const position = { isLong, size: BigInt(rng.int(1, 20)) * WAD, entryPrice: BigInt(rng.int(2_500, 3_500)) * WAD, collateral: BigInt(rng.int(300, 5_000)) * 10n ** 6n, borrowIndex: WAD, maxProfitFactorBps: 90_000n, marketId: 0, riskVersion: 0 };
      const g = { threshold: WAD + BigInt(rng.int(1, 40)) * (WAD / 10n), amount: 100n * 10n ** 6n, executorFee: 10n ** 6n, budget: 10n ** 9n };
      const p = guardDuePrice(g, { position, risk }, WAD, unit);
      const due = (x: bigint) => quoteTopUp(g, position, risk, x, WAD, unit).due;
      if (p === null) {
        // Collateral above the whole notional: never due (a long even at 1 wei).
        expect(due(isLong ? 1n : 2n ** 127n), `never due (${i})`).to.equal(false);
        continue;
      }
      expect(due(p), `due at its boundary (${i})`).to.equal(true);
      expect(due(isLong ? p + 1n : p - 1n), `not due one wei past it (${i})`).to.equal(false);
    }
  });

  it("test_executorPay_isTheGasAtTheLowerOfTheTwoPrices_cappedAtTheFee", () => {
    const fee = 500_000n * 100n; // gas limit 500,000 quoted at 100 wei
    expect(executorPay(fee, 500_000n, 200_000n, 50n)).to.equal(200_000n * 50n);
    expect(executorPay(fee, 500_000n, 200_000n, 150n)).to.equal(200_000n * 100n);
    expect(executorPay(fee, 500_000n, 900_000n, 100n)).to.equal(fee);
  });

  it("test_store_migratesVersion1_keepingPositionsAndPendingLiquidations", () => {
    const dir = mkdtempSync(join(tmpdir(), "keeper-store-"));
    try {
      const path = join(dir, "s.json");
      const v1 = { version: 1, chainId: 31337, engine: ENGINE, startBlock: 5, checkpoint: { block: 9, hash: "0xab" }, positions: { "3": 0 }, pending: { "0xk": [{ nonce: 1, ids: ["3"], txs: [] }] }, liquidated: {} };
      writeFileSync(path, JSON.stringify(v1));
      const store = JsonStore.open(path, { chainId: 31337, engine: ENGINE, startBlock: 5 });
      expect(store.state.version).to.equal(STORE_VERSION);
      expect(store.state.checkpoint).to.deep.equal({ block: 9, hash: "0xab" });
      expect(store.state.positions).to.deep.equal({ "3": 0 });
      expect(store.state.pending["0xk"]).to.have.length(1);
      expect(store.state.jobs).to.deep.equal({ scanned: 4, requests: {}, lpRequests: {}, orders: {}, guards: {} });
      writeFileSync(path, JSON.stringify({ ...v1, version: 7 }));
      expect(() => JsonStore.open(path, { chainId: 31337, engine: ENGINE, startBlock: 5 })).to.throw(/version 7/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("test_config_streamsOptions_fromFlagsAndEnv_withErrorsThatSayWhatToDo", () => {
    const dir = mkdtempSync(join(tmpdir(), "keeper-cfg-"));
    try {
      const dep = join(dir, "d.json");
      writeFileSync(dep, JSON.stringify({ chainId: 31337, network: "localhost", engine: ENGINE, pool: ENGINE, lens: ENGINE, token: ENGINE, markets: [{ id: 0, symbol: "ETH", feed: ENGINE }], startBlock: 0 }));
      const base = ["--rpc", "http://127.0.0.1:1", "--deployment", dep, "--dry-run"];
      const ok = loadConfig([...base, "--streams-url", "http://127.0.0.1:9000", "--min-top-up-fee", "0.5"], { KEEPER_STREAMS_API_KEY: "k", KEEPER_STREAMS_USER_SECRET: "s" }, dir) as KeeperConfig;
      expect(ok.streams).to.deep.equal({ url: "http://127.0.0.1:9000", ws: null, apiKey: "k", userSecret: "s" });
      expect(ok.minTopUpFee).to.equal("0.5");
      const env = loadConfig(base, { KEEPER_STREAMS_URL: "https://api.testnet-dataengine.chain.link", KEEPER_STREAMS_WS: "wss://ws.testnet-dataengine.chain.link", KEEPER_STREAMS_API_KEY: "k", KEEPER_STREAMS_USER_SECRET: "s" }, dir) as KeeperConfig;
      expect(env.streams!.ws).to.equal("wss://ws.testnet-dataengine.chain.link");
      expect((loadConfig(base, {}, dir) as KeeperConfig).streams).to.equal(null);
      const problems = (argv: string[], e: Record<string, string> = {}) => {
        try {
          loadConfig([...base, ...argv], e, dir);
        } catch (err) {
          return (err as ConfigError).problems.join("\n");
        }
        return "";
      };
      expect(problems(["--streams-url", "http://127.0.0.1:9000"])).to.match(/set KEEPER_STREAMS_API_KEY and KEEPER_STREAMS_USER_SECRET/);
      expect(problems(["--streams-url", "ftp://x"], { KEEPER_STREAMS_API_KEY: "k", KEEPER_STREAMS_USER_SECRET: "s" })).to.match(/not a http\/https URL/);
      expect(problems(["--streams-url", "http://x", "--streams-ws", "http://x"], { KEEPER_STREAMS_API_KEY: "k", KEEPER_STREAMS_USER_SECRET: "s" })).to.match(/--streams-ws \(KEEPER_STREAMS_WS\).*not a ws\/wss URL/);
      expect(problems([], { KEEPER_STREAMS_API_KEY: "k" })).to.match(/without --streams-url/);
      expect(problems(["--streams-api-key", "k"])).to.match(/unknown argument/);
      expect(problems(["--min-top-up-fee", "-1"])).to.match(/--min-top-up-fee .*non-negative decimal/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
