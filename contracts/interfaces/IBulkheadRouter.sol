// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IBulkheadOracle} from "./IBulkheadOracle.sol";
import {IExecutionFees} from "./IExecutionFees.sol";

/// @notice What a trade request does once executed.
enum RequestKind {
    None,
    Open,
    Increase,
    Decrease,
    Close
}

/// @notice A pending trade request: two slots for an exit, three with a size or an amount.
/// `positionId` is 0 for an open (the engine assigns the id at execution). `collateral` is the
/// escrowed amount of an open or increase (the trade's open fee is taken from it at the fill, the
/// rest becomes collateral), 0 for an exit; `size` is 0 for a close (all of it at execution).
/// `settlementDelay` and `expiry` are the oracle's timing at creation, kept so that governance
/// cannot move a pending request's pinned report. `executionFee` is the native-token fee escrowed
/// for the executor; `gasLimit` the execution gas it was quoted for, so `executionFee / gasLimit`
/// is the highest gas price it pays.
struct TradeRequest {
    address account;
    RequestKind kind;
    bool isLong;
    uint8 marketId;
    uint32 createdAt;
    uint8 settlementDelay;
    uint32 positionId;
    uint96 acceptablePrice;
    uint96 executionFee;
    uint32 expiry;
    uint32 gasLimit;
    uint128 size;
    uint96 collateral;
}

/// @title IBulkheadRouter
/// @notice Two-step trading (DESIGN.md "Requests and price reports"): a trader requests an open,
/// increase, decrease or close (collateral and an execution fee escrowed here); anyone executes it
/// later with the Chainlink Data Streams report that the request pins: the report whose validity
/// window `[validFromTimestamp, observationsTimestamp]` contains the request time plus the settlement
/// delay. Neither the trader (who commits before that report exists) nor the executor (who cannot
/// choose another) picks the price. Buying fills at the report's ask, selling at its bid.
/// @dev The router is the engine's settler: it calls the engine's trade functions with the account
/// and the fill price appended to the calldata (ERC-2771 style), and the engine accepts trades from
/// nobody else. A request whose trade the engine refuses at the pinned price (slippage, margin,
/// caps, pause) is cancelled by that execution: its escrow returns to the account, less the
/// executor's fee. A position left liquidatable at the push price by a fill is refused the same way.
interface IBulkheadRouter is IExecutionFees {
    // ---------------------------------------------------------------- errors

    /// @notice No pending request has this id (never created, executed or cancelled).
    error RequestNotFound(uint256 requestId);
    /// @notice No open position with this id.
    error PositionNotFound(uint256 positionId);
    /// @notice The escrowed amount cannot pay the open fee at the fill price.
    error AmountBelowOpenFee(uint256 amount, uint256 openFee);
    /// @notice The fill would leave the position liquidatable at the push-feed price.
    error LiquidatableAfterFill(uint256 positionId);
    /// @notice The request can no longer be executed (created + expiry has passed); it can be cancelled.
    error RequestExpired(uint256 requestId, uint256 expiresAt, uint256 blockTimestamp);
    /// @notice The request cannot be cancelled before it expires: until then it may only be executed.
    error RequestNotExpired(uint256 requestId, uint256 expiresAt, uint256 blockTimestamp);
    /// @notice Only the request's account may cancel it.
    error NotRequester(uint256 requestId, address caller);
    /// @notice The caller may not trade this position (not its owner or approved).
    error NotPositionOwner(uint256 positionId, address caller);
    /// @notice A push-feed execution is only for exits, and only from created + pushFallbackDelay.
    error PushFallbackNotOpen(uint256 requestId, uint256 opensAt, uint256 blockTimestamp);
    /// @notice Opening requests never execute at a push-feed round; they expire and are cancelled.
    error PushFallbackNotForOpening(uint256 requestId);
    /// @notice Only the engine's owner may change the router's parameters.
    error Unauthorized(address caller);
    /// @notice A governance value is outside its hard-coded bounds.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);
    /// @notice The executor ran out of gas inside the trade: execution reverts instead of cancelling.
    error InsufficientExecutionGas(uint256 gasLeft);
    /// @notice The router's oracle is not of this engine.
    error OracleEngineMismatch(address oracleEngine, address engine);
    /// @notice Zero size, or zero collateral on an open.
    error ZeroAmount();
    /// @notice An amount does not fit the request's storage.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice The order book is set once.
    error OrderBookAlreadySet(address orderBook);
    /// @notice The order book must be a contract of this router.
    error OrderBookMismatch(address orderBook);

    // ---------------------------------------------------------------- events

