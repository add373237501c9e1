// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Health, Position, LiquidationPreview} from "./IBulkhead.sol";

/// @notice One position with everything a front-end shows: record, owner, vault, health.
struct PositionView {
    uint256 id;
    address owner;
    address vault;
    uint256 vaultBalance;
    Position position;
    Health health;
    bool priceValid;
}

/// @title IBulkheadLens
/// @notice Read-only views over a Bulkhead engine for front-ends and keepers. They run the
/// engine's own health code (HealthLib) on the engine's state, so they equal what the engine does.
interface IBulkheadLens {
    /// @notice The engine this lens reads.
    function engine() external view returns (address);
    /// @notice Health of a position at the current oracle price (reverts on an invalid price).
    function health(uint256 id) external view returns (Health memory);
    /// @notice Health of a position at an arbitrary price, with the borrow fee accrued until now.
    function healthAt(uint256 id, uint256 price) external view returns (Health memory);
    /// @notice Liquidation price L with the borrow fee accrued until now (PositionMath's closed
    /// form): a long is liquidatable below L, a short above it (at L itself rounding decides);
    /// 0 when no positive price solves it.
    function liquidationPrice(uint256 id) external view returns (uint256);
    /// @notice The most `removeCollateral(id, amount)` accepts now: removing it passes, one unit
    /// more reverts. Counts a loss but no unrealised profit (see IBulkhead.removeCollateral);
    /// 0 when nothing can be removed. Reverts like the engine on an unknown id or invalid price.
    function maxRemovableCollateral(uint256 id) external view returns (uint256);
    /// @notice Record, owner, vault and health of many positions in one call. Unknown ids have
    /// size 0; ids whose market price is invalid have priceValid = false and health zero.
    function positions(uint256[] calldata ids) external view returns (PositionView[] memory);
    /// @notice Previews of many liquidations in one call (liquidatable = false when unknown or the price is invalid).
    function previewLiquidations(uint256[] calldata ids) external view returns (LiquidationPreview[] memory);
}
