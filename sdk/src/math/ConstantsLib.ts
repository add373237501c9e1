/**
 * Mirror of `contracts/libraries/ConstantsLib.sol`: every constant and governance bound of
 * Bulkhead. Rates are WAD fractions (1e18 = 100%) unless the name says otherwise.
 * @module
 */
export namespace ConstantsLib {
  /** 1.0 in 18-decimal fixed point. */
  export const WAD = 10n ** 18n;
  /** Basis points in one whole (maxProfitFactorBps). */
  export const BPS = 10_000n;
  /** Seconds in a 365-day year. */
  export const YEAR = 365n * 24n * 3600n;
  /** Highest number of markets. */
  export const MAX_MARKETS = 16n;
  /** Bounds on maxLeverage (WAD multiple of collateral). */
  export const MIN_MAX_LEVERAGE = 11n * 10n ** 17n;
  export const MAX_MAX_LEVERAGE = 100n * WAD;
  /** Bounds on the maintenance margin rate. */
  export const MIN_MMR = 10n ** 15n;
  export const MAX_MMR = 5n * 10n ** 17n;
  /** Upper bound on the proportional liquidation fee rate. */
  export const MAX_LIQUIDATION_FEE_RATE = 5n * 10n ** 16n;
  /** Upper bound on the open and close fee rates. */
  export const MAX_TRADING_FEE_RATE = 10n ** 16n;
  /** Upper bound on the protocol's share of trading fees. */
  export const MAX_PROTOCOL_FEE_SHARE = 5n * 10n ** 17n;
  /** Bounds on the borrow rate, per second (WAD). */
  export const MAX_BASE_BORROW_RATE = WAD / YEAR;
  export const MAX_BORROW_RATE_SLOPE = (4n * WAD) / YEAR;
  /** Pool utilisation (WAD) above which every market's borrow rate rises steeply (the kink). */
  export const TARGET_UTILISATION = 9n * 10n ** 17n;
  /** Extra rate per second per unit of utilisation above the target: +3,000% a year (+300% at 100%). */
  export const ABOVE_TARGET_BORROW_RATE_SLOPE = (30n * WAD) / YEAR;
  /** Bounds on the max-profit factor, in basis points of entry notional. */
  export const MIN_MAX_PROFIT_FACTOR_BPS = 1_000n;
  export const MAX_MAX_PROFIT_FACTOR_BPS = 100_000n;
  /** Bounds on a feed's heartbeat, seconds. */
  export const MIN_HEARTBEAT = 60n;
  export const MAX_HEARTBEAT = 2n * 24n * 3600n;
  /** Bound on the L2 sequencer grace period, seconds. */
  export const MAX_SEQUENCER_GRACE_PERIOD = 24n * 3600n;
  /** Highest accepted normalised price (WAD): type(uint96).max. */
  export const MAX_PRICE = 2n ** 96n - 1n;
  /** Highest position size (index units, WAD): type(uint128).max. */
  export const MAX_SIZE = 2n ** 128n - 1n;
  /** Highest collateral (token units): type(uint96).max. */
  export const MAX_COLLATERAL = 2n ** 96n - 1n;
  /** Trigger orders: the default and highest maximum age of a report that fills one, seconds. */
  export const DEFAULT_MAX_REPORT_AGE = 30n;
  export const MAX_MAX_REPORT_AGE = 300n;
  /** Bounds on a trailing stop's trail, bps (0.1 % to 50 %). */
  export const MIN_TRAIL_BPS = 10n;
  export const MAX_TRAIL_BPS = 5_000n;
  /** Highest health-factor threshold of a top-up guard (WAD); it must also be above 1. */
  export const MAX_TOP_UP_THRESHOLD = 10n * WAD;
}
