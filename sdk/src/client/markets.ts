/**
 * Client reads of markets: parameters, risk parameters, oracle prices, borrow index and rate, and
 * the engine's pool ledger and utilisation integrals every borrow index follows.
 * @module
 */
import type { BlockTag } from "ethers";
import { toLedger, toMarketState, toUtilisationAccumulator } from "../decode.js";
import { BulkheadError } from "../errors.js";
import type { Ledger, MarketId, MarketParams, MarketState, RiskParams, UtilisationState } from "../types.js";
import { ClientModule } from "./context.js";

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
  blockNumber: number;
}

/** Market reads: markets, prices, borrow index and rate, the ledger. */
export class Markets extends ClientModule {
  async getPrice(marketId: MarketId, blockTag?: BlockTag): Promise<bigint> {
    const c = this.ctx;
    return c.read(() => c.engine.getFunction("price")(marketId, { blockTag }) as Promise<bigint>);
  }

  async getMarkets(): Promise<MarketInfo[]> {
    const c = this.ctx;
    const blockNumber = await c.latestBlock();
    const count = Number(await c.read(() => c.engine.getFunction("marketCount")({ blockTag: blockNumber })));
    c.marketCount = count;
    return Promise.all(Array.from({ length: count }, (_, i) => this.#market(i, blockNumber)));
  }

  async getMarket(marketId: MarketId): Promise<MarketInfo> {
    return this.#market(marketId, await this.ctx.latestBlock());
  }

  async #market(id: number, blockNumber: number): Promise<MarketInfo> {
    const c = this.ctx;
    const e = c.engine;
    const blockTag = blockNumber;
    const [raw, index] = await Promise.all([
      c.read(() => e.getFunction("market")(id, { blockTag })),
      c.read(() => e.getFunction("currentBorrowIndex")(id, { blockTag }) as Promise<bigint>),
    ]);
    const m = toMarketState(raw);
    const price: { p: bigint | null } | { err: unknown } = m.delisted
      ? { p: null }
      : await this.getPrice(id, blockTag).then(
          (p) => ({ p }),
          (err: unknown) => ({ err }),
        );
    const risk = await c.risk(id, m.riskVersion, blockTag);
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
      price: "p" in price ? price.p : null,
      currentIndex: index,
      blockNumber,
    };
    const symbol = c.markets.find((d) => d.id === id)?.symbol;
    if (symbol !== undefined) info.symbol = symbol;
    if ("err" in price) {
      if (!(price.err instanceof BulkheadError)) throw price.err;
      info.priceError = price.err;
    }
    return info;
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
