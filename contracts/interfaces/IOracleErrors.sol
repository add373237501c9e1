// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

/// @title IOracleErrors
/// @notice One custom error per failed price check (DESIGN.md "Oracle").
interface IOracleErrors {
    /// @notice The feed call reverted (or ran out of its bounded gas).
    error PriceFeedCallFailed(address feed);
    /// @notice The feed answered fewer than the five words of `latestRoundData`, or a roundId /
    /// answeredInRound that does not fit uint80: the answer cannot be trusted.
    error InvalidFeedResponse(address feed, uint256 returnDataSize);
    /// @notice The feed answered zero or a negative price.
    error NonPositivePrice(address feed, int256 answer);
    /// @notice The feed's round has no update timestamp (updatedAt == 0).
    error PriceNotUpdated(address feed);
    /// @notice The feed's update timestamp lies after the current block.
    error PriceFromFuture(address feed, uint256 updatedAt, uint256 blockTimestamp);
    /// @notice The feed's last update is older than its heartbeat allows.
    error StalePrice(address feed, uint256 updatedAt, uint256 heartbeat);
    /// @notice The normalised price is zero or above the supported maximum (2**96 - 1 WAD).
    error PriceOutOfRange(address feed, int256 answer);
    /// @notice The L2 sequencer uptime feed reports the sequencer down.
    error SequencerDown(address sequencerFeed);
    /// @notice The L2 sequencer came back up less than `gracePeriod` seconds ago.
    error SequencerGracePeriod(uint256 upSince, uint256 gracePeriod);
}
