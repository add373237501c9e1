// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IBulkhead, Market, Position, RiskParams, StoredLedger} from "../interfaces/IBulkhead.sol";
import {IBulkheadPool} from "../interfaces/IBulkheadPool.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";
import {BorrowLib} from "./BorrowLib.sol";
import {TradeLib} from "./TradeLib.sol";
import {PositionVault} from "../PositionVault.sol";

/// @title IncreaseLogic
/// @notice `increase` of the engine: settles the position at the price, then adds size (and
/// optional collateral) to it at that price.
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
        uint256 newCollateral;
        uint256 borrowFee;
        uint256 openFee;
        uint256 oldReserve;
        uint256 newReserve;
        uint256 factor;
        int256 realisedPnl;
    }

    /// @notice See {IBulkhead-increase}. `risk` is the market's current risk version, which the
    /// position moves to.
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
        x.index = BorrowLib.accrue(m, ledger, ctx.unit);
        x.borrowFee = TradeLib.settleBorrowFee(m, p, x.index, ctx.unit);

        // The old leg settles at the price, capped at its own cap; what is left of that cap, per
        // unit of its size, bounds the factor the whole position carries from here.
        x.oldReserve = PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, ctx.unit);
        x.realisedPnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, ctx.price, ctx.unit);
        int256 cap = MathLib.toInt(x.oldReserve);
        if (x.realisedPnl > cap) x.realisedPnl = cap;
        x.factor = PositionMath.carriedProfitFactorDown(
            p.size, ctx.price, uint256(cap - x.realisedPnl), risk.maxProfitFactorBps, ctx.unit
        );
        uint256 newNotional = PositionMath.notionalUp(x.newSize, ctx.price, ctx.unit);
        int256 collateralAfter = MathLib.toInt(withCollateral) + x.realisedPnl - MathLib.toInt(x.borrowFee);
        if (collateralAfter < 0) {
            revert IBulkhead.InsufficientMargin(collateralAfter, PositionMath.initialMarginUp(newNotional, m.maxLeverage));
        }
        x.newCollateral = uint256(collateralAfter);
        if (x.newCollateral > ConstantsLib.MAX_COLLATERAL) {
            revert IBulkhead.AmountTooLarge(x.newCollateral, ConstantsLib.MAX_COLLATERAL);
        }
        // Entry = price: the new position has no PnL yet, its equity is its collateral.
        TradeLib.checkMarginAfterChange(MathLib.toInt(x.newCollateral), newNotional, x.newCollateral, m, risk);
        x.newReserve = PositionMath.maxProfitUp(x.newSize, ctx.price, x.factor, ctx.unit);
        TradeLib.removeOpenInterest(m, p.isLong, 0, uint256(p.size) * p.entryPrice, x.oldReserve);
        TradeLib.addOpenInterest(m, ctx.marketId, p.isLong, sizeDelta, x.newSize * ctx.price, x.newReserve);
        x.openFee = PositionMath.notionalUp(sizeDelta, ctx.price, ctx.unit).wMulUp(m.openFeeRate);
        _bookIncrease(ledger, ctx.protocolFeeShare, x);

        uint32 riskVersion = m.riskVersion;
        s.size = uint128(x.newSize);
        s.entryPrice = uint96(ctx.price);
        s.collateral = uint96(x.newCollateral);
        s.borrowIndex = uint96(x.index);
        s.riskVersion = riskVersion;
        s.maxProfitFactorBps = uint32(x.factor);
        emit IBulkhead.PositionIncreased(
            ctx.id,
            sizeDelta,
            collateralDelta,
            ctx.price,
            x.realisedPnl,
            x.openFee,
            x.borrowFee,
            x.newSize,
            ctx.price,
            x.newCollateral,
            x.index,
            riskVersion,
            x.factor
        );
        _payIncrease(ctx, collateralDelta, x);
    }

    /// @dev Releases the old reserve, pays a realised profit out of LP assets (a loss goes to
    /// them), reserves the new cap, and books the open fee (protocol share rounded down) and the
    /// borrow fee. Free liquidity after the release must cover the new reserve plus the profit
    /// paid out of it.
    function _bookIncrease(StoredLedger storage ledger, uint256 protocolFeeShare, Increase memory x) private {
        uint256 lpAssets = ledger.lpAssets;
        uint256 reserved = ledger.reserved - x.oldReserve;
        uint256 free = MathLib.zeroFloorSub(lpAssets, reserved);
        uint256 profit = x.realisedPnl > 0 ? uint256(x.realisedPnl) : 0;
        if (x.newReserve + profit > free) revert IBulkhead.InsufficientFreeLiquidity(free, x.newReserve + profit);
        uint256 protocolCut = x.openFee.wMulDown(protocolFeeShare);
        ledger.reserved = uint112(reserved + x.newReserve);
        ledger.lpAssets = uint112(
            uint256(MathLib.toInt(lpAssets + x.openFee - protocolCut + x.borrowFee) - x.realisedPnl)
        );
        if (protocolCut != 0) ledger.protocolFees += uint128(protocolCut);
    }

    /// @dev The borrow fee and a realised loss leave the vault, paid from the new collateral
    /// first; a realised profit comes from the pool, netted against the borrow fee. Every pull
    /// from the caller checks the received amount (fee-on-transfer tokens revert).
    function _payIncrease(Context calldata ctx, uint256 collateralDelta, Increase memory x) private {
        int256 owed = MathLib.toInt(x.borrowFee) - x.realisedPnl;
        uint256 fromTrader;
        if (owed > 0) fromTrader = uint256(owed) < collateralDelta ? uint256(owed) : collateralDelta;
        if (collateralDelta > fromTrader) {
            TradeLib.pullExact(ctx.token, msg.sender, ctx.vault, collateralDelta - fromTrader);
        }
        if (x.openFee + fromTrader != 0) TradeLib.pullExact(ctx.token, msg.sender, ctx.pool, x.openFee + fromTrader);
        if (owed > 0) {
            if (uint256(owed) > fromTrader) PositionVault(ctx.vault).transfer(ctx.pool, uint256(owed) - fromTrader);
        } else if (owed < 0) {
            IBulkheadPool(ctx.pool).pay(ctx.vault, uint256(-owed));
        }
    }
}
