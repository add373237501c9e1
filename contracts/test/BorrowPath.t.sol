// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {BaseTest} from "./utils/BaseTest.sol";
import {Ledger, Market, MarketParams, UtilisationAccumulator} from "../interfaces/IBulkhead.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";

/// @notice DESIGN.md "Borrow rates follow utilisation without being steerable": an untouched
/// market's index equals base·T + slope·∫u + kink·∫(u − target)⁺ over the pool's actual utilisation
/// path, whatever other markets, LPs and governance do in between (issue 11, finding 6).
contract BorrowPathTest is BaseTest {
    address internal trader = address(0xA11CE);
    address internal idleTrader = address(0xB0B);

    uint256 internal cumulative;
    uint256 internal above;
    uint256 internal lastTime;
    uint256 internal lastUtilisation;
    uint256[] internal openIds;

    function setUp() public {
        _deploySystem();
        _mint(trader, 100_000_000 * one);
        _mint(idleTrader, 10_000 * one);
        _mint(lp, 100_000_000 * one);
        vm.prank(trader);
        token.approve(address(engine), type(uint256).max);
        vm.prank(idleTrader);
        token.approve(address(engine), type(uint256).max);
        vm.prank(lp);
        token.approve(address(pool), type(uint256).max);
    }

    function _utilisation() internal view returns (uint256) {
        Ledger memory l = engine.ledger();
        if (l.reserved >= l.lpAssets) return l.reserved == 0 ? 0 : WAD;
        return uint256(l.reserved) * WAD / l.lpAssets;
    }

    /// @dev Integrates the utilisation held since the last step up to now, then takes the new one.
    function _step() internal {
        uint256 dt = block.timestamp - lastTime;
        cumulative += lastUtilisation * dt;
        if (lastUtilisation > ConstantsLib.TARGET_UTILISATION) {
            above += (lastUtilisation - ConstantsLib.TARGET_UTILISATION) * dt;
        }
        lastTime = block.timestamp;
        lastUtilisation = _utilisation();
    }

    function _integral(MarketParams memory p, uint256 t, uint256 c, uint256 a) internal pure returns (uint256) {
        return p.baseBorrowRate * t + (p.borrowRateSlope * c + ConstantsLib.ABOVE_TARGET_BORROW_RATE_SLOPE * a) / WAD;
    }

    function _warpFresh(uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        ethFeed.updateAnswer(ETH_ANSWER);
        btcFeed.updateAnswer(BTC_ANSWER);
    }

    function testFuzz_borrowIndex_followsTheUtilisationPath_whateverOtherMarketsDo(uint256 seed, uint8 stepCount) public {
        vm.prank(idleTrader);
        engine.open(BTC_MARKET, true, 1_000 * one, 0.25e18, 60_000e18, FAR);
        Market memory m0 = engine.market(BTC_MARKET);
        UtilisationAccumulator memory a0 = engine.utilisationAccumulator();
        uint256 t0 = block.timestamp;
        (cumulative, above, lastTime, lastUtilisation) = (a0.utilisationTime, a0.aboveTargetTime, t0, _utilisation());
        MarketParams memory btc = _defaultParams(one);
        uint256 origin = _integral(btc, t0, a0.utilisationTime, a0.aboveTargetTime);
        assertEq(m0.rateIntegral, origin, "the open accrued BTC to the block");

        uint256 steps = bound(stepCount, 1, 12);
        for (uint256 i; i < steps; ++i) {
            seed = uint256(keccak256(abi.encode(seed, i)));
            _warpFresh(bound(seed >> 200, 1, 3 days));
            _act(seed);
            _step();
            uint256 expected = m0.borrowIndex + _integral(btc, block.timestamp, cumulative, above) - origin;
            assertEq(engine.currentBorrowIndex(BTC_MARKET), expected, "idle index off the utilisation path");
        }
        _warpFresh(1 days);
        _step();
        uint256 finalExpected = m0.borrowIndex + _integral(btc, block.timestamp, cumulative, above) - origin;
        assertEq(engine.currentBorrowIndex(BTC_MARKET), finalExpected, "idle index off the utilisation path");
        Market memory m1 = engine.market(BTC_MARKET);
        assertEq(m1.borrowIndex, m0.borrowIndex, "BTC never touched");
    }

    /// @dev One utilisation change by someone else: an ETH open (some or nearly all of the free
    /// liquidity), an ETH close, an LP deposit or withdrawal, or an ETH parameter change.
    function _act(uint256 seed) internal {
        Ledger memory l = engine.ledger();
        uint256 free = l.lpAssets - l.reserved;
        uint256 kind = seed % 5;
        if (kind == 0 && free > 2_000 * one) {
            uint256 reserve = (seed >> 8) % 2 == 0
                ? free - 1_000 * one - (seed >> 16) % (free / 20)
                : 1_000 * one + (seed >> 16) % (free - 1_000 * one);
            uint256 size = reserve * 2 * WAD * (WAD / one) / 3000e18;
            // Fully collateralised: at the top of the kinked curve fees can reach 2% of notional a day.
            uint256 collateral = size * 3000e18 / WAD / (WAD / one) + 10 * one;
            vm.prank(trader);
            openIds.push(engine.open(ETH_MARKET, (seed >> 12) % 2 == 0, collateral, size, 3000e18, FAR));
        } else if (kind == 1 && openIds.length != 0) {
            uint256 j = (seed >> 8) % openIds.length;
            uint256 id = openIds[j];
            openIds[j] = openIds[openIds.length - 1];
            openIds.pop();
            uint256 acceptable = engine.position(id).isLong ? 0 : type(uint256).max;
            vm.prank(trader);
            engine.close(id, acceptable, FAR);
        } else if (kind == 2) {
            vm.prank(lp);
            pool.deposit(1_000 * one + (seed >> 8) % (500_000 * one), lp);
        } else if (kind == 3) {
            uint256 max = pool.maxWithdraw(lp);
            if (max > 1) {
                vm.prank(lp);
                pool.withdraw(1 + (seed >> 8) % (max - 1), lp, lp);
            }
        } else {
            MarketParams memory p = _defaultParams(one);
            p.borrowRateSlope = (seed >> 8) % (ConstantsLib.MAX_BORROW_RATE_SLOPE + 1);
            engine.setMarketParams(ETH_MARKET, p);
        }
    }
}
