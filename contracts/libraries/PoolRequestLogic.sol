// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title PoolRequestLogic
/// @notice The arithmetic of ERC-7540 LP requests: the fill of an executed request at its
/// valuation, and the split of a controller's aggregated claim. Mirrored by the SDK's
/// `PoolRequestMath`.
library PoolRequestLogic {
    /// @dev Shares of a deposit of `assets` at valuation `value` with `supply` shares outstanding,
    /// rounded down (against the depositor): OZ's ERC-4626 conversion with the virtual offset.
    function toSharesDown(uint256 assets, uint256 value, uint256 supply, uint256 virtualShares)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(assets, supply + virtualShares, value + 1);
    }

    /// @dev Assets of a redemption of `shares` at valuation `value`, rounded down (against the
    /// redeemer).
    function toAssetsDown(uint256 shares, uint256 value, uint256 supply, uint256 virtualShares)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(shares, value + 1, supply + virtualShares);
    }

    /// @dev What claiming `part` of a claim's `total` (one side) gives of its `other` side, rounded
    /// down (against the claimer); the whole claim gives exactly all of it, so rounding never
    /// leaves dust in the pool or takes more than the claim holds.
    function claimPartDown(uint256 part, uint256 total, uint256 other) internal pure returns (uint256) {
        return part == total ? other : Math.mulDiv(part, other, total);
    }

    /// @dev What claiming `part` of `total` costs of `other`, rounded up (against the claimer);
    /// never more than `other` for part <= total.
    function claimPartUp(uint256 part, uint256 total, uint256 other) internal pure returns (uint256) {
        return part == total ? other : Math.mulDiv(part, other, total, Math.Rounding.Ceil);
    }
}
