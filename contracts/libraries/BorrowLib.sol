// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Market} from "../interfaces/IBulkhead.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib} from "./MathLib.sol";

/// @title BorrowLib
/// @notice A market's cumulative borrow index. The rate is set from the pool utilisation at the
/// end of each action on the market and applies from then until the market's next action, so a
/// rate never applies to time before it was set (no retroactive charge when another market moves
/// the utilisation; like Aave's per-reserve rates, a market picks up a new utilisation when it is
/// next touched, and LP deposits and withdrawals refresh every market).
library BorrowLib {
    using MathLib for uint256;

    /// @dev base + slope * utilisation, utilisation = reserved / LP assets capped at 100%.
    function rateAt(Market storage m, uint256 lpAssets, uint256 reserved) internal view returns (uint256) {
        uint256 utilisation = reserved >= lpAssets
            ? (reserved == 0 ? 0 : ConstantsLib.WAD)
            : reserved.mulDivDown(ConstantsLib.WAD, lpAssets);
        return m.baseBorrowRate + uint256(m.borrowRateSlope).wMulDown(utilisation);
    }

    /// @dev Stores the rate for the utilisation after an action. Call after `accrue`.
    function refreshRate(Market storage m, uint256 lpAssets, uint256 reserved) internal {
        m.borrowRate = uint64(rateAt(m, lpAssets, reserved));
    }

    /// @dev The index as of now.
    function currentIndex(Market storage m) internal view returns (uint256) {
        uint256 elapsed = block.timestamp - m.lastAccrual;
        return elapsed == 0 ? m.borrowIndex : m.borrowIndex + uint256(m.borrowRate) * elapsed;
    }

    /// @dev Moves the index to now and books the fees all open positions accrued meanwhile,
    /// rounded down (LP value not yet collected). Returns the index.
    function accrue(Market storage m, uint256 unit) internal returns (uint256 index) {
        index = m.borrowIndex;
        uint256 elapsed = block.timestamp - m.lastAccrual;
        if (elapsed == 0) return index;
        uint256 delta = uint256(m.borrowRate) * elapsed;
        uint256 fees = m.accruedBorrowFees + pendingFees(m, delta, unit);
        index += delta;
        m.borrowIndex = uint96(index);
        m.lastAccrual = uint40(block.timestamp);
        m.accruedBorrowFees = uint120(fees);
    }

    /// @dev Borrow fees all open positions of a market owe for an index move, rounded down.
    function pendingFees(Market storage m, uint256 indexDelta, uint256 unit) internal view returns (uint256) {
        if (indexDelta == 0) return 0;
        return (m.longSizeEntry + m.shortSizeEntry).mulDivDown(indexDelta, ConstantsLib.WAD * unit);
    }
}
