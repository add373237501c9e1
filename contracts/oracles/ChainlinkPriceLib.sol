// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {IOracleErrors} from "../interfaces/IOracleErrors.sol";

/// @title ChainlinkPriceLib
/// @notice The one validated price path of Bulkhead: every action that reads a price goes through
/// `tryPrice` (which never reverts, so a batch can skip a broken feed) or `price` (which reverts
/// with the custom error naming the failed check).
/// @dev A price is valid iff the feed call succeeds, answer > 0, updatedAt != 0,
/// updatedAt <= now, now - updatedAt <= heartbeat and, on L2s, the sequencer is up and its grace
/// period has passed. Answers are normalised from the feed's decimals to WAD.
library ChainlinkPriceLib {
    /// @dev Reads the feed and returns (price in WAD, empty) or (0, the ABI-encoded custom error).
    function tryPrice(address feed, uint256 heartbeat, uint256 feedDecimals)
        internal
        view
        returns (uint256 priceWad, bytes memory err)
    {
        (bool ok, bytes memory data) = feed.staticcall(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
        if (!ok || data.length < 160) {
            return (0, abi.encodeWithSelector(IOracleErrors.PriceFeedCallFailed.selector, feed));
        }
        (, int256 answer,, uint256 updatedAt,) = abi.decode(data, (uint80, int256, uint256, uint256, uint80));
        if (answer <= 0) return (0, abi.encodeWithSelector(IOracleErrors.NonPositivePrice.selector, feed, answer));
        if (updatedAt == 0) return (0, abi.encodeWithSelector(IOracleErrors.PriceNotUpdated.selector, feed));
        if (updatedAt > block.timestamp) {
            return (0, abi.encodeWithSelector(IOracleErrors.PriceFromFuture.selector, feed, updatedAt, block.timestamp));
        }
        if (block.timestamp - updatedAt > heartbeat) {
            return (0, abi.encodeWithSelector(IOracleErrors.StalePrice.selector, feed, updatedAt, heartbeat));
        }
        uint256 raw = uint256(answer);
        if (feedDecimals <= 18) {
            uint256 factor = 10 ** (18 - feedDecimals);
            priceWad = raw <= ConstantsLib.MAX_PRICE / factor ? raw * factor : type(uint256).max;
        } else {
            priceWad = raw / 10 ** (feedDecimals - 18);
        }
        if (priceWad == 0 || priceWad > ConstantsLib.MAX_PRICE) {
            return (0, abi.encodeWithSelector(IOracleErrors.PriceOutOfRange.selector, feed, answer));
        }
    }

    /// @dev Empty when the L2 sequencer (Chainlink uptime feed: 0 = up) is up and has been for
    /// longer than `gracePeriod`, else the ABI-encoded custom error. No feed (address 0) means L1.
    function trySequencer(address sequencerFeed, uint256 gracePeriod) internal view returns (bytes memory err) {
        if (sequencerFeed == address(0)) return err;
        (bool ok, bytes memory data) =
            sequencerFeed.staticcall(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
        if (!ok || data.length < 160) {
            return abi.encodeWithSelector(IOracleErrors.PriceFeedCallFailed.selector, sequencerFeed);
        }
        (, int256 answer, uint256 startedAt,,) = abi.decode(data, (uint80, int256, uint256, uint256, uint80));
        // startedAt == 0 is an uninitialised round on some L2s: treat it like a down sequencer.
        if (answer != 0 || startedAt == 0) return abi.encodeWithSelector(IOracleErrors.SequencerDown.selector, sequencerFeed);
        if (startedAt > block.timestamp || block.timestamp - startedAt <= gracePeriod) {
            return abi.encodeWithSelector(IOracleErrors.SequencerGracePeriod.selector, startedAt, gracePeriod);
        }
    }

    /// @dev Bubbles an error returned by `tryPrice` / `trySequencer`.
    function revertWith(bytes memory err) internal pure {
        assembly ("memory-safe") {
            revert(add(err, 32), mload(err))
        }
    }
}
