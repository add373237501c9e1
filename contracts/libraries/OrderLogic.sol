// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {OrderKind} from "../interfaces/IBulkheadOrderBook.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title OrderLogic
/// @notice The trigger rules of {IBulkheadOrderBook}, pure so that they can be fuzzed alone.
library OrderLogic {
    /// @dev Whether an order of `kind` buys (a long's limit open or increase, a short's exits).
    function buys(OrderKind kind, bool isLong) internal pure returns (bool) {
        return (kind == OrderKind.LimitOpen || kind == OrderKind.LimitIncrease) == isLong;
    }

    /// @dev Whether `trigger` is on the side of `current` where it waits: below for a long's limit
    /// and stop and a short's take-profit, above for the rest. Equality is refused (due at once).
    function waitsAt(OrderKind kind, bool isLong, uint256 trigger, uint256 current) internal pure returns (bool) {
        bool below = (kind == OrderKind.TakeProfit) != isLong;
        return below ? trigger < current : trigger > current;
    }

    /// @dev Whether a report crosses a limit, stop or take-profit: a limit compares the price it
    /// fills at (`fill`), the others the benchmark `price`. Crossing is the mirror of `waitsAt`,
    /// equality included.
    function crossed(OrderKind kind, bool isLong, uint256 trigger, uint256 price, uint256 fill)
        internal
        pure
        returns (bool)
    {
        bool limit = kind == OrderKind.LimitOpen || kind == OrderKind.LimitIncrease;
        uint256 observed = limit ? fill : price;
        bool below = (kind == OrderKind.TakeProfit) != isLong;
        return below ? observed <= trigger : observed >= trigger;
    }

    /// @dev Whether `price` is at least `trailBps` past `peak` against the position: for a long
    /// price <= peak * (1 - trail), for a short price >= peak * (1 + trail), exactly in integers.
    function trailReached(bool isLong, uint256 trailBps, uint256 peak, uint256 price) internal pure returns (bool) {
        return isLong
            ? price * ConstantsLib.BPS <= peak * (ConstantsLib.BPS - trailBps)
            : price * ConstantsLib.BPS >= peak * (ConstantsLib.BPS + trailBps);
    }

    /// @dev Whether a stop's acceptable price can be met when it triggers: a seller fills at the bid
    /// (at most the benchmark, so at most the trigger), a buyer at the ask (at least the trigger).
    function stopReachable(bool isLong, uint256 trigger, uint256 acceptablePrice) internal pure returns (bool) {
        return isLong ? acceptablePrice <= trigger : acceptablePrice >= trigger;
    }
}
