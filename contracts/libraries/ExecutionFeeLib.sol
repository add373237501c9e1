// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IExecutionFees} from "../interfaces/IExecutionFees.sol";

/// @title ExecutionFeeLib
/// @notice The executor-pay arithmetic and native-token payments of {IExecutionFees}, shared by the
/// request router and the pool.
library ExecutionFeeLib {
    /// @dev Gas every transaction pays before the first opcode runs.
    uint256 internal constant TX_BASE_GAS = 21_000;
    /// @dev Gas per calldata byte, charged at the non-zero rate: an upper bound on the calldata cost.
    uint256 internal constant CALLDATA_GAS_PER_BYTE = 16;
    /// @dev Gas forwarded to a native-token recipient: enough for a wallet's receive hook, too little
    /// to re-enter anything costly (every entry is nonReentrant anyway).
    uint256 internal constant PAYMENT_GAS = 10_000;

    /// @dev The fee a request with `gasLimit` needs at the transaction's gas price, and at most
    /// `max` (what its record stores); reverts outside.
    function checkPaid(uint256 paid, uint256 gasLimit, uint256 max) internal view {
        uint256 required = gasLimit * tx.gasprice;
        if (paid < required) revert IExecutionFees.ExecutionFeeTooLow(paid, required);
        if (paid > max) revert IExecutionFees.ExecutionFeeTooLarge(paid, max);
    }

    /// @dev The executor's share of `fee`, rounded down (in the requester's favour): the gas used
    /// since `gasStart`, plus the transaction's base and calldata gas, at min(tx.gasprice,
    /// fee / gasLimit), capped at `fee`. The rest is the requester's refund.
    function split(uint256 fee, uint256 gasLimit, uint256 gasStart)
        internal
        view
        returns (uint256 toExecutor, uint256 refund)
    {
        uint256 used = gasStart - gasleft() + TX_BASE_GAS + msg.data.length * CALLDATA_GAS_PER_BYTE;
        uint256 quoted = fee / gasLimit;
        uint256 gasPrice = tx.gasprice < quoted ? tx.gasprice : quoted;
        toExecutor = used * gasPrice;
        if (toExecutor > fee) toExecutor = fee;
        refund = fee - toExecutor;
    }

    /// @dev Pays `amount` wei to `to` with bounded gas; if `to` refuses, credits `owed[to]` instead.
    function pay(mapping(address => uint256) storage owed, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        assembly ("memory-safe") {
            ok := call(PAYMENT_GAS, to, amount, 0, 0, 0, 0)
        }
        if (!ok) {
            owed[to] += amount;
            emit IExecutionFees.NativeOwed(to, amount);
        }
    }

    /// @dev Withdraws what `owed` holds for the caller, with all the gas it needs.
    function withdraw(mapping(address => uint256) storage owed) internal {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert IExecutionFees.NothingOwed(msg.sender);
        owed[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) {
            assembly ("memory-safe") {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }
}
