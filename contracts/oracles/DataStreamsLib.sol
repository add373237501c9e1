// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {IDataStreamsErrors, IVerifierProxy, ReportV3} from "../interfaces/IDataStreams.sol";

/// @title DataStreamsLib
/// @notice Verifies a Chainlink Data Streams report through Chainlink's own `VerifierProxy` and
/// checks it for one market: schema v3, the market's stream, a sound validity window, not
/// expired, 0 < bid <= price <= ask within the supported price range, and within a bounded
/// deviation of the market's push feed (whose own checks, sequencer included, the caller has run).
/// @dev Signature, signer-set and config-digest checks are the Verifier's; replay (the same report
/// used twice) is not: a report verifies as often as it is submitted, so every caller binds a
/// report to the request or order it fills.
library DataStreamsLib {
    /// @dev Schema version in the first two bytes of a feed id (Chainlink's `0x0003...` streams).
    uint256 internal constant SCHEMA_V3 = 3;

    /// @dev Verifies `signedReport` and returns its decoded v3 data. Verification is free where the
    /// proxy has no fee manager (local chains); public proxies with a fee manager need a fee the
    /// caller pays, which this library does not handle.
    function verify(IVerifierProxy proxy, bytes calldata signedReport) internal returns (ReportV3 memory r) {
        bytes memory data = proxy.verify(signedReport, "");
        r = abi.decode(data, (ReportV3));
    }

    /// @dev Every check of a verified report against a market, at `block.timestamp`. Returns the
    /// benchmark, bid and ask as WAD.
    function check(ReportV3 memory r, bytes32 feedId, uint256 feedPrice, uint256 maxDeviationBps)
        internal
        view
        returns (uint256 price, uint256 bid, uint256 ask)
    {
        uint256 version = uint16(bytes2(r.feedId));
        if (version != SCHEMA_V3) revert IDataStreamsErrors.ReportSchemaUnsupported(r.feedId, version);
        if (r.feedId != feedId) revert IDataStreamsErrors.ReportFeedMismatch(feedId, r.feedId);
        if (r.validFromTimestamp > r.observationsTimestamp) {
            revert IDataStreamsErrors.ReportTimestampsInvalid(r.validFromTimestamp, r.observationsTimestamp);
        }
        if (r.expiresAt < block.timestamp) revert IDataStreamsErrors.ReportExpired(r.expiresAt, block.timestamp);
        if (r.bid <= 0 || r.bid > r.price || r.price > r.ask || uint256(int256(r.ask)) > ConstantsLib.MAX_PRICE) {
            revert IDataStreamsErrors.ReportPricesInvalid(r.bid, r.price, r.ask);
        }
        (price, bid, ask) = (uint256(int256(r.price)), uint256(int256(r.bid)), uint256(int256(r.ask)));
        uint256 distance = price > feedPrice ? price - feedPrice : feedPrice - price;
        // distance / feedPrice > maxDeviationBps / BPS, in integers (no rounding to exploit).
        if (distance * ConstantsLib.BPS > feedPrice * maxDeviationBps) {
            revert IDataStreamsErrors.ReportDeviatesFromFeed(price, feedPrice, maxDeviationBps);
        }
    }
}
