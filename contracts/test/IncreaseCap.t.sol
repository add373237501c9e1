// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Position, RiskParams} from "../interfaces/IBulkhead.sol";
import {PositionMath} from "../libraries/PositionMath.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice DESIGN.md "Increasing cannot raise the cap on profit already earned" and "Governance
/// can reduce risk" (issue 11, findings 2 and 3), as differential and property fuzz tests of
/// `increase`.
contract IncreaseCapTest is BaseTest {
    /// @dev What the trader may gain from rounding by increasing instead of opening a second
    /// position, in token units: the cap itself has no slack (see {IBulkhead-increase}); PnL is
    /// floored once per position per settlement, two floors on each side of the comparison, so the
    /// increased path is at most 1 unit ahead; the close fee, ceil(ceil(size * price) * rate), is
    /// rounded up once on the combined position and twice on two, at most 2 units less.
    uint256 internal constant ROUNDING_SLACK = 3;

    address internal trader = address(0xA11CE);
    uint256 internal unit;

    function setUp() public {
        _deploySystem(6, 50_000_000); // deep enough that free liquidity never binds
        unit = engine.unit();
        _mint(trader, 2_000_000_000 * one);
        vm.prank(trader);
        token.approve(address(engine), type(uint256).max);
    }

    /// @dev One draw: the old leg (size s at entry e, collateral cS), time before the increase,
    /// the increase price p and size d (collateral cD), the later price q, the factor at open and
    /// the factor governance sets before the increase.
    struct Draw {
        bool isLong;
        uint256 s;
        uint256 d;
        int256 e;
        int256 p;
        int256 q;
        uint256 cS;
        uint256 cD;
        uint256 dt;
        uint32 factorAtOpen;
        uint32 factorAtIncrease;
    }

    function _draw(bool isLong, uint256[9] memory seeds) internal view returns (Draw memory x) {
        x.isLong = isLong;
        x.s = bound(seeds[0], 0.01e18, 200e18);
        x.d = bound(seeds[1], 1e15, 200e18);
        x.e = int256(bound(seeds[2], 100e8, 10_000e8));
        x.p = int256(uint256(x.e) * bound(seeds[3], 2_000, 30_000) / 10_000); // 0.2x - 3x
        x.q = int256(uint256(x.p) * bound(seeds[4], 2_000, 30_000) / 10_000);
        x.cS = _collateral(x.s, uint256(x.e), seeds[5]);
        x.cD = _collateral(x.d, uint256(x.p), seeds[6]);
        x.dt = bound(seeds[7], 0, 60 days);
        x.factorAtOpen = _factor(seeds[8]);
        x.factorAtIncrease = _factor(seeds[8] >> 128);
    }

    /// @dev 10 % to 1000 %, three draws in four under 50 %, so the price moves above often take
    /// a leg past its cap (where a wrong cap would show).
    function _factor(uint256 seed) internal pure returns (uint32) {
        return uint32(seed % 4 == 0 ? bound(seed >> 2, 1_000, 100_000) : bound(seed >> 2, 1_000, 5_000));
    }

    /// @dev 3 % to 300 % of the notional, at least the minimum collateral.
    function _collateral(uint256 size, uint256 answer, uint256 seed) internal view returns (uint256 c) {
        c = PositionMath.notionalUp(size, answer * 1e10, unit) * bound(seed, 300, 30_000) / 10_000;
        if (c < 10 * one) c = 10 * one;
    }

    function _setFactor(uint32 factor) internal {
        RiskParams memory r = _defaultRisk(one);
        r.maxProfitFactorBps = factor;
        engine.setRiskParams(ETH_MARKET, r);
    }

    function _open(bool isLong, uint256 collateral, uint256 size) internal returns (bool ok, uint256 id) {
        id = engine.nextPositionId();
        vm.prank(trader);
        try engine.open(ETH_MARKET, isLong, collateral, size, isLong ? type(uint256).max : 0, FAR) {
            ok = true;
        } catch {}
    }

    function _close(uint256 id, bool isLong) internal returns (bool ok) {
        vm.prank(trader);
        try engine.close(id, isLong ? 0 : type(uint256).max, FAR) {
            ok = true;
        } catch {}
    }

    /// @dev Path A: increase the old leg by d at p, close at q. Path B: open d as a second
    /// position at p, close both at q. Returns the trader's balance at the end of each (both
    /// start from the same state); compared = false when a step of either path reverted.
    function _paths(Draw memory x) internal returns (bool compared, uint256 viaIncrease, uint256 viaSecond) {
        _setFactor(x.factorAtOpen);
        ethFeed.updateAnswer(x.e);
        (bool opened, uint256 id) = _open(x.isLong, x.cS, x.s);
        if (!opened) return (false, 0, 0);
        vm.warp(block.timestamp + x.dt);
        ethFeed.updateAnswer(x.p);
        _setFactor(x.factorAtIncrease);
        uint256 snapshot = vm.snapshotState();

        vm.prank(trader);
        try engine.increase(id, x.cD, x.d, x.isLong ? type(uint256).max : 0, FAR) {}
        catch {
            return (false, 0, 0);
        }
        ethFeed.updateAnswer(x.q);
        if (!_close(id, x.isLong)) return (false, 0, 0);
        viaIncrease = token.balanceOf(trader);

        vm.revertToState(snapshot);
        (bool second, uint256 id2) = _open(x.isLong, x.cD, x.d);
        if (!second) return (false, 0, 0);
        ethFeed.updateAnswer(x.q);
        if (!_close(id, x.isLong) || !_close(id2, x.isLong)) return (false, 0, 0);
        viaSecond = token.balanceOf(trader);
        compared = true;
    }

    /// @notice Increasing is never worth more to the trader than opening a second position of
    /// the delta at the same price, at any later price (up to the documented rounding slack).
    function testFuzz_increase_neverPaysMoreThanASecondPosition(bool isLong, uint256[9] memory seeds) public {
        Draw memory x = _draw(isLong, seeds);
        (bool compared, uint256 viaIncrease, uint256 viaSecond) = _paths(x);
        if (!compared) return;
        assertLe(viaIncrease, viaSecond + ROUNDING_SLACK, "increase-then-close pays more than a second position");
    }

    /// @notice The fuzz above is not vacuous: on fixed seeds most draws run both paths to the end,
    /// and the issue's reproduction (10 ETH at 3,000, ETH 6,000, +10 ETH) pays the same either way.
    function test_increase_differentialRunsBothPaths() public {
        uint256 compared;
        for (uint256 i; i < 24; ++i) {
            uint256[9] memory seeds;
            for (uint256 j; j < 9; ++j) {
                seeds[j] = uint256(keccak256(abi.encode(i, j)));
            }
            uint256 snapshot = vm.snapshotState();
            (bool ok, uint256 a, uint256 b) = _paths(_draw(i % 2 == 0, seeds));
            vm.revertToState(snapshot);
            if (!ok) continue;
            ++compared;
            assertLe(a, b + ROUNDING_SLACK, "fixed seed");
        }
        assertGe(compared, 12, "draws compared");

        Draw memory issue = Draw({
            isLong: true,
            s: 10e18,
            d: 10e18,
            e: 3_000e8,
            p: 6_000e8,
            q: 6_000e8,
            cS: 1_000 * one,
            cD: 1_500 * one,
            dt: 0,
            factorAtOpen: 5_000,
            factorAtIncrease: 5_000
        });
        (bool same, uint256 viaIncrease, uint256 viaSecond) = _paths(issue);
        assertTrue(same, "issue draw compared");
        assertEq(viaIncrease, viaSecond, "issue draw");
    }

    /// @notice After any risk-parameter change, no position gains size under the old parameters:
    /// an increase moves it to the current version, and it reserves no more than a fresh
    /// position of its new size at the same price.
    function testFuzz_increase_movesToTheCurrentRiskVersion(
        bool isLong,
        uint256[4] memory oldSeeds,
        uint256[4] memory newSeeds,
        uint256 sizeSeed,
        uint256 deltaSeed,
        uint256 priceSeed
    ) public {
        engine.setRiskParams(ETH_MARKET, _risk(oldSeeds));
        uint256 size = bound(sizeSeed, 0.01e18, 100e18);
        uint256 collateral = PositionMath.notionalUp(size, 3_000e18, unit) / 10 + 10 * one;
        (bool opened, uint256 id) = _open(isLong, collateral, size);
        assertTrue(opened, "open");
        RiskParams memory current = _risk(newSeeds);
        engine.setRiskParams(ETH_MARKET, current);
        uint256 px = bound(priceSeed, 2_400e18, 3_600e18) / 1e10 * 1e10;
        ethFeed.updateAnswer(int256(px / 1e10));
        uint256 delta = bound(deltaSeed, 1, 100e18);
        uint256 reservedBefore = engine.ledger().reserved;
        uint256 oldReserve = PositionMath.maxProfitUp(size, 3_000e18, engine.position(id).maxProfitFactorBps, unit);
        uint256 topUp = PositionMath.notionalUp(size + delta, px, unit) / 20 + 10 * one;
        vm.prank(trader);
        try engine.increase(id, topUp, delta, isLong ? type(uint256).max : 0, FAR) {}
        catch {
            return;
        }
        Position memory q = engine.position(id);
        assertEq(uint256(q.riskVersion), uint256(engine.market(ETH_MARKET).riskVersion), "risk version");
        assertLe(uint256(q.maxProfitFactorBps), uint256(current.maxProfitFactorBps), "factor");
        uint256 reserve = PositionMath.maxProfitUp(q.size, q.entryPrice, q.maxProfitFactorBps, unit);
        uint256 fresh = PositionMath.maxProfitUp(size + delta, px, current.maxProfitFactorBps, unit);
        assertLe(reserve, fresh, "reserve above a fresh position's");
        assertEq(engine.ledger().reserved, reservedBefore - oldReserve + reserve, "ledger reserve");
    }

    /// @dev Risk parameters anywhere in the bounds MarketConfigLogic enforces at 50x and a 10
    /// token minimum collateral.
    function _risk(uint256[4] memory seeds) internal view returns (RiskParams memory r) {
        uint256 mmr = bound(seeds[0], 0.001e18, 0.0199e18);
        uint256 feeRate = bound(seeds[1], 0, 0.02e18 - 1 - mmr);
        uint256 feeRoom = 10 * one * (1e18 - 50 * mmr) / 1e18;
        r = RiskParams({
            mmr: uint64(mmr),
            liquidationFeeRate: uint64(feeRate),
            minLiquidationFee: uint96(bound(seeds[2], 0, feeRoom - 1)),
            maxProfitFactorBps: uint32(bound(seeds[3], 1_000, 100_000))
        });
    }
}
