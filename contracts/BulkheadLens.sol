// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

import {IBulkhead, Market, Position, RiskParams, Health, LiquidationPreview} from "./interfaces/IBulkhead.sol";
import {IBulkheadLens, PositionView} from "./interfaces/IBulkheadLens.sol";
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
    function positions(uint256[] calldata ids) external view returns (PositionView[] memory out) {
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
            (bool ok, bytes memory data) = engine.staticcall(abi.encodeCall(IBulkhead.price, (v.position.marketId)));
            if (!ok) continue;
            v.priceValid = true;
            v.health = _health(v.position, abi.decode(data, (uint256)));
        }
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
        RiskParams memory risk = e.riskParams(p.marketId, p.riskVersion);
        Health memory h = HealthLib.health(p, risk, price, e.currentBorrowIndex(p.marketId), _unit);
        return HealthLib.withLiquidationPrice(h, p, risk, _unit);
    }
}
