// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

/// @title IExecutionFees
/// @notice Executor pay of two-step requests (trade requests and LP requests alike): the requester
/// escrows a native-token fee of at least the request kind's gas limit times its gas price; the
/// executor is paid the gas it used (plus the transaction's base and calldata gas) at the lower of
/// its own gas price and the price the fee was quoted at, never more than the fee; the rest returns
/// to the requester. A payment the recipient refuses is kept for it to withdraw, so no recipient
/// can block an execution or a cancellation.
interface IExecutionFees {
    /// @notice The execution fee sent is below the quote (gas limit × the transaction's gas price).
    error ExecutionFeeTooLow(uint256 paid, uint256 required);
    /// @notice A fee does not fit its storage (above 2^96 - 1 wei).
    error ExecutionFeeTooLarge(uint256 paid, uint256 max);
    /// @notice Nothing is owed to the caller.
    error NothingOwed(address account);

    /// @notice A native-token payment that `to` refused is kept for it to withdraw.
    event NativeOwed(address indexed to, uint256 amount);

    /// @notice Withdraws the native tokens refused payments left owed to the caller.
    function withdrawNative() external;

    /// @notice Native tokens owed to `account` by refused payments.
    function nativeOwed(address account) external view returns (uint256);
}