    /// @notice A request was created; `settlesAt` is its pinned report time, `expiresAt` its last
    /// executable second.
    event RequestCreated(
        uint256 indexed requestId,
        address indexed account,
        RequestKind kind,
        uint256 indexed marketId,
        uint256 positionId,
        bool isLong,
        uint256 collateral,
        uint256 size,
        uint256 acceptablePrice,
        uint256 executionFee,
        uint256 settlesAt,
        uint256 expiresAt
    );
    /// @notice A request was filled at `fillPrice`; the executor was paid `executorFee` and the
    /// account refunded `refund` of the execution fee.
    event RequestExecuted(
        uint256 indexed requestId, address indexed executor, uint256 positionId, uint256 fillPrice, uint256 executorFee, uint256 refund
    );
    /// @notice A request was cancelled, by its account after expiry (`reason` empty) or by an
    /// execution the engine refused at the pinned price (`reason` = the engine's revert data).
    event RequestCancelled(uint256 indexed requestId, address indexed by, bytes reason, uint256 executorFee, uint256 refund);
    event ExecutionGasSet(RequestKind indexed kind, uint256 gasLimit);
    event OrderBookSet(address indexed orderBook);

    // ---------------------------------------------------------------- requests

    /// @notice Requests an open of `size` on `marketId`; escrows `amount` of the token (the open
    /// fee at the fill price is taken from it, the rest is the position's collateral) and
    /// `msg.value` as the execution fee. A long fills at the pinned report's ask, a short at its bid;
    /// either must be within `acceptablePrice` (a long's highest, a short's lowest).
    function requestOpen(uint256 marketId, bool isLong, uint256 amount, uint256 size, uint256 acceptablePrice)
        external
        payable
        returns (uint256 requestId);

    /// @notice Requests an increase of position `positionId` (owner or approved); escrows `amount`
    /// (the open fee of `sizeDelta` is taken from it, the rest is added collateral) and the fee.
    function requestIncrease(uint256 positionId, uint256 amount, uint256 sizeDelta, uint256 acceptablePrice)
        external
        payable
        returns (uint256 requestId);

    /// @notice Requests a decrease by `sizeDelta` (less than the size); a long sells at the bid, a
    /// short buys back at the ask. The payout goes to the position's owner at execution.
    function requestDecrease(uint256 positionId, uint256 sizeDelta, uint256 acceptablePrice)
        external
        payable
        returns (uint256 requestId);

    /// @notice Requests a close of the whole position at execution.
    function requestClose(uint256 positionId, uint256 acceptablePrice) external payable returns (uint256 requestId);

    /// @notice Executes a request with its pinned, verified report; anyone may call. Returns true
    /// when filled, false when the engine refused the trade and the request was cancelled instead.
    function execute(uint256 requestId, bytes calldata signedReport) external returns (bool filled);

    /// @notice Executes an exit at the first push-feed round after its creation, once a report
    /// execution is overdue (created + pushFallbackDelay). Anyone may call.
    function executeAtPushRound(uint256 requestId, uint80 roundId) external returns (bool filled);

    /// @notice Cancels an expired request and returns everything it escrowed; account only.
    function cancel(uint256 requestId) external;


    // ---------------------------------------------------------------- views

    function engine() external view returns (address);
    /// @notice Where reports are verified and the request timing is set.
    function oracle() external view returns (IBulkheadOracle);
    function request(uint256 requestId) external view returns (TradeRequest memory);
    function nextRequestId() external view returns (uint256);
    function executionGas(RequestKind kind) external view returns (uint256);
    /// @notice The execution fee a request of `kind` needs at `gasPrice`.
    function quoteExecutionFee(RequestKind kind, uint256 gasPrice) external view returns (uint256);

    // ---------------------------------------------------------------- governance (engine owner)

    function setExecutionGas(RequestKind kind, uint256 gasLimit) external;

    /// @notice Sets, once, the order book whose trigger orders this router fills (see {fillOrder}).
    function setOrderBook(address orderBook) external;

    /// @notice The order book (0 until set).
    function orderBook() external view returns (address);

    /// @notice Fills a trigger order of the order book (only it may call) at `price`, the same way
    /// as a request (see {fill}), pulling an open's or increase's `collateral` from the order book
    /// first. Reverts whole on any refusal: the order stays in the book.
    function fillOrder(TradeRequest calldata r, uint256 price) external returns (uint256 positionId);

    /// @notice The fill of a request; only the router itself calls it, inside `execute`, so that a
    /// refused trade rolls back whole and cancels the request instead.
    function fill(TradeRequest calldata r, uint256 price) external returns (uint256 positionId);
}
