// The keeper executing requests and orders on Hardhat's in-process network, with reports from a
// ReportService on 127.0.0.1 (priced from the push feeds) through Chainlink's client: a request
// at its pinned report, an LP deposit request, a stop-loss and a take-profit when crossed and
// not before, a trailing stop from the peak it observed, a top-up guard, an unprofitable order
// skipped and counted, a restart with an execution in flight, two peer keepers sharing the work
// (each order by its owner, nothing wasted) and one of them stopped (the other after the grace). Every
// server is closed in an `after` hook.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Wallet, encryptKeystoreJson } from "ethers";
import { network } from "hardhat";
import { decodeReportV3, decodeSignedReport } from "@bulkhead/sdk";
import { USDC, WAD } from "../helpers/fixture.js";
import { FEED_IDS } from "../helpers/streams.js";
import { streamsOptions } from "../../keeper/src/cli.js";
import { loadConfig, type KeeperConfig } from "../../keeper/src/config.js";
import { StreamsReports } from "../../keeper/src/reports.js";
import { sealStreamsCredentials } from "../../keeper/src/secrets.js";
import { CREDENTIALS, QUOTE_GAS_PRICE, orderWorld, type OrderWorld } from "./helpers/orders.js";
import { devAddress, devKey } from "./helpers/chain.js";
import { ReportFaultProxy } from "./helpers/reportProxy.js";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;
const GWEI = 10n ** 9n;
const rpc = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });

