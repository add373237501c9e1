// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {Position, RiskParams, Health} from "../interfaces/IBulkhead.sol";
import {MathLib} from "../libraries/MathLib.sol";
import {PositionMath} from "../libraries/PositionMath.sol";
import {HealthLib} from "../libraries/HealthLib.sol";

/// @title PositionMathHarness
/// @notice Test-only: exposes MathLib, PositionMath and HealthLib for the SDK parity test, which
/// feeds the same inputs to the SDK's TypeScript mirror and requires exact equality.
/// @dev `run` evaluates a batch of cases; a case whose math reverts (overflow, division by zero)
/// comes back with ok = false instead of failing the whole batch, so reverts are compared too.
contract PositionMathHarness {
    using MathLib for uint256;

    /// @notice One set of inputs; every library function is evaluated on (parts of) it.
    struct Case {
        bool isLong;
        uint256 size;
        uint256 entry;
        uint256 price;
        uint256 collateral;
        uint256 borrowIndex;
        uint256 index;
        uint256 unit;
        uint256 mmr;
        uint256 liquidationFeeRate;
        uint256 minLiquidationFee;
        uint256 maxProfitFactorBps;
        uint256 maxLeverage;
        uint256 minCollateral;
    }

    /// @notice Every library output for one case.
    struct Result {
        bool ok;
        uint256 notionalDown;
        uint256 notionalUp;
        int256 pnl;
        uint256 borrowFeeUp;
        uint256 maxProfitUp;
        uint256 liquidationFeeUp;
        uint256 maintenanceUp;
        uint256 initialMarginUp;
        int256 equity;
        uint256 liquidationPrice;
        uint256 liquidationPriceHigh;
        uint256 liquidationFeeDown;
        uint256 closeFeeUp;
        int256 cappedPnl;
        Health health;
        int256 equityWithoutProfit;
        uint256 marginAfterChangeUp;
        uint256 maxRemovableCollateral;
    }

    /// @notice Evaluates every case; ok = false where the library reverted.
    function run(Case[] calldata cases) external view returns (Result[] memory out) {
        out = new Result[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            try this.evaluate(cases[i]) returns (Result memory r) {
                out[i] = r;
                out[i].ok = true;
            } catch {}
        }
    }

    /// @notice Evaluates one case (reverts where the library does).
    function evaluate(Case calldata c) external pure returns (Result memory r) {
        r.notionalDown = PositionMath.notionalDown(c.size, c.price, c.unit);
        r.notionalUp = PositionMath.notionalUp(c.size, c.price, c.unit);
        r.pnl = PositionMath.pnl(c.isLong, c.size, c.entry, c.price, c.unit);
        r.borrowFeeUp = PositionMath.borrowFeeUp(c.size, c.entry, c.index - c.borrowIndex, c.unit);
        r.maxProfitUp = PositionMath.maxProfitUp(c.size, c.entry, c.maxProfitFactorBps, c.unit);
        r.liquidationFeeUp = PositionMath.liquidationFeeUp(r.notionalUp, c.liquidationFeeRate, c.minLiquidationFee);
        r.maintenanceUp = PositionMath.maintenanceUp(r.notionalUp, c.mmr, c.liquidationFeeRate, c.minLiquidationFee);
        r.initialMarginUp = PositionMath.initialMarginUp(r.notionalUp, c.maxLeverage);
        r.equity = PositionMath.equity(c.collateral, r.pnl, r.borrowFeeUp);
        r.liquidationPrice = PositionMath.liquidationPrice(
            c.isLong,
            c.size,
            c.entry,
            c.collateral,
            r.borrowFeeUp,
            r.maxProfitUp,
            c.mmr,
            c.liquidationFeeRate,
            c.minLiquidationFee,
            c.unit
        );
        r.liquidationPriceHigh = PositionMath.liquidationPriceHigh(
            c.size, c.collateral, r.borrowFeeUp, r.maxProfitUp, c.mmr, c.liquidationFeeRate, c.minLiquidationFee, c.unit
        );
        r.liquidationFeeDown = PositionMath.liquidationFeeDown(r.notionalDown, c.liquidationFeeRate, c.minLiquidationFee);
        // The case's maxLeverage doubles as the close fee rate (both WAD).
        r.closeFeeUp = PositionMath.closeFeeUp(r.notionalUp, c.maxLeverage, c.mmr);
        r.cappedPnl = PositionMath.cappedPnl(r.pnl, r.maxProfitUp);
        Position memory p = Position({
            size: uint128(c.size),
            entryPrice: uint96(c.entry),
            marketId: 0,
            isLong: c.isLong,
            collateral: uint96(c.collateral),
            borrowIndex: uint96(c.borrowIndex),
            riskVersion: 0,
            maxProfitFactorBps: uint32(c.maxProfitFactorBps)
        });
        RiskParams memory risk = RiskParams({
            mmr: uint64(c.mmr),
            liquidationFeeRate: uint64(c.liquidationFeeRate),
            minLiquidationFee: uint96(c.minLiquidationFee),
            maxProfitFactorBps: uint32(c.maxProfitFactorBps)
        });
        r.health = HealthLib.withLiquidationPrice(HealthLib.health(p, risk, c.price, c.index, c.unit), p, risk, c.unit);
        r.equityWithoutProfit = PositionMath.equityWithoutProfit(c.collateral, r.pnl, r.borrowFeeUp);
        r.marginAfterChangeUp = PositionMath.marginAfterChangeUp(
            r.notionalUp, c.maxLeverage, c.mmr, c.liquidationFeeRate, c.minLiquidationFee
        );
        r.maxRemovableCollateral = PositionMath.maxRemovableCollateral(
            c.collateral, r.pnl, r.borrowFeeUp, r.marginAfterChangeUp, c.minCollateral
        );
    }
    /// @notice The inputs of `increase`'s carried cap factor: the old leg (size, entry, its
    /// factor), the increase price and the market's current factor.
    struct CarryCase {
        bool isLong;
        uint256 size;
        uint256 entry;
        uint256 price;
        uint256 oldFactorBps;
        uint256 currentFactorBps;
        uint256 unit;
    }

    /// @notice Evaluates every carry case; ok[i] = false where the library reverted.
    function runCarry(CarryCase[] calldata cases) external view returns (bool[] memory ok, uint256[] memory factor) {
        ok = new bool[](cases.length);
        factor = new uint256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            try this.carry(cases[i]) returns (uint256 f) {
                (ok[i], factor[i]) = (true, f);
            } catch {}
        }
    }

    /// @notice The factor as `IncreaseLogic.increase` derives it: the old leg's cap left after
    /// its PnL at `price` (capped), through `PositionMath.carriedProfitFactorDown`.
    function carry(CarryCase calldata c) external pure returns (uint256) {
        uint256 cap = PositionMath.maxProfitUp(c.size, c.entry, c.oldFactorBps, c.unit);
        int256 realised = PositionMath.pnl(c.isLong, c.size, c.entry, c.price, c.unit);
        if (realised > MathLib.toInt(cap)) realised = MathLib.toInt(cap);
        return PositionMath.carriedProfitFactorDown(
            c.size, c.price, uint256(MathLib.toInt(cap) - realised), c.currentFactorBps, c.unit
        );
    }
}
