// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IBulkhead, Market, Position, RiskParams, Health, LiquidationPreview} from "./interfaces/IBulkhead.sol";
import {
    IBulkheadLens,
    DeploymentView,
    LpView,
    MarketView,
    PoolView,
    PositionView,
    ReadBlock
} from "./interfaces/IBulkheadLens.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {HealthLib} from "./libraries/HealthLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";

/// @title BulkheadLens
/// @notice Batched read-only views over one engine; see {IBulkheadLens}.
/// @dev Stateless: it could be redeployed at any time without touching the engine.
contract BulkheadLens is IBulkheadLens {
    /// @inheritdoc IBulkheadLens
    address public immutable engine;
    uint256 private immutable _unit;

    constructor(address engine_) {
        engine = engine_;
        _unit = IBulkhead(engine_).unit();
    }

    /// @inheritdoc IBulkheadLens
    function health(uint256 id) external view returns (Health memory) {
        Position memory p = _existing(id);
        return _health(p, IBulkhead(engine).price(p.marketId));
    }

    /// @inheritdoc IBulkheadLens
    function healthAt(uint256 id, uint256 price) external view returns (Health memory) {
        return _health(_existing(id), price);
    }

    /// @inheritdoc IBulkheadLens
    function liquidationPrice(uint256 id) external view returns (uint256) {
        Position memory p = _existing(id);
        // The closed form does not depend on the price; any positive price gives the same value.
        return _health(p, p.entryPrice).liquidationPrice;
    }

    /// @inheritdoc IBulkheadLens
    function maxRemovableCollateral(uint256 id) external view returns (uint256) {
        Position memory p = _existing(id);
        IBulkhead e = IBulkhead(engine);
        Market memory m = e.market(p.marketId);
        RiskParams memory risk = e.riskParams(p.marketId, p.riskVersion);
        uint256 px = e.price(p.marketId);
        uint256 notional = PositionMath.notionalUp(p.size, px, _unit);
        uint256 fee =
            PositionMath.borrowFeeUp(p.size, p.entryPrice, e.currentBorrowIndex(p.marketId) - p.borrowIndex, _unit);
        return PositionMath.maxRemovableCollateral(
            p.collateral,
            PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, _unit),
            fee,
            PositionMath.marginAfterChangeUp(
                notional, m.maxLeverage, risk.mmr, risk.liquidationFeeRate, risk.minLiquidationFee
            ),
            m.minCollateral
        );
    }

    /// @inheritdoc IBulkheadLens
    function positions(uint256[] calldata ids) public view returns (PositionView[] memory out) {
        IBulkhead e = IBulkhead(engine);
        IERC20 token = IERC20(e.token());
        out = new PositionView[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            PositionView memory v = out[i];
            v.id = ids[i];
            v.vault = e.vaultOf(v.id);
            v.vaultBalance = token.balanceOf(v.vault);
            v.position = e.position(v.id);
            if (v.position.size == 0) continue;
            v.owner = IERC721(engine).ownerOf(v.id);
            v.risk = e.riskParams(v.position.marketId, v.position.riskVersion);
            v.currentBorrowIndex = e.currentBorrowIndex(v.position.marketId);
            (bool ok, bytes memory data) = engine.staticcall(abi.encodeCall(IBulkhead.price, (v.position.marketId)));
            if (!ok) continue;
            v.priceValid = true;
            v.health = _healthWith(v.position, v.risk, abi.decode(data, (uint256)), v.currentBorrowIndex);
        }
    }

    /// @inheritdoc IBulkheadLens
    function readPositions(uint256[] calldata ids)
        external
        view
        returns (ReadBlock memory at, PositionView[] memory views)
    {
        return (_at(), positions(ids));
    }

    /// @inheritdoc IBulkheadLens
    function readMarkets() external view returns (ReadBlock memory at, MarketView[] memory views) {
        return (_at(), _marketViews());
    }

    /// @inheritdoc IBulkheadLens
    function readMarket(uint256 marketId) external view returns (ReadBlock memory at, MarketView memory view_) {
        return (_at(), _marketView(marketId));
    }

    /// @inheritdoc IBulkheadLens
    function readPool(address account) external view returns (ReadBlock memory at, PoolView memory pool, LpView memory lp) {
        (pool, lp) = _poolView(account);
        at = _at();
    }

    /// @inheritdoc IBulkheadLens
    function readOverview(address account)
        external
        view
        returns (ReadBlock memory at, MarketView[] memory markets, PoolView memory pool, LpView memory lp)
    {
        markets = _marketViews();
        (pool, lp) = _poolView(account);
        at = _at();
    }

    function _marketViews() private view returns (MarketView[] memory views) {
        views = new MarketView[](IBulkhead(engine).marketCount());
        for (uint256 i; i < views.length; ++i) {
            views[i] = _marketView(i);
        }
    }

    function _poolView(address account) private view returns (PoolView memory pool, LpView memory lp) {
        IBulkhead e = IBulkhead(engine);
        IERC4626 vault = IERC4626(e.pool());
        pool.ledger = e.ledger();
        pool.paused = e.paused();
        pool.protocolFeeShare = e.protocolFeeShare();
        pool.totalSupply = vault.totalSupply();
        pool.shareDecimals = vault.decimals();
        // totalAssets prices the open positions, so it reverts with the oracle error of a broken feed.
        (pool.totalAssets, pool.totalAssetsError) = _tryUint(address(vault), abi.encodeCall(IERC4626.totalAssets, ()));
        pool.settler = e.settler();
        pool.nextPositionId = e.nextPositionId();
        if (account != address(0)) {
            lp.shares = vault.balanceOf(account);
            (lp.assets, lp.assetsError) = _tryUint(address(vault), abi.encodeCall(IERC4626.convertToAssets, (lp.shares)));
            lp.maxWithdraw = vault.maxWithdraw(account);
            lp.assetBalance = IERC20Metadata(e.token()).balanceOf(account);
        }
    }

    /// @inheritdoc IBulkheadLens
    function readDeployment() external view returns (DeploymentView memory d) {
        IBulkhead e = IBulkhead(engine);
        d.engine = engine;
        d.token = e.token();
        d.pool = e.pool();
        d.unit = _unit;
        d.vaultImplementation = e.vaultImplementation();
        d.marketCount = e.marketCount();
        d.tokenDecimals = IERC20Metadata(d.token).decimals();
        d.tokenSymbol = IERC20Metadata(d.token).symbol();
    }

    /// @inheritdoc IBulkheadLens
    function previewLiquidations(uint256[] calldata ids) external view returns (LiquidationPreview[] memory out) {
        out = new LiquidationPreview[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            (bool ok, bytes memory data) = engine.staticcall(abi.encodeCall(IBulkhead.previewLiquidation, (ids[i])));
            if (ok) out[i] = abi.decode(data, (LiquidationPreview));
        }
    }

    function _existing(uint256 id) private view returns (Position memory p) {
        p = IBulkhead(engine).position(id);
        if (p.size == 0) revert IBulkhead.PositionNotFound(id);
    }

    function _health(Position memory p, uint256 price) private view returns (Health memory) {
        IBulkhead e = IBulkhead(engine);
        return _healthWith(p, e.riskParams(p.marketId, p.riskVersion), price, e.currentBorrowIndex(p.marketId));
    }

    function _healthWith(Position memory p, RiskParams memory risk, uint256 price, uint256 index)
        private
        view
        returns (Health memory)
    {
        return HealthLib.withLiquidationPrice(HealthLib.health(p, risk, price, index, _unit), p, risk, _unit);
    }

    function _at() private view returns (ReadBlock memory) {
        return ReadBlock(block.number, block.timestamp);
    }

    function _marketView(uint256 id) private view returns (MarketView memory v) {
        IBulkhead e = IBulkhead(engine);
        v.id = id;
        v.market = e.market(id);
        v.risk = e.riskParams(id, v.market.riskVersion);
        v.currentBorrowIndex = e.currentBorrowIndex(id);
        v.borrowRate = e.borrowRate(id);
        if (!v.market.delisted) (v.price, v.priceError) = _tryUint(engine, abi.encodeCall(IBulkhead.price, (id)));
        v.feedUpdatedAt = _feedUpdatedAt(v.market.feed);
    }

    /// @dev A view's uint256 result, or 0 and its revert data.
    function _tryUint(address target, bytes memory call) private view returns (uint256 value, bytes memory err) {
        (bool ok, bytes memory data) = target.staticcall(call);
        if (ok) return (abi.decode(data, (uint256)), "");
        return (0, data);
    }

    /// @dev The feed's `updatedAt` with the engine's gas bound, copying at most its five words,
    /// so no feed behaviour makes a market read revert; 0 when it answers fewer than five words.
    function _feedUpdatedAt(address feed) private view returns (uint256 updatedAt) {
        bytes4 selector = AggregatorV3Interface.latestRoundData.selector;
        uint256 gasLimit = ConstantsLib.FEED_CALL_GAS;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            let ok := staticcall(gasLimit, feed, ptr, 4, ptr, 0xa0)
            if and(ok, gt(returndatasize(), 0x9f)) { updatedAt := mload(add(ptr, 0x60)) }
        }
    }
}
