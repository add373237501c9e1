// "No keeper is required to get out": a trader requests its close through the SDK, fetches the
// report its request pins from the Data Streams API with Chainlink's official client (the local
// report service on 127.0.0.1, priced from the push feeds, HMAC credentials like Chainlink's),
// and executes the close itself. Every server this file starts is closed by it.
import { expect } from "chai";
import { network } from "hardhat";
import { createClient } from "@chainlink/data-streams-sdk";
import { BulkheadClient, decodeReportV3, decodeSignedReport } from "@bulkhead/sdk";
import { ReportService } from "../../scripts/streams/reportService.js";
import { PushFeedPriceSource } from "../../scripts/streams/priceSources.js";
import { USDC, WAD } from "../helpers/fixture.js";
import { deployRequestSystem } from "../helpers/requests.js";
import { FEED_IDS } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();
const CREDENTIALS = { apiKey: "local-key", userSecret: "local-secret" };

describe("self-execution with a report from the Data Streams API", () => {
  let service: ReportService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it("test_selfExecution_theTraderFetchesItsPinnedReportAndExecutesItsOwnOpenAndClose", async () => {
    const s = await deployRequestSystem(ethers);
    const addresses = { engine: await s.engine.getAddress(), lens: await s.lens.getAddress(), startBlock: 0 };
    const trader = await BulkheadClient.connect(s.signers.alice, { addresses, pollingInterval: 20 });
    const source = new PushFeedPriceSource(ethers.provider, { [FEED_IDS[0]]: await s.ethFeed.getAddress(), [FEED_IDS[1]]: await s.btcFeed.getAddress() });
    service = new ReportService({
      oracles: s.oracleSet,
      feeds: FEED_IDS.map((feedId, i) => ({ feedId, name: i === 0 ? "ETH/USD" : "BTC/USD", configDigest: s.digests[i]! })),
      source,
      now: async () => Number((await ethers.provider.getBlock("latest"))!.timestamp),
      credentials: CREDENTIALS,
    });
    const url = await service.listen();
    const api = createClient({ ...CREDENTIALS, endpoint: url, wsEndpoint: url.replace("http", "ws"), retryAttempts: 0, timeout: 5_000 });

    const executeOwn = async (requestId: bigint, settlesAt: number) => {
      await networkHelpers.time.increaseTo(settlesAt);
      const report = await api.getReportByTimestamp(FEED_IDS[0], settlesAt);
      return trader.executeRequest({ requestId, report: report.fullReport });
    };

    const opened = await trader.requestOpen({ market: 0, side: "long", amount: 1_000n * USDC, size: WAD, slippageBps: 100 });
    const fill = await executeOwn(opened.requestId, opened.event.settlesAt);
    if (fill.event.type !== "RequestExecuted") throw new Error(`cancelled: ${fill.event.reason}`);
    expect(fill.event.executor).to.equal(s.signers.alice.address);
    const id = fill.event.positionId;

    // The push feed moves; the close settles at the report of its own second, which carries it.
    await (await s.ethFeed.updateAnswer(3_030n * 10n ** 8n)).wait();
    const close = await trader.requestClose({ id, slippageBps: 100 });
    const closed = await executeOwn(close.requestId, close.event.settlesAt);
    if (closed.event.type !== "RequestExecuted") throw new Error(`cancelled: ${closed.event.reason}`);
    const report = decodeReportV3(decodeSignedReport((await api.getReportByTimestamp(FEED_IDS[0], close.event.settlesAt)).fullReport).reportData);
    expect(report.price).to.equal(3_030n * WAD);
    expect(closed.event.fillPrice).to.equal(report.bid);
    expect(await trader.getPosition(id)).to.equal(null);
    expect(service.served.get("/api/v1/reports")).to.equal(3);
  });
});
