/**
 * Plain data types of the SDK, mirroring the structs of `IBulkhead.sol` / `IBulkheadLens.sol`.
 * Every number is a bigint in the contract's unit (WAD prices and sizes, token-unit amounts),
 * except small counters (market ids, risk versions, decimals) which are `number`.
 * @module
 */

/** Position ids are ERC-721 token ids (uint256). */
export type PositionId = bigint;
/** Market ids are small integers (at most 16 markets). */
export type MarketId = number;
/** A side of a market. */
export type Side = "long" | "short";

/** Owner-set trading parameters of a market (struct `MarketParams`). Rates WAD, borrow rates per second. */
export interface MarketParams {
  maxLeverage: bigint;
  openFeeRate: bigint;
  closeFeeRate: bigint;
  baseBorrowRate: bigint;
  borrowRateSlope: bigint;
  minCollateral: bigint;
  maxLongOpenInterest: bigint;
  maxShortOpenInterest: bigint;
}

/** Risk parameters a position keeps for its whole life (struct `RiskParams`). */
export interface RiskParams {
  /** Maintenance margin rate, WAD. */
  mmr: bigint;
  /** Proportional keeper reward rate on notional, WAD. */
  liquidationFeeRate: bigint;
  /** Minimum keeper reward, token units. */
  minLiquidationFee: bigint;
  /** Max payable profit, basis points of entry notional. */
  maxProfitFactorBps: bigint;
}

/**
 * A market as stored by the engine (struct `Market`), state as of its last accrual. The borrow
 * index follows the pool's utilisation path from then on (see `BorrowLib.currentIndex`).
 */
export interface MarketState {
  feed: string;
  heartbeat: bigint;
  feedDecimals: number;
  paused: boolean;
  riskVersion: number;
  /** Delisted by governance (final): no positions, no trading, its feed is not read. */
  delisted: boolean;
  openFeeRate: bigint;
  closeFeeRate: bigint;
  baseBorrowRate: bigint;
  borrowRateSlope: bigint;
  maxLeverage: bigint;
  minCollateral: bigint;
  maxLongOpenInterest: bigint;
  maxShortOpenInterest: bigint;
  borrowIndex: bigint;
  /** The market's rate integral as of its last accrual (`BorrowLib.rateIntegral`). */
  rateIntegral: bigint;
  accruedBorrowFees: bigint;
  longSize: bigint;
  shortSize: bigint;
  longSizeEntry: bigint;
  shortSizeEntry: bigint;
  /** Σ max profit reserved by the side's open positions (their caps); the pool caps the side's PnL at it. */
  longReserved: bigint;
  shortReserved: bigint;
}

/** A position record (struct `Position`). `size` 0 means the position does not exist. */
export interface PositionRecord {
  size: bigint;
  entryPrice: bigint;
  marketId: MarketId;
  isLong: boolean;
  collateral: bigint;
  borrowIndex: bigint;
  riskVersion: number;
  /**
   * The position's own max-profit factor, basis points of entry notional: its risk version's at
   * open, at most that after an increase (the old leg's cap left per unit of size).
   */
  maxProfitFactorBps: bigint;
}

/** Health of a position at one price (struct `Health`), on the value settlement pays. */
export interface Health {
  price: bigint;
  notional: bigint;
  /** PnL as close and liquidation settle it: a gain is capped at the position's max profit. */
  pnl: bigint;
  borrowFee: bigint;
  equity: bigint;
  maintenance: bigint;
  liquidationFee: bigint;
  /**
   * Loss-side liquidation price L with the borrow fee accrued so far
   * (`PositionMath.liquidationPrice`): a long is liquidatable strictly below L and always at
   * L - 1 wei, a short strictly above L and always at L + 1 wei; at L itself the integer-rounded
   * health may go either way. 0 when no positive price solves it. A long whose gain is capped is
   * also liquidatable above `PositionMath.liquidationPriceHigh`.
   */
  liquidationPrice: bigint;
  liquidatable: boolean;
}

/** What `liquidate` would do now (struct `LiquidationPreview`). */
export interface LiquidationPreview {
  liquidatable: boolean;
  price: bigint;
  equity: bigint;
  maintenance: bigint;
  keeperReward: bigint;
  badDebt: bigint;
  toInsurance: bigint;
  fromInsurance: bigint;
  fromPool: bigint;
  lpDelta: bigint;
}

/** The pool ledger kept by the engine (struct `Ledger`), token units. */
export interface Ledger {
  lpAssets: bigint;
  reserved: bigint;
  insuranceFund: bigint;
  protocolFees: bigint;
}

/**
 * The pool's utilisation integrals (struct `UtilisationAccumulator`) as of `updatedAt`: ∫u·dt and
 * ∫(u − target)⁺·dt in WAD·seconds.
 */
export interface UtilisationAccumulator {
  updatedAt: bigint;
  utilisationTime: bigint;
  aboveTargetTime: bigint;
}

/** What every market's borrow index depends on besides its own state (the engine's `StoredLedger`). */
export interface UtilisationState {
  lpAssets: bigint;
  reserved: bigint;
  utilisation: UtilisationAccumulator;
}

/** The collateral token. */
export interface TokenInfo {
  address: string;
  symbol: string;
  decimals: number;
}
