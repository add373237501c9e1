// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderKind} from "../interfaces/IBulkheadOrderBook.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {OrderLogic} from "../libraries/OrderLogic.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice Fuzz tests of the order book's trigger rules (OrderLogic) against models written from
/// DESIGN.md "Orders (v2)": the true trailing stop on a whole price path (running extreme since
/// placement), the side each kind waits on, what a crossing report is, who buys, and whether a
/// stop's acceptable price can be met by any crossing report.
contract OrderLogicTest is BaseTest {
    uint256 internal constant BPS = ConstantsLib.BPS;
    uint256 internal constant MIN_PX = 1e6;
    uint256 internal constant MAX_PX = 1e30;

    // ---------------------------------------------------------------- trailing stop

    /// @notice The two-report proof never fires before the true trailing stop, and always can when
    /// it fires. For a random path p[0..n) of reports observed after placement and a random trail:
    /// (a) safe: every pair i < j with trailReached(p[i], p[j]) has the true stop (the first k where
    /// p[k] is at least the trail past the running extreme of p[0..k]) triggered at some k <= j;
    /// (b) complete: at every j where the true stop condition holds, the pair (the extreme's index,
    /// j) proves it, and that index is earlier than j (so the contract's order check passes).
    function testFuzz_trailingStop_neverBeforeTheTrueStop(
        bool isLong,
        uint256 seed,
        uint256 lengthSeed,
        uint256 startSeed,
        uint256 trailSeed
    ) public pure {
        uint256 trail = bound(trailSeed, ConstantsLib.MIN_TRAIL_BPS, ConstantsLib.MAX_TRAIL_BPS);
        uint256[] memory p = _path(seed, bound(lengthSeed, 16, 64), bound(startSeed, MIN_PX, MAX_PX), trail);
        uint256 n = p.length;

        // The true stop: the first k where the condition holds against the running extreme.
        uint256 trueStop = type(uint256).max;
        uint256 extreme = p[0];
        uint256 extremeAt;
        for (uint256 k; k < n; ++k) {
            if (isLong ? p[k] > extreme : p[k] < extreme) (extreme, extremeAt) = (p[k], k);
            bool due = isLong
                ? p[k] * BPS <= extreme * (BPS - trail)
                : p[k] * BPS >= extreme * (BPS + trail);
            if (!due) continue;
            if (trueStop == type(uint256).max) trueStop = k;
            // (b) complete: the extreme's report and this one prove the stop.
            assertTrue(extremeAt < k, "the extreme is the due report itself");
            assertTrue(
                OrderLogic.trailReached(isLong, trail, p[extremeAt], p[k]),
                string.concat("true stop due at ", _str(k), " but (extreme, k) is no proof")
            );
        }

        // (a) safe: no pair proves a stop before the true one.
        uint256 proofs;
        for (uint256 j = 1; j < n; ++j) {
            for (uint256 i; i < j; ++i) {
                if (!OrderLogic.trailReached(isLong, trail, p[i], p[j])) continue;
                ++proofs;
                assertLe(trueStop, j, string.concat("pair (", _str(i), ", ", _str(j), ") fires before the true stop"));
            }
        }
        // A proof exists exactly when the true stop fired somewhere on the path.
        assertEq(proofs != 0, trueStop != type(uint256).max, "a proof exists iff the true stop fired");
    }

    /// @notice The proof is exact in integers at its boundary: a price exactly `trail` past the
    /// peak proves the stop, one unit less far does not (long and short).
    function testFuzz_trailReached_exactAtTheBoundary(uint256 peakSeed, uint256 trailSeed) public pure {
        uint256 trail = bound(trailSeed, ConstantsLib.MIN_TRAIL_BPS, ConstantsLib.MAX_TRAIL_BPS);
        uint256 peak = bound(peakSeed, MIN_PX, MAX_PX) / BPS * BPS; // a multiple of BPS: the boundary is an integer
        uint256 longStop = peak / BPS * (BPS - trail);
        uint256 shortStop = peak / BPS * (BPS + trail);
        assertTrue(OrderLogic.trailReached(true, trail, peak, longStop), "long: exactly the trail below");
        assertFalse(OrderLogic.trailReached(true, trail, peak, longStop + 1), "long: a unit short of the trail");
        assertTrue(OrderLogic.trailReached(false, trail, peak, shortStop), "short: exactly the trail above");
        assertFalse(OrderLogic.trailReached(false, trail, peak, shortStop - 1), "short: a unit short of the trail");
        assertFalse(OrderLogic.trailReached(true, trail, peak, peak), "long: the peak itself");
        assertFalse(OrderLogic.trailReached(false, trail, peak, peak), "short: the trough itself");
    }

    /// @dev A random path of `n` prices in [MIN_PX, MAX_PX] from `start`: each step up or down by up
    /// to 1.5 trails (one step in eight up to 40%), so paths both reach and miss their trail.
    function _path(uint256 seed, uint256 n, uint256 start, uint256 trail) internal pure returns (uint256[] memory p) {
        p = new uint256[](n);
        p[0] = start;
        for (uint256 k = 1; k < n; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            uint256 maxStep = r % 8 == 0 ? 4_000 : trail * 3 / 2;
            uint256 step = (r >> 4) % (maxStep + 1);
            uint256 next = (r >> 3) % 2 == 0 ? p[k - 1] * (BPS + step) / BPS : p[k - 1] * (BPS - step) / BPS;
            p[k] = next < MIN_PX ? MIN_PX : next > MAX_PX ? MAX_PX : next;
        }
    }

    // ---------------------------------------------------------------- crossing

    /// @notice A report at the price an order waits at never crosses it, and any other report does:
    /// crossed(kind, side, trigger, price, price) == !waitsAt(kind, side, trigger, price), for every
    /// kind a report crosses and both sides (equality is due at once: never waiting, crossed).
    function testFuzz_crossed_isTheMirrorOfWaitsAt(uint256 kindSeed, bool isLong, uint256 trigger, uint256 price)
        public
        pure
    {
        OrderKind kind = _triggeredKind(kindSeed);
        trigger = bound(trigger, 1, ConstantsLib.MAX_PRICE);
        price = bound(price, 1, ConstantsLib.MAX_PRICE);
        assertEq(
            OrderLogic.crossed(kind, isLong, trigger, price, price),
            !OrderLogic.waitsAt(kind, isLong, trigger, price),
            "crossed != !waitsAt"
        );
        assertTrue(OrderLogic.crossed(kind, isLong, trigger, trigger, trigger), "a report at the trigger does not cross");
        assertFalse(OrderLogic.waitsAt(kind, isLong, trigger, trigger), "an order waits at its own trigger");
    }

    /// @notice Which side each order waits on (DESIGN.md): a long's limit and stop-loss below the
    /// price and its take-profit above; a short's the mirror.
    function testFuzz_waitsAt_sideOfEachKind(uint256 trigger, uint256 current) public pure {
        trigger = bound(trigger, 1, ConstantsLib.MAX_PRICE);
        current = bound(current, 1, ConstantsLib.MAX_PRICE);
        bool below = trigger < current;
        bool above = trigger > current;
        assertEq(OrderLogic.waitsAt(OrderKind.LimitOpen, true, trigger, current), below, "long limit open");
        assertEq(OrderLogic.waitsAt(OrderKind.LimitIncrease, true, trigger, current), below, "long limit increase");
        assertEq(OrderLogic.waitsAt(OrderKind.StopLoss, true, trigger, current), below, "long stop-loss");
        assertEq(OrderLogic.waitsAt(OrderKind.TakeProfit, true, trigger, current), above, "long take-profit");
        assertEq(OrderLogic.waitsAt(OrderKind.LimitOpen, false, trigger, current), above, "short limit open");
        assertEq(OrderLogic.waitsAt(OrderKind.LimitIncrease, false, trigger, current), above, "short limit increase");
        assertEq(OrderLogic.waitsAt(OrderKind.StopLoss, false, trigger, current), above, "short stop-loss");
        assertEq(OrderLogic.waitsAt(OrderKind.TakeProfit, false, trigger, current), below, "short take-profit");
    }

    /// @notice A limit order compares the price it fills at (its limit is its bound), the others the
    /// benchmark price: the other price of the report never matters.
    function testFuzz_crossed_limitsCompareTheFillOthersTheBenchmark(
        uint256 kindSeed,
        bool isLong,
        uint256 trigger,
        uint256 price,
        uint256 fill
    ) public pure {
        OrderKind kind = _triggeredKind(kindSeed);
        trigger = bound(trigger, 1, ConstantsLib.MAX_PRICE);
        price = bound(price, 1, ConstantsLib.MAX_PRICE);
        fill = bound(fill, 1, ConstantsLib.MAX_PRICE);
        bool limit = kind == OrderKind.LimitOpen || kind == OrderKind.LimitIncrease;
        uint256 observed = limit ? fill : price;
        assertEq(
            OrderLogic.crossed(kind, isLong, trigger, price, fill),
            OrderLogic.crossed(kind, isLong, trigger, observed, observed),
            limit ? "a limit read the benchmark" : "a stop or take-profit read the fill price"
        );
    }

    // ---------------------------------------------------------------- buying and stops

    /// @notice Who buys: a long's limit open and increase, a short's exits (stop-loss, take-profit,
    /// trailing stop); everyone else sells.
    function testFuzz_buys_table(bool isLong) public pure {
        assertEq(OrderLogic.buys(OrderKind.LimitOpen, isLong), isLong, "limit open");
        assertEq(OrderLogic.buys(OrderKind.LimitIncrease, isLong), isLong, "limit increase");
        assertEq(OrderLogic.buys(OrderKind.StopLoss, isLong), !isLong, "stop-loss");
        assertEq(OrderLogic.buys(OrderKind.TakeProfit, isLong), !isLong, "take-profit");
        assertEq(OrderLogic.buys(OrderKind.TrailingStop, isLong), !isLong, "trailing stop");
    }

    /// @notice A stop's acceptable price is reachable exactly when some report that crosses the stop
    /// fills within it: a long's stop sells at the bid (bid <= price <= trigger), a short's buys at
    /// the ask (ask >= price >= trigger). Reachable: the report at the trigger with no spread fills.
    /// Unreachable: the random crossing report (`price`, `spread`) fills past the acceptable price.
    function testFuzz_stopReachable_iffSomeCrossingReportFills(
        bool isLong,
        uint256 trigger,
        uint256 acceptable,
        uint256 price,
        uint256 spread
    ) public pure {
        trigger = bound(trigger, 2, ConstantsLib.MAX_PRICE - 1);
        acceptable = bound(acceptable, 1, ConstantsLib.MAX_PRICE);
        bool reachable = OrderLogic.stopReachable(isLong, trigger, acceptable);
        assertEq(reachable, isLong ? acceptable <= trigger : acceptable >= trigger, "reachable != acceptable on the fill side");
        // A crossing report and the price the stop fills at.
        price = isLong ? bound(price, 1, trigger) : bound(price, trigger, ConstantsLib.MAX_PRICE);
        assertTrue(OrderLogic.crossed(OrderKind.StopLoss, isLong, trigger, price, price), "the drawn report does not cross");
        uint256 fill = isLong ? price - bound(spread, 0, price - 1) : price + bound(spread, 0, ConstantsLib.MAX_PRICE - price);
        bool fillsWithin = isLong ? fill >= acceptable : fill <= acceptable;
        if (reachable) {
            assertTrue(isLong ? trigger >= acceptable : trigger <= acceptable, "the report at the trigger fills past");
        } else {
            assertFalse(fillsWithin, "an unreachable stop filled within its acceptable price");
        }
    }

    // ---------------------------------------------------------------- helpers

    /// @dev One of the kinds a single report crosses (not a trailing stop).
    function _triggeredKind(uint256 seed) internal pure returns (OrderKind) {
        return OrderKind(1 + seed % 4);
    }
}
