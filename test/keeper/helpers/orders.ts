// The keeper's request and order execution on Hardhat's in-process network: the order system
// (router, oracle, order book), a ReportService on 127.0.0.1 priced from the push feeds and
// reached through Chainlink's client with HMAC credentials, SDK clients for the traders, and
// keepers (accounts 9 and 10, no role in the fixture) built like the CLI builds them.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import { BrowserProvider, Wallet, type Eip1193Provider } from "ethers";
import { BulkheadClient } from "@bulkhead/sdk";
import { Keeper, type KeeperOptions } from "../../../keeper/src/keeper.js";
import { Metrics } from "../../../keeper/src/metrics.js";
import { StreamsReports } from "../../../keeper/src/reports.js";
import { JsonStore } from "../../../keeper/src/store.js";
import { PushFeedPriceSource } from "../../../scripts/streams/priceSources.js";
import { ReportService } from "../../../scripts/streams/reportService.js";
import { USDC, WAD } from "../../helpers/fixture.js";
import { deployOrderSystem } from "../../helpers/orders.js";
import { FEED_IDS } from "../../helpers/streams.js";
import { devKey } from "./chain.js";
import { captureLogger } from "./inprocess.js";

export const CREDENTIALS = { apiKey: "keeper-test-key", userSecret: "keeper-test-secret" };
/** Every test fee is quoted at this gas price: a keeper at 1 gwei of tip is paid in full. */
export const QUOTE_GAS_PRICE = 100n * 10n ** 9n;

export type OrderWorld = Awaited<ReturnType<typeof orderWorld>>;

export async function orderWorld(ethers: HardhatEthers, networkHelpers: NetworkHelpers, eip1193: Eip1193Provider) {
  const s = await deployOrderSystem(ethers);
  const provider = new BrowserProvider(eip1193, 31337, { staticNetwork: true, cacheTimeout: -1 });
  const addresses = { engine: await s.engine.getAddress(), lens: await s.lens.getAddress(), startBlock: 0 };
  const client = await BulkheadClient.connect(provider, { addresses });
  const alice = await BulkheadClient.connect(s.signers.alice, { addresses });
  const lp = await BulkheadClient.connect(s.signers.lp, { addresses });
  const source = new PushFeedPriceSource(ethers.provider, { [FEED_IDS[0]]: await s.ethFeed.getAddress(), [FEED_IDS[1]]: await s.btcFeed.getAddress() });
  const service = new ReportService({
    oracles: s.oracleSet,
    feeds: FEED_IDS.map((feedId, i) => ({ feedId, name: i === 0 ? "ETH/USD" : "BTC/USD", configDigest: s.digests[i]! })),
    source,
    now: async () => Number((await ethers.provider.getBlock("latest"))!.timestamp),
    credentials: CREDENTIALS,
  });
  const url = await service.listen();
  const reports = new StreamsReports({ url, ...CREDENTIALS });

  /** A keeper (account 9 + n) with its own store (in memory unless `path`), initialised. */
  const keeper = async (options: KeeperOptions & { account?: number; path?: string } = {}) => {
    const wallet = new Wallet(devKey(9 + (options.account ?? 0)), provider);
    const store = JsonStore.open(options.path ?? null, { chainId: 31337, engine: addresses.engine, startBlock: 0 });
    const log = captureLogger();
    const metrics = new Metrics();
    const k = new Keeper(client, wallet, wallet.address, store, { confirmations: 0, reports, logger: log.logger, metrics, ...options });
    await k.init();
    return { k, store, metrics, wallet, ...log };
  };

  /** Moves ETH's push feed (and so every later report) to `usd` dollars. */
  const setEth = async (usd: bigint) => (await s.ethFeed.updateAnswer(usd * 10n ** 8n)).wait();

  /** Alice requests a 1 ETH long (or short) open of `amount`; returns the request id and its second. */
  const requestOpen = async (o: { side?: "long" | "short"; amount?: bigint; size?: bigint } = {}) => {
    const r = await alice.requestOpen({ market: 0, side: o.side ?? "long", amount: o.amount ?? 1_000n * USDC, size: o.size ?? WAD, slippageBps: 200, gasPrice: QUOTE_GAS_PRICE });
    return { requestId: r.requestId, settlesAt: r.event.settlesAt };
  };

  /** The position a request's execution opened (from the router's event), or null. */
  const filledPosition = async (requestId: bigint): Promise<bigint | null> => {
    for (const e of await client.getRequestEvents()) if (e.type === "RequestExecuted" && e.requestId === requestId) return e.positionId;
    return null;
  };

  /** Opens a position through a request that keeper `k` executes at its pinned report. */
  const openWith = async (k: Keeper, o: Parameters<typeof requestOpen>[0] = {}) => {
    const r = await requestOpen(o);
    await networkHelpers.time.increaseTo(r.settlesAt);
    await k.cycle();
    const id = await filledPosition(r.requestId);
    if (id === null) throw new Error("the keeper did not fill the open request");
    return id;
  };

  /** Order book events of one type. */
  const events = async (type: string) => (await client.getOrderEvents()).filter((e) => e.type === type);

  return { s, provider, client, alice, lp, service, reports, keeper, setEth, requestOpen, filledPosition, openWith, events, close: () => service.close() };
}
