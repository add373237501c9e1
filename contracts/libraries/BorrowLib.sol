// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Market, StoredLedger, UtilisationAccumulator} from "../interfaces/IBulkhead.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib} from "./MathLib.sol";

/// @title BorrowLib
/// @notice A market's cumulative borrow index follows the pool's actual utilisation path. The
/// pool keeps two integrals, ∫u·dt and ∫(u − target)⁺·dt (u = reserved / LP assets), moved to
/// the current block before every change of LP assets or reserved; a market's index grows by
/// base·Δt + (slope·Δ∫u + ABOVE_TARGET_BORROW_RATE_SLOPE·Δ∫(u − target)⁺) / WAD between any two
/// moments, whoever acted in between. A utilisation that lasted a second costs every market one
/// second of it: no market's rate can be fixed for a later period, and no market needs touching.
/// @dev Each market stores its index and its rate integral (the expression above taken from the
/// pool's genesis) as of its last accrual; the current index is the stored one plus the growth of
/// the integral since. The integral is rounded down once on the whole path (so how often a market
/// accrues changes nothing); positions' fees on it round up, LP income on it rounds down. At the
/// highest rates the bounds allow (about 800% a year) the index fits its 72 bits for 600 years.
library BorrowLib {
    using MathLib for uint256;

    /// @dev reserved / LP assets (WAD, rounded down), 100% once reserved covers the LP assets.
    /// Both are ledger amounts below 2^112, so the product cannot overflow.
    function utilisation(uint256 lpAssets, uint256 reserved) internal pure returns (uint256) {
        if (reserved >= lpAssets) return reserved == 0 ? 0 : ConstantsLib.WAD;
        unchecked {
            return reserved * ConstantsLib.WAD / lpAssets;
        }
    }

    /// @dev The part of a utilisation above the target (the kink), zero below it.
    function aboveTarget(uint256 u) internal pure returns (uint256) {
        return u > ConstantsLib.TARGET_UTILISATION ? u - ConstantsLib.TARGET_UTILISATION : 0;
    }

    /// @dev The instantaneous rate at a pool state: base + slope·u + kink slope·(u − target)⁺,
    /// rounded down (what the index grows by per second while that state holds, to 1 wei).
    function rateAt(Market storage m, uint256 lpAssets, uint256 reserved) internal view returns (uint256) {
        uint256 u = utilisation(lpAssets, reserved);
        return m.baseBorrowRate
            + (m.borrowRateSlope * u + ConstantsLib.ABOVE_TARGET_BORROW_RATE_SLOPE * aboveTarget(u)) / ConstantsLib.WAD;
    }

    /// @dev The pool's integrals as of now: the stored ones plus the ledger's utilisation, which has
    /// held since `updatedAt` because every change of it is preceded by a `checkpoint`. Also
    /// returns whether time passed since. No overflow: each integral stays below WAD * 2^40.
    function integralsNow(StoredLedger storage l) internal view returns (uint256 cumulative, uint256 above, bool moved) {
        UtilisationAccumulator memory a = l.utilisation;
        cumulative = a.utilisationTime;
        above = a.aboveTargetTime;
        unchecked {
            uint256 elapsed = block.timestamp - a.updatedAt;
            if (elapsed != 0) {
                uint256 u = utilisation(l.lpAssets, l.reserved);
                cumulative += u * elapsed;
                above += aboveTarget(u) * elapsed;
                moved = true;
            }
        }
    }

    /// @dev Moves the pool's integrals to now. Call before any change of LP assets or reserved
    /// (`accrue` does); later changes in the same block then apply from this block on.
    function checkpoint(StoredLedger storage l) internal returns (uint256 cumulative, uint256 above) {
        bool moved;
        (cumulative, above, moved) = integralsNow(l);
        if (moved) l.utilisation = UtilisationAccumulator(uint40(block.timestamp), uint104(cumulative), uint104(above));
    }

    /// @dev The market's rate integral at the pool integrals given, as of now, rounded down:
    /// base·now + (slope·∫u + kink slope·∫(u − target)⁺) / WAD. Below 2^80 for any timestamp
    /// below 2^40 at the highest rates the bounds allow.
    function rateIntegral(Market storage m, uint256 cumulative, uint256 above) internal view returns (uint256) {
        unchecked {
            return m.baseBorrowRate * block.timestamp
                + (m.borrowRateSlope * cumulative + ConstantsLib.ABOVE_TARGET_BORROW_RATE_SLOPE * above) / ConstantsLib.WAD;
        }
    }

    /// @dev The index as of now.
    function currentIndex(Market storage m, StoredLedger storage l) internal view returns (uint256) {
        (uint256 cumulative, uint256 above,) = integralsNow(l);
        return m.borrowIndex + rateIntegral(m, cumulative, above) - m.rateIntegral;
    }

    /// @dev Checkpoints the pool, moves the index to now and books the fees all open positions
    /// accrued meanwhile, rounded down (LP value not yet collected). Returns the index.
    function accrue(Market storage m, StoredLedger storage l, uint256 unit) internal returns (uint256 index) {
        (uint256 cumulative, uint256 above) = checkpoint(l);
        uint256 integral = rateIntegral(m, cumulative, above);
        index = m.borrowIndex;
        uint256 delta;
        unchecked {
            delta = integral - m.rateIntegral; // the integral never decreases under fixed parameters
        }
        if (delta == 0) return index;
        uint256 fees = m.accruedBorrowFees + pendingFees(m, delta, unit);
        index += delta;
        m.borrowIndex = uint72(index);
        m.rateIntegral = uint80(integral);
        m.accruedBorrowFees = uint104(fees);
    }

    /// @dev Restarts the market's rate integral under its current parameters, so they apply from
    /// this block on. Call on listing, and after `accrue` under the old parameters on a change.
    function restartRateIntegral(Market storage m, StoredLedger storage l) internal {
        (uint256 cumulative, uint256 above,) = integralsNow(l);
        m.rateIntegral = uint80(rateIntegral(m, cumulative, above));
    }

    /// @dev Borrow fees all open positions of a market owe for an index move, rounded down.
    function pendingFees(Market storage m, uint256 indexDelta, uint256 unit) internal view returns (uint256) {
        if (indexDelta == 0) return 0;
        return (m.longSizeEntry + m.shortSizeEntry).mulDivDown(indexDelta, ConstantsLib.WAD * unit);
    }
}
