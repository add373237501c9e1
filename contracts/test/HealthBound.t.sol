// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HealthLib} from "../libraries/HealthLib.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {Position, RiskParams, Health} from "../interfaces/IBulkhead.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice `HealthLib.surelyHealthy`, the stack-only bound `liquidateMany` skips healthy ids
/// with, against the exact `HealthLib.health`. Equity is collateral + pnl - fee with no rounding
/// in the collateral term, so each case puts the collateral a few token units either side of the
/// exact boundary `need = maintenance - pnl + fee` (liquidatable iff collateral < need):
/// - sound: the bound never calls a position healthy that `health` calls liquidatable, over the
///   whole stored range of every field (any uint64 rate, any uint96 price and index);
/// - tight: with realistic parameters it calls every position 10 or more units above the
///   boundary healthy, so healthy ids really take the cheap path.
contract HealthBoundTest is BaseTest {
    struct Draw {
        bool isLong;
        uint256 unit;
        uint128 size;
        uint96 entry;
        uint96 positionIndex;
        uint256 index;
        uint256 price;
        RiskParams risk;
    }

    /// @dev The fields both properties draw alike: side, token decimals, size, entry and price.
    function _draw(bool isLong, bool is18, uint128 size, uint96 entry, uint96 price) internal pure returns (Draw memory d) {
        d.isLong = isLong;
        d.unit = is18 ? WAD : WAD * 1e12;
        d.size = uint128(bound(size, 1, type(uint128).max));
        d.entry = uint96(bound(entry, 1, type(uint96).max));
        d.price = bound(price, 1, type(uint96).max);
    }

    function _position(Draw memory d, uint256 collateral) internal pure returns (Position memory) {
        return Position({
            size: d.size,
            entryPrice: d.entry,
            marketId: 0,
            isLong: d.isLong,
            collateral: uint96(collateral),
            borrowIndex: d.positionIndex,
            riskVersion: 0,
            maxProfitFactorBps: d.risk.maxProfitFactorBps
        });
    }

    /// @dev The exact boundary: the smallest collateral `health` does not liquidate at (may be
    /// negative, i.e. any collateral is enough, or beyond uint96).
    function _need(Draw memory d) internal pure returns (int256) {
        Health memory h = HealthLib.health(_position(d, 0), d.risk, d.price, d.index, d.unit);
        return int256(h.maintenance) - h.equity;
    }

    function _bound(Draw memory d, uint256 collateral) internal pure returns (bool) {
        return HealthLib.surelyHealthy(
            d.isLong,
            d.size,
            d.entry,
            uint96(collateral),
            d.positionIndex,
            d.risk.maxProfitFactorBps,
            d.risk,
            d.price,
            d.index,
            d.unit
        );
    }

    /// @dev Collateral `offset` units from the boundary, or false when that is outside uint96.
    function _collateralAt(Draw memory d, int256 offset) internal pure returns (bool ok, uint256 collateral) {
        int256 c = _need(d) + offset;
        if (c < 0 || c > int256(uint256(type(uint96).max))) return (false, 0);
        return (true, uint256(c));
    }

    /// @notice Sound over the full stored ranges: surelyHealthy implies not liquidatable, at the
    /// boundary (offsets -4..+12) and at an arbitrary collateral.
    function testFuzz_surelyHealthy_neverCallsALiquidatablePositionHealthy(
        bool isLong,
        bool is18,
        uint128 size,
        uint96 entry,
        uint96 positionIndex,
        uint96 indexDelta,
        uint96 price,
        uint64 mmr,
        uint64 feeRate,
        uint96 minFee,
        uint32 profitFactor,
        uint96 anyCollateral
    ) public pure {
        Draw memory d = _draw(isLong, is18, size, entry, price);
        d.positionIndex = positionIndex;
        d.index = uint256(positionIndex) + indexDelta;
        d.risk = RiskParams({mmr: mmr, liquidationFeeRate: feeRate, minLiquidationFee: minFee, maxProfitFactorBps: profitFactor});
        for (int256 offset = -4; offset <= 12; ++offset) {
            (bool ok, uint256 collateral) = _collateralAt(d, offset);
            if (!ok) continue;
            Health memory h = HealthLib.health(_position(d, collateral), d.risk, d.price, d.index, d.unit);
            assertEq(h.liquidatable, offset < 0, "boundary");
            if (_bound(d, collateral)) assertFalse(h.liquidatable, "bound called a liquidatable position healthy");
        }
        Health memory any = HealthLib.health(_position(d, anyCollateral), d.risk, d.price, d.index, d.unit);
        if (_bound(d, anyCollateral)) assertFalse(any.liquidatable, "bound called a liquidatable position healthy");
    }

    /// @notice Tight for governance-bounded parameters and up to 100% of index growth: 10 units
    /// above the boundary the bound already says healthy (its slack is at most 2 units per
    /// maintenance term, 3 for the borrow fee and 1 for a loss).
    function testFuzz_surelyHealthy_acceptsEveryPositionTenUnitsAboveTheBoundary(
        bool isLong,
        bool is18,
        uint128 size,
        uint96 entry,
        uint96 positionIndex,
        uint256 indexDelta,
        uint96 price,
        uint256 mmr,
        uint256 feeRate,
        uint96 minFee,
        uint256 profitFactor,
        uint256 above
    ) public pure {
        Draw memory d = _draw(isLong, is18, size, entry, price);
        d.positionIndex = uint96(bound(positionIndex, WAD, 1e30));
        d.index = uint256(d.positionIndex) + bound(indexDelta, 0, WAD);
        d.risk = RiskParams({
            mmr: uint64(bound(mmr, ConstantsLib.MIN_MMR, ConstantsLib.MAX_MMR)),
            liquidationFeeRate: uint64(bound(feeRate, 0, ConstantsLib.MAX_LIQUIDATION_FEE_RATE)),
            minLiquidationFee: minFee,
            maxProfitFactorBps: uint32(
                bound(profitFactor, ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS, ConstantsLib.MAX_MAX_PROFIT_FACTOR_BPS)
            )
        });
        (bool ok, uint256 collateral) = _collateralAt(d, int256(bound(above, 10, 1e6)));
        if (!ok) return;
        assertTrue(_bound(d, collateral), "bound refused a position 10+ units above its boundary");
    }

    /// @notice Outside the ranges its overflow argument covers the bound answers false (exact check).
    function test_surelyHealthy_falseOutsideItsRange() public pure {
        RiskParams memory risk = RiskParams({mmr: 0.005e18, liquidationFeeRate: 0, minLiquidationFee: 0, maxProfitFactorBps: 5000});
        // A tiny, hugely over-collateralised long: healthy by any measure inside the range ...
        assertTrue(HealthLib.surelyHealthy(true, 1, 1e18, 1e20, 1e18, 5000, risk, 1e18, 1e18, WAD), "in range");
        // ... but not at a price of 2^120, an index delta of 2^88 or an index below the position's.
        assertFalse(HealthLib.surelyHealthy(true, 1, 1e18, 1e20, 1e18, 5000, risk, 1 << 120, 1e18, WAD), "price");
        assertFalse(HealthLib.surelyHealthy(true, 1, 1e18, 1e20, 1e18, 5000, risk, 1e18, 1e18 + (1 << 88), WAD), "index delta");
        assertFalse(HealthLib.surelyHealthy(true, 1, 1e18, 1e20, 1e18, 5000, risk, 1e18, 1e18 - 1, WAD), "index below");
    }
}
