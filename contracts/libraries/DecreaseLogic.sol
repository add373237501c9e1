// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";

import {IBulkhead, Market, Position, RiskParams, StoredLedger} from "../interfaces/IBulkhead.sol";
import {IBulkheadPool} from "../interfaces/IBulkheadPool.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";
import {BorrowLib} from "./BorrowLib.sol";
import {TradeLib} from "./TradeLib.sol";
import {PositionVault} from "../PositionVault.sol";

/// @title DecreaseLogic
/// @notice `decrease` and `close` of the engine.
/// @dev An external library (linked, reached by DELEGATECALL) so the engine stays under the
/// contract size limit. The engine has already checked the deadline, the caller's rights and the
/// size, read the validated price and, for a close, burned the position token; this runs the rest
/// with the engine's storage: checks, effects, the event, then the transfers.
library DecreaseLogic {
    using MathLib for uint256;

    /// @dev Values the engine passes in.
    struct Context {
        uint256 id;
        uint256 price;
        uint256 unit;
        uint256 protocolFeeShare;
        address owner;
        address token;
        address pool;
        address vault;
    }

    /// @dev Amounts of one decrease, kept in memory to stay within the stack.
    struct Decrease {
        address owner;
        bool isClose;
        uint256 price;
        uint256 index;
        uint256 newSize;
        uint256 reserve;
        uint256 newReserve;
        int256 pnl;
        uint256 borrowFee;
        uint256 closeFee;
        uint256 released;
        uint256 newCollateral;
        uint256 payout;
        uint256 donation;
    }

    /// @dev Realises `sizeDelta` (all of it on close): PnL on the delta capped by its share of the
    /// max profit, the whole borrow fee, the close fee on the delta's notional; releases the
    /// delta's share of collateral (rounded down) and pays max(net, 0) to the owner.
    /// @notice See {IBulkhead-decrease} and {IBulkhead-close}: realises `sizeDelta` (all of it
    /// on close): PnL on the delta capped by its share of the max profit, the whole borrow fee, the
    /// close fee on the delta's notional; releases the delta's share of collateral (rounded down)
    /// and pays max(net, 0) to the owner.
    function decrease(
        mapping(uint256 => Position) storage positions,
        Market storage m,
        RiskParams storage risk,
        StoredLedger storage ledger,
        Context calldata ctx,
        uint256 sizeDelta,
        uint256 acceptablePrice
    ) external {
        Position storage s = positions[ctx.id];
        Position memory p = s;
        Decrease memory d;
        d.owner = ctx.owner;
        d.price = ctx.price;
        TradeLib.checkSlippage(!p.isLong, d.price, acceptablePrice);
        d.index = BorrowLib.accrue(m, ledger, ctx.unit);
        d.isClose = sizeDelta == p.size;
        d.newSize = p.size - sizeDelta;
        d.borrowFee = TradeLib.settleBorrowFee(m, p, d.index, ctx.unit);
        uint256 profitFactor = p.maxProfitFactorBps;
        d.reserve = PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, ctx.unit);
        d.newReserve = PositionMath.maxProfitUp(d.newSize, p.entryPrice, profitFactor, ctx.unit);
        d.pnl = PositionMath.pnl(p.isLong, sizeDelta, p.entryPrice, d.price, ctx.unit);
        int256 cap = MathLib.toInt(d.reserve.mulDivDown(sizeDelta, p.size));
        if (d.pnl > cap) d.pnl = cap;
        d.closeFee = PositionMath.closeFeeUp(PositionMath.notionalUp(sizeDelta, d.price, ctx.unit), m.closeFeeRate, risk.mmr);
        d.released = d.isClose ? p.collateral : uint256(p.collateral).mulDivDown(sizeDelta, p.size);
        _settleDecrease(ctx.id, p, d, m, risk, ctx.unit);

        TradeLib.removeOpenInterest(m, p.isLong, sizeDelta, sizeDelta * p.entryPrice, d.reserve - d.newReserve);
        ledger.reserved -= uint112(d.reserve - d.newReserve);
        d.payout -= _bookTraderSettlement(ledger, ctx.protocolFeeShare, d);

        if (d.isClose) {
            // The engine burned the position token before calling in.
            d.donation = SafeTransferLib.balanceOf(ctx.token, ctx.vault) - p.collateral;
            delete positions[ctx.id];
        } else {
            s.size = uint128(d.newSize);
            s.collateral = uint96(d.newCollateral);
            s.borrowIndex = uint96(d.index);
        }
        emit IBulkhead.PositionDecreased(
            ctx.id, d.owner, sizeDelta, d.price, d.pnl, d.borrowFee, d.closeFee, d.payout, d.newSize, d.newCollateral, d.index
        );
        _payDecrease(ctx, p.collateral, d);
    }

    /// @dev net = released + pnl - fees: paid out when positive, else taken from the remaining
    /// collateral (a close cannot leave the trader owing). The rest must keep initial margin and
    /// come out healthy.
    function _settleDecrease(
        uint256 id,
        Position memory p,
        Decrease memory d,
        Market storage m,
        RiskParams storage risk,
        uint256 unit
    ) private view {
        int256 net = MathLib.toInt(d.released) + d.pnl - MathLib.toInt(d.borrowFee + d.closeFee);
        if (net >= 0) {
            d.newCollateral = p.collateral - d.released;
            d.payout = uint256(net);
        } else {
            if (d.isClose || uint256(-net) > p.collateral - d.released) revert IBulkhead.PositionUnderwater(id, net);
            d.newCollateral = p.collateral - d.released - uint256(-net);
        }
        if (!d.isClose) {
            TradeLib.checkMarginAfterChange(
                PositionMath.equity(
                    d.newCollateral,
                    PositionMath.cappedPnl(
                        PositionMath.pnl(p.isLong, d.newSize, p.entryPrice, d.price, unit), d.newReserve
                    ),
                    0
                ),
                PositionMath.notionalUp(d.newSize, d.price, unit),
                d.newCollateral,
                m,
                risk
            );
        }
    }

    /// @dev Vault pays the owner first (plus any donation on close) and the pool the rest of what
    /// leaves it; the pool pays the owner's profit beyond the released collateral.
    function _payDecrease(Context calldata ctx, uint256 collateral, Decrease memory d) private {
        uint256 vaultOut = collateral - d.newCollateral;
        uint256 vaultToOwner = d.payout < vaultOut ? d.payout : vaultOut;
        PositionVault vault = PositionVault(ctx.vault);
        if (vaultToOwner + d.donation != 0) vault.transfer(d.owner, vaultToOwner + d.donation);
        if (vaultOut > vaultToOwner) vault.transfer(ctx.pool, vaultOut - vaultToOwner);
        if (d.payout > vaultToOwner) IBulkheadPool(ctx.pool).pay(d.owner, d.payout - vaultToOwner);
    }

    /// @dev Books a trader's realised borrow fee, close fee and PnL in the ledger. A trader profit
    /// is paid from LP assets; only after socialised bad debt can LP assets fall short, in which
    /// case the insurance fund pays and whatever neither can pay is returned as `unpaid` (at most
    /// `payout`; the protocol's fee cut of this very trade gives back any excess).
    function _bookTraderSettlement(StoredLedger storage ledger, uint256 protocolFeeShare, Decrease memory d)
        private
        returns (uint256 unpaid)
    {
        uint256 protocolCut = d.closeFee.wMulDown(protocolFeeShare);
        if (protocolCut != 0) ledger.protocolFees += uint128(protocolCut);
        int256 lpDelta = MathLib.toInt(d.borrowFee + d.closeFee - protocolCut) - d.pnl;
        uint256 lpAssets = ledger.lpAssets;
        if (lpDelta >= 0) {
            ledger.lpAssets = uint112(lpAssets + uint256(lpDelta));
            return 0;
        }
        uint256 owed = uint256(-lpDelta);
        if (owed <= lpAssets) {
            ledger.lpAssets = uint112(lpAssets - owed);
            return 0;
        }
        ledger.lpAssets = 0;
        owed -= lpAssets;
        uint256 insurance = ledger.insuranceFund;
        uint256 fromInsurance = owed < insurance ? owed : insurance;
        ledger.insuranceFund = uint128(insurance - fromInsurance);
        unpaid = owed - fromInsurance;
        if (unpaid > d.payout) {
            ledger.protocolFees -= uint128(unpaid - d.payout);
            unpaid = d.payout;
        }
    }

}
