// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IBulkheadRouter} from "../interfaces/IBulkheadRouter.sol";

/// @notice A requester whose address refuses native tokens until told otherwise (a contract
/// wallet without a receive hook): its refunds must not block executions, and stay withdrawable.
contract NativeRefuser {
    error Refused();

    IBulkheadRouter internal immutable _router;
    bool public accepting;

    constructor(IBulkheadRouter router_, IERC20 token) {
        _router = router_;
        token.approve(address(router_), type(uint256).max);
    }

    function requestOpen(uint256 marketId, uint256 amount, uint256 size) external payable returns (uint256) {
        return _router.requestOpen{value: msg.value}(marketId, true, amount, size, type(uint256).max);
    }

    function accept() external {
        accepting = true;
    }

    function withdrawTo() external {
        _router.withdrawNative();
    }

    receive() external payable {
        if (!accepting) revert Refused();
    }
}
