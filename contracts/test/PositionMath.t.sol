// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PositionMath} from "../libraries/PositionMath.sol";
import {HealthLib} from "../libraries/HealthLib.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {Position, RiskParams, Health} from "../interfaces/IBulkhead.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice Fuzz tests of PositionMath against independent formulations: plain 256-bit
/// arithmetic on bounded inputs for the rounding primitives, and a binary search over the
/// discrete predicate `equity(p) < maintenance(p)` for the closed-form liquidation price.
contract PositionMathTest is BaseTest {
    uint256 internal constant MAX_PRICE = ConstantsLib.MAX_PRICE;

    /// @dev One position and its risk parameters, as the liquidation-price tests draw them.
    struct Case {
        bool isLong;
        uint256 unit;
        uint256 size;
        uint256 entry;
        uint256 collateral;
        uint256 borrowFee;
        uint256 mmr;
        uint256 feeRate;
        uint256 minFee;
        uint256 maxProfit;
    }

    /// @dev A max profit no drawn price reaches: the loss-side tests see the uncapped line only.
    uint256 internal constant NO_CAP = 1e45;

    function _unit(bool is18) internal pure returns (uint256) {
        return is18 ? WAD : WAD * 1e12;
    }

    // ---------------------------------------------------------------- pnl

    /// @notice A gain is floor(size * move / unit) and a loss ceil(size * move / unit), in plain
    /// 256-bit arithmetic (size < 2**128 and move < 2**96 cannot overflow it).
    function testFuzz_pnl_gainRoundsDownLossRoundsUp(bool isLong, bool is18, uint256 size, uint256 entry, uint256 px)
        public
        pure
    {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        entry = bound(entry, 1, MAX_PRICE);
        px = bound(px, 1, MAX_PRICE);
        int256 got = PositionMath.pnl(isLong, size, entry, px, unit);

        uint256 move = px > entry ? px - entry : entry - px;
        uint256 product = size * move;
        bool gain = isLong ? px >= entry : px <= entry;
        if (gain) {
            assertEq(got, int256(product / unit), "gain != floor");
        } else {
            assertEq(got, -int256((product + unit - 1) / unit), "loss != -ceil");
        }
    }

    /// @notice Long and short pnl of the same size and move sum to 0 when the move divides
    /// exactly and to -1 otherwise: each side's rounding costs its trader, never the pool.
    function testFuzz_pnl_longPlusShortIsZeroOrMinusOne(bool is18, uint256 size, uint256 entry, uint256 px)
        public
        pure
    {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        entry = bound(entry, 1, MAX_PRICE);
        px = bound(px, 1, MAX_PRICE);
        int256 sum = PositionMath.pnl(true, size, entry, px, unit) + PositionMath.pnl(false, size, entry, px, unit);
        uint256 move = px > entry ? px - entry : entry - px;
        assertEq(sum, (size * move) % unit == 0 ? int256(0) : int256(-1), "long + short pnl");
    }

    /// @notice notionalDown and notionalUp bracket size * price / unit within one token unit.
    function testFuzz_notional_downAndUpBracketExact(bool is18, uint256 size, uint256 px) public pure {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        px = bound(px, 1, MAX_PRICE);
        uint256 product = size * px;
        assertEq(PositionMath.notionalDown(size, px, unit), product / unit, "notionalDown");
        assertEq(PositionMath.notionalUp(size, px, unit), (product + unit - 1) / unit, "notionalUp");
    }

    // ---------------------------------------------------------------- fees

    /// @notice borrowFeeUp = ceil(size * entry * indexDelta / (WAD * unit)), computed here by
    /// splitting size * entry into quotient and remainder of WAD * unit so nothing exceeds 256 bits.
    function testFuzz_borrowFeeUp_isCeilOfExact(bool is18, uint256 size, uint256 entry, uint256 indexDelta)
        public
        pure
    {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        entry = bound(entry, 1, MAX_PRICE);
        indexDelta = bound(indexDelta, 0, type(uint96).max);
        uint256 d = WAD * unit;
        uint256 base = size * entry;
        uint256 q = base / d;
        uint256 r = base % d;
        uint256 expected = q * indexDelta + (r * indexDelta + d - 1) / d;
        assertEq(PositionMath.borrowFeeUp(size, entry, indexDelta, unit), expected, "borrowFeeUp");
    }

    /// @notice The borrow fee never decreases as the index moves on.
    function testFuzz_borrowFeeUp_monotoneInIndex(bool is18, uint256 size, uint256 entry, uint256 a, uint256 b)
        public
        pure
    {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        entry = bound(entry, 1, MAX_PRICE);
        a = bound(a, 0, type(uint96).max);
        b = bound(b, a, type(uint96).max);
        assertLe(
            PositionMath.borrowFeeUp(size, entry, a, unit), PositionMath.borrowFeeUp(size, entry, b, unit), "monotone"
        );
    }

    /// @notice liquidationFeeUp = max(ceil(notional * rate / WAD), minFee); both branches occur.
    function testFuzz_liquidationFeeUp_isMaxOfProportionalAndMinimum(uint256 notional, uint256 rate, uint256 minFee)
        public
        pure
    {
        notional = bound(notional, 0, type(uint160).max);
        rate = bound(rate, 0, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
        minFee = bound(minFee, 0, type(uint96).max);
        uint256 proportional = (notional * rate + WAD - 1) / WAD;
        uint256 expected = proportional > minFee ? proportional : minFee;
        assertEq(PositionMath.liquidationFeeUp(notional, rate, minFee), expected, "liquidationFeeUp");
    }

    /// @notice maintenanceUp = ceil(notional * mmr / WAD) + liquidationFee.
    function testFuzz_maintenanceUp_isMarginPlusFee(uint256 notional, uint256 mmr, uint256 rate, uint256 minFee)
        public
        pure
    {
        notional = bound(notional, 0, type(uint160).max);
        mmr = bound(mmr, ConstantsLib.MIN_MMR, ConstantsLib.MAX_MMR);
        rate = bound(rate, 0, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
        minFee = bound(minFee, 0, type(uint96).max);
        uint256 proportional = (notional * rate + WAD - 1) / WAD;
        uint256 expected = (notional * mmr + WAD - 1) / WAD + (proportional > minFee ? proportional : minFee);
        assertEq(PositionMath.maintenanceUp(notional, mmr, rate, minFee), expected, "maintenanceUp");
    }

    /// @notice maxProfitUp = ceil(size * entry * bps / (BPS * unit)), split as in the borrow fee.
    function testFuzz_maxProfitUp_isCeilOfExact(bool is18, uint256 size, uint256 entry, uint256 bps) public pure {
        uint256 unit = _unit(is18);
        size = bound(size, 1, ConstantsLib.MAX_SIZE);
        entry = bound(entry, 1, MAX_PRICE);
        bps = bound(bps, ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS, ConstantsLib.MAX_MAX_PROFIT_FACTOR_BPS);
        uint256 d = ConstantsLib.BPS * unit;
        uint256 base = size * entry;
        uint256 expected = (base / d) * bps + ((base % d) * bps + d - 1) / d;
        assertEq(PositionMath.maxProfitUp(size, entry, bps, unit), expected, "maxProfitUp");
    }

    // ---------------------------------------------------------------- liquidation price

    /// @dev Draws a position whose entry notional is 1e3..1e24 token units (so the price
    /// resolution of one token unit, unit/size, stays a small fraction of the entry price), with
    /// any collateral up to twice the notional and a borrow fee up to the collateral.
    function _case(
        bool isLong,
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate
    ) internal pure returns (Case memory c) {
        c.isLong = isLong;
        c.unit = _unit(is18);
        c.entry = bound(entry, 1e12, 1e26);
        notional = bound(notional, 1e3, 1e24);
        c.size = notional * c.unit / c.entry;
        if (c.size == 0) c.size = 1;
        if (c.size > ConstantsLib.MAX_SIZE) c.size = ConstantsLib.MAX_SIZE;
        notional = PositionMath.notionalUp(c.size, c.entry, c.unit);
        c.collateral = bound(collateral, 1, _min(2 * notional + 1, ConstantsLib.MAX_COLLATERAL));
        c.borrowFee = bound(borrowFee, 0, c.collateral);
        c.mmr = bound(mmr, ConstantsLib.MIN_MMR, ConstantsLib.MAX_MMR);
        c.feeRate = bound(feeRate, 0, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
        c.maxProfit = NO_CAP;
    }

    /// @dev The cap of a bound-legal max-profit factor (10 %..1000 % of entry notional).
    function _cap(Case memory c, uint256 bps) internal pure {
        bps = bound(bps, ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS, ConstantsLib.MAX_MAX_PROFIT_FACTOR_BPS);
        c.maxProfit = PositionMath.maxProfitUp(c.size, c.entry, bps, c.unit);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev DESIGN.md's predicate from the PositionMath primitives: equity(p) < maintenance(p),
    /// with the pnl settlement pays (capped at the max profit).
    function _liquidatable(Case memory c, uint256 px) internal pure returns (bool) {
        int256 eq = PositionMath.equity(c.collateral, _cappedPnl(c, px), c.borrowFee);
        uint256 notional = PositionMath.notionalUp(c.size, px, c.unit);
        return eq < int256(PositionMath.maintenanceUp(notional, c.mmr, c.feeRate, c.minFee));
    }

    function _cappedPnl(Case memory c, uint256 px) internal pure returns (int256) {
        return PositionMath.cappedPnl(PositionMath.pnl(c.isLong, c.size, c.entry, px, c.unit), c.maxProfit);
    }

    function _closedForm(Case memory c) internal pure returns (uint256) {
        return PositionMath.liquidationPrice(
            c.isLong, c.size, c.entry, c.collateral, c.borrowFee, c.maxProfit, c.mmr, c.feeRate, c.minFee, c.unit
        );
    }

    function _closedFormHigh(Case memory c) internal pure returns (uint256) {
        return PositionMath.liquidationPriceHigh(
            c.size, c.collateral, c.borrowFee, c.maxProfit, c.mmr, c.feeRate, c.minFee, c.unit
        );
    }

    /// @dev How far (in price wei) the discrete boundary may sit from the real root. Against the
    /// real-valued f(p) = equity - maintenance, the discrete value loses less than 4 token units
    /// (pnl rounding < 1; notional rounded up adds < mmr + feeRate < 1; the two ceilings < 2), and
    /// each fee branch of f moves by at least size * slope / (unit * WAD) token units per price wei,
    /// slope = WAD - mmr - feeRate for a long and WAD + mmr for a short (its flatter branch); the
    /// closed form itself rounds by < 1 wei.
    /// On the capped line (equity flat) only maintenance moves, by at least size * mmr per wei.
    function _tolerance(Case memory c) internal pure returns (uint256) {
        uint256 slope = c.size * (c.isLong ? WAD - c.mmr - c.feeRate : WAD + c.mmr);
        if (c.maxProfit != NO_CAP) slope = c.size * c.mmr;
        return (4 * c.unit * WAD + slope - 1) / slope + 1;
    }

    /// @dev Binary search over [1, MAX_PRICE] for the first price at which the predicate flips
    /// (a long stops being liquidatable / a short starts). Needs the ends to bracket the flip.
    function _searchBoundary(Case memory c) internal pure returns (uint256) {
        // Invariant: `lo` is on the low side (long: liquidatable; short: healthy), `hi` on the other.
        uint256 lo = 1;
        uint256 hi = MAX_PRICE;
        while (hi - lo > 1) {
            uint256 mid = lo + (hi - lo) / 2;
            if (_liquidatable(c, mid) == c.isLong) lo = mid;
            else hi = mid;
        }
        return hi;
    }

    /// @dev Root of one branch on the reals, in the test's own algebra (used to classify the branch).
    function _rootOf(Case memory c, uint256 rate, uint256 fixedFee) internal pure returns (int256) {
        int256 num = int256(c.size * c.entry)
            + (c.isLong ? int256(1) : int256(-1)) * (int256(c.borrowFee + fixedFee) - int256(c.collateral)) * int256(c.unit);
        int256 den = int256(c.size) * (c.isLong ? int256(WAD) - int256(rate) : int256(WAD) + int256(rate));
        return num * int256(WAD) / den;
    }

    /// @dev The shared check: the closed form agrees with the binary search within the tolerance;
    /// a long is liquidatable one wei below it and healthy `tol` above it (mirrored for a short).
    function _checkLiquidationPrice(Case memory c) internal pure {
        uint256 lp = _closedForm(c);
        uint256 tol = _tolerance(c);
        if (c.isLong) {
            if (lp == 0) {
                // No positive root: healthy at every price from `tol` up.
                assertFalse(_liquidatable(c, tol), "long without liquidation price is liquidatable");
                return;
            }
            vm.assume(lp + tol < MAX_PRICE);
            if (lp > 1) assertTrue(_liquidatable(c, lp - 1), "long healthy just below its liquidation price");
            assertFalse(_liquidatable(c, lp + tol), "long liquidatable beyond tolerance above its liquidation price");
            if (lp == 1) return; // the search needs a liquidatable price below
        } else {
            if (lp == 0) {
                // Liquidatable at every positive price.
                assertTrue(_liquidatable(c, 1), "short without liquidation price is healthy at price 1");
                return;
            }
            vm.assume(lp + 1 < MAX_PRICE);
            assertTrue(_liquidatable(c, lp + 1), "short healthy just above its liquidation price");
            if (lp <= tol) return; // no healthy price to bracket the search
            assertFalse(_liquidatable(c, lp - tol), "short liquidatable beyond tolerance below its liquidation price");
        }
        uint256 searched = _searchBoundary(c);
        assertApproxEqAbs(searched, lp, tol, "closed form vs binary search");
    }

    /// @notice Closed form vs binary search, long, both fee branches (minimum fee drawn around the
    /// proportional fee at entry), 6- and 18-decimal tokens.
    function testFuzz_liquidationPrice_long_matchesBinarySearch(
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee
    ) public pure {
        Case memory c = _case(true, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.minFee = bound(minFee, 0, _min(PositionMath.notionalUp(c.size, c.entry, c.unit) / 10 + 10, type(uint96).max));
        _checkLiquidationPrice(c);
    }

    /// @notice Closed form vs binary search, short, both fee branches, 6- and 18-decimal tokens.
    function testFuzz_liquidationPrice_short_matchesBinarySearch(
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee
    ) public pure {
        Case memory c = _case(false, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.minFee = bound(minFee, 0, _min(PositionMath.notionalUp(c.size, c.entry, c.unit) / 10 + 10, type(uint96).max));
        _checkLiquidationPrice(c);
    }

    /// @notice Proportional branch only (no minimum fee): the root with rate mmr + feeRate binds.
    function testFuzz_liquidationPrice_proportionalFeeBranch(
        bool isLong,
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate
    ) public pure {
        Case memory c = _case(isLong, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.feeRate = bound(feeRate, 0.0001e18, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
        c.minFee = 0;
        _checkLiquidationPrice(c);
    }

    /// @notice Minimum-fee branch: the minimum fee binds at the liquidation price (checked on the
    /// reals: its branch root is the larger for a long, the smaller for a short).
    function testFuzz_liquidationPrice_minimumFeeBranch(
        bool isLong,
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee
    ) public pure {
        Case memory c = _case(isLong, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        uint256 entryNotional = PositionMath.notionalUp(c.size, c.entry, c.unit);
        c.minFee = bound(minFee, 1, _min(entryNotional + 10, type(uint96).max));
        int256 proportional = _rootOf(c, c.mmr + c.feeRate, 0);
        int256 fixedFee = _rootOf(c, c.mmr, c.minFee);
        vm.assume(fixedFee > 0 && (isLong ? fixedFee > proportional + 1 : fixedFee + 1 < proportional));
        _checkLiquidationPrice(c);
    }

    /// @notice A short with a bound-legal cap: its price is the smallest root of its uncapped and
    /// capped lines (liquidatable above it), checked like the uncapped one, both fee branches.
    function testFuzz_liquidationPrice_cappedShort_matchesBinarySearch(
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee,
        uint256 bps
    ) public pure {
        Case memory c = _case(false, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.minFee = bound(minFee, 0, _min(PositionMath.notionalUp(c.size, c.entry, c.unit) / 10 + 10, type(uint96).max));
        _cap(c, bps);
        _checkLiquidationPrice(c);
    }

    /// @notice A capped long is liquidatable again above `liquidationPriceHigh`: at H + 1 wei it
    /// is, `tol` below H (if that is above the loss side) it is not, and a binary search between
    /// them finds H within the tolerance.
    function testFuzz_liquidationPriceHigh_cappedLong_matchesBinarySearch(
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee,
        uint256 bps
    ) public pure {
        Case memory c = _case(true, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.minFee = bound(minFee, 0, _min(PositionMath.notionalUp(c.size, c.entry, c.unit) / 10 + 10, type(uint96).max));
        _cap(c, bps);
        uint256 high = _closedFormHigh(c);
        uint256 tol = _tolerance(c);
        vm.assume(high + 1 < MAX_PRICE);
        assertTrue(_liquidatable(c, high + 1), "capped long healthy just above its high liquidation price");
        uint256 low = _closedForm(c);
        if (high <= low + 2 * tol + 1) return; // no healthy price between the two roots to bracket
        uint256 lo = high - tol;
        assertFalse(_liquidatable(c, lo), "capped long liquidatable beyond tolerance below its high price");
        uint256 hi = MAX_PRICE;
        while (hi - lo > 1) {
            uint256 mid = lo + (hi - lo) / 2;
            if (_liquidatable(c, mid)) hi = mid;
            else lo = mid;
        }
        assertApproxEqAbs(hi, high, tol, "closed form vs binary search (high)");
    }

    /// @notice Both roots at the boundary of a capped long: liquidatable 1 wei below the loss-side
    /// price and 1 wei above the profit-side one; with H below L it is liquidatable everywhere.
    function testFuzz_liquidationPrice_cappedLong_isLiquidatableOutsideItsRoots(
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 borrowFee,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee,
        uint256 bps,
        uint256 px
    ) public pure {
        Case memory c = _case(true, is18, entry, notional, collateral, borrowFee, mmr, feeRate);
        c.minFee = bound(minFee, 0, _min(PositionMath.notionalUp(c.size, c.entry, c.unit) / 10 + 10, type(uint96).max));
        _cap(c, bps);
        uint256 low = _closedForm(c);
        uint256 high = _closedFormHigh(c);
        px = bound(px, 1, MAX_PRICE);
        if (px < low || px > high) assertTrue(_liquidatable(c, px), "healthy outside [low, high]");
    }

    /// @notice The engine's health (HealthLib) is exactly the primitives' predicate, and its
    /// liquidation price is the closed form, at any price and index.
    function testFuzz_healthLib_matchesPrimitives(
        bool isLong,
        bool is18,
        uint256 entry,
        uint256 notional,
        uint256 collateral,
        uint256 indexDelta,
        uint256 mmr,
        uint256 feeRate,
        uint256 minFee,
        uint256 px
    ) public pure {
        Case memory c = _case(isLong, is18, entry, notional, collateral, 0, mmr, feeRate);
        c.minFee = bound(minFee, 0, 1e12);
        _checkHealthLib(c, bound(px, 1, MAX_PRICE), bound(indexDelta, 0, 1e18));
    }

    function _checkHealthLib(Case memory c, uint256 px, uint256 indexDelta) internal pure {
        c.maxProfit = PositionMath.maxProfitUp(c.size, c.entry, 5000, c.unit);
        c.borrowFee = PositionMath.borrowFeeUp(c.size, c.entry, indexDelta, c.unit);
        bool expected = _liquidatable(c, px);
        Health memory h = _healthOf(c, px, indexDelta);
        assertEq(h.borrowFee, c.borrowFee, "borrow fee");
        assertEq(h.liquidatable, expected, "liquidatable");
        assertEq(h.liquidationPrice, _closedForm(c), "liquidation price");
    }

    function _healthOf(Case memory c, uint256 px, uint256 indexDelta) internal pure returns (Health memory h) {
        Position memory p = Position({
            size: uint128(c.size),
            entryPrice: uint96(c.entry),
            marketId: 0,
            isLong: c.isLong,
            collateral: uint96(c.collateral),
            borrowIndex: 1e18,
            riskVersion: 0,
            maxProfitFactorBps: 5000
        });
        RiskParams memory risk = RiskParams({
            mmr: uint64(c.mmr),
            liquidationFeeRate: uint64(c.feeRate),
            minLiquidationFee: uint96(c.minFee),
            maxProfitFactorBps: 5000
        });
        h = HealthLib.health(p, risk, px, 1e18 + indexDelta, c.unit);
        h = HealthLib.withLiquidationPrice(h, p, risk, c.unit);
    }
}
