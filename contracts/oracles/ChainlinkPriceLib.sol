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
/// No feed behaviour makes `tryPrice` / `trySequencer` revert: the call gets at most
/// FEED_CALL_GAS, only the first five words of its returndata are copied (never its revert data),
/// and they are decoded by hand, so a short, garbage or huge answer is an error value, not a
/// decoding revert or an out-of-gas in the caller.
library ChainlinkPriceLib {
    /// @dev Reads the feed and returns (price in WAD, empty) or (0, the ABI-encoded custom error).
    function tryPrice(address feed, uint256 heartbeat, uint256 feedDecimals)
        internal
        view
        returns (uint256 priceWad, bytes memory err)
    {
        int256 answer;
        uint256 updatedAt;
        (err, answer,, updatedAt) = _latestRoundData(feed);
        if (err.length != 0) return (0, err);
        if (answer <= 0) return (0, abi.encodeWithSelector(IOracleErrors.NonPositivePrice.selector, feed, answer));
        if (updatedAt == 0) return (0, abi.encodeWithSelector(IOracleErrors.PriceNotUpdated.selector, feed));
        if (updatedAt > block.timestamp) {
            return (0, abi.encodeWithSelector(IOracleErrors.PriceFromFuture.selector, feed, updatedAt, block.timestamp));
        }
        if (block.timestamp - updatedAt > heartbeat) {
            return (0, abi.encodeWithSelector(IOracleErrors.StalePrice.selector, feed, updatedAt, heartbeat));
        }
        priceWad = toWad(uint256(answer), feedDecimals);
        if (priceWad == 0) return (0, abi.encodeWithSelector(IOracleErrors.PriceOutOfRange.selector, feed, answer));
    }

    /// @dev A positive feed answer with `feedDecimals` decimals as WAD, or 0 when it is zero after
    /// normalisation or above MAX_PRICE.
    function toWad(uint256 raw, uint256 feedDecimals) internal pure returns (uint256 priceWad) {
        if (feedDecimals <= 18) {
            uint256 factor = 10 ** (18 - feedDecimals);
            priceWad = raw <= ConstantsLib.MAX_PRICE / factor ? raw * factor : type(uint256).max;
        } else {
            priceWad = raw / 10 ** (feedDecimals - 18);
        }
        if (priceWad > ConstantsLib.MAX_PRICE) priceWad = 0;
    }

    /// @dev Empty when the L2 sequencer (Chainlink uptime feed: 0 = up) is up and has been for
    /// longer than `gracePeriod`, else the ABI-encoded custom error. No feed (address 0) means L1.
    function trySequencer(address sequencerFeed, uint256 gracePeriod) internal view returns (bytes memory err) {
        if (sequencerFeed == address(0)) return err;
        int256 answer;
        uint256 startedAt;
        (err, answer, startedAt,) = _latestRoundData(sequencerFeed);
        if (err.length != 0) return err;
        // startedAt == 0 is an uninitialised round on some L2s: treat it like a down sequencer.
        if (answer != 0 || startedAt == 0) return abi.encodeWithSelector(IOracleErrors.SequencerDown.selector, sequencerFeed);
        if (startedAt > block.timestamp || block.timestamp - startedAt <= gracePeriod) {
            return abi.encodeWithSelector(IOracleErrors.SequencerGracePeriod.selector, startedAt, gracePeriod);
        }
    }

    /// @dev `latestRoundData` of `feed` with bounded gas, copying at most its five words. Returns
    /// the ABI-encoded PriceFeedCallFailed when the call reverts (or runs out of its gas), and
    /// InvalidFeedResponse when it answers fewer than 160 bytes or a roundId / answeredInRound
    /// above uint80 (what the ABI decoder would have reverted on).
    function _latestRoundData(address feed)
        private
        view
        returns (bytes memory err, int256 answer, uint256 startedAt, uint256 updatedAt)
    {
        bytes4 selector = AggregatorV3Interface.latestRoundData.selector;
        uint256 gasLimit = ConstantsLib.FEED_CALL_GAS;
        bool ok;
        uint256 size;
        uint256 roundId;
        uint256 answeredInRound;
        assembly ("memory-safe") {
            // Scratch memory past the free pointer: the call's input, then its first 160 bytes out.
            let ptr := mload(0x40)
            mstore(ptr, selector)
            ok := staticcall(gasLimit, feed, ptr, 4, ptr, 160)
            size := returndatasize()
            roundId := mload(ptr)
            answer := mload(add(ptr, 32))
            startedAt := mload(add(ptr, 64))
            updatedAt := mload(add(ptr, 96))
            answeredInRound := mload(add(ptr, 128))
        }
        if (!ok) return (abi.encodeWithSelector(IOracleErrors.PriceFeedCallFailed.selector, feed), 0, 0, 0);
        if (size < 160 || roundId > type(uint80).max || answeredInRound > type(uint80).max) {
            return (abi.encodeWithSelector(IOracleErrors.InvalidFeedResponse.selector, feed, size), 0, 0, 0);
        }
    }

    /// @dev Bubbles an error returned by `tryPrice` / `trySequencer`.
    function revertWith(bytes memory err) internal pure {
        assembly ("memory-safe") {
            revert(add(err, 32), mload(err))
        }
    }
}
