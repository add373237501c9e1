/**
 * Client reads of markets: parameters, risk parameters, oracle prices, borrow index and rate, and
 * the engine's pool ledger and utilisation integrals every borrow index follows.
 * @module
 */
import { ZeroAddress, type BlockTag } from "ethers";
import { toLedger, toMarketState, toRiskParams, toUtilisationAccumulator } from "../decode.js";
import { decodeRevert, type BulkheadError } from "../errors.js";
import type { Ledger, MarketId, MarketParams, MarketState, RiskParams, UtilisationState } from "../types.js";
import { ClientModule } from "./context.js";
import { lensRead, type ReadAt } from "./lensRead.js";

/** A market with its parameters, current risk parameters and live values. */
export interface MarketInfo extends MarketState {
  id: MarketId;
  /** From the deployment file, when known. */
  symbol?: string;
  params: MarketParams;
  /** Risk parameters new positions get (version `riskVersion`). */
  risk: RiskParams;
  /** The validated oracle price (WAD), or null when the feed fails a check (see `priceError`). */
  price: bigint | null;
  priceError?: BulkheadError;
  /**
   * Borrow index as of the read block: `BorrowLib.currentIndex(market, pool, timestamp)`, the
   * stored index grown with the pool's utilisation path since the market's last accrual.
   */
  currentIndex: bigint;
  /** The market's borrow rate at the read block (`borrowRate`, WAD per second). */
  borrowRate: bigint;
  /** The feed's latest `updatedAt` (Unix seconds; 0 when the feed does not answer). */
  feedUpdatedAt: bigint;
  blockNumber: number;
  /** Timestamp of the read block: the feed's age is `blockTimestamp - feedUpdatedAt`. */
  blockTimestamp: number;
}

/** Market reads: markets, prices, borrow index and rate, the ledger. */
export class Markets extends ClientModule {
  async getPrice(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    const c = this.ctx;
    return c.read(() => c.engine.getFunction("price")(marketId, { blockTag }) as Promise<bigint>);
  }

  async getMarkets(): Promise<MarketInfo[]> {
    const c = this.ctx;
    const r = await lensRead(c, "readMarkets", []);
    const [, rows] = c.lens.interface.decodeFunctionResult("readMarkets", r.data) as unknown as [unknown, unknown[]];
    return this.fromLens(rows, r);
  }

  /** Every market from the lens' `MarketView` rows read at `at` (`readMarkets`, `readOverview`). @internal */
  fromLens(rows: readonly unknown[], at: ReadAt): MarketInfo[] {
    this.ctx.marketCount = Math.max(this.ctx.marketCount, rows.length);
    return rows.map((row) => this.#info(row, at));
  }

  async getMarket(marketId: MarketId): Promise<MarketInfo> {
    const c = this.ctx;
    const r = await lensRead(c, "readMarket", [marketId]);
    const [, row] = c.lens.interface.decodeFunctionResult("readMarket", r.data) as unknown as [unknown, unknown];
    return this.#info(row, r);
  }

  /** A lens `MarketView` as a {@link MarketInfo}; the price error is decoded as the engine's read would throw it. */
  #info(row: unknown, at: ReadAt): MarketInfo {
    const c = this.ctx;
    const v = row as { id: bigint; market: unknown; risk: unknown; currentBorrowIndex: bigint; borrowRate: bigint; price: bigint; priceError: string; feedUpdatedAt: bigint };
    const m = toMarketState(v.market);
    const id = Number(v.id);
    const risk = toRiskParams(v.risk);
    c.seedRisk(id, m.riskVersion, risk);
    // The engine never answers a price of 0: a 0 without revert data is a revert the lens could not name.
    const valid = !m.delisted && v.priceError === "0x" && BigInt(v.price) > 0n;
    const info: MarketInfo = {
      ...m,
      id,
      params: {
        maxLeverage: m.maxLeverage,
        openFeeRate: m.openFeeRate,
        closeFeeRate: m.closeFeeRate,
        baseBorrowRate: m.baseBorrowRate,
        borrowRateSlope: m.borrowRateSlope,
        minCollateral: m.minCollateral,
        maxLongOpenInterest: m.maxLongOpenInterest,
        maxShortOpenInterest: m.maxShortOpenInterest,
      },
      risk,
      price: valid ? BigInt(v.price) : null,
      currentIndex: BigInt(v.currentBorrowIndex),
      borrowRate: BigInt(v.borrowRate),
      feedUpdatedAt: BigInt(v.feedUpdatedAt),
      blockNumber: at.blockNumber,
      blockTimestamp: at.timestamp,
    };
    const symbol = c.markets.find((d) => d.id === id)?.symbol;
    if (symbol !== undefined) info.symbol = symbol;
    if (!m.delisted && !valid) info.priceError = decodeRevert(v.priceError, c.errorContext);
    return info;
  }

  /**
   * What a trade quote reads, at one block in two lens calls: the market, its validated price
   * (throwing the engine's typed error when invalid), the ledger, the pause flag, the protocol
   * fee share and the market's borrow index now.
   * @internal
   */
  async tradeState(marketId: MarketId, blockNumber: number) {
    const c = this.ctx;
    const [m, p] = await Promise.all([lensRead(c, "readMarket", [marketId], blockNumber), lensRead(c, "readPool", [ZeroAddress], blockNumber)]);
    const info = this.#info((c.lens.interface.decodeFunctionResult("readMarket", m.data) as unknown as [unknown, unknown])[1], m);
    const pool = (c.lens.interface.decodeFunctionResult("readPool", p.data) as unknown as [unknown, { ledger: unknown; paused: boolean; protocolFeeShare: bigint }])[1];
    const price = info.price ?? (info.priceError ? Promise.reject(info.priceError) : this.getPrice(marketId, blockNumber));
    return {
      market: toMarketState(info),
      price: await price,
      ledger: toLedger(pool.ledger),
      paused: Boolean(pool.paused),
      index: info.currentIndex,
      protocolFeeShare: BigInt(pool.protocolFeeShare),
    };
  }

  async getLedger(blockTag?: BlockTag): Promise<Ledger> {
    const c = this.ctx;
    return toLedger(await c.read(() => c.engine.getFunction("ledger")({ blockTag })));
  }

  async getUtilisationState(blockTag?: BlockTag): Promise<UtilisationState> {
    const c = this.ctx;
    const [ledger, raw] = await Promise.all([
      this.getLedger(blockTag),
      c.read(() => c.engine.getFunction("utilisationAccumulator")({ blockTag })),
    ]);
    return { lpAssets: ledger.lpAssets, reserved: ledger.reserved, utilisation: toUtilisationAccumulator(raw) };
  }

  async getBorrowRate(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    const c = this.ctx;
    return c.read(() => c.engine.getFunction("borrowRate")(marketId, { blockTag }) as Promise<bigint>);
  }
}
