// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {OrderKind} from "../interfaces/IBulkheadOrderBook.sol";
import {OrderLogic} from "../libraries/OrderLogic.sol";

/// @title OrderLogicHarness
/// @notice Test-only: exposes OrderLogic for the SDK parity test, which feeds the same inputs to
/// the SDK's TypeScript mirror (`sdk/src/orders.ts`) and requires exact equality.
contract OrderLogicHarness {
    /// @notice One set of inputs; every rule is evaluated on (parts of) it.
    struct Case {
        OrderKind kind;
        bool isLong;
        uint256 trigger;
        uint256 price;
        uint256 fill;
        uint256 trailBps;
        uint256 peak;
    }

    struct Out {
        bool buys;
        bool waitsAt;
        bool crossed;
        bool trailReached;
        bool stopReachable;
    }

    /// @notice Evaluates every rule on each case (`price` is the current price of `waitsAt` and
    /// the acceptable price of `stopReachable`).
    function run(Case[] calldata cases) external pure returns (Out[] memory out) {
        out = new Out[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            Case calldata c = cases[i];
            out[i] = Out({
                buys: OrderLogic.buys(c.kind, c.isLong),
                waitsAt: OrderLogic.waitsAt(c.kind, c.isLong, c.trigger, c.price),
                crossed: OrderLogic.crossed(c.kind, c.isLong, c.trigger, c.price, c.fill),
                trailReached: OrderLogic.trailReached(c.isLong, c.trailBps, c.peak, c.price),
                stopReachable: OrderLogic.stopReachable(c.isLong, c.trigger, c.price)
            });
        }
    }
}
