// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IBulkhead, StoredLedger} from "../interfaces/IBulkhead.sol";
import {IBulkheadPool} from "../interfaces/IBulkheadPool.sol";
import {MathLib} from "./MathLib.sol";
import {BorrowLib} from "./BorrowLib.sol";
import {TradeLib} from "./TradeLib.sol";

/// @title PoolLogic
/// @notice The engine's side of LP liquidity, the insurance fund and protocol fees.
/// @dev An external library (linked, reached by DELEGATECALL) so the engine stays under the
/// contract size limit; it writes the engine's storage through the pointers it is given and its
/// events are the engine's. No trade reaches it.
library PoolLogic {
    /// @notice Books an LP deposit the pool already received. The utilisation integrals move to
    /// now first, so the old utilisation applies up to this block and the new one from it (no
    /// market needs touching: every index follows the integrals).
    function onDeposit(StoredLedger storage ledger, uint256 assets) external {
        BorrowLib.checkpoint(ledger);
        uint256 lpAssets = ledger.lpAssets + assets;
        if (lpAssets > type(uint112).max) revert IBulkhead.AmountTooLarge(lpAssets, type(uint112).max);
        ledger.lpAssets = uint112(lpAssets);
        emit IBulkhead.LiquidityChanged(MathLib.toInt(assets), lpAssets);
    }

    /// @notice Books an LP withdrawal; reverts when it would take LP assets below reserved. The
    /// utilisation integrals move to now first (see `onDeposit`).
    function onWithdraw(StoredLedger storage ledger, uint256 assets) external {
        BorrowLib.checkpoint(ledger);
        uint256 lpAssets = ledger.lpAssets;
        uint256 reserved = ledger.reserved;
        uint256 free = MathLib.zeroFloorSub(lpAssets, reserved);
        if (assets > free) revert IBulkhead.InsufficientFreeLiquidity(free, assets);
        lpAssets -= assets;
        ledger.lpAssets = uint112(lpAssets);
        emit IBulkhead.LiquidityChanged(-MathLib.toInt(assets), lpAssets);
    }

    /// @notice Pulls `amount` from the caller into the pool for the insurance fund.
    function fundInsurance(StoredLedger storage ledger, address token, address pool, uint256 amount) external {
        if (amount == 0) revert IBulkhead.ZeroAmount();
        uint256 insurance = ledger.insuranceFund + amount;
        if (insurance > type(uint128).max) revert IBulkhead.AmountTooLarge(insurance, type(uint128).max);
        ledger.insuranceFund = uint128(insurance);
        emit IBulkhead.InsuranceFunded(msg.sender, amount);
        TradeLib.pullExact(token, msg.sender, pool, amount);
    }

    /// @notice Pays `amount` of protocol fees from the pool to `to`.
    function withdrawProtocolFees(StoredLedger storage ledger, address pool, address to, uint256 amount) external {
        uint256 fees = ledger.protocolFees;
        if (amount > fees) revert IBulkhead.AmountTooLarge(amount, fees);
        ledger.protocolFees = uint128(fees - amount);
        emit IBulkhead.ProtocolFeesWithdrawn(to, amount);
        IBulkheadPool(pool).pay(to, amount);
    }
}
