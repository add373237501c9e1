// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Health, Ledger, LiquidationPreview, Market, Position, RiskParams} from "./IBulkhead.sol";

/// @notice One position with everything a front-end shows: record, owner, vault, health, and the
/// risk parameters and market borrow index its health was computed with.
struct PositionView {
    uint256 id;
    address owner;
    address vault;
    uint256 vaultBalance;
    Position position;
    Health health;
    bool priceValid;
    /// @dev The risk parameters of the position's own version (zero for an unknown id).
    RiskParams risk;
    /// @dev The market's borrow index now (`IBulkhead.currentBorrowIndex`; zero for an unknown id).
    uint256 currentBorrowIndex;
}

/// @notice The block a batched read ran at, so a client pins its other reads to the same state.
struct ReadBlock {
    uint256 number;
    uint256 timestamp;
}

/// @notice One market with everything a front-end shows: config, current risk parameters, price
/// and feed age, borrow index and rate, open interest (in `market`).
struct MarketView {
    uint256 id;
    Market market;
    /// @dev The risk parameters new positions get (version `market.riskVersion`).
    RiskParams risk;
    uint256 currentBorrowIndex;
    uint256 borrowRate;
    /// @dev The validated price (`IBulkhead.price`), 0 when it reverts or the market is delisted.
    uint256 price;
    /// @dev The revert data of `IBulkhead.price` (the oracle error), empty when valid or delisted.
    bytes priceError;
    /// @dev The feed's latest `updatedAt`, 0 when the feed does not answer 5 words.
    uint256 feedUpdatedAt;
}

/// @notice The LP pool's state, as its panel shows it.
struct PoolView {
    Ledger ledger;
    bool paused;
    /// @dev The protocol's share of trading fees (WAD; `IBulkhead.protocolFeeShare`).
    uint256 protocolFeeShare;
    uint256 totalSupply;
    uint8 shareDecimals;
    /// @dev ERC-4626 `totalAssets`, 0 when it reverts (`totalAssetsError` holds the revert data).
    uint256 totalAssets;
    bytes totalAssetsError;
    /// @dev The engine's settler (the trade request router), 0 where trades are instant; the pool
    /// is asynchronous (ERC-7540 requests) exactly when it is set.
    address settler;
    /// @dev The id the next opened position gets (its vault address follows from it).
    uint256 nextPositionId;
}

/// @notice One account's LP position.
struct LpView {
    uint256 shares;
    /// @dev `convertToAssets(shares)`, 0 when it reverts (`assetsError` holds the revert data).
    uint256 assets;
    bytes assetsError;
    uint256 maxWithdraw;
    /// @dev The account's balance of the pool's asset (the collateral token): what it can deposit or trade with.
    uint256 assetBalance;
}

/// @notice The facts of a deployment a client reads once, at connect.
struct DeploymentView {
    /// @dev The engine this lens reads (a client checks it against the engine address it was given).
    address engine;
    address token;
    address pool;
    uint256 unit;
    address vaultImplementation;
    uint256 marketCount;
    uint8 tokenDecimals;
    string tokenSymbol;
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
    /// @notice {positions} with the block it read: one call for a page of positions.
    function readPositions(uint256[] calldata ids)
        external
        view
        returns (ReadBlock memory at, PositionView[] memory views);
    /// @notice Every listed market (ids 0 .. marketCount - 1) with the block it read.
    /// @dev Never reverts on a broken feed: its market has price 0 and the oracle error in priceError.
    function readMarkets() external view returns (ReadBlock memory at, MarketView[] memory views);
    /// @notice One market with the block it read; reverts like the engine on an unknown id.
    function readMarket(uint256 marketId) external view returns (ReadBlock memory at, MarketView memory view_);
    /// @notice The pool's state (with the engine's settler and next position id) and `account`'s LP
    /// position and token balance (zero for address 0), with the block it read: a page's account panel in one call.
    function readPool(address account) external view returns (ReadBlock memory at, PoolView memory pool, LpView memory lp);
    /// @notice {readMarkets} and {readPool} in one call at one block: what a trading page shows
    /// before its positions.
    function readOverview(address account)
        external
        view
        returns (ReadBlock memory at, MarketView[] memory markets, PoolView memory pool, LpView memory lp);
    /// @notice Engine, token, pool, unit, vault implementation, market count, token decimals and symbol.
    function readDeployment() external view returns (DeploymentView memory);
    /// @notice Previews of many liquidations in one call (liquidatable = false when unknown or the price is invalid).
    function previewLiquidations(uint256[] calldata ids) external view returns (LiquidationPreview[] memory);
}
