// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {FeeAsset, IDataStreamsErrors, IFeeManager, IVerifierProxy, ReportV3} from "../interfaces/IDataStreams.sol";

/// @title DataStreamsLib
/// @notice Verifies a Chainlink Data Streams report through Chainlink's own `VerifierProxy` and
/// checks it for one market: schema v3, the market's stream, a sound validity window, not
/// expired, 0 < bid <= price <= ask within the supported price range, and within a bounded
/// deviation of the market's push feed (whose own checks, sequencer included, the caller has run).
/// @dev Signature, signer-set and config-digest checks are the Verifier's, the fee (where Chainlink
/// charges one) the fee manager's; replay (the same report used twice) is not: a report verifies
/// as often as it is submitted, so every caller binds a report to the request or order it fills.
library DataStreamsLib {
    /// @dev Schema version in the first two bytes of a feed id (Chainlink's `0x0003...` streams).
    uint256 internal constant SCHEMA_V3 = 3;

    /// @dev Verifies `signedReport` and returns its decoded v3 data. Where the proxy has no fee
    /// manager (local chains, off-chain billing) verification is free and the call is exactly
    /// `verify(signedReport, "")`. Where it has one, the caller (the contract this library runs
    /// in: the subscriber Chainlink bills) pays the report's fee in LINK from its own balance.
    /// The fee manager is read from the proxy on every call rather than cached: Chainlink's owner
    /// can replace it at any time, and the read warms the slot the proxy reads next anyway.
    function verify(IVerifierProxy proxy, bytes calldata signedReport) internal returns (ReportV3 memory r) {
        address feeManager = proxy.s_feeManager();
        bytes memory data = feeManager == address(0)
            ? proxy.verify(signedReport, "")
            : _verifyPayingLink(proxy, IFeeManager(feeManager), signedReport);
        r = abi.decode(data, (ReportV3));
    }

    /// @dev Chainlink's on-chain billing flow: quote the fee for this subscriber, approve exactly
    /// that to the reward manager (which pulls it during `verify`), name LINK as the fee token.
    /// LINK rather than wrapped native: the native fee carries Chainlink's surcharge, and one
    /// token is one balance to fund. An allowance a future fee manager leaves unspent is revoked.
    function _verifyPayingLink(IVerifierProxy proxy, IFeeManager feeManager, bytes calldata signedReport)
        private
        returns (bytes memory data)
    {
        (, bytes memory reportData) = abi.decode(signedReport, (bytes32[3], bytes));
        // The fee manager refuses an expired report with an error without numbers: say it with them.
        (bytes32 feedId,,,,, uint32 expiresAt) =
            abi.decode(reportData, (bytes32, uint32, uint32, uint192, uint192, uint32));
        if (uint16(bytes2(feedId)) == SCHEMA_V3 && expiresAt < block.timestamp) {
            revert IDataStreamsErrors.ReportExpired(expiresAt, block.timestamp);
        }
        address link = feeManager.i_linkAddress();
        (FeeAsset memory fee,,) = feeManager.getFeeAndReward(address(this), reportData, link);
        if (fee.amount == 0) return proxy.verify(signedReport, abi.encode(link));
        uint256 balance = SafeTransferLib.balanceOf(link, address(this));
        if (balance < fee.amount) revert IDataStreamsErrors.VerificationFeeUnpaid(link, fee.amount, balance);
        address rewardManager = feeManager.i_rewardManager();
        SafeTransferLib.safeApprove(link, rewardManager, fee.amount);
        data = proxy.verify(signedReport, abi.encode(link));
        if (IERC20(link).allowance(address(this), rewardManager) != 0) {
            SafeTransferLib.safeApprove(link, rewardManager, 0);
        }
    }

    /// @dev Every check of a verified report against a market, at `block.timestamp`. Returns the
    /// benchmark, bid and ask as WAD.
    function check(ReportV3 memory r, bytes32 feedId, uint256 feedPrice, uint256 maxDeviationBps)
        internal
        view
        returns (uint256 price, uint256 bid, uint256 ask)
    {
        (price, bid, ask) = checkObservation(r, feedId);
        if (r.expiresAt < block.timestamp) revert IDataStreamsErrors.ReportExpired(r.expiresAt, block.timestamp);
        uint256 distance = price > feedPrice ? price - feedPrice : feedPrice - price;
        // distance / feedPrice > maxDeviationBps / BPS, in integers (no rounding to exploit).
        if (distance * ConstantsLib.BPS > feedPrice * maxDeviationBps) {
            revert IDataStreamsErrors.ReportDeviatesFromFeed(price, feedPrice, maxDeviationBps);
        }
    }

    /// @dev The checks of a report as a past observation (no expiry, no push-feed comparison):
    /// schema v3, the market's stream, a sound window, 0 < bid <= price <= ask <= MAX_PRICE.
    function checkObservation(ReportV3 memory r, bytes32 feedId)
        internal
        pure
        returns (uint256 price, uint256 bid, uint256 ask)
    {
        uint256 version = uint16(bytes2(r.feedId));
        if (version != SCHEMA_V3) revert IDataStreamsErrors.ReportSchemaUnsupported(r.feedId, version);
        if (r.feedId != feedId) revert IDataStreamsErrors.ReportFeedMismatch(feedId, r.feedId);
        if (r.validFromTimestamp > r.observationsTimestamp) {
            revert IDataStreamsErrors.ReportTimestampsInvalid(r.validFromTimestamp, r.observationsTimestamp);
        }
        if (r.bid <= 0 || r.bid > r.price || r.price > r.ask || uint256(int256(r.ask)) > ConstantsLib.MAX_PRICE) {
            revert IDataStreamsErrors.ReportPricesInvalid(r.bid, r.price, r.ask);
        }
        (price, bid, ask) = (uint256(int256(r.price)), uint256(int256(r.bid)), uint256(int256(r.ask)));
    }
}
