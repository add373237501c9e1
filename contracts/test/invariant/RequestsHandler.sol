// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {Bulkhead} from "../../Bulkhead.sol";
import {BulkheadPool} from "../../BulkheadPool.sol";
import {BulkheadRouter} from "../../BulkheadRouter.sol";
import {Position} from "../../interfaces/IBulkhead.sol";
import {IBulkheadOracle} from "../../interfaces/IBulkheadOracle.sol";
import {IBulkheadRouter, RequestKind, TradeRequest} from "../../interfaces/IBulkheadRouter.sol";
import {IDataStreamsErrors} from "../../interfaces/IDataStreams.sol";
import {MathLib} from "../../libraries/MathLib.sol";
import {PositionMath} from "../../libraries/PositionMath.sol";
import {MockStablecoin} from "../../mocks/MockStablecoin.sol";
import {NativeRefuser} from "../NativeRefuser.sol";
import {IChainlinkVerifier, ReportSigner} from "../utils/ReportSigner.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives two-step trading: several traders (one a contract that refuses native tokens)
/// request opens, increases, decreases and closes with an execution fee; executors fill them with
/// the pinned report (a random price within the stream's deviation of the push feed, a random
/// spread), try wrong reports, fill overdue exits at the first push round, and accounts cancel
/// expired requests; the push price moves and time passes. Every request's escrow and what became
/// of it is kept as ghost state for the invariants; a broken expectation is recorded (first message
/// per kind), never reverted on, so the runner reports the sequence that produced it.
contract RequestsHandler {
    using MathLib for uint256;

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    /// @dev The test gas price: execution fees are quoted, paid and split at it.
    uint256 public constant GAS_PRICE = 1 gwei;
    uint256 internal constant MAX_OPEN = 12;
    uint256 internal constant MAX_PENDING = 24;

    enum Outcome {
        Pending,
        Filled,
        CancelledAtExecution,
        CancelledByAccount
    }

    /// @notice What a finding breaks (the campaign's invariant numbers in brackets).
    enum Kind {
        Escrow, // [1]-[3] a request moved other amounts than it escrowed, or a settlement reverted
        WrongReport, // a report the request does not pin executed, or reverted for another reason
        Health // [5] a fill left its position liquidatable at the push price
    }

    /// @notice One request as the handler saw it: what it escrowed, and what its settlement moved.
    struct Ghost {
        address account;
        RequestKind kind;
        bool isLong;
        uint8 marketId;
        uint32 createdAt;
        uint256 positionId;
        uint256 amount;
        uint256 fee;
        Outcome outcome;
        /// @dev Tokens the settlement took out of the router.
        uint256 routerTokensOut;
        /// @dev Tokens the account received (a cancellation returns exactly the amount).
        uint256 returnedToAccount;
        /// @dev Filled open or increase: tokens that reached the position's vault plus the pool.
        uint256 vaultAndPoolIn;
        /// @dev Filled open: the position's collateral plus the open fee at the fill price.
        uint256 collateralPlusOpenFee;
        /// @dev The fee split the router emitted.
        uint256 toExecutor;
        uint256 refund;
        /// @dev Native tokens that reached the executor and the account (paid or owed to them).
        uint256 nativePaidOut;
    }

    Bulkhead public immutable engine;
    BulkheadPool public immutable pool;
    BulkheadRouter public immutable router;
    ReportSigner public immutable signer;
    MockStablecoin public immutable token;
    NativeRefuser public immutable refuser;
    uint256 public immutable unit;
    uint256 public immutable one;
    MockV3Aggregator[2] internal _feeds;
    bytes32[2] internal _feedIds;
    uint256 internal immutable _strangerKey = uint256(keccak256("not an oracle"));

    address[] internal _traders;
    address[] internal _executors;

    mapping(uint256 requestId => Ghost) internal _ghost;
    uint256[] internal _all;
    uint256[] internal _pending;
    uint256[] internal _openIds;

    mapping(Kind => string) public violation;
    /// @notice Outcomes by name, for the coverage checks.
    mapping(bytes32 => uint256) public calls;

    constructor(
        Bulkhead engine_,
        BulkheadPool pool_,
        BulkheadRouter router_,
        ReportSigner signer_,
        MockV3Aggregator[2] memory feeds,
        bytes32[2] memory feedIds
    ) {
        engine = engine_;
        pool = pool_;
        router = router_;
        signer = signer_;
        token = MockStablecoin(engine_.token());
        unit = engine_.unit();
        one = 10 ** token.decimals();
        _feeds = feeds;
        _feedIds = feedIds;
        refuser = new NativeRefuser(router_, token);
        for (uint160 i = 1; i <= 3; ++i) {
            address trader = address(0xB000 + i);
            _traders.push(trader);
            vm.prank(trader);
            token.approve(address(router_), type(uint256).max);
        }
        _traders.push(address(refuser));
        _executors.push(address(0xE001));
        _executors.push(address(0xE002));
        _executors.push(address(refuser)); // its fee is owed, not paid
        for (uint256 i; i < _traders.length; ++i) {
            vm.deal(_traders[i], 1_000 ether);
        }
    }

    // ================================================================ requests

    function requestOpen(
        uint256 actorSeed,
        uint256 marketSeed,
        bool isLong,
        uint256 amountSeed,
        uint256 leverageSeed,
        uint256 acceptSeed
    ) public {
        if (_pending.length >= MAX_PENDING || _openIds.length >= MAX_OPEN) return;
        address account = _traders[actorSeed % _traders.length];
        uint256 marketId = marketSeed % 2;
        // One amount in eight is a few units (below the open fee or the minimum collateral).
        uint256 amount = amountSeed % 8 == 0 ? _bound(amountSeed >> 3, 1, 20 * one) : _bound(amountSeed >> 3, 20 * one, 20_000 * one);
        // 1-60x on the push price (the cap is 50x: some fills are refused for margin).
        uint256 leverage = _bound(leverageSeed, 1e18, 60e18);
        uint256 size = Math.mulDiv(amount * leverage, unit, WAD * engine.price(marketId));
        if (size == 0) return;
        _fund(account, amount);
        uint256 fee = _fee(RequestKind.Open, acceptSeed >> 8);
        uint256 acceptable = _acceptable(marketId, isLong, acceptSeed);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(account);
        try router.requestOpen{value: fee}(marketId, isLong, amount, size, acceptable) returns (uint256 id) {
            _created(id, account, RequestKind.Open, isLong, marketId, 0, amount, fee);
        } catch (bytes memory err) {
            _flag(Kind.Escrow, string.concat("requestOpen reverted ", _selector(err)));
        }
    }

    function requestIncrease(uint256 idSeed, uint256 amountSeed, uint256 sizeSeed, uint256 acceptSeed) external {
        (bool found, uint256 id, Position memory p, address owner) = _pickPosition(idSeed);
        if (!found || _pending.length >= MAX_PENDING) return;
        // Zero to a few thousand: an increase may add no collateral (then it cannot pay its fee).
        uint256 amount = _bound(amountSeed, 0, 5_000 * one);
        uint256 sizeDelta = _bound(sizeSeed, 1, p.size);
        _fund(owner, amount);
        uint256 fee = _fee(RequestKind.Increase, acceptSeed >> 8);
        uint256 acceptable = _acceptable(p.marketId, p.isLong, acceptSeed);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(owner);
        try router.requestIncrease{value: fee}(id, amount, sizeDelta, acceptable) returns (uint256 requestId) {
            _created(requestId, owner, RequestKind.Increase, p.isLong, p.marketId, id, amount, fee);
        } catch (bytes memory err) {
            _flag(Kind.Escrow, string.concat("requestIncrease reverted ", _selector(err)));
        }
    }

    function requestDecrease(uint256 idSeed, uint256 sizeSeed, uint256 acceptSeed) external {
        (bool found, uint256 id, Position memory p, address owner) = _pickPosition(idSeed);
        if (!found || p.size < 2 || _pending.length >= MAX_PENDING) return;
        uint256 fee = _fee(RequestKind.Decrease, acceptSeed >> 8);
        uint256 acceptable = _acceptable(p.marketId, !p.isLong, acceptSeed);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(owner);
        try router.requestDecrease{value: fee}(id, _bound(sizeSeed, 1, p.size - 1), acceptable) returns (uint256 requestId) {
            _created(requestId, owner, RequestKind.Decrease, p.isLong, p.marketId, id, 0, fee);
        } catch (bytes memory err) {
            _flag(Kind.Escrow, string.concat("requestDecrease reverted ", _selector(err)));
        }
    }

    function requestClose(uint256 idSeed, uint256 acceptSeed) external {
        (bool found, uint256 id, Position memory p, address owner) = _pickPosition(idSeed);
        if (!found || _pending.length >= MAX_PENDING) return;
        uint256 fee = _fee(RequestKind.Close, acceptSeed >> 8);
        uint256 acceptable = _acceptable(p.marketId, !p.isLong, acceptSeed);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(owner);
        try router.requestClose{value: fee}(id, acceptable) returns (uint256 requestId) {
            _created(requestId, owner, RequestKind.Close, p.isLong, p.marketId, id, 0, fee);
        } catch (bytes memory err) {
            _flag(Kind.Escrow, string.concat("requestClose reverted ", _selector(err)));
        }
    }

    /// @dev Records a new request and checks that exactly its amount and fee were escrowed.
    function _created(
        uint256 id,
        address account,
        RequestKind kind,
        bool isLong,
        uint256 marketId,
        uint256 positionId,
        uint256 amount,
        uint256 fee
    ) internal {
        Ghost storage g = _ghost[id];
        (g.account, g.kind, g.isLong, g.marketId) = (account, kind, isLong, uint8(marketId));
        g.createdAt = uint32(block.timestamp);
        (g.positionId, g.amount, g.fee) = (positionId, amount, fee);
        _all.push(id);
        _pending.push(id);
        ++calls["request"];
        TradeRequest memory r = router.request(id);
        if (r.account != account || r.kind != kind || r.isLong != isLong || r.collateral != amount || r.executionFee != fee) {
            _flag(Kind.Escrow, string.concat("request ", vm.toString(id), " stored other than requested"));
        }
    }

    // ================================================================ executions

    /// @notice An executor fills a pending request with its pinned report: observed at its
    /// settlement second, priced within the stream's deviation of the push feed, with a random spread.
    function execute(uint256 seed, uint256 priceSeed, uint256 spreadSeed, uint256 executorSeed) external {
        (bool found, uint256 id) = _pickExecutable(seed);
        if (!found) return;
        Ghost storage g = _ghost[id];
        uint256 push = engine.price(g.marketId);
        // Up to 99 bps either side of the push price (the stream allows 100), half spread up to 50 bps.
        uint256 distance = push * _bound(priceSeed >> 1, 0, 99) / BPS;
        uint256 price = priceSeed % 2 == 0 ? push + distance : push - distance;
        uint256 halfSpread = price * _bound(spreadSeed, 0, 50) / BPS;
        bytes memory payload =
            signer.sign(signer.report(_feedIds[g.marketId], _settlesAt(g), price, price - halfSpread, price + halfSpread));
        bool buying = (g.kind == RequestKind.Open || g.kind == RequestKind.Increase) == g.isLong;
        uint256 fillPrice = buying ? price + halfSpread : price - halfSpread;
        _settle(id, _executor(executorSeed, g.account), abi.encodeCall(IBulkheadRouter.execute, (id, payload)), fillPrice);
    }

    /// @notice An executor tries a report the request does not pin: observed before its settlement
    /// second, of another market's stream, or signed with a stranger's key. It must revert with the
    /// rule it breaks and change nothing.
    function executeWrongReport(uint256 seed, uint256 wrongSeed, uint256 executorSeed) external {
        (bool found, uint256 id) = _pickExecutable(seed);
        if (!found) return;
        Ghost storage g = _ghost[id];
        uint256 settlesAt = _settlesAt(g);
        uint256 push = engine.price(g.marketId);
        uint256 which = wrongSeed % 3;
        bytes memory payload;
        bytes memory expected;
        if (which == 0) {
            uint256 t = settlesAt - 1 - _bound(wrongSeed >> 2, 0, 600);
            payload = signer.sign(signer.report(_feedIds[g.marketId], t, push, push, push));
            expected = abi.encodeWithSelector(IBulkheadOracle.ReportNotPinned.selector, settlesAt, t, t);
        } else if (which == 1) {
            uint256 other = 1 - g.marketId;
            uint256 otherPush = engine.price(other);
            payload = signer.sign(signer.report(_feedIds[other], settlesAt, otherPush, otherPush, otherPush));
            expected = abi.encodeWithSelector(
                IDataStreamsErrors.ReportFeedMismatch.selector, _feedIds[g.marketId], _feedIds[other]
            );
        } else {
            uint256[] memory keys = new uint256[](2);
            (keys[0], keys[1]) = (signer.key(wrongSeed >> 2 & 3), _strangerKey);
            payload = signer.signWith(signer.report(_feedIds[g.marketId], settlesAt, push, push, push), keys);
            expected = abi.encodeWithSelector(IChainlinkVerifier.BadVerification.selector);
        }
        bytes32 before = _escrowState(id);
        address executor = _executor(executorSeed, g.account);
        vm.prank(executor);
        try router.execute(id, payload) {
            _flag(Kind.WrongReport, string.concat("request ", vm.toString(id), " executed with wrong report ", vm.toString(which)));
        } catch (bytes memory err) {
            if (keccak256(err) != keccak256(expected)) {
                _flag(Kind.WrongReport, string.concat("wrong report ", vm.toString(which), " reverted with ", _selector(err)));
            }
        }
        if (_escrowState(id) != before) {
            _flag(Kind.WrongReport, string.concat("a refused report changed request ", vm.toString(id), "'s escrow"));
        }
        ++calls[which == 0 ? bytes32("wrong.early") : which == 1 ? bytes32("wrong.feed") : bytes32("wrong.signer")];
    }

    /// @notice Anyone fills an exit overdue for a report at the first push round after its creation
    /// (posting one if the feed has not updated since).
    function executeAtPushRound(uint256 seed, uint256 executorSeed) external {
        uint256 n = _pending.length;
        uint256 id;
        for (uint256 i; i < n; ++i) {
            uint256 candidate = _pending[(seed % n + i) % n];
            RequestKind kind = _ghost[candidate].kind;
            if ((kind == RequestKind.Decrease || kind == RequestKind.Close) && !_expired(_ghost[candidate])) {
                id = candidate;
                break;
            }
        }
        if (id == 0) return;
        Ghost storage g = _ghost[id];
        uint256 opensAt = uint256(g.createdAt) + router.oracle().timing().pushFallbackDelay;
        if (block.timestamp < opensAt) _warpTo(opensAt);
        MockV3Aggregator feed = _feeds[g.marketId];
        uint80 round = uint80(feed.latestRound());
        (,,, uint256 updatedAt,) = feed.getRoundData(round);
        if (updatedAt <= g.createdAt) {
            feed.updateAnswer(feed.latestAnswer());
            round = uint80(feed.latestRound());
        } else {
            while (round > 1) {
                (,,, uint256 previous,) = feed.getRoundData(round - 1);
                if (previous <= g.createdAt) break;
                --round;
            }
        }
        (, int256 answer,,,) = feed.getRoundData(round);
        uint256 fillPrice = uint256(answer) * 10 ** (18 - feed.decimals());
        _settle(
            id, _executor(executorSeed, g.account), abi.encodeCall(IBulkheadRouter.executeAtPushRound, (id, round)), fillPrice
        );
        ++calls["pushRound"];
    }

    /// @dev Runs an execution and records what it moved: the router's tokens and native balance,
    /// the account's tokens, the fee split, and (for a filled open or increase) where the escrow went.
    function _settle(uint256 id, address executor, bytes memory call, uint256 fillPrice) internal {
        Ghost storage g = _ghost[id];
        uint256 routerBefore = token.balanceOf(address(router));
        uint256 accountBefore = token.balanceOf(g.account);
        uint256 nativeBefore = _native(executor, g.account);
        address vault = g.positionId == 0 ? address(0) : engine.vaultOf(g.positionId);
        uint256 vaultPoolBefore = (vault == address(0) ? 0 : token.balanceOf(vault)) + token.balanceOf(address(pool));
        vm.txGasPrice(GAS_PRICE);
        vm.recordLogs();
        vm.prank(executor);
        (bool ok, bytes memory ret) = address(router).call(call);
        if (!ok) {
            _flag(Kind.Escrow, string.concat("execution of request ", vm.toString(id), " reverted ", _selector(ret)));
            return;
        }
        bool filled = abi.decode(ret, (bool));
        (uint256 positionId, uint256 emittedPrice) = _readSettlement(g, id);
        _finish(id, filled ? Outcome.Filled : Outcome.CancelledAtExecution);
        g.routerTokensOut = routerBefore - token.balanceOf(address(router));
        g.nativePaidOut = _native(executor, g.account) - nativeBefore;
        if (!filled) {
            g.returnedToAccount = token.balanceOf(g.account) - accountBefore;
            ++calls["cancelledAtExecution"];
            return;
        }
        ++calls["filled"];
        if (emittedPrice != fillPrice) {
            _flag(Kind.Escrow, string.concat("request ", vm.toString(id), " filled at ", vm.toString(emittedPrice), " not ", vm.toString(fillPrice)));
        }
        if (g.kind == RequestKind.Open) {
            g.positionId = positionId;
            _openIds.push(positionId);
            vault = engine.vaultOf(positionId);
        }
        if (g.kind == RequestKind.Open || g.kind == RequestKind.Increase) {
            g.vaultAndPoolIn = token.balanceOf(vault) + token.balanceOf(address(pool)) - vaultPoolBefore;
            if (g.kind == RequestKind.Open) {
                uint256 openFee = PositionMath.notionalUp(engine.position(positionId).size, fillPrice, unit).wMulUp(
                    engine.market(g.marketId).openFeeRate
                );
                g.collateralPlusOpenFee = engine.position(positionId).collateral + openFee;
            }
        }
        if (g.kind == RequestKind.Close) {
            _removeOpen(g.positionId);
        } else if (engine.isLiquidatable(g.positionId)) {
            _flag(Kind.Health, string.concat("position ", vm.toString(g.positionId), " liquidatable right after request ", vm.toString(id)));
        }
    }

    /// @dev The fee split and, for a fill, the position id and fill price from the router's event.
    function _readSettlement(Ghost storage g, uint256 id) internal returns (uint256 positionId, uint256 fillPrice) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(router) || uint256(logs[i].topics[1]) != id) continue;
            if (logs[i].topics[0] == IBulkheadRouter.RequestExecuted.selector) {
                (positionId, fillPrice, g.toExecutor, g.refund) = abi.decode(logs[i].data, (uint256, uint256, uint256, uint256));
            } else if (logs[i].topics[0] == IBulkheadRouter.RequestCancelled.selector) {
                (, g.toExecutor, g.refund) = abi.decode(logs[i].data, (bytes, uint256, uint256));
            }
        }
    }

    // ================================================================ cancellation

    /// @notice The account cancels a pending request: refused before it expires (nobody cancels once
    /// the price is known), then, after a warp past its expiry, everything comes back.
    function cancel(uint256 seed) external {
        if (_pending.length == 0) return;
        uint256 id = _pending[seed % _pending.length];
        Ghost storage g = _ghost[id];
        uint256 expiresAt = uint256(g.createdAt) + router.oracle().timing().expiry;
        if (block.timestamp <= expiresAt) {
            vm.prank(g.account);
            try router.cancel(id) {
                _flag(Kind.Escrow, string.concat("request ", vm.toString(id), " cancelled before it expired"));
            } catch (bytes memory err) {
                bytes memory expected =
                    abi.encodeWithSelector(IBulkheadRouter.RequestNotExpired.selector, id, expiresAt, block.timestamp);
                if (keccak256(err) != keccak256(expected)) {
                    _flag(Kind.Escrow, string.concat("early cancel reverted with ", _selector(err)));
                }
            }
            _warpTo(expiresAt + 1);
        }
        _cancelExpired(id);
    }

    /// @notice Cancels every pending request after the last one expires (the end of a run).
    function cancelAll() external {
        uint256 last;
        for (uint256 i; i < _pending.length; ++i) {
            uint256 createdAt = _ghost[_pending[i]].createdAt;
            if (createdAt > last) last = createdAt;
        }
        if (_pending.length != 0) _warpTo(last + router.oracle().timing().expiry + 1);
        while (_pending.length != 0) {
            _cancelExpired(_pending[_pending.length - 1]);
        }
    }

    function _cancelExpired(uint256 id) internal {
        Ghost storage g = _ghost[id];
        uint256 routerBefore = token.balanceOf(address(router));
        uint256 accountBefore = token.balanceOf(g.account);
        uint256 nativeBefore = _native(g.account, g.account);
        vm.recordLogs();
        vm.prank(g.account);
        try router.cancel(id) {
            _readSettlement(g, id);
            _finish(id, Outcome.CancelledByAccount);
            g.routerTokensOut = routerBefore - token.balanceOf(address(router));
            g.returnedToAccount = token.balanceOf(g.account) - accountBefore;
            g.nativePaidOut = _native(g.account, g.account) - nativeBefore;
            ++calls["cancelledByAccount"];
        } catch (bytes memory err) {
            _flag(Kind.Escrow, string.concat("cancel of expired request ", vm.toString(id), " reverted ", _selector(err)));
            _finish(id, Outcome.Pending); // keeps the loop of cancelAll finite; invariant [1] reports the escrow
        }
    }

    // ================================================================ world

    /// @notice The push price of a market moves by up to 3% (a report must then stay within 1% of it).
    function movePrice(uint256 marketSeed, uint256 bpsSeed) external {
        MockV3Aggregator feed = _feeds[marketSeed % 2];
        int256 answer = feed.latestAnswer();
        int256 delta = answer * int256(_bound(bpsSeed >> 1, 1, 300)) / int256(BPS);
        feed.updateAnswer(bpsSeed % 2 == 0 ? answer + delta : answer - delta);
        ++calls["movePrice"];
    }

    /// @notice Time passes (up to ten minutes); the feeds post again, so they stay fresh.
    function warp(uint256 secondsSeed) external {
        _warpTo(block.timestamp + _bound(secondsSeed, 1, 600));
        ++calls["warp"];
    }

    function _warpTo(uint256 t) internal {
        vm.warp(t);
        for (uint256 i; i < 2; ++i) {
            _feeds[i].updateAnswer(_feeds[i].latestAnswer());
        }
    }

    // ================================================================ views for the invariants

    function allRequests() external view returns (uint256[] memory) {
        return _all;
    }

    function pendingRequests() external view returns (uint256[] memory) {
        return _pending;
    }

    function openIds() external view returns (uint256[] memory) {
        return _openIds;
    }

    function ghost(uint256 requestId) external view returns (Ghost memory) {
        return _ghost[requestId];
    }

    /// @notice Every address the router may owe native tokens to, once each (the refuser is a
    /// trader and an executor).
    function actors() external view returns (address[] memory out) {
        out = new address[](_traders.length + _executors.length - 1);
        for (uint256 i; i < _traders.length; ++i) out[i] = _traders[i];
        for (uint256 i; i < _executors.length - 1; ++i) out[_traders.length + i] = _executors[i];
    }

    // ================================================================ helpers

    function _finish(uint256 id, Outcome outcome) internal {
        _ghost[id].outcome = outcome;
        uint256 n = _pending.length;
        for (uint256 i; i < n; ++i) {
            if (_pending[i] == id) {
                _pending[i] = _pending[n - 1];
                _pending.pop();
                return;
            }
        }
    }

    /// @dev A pending, unexpired request, at or after its settlement second (warping there if needed).
    function _pickExecutable(uint256 seed) internal returns (bool, uint256) {
        uint256 n = _pending.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _pending[(seed % n + i) % n];
            Ghost storage g = _ghost[id];
            if (_expired(g)) continue;
            if (block.timestamp < _settlesAt(g)) vm.warp(_settlesAt(g));
            return (true, id);
        }
        return (false, 0);
    }

    function _pickPosition(uint256 seed) internal view returns (bool, uint256, Position memory p, address owner) {
        if (_openIds.length == 0) return (false, 0, p, owner);
        uint256 id = _openIds[seed % _openIds.length];
        return (true, id, engine.position(id), engine.ownerOf(id));
    }

    function _expired(Ghost storage g) internal view returns (bool) {
        return block.timestamp > uint256(g.createdAt) + router.oracle().timing().expiry;
    }

    function _settlesAt(Ghost storage g) internal view returns (uint256) {
        return uint256(g.createdAt) + router.oracle().timing().settlementDelay;
    }

    /// @dev The account executes its own request one time in four; a refusing executor one in four.
    function _executor(uint256 seed, address account) internal view returns (address) {
        if (seed % 4 == 0) return account;
        return _executors[(seed >> 2) % _executors.length];
    }

    /// @dev The kind's quote at the test gas price, times 1-3 (the excess is refunded).
    function _fee(RequestKind kind, uint256 seed) internal view returns (uint256) {
        return router.quoteExecutionFee(kind, GAS_PRICE) * (1 + seed % 3);
    }

    /// @dev No limit three times in four; else the push price, which a fill on the wrong side of it refuses.
    function _acceptable(uint256 marketId, bool buying, uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) return buying ? type(uint256).max : 0;
        return engine.price(marketId);
    }

    /// @dev Native tokens of `a` and `b` (once if the same), paid or owed by the router.
    function _native(address a, address b) internal view returns (uint256 sum) {
        sum = a.balance + router.nativeOwed(a);
        if (b != a) sum += b.balance + router.nativeOwed(b);
    }

    /// @dev What a refused execution must leave unchanged: the stored request and the router's balances.
    function _escrowState(uint256 id) internal view returns (bytes32) {
        return keccak256(
            abi.encode(router.request(id), token.balanceOf(address(router)), address(router).balance, router.nextRequestId())
        );
    }

    function _fund(address to, uint256 amount) internal {
        uint256 balance = token.balanceOf(to);
        if (balance < amount) _mint(to, amount - balance);
    }

    function _mint(address to, uint256 amount) internal {
        uint256 cap = token.faucetCap();
        while (amount != 0) {
            uint256 chunk = amount < cap ? amount : cap;
            token.faucet(to, chunk);
            amount -= chunk;
        }
    }

    function _removeOpen(uint256 id) internal {
        uint256 n = _openIds.length;
        for (uint256 i; i < n; ++i) {
            if (_openIds[i] == id) {
                _openIds[i] = _openIds[n - 1];
                _openIds.pop();
                return;
            }
        }
    }

    function _flag(Kind kind, string memory why) internal {
        if (bytes(violation[kind]).length == 0) violation[kind] = why;
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        return min + x % (max - min + 1);
    }

    function _selector(bytes memory err) internal pure returns (string memory) {
        if (err.length < 4) return "(no data)";
        return vm.toString(uint256(uint32(bytes4(err))));
    }
}
