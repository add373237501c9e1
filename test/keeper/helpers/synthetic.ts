// Synthetic position records in memory (no chain), shaped as the tracker keeps them: for the
// health index's equivalence test and the 100,000-position benchmark.
import { ZeroAddress } from "ethers";
import { sizeForLeverage, type BulkheadClient, type PositionView, type RiskParams } from "@bulkhead/sdk";
import type { MarketStatus } from "../../../keeper/src/evaluator.js";
import { Rng } from "../../sdk/helpers/random.js";

export const WAD = 10n ** 18n;

/** Risk versions a market may have had (mmr, keeper rate, min fee in token units, max profit). */
export function riskVersions(tokenUnit: bigint): RiskParams[] {
  return [
    { mmr: WAD / 200n, liquidationFeeRate: WAD / 200n, minLiquidationFee: tokenUnit, maxProfitFactorBps: 5000n },
    { mmr: WAD / 100n, liquidationFeeRate: WAD / 1000n, minLiquidationFee: 5n * tokenUnit, maxProfitFactorBps: 2000n },
    { mmr: WAD / 50n, liquidationFeeRate: 0n, minLiquidationFee: tokenUnit / 10n, maxProfitFactorBps: 900n },
  ];
}

export interface SyntheticOptions {
  /** Token decimals (6: USDC). */
  decimals?: number;
  /** Market prices, WAD. */
  prices: bigint[];
  /** Market borrow indexes now (a record's index is at most its market's). */
  indexes: bigint[];
}

/** `unit` of the SDK's math for a token of `decimals`. */
export const unitOf = (decimals: number) => WAD * 10n ** BigInt(18 - decimals);

/** A random open position record: 1.5x to 50x, entries within 20 % of the price, some with a small cap. */
export function randomView(rng: Rng, id: bigint, o: SyntheticOptions): PositionView {
  const decimals = o.decimals ?? 6;
  const tokenUnit = 10n ** BigInt(decimals);
  const unit = unitOf(decimals);
  const market = rng.int(0, o.prices.length - 1);
  const price = o.prices[market]!;
  const entryPrice = (price * rng.range(8_000n, 12_000n)) / 10_000n;
  const collateral = rng.log(10n * tokenUnit, 100_000n * tokenUnit);
  const size = sizeForLeverage(collateral, rng.range((3n * WAD) / 2n, 50n * WAD), entryPrice, unit) + 1n;
  const risk = rng.pick(riskVersions(tokenUnit));
  const maxProfitFactorBps = rng.bool(0.2) ? rng.range(1n, risk.maxProfitFactorBps) : risk.maxProfitFactorBps;
  const index = o.indexes[market]!;
  const borrowIndex = index - (index === 0n ? 0n : rng.range(0n, index / 4n));
  return {
    id,
    owner: ZeroAddress,
    vault: ZeroAddress,
    vaultBalance: collateral,
    position: { size, entryPrice, marketId: market, isLong: rng.bool(), collateral, borrowIndex, riskVersion: 1, maxProfitFactorBps },
    risk,
    price,
    index,
    health: null,
    blockNumber: 0,
  } as PositionView;
}

/** A copy of `v` as the lens reads it after a collateral change. */
export function withCollateral(v: PositionView, collateral: bigint): PositionView {
  return { ...v, position: { ...v.position, collateral }, vaultBalance: collateral };
}

/** Markets as the evaluator reads them, at these prices and indexes. */
export function marketStatus(prices: readonly (bigint | null)[], indexes: readonly bigint[]): MarketStatus[] {
  return prices.map((price, id) => ({ id, symbol: `M${id}`, feed: ZeroAddress, heartbeat: 3600, delisted: false, price, priceError: price === null ? "StalePrice" : null, index: indexes[id]!, staleness: 0 }));
}

/**
 * What the evaluator needs of a client when it is given the markets (`evaluateAt`): the token
 * unit; no chain is read.
 */
export function offlineClient(decimals = 6): BulkheadClient {
  return { unit: unitOf(decimals), engineAddress: ZeroAddress, provider: null } as unknown as BulkheadClient;
}
