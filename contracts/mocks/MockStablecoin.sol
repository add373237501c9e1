// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MockStablecoin
/// @notice Local-only stand-in for a USD stablecoin: configurable decimals, EIP-2612 permit and
/// an open faucet capped per call. Never deploy it to a public network.
contract MockStablecoin is ERC20, ERC20Permit {
    /// @notice The faucet was asked for more than its per-call cap.
    error FaucetCapExceeded(uint256 requested, uint256 cap);

    uint8 private immutable _decimals;
    /// @notice Most tokens one faucet call mints.
    uint256 public immutable faucetCap;

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _decimals = decimals_;
        faucetCap = 1_000_000_000 * 10 ** decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to` (at most `faucetCap` per call).
    function faucet(address to, uint256 amount) external {
        if (amount > faucetCap) revert FaucetCapExceeded(amount, faucetCap);
        _mint(to, amount);
    }
}
