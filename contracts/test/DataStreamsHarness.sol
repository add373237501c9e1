// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataStreamsLib} from "../oracles/DataStreamsLib.sol";
import {IVerifierProxy, ReportV3} from "../interfaces/IDataStreams.sol";

/// @notice Exposes DataStreamsLib for tests: verify through a real VerifierProxy, then check.
contract DataStreamsHarness {
    IVerifierProxy public immutable proxy;

    event Checked(bytes32 feedId, uint256 observationsTimestamp, uint256 price, uint256 bid, uint256 ask);

    constructor(IVerifierProxy proxy_) {
        proxy = proxy_;
    }

    function verifyAndCheck(bytes calldata signedReport, bytes32 feedId, uint256 feedPrice, uint256 maxDeviationBps)
        external
        returns (uint256 price, uint256 bid, uint256 ask)
    {
        ReportV3 memory r = DataStreamsLib.verify(proxy, signedReport);
        (price, bid, ask) = DataStreamsLib.check(r, feedId, feedPrice, maxDeviationBps);
        emit Checked(r.feedId, r.observationsTimestamp, price, bid, ask);
    }

    function check(ReportV3 memory r, bytes32 feedId, uint256 feedPrice, uint256 maxDeviationBps)
        external
        view
        returns (uint256, uint256, uint256)
    {
        return DataStreamsLib.check(r, feedId, feedPrice, maxDeviationBps);
    }
}
