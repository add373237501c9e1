// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IBulkhead, Ledger, Market} from "./interfaces/IBulkhead.sol";
import {IBulkheadPool} from "./interfaces/IBulkheadPool.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title BulkheadPool
/// @notice ERC-4626 liquidity pool of Bulkhead; see {IBulkheadPool}.
/// @dev totalAssets comes from the engine: LP assets - capped trader PnL + borrow fees (see
/// {IBulkheadPool-valuation}). Shares on deposit and assets on withdrawal round down (OZ
/// defaults); a virtual-share offset of 6 decimals makes the first-depositor inflation attack
/// unprofitable. Withdrawals are limited to free liquidity (LP assets - reserved) so capped
/// profits stay payable.
contract BulkheadPool is ERC4626, ReentrancyGuardTransient, IBulkheadPool {
    using SafeERC20 for IERC20;

    address private immutable _deployer;
    /// @inheritdoc IBulkheadPool
    address public engine;

    constructor(IERC20 asset_, string memory name_, string memory symbol_) ERC20(name_, symbol_) ERC4626(asset_) {
        _deployer = msg.sender;
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
            value -= _sideClaimUp(uint256(m.longSize) * px, m.longSizeEntry, m.longReserved, unit);
            value -= _sideClaimUp(m.shortSizeEntry, uint256(m.shortSize) * px, m.shortReserved, unit);
            uint256 pending = Math.mulDiv(
                m.longSizeEntry + m.shortSizeEntry, e.currentBorrowIndex(i) - m.borrowIndex, 1e18 * unit
            );
            value += int256(pending);
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
    /// @dev 0 while deposits are impossible: no engine, protocol paused, or a feed invalid
    /// (shares cannot be priced). ERC-4626 max* views never revert.
    function maxDeposit(address) public view override(ERC4626, IERC4626) returns (uint256) {
        address engine_ = engine;
        if (engine_ == address(0) || IBulkhead(engine_).paused()) return 0;
        try this.valuation() returns (int256 value) {
            return _degenerate(value) ? 0 : type(uint256).max;
        } catch {
            return 0; // a market with open interest has an invalid feed: shares cannot be priced
        }
    }

    /// @inheritdoc ERC4626
    function maxMint(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return maxDeposit(receiver) == 0 ? 0 : type(uint256).max;
    }

    /// @inheritdoc ERC4626
    /// @dev The owner's assets, limited to free liquidity.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (!_sharesPriceable()) return 0;
        // Not super.maxWithdraw: OZ 5 derives it from maxRedeem (already free-limited), whose
        // shares -> assets round trip would understate free liquidity by a unit.
        uint256 own = _convertToAssets(balanceOf(owner), Math.Rounding.Floor);
        uint256 free = _freeLiquidity();
        return own < free ? own : free;
    }

    /// @inheritdoc ERC4626
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (!_sharesPriceable()) return 0;
        uint256 own = balanceOf(owner);
        uint256 freeShares = _convertToShares(_freeLiquidity(), Math.Rounding.Floor);
        return own < freeShares ? own : freeShares;
    }

    function deposit(uint256 assets, address receiver) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        _checkPriceableForDeposit();
        return super.deposit(assets, receiver);
    }

    function mint(uint256 shares, address receiver) public override(ERC4626, IERC4626) nonReentrant returns (uint256) {
        _checkPriceableForDeposit();
        return super.mint(shares, receiver);
    }

    function withdraw(uint256 assets, address receiver, address owner)
        public
        override(ERC4626, IERC4626)
        nonReentrant
        returns (uint256)
    {
        totalAssets(); // an invalid feed reverts here with its oracle error
        return super.withdraw(assets, receiver, owner);
    }

    function redeem(uint256 shares, address receiver, address owner)
        public
        override(ERC4626, IERC4626)
        nonReentrant
        returns (uint256)
    {
        totalAssets(); // an invalid feed reverts here with its oracle error
        return super.redeem(shares, receiver, owner);
    }

    /// @dev Pulls the assets, checks the pool received all of them, then books them in the engine.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        address engine_ = engine;
        if (engine_ == address(0)) revert EngineNotSet();
        IERC20 token_ = IERC20(asset());
        uint256 before = token_.balanceOf(address(this));
        token_.safeTransferFrom(caller, address(this), assets);
        uint256 received = token_.balanceOf(address(this)) - before;
        if (received != assets) revert IBulkhead.TransferAmountMismatch(assets, received);
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
