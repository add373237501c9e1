// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";

import {IBulkhead, Market, Position} from "./interfaces/IBulkhead.sol";
import {IBulkheadOracle, Timing} from "./interfaces/IBulkheadOracle.sol";
import {IBulkheadOrderBook} from "./interfaces/IBulkheadOrderBook.sol";
import {IBulkheadRouter, RequestKind, TradeRequest} from "./interfaces/IBulkheadRouter.sol";
import {IExecutionFees} from "./interfaces/IExecutionFees.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {ExecutionFeeLib} from "./libraries/ExecutionFeeLib.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {TradeLib} from "./libraries/TradeLib.sol";

/// @title BulkheadRouter
/// @notice Two-step trades of Bulkhead; see {IBulkheadRouter}. The engine's settler.
/// @dev Every external entry is nonReentrant. A request is deleted before anything it escrowed
/// moves, so it executes or is cancelled once. Escrowed tokens stay here until the fill, where the
/// engine pulls exactly the request's amount (an allowance of that amount, set inside the fill).
contract BulkheadRouter is IBulkheadRouter, ReentrancyGuardTransient {
    using MathLib for uint256;

    IBulkhead internal immutable _engine;
    IBulkheadOracle internal immutable _oracle;
    address internal immutable _token;
    uint256 internal immutable _unit;

    uint256 internal _lastRequestId;
    mapping(uint256 requestId => TradeRequest) internal _requests;
    mapping(RequestKind kind => uint256 gasLimit) internal _executionGas;
    mapping(address account => uint256 amount) internal _nativeOwed;
    address internal _orderBook;

    /// @param engine_ The engine this router settles for (it must then `setSettler` to it).
    /// @param oracle_ The report oracle of the same engine.
    constructor(IBulkhead engine_, IBulkheadOracle oracle_) {
        if (oracle_.engine() != address(engine_)) revert OracleEngineMismatch(oracle_.engine(), address(engine_));
        _engine = engine_;
        _oracle = oracle_;
        _token = engine_.token();
        _unit = engine_.unit();
        // What each kind measured in `npm run bench:gas` with the real Verifier, with headroom for
        // a cold market and a longer report.
        _setExecutionGas(RequestKind.Open, 600_000);
        _setExecutionGas(RequestKind.Increase, 600_000);
        _setExecutionGas(RequestKind.Decrease, 500_000);
        _setExecutionGas(RequestKind.Close, 500_000);
    }

    modifier onlyEngineOwner() {
        if (msg.sender != Ownable(address(_engine)).owner()) revert Unauthorized(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- requests

    /// @inheritdoc IBulkheadRouter
    function requestOpen(uint256 marketId, bool isLong, uint256 amount, uint256 size, uint256 acceptablePrice)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        if (amount == 0) revert ZeroAmount();
        requestId = _create(RequestKind.Open, marketId, isLong, 0, amount, size, acceptablePrice);
        TradeLib.pullExact(_token, msg.sender, address(this), amount);
    }

    /// @inheritdoc IBulkheadRouter
    function requestIncrease(uint256 positionId, uint256 amount, uint256 sizeDelta, uint256 acceptablePrice)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        Position memory p = _authorizedPosition(positionId);
        requestId = _create(RequestKind.Increase, p.marketId, p.isLong, positionId, amount, sizeDelta, acceptablePrice);
        if (amount != 0) TradeLib.pullExact(_token, msg.sender, address(this), amount);
    }

    /// @inheritdoc IBulkheadRouter
    function requestDecrease(uint256 positionId, uint256 sizeDelta, uint256 acceptablePrice)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        Position memory p = _authorizedPosition(positionId);
        if (sizeDelta >= p.size) revert IBulkhead.SizeDeltaTooLarge(sizeDelta, p.size);
        requestId = _create(RequestKind.Decrease, p.marketId, p.isLong, positionId, 0, sizeDelta, acceptablePrice);
    }

    /// @inheritdoc IBulkheadRouter
    function requestClose(uint256 positionId, uint256 acceptablePrice)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        Position memory p = _authorizedPosition(positionId);
        requestId = _create(RequestKind.Close, p.marketId, p.isLong, positionId, 0, type(uint128).max, acceptablePrice);
    }

    /// @dev Stores the request with the oracle's current timing and emits it. `size` is the
    /// close marker type(uint128).max for a close (stored as 0).
    function _create(
        RequestKind kind,
        uint256 marketId,
        bool isLong,
        uint256 positionId,
        uint256 amount,
        uint256 size,
        uint256 acceptablePrice
    ) internal returns (uint256 requestId) {
        if (size == 0) revert ZeroAmount();
        bool isClose = kind == RequestKind.Close;
        if (!isClose && size > type(uint128).max) revert AmountTooLarge(size, type(uint128).max);
        if (amount > ConstantsLib.MAX_COLLATERAL) revert AmountTooLarge(amount, ConstantsLib.MAX_COLLATERAL);
        Timing memory t = _oracle.requestTiming(marketId); // reverts StreamNotConfigured without a stream
        uint256 gasLimit = _executionGas[kind];
        ExecutionFeeLib.checkPaid(msg.value, gasLimit, type(uint96).max);
        // A buy never fills above MAX_PRICE, so a larger acceptable price means the same as it.
        uint256 acceptable = acceptablePrice < ConstantsLib.MAX_PRICE ? acceptablePrice : ConstantsLib.MAX_PRICE;
        requestId = ++_lastRequestId;
        _requests[requestId] = TradeRequest({
            account: msg.sender,
            kind: kind,
            isLong: isLong,
            marketId: uint8(marketId),
            createdAt: uint32(block.timestamp),
            settlementDelay: uint8(t.settlementDelay),
            positionId: uint32(positionId),
            acceptablePrice: uint96(acceptable),
            executionFee: uint96(msg.value),
            expiry: t.expiry,
            gasLimit: uint32(gasLimit),
            size: isClose ? 0 : uint128(size),
            collateral: uint96(amount)
        });
        emit RequestCreated(
            requestId,
            msg.sender,
            kind,
            marketId,
            positionId,
            isLong,
            amount,
            isClose ? 0 : size,
            acceptable,
            msg.value,
            block.timestamp + t.settlementDelay,
            block.timestamp + t.expiry
        );
    }

    function _authorizedPosition(uint256 positionId) internal view returns (Position memory p) {
        p = TradeLib.authorizedPosition(_engine, positionId, msg.sender);
    }

    // ---------------------------------------------------------------- execution

    /// @inheritdoc IBulkheadRouter
    function execute(uint256 requestId, bytes calldata signedReport) external nonReentrant returns (bool filled) {
        uint256 gasStart = gasleft();
        TradeRequest memory r = _pending(requestId);
        (uint256 bid,, uint256 ask) =
            _oracle.reportPrices(r.marketId, signedReport, uint256(r.createdAt) + r.settlementDelay);
        // Opening or adding to a long buys, reducing it sells; the mirror for a short.
        bool buying = (r.kind == RequestKind.Open || r.kind == RequestKind.Increase) == r.isLong;
        return _settle(requestId, r, buying ? ask : bid, gasStart);
    }

    /// @inheritdoc IBulkheadRouter
    function executeAtPushRound(uint256 requestId, uint80 roundId) external nonReentrant returns (bool filled) {
        uint256 gasStart = gasleft();
        TradeRequest memory r = _pending(requestId);
        if (r.kind == RequestKind.Open || r.kind == RequestKind.Increase) revert PushFallbackNotForOpening(requestId);
        uint256 opensAt = uint256(r.createdAt) + _oracle.timing().pushFallbackDelay;
        if (block.timestamp < opensAt) revert PushFallbackNotOpen(requestId, opensAt, block.timestamp);
        return _settle(requestId, r, _oracle.firstRoundAfter(r.marketId, roundId, r.createdAt), gasStart);
    }

    /// @dev A request that exists and has not expired.
    function _pending(uint256 requestId) internal view returns (TradeRequest memory r) {
        r = _requests[requestId];
        if (r.kind == RequestKind.None) revert RequestNotFound(requestId);
        uint256 expiresAt = uint256(r.createdAt) + r.expiry;
        if (block.timestamp > expiresAt) revert RequestExpired(requestId, expiresAt, block.timestamp);
    }

    /// @dev Deletes the request, then fills it at `price` in a self-call; if the engine refuses the
    /// trade, the request is cancelled instead (escrow back to the account). The executor is paid
    /// either way. A fill that ran out of gas reverts the whole execution: otherwise an executor
    /// could cancel any request by sending too little gas.
    function _settle(uint256 requestId, TradeRequest memory r, uint256 price, uint256 gasStart)
        internal
        returns (bool filled)
    {
        delete _requests[requestId];
        uint256 gasBefore = gasleft();
        uint256 positionId;
        bytes memory reason;
        try this.fill(r, price) returns (uint256 id) {
            (filled, positionId) = (true, id);
        } catch (bytes memory err) {
            if (gasleft() < gasBefore / 16) revert InsufficientExecutionGas(gasleft());
            reason = err;
        }
        (uint256 toExecutor, uint256 refund) = ExecutionFeeLib.split(r.executionFee, r.gasLimit, gasStart);
        if (filled) {
            emit RequestExecuted(requestId, msg.sender, positionId, price, toExecutor, refund);
            if (r.kind == RequestKind.Open && _orderBook != address(0)) {
                IBulkheadOrderBook(_orderBook).onOpenFilled(requestId, positionId);
            }
        } else {
            emit RequestCancelled(requestId, msg.sender, reason, toExecutor, refund);
            if (r.collateral != 0) SafeTransferLib.safeTransfer(_token, r.account, r.collateral);
        }
        ExecutionFeeLib.pay(_nativeOwed, msg.sender, toExecutor);
        ExecutionFeeLib.pay(_nativeOwed, r.account, refund);
    }

    /// @inheritdoc IBulkheadRouter
    /// @dev Calls the engine with the account and the price appended (see {IBulkhead-setSettler});
    /// the engine pulls exactly the escrowed amount. A position the fill leaves liquidatable at the
    /// push price (the report and the push feed differ by up to the stream's deviation) is refused.
    function fill(TradeRequest calldata r, uint256 price) external returns (uint256 positionId) {
        if (msg.sender != address(this)) revert Unauthorized(msg.sender);
        return _fill(r, price);
    }

    /// @inheritdoc IBulkheadRouter
    /// @dev The collateral moves from the order book to here and on to the engine inside this call,
    /// so the escrow of pending requests is never what an order's trade spends.
    function fillOrder(TradeRequest calldata r, uint256 price) external nonReentrant returns (uint256 positionId) {
        if (msg.sender != _orderBook) revert Unauthorized(msg.sender);
        if (r.collateral != 0) TradeLib.pullExact(_token, msg.sender, address(this), r.collateral);
        return _fill(r, price);
    }

    function _fill(TradeRequest calldata r, uint256 price) internal returns (uint256 positionId) {
        positionId = r.positionId;
        bytes memory call;
        if (r.kind == RequestKind.Open || r.kind == RequestKind.Increase) {
            uint256 openFee = PositionMath.notionalUp(r.size, price, _unit).wMulUp(_engine.market(r.marketId).openFeeRate);
            if (r.collateral < openFee) revert AmountBelowOpenFee(r.collateral, openFee);
            uint256 collateral = r.collateral - openFee;
            SafeTransferLib.safeApprove(_token, address(_engine), r.collateral);
            call = r.kind == RequestKind.Open
                ? abi.encodeCall(
                    IBulkhead.open, (r.marketId, r.isLong, collateral, r.size, r.acceptablePrice, type(uint256).max)
                )
                : abi.encodeCall(
                    IBulkhead.increase, (positionId, collateral, r.size, r.acceptablePrice, type(uint256).max)
                );
        } else if (r.kind == RequestKind.Decrease) {
            call = abi.encodeCall(IBulkhead.decrease, (positionId, r.size, r.acceptablePrice, type(uint256).max));
        } else {
            call = abi.encodeCall(IBulkhead.close, (positionId, r.acceptablePrice, type(uint256).max));
        }
        (bool ok, bytes memory data) = address(_engine).call(abi.encodePacked(call, r.account, price));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
        if (r.kind == RequestKind.Open) positionId = abi.decode(data, (uint256));
        if (r.kind != RequestKind.Close && _engine.isLiquidatable(positionId)) revert LiquidatableAfterFill(positionId);
    }

    /// @inheritdoc IBulkheadRouter
    function cancel(uint256 requestId) external nonReentrant {
        TradeRequest memory r = _requests[requestId];
        if (r.kind == RequestKind.None) revert RequestNotFound(requestId);
        if (msg.sender != r.account) revert NotRequester(requestId, msg.sender);
        uint256 expiresAt = uint256(r.createdAt) + r.expiry;
        if (block.timestamp <= expiresAt) revert RequestNotExpired(requestId, expiresAt, block.timestamp);
        delete _requests[requestId];
        emit RequestCancelled(requestId, msg.sender, "", 0, r.executionFee);
        if (r.collateral != 0) SafeTransferLib.safeTransfer(_token, r.account, r.collateral);
        ExecutionFeeLib.pay(_nativeOwed, r.account, r.executionFee);
    }

    /// @inheritdoc IExecutionFees
    function withdrawNative() external nonReentrant {
        ExecutionFeeLib.withdraw(_nativeOwed);
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IBulkheadRouter
    function setExecutionGas(RequestKind kind, uint256 gasLimit) external onlyEngineOwner {
        if (kind == RequestKind.None) revert ParameterOutOfBounds("kind", 0, 1, uint256(RequestKind.Close));
        _setExecutionGas(kind, gasLimit);
    }

    /// @inheritdoc IBulkheadRouter
    function setOrderBook(address orderBook_) external onlyEngineOwner {
        if (_orderBook != address(0)) revert OrderBookAlreadySet(_orderBook);
        if (orderBook_.code.length == 0 || IBulkheadOrderBook(orderBook_).router() != address(this)) {
            revert OrderBookMismatch(orderBook_);
        }
        _orderBook = orderBook_;
        emit OrderBookSet(orderBook_);
    }

    function _setExecutionGas(RequestKind kind, uint256 gasLimit) internal {
        if (gasLimit < ConstantsLib.MIN_EXECUTION_GAS || gasLimit > ConstantsLib.MAX_EXECUTION_GAS) {
            revert ParameterOutOfBounds(
                "executionGas", gasLimit, ConstantsLib.MIN_EXECUTION_GAS, ConstantsLib.MAX_EXECUTION_GAS
            );
        }
        _executionGas[kind] = gasLimit;
        emit ExecutionGasSet(kind, gasLimit);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IBulkheadRouter
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @inheritdoc IBulkheadRouter
    function oracle() external view returns (IBulkheadOracle) {
        return _oracle;
    }

    /// @inheritdoc IBulkheadRouter
    function orderBook() external view returns (address) {
        return _orderBook;
    }

    /// @inheritdoc IBulkheadRouter
    function request(uint256 requestId) external view returns (TradeRequest memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IBulkheadRouter
    function nextRequestId() external view returns (uint256) {
        return _lastRequestId + 1;
    }

    /// @inheritdoc IBulkheadRouter
    function executionGas(RequestKind kind) external view returns (uint256) {
        return _executionGas[kind];
    }

    /// @inheritdoc IBulkheadRouter
    function quoteExecutionFee(RequestKind kind, uint256 gasPrice) external view returns (uint256) {
        return _executionGas[kind] * gasPrice;
    }

    /// @inheritdoc IExecutionFees
    function nativeOwed(address account) external view returns (uint256) {
        return _nativeOwed[account];
    }
}
