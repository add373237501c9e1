// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IDataStreamsErrors} from "./IDataStreams.sol";
import {IOracleErrors} from "./IOracleErrors.sol";

/// @notice A market's Data Streams stream and how far its reports may be from its push feed.
struct StreamConfig {
    bytes32 feedId;
    uint16 maxDeviationBps;
}

/// @notice When requests settle, in seconds, for every request of the protocol (trades and LP
/// flows). A request created at `t` settles at the report whose validity window contains
/// `t + settlementDelay`; it can be executed until `t + expiry`, then only cancelled; an exit not
/// executed with a report by `t + pushFallbackDelay` may also settle at the first push-feed round
/// published after `t`.
struct Timing {
    uint32 settlementDelay;
    uint32 expiry;
    uint32 pushFallbackDelay;
}

/// @notice A verified report's observation time (seconds) and WAD prices.
struct ReportPrices {
    uint256 observedAt;
    uint256 bid;
    uint256 price;
    uint256 ask;
}

/// @title IBulkheadOracle
/// @notice The price side of two-step settlement (DESIGN.md "Requests and price reports"): each
/// market's Chainlink Data Streams stream, the request timing, and the two ways a request's price is
/// pinned: the verified report whose window contains the request's settlement time, or (exits
/// only, once overdue) the first push-feed round published after the request. Both are checked here
/// once, for the trade router and the pool alike; neither the requester nor the executor can pick
/// another price.
/// @dev Reports are verified through Chainlink's own VerifierProxy (signatures, signer set, config
/// digest); every other check is {DataStreamsLib}'s. Where the proxy has a fee manager (Chainlink's
/// on-chain billing), this contract is the subscriber and pays each report's fee in LINK from its
/// own balance: the protocol keeps it funded with LINK (a plain transfer to it), and the engine's
/// owner can take LINK back with {withdrawToken}. Without LINK, executions with a report revert
/// with `VerificationFeeUnpaid`; cancellations, and exits through the push-feed fallback, do not
/// verify reports and keep working. Replay is harmless by construction: a report
/// fills only requests whose settlement time lies in its window, and a request fills once.
interface IBulkheadOracle is IDataStreamsErrors, IOracleErrors {
    /// @notice The report is not the one `target` pins: its window does not contain `target`.
    error ReportNotPinned(uint256 target, uint256 validFromTimestamp, uint256 observationsTimestamp);
    /// @notice The market has no Data Streams stream configured: it takes no request.
    error StreamNotConfigured(uint256 marketId);
    /// @notice The round is not the first push-feed round published after `createdAt`.
    error RoundNotFirstAfter(uint80 roundId, uint256 updatedAt, uint256 previousUpdatedAt, uint256 createdAt);
    /// @notice The round's answer is not a usable price (not positive, or out of range).
    error RoundInvalid(uint80 roundId, int256 answer);
    /// @notice Only the engine's owner may change these parameters.
    error Unauthorized(address caller);
    /// @notice A governance value is outside its hard-coded bounds.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);

    event StreamSet(uint256 indexed marketId, bytes32 feedId, uint256 maxDeviationBps);
    event TimingSet(uint256 settlementDelay, uint256 expiry, uint256 pushFallbackDelay);
    event TokenWithdrawn(address indexed token, address indexed to, uint256 amount);

    /// @notice Verifies `signedReport` and checks it for `marketId` at settlement time `target`:
    /// its window contains `target`, it is of the market's stream, not expired, 0 < bid <= price <=
    /// ask, and its price is within the stream's deviation of the market's push feed, which passes
    /// all of its own checks (sequencer included). Returns WAD prices. Changes no Bulkhead state;
    /// where Chainlink charges for verification, pays the report's LINK fee from this contract.
    function reportPrices(uint256 marketId, bytes calldata signedReport, uint256 target)
        external
        returns (uint256 bid, uint256 price, uint256 ask);

    /// @notice Verifies `signedReport` for `marketId` without pinning it to a time (trigger orders
    /// check the time themselves). `live`: every check of {reportPrices} but the window (unexpired,
    /// within the deviation of a valid push feed). Not `live` (a past observation: the peak of a
    /// trailing stop): schema, stream, timestamps and 0 < bid <= price <= ask only. Callable by the
    /// settler, the pool and the router's order book.
    function verifyReport(uint256 marketId, bytes calldata signedReport, bool live)
        external
        returns (ReportPrices memory r);

    /// @notice The WAD answer of `roundId` of the market's push feed if it is the first round
    /// published after `createdAt` (its `updatedAt` is after it, the previous round's is not), with
    /// the L2 sequencer up; else a revert naming the failed check.
    function firstRoundAfter(uint256 marketId, uint80 roundId, uint256 createdAt) external view returns (uint256 price);

    function engine() external view returns (address);
    function verifierProxy() external view returns (address);
    function stream(uint256 marketId) external view returns (StreamConfig memory);
    function timing() external view returns (Timing memory);
    /// @notice The request timing for a request of `marketId`: {timing}, or a revert
    /// {StreamNotConfigured} while the market has no stream (no report could settle the request).
    /// One call where a new request needs both facts.
    function requestTiming(uint256 marketId) external view returns (Timing memory);

    /// @notice Sets a market's stream (owner of the engine). `maxDeviationBps` within
    /// [1, MAX_REPORT_DEVIATION_BPS].
    function setStream(uint256 marketId, bytes32 feedId, uint256 maxDeviationBps) external;
    /// @notice Sets the request timing (owner of the engine), each within its bounds and
    /// settlementDelay < pushFallbackDelay <= expiry.
    function setTiming(uint256 settlementDelay, uint256 expiry, uint256 pushFallbackDelay) external;
    /// @notice Sends `amount` of `token` held here (the LINK that pays verification fees) to `to`
    /// (owner of the engine).
    function withdrawToken(address token, address to, uint256 amount) external;
}
