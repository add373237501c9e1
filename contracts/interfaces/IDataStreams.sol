// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

/// @notice A Chainlink Data Streams report of the v3 (crypto) schema, as the Verifier returns its
/// data. Prices carry 18 decimals (WAD per index unit for a USD-quoted stream).
/// @dev Field order and widths are Chainlink's `ReportV3`; `abi.decode` of the verified bytes
/// fills it directly.
struct ReportV3 {
    bytes32 feedId;
    uint32 validFromTimestamp;
    uint32 observationsTimestamp;
    uint192 nativeFee;
    uint192 linkFee;
    uint32 expiresAt;
    int192 price;
    int192 bid;
    int192 ask;
}

/// @title IVerifierProxy
/// @notice The part of Chainlink's `VerifierProxy` (llo-feeds) that Bulkhead calls. Declared here
/// because Chainlink's own interface pins `pragma solidity 0.8.19`.
interface IVerifierProxy {
    /// @notice Verifies `payload` (a signed report) with the Verifier of its config digest and
    /// returns the report data; reverts when the signatures do not verify.
    /// @param parameterPayload The fee token, ABI-encoded, when the proxy has a fee manager; empty otherwise.
    function verify(bytes calldata payload, bytes calldata parameterPayload) external payable returns (bytes memory);

    /// @notice The fee manager, or address 0 when verification is free (local chains, and
    /// networks where Chainlink bills off chain). Chainlink's owner may set a new one at any time.
    function s_feeManager() external view returns (address);
}

/// @notice A token amount as Chainlink's `Common.Asset` (llo-feeds) encodes it.
struct FeeAsset {
    address assetAddress;
    uint256 amount;
}

/// @title IFeeManager
/// @notice The part of Chainlink's `FeeManager` (llo-feeds) that a paying subscriber reads: the
/// fee of a report in a quote token and where to approve it. During `VerifierProxy.verify` the
/// fee manager has the `RewardManager` pull a LINK fee from the subscriber (the proxy's caller).
interface IFeeManager {
    /// @notice The fee `subscriber` pays to verify `report` (the unsigned report data) in
    /// `quoteAddress` (LINK or wrapped native), after its discount; the reward is always in LINK.
    /// Reverts with Chainlink's `ExpiredReport` or `InvalidQuote`.
    function getFeeAndReward(address subscriber, bytes memory report, address quoteAddress)
        external
        view
        returns (FeeAsset memory fee, FeeAsset memory reward, uint256 appliedDiscount);

    /// @notice The LINK token of the network.
    function i_linkAddress() external view returns (address);

    /// @notice The reward manager that pulls LINK fees from the subscriber.
    function i_rewardManager() external view returns (address);
}

/// @title IDataStreamsErrors
/// @notice One custom error per failed report check (DESIGN.md "Requests and price reports").
interface IDataStreamsErrors {
    /// @notice The report's schema (the feed id's first two bytes) is not v3.
    error ReportSchemaUnsupported(bytes32 feedId, uint256 version);
    /// @notice The report is of another stream than the market's.
    error ReportFeedMismatch(bytes32 expected, bytes32 actual);
    /// @notice The report's validity window is inverted (validFrom after the observation).
    error ReportTimestampsInvalid(uint256 validFromTimestamp, uint256 observationsTimestamp);
    /// @notice The report expired before this block.
    error ReportExpired(uint256 expiresAt, uint256 blockTimestamp);
    /// @notice The report breaks 0 < bid <= price <= ask.
    error ReportPricesInvalid(int256 bid, int256 price, int256 ask);
    /// @notice The report's price is further from the market's push feed than the market allows.
    error ReportDeviatesFromFeed(uint256 reportPrice, uint256 feedPrice, uint256 maxDeviationBps);
    /// @notice The verifying contract holds `balance` of the fee token, less than the `fee`
    /// Chainlink's fee manager charges to verify the report: it must be funded with LINK.
    error VerificationFeeUnpaid(address token, uint256 fee, uint256 balance);
}
