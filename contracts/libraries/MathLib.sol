// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title MathLib
/// @notice Fixed-point helpers whose names carry their rounding direction.
library MathLib {
    /// @dev floor(x * y / d), exact over 512-bit intermediates.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @dev ceil(x * y / d), exact over 512-bit intermediates.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @dev floor(x * y / 1e18).
    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, 1e18);
    }

    /// @dev ceil(x * y / 1e18).
    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, 1e18, Math.Rounding.Ceil);
    }

    /// @dev ceil(x * 1e18 / y).
    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, 1e18, y, Math.Rounding.Ceil);
    }

    /// @dev max(x - y, 0).
    function zeroFloorSub(uint256 x, uint256 y) internal pure returns (uint256) {
        unchecked {
            return x > y ? x - y : 0;
        }
    }

    /// @dev x as int256; every caller passes values bounded far below 2**255.
    function toInt(uint256 x) internal pure returns (int256) {
        return int256(x);
    }
}
