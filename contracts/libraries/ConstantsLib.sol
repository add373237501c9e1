// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

/// @title ConstantsLib
/// @notice Every constant and governance bound of Bulkhead, in one place.
/// @dev Rates are WAD fractions (1e18 = 100%) unless the name says otherwise.
library ConstantsLib {
    /// @dev 1.0 in 18-decimal fixed point.
    uint256 internal constant WAD = 1e18;
    /// @dev Basis points in one whole (maxProfitFactorBps).
    uint256 internal constant BPS = 1e4;
    /// @dev Seconds in a 365-day year, for annual rate bounds.
    uint256 internal constant YEAR = 365 days;

    /// @dev Highest number of markets; bounds every loop over markets (LP share price).
    uint256 internal constant MAX_MARKETS = 16;

    /// @dev Bounds on maxLeverage (WAD multiple of collateral).
    uint256 internal constant MIN_MAX_LEVERAGE = 1.1e18;
    uint256 internal constant MAX_MAX_LEVERAGE = 100e18;
    /// @dev Bounds on the maintenance margin rate.
    uint256 internal constant MIN_MMR = 0.001e18;
    uint256 internal constant MAX_MMR = 0.5e18;
    /// @dev Upper bound on the proportional liquidation fee (keeper reward) rate.
    uint256 internal constant MAX_LIQUIDATION_FEE_RATE = 0.05e18;
    /// @dev Upper bound on the open and close fee rates (on notional).
    uint256 internal constant MAX_TRADING_FEE_RATE = 0.01e18;
    /// @dev Upper bound on the protocol's share of trading fees; the rest goes to LPs.
    uint256 internal constant MAX_PROTOCOL_FEE_SHARE = 0.5e18;
    /// @dev Bounds on the borrow rate: base and utilisation slope, per second (WAD).
    uint256 internal constant MAX_BASE_BORROW_RATE = 1e18 / YEAR; // 100% a year at 0 utilisation
    uint256 internal constant MAX_BORROW_RATE_SLOPE = 4e18 / YEAR; // +400% a year at 100% utilisation
    /// @dev Pool utilisation (WAD) above which every market's borrow rate rises steeply (the kink).
    uint256 internal constant TARGET_UTILISATION = 0.9e18;
    /// @dev Extra borrow rate per second per unit of utilisation above the target, on top of each
    /// market's base + slope: +3,000% a year, i.e. +300% a year at 100% utilisation. Pool-wide and
    /// fixed: utilisation is the shared pool's, and a freeze of free liquidity must stay costly
    /// whatever a market's parameters are.
    uint256 internal constant ABOVE_TARGET_BORROW_RATE_SLOPE = 30e18 / YEAR;
    /// @dev Bounds on the max-profit factor, in basis points of entry notional.
    uint256 internal constant MIN_MAX_PROFIT_FACTOR_BPS = 0.1e4; // 10%
    uint256 internal constant MAX_MAX_PROFIT_FACTOR_BPS = 10e4; // 1000%

    /// @dev Bounds on a feed's heartbeat (staleness threshold), seconds.
    uint256 internal constant MIN_HEARTBEAT = 60;
    uint256 internal constant MAX_HEARTBEAT = 2 days;
    /// @dev Bounds on the L2 sequencer grace period, seconds.
    uint256 internal constant MAX_SEQUENCER_GRACE_PERIOD = 1 days;
    /// @dev Gas a feed's `latestRoundData` may use (a Chainlink proxy read costs ~15-30k): a feed
    /// that loops costs a batch at most this, once per market, instead of 63/64 of its gas.
    uint256 internal constant FEED_CALL_GAS = 200_000;

    /// @dev Highest accepted normalised price (WAD); keeps entry prices in 96 bits.
    uint256 internal constant MAX_PRICE = type(uint96).max;
    /// @dev Highest position size (index units, WAD) and collateral (token units).
    uint256 internal constant MAX_SIZE = type(uint128).max;
    uint256 internal constant MAX_COLLATERAL = type(uint96).max;

    /// @dev Highest distance of a report's price from the push feed (a push feed is off by at most
    /// its deviation threshold, 0.5-2 % on Chainlink's crypto feeds).
    uint256 internal constant MAX_REPORT_DEVIATION_BPS = 500;
    /// @dev Bounds on request timing, seconds: the settlement delay covers an L2's block-time lag
    /// behind real time; a request lives at most a day; an exit waits at least a minute for a
    /// report before the push-feed fallback opens.
    uint256 internal constant MIN_SETTLEMENT_DELAY = 1;
    uint256 internal constant MAX_SETTLEMENT_DELAY = 60;
    uint256 internal constant MAX_REQUEST_EXPIRY = 1 days;
    uint256 internal constant MIN_PUSH_FALLBACK_DELAY = 60;
    /// @dev Bounds on the execution gas a request kind is quoted for.
    uint256 internal constant MIN_EXECUTION_GAS = 100_000;
    uint256 internal constant MAX_EXECUTION_GAS = 5_000_000;
    /// @dev Execution gas LP deposit and redeem requests are quoted for until the owner sets
    /// them: a valuation verifies one report per market with open interest (~60-90k each with
    /// Chainlink's Verifier), so this covers several markets; executors are paid what they use.
    uint256 internal constant DEFAULT_LP_EXECUTION_GAS = 1_000_000;
    /// @dev Trigger orders: the oldest a report may be when it fills one, seconds (a few L2 blocks by
    /// default, at most five minutes: an executor picks among the reports of that window).
    uint256 internal constant DEFAULT_MAX_REPORT_AGE = 30;
    uint256 internal constant MAX_MAX_REPORT_AGE = 300;
    /// @dev A trailing stop's trail, bps: 0.1 % to 50 %.
    uint256 internal constant MIN_TRAIL_BPS = 10;
    uint256 internal constant MAX_TRAIL_BPS = 5_000;
    /// @dev A top-up guard's health-factor threshold (equity / maintenance, WAD): above the
    /// liquidation boundary (1), at most 10.
    uint256 internal constant MAX_TOP_UP_THRESHOLD = 10e18;
}
