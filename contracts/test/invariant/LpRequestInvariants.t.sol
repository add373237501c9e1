// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ledger} from "../../interfaces/IBulkhead.sol";
import {LpClaim, LpEscrow} from "../../interfaces/IBulkheadPool.sol";
import {IVerifierProxy} from "../../interfaces/IDataStreams.sol";
import {Timing} from "../../interfaces/IBulkheadOracle.sol";
import {BulkheadOracle} from "../../oracles/BulkheadOracle.sol";
import {BulkheadRouter} from "../../BulkheadRouter.sol";
import {InvariantBase} from "../utils/BaseTest.sol";
import {LpRequestHandler} from "./LpRequestHandler.sol";

/// @notice DESIGN.md invariants 2, 9 and 11 for ERC-7540 LP requests (issue 12) under random
/// requests, executions, refusals, cancellations, claims, pauses and time, on an asynchronous pool
/// without open interest (no report is read, so the suite needs no signer; report checks are the
/// TS tests'). Every request's escrow is executed or returned exactly, and the pool holds exactly
/// its ledger plus its escrow, in tokens, shares and native fees.
contract LpRequestInvariantsTest is InvariantBase {
    LpRequestHandler internal handler;

    function setUp() public {
        _deploySystem(6, 300_000);
        // No report is verified here: the Verifier proxy is never called.
        BulkheadOracle oracle = new BulkheadOracle(engine, IVerifierProxy(address(0xFEED)), Timing(2, 300, 120));
        engine.setSettler(address(new BulkheadRouter(engine, oracle)));
        handler = new LpRequestHandler(pool, engine, oracle, guardian);

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = LpRequestHandler.requestDeposit.selector;
        selectors[1] = LpRequestHandler.requestRedeem.selector;
        selectors[2] = LpRequestHandler.execute.selector;
        selectors[3] = LpRequestHandler.cancel.selector;
        selectors[4] = LpRequestHandler.claim.selector;
        selectors[5] = LpRequestHandler.setPaused.selector;
        selectors[6] = LpRequestHandler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice [11] Each execution booked exactly its escrow to its controller's claim, each
    /// cancellation returned exactly its escrow (and an expiry cancel its whole fee), and the
    /// escrow totals equal the ghost's pending requests and the controllers' claims.
    function invariant_EscrowExecutedOrReturnedExactly() public view {
        _assertNoFinding(LpRequestHandler.Kind.Escrow);
        LpEscrow memory e = pool.escrow();
        assertEq(e.pendingDepositAssets, handler.ghostPendingAssets(), "pending deposit assets != ghost");
        assertEq(e.pendingRedeemShares, handler.ghostPendingShares(), "pending redeem shares != ghost");
        address[] memory lps = handler.lps();
        uint256 claimableShares;
        uint256 claimableAssets;
        uint256 owed;
        for (uint256 i; i < lps.length; ++i) {
            (LpClaim memory dep, LpClaim memory red) = pool.claimable(lps[i]);
            claimableShares += dep.shares;
            claimableAssets += red.assets;
            owed += pool.nativeOwed(lps[i]);
        }
        assertEq(e.claimableDepositShares, claimableShares, "claimable deposit shares != sum of claims");
        assertEq(e.claimableRedeemAssets, claimableAssets, "claimable redeem assets != sum of claims");
        assertEq(address(pool).balance, handler.ghostPendingFees() + owed + pool.nativeOwed(handler.executor()), "pool's native balance != pending fees + owed");
    }

    /// @notice [2] The pool holds exactly LP assets + insurance + protocol fees + pending deposit
    /// assets + claimable redemption assets; its own shares are exactly the escrowed ones.
    function invariant_PoolHoldsLedgerPlusEscrow() public view {
        Ledger memory l = engine.ledger();
        LpEscrow memory e = pool.escrow();
        assertEq(
            token.balanceOf(address(pool)),
            uint256(l.lpAssets) + l.insuranceFund + l.protocolFees + e.pendingDepositAssets + e.claimableRedeemAssets,
            "pool balance != ledger + escrow"
        );
        assertEq(pool.balanceOf(address(pool)), uint256(e.pendingRedeemShares) + e.claimableDepositShares, "pool's own shares != escrow");
    }

    /// @notice [9] No execution lowered the share price of the LPs who stay; claims and cancels
    /// always went through.
    function invariant_FairPricingAndLiveness() public view {
        _assertNoFinding(LpRequestHandler.Kind.FairPricing);
        _assertNoFinding(LpRequestHandler.Kind.Liveness);
    }

    /// @notice The handler's actions succeed on a fixed sequence (so the random runs exercise them).
    function test_handlerActionsHappen() public {
        handler.requestDeposit(1, 10_000e6);
        handler.requestRedeem(0, 1e15);
        handler.warp(5);
        handler.execute(0, false);
        handler.execute(0, false);
        handler.claim(1, 4_000e6, 0);
        handler.claim(1, type(uint256).max, 1);
        handler.claim(0, 1, 2);
        handler.claim(0, type(uint256).max, 3);
        handler.requestRedeem(1, 1e12);
        handler.warp(130);
        handler.execute(0, true);
        handler.requestDeposit(2, 5_000e6);
        handler.setPaused(0);
        handler.execute(0, false); // paused: the execution cancels the deposit
        handler.setPaused(1);
        handler.requestDeposit(2, 5_000e6);
        handler.warp(301);
        handler.cancel(0);
        string[7] memory names =
            ["requestDeposit", "requestRedeem", "executeDeposit", "executeRedeem", "executionCancelled", "cancel", "claim"];
        for (uint256 i; i < names.length; ++i) {
            assertTrue(handler.calls(bytes32(bytes(names[i]))) != 0, string.concat(names[i], " never happened"));
        }
        assertEq(handler.pendingIds().length, 0, "requests left pending");
        invariant_EscrowExecutedOrReturnedExactly();
        invariant_PoolHoldsLedgerPlusEscrow();
        invariant_FairPricingAndLiveness();
    }

    function _assertNoFinding(LpRequestHandler.Kind kind) internal view {
        string memory v = handler.violation(kind);
        assertTrue(bytes(v).length == 0, v);
    }
}
