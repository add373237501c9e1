// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IBulkhead, Market} from "../interfaces/IBulkhead.sol";
import {IBulkheadOracle, ReportPrices, StreamConfig, Timing} from "../interfaces/IBulkheadOracle.sol";
import {IBulkheadRouter} from "../interfaces/IBulkheadRouter.sol";
import {IVerifierProxy, ReportV3} from "../interfaces/IDataStreams.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {ChainlinkPriceLib} from "./ChainlinkPriceLib.sol";
import {DataStreamsLib} from "./DataStreamsLib.sol";

/// @title BulkheadOracle
/// @notice See {IBulkheadOracle}. Governed by the engine's owner (a timelock on public networks).
/// @dev Only the engine's settler (the trade router) and its pool may have reports verified here:
/// on networks where Chainlink charges for verification, nobody else can spend what it pays with.
/// There the protocol funds this contract with LINK, the subscriber Chainlink bills per report.
contract BulkheadOracle is IBulkheadOracle, ReentrancyGuardTransient {
    IBulkhead internal immutable _engine;
    IVerifierProxy internal immutable _proxy;

    Timing internal _timing;
    mapping(uint256 marketId => StreamConfig) internal _streams;

    /// @param engine_ The Bulkhead engine whose markets, push feeds and owner this oracle uses.
    /// @param proxy_ Chainlink's VerifierProxy of the network (the local one on a local chain).
    /// @param timing_ The initial request timing, within bounds.
    constructor(IBulkhead engine_, IVerifierProxy proxy_, Timing memory timing_) {
        _engine = engine_;
        _proxy = proxy_;
        _setTiming(timing_.settlementDelay, timing_.expiry, timing_.pushFallbackDelay);
    }

    modifier onlyEngineOwner() {
        if (msg.sender != Ownable(address(_engine)).owner()) revert Unauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IBulkheadOracle
    function reportPrices(uint256 marketId, bytes calldata signedReport, uint256 target)
        external
        nonReentrant
        returns (uint256 bid, uint256 price, uint256 ask)
    {
        (ReportV3 memory r, StreamConfig memory c) = _verified(marketId, signedReport);
        (price, bid, ask) = DataStreamsLib.check(r, c.feedId, _engine.price(marketId), c.maxDeviationBps);
        if (target < r.validFromTimestamp || target > r.observationsTimestamp) {
            revert ReportNotPinned(target, r.validFromTimestamp, r.observationsTimestamp);
        }
    }

    /// @inheritdoc IBulkheadOracle
    function verifyReport(uint256 marketId, bytes calldata signedReport, bool live)
        external
        nonReentrant
        returns (ReportPrices memory p)
    {
        (ReportV3 memory r, StreamConfig memory c) = _verified(marketId, signedReport);
        (p.price, p.bid, p.ask) = live
            ? DataStreamsLib.check(r, c.feedId, _engine.price(marketId), c.maxDeviationBps)
            : DataStreamsLib.checkObservation(r, c.feedId);
        p.observedAt = r.observationsTimestamp;
    }

    /// @dev The caller's right to have reports verified (the order book's is read only when the
    /// caller is neither of the others), the market's stream, and the report verified.
    function _verified(uint256 marketId, bytes calldata signedReport)
        internal
        returns (ReportV3 memory r, StreamConfig memory c)
    {
        address settler = _engine.settler();
        if (msg.sender != settler && msg.sender != _engine.pool()) {
            if (settler == address(0) || msg.sender != IBulkheadRouter(settler).orderBook()) {
                revert Unauthorized(msg.sender);
            }
        }
        c = _streams[marketId];
        if (c.feedId == bytes32(0)) revert StreamNotConfigured(marketId);
        r = DataStreamsLib.verify(_proxy, signedReport);
    }

    /// @inheritdoc IBulkheadOracle
    /// @dev Round ids of a Chainlink proxy are (phase << 64) | aggregator round; the first round of
    /// a phase (aggregator round 1) has no predecessor to compare with, so only its own time counts.
    function firstRoundAfter(uint256 marketId, uint80 roundId, uint256 createdAt) external view returns (uint256 price) {
        (address sequencerFeed, uint256 grace) = _engine.sequencer();
        bytes memory err = ChainlinkPriceLib.trySequencer(sequencerFeed, grace);
        if (err.length != 0) ChainlinkPriceLib.revertWith(err);
        Market memory m = _engine.market(marketId);
        AggregatorV3Interface feed = AggregatorV3Interface(m.feed);
        (, int256 answer,, uint256 updatedAt,) = feed.getRoundData(roundId);
        uint256 previousUpdatedAt;
        if (uint64(roundId) > 1) (,,, previousUpdatedAt,) = feed.getRoundData(roundId - 1);
        if (updatedAt <= createdAt || previousUpdatedAt > createdAt) {
            revert RoundNotFirstAfter(roundId, updatedAt, previousUpdatedAt, createdAt);
        }
        if (updatedAt > block.timestamp) revert PriceFromFuture(m.feed, updatedAt, block.timestamp);
        if (answer <= 0) revert RoundInvalid(roundId, answer);
        price = ChainlinkPriceLib.toWad(uint256(answer), m.feedDecimals);
        if (price == 0) revert RoundInvalid(roundId, answer);
    }

    /// @inheritdoc IBulkheadOracle
    function setStream(uint256 marketId, bytes32 feedId, uint256 maxDeviationBps) external onlyEngineOwner {
        if (marketId >= _engine.marketCount()) revert IBulkhead.MarketNotListed(marketId);
        uint256 version = uint16(bytes2(feedId));
        if (version != DataStreamsLib.SCHEMA_V3) revert ReportSchemaUnsupported(feedId, version);
        _checkBounds("maxDeviationBps", maxDeviationBps, 1, ConstantsLib.MAX_REPORT_DEVIATION_BPS);
        _streams[marketId] = StreamConfig(feedId, uint16(maxDeviationBps));
        emit StreamSet(marketId, feedId, maxDeviationBps);
    }

    /// @inheritdoc IBulkheadOracle
    function setTiming(uint256 settlementDelay, uint256 expiry, uint256 pushFallbackDelay) external onlyEngineOwner {
        _setTiming(settlementDelay, expiry, pushFallbackDelay);
    }

    /// @inheritdoc IBulkheadOracle
    function withdrawToken(address token, address to, uint256 amount) external onlyEngineOwner nonReentrant {
        emit TokenWithdrawn(token, to, amount);
        SafeTransferLib.safeTransfer(token, to, amount);
    }

    function _setTiming(uint256 settlementDelay, uint256 expiry, uint256 pushFallbackDelay) internal {
        _checkBounds(
            "settlementDelay", settlementDelay, ConstantsLib.MIN_SETTLEMENT_DELAY, ConstantsLib.MAX_SETTLEMENT_DELAY
        );
        _checkBounds(
            "pushFallbackDelay",
            pushFallbackDelay,
            ConstantsLib.MIN_PUSH_FALLBACK_DELAY > settlementDelay ? ConstantsLib.MIN_PUSH_FALLBACK_DELAY : settlementDelay + 1,
            ConstantsLib.MAX_REQUEST_EXPIRY
        );
        _checkBounds("expiry", expiry, pushFallbackDelay, ConstantsLib.MAX_REQUEST_EXPIRY);
        _timing = Timing(uint32(settlementDelay), uint32(expiry), uint32(pushFallbackDelay));
        emit TimingSet(settlementDelay, expiry, pushFallbackDelay);
    }

    function _checkBounds(string memory name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    /// @inheritdoc IBulkheadOracle
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @inheritdoc IBulkheadOracle
    function verifierProxy() external view returns (address) {
        return address(_proxy);
    }

    /// @inheritdoc IBulkheadOracle
    function stream(uint256 marketId) external view returns (StreamConfig memory) {
        return _streams[marketId];
    }

    /// @inheritdoc IBulkheadOracle
    function timing() external view returns (Timing memory) {
        return _timing;
    }

    /// @inheritdoc IBulkheadOracle
    function requestTiming(uint256 marketId) external view returns (Timing memory) {
        if (_streams[marketId].feedId == bytes32(0)) revert StreamNotConfigured(marketId);
        return _timing;
    }
}
