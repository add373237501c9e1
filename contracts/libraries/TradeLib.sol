// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";

import {IBulkhead, Market, Position, RiskParams, StoredLedger} from "../interfaces/IBulkhead.sol";
import {IBulkheadRouter} from "../interfaces/IBulkheadRouter.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title TradeLib
/// @notice Checks and bookkeeping shared by every trader action, in the engine and in
/// {IncreaseLogic}: slippage, initial margin, open interest, reserves and fees, exact pulls.
library TradeLib {
    using MathLib for uint256;

    /// @dev A buyer (long open/increase, short reduce) accepts prices up to `acceptable`; a
    /// seller accepts prices down to it.
    function checkSlippage(bool buying, uint256 price, uint256 acceptable) internal pure {
        if (buying ? price > acceptable : price < acceptable) revert IBulkhead.SlippageExceeded(acceptable, price);
    }

    /// @dev Initial margin, and the position comes out healthy: equity >= max(notional /
    /// maxLeverage, maintenance), so it is not liquidatable in the block of the change. After an
    /// increase, decrease or collateral removal an unrealised loss can leave equity below
    /// minCollateral, where the minimum liquidation fee can lift maintenance above initial margin;
    /// at open, rounding alone can (two ceilings against one, e.g. mmr 1 %, fee rate 1 % - 1 wei
    /// at 50x). `equity` must use the capped pnl, as health does.
    function checkMarginAfterChange(
        int256 equity,
        uint256 notional,
        uint256 collateral,
        Market storage m,
        RiskParams memory risk
    ) internal view {
        uint256 required = PositionMath.marginAfterChangeUp(
            notional, m.maxLeverage, risk.mmr, risk.liquidationFeeRate, risk.minLiquidationFee
        );
        if (equity < MathLib.toInt(required)) revert IBulkhead.InsufficientMargin(equity, required);
        uint256 minimum = m.minCollateral;
        if (collateral < minimum) revert IBulkhead.CollateralBelowMinimum(collateral, minimum);
    }

    /// @dev Adds size (capped per side), Σsize·entry and the reserved max profit to a market side.
    /// The side reserves are unchecked: their sum is the ledger's reserved (a uint112 bounded by
    /// LP assets), and a delta too large for it makes the caller's reserve check revert.
    function addOpenInterest(
        Market storage m,
        uint256 marketId,
        bool isLong,
        uint256 sizeDelta,
        uint256 baseDelta,
        uint256 reserveDelta
    ) internal {
        if (isLong) {
            uint256 oi = m.longSize + sizeDelta;
            uint256 cap = m.maxLongOpenInterest;
            if (oi > cap) revert IBulkhead.OpenInterestCapExceeded(marketId, true, oi, cap);
            m.longSize = uint128(oi);
            m.longSizeEntry += baseDelta;
            unchecked {
                m.longReserved += uint112(reserveDelta);
            }
        } else {
            uint256 oi = m.shortSize + sizeDelta;
            uint256 cap = m.maxShortOpenInterest;
            if (oi > cap) revert IBulkhead.OpenInterestCapExceeded(marketId, false, oi, cap);
            m.shortSize = uint128(oi);
            m.shortSizeEntry += baseDelta;
            unchecked {
                m.shortReserved += uint112(reserveDelta);
            }
        }
    }

    /// @dev Removes size, Σsize·entry and the reserved max profit from a market side (the reserve
    /// a position added, so the unchecked subtraction cannot wrap).
    function removeOpenInterest(Market storage m, bool isLong, uint256 sizeDelta, uint256 baseDelta, uint256 reserveDelta)
        internal
    {
        if (isLong) {
            m.longSize -= uint128(sizeDelta);
            m.longSizeEntry -= baseDelta;
            unchecked {
                m.longReserved -= uint112(reserveDelta);
            }
        } else {
            m.shortSize -= uint128(sizeDelta);
            m.shortSizeEntry -= baseDelta;
            unchecked {
                m.shortReserved -= uint112(reserveDelta);
            }
        }
    }

    /// @dev Reserves `reserveDelta` of free liquidity (LP assets - reserved) and books a trading
    /// fee (protocol share rounded down, the rest to LPs) plus `lpIncome` (a settled borrow fee).
    function reserveAndBookFee(
        StoredLedger storage ledger,
        uint256 protocolFeeShare,
        uint256 reserveDelta,
        uint256 fee,
        uint256 lpIncome
    ) internal {
        uint256 lpAssets = ledger.lpAssets;
        uint256 reserved = ledger.reserved;
        uint256 free = MathLib.zeroFloorSub(lpAssets, reserved);
        if (reserveDelta > free) revert IBulkhead.InsufficientFreeLiquidity(free, reserveDelta);
        uint256 protocolCut = fee.wMulDown(protocolFeeShare);
        ledger.reserved = uint112(reserved + reserveDelta);
        ledger.lpAssets = uint112(lpAssets + fee - protocolCut + lpIncome);
        if (protocolCut != 0) ledger.protocolFees += uint128(protocolCut);
    }

    /// @dev The borrow fee a position owes at `index` (rounded up), removed from the market's
    /// accrued total (which rounded down, so the subtraction floors at zero).
    function settleBorrowFee(Market storage m, Position memory p, uint256 index, uint256 unit)
        internal
        returns (uint256 fee)
    {
        fee = PositionMath.borrowFeeUp(p.size, p.entryPrice, index - p.borrowIndex, unit);
        m.accruedBorrowFees = uint104(MathLib.zeroFloorSub(m.accruedBorrowFees, fee));
    }

    /// @dev transferFrom that reverts unless `to` received exactly `amount` (no fee on transfer).
    function pullExact(address token, address from, address to, uint256 amount) internal {
        uint256 before = SafeTransferLib.balanceOf(token, to);
        SafeTransferLib.safeTransferFrom(token, from, to, amount);
        uint256 received = SafeTransferLib.balanceOf(token, to) - before;
        if (received != amount) revert IBulkhead.TransferAmountMismatch(amount, received);
    }

    /// @dev The position `positionId`, if `caller` may trade it (its owner, approved for it, or the
    /// owner's operator); the request router and the order book check this at placement.
    function authorizedPosition(IBulkhead engine, uint256 positionId, address caller)
        internal
        view
        returns (Position memory p)
    {
        p = engine.position(positionId);
        if (p.size == 0) revert IBulkheadRouter.PositionNotFound(positionId);
        if (!mayTrade(engine, positionId, caller)) revert IBulkheadRouter.NotPositionOwner(positionId, caller);
    }

    /// @dev Whether `account` may trade the existing position `positionId`: its owner or an
    /// ERC-721 approved address or operator.
    function mayTrade(IBulkhead engine, uint256 positionId, address account) internal view returns (bool) {
        IERC721 nft = IERC721(address(engine));
        address owner = nft.ownerOf(positionId);
        return account == owner || nft.getApproved(positionId) == account || nft.isApprovedForAll(owner, account);
    }
}
