// The local report service answers the official Data Streams client (`@chainlink/data-streams-sdk`)
// on 127.0.0.1 with reports signed by the local oracle set, priced from the local push feeds or a
// replayable trace; what it serves verifies through Chainlink's real Verifier. Every server this
// file starts is closed by it.
import { expect } from "chai";
import { network } from "hardhat";
import { createClient } from "@chainlink/data-streams-sdk";
import { decodeReportV3, decodeSignedReport } from "@bulkhead/sdk";
import { LocalOracleSet, localFeedId } from "../../scripts/streams/oracleSet.js";
import { ReportService, withSpread } from "../../scripts/streams/reportService.js";
import { PushFeedPriceSource, TracePriceSource, decimalToWad } from "../../scripts/streams/priceSources.js";

const { ethers, networkHelpers } = await network.create();

const WAD = 10n ** 18n;
const ETH = localFeedId("ETH/USD");
const BTC = localFeedId("BTC/USD");
const CREDENTIALS = { apiKey: "local-key", userSecret: "local-secret" };

async function chain() {
  const proxy = await ethers.deployContract("@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol:VerifierProxy", [ethers.ZeroAddress]);
  const verifier = await ethers.deployContract("@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol:Verifier", [await proxy.getAddress()]);
  await (await proxy.initializeVerifier(await verifier.getAddress())).wait();
  const oracles = LocalOracleSet.deterministic();
  const feeds = [
    { feedId: ETH, name: "ETH/USD", configDigest: await oracles.configure(verifier as never, ETH) },
    { feedId: BTC, name: "BTC/USD", configDigest: await oracles.configure(verifier as never, BTC) },
  ];
  const ethFeed = await ethers.deployContract("MockV3Aggregator", [8, 3_000n * 10n ** 8n]);
  const btcFeed = await ethers.deployContract("MockV3Aggregator", [8, 60_000n * 10n ** 8n]);
  const harness = await ethers.deployContract("DataStreamsHarness", [await proxy.getAddress()]);
  return { proxy, verifier, oracles, feeds, ethFeed, btcFeed, harness };
}

const services: ReportService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function clientFor(url: string, credentials = CREDENTIALS) {
  return createClient({ ...credentials, endpoint: url, wsEndpoint: url.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });
}

