// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";

import {IBulkhead, Market, Position, RiskParams, StoredLedger} from "../interfaces/IBulkhead.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";
import {BorrowLib} from "./BorrowLib.sol";
import {TradeLib} from "./TradeLib.sol";
import {PositionVault} from "../PositionVault.sol";

/// @title IncreaseLogic
/// @notice `increase` of the engine: adds size (and optional collateral) to a position.
/// @dev An external library (linked, reached by DELEGATECALL) so the engine stays under the
/// contract size limit. The engine has already checked the deadline, the caller's rights, the
/// pause and read the validated price; this runs the rest with the engine's storage.
library IncreaseLogic {
    using MathLib for uint256;

    /// @dev Values the engine passes in.
    struct Context {
        uint256 id;
        uint256 marketId;
        uint256 price;
        uint256 unit;
        uint256 protocolFeeShare;
        address token;
        address pool;
        address vault;
    }

    /// @dev Amounts of one increase, kept in memory to stay within the stack.
    struct Increase {
        uint256 index;
        uint256 newSize;
        uint256 newEntry;
        uint256 newCollateral;
        uint256 borrowFee;
        uint256 openFee;
    }

    /// @notice See {IBulkhead-increase}. The entry becomes the size-weighted average, rounded
    /// against the trader (up for a long, down for a short); the borrow fee so far is settled from
    /// collateral; the open fee on the added notional is pulled from the caller.
    function increase(
        Position storage s,
        Market storage m,
        RiskParams storage risk,
        StoredLedger storage ledger,
        Context calldata ctx,
        uint256 collateralDelta,
        uint256 sizeDelta,
        uint256 acceptablePrice
    ) external {
        if (sizeDelta == 0) revert IBulkhead.ZeroAmount();
        Position memory p = s;
        Increase memory x;
        x.newSize = p.size + sizeDelta;
        if (x.newSize > ConstantsLib.MAX_SIZE) revert IBulkhead.AmountTooLarge(x.newSize, ConstantsLib.MAX_SIZE);
        uint256 withCollateral = p.collateral + collateralDelta;
        if (withCollateral > ConstantsLib.MAX_COLLATERAL) {
            revert IBulkhead.AmountTooLarge(withCollateral, ConstantsLib.MAX_COLLATERAL);
        }
        TradeLib.checkSlippage(p.isLong, ctx.price, acceptablePrice);
        x.index = BorrowLib.accrue(m, ctx.unit);
        x.borrowFee = TradeLib.settleBorrowFee(m, p, x.index, ctx.unit);

        uint256 oldBase = uint256(p.size) * p.entryPrice;
        uint256 newBase = oldBase + sizeDelta * ctx.price;
        x.newEntry = p.isLong ? newBase.mulDivUp(1, x.newSize) : newBase / x.newSize;
        uint256 newNotional = PositionMath.notionalUp(x.newSize, ctx.price, ctx.unit);
        if (x.borrowFee > withCollateral) {
            revert IBulkhead.InsufficientMargin(
                MathLib.toInt(withCollateral) - MathLib.toInt(x.borrowFee),
                PositionMath.initialMarginUp(newNotional, m.maxLeverage)
            );
        }
        x.newCollateral = withCollateral - x.borrowFee;
        TradeLib.checkMarginAfterChange(
            PositionMath.equity(
                x.newCollateral,
                PositionMath.cappedPnl(
                    PositionMath.pnl(p.isLong, x.newSize, x.newEntry, ctx.price, ctx.unit),
                    PositionMath.maxProfitUp(x.newSize, x.newEntry, risk.maxProfitFactorBps, ctx.unit)
                ),
                0
            ),
            newNotional,
            x.newCollateral,
            m,
            risk
        );
        // A short's averaged entry rounds down, so its new base can be below the old one.
        TradeLib.removeOpenInterest(m, p.isLong, 0, oldBase);
        TradeLib.addOpenInterest(m, ctx.marketId, p.isLong, sizeDelta, x.newSize * x.newEntry);
        x.openFee = PositionMath.notionalUp(sizeDelta, ctx.price, ctx.unit).wMulUp(m.openFeeRate);
        uint256 oldReserve = PositionMath.maxProfitUp(p.size, p.entryPrice, risk.maxProfitFactorBps, ctx.unit);
        uint256 newReserve = PositionMath.maxProfitUp(x.newSize, x.newEntry, risk.maxProfitFactorBps, ctx.unit);
        if (newReserve < oldReserve) ledger.reserved -= uint112(oldReserve - newReserve);
        TradeLib.reserveAndBookFee(
            ledger, ctx.protocolFeeShare, newReserve > oldReserve ? newReserve - oldReserve : 0, x.openFee, x.borrowFee
        );
        BorrowLib.refreshRate(m, ledger.lpAssets, ledger.reserved);

        s.size = uint128(x.newSize);
        s.entryPrice = uint96(x.newEntry);
        s.collateral = uint96(x.newCollateral);
        s.borrowIndex = uint96(x.index);
        emit IBulkhead.PositionIncreased(
            ctx.id,
            sizeDelta,
            collateralDelta,
            ctx.price,
            x.openFee,
            x.borrowFee,
            x.newSize,
            x.newEntry,
            x.newCollateral,
            x.index
        );
        // The borrow fee is paid from the new collateral first; the vault moves only the rest.
        uint256 feeFromTrader = x.borrowFee < collateralDelta ? x.borrowFee : collateralDelta;
        if (collateralDelta > feeFromTrader) {
            TradeLib.pullExact(ctx.token, msg.sender, ctx.vault, collateralDelta - feeFromTrader);
        }
        if (x.openFee + feeFromTrader != 0) {
            SafeTransferLib.safeTransferFrom(ctx.token, msg.sender, ctx.pool, x.openFee + feeFromTrader);
        }
        if (x.borrowFee > feeFromTrader) PositionVault(ctx.vault).transfer(ctx.pool, x.borrowFee - feeFromTrader);
    }
}
