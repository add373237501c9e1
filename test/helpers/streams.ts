// Chainlink Data Streams on a Hardhat network connection: Chainlink's own VerifierProxy and
// Verifier (llo-feeds, solc 0.8.19) configured with the local oracle set, one stream per market,
// and a BulkheadOracle over them. `sign` makes the report a request settles at, exactly as the
// local report service does (validFrom = observations = the second it is for).
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ReportV3 } from "@bulkhead/sdk";
import { LocalOracleSet, localFeedId } from "../../scripts/streams/oracleSet.js";

export const VERIFIER = "@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol:Verifier";
export const VERIFIER_PROXY = "@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol:VerifierProxy";
export const FEED_IDS = [localFeedId("ETH/USD"), localFeedId("BTC/USD")] as const;
/** Test timing: settle 2 s after the request, exits fall back to the push feed after 120 s, expire after 300 s. */
export const TIMING = { settlementDelay: 2n, expiry: 300n, pushFallbackDelay: 120n };
export const MAX_DEVIATION_BPS = 100n; // 1 %
/** Half spread of test reports around their benchmark price, bps. */
export const HALF_SPREAD_BPS = 5n;

export interface Quote {
  price: bigint;
  bid?: bigint;
  ask?: bigint;
}

export async function deployStreams(ethers: HardhatEthers, engine: { getAddress(): Promise<string> }) {
  const proxy = await ethers.deployContract(VERIFIER_PROXY, [ethers.ZeroAddress]);
  const verifier = await ethers.deployContract(VERIFIER, [await proxy.getAddress()]);
  await (await proxy.initializeVerifier(await verifier.getAddress())).wait();
  const oracleSet = LocalOracleSet.deterministic();
  const digests: string[] = [];
  for (const id of FEED_IDS) digests.push(await oracleSet.configure(verifier as never, id));
  const oracle = await ethers.deployContract("BulkheadOracle", [engine, proxy, TIMING]);
  for (const [i, id] of FEED_IDS.entries()) await (await oracle.setStream(i, id, MAX_DEVIATION_BPS)).wait();

  /** The report of market `marketId` observed at second `t` (benchmark `q.price`, bid/ask around it). */
  const report = (marketId: number | bigint, t: number | bigint, q: Quote, over: Partial<ReportV3> = {}): ReportV3 => ({
    feedId: FEED_IDS[Number(marketId)]!,
    validFromTimestamp: Number(t),
    observationsTimestamp: Number(t),
    nativeFee: 0n,
    linkFee: 0n,
    expiresAt: Number(t) + 3600,
    price: q.price,
    bid: q.bid ?? q.price - (q.price * HALF_SPREAD_BPS) / 10_000n,
    ask: q.ask ?? q.price + (q.price * HALF_SPREAD_BPS) / 10_000n,
    ...over,
  });
  /** That report signed by the local oracle set (f + 1 signatures), ready for `execute`. */
  const sign = (r: ReportV3, options: Parameters<LocalOracleSet["sign"]>[3] = {}): string =>
    oracleSet.sign(r, digests[FEED_IDS.indexOf(r.feedId as (typeof FEED_IDS)[number])] ?? digests[0]!, { epoch: r.observationsTimestamp, round: 0 }, options);
  const signAt = (marketId: number | bigint, t: number | bigint, q: Quote, over: Partial<ReportV3> = {}) => sign(report(marketId, t, q, over));
  return { proxy, verifier, oracleSet, digests, oracle, report, sign, signAt };
}
