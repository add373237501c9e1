// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {Bulkhead} from "../../Bulkhead.sol";
import {BulkheadPool} from "../../BulkheadPool.sol";
import {BulkheadLens} from "../../BulkheadLens.sol";
import {MarketParams, RiskParams} from "../../interfaces/IBulkhead.sol";
import {MockStablecoin} from "../../mocks/MockStablecoin.sol";
import {Vm} from "./Vm.sol";

/// @notice Shared base of Bulkhead's Solidity tests: cheatcodes, bounding, assertions that say
/// what differed, the Foundry invariant-target hooks, and a full local deployment.
abstract contract BaseTest {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant WAD = 1e18;
    uint256 internal constant YEAR = 365 days;
    uint256 internal constant FAR = 2 ** 40;
    uint8 internal constant FEED_DECIMALS = 8;
    int256 internal constant ETH_ANSWER = 3000e8;
    int256 internal constant BTC_ANSWER = 60_000e8;
    uint256 internal constant HEARTBEAT = 3600;
    uint256 internal constant ETH_MARKET = 0;
    uint256 internal constant BTC_MARKET = 1;
    uint256 internal constant START_TIME = 1_700_000_000;

    // ---------------------------------------------------------------- deployment

    MockStablecoin internal token;
    MockV3Aggregator internal ethFeed;
    MockV3Aggregator internal btcFeed;
    BulkheadPool internal pool;
    Bulkhead internal engine;
    BulkheadLens internal lens;
    /// @dev 10 ** token decimals.
    uint256 internal one;

    address internal guardian = address(0x6A4D);
    address internal lp = address(0x1111);

    /// @dev Market parameters of `test/helpers/fixture.ts`, scaled to the token's decimals.
    function _defaultParams(uint256 oneToken) internal pure returns (MarketParams memory) {
        return MarketParams({
            maxLeverage: 50e18,
            openFeeRate: 0.001e18,
            closeFeeRate: 0.001e18,
            baseBorrowRate: uint256(0.1e18) / YEAR,
            borrowRateSlope: uint256(0.4e18) / YEAR,
            minCollateral: 10 * oneToken,
            maxLongOpenInterest: 10_000e18,
            maxShortOpenInterest: 10_000e18
        });
    }

    function _defaultRisk(uint256 oneToken) internal pure returns (RiskParams memory) {
        return RiskParams({
            mmr: 0.005e18,
            liquidationFeeRate: 0.005e18,
            minLiquidationFee: uint96(oneToken),
            maxProfitFactorBps: 5000
        });
    }

    /// @dev Deploys token, feeds, pool, engine (this contract is the owner), lens; lists ETH and
    /// BTC markets; the LP deposits `lpDeposit` whole tokens.
    function _deploySystem(uint8 tokenDecimals, uint256 lpDeposit) internal {
        vm.warp(START_TIME);
        token = new MockStablecoin("USD Coin", "USDC", tokenDecimals);
        one = 10 ** tokenDecimals;
        ethFeed = new MockV3Aggregator(FEED_DECIMALS, ETH_ANSWER);
        btcFeed = new MockV3Aggregator(FEED_DECIMALS, BTC_ANSWER);
        pool = new BulkheadPool(token, "Bulkhead LP USDC", "bhUSDC");
        engine = new Bulkhead(token, address(pool), address(this), guardian, address(0), 3600);
        pool.bindEngine(address(engine));
        lens = new BulkheadLens(address(engine));
        engine.listMarket(address(ethFeed), HEARTBEAT, _defaultParams(one), _defaultRisk(one));
        engine.listMarket(address(btcFeed), HEARTBEAT, _defaultParams(one), _defaultRisk(one));
        if (lpDeposit != 0) {
            uint256 amount = lpDeposit * one;
            token.faucet(lp, amount);
            vm.startPrank(lp);
            token.approve(address(pool), amount);
            pool.deposit(amount, lp);
            vm.stopPrank();
        }
        vm.label(address(token), "token");
        vm.label(address(pool), "pool");
        vm.label(address(engine), "engine");
    }

    function _deploySystem() internal {
        _deploySystem(6, 1_000_000);
    }

    /// @dev Mints through the faucet in capped chunks.
    function _mint(address to, uint256 amount) internal {
        uint256 cap = token.faucetCap();
        while (amount != 0) {
            uint256 chunk = amount < cap ? amount : cap;
            token.faucet(to, chunk);
            amount -= chunk;
        }
    }

    // ---------------------------------------------------------------- bounding

    /// @dev Maps x into [min, max]: unchanged when already inside, otherwise wrapped modulo the
    /// range, so the fuzzer's edge values (0, max) land on the range's edges.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        ++size;
        if (x < min) return max - ((min - x - 1) % size);
        return min + ((x - max - 1) % size);
    }

    // ---------------------------------------------------------------- assertions

    function fail(string memory err) internal pure {
        revert(err);
    }

    function assertTrue(bool c, string memory err) internal pure {
        if (!c) revert(string.concat(err, ": expected true"));
    }

    function assertFalse(bool c, string memory err) internal pure {
        if (c) revert(string.concat(err, ": expected false"));
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal pure {
        if (a != b) revert(string.concat(err, ": ", _str(a), " != ", _str(b)));
    }

    function assertEq(int256 a, int256 b, string memory err) internal pure {
        if (a != b) revert(string.concat(err, ": ", _str(a), " != ", _str(b)));
    }

    function assertEq(address a, address b, string memory err) internal pure {
        if (a != b) revert(string.concat(err, ": ", _str(uint256(uint160(a))), " != ", _str(uint256(uint160(b)))));
    }

    function assertEq(bool a, bool b, string memory err) internal pure {
        if (a != b) revert(string.concat(err, ": ", a ? "true" : "false", " != ", b ? "true" : "false"));
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal pure {
        if (a > b) revert(string.concat(err, ": ", _str(a), " > ", _str(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory err) internal pure {
        if (a < b) revert(string.concat(err, ": ", _str(a), " < ", _str(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal pure {
        if (a <= b) revert(string.concat(err, ": ", _str(a), " <= ", _str(b)));
    }

    function assertLe(int256 a, int256 b, string memory err) internal pure {
        if (a > b) revert(string.concat(err, ": ", _str(a), " > ", _str(b)));
    }

    function assertGe(int256 a, int256 b, string memory err) internal pure {
        if (a < b) revert(string.concat(err, ": ", _str(a), " < ", _str(b)));
    }

    function assertApproxEqAbs(uint256 a, uint256 b, uint256 maxDelta, string memory err) internal pure {
        uint256 delta = a > b ? a - b : b - a;
        if (delta > maxDelta) {
            revert(string.concat(err, ": ", _str(a), " !~ ", _str(b), " (delta ", _str(delta), " > ", _str(maxDelta), ")"));
        }
    }

    function _str(uint256 x) internal pure returns (string memory) {
        if (x == 0) return "0";
        bytes memory buf = new bytes(78);
        uint256 i = 78;
        while (x != 0) {
            buf[--i] = bytes1(uint8(48 + x % 10));
            x /= 10;
        }
        bytes memory out = new bytes(78 - i);
        for (uint256 j; j < out.length; ++j) {
            out[j] = buf[i + j];
        }
        return string(out);
    }

    function _str(int256 x) internal pure returns (string memory) {
        if (x >= 0) return _str(uint256(x));
        return string.concat("-", _str(x == type(int256).min ? uint256(type(int256).max) + 1 : uint256(-x)));
    }
}

/// @notice Target selection for invariant tests, read by the runner through the hooks Foundry's
/// StdInvariant defines (`targetContracts`, `targetSelectors`, `excludeSenders`, ...).
abstract contract InvariantBase is BaseTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    address[] private _excludedContracts;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function excludeSender(address sender) internal {
        _excludedSenders.push(sender);
    }

    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }
}
