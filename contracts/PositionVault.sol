// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title PositionVault
/// @notice Holds one position's collateral. Every position vault is an EIP-1167 clone of this
/// implementation, deployed by the engine with CREATE2 from the position id.
/// @dev The engine and token are immutables of the implementation; clones delegate to its code,
/// so they read the same values and need no initialisation (nothing to front-run).
contract PositionVault {
    using SafeERC20 for IERC20;

    /// @notice The caller is not the engine.
    error VaultUnauthorized(address caller);

    /// @notice The engine, the only account that can move tokens out of a vault.
    address public immutable engine;
    /// @notice The collateral token.
    IERC20 public immutable token;

    constructor(IERC20 token_) {
        engine = msg.sender;
        token = token_;
    }

    /// @notice Sends `amount` of the collateral token to `to`. Engine only.
    function transfer(address to, uint256 amount) external {
        if (msg.sender != engine) revert VaultUnauthorized(msg.sender);
        token.safeTransfer(to, amount);
    }
}
