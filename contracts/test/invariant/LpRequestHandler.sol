// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bulkhead} from "../../Bulkhead.sol";
import {BulkheadPool} from "../../BulkheadPool.sol";
import {LpClaim, LpRequest, LpRequestKind} from "../../interfaces/IBulkheadPool.sol";
import {IBulkheadOracle, Timing} from "../../interfaces/IBulkheadOracle.sol";
import {MockStablecoin} from "../../mocks/MockStablecoin.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives ERC-7540 LP requests on an asynchronous pool (no open interest, so executions
/// need no report): requests, executions by a third party, push-round executions, refusals while
/// paused, cancellations after expiry, partial claims by every claim function, and time. Each
/// action is checked against ghost state as it happens (first finding per kind recorded).
contract LpRequestHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    enum Kind {
        Escrow, // [11] a request's escrow was not exactly executed or returned
        FairPricing, // [9] an LP flow lowered the share price of the LPs who stay
        Liveness // a claim within what is claimable, or a cancel after expiry, reverted
    }

    BulkheadPool public immutable pool;
    Bulkhead public immutable engine;
    MockStablecoin public immutable token;
    IBulkheadOracle public immutable oracle;
    address public immutable guardian;
    address public immutable executor = address(0xE8EC);

    address[] internal _lps;
    uint256[] internal _pending;
    mapping(Kind => string) public violation;
    mapping(bytes32 => uint256) public calls;
    /// @notice Tokens minted to the LPs by this handler.
    uint256 public ghostMinted;
    /// @notice Σ escrowed amounts of pending requests, by kind (assets for deposits, shares for redemptions).
    uint256 public ghostPendingAssets;
    uint256 public ghostPendingShares;
    /// @notice Σ execution fees of pending requests.
    uint256 public ghostPendingFees;

    constructor(BulkheadPool pool_, Bulkhead engine_, IBulkheadOracle oracle_, address guardian_) {
        pool = pool_;
        engine = engine_;
        token = MockStablecoin(engine_.token());
        oracle = oracle_;
        guardian = guardian_;
        _lps.push(address(0x1111)); // BaseTest's first LP
        _lps.push(address(0x2222));
        _lps.push(address(0x3333));
        for (uint256 i; i < _lps.length; ++i) {
            vm.prank(_lps[i]);
            token.approve(address(pool_), type(uint256).max);
            vm.deal(_lps[i], 1_000 ether);
        }
    }

    // ================================================================ requests

    function requestDeposit(uint256 lpSeed, uint256 amountSeed) external {
        address lp = _lps[lpSeed % _lps.length];
        uint256 amount = _bound(amountSeed, 1, 50_000e6);
        token.faucet(lp, amount);
        ghostMinted += amount;
        uint256 fee = pool.quoteExecutionFee(LpRequestKind.Deposit, tx.gasprice);
        bool paused = engine.paused();
        vm.prank(lp);
        try pool.requestDeposit{value: fee}(amount, lp, lp) returns (uint256 id) {
            _pending.push(id);
            ghostPendingAssets += amount;
            ghostPendingFees += fee;
            ++calls["requestDeposit"];
        } catch {
            if (!paused) _flag(Kind.Liveness, "requestDeposit reverted while not paused");
        }
    }

    function requestRedeem(uint256 lpSeed, uint256 sharesSeed) external {
        address lp = _lps[lpSeed % _lps.length];
        uint256 balance = pool.balanceOf(lp);
        if (balance == 0) return;
        uint256 shares = _bound(sharesSeed, 1, balance);
        uint256 fee = pool.quoteExecutionFee(LpRequestKind.Redeem, tx.gasprice);
        vm.prank(lp);
        uint256 id = pool.requestRedeem{value: fee}(shares, lp, lp);
        _pending.push(id);
        ghostPendingShares += shares;
        ghostPendingFees += fee;
        ++calls["requestRedeem"];
    }

    // ================================================================ executions and cancels

    /// @notice A third party executes a pending request (reports unneeded: no open interest).
    function execute(uint256 idSeed, bool atPushRounds) external {
        if (_pending.length == 0) return;
        uint256 k = idSeed % _pending.length;
        uint256 id = _pending[k];
        LpRequest memory r = pool.lpRequest(id);
        Timing memory t = oracle.timing();
        if (block.timestamp > uint256(r.createdAt) + r.expiry) return;
        (LpClaim memory depBefore, LpClaim memory redBefore) = pool.claimable(r.controller);
        uint256 controllerTokens = token.balanceOf(r.controller);
        uint256 controllerShares = pool.balanceOf(r.controller);
        (uint256 price0, uint256 supply0) = _sharePrice();
        bool filled;
        vm.prank(executor);
        if (r.kind == LpRequestKind.Deposit) {
            filled = pool.executeDeposit(id, new bytes[](0));
        } else if (atPushRounds) {
            if (block.timestamp < uint256(r.createdAt) + t.pushFallbackDelay) return;
            filled = pool.executeRedeemAtPushRounds(id, new uint80[](0));
        } else {
            filled = pool.executeRedeem(id, new bytes[](0));
        }
        _removePending(k, r);
        (LpClaim memory depAfter, LpClaim memory redAfter) = pool.claimable(r.controller);
        if (filled) {
            ++calls[r.kind == LpRequestKind.Deposit ? bytes32("executeDeposit") : bytes32("executeRedeem")];
            bool booked = r.kind == LpRequestKind.Deposit
                ? depAfter.assets == depBefore.assets + r.amount
                : redAfter.shares == redBefore.shares + r.amount;
            if (!booked) _flag(Kind.Escrow, "executed escrow not booked to the controller's claim");
            _checkSharePrice(price0, supply0, "execution");
        } else {
            ++calls["executionCancelled"];
            _checkReturned(r, controllerTokens, controllerShares);
        }
    }

    /// @notice The controller cancels a pending request once it has expired.
    function cancel(uint256 idSeed) external {
        if (_pending.length == 0) return;
        uint256 k = idSeed % _pending.length;
        uint256 id = _pending[k];
        LpRequest memory r = pool.lpRequest(id);
        if (block.timestamp <= uint256(r.createdAt) + r.expiry) return;
        uint256 controllerTokens = token.balanceOf(r.controller);
        uint256 controllerShares = pool.balanceOf(r.controller);
        uint256 eth = r.controller.balance;
        vm.prank(r.controller);
        try pool.cancelRequest(id) {
            ++calls["cancel"];
            _removePending(k, r);
            _checkReturned(r, controllerTokens, controllerShares);
            if (r.controller.balance != eth + r.executionFee) _flag(Kind.Escrow, "cancel did not refund the whole fee");
        } catch {
            _flag(Kind.Liveness, "cancel after expiry reverted");
        }
    }

    // ================================================================ claims

    /// @notice Claims part of an LP's claimable deposits or redemptions with one of the four functions.
    function claim(uint256 lpSeed, uint256 partSeed, uint8 how) external {
        address lp = _lps[lpSeed % _lps.length];
        (LpClaim memory dep, LpClaim memory red) = pool.claimable(lp);
        uint256 tokens = token.balanceOf(lp);
        uint256 shares = pool.balanceOf(lp);
        vm.startPrank(lp);
        how %= 4;
        if (how == 0 && dep.assets != 0) {
            uint256 part = _bound(partSeed, 1, dep.assets);
            try pool.deposit(part, lp) returns (uint256 got) {
                if (pool.balanceOf(lp) != shares + got || got > dep.shares) _flag(Kind.Escrow, "deposit claim paid wrong");
            } catch {
                _flag(Kind.Liveness, "deposit claim reverted");
            }
        } else if (how == 1 && dep.shares != 0) {
            uint256 part = _bound(partSeed, 1, dep.shares);
            try pool.mint(part, lp) returns (uint256 cost) {
                if (pool.balanceOf(lp) != shares + part || cost > dep.assets) _flag(Kind.Escrow, "mint claim paid wrong");
            } catch {
                _flag(Kind.Liveness, "mint claim reverted");
            }
        } else if (how == 2 && red.shares != 0) {
            uint256 part = _bound(partSeed, 1, red.shares);
            try pool.redeem(part, lp, lp) returns (uint256 got) {
                if (token.balanceOf(lp) != tokens + got || got > red.assets) _flag(Kind.Escrow, "redeem claim paid wrong");
            } catch {
                _flag(Kind.Liveness, "redeem claim reverted");
            }
        } else if (how == 3 && red.assets != 0) {
            uint256 part = _bound(partSeed, 1, red.assets);
            try pool.withdraw(part, lp, lp) returns (uint256 burned) {
                if (token.balanceOf(lp) != tokens + part || burned > red.shares) _flag(Kind.Escrow, "withdraw claim paid wrong");
            } catch {
                _flag(Kind.Liveness, "withdraw claim reverted");
            }
        }
        vm.stopPrank();
        ++calls["claim"];
    }

    // ================================================================ environment

    function setPaused(uint256 seed) external {
        vm.prank(guardian);
        engine.setPaused(seed % 3 == 0);
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 1, 400));
    }

    // ================================================================ views

    function pendingIds() external view returns (uint256[] memory) {
        return _pending;
    }

    function lps() external view returns (address[] memory) {
        return _lps;
    }

    // ================================================================ internals

    function _removePending(uint256 k, LpRequest memory r) internal {
        _pending[k] = _pending[_pending.length - 1];
        _pending.pop();
        if (r.kind == LpRequestKind.Deposit) ghostPendingAssets -= r.amount;
        else ghostPendingShares -= r.amount;
        ghostPendingFees -= r.executionFee;
    }

    function _checkReturned(LpRequest memory r, uint256 tokensBefore, uint256 sharesBefore) internal {
        bool returned = r.kind == LpRequestKind.Deposit
            ? token.balanceOf(r.controller) == tokensBefore + r.amount
            : pool.balanceOf(r.controller) == sharesBefore + r.amount;
        if (!returned) _flag(Kind.Escrow, "cancelled escrow not returned exactly");
    }

    function _sharePrice() internal view returns (uint256 value, uint256 supply) {
        return (pool.totalAssets(), pool.totalSupply());
    }

    /// @dev (value + 1) / (supply + 10^6) never falls (cross-multiplied, no rounding).
    function _checkSharePrice(uint256 value0, uint256 supply0, string memory what) internal {
        (uint256 value1, uint256 supply1) = _sharePrice();
        if ((value1 + 1) * (supply0 + 1e6) < (value0 + 1) * (supply1 + 1e6)) {
            _flag(Kind.FairPricing, string.concat(what, " lowered the share price"));
        }
    }

    function _flag(Kind kind, string memory message) internal {
        if (bytes(violation[kind]).length == 0) violation[kind] = message;
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + x % (max - min + 1);
    }
}
