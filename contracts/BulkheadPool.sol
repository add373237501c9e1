// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IBulkhead, Ledger, Market} from "./interfaces/IBulkhead.sol";
import {IBulkheadPool, LpClaim, LpEscrow, LpRequest, LpRequestKind} from "./interfaces/IBulkheadPool.sol";
import {IERC7540Deposit, IERC7540Operator, IERC7540Redeem, IERC7575} from "./interfaces/IERC7540.sol";
import {IExecutionFees} from "./interfaces/IExecutionFees.sol";
import {IBulkheadOracle, Timing} from "./interfaces/IBulkheadOracle.sol";
import {IBulkheadRouter} from "./interfaces/IBulkheadRouter.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {ExecutionFeeLib} from "./libraries/ExecutionFeeLib.sol";
import {PoolRequestLogic} from "./libraries/PoolRequestLogic.sol";

/// @title BulkheadPool
/// @notice ERC-4626 liquidity pool of Bulkhead; see {IBulkheadPool}.
/// @dev totalAssets comes from the engine: LP assets - capped trader PnL + borrow fees (see
/// {IBulkheadPool-valuation}). Shares on deposit and assets on withdrawal round down (OZ
/// defaults); a virtual-share offset of 6 decimals makes the first-depositor inflation attack
/// unprofitable. Withdrawals are limited to free liquidity (LP assets - reserved) so capped
/// profits stay payable. With a settler on the engine every LP flow is an ERC-7540 request (see
/// {IBulkheadPool}); its escrow sits in this contract outside LP assets, so the token balance is
/// LP assets + insurance + protocol fees + pending deposit assets + claimable redemption assets.
contract BulkheadPool is ERC4626, ReentrancyGuardTransient, IBulkheadPool {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev ERC-7575's interface id, as the EIP lists it.
    bytes4 private constant ERC7575_INTERFACE_ID = 0x2f0a18c5;

    address private immutable _deployer;
    /// @inheritdoc IBulkheadPool
    address public engine;

    uint256 internal _lastRequestId;
    LpEscrow internal _escrow;
    mapping(uint256 requestId => LpRequest) internal _requests;
    mapping(address controller => LpClaim) internal _claimableDeposits;
    mapping(address controller => LpClaim) internal _claimableRedemptions;
    mapping(LpRequestKind => uint256) internal _executionGas;
    /// @inheritdoc IERC7540Operator
    mapping(address controller => mapping(address operator => bool)) public isOperator;
    /// @inheritdoc IExecutionFees
    mapping(address account => uint256) public nativeOwed;

    constructor(IERC20 asset_, string memory name_, string memory symbol_) ERC20(name_, symbol_) ERC4626(asset_) {
        _deployer = msg.sender;
        _executionGas[LpRequestKind.Deposit] = ConstantsLib.DEFAULT_LP_EXECUTION_GAS;
        _executionGas[LpRequestKind.Redeem] = ConstantsLib.DEFAULT_LP_EXECUTION_GAS;
    }

    // ---------------------------------------------------------------- engine binding

    /// @inheritdoc IBulkheadPool
    function bindEngine(address engine_) external {
        if (msg.sender != _deployer) revert PoolUnauthorized(msg.sender);
        if (engine != address(0)) revert EngineAlreadySet();
        if (IBulkhead(engine_).pool() != address(this)) revert PoolUnauthorized(engine_);
        engine = engine_;
        emit EngineBound(engine_);
    }

    /// @inheritdoc IBulkheadPool
    function pay(address to, uint256 amount) external {
        if (msg.sender != engine) revert PoolUnauthorized(msg.sender);
        IERC20(asset()).safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- ERC-4626

    /// @inheritdoc IBulkheadPool
    /// @dev Per market side, U = Σ pnl from Σsize and Σsize·entry rounded up (in the traders'
    /// favour) and R = the side's reserved max profit; the side claims min(U, R). A market
    /// without open interest adds only its accrued borrow fees and its feed is not read.
    function valuation() public view returns (int256 value) {
        address engine_ = engine;
        if (engine_ == address(0)) return 0;
        IBulkhead e = IBulkhead(engine_);
        uint256 unit = e.unit();
        value = int256(uint256(e.ledger().lpAssets));
        uint256 count = e.marketCount();
        for (uint256 i; i < count; ++i) {
            Market memory m = e.market(i);
            value += int256(uint256(m.accruedBorrowFees));
            if (m.longSize == 0 && m.shortSize == 0) continue;
            uint256 px = e.price(i);
            value += _marketValue(m, px, px, e.currentBorrowIndex(i), unit);
        }
    }

    /// @inheritdoc ERC4626
    /// @dev {valuation} floored at zero: ERC-4626 has no negative assets. While it is not
    /// positive with shares outstanding, deposits and mints revert {PoolInsolvent}.
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        int256 value = valuation();
        return value > 0 ? uint256(value) : 0;
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `controller`'s claimable deposit assets. Synchronous: 0 while deposits
    /// are impossible (no engine, protocol paused, or a feed invalid: shares cannot be priced).
    /// ERC-4626 max* views never revert.
    function maxDeposit(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        address engine_ = engine;
        if (engine_ == address(0)) return 0;
        if (_isAsync(engine_)) return _claimableDeposits[controller].assets;
        if (IBulkhead(engine_).paused()) return 0;
        try this.valuation() returns (int256 value) {
            return _degenerate(value) ? 0 : type(uint256).max;
        } catch {
            return 0; // a market with open interest has an invalid feed: shares cannot be priced
        }
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `controller`'s claimable deposit shares.
    function maxMint(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        if (isAsync()) return _claimableDeposits[controller].shares;
        return maxDeposit(controller) == 0 ? 0 : type(uint256).max;
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `owner`'s (the controller's) claimable redemption assets. Synchronous:
    /// the owner's assets, limited to free liquidity.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (isAsync()) return _claimableRedemptions[owner].assets;
        if (!_sharesPriceable()) return 0;
        // Not super.maxWithdraw: OZ 5 derives it from maxRedeem (already free-limited), whose
        // shares -> assets round trip would understate free liquidity by a unit.
        uint256 own = _convertToAssets(balanceOf(owner), Math.Rounding.Floor);
        uint256 free = _freeLiquidity();
        return own < free ? own : free;
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `owner`'s (the controller's) claimable redemption shares.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (isAsync()) return _claimableRedemptions[owner].shares;
        if (!_sharesPriceable()) return 0;
        uint256 own = balanceOf(owner);
        uint256 freeShares = _convertToShares(_freeLiquidity(), Math.Rounding.Floor);
        return own < freeShares ? own : freeShares;
    }

    /// @inheritdoc ERC4626
    /// @dev Reverts {PoolIsAsynchronous} in asynchronous mode (ERC-7540).
    function previewDeposit(uint256 assets) public view override(ERC4626, IERC4626) returns (uint256) {
        _requireSync();
        return super.previewDeposit(assets);
    }

    /// @inheritdoc ERC4626
    /// @dev Reverts {PoolIsAsynchronous} in asynchronous mode (ERC-7540).
    function previewMint(uint256 shares) public view override(ERC4626, IERC4626) returns (uint256) {
        _requireSync();
        return super.previewMint(shares);
    }

    /// @inheritdoc ERC4626
    /// @dev Reverts {PoolIsAsynchronous} in asynchronous mode (ERC-7540).
    function previewWithdraw(uint256 assets) public view override(ERC4626, IERC4626) returns (uint256) {
        _requireSync();
        return super.previewWithdraw(assets);
    }

    /// @inheritdoc ERC4626
    /// @dev Reverts {PoolIsAsynchronous} in asynchronous mode (ERC-7540).
    function previewRedeem(uint256 shares) public view override(ERC4626, IERC4626) returns (uint256) {
        _requireSync();
        return super.previewRedeem(shares);
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: claims with controller = msg.sender (see {deposit}).
    function deposit(uint256 assets, address receiver) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        if (isAsync()) return _claimDeposit(assets, receiver, msg.sender);
        _checkPriceableForDeposit();
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: claims with controller = msg.sender (see {mint}).
    function mint(uint256 shares, address receiver) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        if (isAsync()) return _claimMint(shares, receiver, msg.sender);
        _checkPriceableForDeposit();
        return super.mint(shares, receiver);
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `owner` is the controller whose claimable redemptions pay `assets`
    /// (ERC-7540); the shares burned are theirs, rounded up.
    function withdraw(uint256 assets, address receiver, address owner)
        public
        override(ERC4626, IERC4626)
        nonReentrant
        returns (uint256)
    {
        if (isAsync()) return _claimWithdraw(assets, receiver, owner);
        totalAssets(); // an invalid feed reverts here with its oracle error
        return super.withdraw(assets, receiver, owner);
    }

    /// @inheritdoc ERC4626
    /// @dev Asynchronous: `owner` is the controller whose claimable redemptions pay `shares`'
    /// assets, rounded down (ERC-7540).
    function redeem(uint256 shares, address receiver, address owner)
        public
        override(ERC4626, IERC4626)
        nonReentrant
        returns (uint256)
    {
        if (isAsync()) return _claimRedeem(shares, receiver, owner);
        totalAssets(); // an invalid feed reverts here with its oracle error
        return super.redeem(shares, receiver, owner);
    }

    /// @dev Pulls the assets, checks the pool received all of them, then books them in the engine.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        address engine_ = engine;
        if (engine_ == address(0)) revert EngineNotSet();
        _pullExact(caller, assets);
        IBulkhead(engine_).onDeposit(assets);
        _mint(receiver, shares);
        emit Deposit(caller, receiver, assets, shares);
    }

    /// @dev Burns the shares and books the withdrawal in the engine (which enforces reserved)
    /// before the tokens leave.
    function _withdraw(address caller, address receiver, address owner, uint256 assets, uint256 shares)
        internal
        override
    {
        if (caller != owner) _spendAllowance(owner, caller, shares);
        _burn(owner, shares);
        IBulkhead(engine).onWithdraw(assets);
        IERC20(asset()).safeTransfer(receiver, assets);
        emit Withdraw(caller, receiver, owner, assets, shares);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    // ---------------------------------------------------------------- ERC-7540 requests

    /// @inheritdoc IERC7540Deposit
    /// @dev Refused while the protocol is paused (the execution would cancel it).
    function requestDeposit(uint256 assets, address controller, address owner)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        Timing memory t = _requireAsyncTiming();
        if (owner != msg.sender && !isOperator[owner][msg.sender]) revert NotOperator(owner, msg.sender);
        if (IBulkhead(engine).paused()) revert IBulkhead.ProtocolPaused();
        requestId = _createRequest(LpRequestKind.Deposit, controller, assets, t);
        _escrow.pendingDepositAssets += uint128(assets);
        emit DepositRequest(controller, owner, requestId, msg.sender, assets);
        _pullExact(owner, assets);
    }

    /// @inheritdoc IERC7540Redeem
    function requestRedeem(uint256 shares, address controller, address owner)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        Timing memory t = _requireAsyncTiming();
        if (owner != msg.sender && !isOperator[owner][msg.sender]) _spendAllowance(owner, msg.sender, shares);
        requestId = _createRequest(LpRequestKind.Redeem, controller, shares, t);
        _escrow.pendingRedeemShares += uint128(shares);
        emit RedeemRequest(controller, owner, requestId, msg.sender, shares);
        _transfer(owner, address(this), shares);
    }

    /// @inheritdoc IBulkheadPool
    function executeDeposit(uint256 requestId, bytes[] calldata reports) external nonReentrant returns (bool filled) {
        uint256 gasStart = gasleft();
        (IBulkheadOracle oracle_, LpRequest memory r) = _pending(requestId, LpRequestKind.Deposit);
        int256 value = _valuationAtReports(oracle_, reports, uint256(r.createdAt) + r.settlementDelay, true);
        return _fillDeposit(requestId, r, value, gasStart);
    }

    /// @inheritdoc IBulkheadPool
    function executeRedeem(uint256 requestId, bytes[] calldata reports) external nonReentrant returns (bool filled) {
        uint256 gasStart = gasleft();
        (IBulkheadOracle oracle_, LpRequest memory r) = _pending(requestId, LpRequestKind.Redeem);
        int256 value = _valuationAtReports(oracle_, reports, uint256(r.createdAt) + r.settlementDelay, false);
        return _fillRedeem(requestId, r, value, gasStart);
    }

    /// @inheritdoc IBulkheadPool
    function executeRedeemAtPushRounds(uint256 requestId, uint80[] calldata roundIds)
        external
        nonReentrant
        returns (bool filled)
    {
        uint256 gasStart = gasleft();
        LpRequest storage stored = _requests[requestId];
        if (stored.kind == LpRequestKind.Deposit && !stored.claimable) revert PushFallbackNotForDeposits(requestId);
        (IBulkheadOracle oracle_, LpRequest memory r) = _pending(requestId, LpRequestKind.Redeem);
        uint256 opensAt = uint256(r.createdAt) + oracle_.timing().pushFallbackDelay;
        if (block.timestamp < opensAt) revert PushFallbackNotOpen(requestId, opensAt, block.timestamp);
        int256 value = _valuationAtRounds(oracle_, roundIds, r.createdAt);
        return _fillRedeem(requestId, r, value, gasStart);
    }

    /// @inheritdoc IBulkheadPool
    function cancelRequest(uint256 requestId) external nonReentrant {
        LpRequest memory r = _requests[requestId];
        if (r.kind == LpRequestKind.None || r.claimable) revert RequestNotFound(requestId);
        _checkOperator(r.controller);
        uint256 expiresAt = uint256(r.createdAt) + r.expiry;
        if (block.timestamp <= expiresAt) revert RequestNotExpired(requestId, expiresAt, block.timestamp);
        _cancel(requestId, r, "", 0);
    }

    /// @inheritdoc IERC7540Deposit
    function deposit(uint256 assets, address receiver, address controller) external nonReentrant returns (uint256) {
        _requireAsyncTiming();
        return _claimDeposit(assets, receiver, controller);
    }

    /// @inheritdoc IERC7540Deposit
    function mint(uint256 shares, address receiver, address controller) external nonReentrant returns (uint256) {
        _requireAsyncTiming();
        return _claimMint(shares, receiver, controller);
    }

    /// @inheritdoc IERC7540Operator
    function setOperator(address operator, bool approved) external returns (bool) {
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @inheritdoc IExecutionFees
    function withdrawNative() external nonReentrant {
        ExecutionFeeLib.withdraw(nativeOwed);
    }

    /// @inheritdoc IBulkheadPool
    function setExecutionGas(LpRequestKind kind, uint256 gasLimit) external {
        address engine_ = engine;
        if (engine_ == address(0)) revert EngineNotSet();
        if (msg.sender != Ownable(engine_).owner()) revert PoolUnauthorized(msg.sender);
        if (kind == LpRequestKind.None) revert ParameterOutOfBounds("kind", 0, 1, 2);
        if (gasLimit < ConstantsLib.MIN_EXECUTION_GAS || gasLimit > ConstantsLib.MAX_EXECUTION_GAS) {
            revert ParameterOutOfBounds("gasLimit", gasLimit, ConstantsLib.MIN_EXECUTION_GAS, ConstantsLib.MAX_EXECUTION_GAS);
        }
        _executionGas[kind] = gasLimit;
        emit LpExecutionGasSet(kind, gasLimit);
    }

    // ---------------------------------------------------------------- ERC-7540 views

    /// @inheritdoc IERC7540Deposit
    function pendingDepositRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpRequest memory r = _requests[requestId];
        return r.kind == LpRequestKind.Deposit && !r.claimable && r.controller == controller ? r.amount : 0;
    }

    /// @inheritdoc IERC7540Deposit
    /// @dev Claims take no request id: this is the request's assets, capped at what the
    /// controller has left to claim over all its executed deposits.
    function claimableDepositRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpRequest memory r = _requests[requestId];
        if (r.kind != LpRequestKind.Deposit || !r.claimable || r.controller != controller) return 0;
        return Math.min(r.amount, _claimableDeposits[controller].assets);
    }

    /// @inheritdoc IERC7540Redeem
    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpRequest memory r = _requests[requestId];
        return r.kind == LpRequestKind.Redeem && !r.claimable && r.controller == controller ? r.amount : 0;
    }

    /// @inheritdoc IERC7540Redeem
    /// @dev The request's shares, capped at what the controller has left to claim over all its
    /// executed redemptions.
    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpRequest memory r = _requests[requestId];
        if (r.kind != LpRequestKind.Redeem || !r.claimable || r.controller != controller) return 0;
        return Math.min(r.amount, _claimableRedemptions[controller].shares);
    }

    /// @inheritdoc IERC165
    /// @dev ERC-7540's operator, deposit and redeem ids only once the pool is asynchronous.
    /// ERC-7575's id covers its whole vault interface (share() and the ERC-4626 functions), not
    /// only {IERC7575}, so it is the EIP's constant.
    function supportsInterface(bytes4 interfaceId) public view returns (bool) {
        if (interfaceId == type(IERC165).interfaceId || interfaceId == ERC7575_INTERFACE_ID) return true;
        if (!isAsync()) return false;
        return interfaceId == type(IERC7540Operator).interfaceId || interfaceId == type(IERC7540Deposit).interfaceId
            || interfaceId == type(IERC7540Redeem).interfaceId;
    }

    /// @inheritdoc IERC7575
    function share() external view returns (address) {
        return address(this);
    }

    /// @inheritdoc IBulkheadPool
    function lpRequest(uint256 requestId) external view returns (LpRequest memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IBulkheadPool
    function nextRequestId() external view returns (uint256) {
        return _lastRequestId + 1;
    }

    /// @inheritdoc IBulkheadPool
    function escrow() external view returns (LpEscrow memory) {
        return _escrow;
    }

    /// @inheritdoc IBulkheadPool
    function claimable(address controller) external view returns (LpClaim memory deposits, LpClaim memory redemptions) {
        return (_claimableDeposits[controller], _claimableRedemptions[controller]);
    }

    /// @inheritdoc IBulkheadPool
    function isAsync() public view returns (bool) {
        address engine_ = engine;
        return engine_ != address(0) && _isAsync(engine_);
    }

    /// @inheritdoc IBulkheadPool
    function oracle() public view returns (address) {
        address engine_ = engine;
        if (engine_ == address(0)) return address(0);
        address settler = IBulkhead(engine_).settler();
        return settler == address(0) ? address(0) : address(IBulkheadRouter(settler).oracle());
    }

    /// @inheritdoc IBulkheadPool
    function executionGas(LpRequestKind kind) external view returns (uint256) {
        return _executionGas[kind];
    }

    /// @inheritdoc IBulkheadPool
    function quoteExecutionFee(LpRequestKind kind, uint256 gasPrice) external view returns (uint256) {
        return _executionGas[kind] * gasPrice;
    }

    // ---------------------------------------------------------------- request internals

    /// @dev Checks the amount and the fee and stores the request.
    function _createRequest(LpRequestKind kind, address controller, uint256 amount, Timing memory t)
        internal
        returns (uint256 requestId)
    {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint128).max) revert AmountTooLarge(amount, type(uint128).max);
        if (controller == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 gasLimit = _executionGas[kind];
        ExecutionFeeLib.checkPaid(msg.value, gasLimit, type(uint96).max);
        requestId = ++_lastRequestId;
        _requests[requestId] = LpRequest({
            controller: controller,
            kind: kind,
            claimable: false,
            createdAt: uint40(block.timestamp),
            gasLimit: uint32(gasLimit),
            settlementDelay: uint8(t.settlementDelay),
            amount: uint128(amount),
            executionFee: uint96(msg.value),
            expiry: t.expiry
        });
        emit LpRequestCreated(requestId, msg.value, block.timestamp + t.settlementDelay, block.timestamp + t.expiry);
    }

    /// @dev The pending request `requestId` of `kind`, still executable (by its own expiry), and the oracle.
    function _pending(uint256 requestId, LpRequestKind kind)
        internal
        view
        returns (IBulkheadOracle oracle_, LpRequest memory r)
    {
        r = _requests[requestId];
        if (r.kind != kind || r.claimable) revert RequestNotFound(requestId);
        uint256 expiresAt = uint256(r.createdAt) + r.expiry;
        if (block.timestamp > expiresAt) revert RequestExpired(requestId, expiresAt, block.timestamp);
        oracle_ = IBulkheadOracle(oracle());
    }

    /// @dev Escrowed assets become shares claimable by the controller, or the request is cancelled
    /// with the engine's refusal (pause, degenerate valuation, LP assets out of range).
    function _fillDeposit(uint256 requestId, LpRequest memory r, int256 value, uint256 gasStart) internal returns (bool) {
        IBulkhead e = IBulkhead(engine);
        uint256 supply = totalSupply();
        bytes memory reason;
        if (e.paused()) {
            reason = abi.encodeWithSelector(IBulkhead.ProtocolPaused.selector);
        } else if (_degenerate(value)) {
            reason = abi.encodeWithSelector(PoolInsolvent.selector, value, supply);
        } else {
            uint256 lpAssets = uint256(e.ledger().lpAssets) + r.amount;
            if (lpAssets > type(uint112).max) {
                reason = abi.encodeWithSelector(IBulkhead.AmountTooLarge.selector, lpAssets, type(uint112).max);
            }
        }
        if (reason.length != 0) {
            _cancel(requestId, r, reason, gasStart);
            return false;
        }
        uint256 shares = PoolRequestLogic.toSharesDown(r.amount, uint256(value), supply, 10 ** _decimalsOffset());
        _requests[requestId].claimable = true;
        _escrow.pendingDepositAssets -= r.amount;
        _escrow.claimableDepositShares += shares.toUint128();
        LpClaim storage c = _claimableDeposits[r.controller];
        c.assets += r.amount;
        c.shares += uint128(shares);
        e.onDeposit(r.amount);
        _mint(address(this), shares);
        _payExecution(requestId, r, r.amount, shares, gasStart);
        return true;
    }

    /// @dev Escrowed shares are burned for assets claimable by the controller (within free
    /// liquidity), or the request is cancelled with the engine's refusal.
    function _fillRedeem(uint256 requestId, LpRequest memory r, int256 value, uint256 gasStart) internal returns (bool) {
        uint256 supply = totalSupply();
        bytes memory reason;
        uint256 assets;
        if (_degenerate(value)) {
            reason = abi.encodeWithSelector(PoolInsolvent.selector, value, supply);
        } else {
            assets = PoolRequestLogic.toAssetsDown(r.amount, uint256(value), supply, 10 ** _decimalsOffset());
            uint256 free = _freeLiquidity();
            if (assets > free) reason = abi.encodeWithSelector(IBulkhead.InsufficientFreeLiquidity.selector, free, assets);
        }
        if (reason.length != 0) {
            _cancel(requestId, r, reason, gasStart);
            return false;
        }
        _requests[requestId].claimable = true;
        _escrow.pendingRedeemShares -= r.amount;
        _escrow.claimableRedeemAssets += uint128(assets);
        LpClaim storage c = _claimableRedemptions[r.controller];
        c.assets += uint128(assets);
        c.shares += r.amount;
        _burn(address(this), r.amount);
        IBulkhead(engine).onWithdraw(assets);
        _payExecution(requestId, r, assets, r.amount, gasStart);
        return true;
    }

    /// @dev Splits the fee between the executor and the controller (see {ExecutionFeeLib-split}).
    function _payExecution(uint256 requestId, LpRequest memory r, uint256 assets, uint256 shares, uint256 gasStart)
        internal
    {
        (uint256 toExecutor, uint256 refund) = ExecutionFeeLib.split(r.executionFee, r.gasLimit, gasStart);
        emit LpRequestExecuted(requestId, r.controller, msg.sender, assets, shares, toExecutor, refund);
        ExecutionFeeLib.pay(nativeOwed, msg.sender, toExecutor);
        ExecutionFeeLib.pay(nativeOwed, r.controller, refund);
    }

    /// @dev Deletes the request and returns its escrow to the controller; an execution that
    /// cancels (`gasStart` != 0) pays its executor from the fee, an expiry cancel refunds it all.
    function _cancel(uint256 requestId, LpRequest memory r, bytes memory reason, uint256 gasStart) internal {
        delete _requests[requestId];
        bool isDeposit = r.kind == LpRequestKind.Deposit;
        if (isDeposit) _escrow.pendingDepositAssets -= r.amount;
        else _escrow.pendingRedeemShares -= r.amount;
        (uint256 toExecutor, uint256 refund) =
            gasStart == 0 ? (0, uint256(r.executionFee)) : ExecutionFeeLib.split(r.executionFee, r.gasLimit, gasStart);
        emit LpRequestCancelled(requestId, r.controller, msg.sender, reason, toExecutor, refund);
        if (isDeposit) IERC20(asset()).safeTransfer(r.controller, r.amount);
        else _transfer(address(this), r.controller, r.amount);
        ExecutionFeeLib.pay(nativeOwed, msg.sender, toExecutor);
        ExecutionFeeLib.pay(nativeOwed, r.controller, refund);
    }

    /// @dev The valuation at the reports pinned at `target`: each market side at the end of the
    /// spread that values LP shares higher for a deposit (longs at the bid, shorts at the ask),
    /// lower for a redemption. Every report of a market with open interest is verified and checked
    /// by the oracle (reverting with the check it failed); other markets' entries are not read.
    function _valuationAtReports(IBulkheadOracle oracle_, bytes[] calldata reports, uint256 target, bool isDeposit)
        internal
        returns (int256 value)
    {
        IBulkhead e = IBulkhead(engine);
        uint256 unit = e.unit();
        value = int256(uint256(e.ledger().lpAssets));
        uint256 count = e.marketCount();
        for (uint256 i; i < count; ++i) {
            Market memory m = e.market(i);
            value += int256(uint256(m.accruedBorrowFees));
            if (m.longSize == 0 && m.shortSize == 0) continue;
            if (i >= reports.length || reports[i].length == 0) revert MarketPriceMissing(i);
            (uint256 bid,, uint256 ask) = oracle_.reportPrices(i, reports[i], target);
            (uint256 longPx, uint256 shortPx) = isDeposit ? (bid, ask) : (ask, bid);
            value += _marketValue(m, longPx, shortPx, e.currentBorrowIndex(i), unit);
        }
    }

    /// @dev The valuation at each market's first push-feed round after `createdAt`, both sides at
    /// its price (the oracle checks the round).
    function _valuationAtRounds(IBulkheadOracle oracle_, uint80[] calldata roundIds, uint256 createdAt)
        internal
        view
        returns (int256 value)
    {
        IBulkhead e = IBulkhead(engine);
        uint256 unit = e.unit();
        value = int256(uint256(e.ledger().lpAssets));
        uint256 count = e.marketCount();
        for (uint256 i; i < count; ++i) {
            Market memory m = e.market(i);
            value += int256(uint256(m.accruedBorrowFees));
            if (m.longSize == 0 && m.shortSize == 0) continue;
            if (i >= roundIds.length) revert MarketPriceMissing(i);
            uint256 px = oracle_.firstRoundAfter(i, roundIds[i], createdAt);
            value += _marketValue(m, px, px, e.currentBorrowIndex(i), unit);
        }
    }

    // ---------------------------------------------------------------- claim internals

    function _claimDeposit(uint256 assets, address receiver, address controller) internal returns (uint256 shares) {
        _checkOperator(controller);
        LpClaim memory c = _claimableDeposits[controller];
        if (assets > c.assets) revert ERC4626ExceededMaxDeposit(controller, assets, c.assets);
        shares = PoolRequestLogic.claimPartDown(assets, c.assets, c.shares);
        _settleDepositClaim(c, controller, receiver, assets, shares);
    }

    function _claimMint(uint256 shares, address receiver, address controller) internal returns (uint256 assets) {
        _checkOperator(controller);
        LpClaim memory c = _claimableDeposits[controller];
        if (shares > c.shares) revert ERC4626ExceededMaxMint(controller, shares, c.shares);
        assets = PoolRequestLogic.claimPartUp(shares, c.shares, c.assets);
        _settleDepositClaim(c, controller, receiver, assets, shares);
    }

    function _claimWithdraw(uint256 assets, address receiver, address controller) internal returns (uint256 shares) {
        _checkOperator(controller);
        LpClaim memory c = _claimableRedemptions[controller];
        if (assets > c.assets) revert ERC4626ExceededMaxWithdraw(controller, assets, c.assets);
        shares = PoolRequestLogic.claimPartUp(assets, c.assets, c.shares);
        _settleRedeemClaim(c, controller, receiver, assets, shares);
    }

    function _claimRedeem(uint256 shares, address receiver, address controller) internal returns (uint256 assets) {
        _checkOperator(controller);
        LpClaim memory c = _claimableRedemptions[controller];
        if (shares > c.shares) revert ERC4626ExceededMaxRedeem(controller, shares, c.shares);
        assets = PoolRequestLogic.claimPartDown(shares, c.shares, c.assets);
        _settleRedeemClaim(c, controller, receiver, assets, shares);
    }

    function _settleDepositClaim(LpClaim memory c, address controller, address receiver, uint256 assets, uint256 shares)
        internal
    {
        _claimableDeposits[controller] = LpClaim(uint128(c.assets - assets), uint128(c.shares - shares));
        _escrow.claimableDepositShares -= uint128(shares);
        emit Deposit(controller, receiver, assets, shares);
        _transfer(address(this), receiver, shares);
    }

    function _settleRedeemClaim(LpClaim memory c, address controller, address receiver, uint256 assets, uint256 shares)
        internal
    {
        _claimableRedemptions[controller] = LpClaim(uint128(c.assets - assets), uint128(c.shares - shares));
        _escrow.claimableRedeemAssets -= uint128(assets);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
        IERC20(asset()).safeTransfer(receiver, assets);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The request timing, reverting {PoolIsSynchronous} without a settler.
    function _requireAsyncTiming() internal view returns (Timing memory) {
        address oracle_ = oracle();
        if (oracle_ == address(0)) revert PoolIsSynchronous();
        return IBulkheadOracle(oracle_).timing();
    }

    function _requireSync() internal view {
        if (isAsync()) revert PoolIsAsynchronous();
    }

    function _isAsync(address engine_) internal view returns (bool) {
        return IBulkhead(engine_).settler() != address(0);
    }

    function _checkOperator(address account) internal view {
        if (account != msg.sender && !isOperator[account][msg.sender]) revert NotOperator(account, msg.sender);
    }

    /// @dev Pulls exactly `assets` from `from` (a fee-on-transfer token reverts).
    function _pullExact(address from, uint256 assets) internal {
        IERC20 token_ = IERC20(asset());
        uint256 before = token_.balanceOf(address(this));
        token_.safeTransferFrom(from, address(this), assets);
        uint256 received = token_.balanceOf(address(this)) - before;
        if (received != assets) revert IBulkhead.TransferAmountMismatch(assets, received);
    }

    /// @dev Reverts with the oracle error of an invalid feed of a market with open interest, or
    /// {PoolInsolvent} while the valuation is degenerate: new shares are never priced at a value
    /// that is not positive while others hold shares (they would take the LPs' recoveries).
    function _checkPriceableForDeposit() private view {
        int256 value = valuation();
        if (_degenerate(value)) revert PoolInsolvent(value, totalSupply());
    }

    /// @dev Negative, or zero with shares outstanding.
    function _degenerate(int256 value) private view returns (bool) {
        return value < 0 || (value == 0 && totalSupply() != 0);
    }

    /// @dev One market's part of the valuation beyond its accrued fees: minus each side's capped
    /// trader PnL (longs at `longPx`, shorts at `shortPx`), plus its pending borrow fees.
    function _marketValue(Market memory m, uint256 longPx, uint256 shortPx, uint256 index, uint256 unit)
        private
        pure
        returns (int256 value)
    {
        value -= _sideClaimUp(uint256(m.longSize) * longPx, m.longSizeEntry, m.longReserved, unit);
        value -= _sideClaimUp(m.shortSizeEntry, uint256(m.shortSize) * shortPx, m.shortReserved, unit);
        value += int256(Math.mulDiv(m.longSizeEntry + m.shortSizeEntry, index - m.borrowIndex, 1e18 * unit));
    }

    /// @dev min(gain - loss, reserved) / unit of one side: its trader PnL, rounded up (in the
    /// traders' favour, so LP value is never overstated), capped at what settlement can pay.
    function _sideClaimUp(uint256 gain, uint256 loss, uint256 reserved, uint256 unit) private pure returns (int256) {
        if (gain < loss) return -int256((loss - gain) / unit);
        uint256 pnl = Math.mulDiv(gain - loss, 1, unit, Math.Rounding.Ceil);
        return int256(pnl < reserved ? pnl : reserved);
    }

    /// @dev Whether totalAssets can be computed now (every market with open interest has a valid price).
    function _sharesPriceable() private view returns (bool) {
        try this.totalAssets() returns (uint256) {
            return true;
        } catch {
            return false;
        }
    }

    function _freeLiquidity() private view returns (uint256) {
        address engine_ = engine;
        if (engine_ == address(0)) return 0;
        Ledger memory l = IBulkhead(engine_).ledger();
        return l.lpAssets > l.reserved ? l.lpAssets - l.reserved : 0;
    }
}