describe("local report service (Data Streams API on loopback)", () => {
  it("test_reportService_pushFeedSource_officialClientGetsAReportTheRealVerifierAccepts", async () => {
    const c = await networkHelpers.loadFixture(chain);
    const now = async () => Number((await ethers.provider.getBlock("latest"))!.timestamp);
    const source = new PushFeedPriceSource(ethers.provider, { [ETH]: await c.ethFeed.getAddress(), [BTC]: await c.btcFeed.getAddress() });
    const service = new ReportService({ oracles: c.oracles, feeds: c.feeds, source, now, credentials: CREDENTIALS });
    services.push(service);
    const client = clientFor(await service.listen());

    // Before the move: the report at "now" carries the push feed's answer.
    const before = await client.getLatestReport(ETH);
    const r0 = decodeReportV3(decodeSignedReport(before.fullReport).reportData);
    expect(r0.price).to.equal(3_000n * WAD);
    expect(r0.bid).to.be.below(r0.price);
    expect(r0.ask).to.be.above(r0.price);

    // updateAnswer moves the reports of every later second; earlier seconds keep the old price.
    const t0 = await now();
    await (await c.ethFeed.updateAnswer(3_030n * 10n ** 8n)).wait();
    const t1 = await now();
    expect(t1).to.be.greaterThan(t0);
    const atT0 = await client.getReportByTimestamp(ETH, t0);
    const atT1 = await client.getReportByTimestamp(ETH, t1);
    expect(decodeReportV3(decodeSignedReport(atT0.fullReport).reportData).price).to.equal(3_000n * WAD);
    expect(atT1.observationsTimestamp).to.equal(t1);
    const r1 = decodeReportV3(decodeSignedReport(atT1.fullReport).reportData);
    expect(r1).to.deep.include({ feedId: ETH, price: 3_030n * WAD, observationsTimestamp: t1 });

    // What the service signed verifies on chain and passes every market check.
    await expect(c.harness.verifyAndCheck(atT1.fullReport, ETH, 3_030n * WAD, 100n)).to.emit(c.harness, "Checked").withArgs(ETH, t1, r1.price, r1.bid, r1.ask);

    const bulk = await client.getReportsBulk([ETH, BTC], t1);
    expect(new Set(bulk.map((r) => r.feedID))).to.deep.equal(new Set([ETH, BTC]));
    const feeds = await client.listFeeds();
    expect(feeds.map((f) => f.name)).to.deep.equal(["ETH/USD", "BTC/USD"]);
  });

  it("test_reportService_traceSource_replaysAStepFunctionFromItsOrigin", async () => {
    const c = await networkHelpers.loadFixture(chain);
    const points = TracePriceSource.parseCsv("# a crash and a rebound\nt,ETH/USD,BTC/USD\n0,3000,60000\n60,2850.5,59000\n120,2990.25,59900\n");
    const origin = 1_800_000_000;
    const source = new TracePriceSource(points, { "ETH/USD": ETH, "BTC/USD": BTC }, origin, 0n);
    const service = new ReportService({ oracles: c.oracles, feeds: c.feeds, source, now: () => origin + 130, credentials: CREDENTIALS });
    services.push(service);
    const client = clientFor(await service.listen());
    const priceAt = async (t: number) => decodeReportV3(decodeSignedReport((await client.getReportByTimestamp(ETH, t)).fullReport).reportData).price;
    expect(await priceAt(origin)).to.equal(3_000n * WAD);
    expect(await priceAt(origin + 59)).to.equal(3_000n * WAD);
    expect(await priceAt(origin + 60)).to.equal(decimalToWad("2850.5", "test"));
    expect(await priceAt(origin + 125)).to.equal(decimalToWad("2990.25", "test"));
    // Before the trace starts there is no report.
    await expect(client.getReportByTimestamp(ETH, origin - 1)).to.be.rejectedWith(/no price/);
    // A page walks seconds from its start and stops at "now".
    const page = await client.getReportsPage(ETH, origin + 125, 100);
    expect(page.map((r) => r.observationsTimestamp)).to.deep.equal([125, 126, 127, 128, 129, 130].map((d) => origin + d));
  });

  it("test_reportService_refusesBadCredentialsUnknownFeedsAndBadParameters", async () => {
    const c = await networkHelpers.loadFixture(chain);
    const source = new TracePriceSource(TracePriceSource.parseCsv("t,ETH/USD,BTC/USD\n0,3000,60000\n"), { "ETH/USD": ETH, "BTC/USD": BTC }, 0, 2n);
    const service = new ReportService({ oracles: c.oracles, feeds: c.feeds, source, credentials: CREDENTIALS });
    services.push(service);
    const url = await service.listen();
    await expect(clientFor(url, { apiKey: "local-key", userSecret: "wrong" }).getLatestReport(ETH)).to.be.rejectedWith(/bad request signature/);
    await expect(clientFor(url, { apiKey: "someone-else", userSecret: "x" }).getLatestReport(ETH)).to.be.rejectedWith(/unknown API key/);
    const client = clientFor(url);
    await expect(client.getLatestReport("0x0003" + "11".repeat(30))).to.be.rejectedWith(/unknown feed/);
    const raw = await fetch(`${url}/api/v1/reports?feedID=${ETH}&timestamp=soon`);
    expect(raw.status).to.equal(401); // authentication comes first
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("test_priceSources_spreadAndParsing", () => {
    expect(withSpread(3_000n * WAD, 2n)).to.deep.equal({ price: 3_000n * WAD, bid: 3_000n * WAD - 3n * 10n ** 17n, ask: 3_000n * WAD + 3n * 10n ** 17n });
    expect(withSpread(1n, 2n)).to.deep.equal({ price: 1n, bid: 1n, ask: 2n }); // the ask rounds up
    expect(decimalToWad("0.000000000000000001", "x")).to.equal(1n);
    expect(() => decimalToWad("-1", "row 2")).to.throw(/row 2: "-1" is not a positive decimal/);
    expect(() => decimalToWad("0", "row 2")).to.throw(/must be positive/);
    expect(() => TracePriceSource.parseCsv("time,ETH/USD\n0,1\n")).to.throw(/header must be/);
    expect(() => new TracePriceSource([{ t: 5, prices: {} }, { t: 5, prices: {} }], {}, 0)).to.throw(/times must increase/);
  });
});
