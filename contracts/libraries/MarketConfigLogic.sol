// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IBulkhead, Market, MarketParams, RiskParams} from "../interfaces/IBulkhead.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib} from "./MathLib.sol";

/// @title MarketConfigLogic
/// @notice Governance logic of the engine: listing markets and changing their feed, trading and
/// risk parameters, each checked against the hard-coded bounds of {ConstantsLib}.
/// @dev An external library (linked, reached by DELEGATECALL) so the engine stays under the
/// contract size limit; it writes the engine's storage through the pointers it is given and its
/// events are the engine's. Only governance calls reach it, never a trade.
library MarketConfigLogic {
    using MathLib for uint256;

    /// @notice Stores a new market (risk version 0) after validating every input.
    function listMarket(
        Market storage m,
        mapping(uint256 => RiskParams) storage risks,
        uint256 marketId,
        address feed,
        uint256 heartbeat,
        MarketParams calldata params,
        RiskParams calldata risk
    ) external {
        uint256 feedDecimals = _validateFeed(feed, heartbeat);
        _validateParams(params);
        _validateRisk(risk, params);
        m.feed = feed;
        m.heartbeat = uint32(heartbeat);
        m.feedDecimals = uint8(feedDecimals);
        _storeParams(m, params);
        risks[0] = risk;
        emit IBulkhead.MarketListed(marketId, feed, heartbeat, feedDecimals, params, risk);
    }

    /// @notice Marks a market without open interest delisted (final). Nothing else changes: its
    /// borrow index and accrued fees stay as stored, so every figure booked before stays readable.
    /// @dev No relisting: a market id keeps one history (events, off-chain caches keyed by market
    /// and risk version, the SDK's among them), and a fresh listing validates its feed and
    /// parameters anyway, so a market that should trade again is listed under a new id.
    function delistMarket(Market storage m, uint256 marketId) external {
        requireNotDelisted(m, marketId);
        uint256 longSize = m.longSize;
        uint256 shortSize = m.shortSize;
        if (longSize != 0 || shortSize != 0) revert IBulkhead.MarketHasOpenInterest(marketId, longSize, shortSize);
        m.delisted = true;
        emit IBulkhead.MarketDelisted(marketId);
    }

    /// @notice Reverts with MarketIsDelisted for a delisted market.
    function requireNotDelisted(Market storage m, uint256 marketId) internal view {
        if (m.delisted) revert IBulkhead.MarketIsDelisted(marketId);
    }

    /// @notice Replaces a market's feed and heartbeat.
    function setFeed(Market storage m, uint256 marketId, address feed, uint256 heartbeat) external {
        requireNotDelisted(m, marketId);
        uint256 feedDecimals = _validateFeed(feed, heartbeat);
        m.feed = feed;
        m.heartbeat = uint32(heartbeat);
        m.feedDecimals = uint8(feedDecimals);
        emit IBulkhead.FeedSet(marketId, feed, heartbeat, feedDecimals);
    }

    /// @notice Replaces a market's trading parameters (validated against its current risk version).
    function setMarketParams(
        Market storage m,
        mapping(uint256 => RiskParams) storage risks,
        uint256 marketId,
        MarketParams calldata params
    ) external {
        requireNotDelisted(m, marketId);
        _validateParams(params);
        _validateRisk(risks[m.riskVersion], params);
        _storeParams(m, params);
        emit IBulkhead.MarketParamsSet(marketId, params);
    }

    /// @notice Appends a risk version; positions opened from now on use it, open ones keep theirs.
    function setRiskParams(
        Market storage m,
        mapping(uint256 => RiskParams) storage risks,
        uint256 marketId,
        RiskParams calldata risk
    ) external {
        requireNotDelisted(m, marketId);
        _validateRisk(risk, _paramsOf(m));
        uint32 version = m.riskVersion + 1;
        m.riskVersion = version;
        risks[version] = risk;
        emit IBulkhead.RiskParamsSet(marketId, version, risk);
    }

    /// @notice Reverts with ParameterOutOfBounds unless min <= value <= max.
    function checkBounds(string memory name, uint256 value, uint256 min, uint256 max) public pure {
        if (value < min || value > max) revert IBulkhead.ParameterOutOfBounds(name, value, min, max);
    }

    /// @dev Feed must have code and answer decimals(); heartbeat within bounds. Returns decimals.
    function _validateFeed(address feed, uint256 heartbeat) private view returns (uint256 feedDecimals) {
        if (feed.code.length == 0) revert IBulkhead.FeedHasNoCode(feed);
        checkBounds("heartbeat", heartbeat, ConstantsLib.MIN_HEARTBEAT, ConstantsLib.MAX_HEARTBEAT);
        feedDecimals = AggregatorV3Interface(feed).decimals();
        checkBounds("feedDecimals", feedDecimals, 0, 36);
    }

    function _validateParams(MarketParams memory p) private pure {
        checkBounds("maxLeverage", p.maxLeverage, ConstantsLib.MIN_MAX_LEVERAGE, ConstantsLib.MAX_MAX_LEVERAGE);
        checkBounds("openFeeRate", p.openFeeRate, 0, ConstantsLib.MAX_TRADING_FEE_RATE);
        checkBounds("closeFeeRate", p.closeFeeRate, 0, ConstantsLib.MAX_TRADING_FEE_RATE);
        checkBounds("baseBorrowRate", p.baseBorrowRate, 0, ConstantsLib.MAX_BASE_BORROW_RATE);
        checkBounds("borrowRateSlope", p.borrowRateSlope, 0, ConstantsLib.MAX_BORROW_RATE_SLOPE);
        checkBounds("minCollateral", p.minCollateral, 1, ConstantsLib.MAX_COLLATERAL);
        checkBounds("maxLongOpenInterest", p.maxLongOpenInterest, 0, ConstantsLib.MAX_SIZE);
        checkBounds("maxShortOpenInterest", p.maxShortOpenInterest, 0, ConstantsLib.MAX_SIZE);
    }

    /// @dev Besides each bound, a fresh position at max leverage and minimum collateral must not
    /// be liquidatable: mmr + liquidationFeeRate < 1 / maxLeverage, and
    /// minLiquidationFee < minCollateral * (1 - maxLeverage * mmr).
    function _validateRisk(RiskParams memory r, MarketParams memory p) private pure {
        checkBounds("mmr", r.mmr, ConstantsLib.MIN_MMR, ConstantsLib.MAX_MMR);
        checkBounds("liquidationFeeRate", r.liquidationFeeRate, 0, ConstantsLib.MAX_LIQUIDATION_FEE_RATE);
        checkBounds(
            "maxProfitFactorBps",
            r.maxProfitFactorBps,
            ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS,
            ConstantsLib.MAX_MAX_PROFIT_FACTOR_BPS
        );
        uint256 initialRate = ConstantsLib.WAD.mulDivDown(ConstantsLib.WAD, p.maxLeverage);
        checkBounds("mmr+liquidationFeeRate", uint256(r.mmr) + r.liquidationFeeRate, 0, initialRate - 1);
        uint256 leveragedMmr = p.maxLeverage.wMulUp(r.mmr);
        uint256 feeRoom =
            leveragedMmr >= ConstantsLib.WAD ? 0 : p.minCollateral.wMulDown(ConstantsLib.WAD - leveragedMmr);
        checkBounds("minLiquidationFee", r.minLiquidationFee, 0, feeRoom == 0 ? 0 : feeRoom - 1);
    }

    function _storeParams(Market storage m, MarketParams memory p) private {
        m.maxLeverage = uint96(p.maxLeverage);
        m.openFeeRate = uint64(p.openFeeRate);
        m.closeFeeRate = uint64(p.closeFeeRate);
        m.baseBorrowRate = uint64(p.baseBorrowRate);
        m.borrowRateSlope = uint64(p.borrowRateSlope);
        m.minCollateral = uint96(p.minCollateral);
        m.maxLongOpenInterest = uint128(p.maxLongOpenInterest);
        m.maxShortOpenInterest = uint128(p.maxShortOpenInterest);
    }

    function _paramsOf(Market storage m) private view returns (MarketParams memory) {
        return MarketParams({
            maxLeverage: m.maxLeverage,
            openFeeRate: m.openFeeRate,
            closeFeeRate: m.closeFeeRate,
            baseBorrowRate: m.baseBorrowRate,
            borrowRateSlope: m.borrowRateSlope,
            minCollateral: m.minCollateral,
            maxLongOpenInterest: m.maxLongOpenInterest,
            maxShortOpenInterest: m.maxShortOpenInterest
        });
    }
}
