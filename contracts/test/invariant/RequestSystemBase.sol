// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BulkheadRouter} from "../../BulkheadRouter.sol";
import {BulkheadOracle} from "../../oracles/BulkheadOracle.sol";
import {Ledger} from "../../interfaces/IBulkhead.sol";
import {Timing} from "../../interfaces/IBulkheadOracle.sol";
import {InvariantBase} from "../utils/BaseTest.sol";
import {ReportSigner} from "../utils/ReportSigner.sol";
import {RequestsHandler} from "./RequestsHandler.sol";

/// @notice The two-step trading system the request and order campaigns run on: the local
/// deployment of {BaseTest}, Chainlink's real Verifier with a local oracle set signing both
/// markets' streams, the oracle and the router as settler; a starting book filled through
/// requests; and the pool and vault properties both campaigns assert.
abstract contract RequestSystemBase is InvariantBase {
    /// @dev `localFeedId` of scripts/streams/oracleSet.ts: schema 0x0003, then keccak256(label) less its first two bytes.
    bytes32 internal constant ETH_FEED_ID = bytes32(uint256(3) << 240 | uint256(keccak256("ETH/USD")) & (2 ** 240 - 1));
    bytes32 internal constant BTC_FEED_ID = bytes32(uint256(3) << 240 | uint256(keccak256("BTC/USD")) & (2 ** 240 - 1));
    /// @dev An amount seed of `amount` (not one of the handler's few-unit amounts).
    uint256 internal constant AMOUNT_1000 = (1_000e6 << 3) | 1;
    uint256 internal constant MAX_DEVIATION_BPS = 100;

    ReportSigner internal signer;
    BulkheadOracle internal oracle;
    BulkheadRouter internal router;

    function _deployRequestSystem() internal {
        _deploySystem(6, 1_000_000);
        signer = new ReportSigner();
        signer.configure(ETH_FEED_ID);
        signer.configure(BTC_FEED_ID);
        oracle = new BulkheadOracle(engine, signer.proxy(), Timing({settlementDelay: 2, expiry: 300, pushFallbackDelay: 120}));
        oracle.setStream(ETH_MARKET, ETH_FEED_ID, MAX_DEVIATION_BPS);
        oracle.setStream(BTC_MARKET, BTC_FEED_ID, MAX_DEVIATION_BPS);
        router = new BulkheadRouter(engine, oracle);
        engine.setSettler(address(router));
    }

    /// @dev Four positions filled through requests: a long and a short on each market, 3x to 20x.
    function _openStartingBook(RequestsHandler handler) internal {
        handler.requestOpen(0, 0, true, AMOUNT_1000, 10e18, 1);
        handler.requestOpen(1, 0, false, AMOUNT_1000, 5e18, 1);
        handler.requestOpen(2, 1, true, AMOUNT_1000, 20e18, 1);
        handler.requestOpen(3, 1, false, AMOUNT_1000, 3e18, 1);
        for (uint256 i; i < 4; ++i) {
            handler.execute(0, 0, 5, 1);
        }
    }

    /// @dev The pool holds exactly LP assets + insurance fund + protocol fees; LP assets cover the
    /// reserved max profit; every open position's vault holds at least its recorded collateral.
    function _assertPoolConservedAndVaultsCovered(uint256[] memory openIds) internal view {
        Ledger memory l = engine.ledger();
        assertEq(
            token.balanceOf(address(pool)),
            uint256(l.lpAssets) + l.insuranceFund + l.protocolFees,
            "pool balance != lpAssets + insurance + protocolFees"
        );
        assertGe(l.lpAssets, l.reserved, "lpAssets < reserved");
        for (uint256 i; i < openIds.length; ++i) {
            assertGe(
                token.balanceOf(engine.vaultOf(openIds[i])),
                engine.position(openIds[i]).collateral,
                string.concat("vault of position ", vm.toString(openIds[i]), " < its collateral")
            );
        }
    }
}