describe("keeper: requests and orders", function () {
  this.timeout(180_000);
  const worlds: OrderWorld[] = [];
  const dirs: string[] = [];
  const world = async () => {
    const w = await orderWorld(ethers, networkHelpers, connection.provider);
    worlds.push(w);
    return w;
  };
  afterEach(async () => {
    await rpc("evm_setAutomine", [true]);
  });
  after(async () => {
    for (const w of worlds) await w.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("test_keeper_executesARequestAtItsPinnedReport_notBeforeItsSecond", async () => {
    const w = await world();
    const { k, metrics } = await w.keeper();
    const r = await w.requestOpen();
    await k.cycle();
    expect(await w.filledPosition(r.requestId), "not before its settlement second").to.equal(null);
    await networkHelpers.time.increaseTo(r.settlesAt);
    // The push feed moves after the second: the fill still uses the report the request pins.
    await w.setEth(3_010n);
    await k.cycle();
    const executed = (await w.client.getRequestEvents()).find((e) => e.type === "RequestExecuted" && e.requestId === r.requestId);
    expect(executed, "executed").to.not.equal(undefined);
    const pinned = decodeReportV3(decodeSignedReport((await w.reports.at(FEED_IDS[0], r.settlesAt))!.fullReport).reportData);
    expect(pinned.observationsTimestamp).to.equal(r.settlesAt);
    if (executed!.type !== "RequestExecuted") throw new Error("unreachable");
    expect(executed!.fillPrice).to.equal(pinned.ask);
    expect(executed!.executor).to.equal(k.executor.address);
    await k.cycle();
    expect(metrics.get("keeper_executions_total", { kind: "request" })).to.equal(1);
    expect(k.requests!.pending.requests).to.equal(0);
    expect(metrics.get("keeper_execution_latency_seconds_count", { kind: "request" })).to.equal(1);
  });

  it("test_keeper_overdueExitWithoutAReport_executesAtThePushRoundAfterPushFallbackDelay", async () => {
    const w = await world();
    const { k } = await w.keeper();
    const id = await w.openWith(k);
    // A keeper whose report source has nothing (an outage): the close waits, then falls back.
    const blind = await w.keeper({ account: 1, reports: { latest: async () => null, at: async () => null } });
    const close = await w.alice.requestClose({ id, slippageBps: 200, gasPrice: QUOTE_GAS_PRICE });
    await w.setEth(2_990n); // the first push round after the request
    await networkHelpers.time.increaseTo(close.event.settlesAt + 5);
    await blind.k.cycle();
    expect(await w.client.getPosition(id), "no report, not yet overdue").to.not.equal(null);
    const view = (await w.client.getRequest(close.requestId))!;
    await networkHelpers.time.increaseTo(view.pushFallbackAt!);
    await blind.k.cycle();
    expect(await w.client.getPosition(id)).to.equal(null);
    const executed = (await w.client.getRequestEvents()).find((e) => e.type === "RequestExecuted" && e.requestId === close.requestId);
    if (executed?.type !== "RequestExecuted") throw new Error("not executed");
    expect(executed.executor).to.equal(blind.wallet.address);
    expect(blind.events("request.pushFallback")).to.have.length(1);
    await blind.k.cycle();
    expect(blind.metrics.get("keeper_executions_total", { kind: "pushRound" })).to.equal(1);
  });

  it("test_keeper_executesAnLpDepositRequestWithTheReportOfEachMarketWithOpenInterest", async () => {
    const w = await world();
    const { k } = await w.keeper();
    await w.openWith(k); // open interest on ETH only
    await w.s.fund(w.s.signers.lp.address, 5_000n * USDC);
    const dep = await w.lp.requestDeposit({ assets: 5_000n * USDC, gasPrice: QUOTE_GAS_PRICE });
    await k.cycle();
    expect((await w.lp.getLpClaimable(w.s.signers.lp.address)).deposits.assets).to.equal(0n);
    await networkHelpers.time.increaseTo(dep.settlesAt);
    await k.cycle();
    expect((await w.lp.getLpClaimable(w.s.signers.lp.address)).deposits.assets).to.equal(5_000n * USDC);
    const lpEvents = await w.client.getLpRequestEvents();
    expect(lpEvents.map((e) => e.type)).to.include("LpRequestExecuted");

    // Its redemption, with no report to be had: at the push rounds once the fallback opens.
    const shares = (await w.lp.claimDeposit()).shares;
    const blind = await w.keeper({ account: 1, reports: { latest: async () => null, at: async () => null } });
    const red = await w.lp.requestRedeem({ shares, gasPrice: QUOTE_GAS_PRICE });
    await w.setEth(3_001n);
    await networkHelpers.time.increaseTo(red.settlesAt + 5);
    await blind.k.cycle();
    expect((await w.lp.getLpClaimable(w.s.signers.lp.address)).redemptions.shares).to.equal(0n);
    await networkHelpers.time.increaseTo(red.settlesAt + 200);
    await blind.k.cycle();
    expect((await w.lp.getLpClaimable(w.s.signers.lp.address)).redemptions.shares).to.equal(shares);
    expect(blind.events("lpRequest.pushFallback")).to.have.length(1);
  });

  it("test_keeper_executesAStopLossAndATakeProfitWhenCrossed_notBefore", async () => {
    const w = await world();
    const { k, metrics } = await w.keeper();
    const sl = await w.openWith(k);
    const tp = await w.openWith(k);
    const stop = await w.alice.placeStopLoss({ positionId: sl, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    const take = await w.alice.placeTakeProfit({ positionId: tp, triggerPrice: 3_100n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    expect(k.orders!.index.size).to.equal(0);
    await w.setEth(2_950n);
    await k.cycle();
    expect(k.orders!.index.size).to.equal(2);
    expect(await w.events("OrderExecuted")).to.have.length(0);
    await w.setEth(2_899n);
    await k.cycle();
    const done = await w.events("OrderExecuted");
    expect(done.map((e) => (e as { orderId: bigint }).orderId)).to.deep.equal([stop.orderId]);
    expect(await w.client.getPosition(sl)).to.equal(null);
    await w.setEth(3_099n);
    await k.cycle();
    expect(await w.events("OrderExecuted")).to.have.length(1);
    await w.setEth(3_100n);
    await k.cycle();
    expect((await w.events("OrderExecuted")).map((e) => (e as { orderId: bigint }).orderId)).to.deep.equal([stop.orderId, take.orderId]);
    await k.cycle();
    expect(metrics.get("keeper_executions_total", { kind: "order" })).to.equal(2);
    expect(k.orders!.pending.orders).to.equal(0);
  });

  it("test_keeper_executesATrailingStopWithThePeakItObserved", async () => {
    const w = await world();
    const { k } = await w.keeper();
    const id = await w.openWith(k);
    const ts = await w.alice.placeTrailingStop({ positionId: id, trailBps: 100n, gasPrice: QUOTE_GAS_PRICE });
    await networkHelpers.mine(1);
    await k.cycle(); // first peak: 3,000
    await w.setEth(3_100n);
    await k.cycle(); // peak 3,100: due at or below 3,069
    await w.setEth(3_080n);
    await k.cycle();
    expect(await w.events("OrderExecuted"), "3,080 is less than 1 % below the peak").to.have.length(0);
    await w.setEth(3_069n);
    await k.cycle();
    const done = await w.events("OrderExecuted");
    expect(done).to.have.length(1);
    expect((done[0] as { orderId: bigint }).orderId).to.equal(ts.orderId);
    expect(await w.client.getPosition(id)).to.equal(null);
  });

  it("test_keeper_topsUpAGuardedPositionOnceItsHealthFallsBelowTheThreshold", async () => {
    const w = await world();
    const { k, metrics } = await w.keeper();
    const id = await w.openWith(k, { amount: 300n * USDC, size: 2n * WAD });
    const guard = await w.alice.setTopUpGuard({ id, threshold: 3n * WAD, amount: 100n * USDC, budget: 500n * USDC, executorFee: 1n * USDC });
    // The highest whole-dollar price at which a top-up executes (due and saves), by the SDK's quote.
    let due = 3_000n;
    while (!(await w.client.quoteTopUp({ orderId: guard.orderId, price: due * WAD })).executes) due -= 5n;
    await w.setEth(due + 10n);
    await k.cycle();
    expect(await w.events("TopUpExecuted")).to.have.length(0);
    expect(k.orders!.guards.index.has(guard.orderId.toString()), "indexed by its due price").to.equal(true);
    const before = await w.s.token.balanceOf(k.executor.address);
    await w.setEth(due);
    await k.cycle();
    expect(await w.events("TopUpExecuted")).to.have.length(1);
    expect((await w.s.token.balanceOf(k.executor.address)) - before).to.equal(1n * USDC);
    await k.cycle();
    expect(metrics.get("keeper_executions_total", { kind: "topUp" })).to.equal(1);
  });

  it("test_keeper_skipsAndCountsAnOrderWhoseFeeDoesNotPayItsGas", async () => {
    const w = await world();
    const { k } = await w.keeper();
    const id = await w.openWith(k);
    // Quoted at 5 gwei; a keeper tipping 200 gwei would spend more than the fee pays it.
    await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: 5n * GWEI });
    const greedy = await w.keeper({ account: 1, priorityFeePerGas: 200n * GWEI, maxFeePerGas: 1_000n * GWEI });
    await w.setEth(2_890n);
    await greedy.k.cycle();
    await greedy.k.cycle();
    expect(await w.events("OrderExecuted")).to.have.length(0);
    expect(greedy.metrics.get("keeper_skipped_total", { reason: "unprofitable", kind: "order" })).to.equal(1);
    expect(greedy.events("execution.unprofitable")).to.have.length(1);
  });

  it("test_keeper_dryRun_reportsADueOrderOnceAndSendsNothing", async () => {
    const w = await world();
    const { k } = await w.keeper();
    const id = await w.openWith(k);
    const stop = await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    const dry = await w.keeper({ account: 1, dryRun: true });
    const nonce = await w.provider.getTransactionCount(dry.wallet.address);
    await w.setEth(2_890n);
    for (let i = 0; i < 3; i++) await dry.k.cycle();
    expect(dry.events("dryrun.wouldExecute").map((e) => e.key)).to.deep.equal([`order:${stop.orderId}`]);
    expect(await w.provider.getTransactionCount(dry.wallet.address)).to.equal(nonce);
    expect(await w.events("OrderExecuted")).to.have.length(0);
  });

  it("test_keeper_reportServiceDownThenBack_theDueOrderWaitsThenExecutes_theKeeperKeepsRunning", async () => {
    const w = await world();
    const { k, metrics } = await w.keeper();
    const id = await w.openWith(k);
    const stop = await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    await k.cycle();
    const port = Number(new URL(w.service.url).port);
    await w.service.close();
    await w.setEth(2_890n);
    await k.cycle();
    await k.cycle();
    expect(await w.events("OrderExecuted")).to.have.length(0);
    expect(metrics.get("keeper_report_failures_total")).to.be.greaterThan(0);
    await w.service.listen(port);
    await networkHelpers.mine(1);
    await k.cycle();
    expect((await w.events("OrderExecuted")).map((e) => (e as { orderId: bigint }).orderId)).to.deep.equal([stop.orderId]);
  });

  it("test_keeper_reportRequestsDroppedAndDelayed_everyDueOrderStillExecutesOnce", async () => {
    const w = await world();
    const { k } = await w.keeper();
    const ids = [await w.openWith(k), await w.openWith(k), await w.openWith(k)];
    const proxy = await new ReportFaultProxy(w.service.url, { drop: 0.25, unavailable: 0.2, delay: 0.3, delayMs: 150 }, 0x5eedn).listen();
    try {
      const faulty = await w.keeper({ account: 1, reports: new StreamsReports({ url: proxy.url, ...CREDENTIALS, timeoutMs: 2_000 }) });
      const stops = [];
      for (const id of ids) stops.push((await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE })).orderId);
      await w.setEth(2_890n);
      const r = await w.requestOpen();
      await networkHelpers.time.increaseTo(r.settlesAt);
      for (let i = 0; i < 20 && ((await w.events("OrderExecuted")).length < 3 || (await w.filledPosition(r.requestId)) === null); i++) {
        await faulty.k.cycle();
        await networkHelpers.mine(1);
      }
      await faulty.k.cycle();
      const executed = (await w.events("OrderExecuted")).map((e) => (e as { orderId: bigint }).orderId);
      expect([...executed].sort()).to.deep.equal([...stops].sort());
      expect((await w.filledPosition(r.requestId)) !== null, "the request filled").to.equal(true);
      expect(proxy.counts.drop + proxy.counts.unavailable, "faults were injected").to.be.greaterThan(0);
      expect(faulty.metrics.get("keeper_executions_total", { kind: "order" })).to.equal(3);
      expect(faulty.metrics.get("keeper_executions_total", { kind: "request" })).to.equal(1);
    } finally {
      await proxy.close();
    }
  });

  it("test_streamsCredentialsFromTheKeystore_reachTheReportServiceThroughChainlinksClient_theEnvironmentWins", async () => {
    const w = await world();
    const dir = mkdtempSync(join(tmpdir(), "keeper-keystore-"));
    dirs.push(dir);
    const wallet = new Wallet(devKey(9));
    const file = join(dir, "key.json");
    const keystore = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "pw", { scrypt: { N: 1 << 10 } });
    writeFileSync(file, sealStreamsCredentials(keystore, "pw", CREDENTIALS, 1 << 10));
    const config = (env: Record<string, string>) => loadConfig(["--rpc", "http://127.0.0.1:9", "--keystore", file, "--streams-url", w.service.url], { KEEPER_KEYSTORE_PASSWORD: "pw", ...env }, dir) as KeeperConfig;
    // The service checks the HMAC of every request: the keystore's pair gets a signed report.
    const fromKeystore = new StreamsReports(streamsOptions(config({}))!);
    const report = await fromKeystore.latest(FEED_IDS[0]);
    expect(report?.price).to.equal(3_000n * WAD);
    // A secret in the environment wins over the keystore's: here a wrong one, refused by the service.
    const overridden = new StreamsReports({ ...streamsOptions(config({ KEEPER_STREAMS_USER_SECRET: "not-the-secret" }))!, timeoutMs: 2_000 });
    let refused: unknown;
    await overridden.latest(FEED_IDS[0]).catch((e) => (refused = e));
    expect(String((refused as Error)?.message)).to.contain("bad request signature");
    expect(overridden.requests.failed).to.equal(1);
  });

  it("test_keeper_prunesTheOrderOfAClosedPosition_whenTheFeePays", async () => {
    const w = await world();
    const { k, metrics } = await w.keeper();
    const id = await w.openWith(k);
    const stop = await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    await k.cycle();
    const close = await w.alice.requestClose({ id, slippageBps: 200, gasPrice: QUOTE_GAS_PRICE });
    await networkHelpers.time.increaseTo(close.event.settlesAt);
    await k.cycle(); // executes the close
    expect(await w.client.getPosition(id)).to.equal(null);
    await k.cycle(); // sees the position closed: prunes its stop-loss
    await k.cycle();
    const cancelled = (await w.events("OrderCancelled")) as { orderId: bigint; reason: string; by: string }[];
    expect(cancelled.map((e) => [e.orderId, e.reason, e.by])).to.deep.equal([[stop.orderId, "Dead", k.executor.address]]);
    expect(metrics.get("keeper_executions_total", { kind: "prune" })).to.equal(1);
  });

  it("test_keeper_restartWithAnExecutionInFlight_neverSendsItTwice", async () => {
    const w = await world();
    const dir = mkdtempSync(join(tmpdir(), "keeper-orders-"));
    dirs.push(dir);
    const path = join(dir, "store.json");
    const first = await w.keeper({ path });
    const id = await w.openWith(first.k);
    const stop = await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE });
    await w.setEth(2_890n);
    await rpc("evm_setAutomine", [false]);
    await first.k.cycle();
    const sent = first.events("execution.sent");
    expect(sent.map((e) => e.kind)).to.deep.equal(["request", "order"]); // the open, then the stop-loss
    expect(sent[1]!.key).to.equal(`order:${stop.orderId}`);
    expect(first.store.state.pending[first.wallet.address.toLowerCase()]!.some((p) => p.job?.key === `order:${stop.orderId}`)).to.equal(true);
    // "Restart": a new keeper on the same store file, the first one gone without a goodbye.
    const second = await w.keeper({ path });
    await second.k.cycle();
    expect(second.events("execution.sent"), "the recorded execution is settled, not sent again").to.have.length(0);
    expect(second.events("tx.recovered")).to.have.length(1);
    await networkHelpers.mine(1);
    await rpc("evm_setAutomine", [true]);
    await second.k.cycle();
    await second.k.cycle();
    expect(await w.events("OrderExecuted")).to.have.length(1);
    expect(second.metrics.get("keeper_executions_total", { kind: "order" })).to.equal(1);
    expect(second.events("execution.sent")).to.have.length(0);
  });

  /** Six stop-losses on positions `opener` opened, all due once ETH is at 2,890; and keepers 9 and 10 as peers. */
  const peerWorld = async (graceBlocks: number) => {
    const w = await world();
    const opener = await w.keeper({ account: 2 });
    const stops: bigint[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await w.openWith(opener.k);
      stops.push((await w.alice.placeStopLoss({ positionId: id, triggerPrice: 2_900n * WAD, slippageBps: 100, gasPrice: QUOTE_GAS_PRICE })).orderId);
    }
    const peers = [devAddress(9), devAddress(10)];
    const a = await w.keeper({ peers, peerGraceBlocks: graceBlocks });
    const b = await w.keeper({ account: 1, peers, peerGraceBlocks: graceBlocks });
    const owner = (id: bigint) => a.k.executor.peers.owner(`order:${id}`);
    expect(new Set(stops.map(owner)).size, "each keeper owns some of the stops").to.equal(2);
    const executors = async () => new Map((await w.events("OrderExecuted")).map((e) => [(e as { orderId: bigint }).orderId, (e as { executor: string }).executor]));
    const nonces = [await w.provider.getTransactionCount(a.wallet.address), await w.provider.getTransactionCount(b.wallet.address)];
    return { w, a, b, stops, owner, executors, nonces };
  };

  it("test_twoKeepersRacing_withPeers_eachOrderExecutesOnceByItsOwner_noTransactionWasted", async () => {
    const { w, a, b, stops, owner, executors, nonces } = await peerWorld(2);
    await w.setEth(2_890n);
    // Both see every stop due in the same block; each sends only its own.
    await rpc("evm_setAutomine", [false]);
    await a.k.cycle();
    await b.k.cycle();
    await networkHelpers.mine(1);
    await rpc("evm_setAutomine", [true]);
    expect(await executors()).to.deep.equal(new Map(stops.map((id) => [id, owner(id)])));
    // Past the grace, neither finds anything left of the other's.
    for (let i = 0; i < 4; i++) {
      await networkHelpers.mine(1);
      await a.k.cycle();
      await b.k.cycle();
    }
    expect((await executors()).size).to.equal(stops.length);
    for (const [i, k] of [a, b].entries()) {
      const own = stops.filter((id) => owner(id) === k.wallet.address).length;
      expect(k.metrics.get("keeper_executions_total", { kind: "order" })).to.equal(own);
      expect(k.metrics.total("keeper_execution_failures_total"), "no execution reverted, not even in simulation").to.equal(0);
      // No wasted transaction: the keeper's nonce is its executions.
      expect((await w.provider.getTransactionCount(k.wallet.address)) - nonces[i]!).to.equal(own);
    }
  });

  it("test_peers_oneKeeperStopped_theOtherExecutesItsOrdersOnceTheGraceRunsOut", async () => {
    const grace = 3;
    const { w, a, stops, owner, executors } = await peerWorld(grace);
    const [mine, theirs] = [stops.filter((id) => owner(id) === a.wallet.address), stops.filter((id) => owner(id) !== a.wallet.address)];
    await w.setEth(2_890n);
    await rpc("evm_setAutomine", [false]);
    const due = (await a.k.cycle()).block;
    await networkHelpers.mine(1);
    expect([...(await executors()).keys()].sort(), "its own at once").to.deep.equal([...mine].sort());
    for (;;) {
      const { block } = await a.k.cycle();
      await networkHelpers.mine(1);
      const done = await executors();
      if (block - due < grace) expect(done.size, `block ${block}: the peer's still wait`).to.equal(mine.length);
      else {
        expect([...done.keys()].sort(), `block ${block}: every order, the peer's by this keeper`).to.deep.equal([...stops].sort());
        for (const id of theirs) expect(done.get(id)).to.equal(a.wallet.address);
        break;
      }
    }
    await rpc("evm_setAutomine", [true]);
    await a.k.cycle();
    expect(a.metrics.get("keeper_executions_total", { kind: "order" })).to.equal(stops.length);
  });
});
