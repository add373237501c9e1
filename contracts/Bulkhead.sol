// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {SafeTransferLib} from "solady/src/utils/SafeTransferLib.sol";
import {ERC721} from "solady/src/tokens/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {
    IBulkhead,
    MarketParams,
    RiskParams,
    Market,
    Position,
    Health,
    LiquidationPreview,
    Ledger,
    StoredLedger,
    UtilisationAccumulator
} from "./interfaces/IBulkhead.sol";
import {IBulkheadPool} from "./interfaces/IBulkheadPool.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {HealthLib} from "./libraries/HealthLib.sol";
import {ChainlinkPriceLib} from "./oracles/ChainlinkPriceLib.sol";
import {MarketConfigLogic} from "./libraries/MarketConfigLogic.sol";
import {PoolLogic} from "./libraries/PoolLogic.sol";
import {BorrowLib} from "./libraries/BorrowLib.sol";
import {TradeLib} from "./libraries/TradeLib.sol";
import {IncreaseLogic} from "./libraries/IncreaseLogic.sol";
import {DecreaseLogic} from "./libraries/DecreaseLogic.sol";
import {PositionVault} from "./PositionVault.sol";

/// @title Bulkhead
/// @notice The isolated-margin engine; see {IBulkhead}. Positions are ERC-721 tokens; each one's
/// collateral sits in its own {PositionVault} clone; the {BulkheadPool} holds LP, insurance and
/// protocol-fee tokens while this contract keeps their ledger.
/// @dev Order of every state-changing function: checks, effects (storage, event), then token
/// transfers. Every external entry is nonReentrant (transient storage guard).
contract Bulkhead is IBulkhead, ERC721, Ownable2Step, ReentrancyGuardTransient {
    using MathLib for uint256;

    /* IMMUTABLES */

    IERC20 internal immutable _token;
    /// @inheritdoc IBulkhead
    address public immutable pool;
    /// @inheritdoc IBulkhead
    address public immutable vaultImplementation;
    /// @inheritdoc IBulkhead
    uint256 public immutable unit;
    address internal immutable _sequencerFeed;
    uint256 internal immutable _sequencerGracePeriod;

    /* STORAGE */

    StoredLedger internal _ledger;
    // The settler shares its slot with the pause flag and the protocol fee share, which every trade
    // reads anyway: knowing who may trade costs a warm read, not a cold one.
    /// @inheritdoc IBulkhead
    address public settler;
    /// @inheritdoc IBulkhead
    bool public paused;
    uint64 internal _protocolFeeShare;
    /// @inheritdoc IBulkhead
    address public guardian;
    /// @inheritdoc IBulkhead
    uint256 public marketCount;
    mapping(uint256 marketId => Market) internal _markets;
    mapping(uint256 marketId => mapping(uint256 version => RiskParams)) internal _riskParams;
    mapping(uint256 id => Position) internal _positions;

    /* CONSTRUCTOR */

    /// @param token_ Collateral token (at most 18 decimals, no fee on transfer).
    /// @param pool_ The ERC-4626 pool of `token_`; it binds to this engine after deployment.
    /// @param owner_ Governance (a timelock on public networks).
    /// @param guardian_ May pause risk-increasing actions.
    /// @param sequencerFeed_ Chainlink L2 sequencer uptime feed, or address 0 on L1.
    /// @param sequencerGracePeriod_ Seconds after the sequencer comes back before prices count.
    constructor(
        IERC20 token_,
        address pool_,
        address owner_,
        address guardian_,
        address sequencerFeed_,
        uint256 sequencerGracePeriod_
    ) Ownable(owner_) {
        uint256 decimals = IERC20Metadata(address(token_)).decimals();
        if (decimals > 18) revert UnsupportedDecimals(decimals);
        if (IERC4626(pool_).asset() != address(token_)) revert InvalidPool(pool_);
        if (sequencerFeed_ != address(0) && sequencerFeed_.code.length == 0) revert FeedHasNoCode(sequencerFeed_);
        MarketConfigLogic.checkBounds(
            "sequencerGracePeriod", sequencerGracePeriod_, 0, ConstantsLib.MAX_SEQUENCER_GRACE_PERIOD
        );
        _token = token_;
        pool = pool_;
        unit = ConstantsLib.WAD * 10 ** (18 - decimals);
        _sequencerFeed = sequencerFeed_;
        _sequencerGracePeriod = sequencerGracePeriod_;
        vaultImplementation = address(new PositionVault(token_));
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /* MODIFIERS */

    modifier onlyGuardianOrOwner() {
        if (msg.sender != guardian && msg.sender != owner()) revert Unauthorized(msg.sender);
        _;
    }

    modifier onlyPool() {
        if (msg.sender != pool) revert Unauthorized(msg.sender);
        _;
    }

    /* OWNER AND GUARDIAN FUNCTIONS */

    /// @inheritdoc IBulkhead
    function listMarket(address feed, uint256 heartbeat, MarketParams calldata params, RiskParams calldata risk)
        external
        onlyOwner
        returns (uint256 marketId)
    {
        marketId = marketCount;
        if (marketId >= ConstantsLib.MAX_MARKETS) revert TooManyMarkets(ConstantsLib.MAX_MARKETS);
        marketCount = marketId + 1;
        Market storage m = _markets[marketId];
        MarketConfigLogic.listMarket(m, _riskParams[marketId], marketId, feed, heartbeat, params, risk);
        _restartRateIntegral(m);
    }

    /// @inheritdoc IBulkhead
    function delistMarket(uint256 marketId) external onlyOwner {
        MarketConfigLogic.delistMarket(_marketOf(marketId), marketId);
    }

    /// @inheritdoc IBulkhead
    function setFeed(uint256 marketId, address feed, uint256 heartbeat) external onlyOwner {
        MarketConfigLogic.setFeed(_marketOf(marketId), marketId, feed, heartbeat);
    }

    /// @inheritdoc IBulkhead
    /// @dev Accrues first: the old borrow-rate parameters apply up to this block.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        Market storage m = _marketOf(marketId);
        _accrue(m);
        MarketConfigLogic.setMarketParams(m, _riskParams[marketId], marketId, params);
        _restartRateIntegral(m);
    }

    /// @inheritdoc IBulkhead
    function setRiskParams(uint256 marketId, RiskParams calldata risk) external onlyOwner {
        MarketConfigLogic.setRiskParams(_marketOf(marketId), _riskParams[marketId], marketId, risk);
    }

    /// @inheritdoc IBulkhead
    function setProtocolFeeShare(uint256 share) external onlyOwner {
        MarketConfigLogic.checkBounds("protocolFeeShare", share, 0, ConstantsLib.MAX_PROTOCOL_FEE_SHARE);
        _protocolFeeShare = uint64(share);
        emit ProtocolFeeShareSet(share);
    }

    /// @inheritdoc IBulkhead
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IBulkhead
    function setSettler(address settler_) external onlyOwner {
        if (settler != address(0)) revert SettlerAlreadySet(settler);
        if (settler_.code.length == 0) revert SettlerHasNoCode(settler_);
        settler = settler_;
        emit SettlerSet(settler_);
    }

    /// @inheritdoc IBulkhead
    function setPaused(bool paused_) external onlyGuardianOrOwner {
        paused = paused_;
        emit PauseSet(paused_);
    }

    /// @inheritdoc IBulkhead
    function setMarketPaused(uint256 marketId, bool paused_) external onlyGuardianOrOwner {
        Market storage m = _marketOf(marketId);
        MarketConfigLogic.requireNotDelisted(m, marketId);
        m.paused = paused_;
        emit MarketPauseSet(marketId, paused_);
    }

    /// @inheritdoc IBulkhead
    function withdrawProtocolFees(address to, uint256 amount) external onlyOwner nonReentrant {
        PoolLogic.withdrawProtocolFees(_ledger, pool, to, amount);
    }

    /* TRADER ACTIONS */

    /// @inheritdoc IBulkhead
    function open(uint256 marketId, bool isLong, uint256 collateral, uint256 size, uint256 acceptablePrice, uint256 deadline)
        external
        nonReentrant
        returns (uint256 id)
    {
        _checkDeadline(deadline);
        Market storage m = _marketOf(marketId);
        _checkNotPaused(m, marketId);
        if (collateral == 0 || size == 0) revert ZeroAmount();
        if (size > ConstantsLib.MAX_SIZE) revert AmountTooLarge(size, ConstantsLib.MAX_SIZE);
        if (collateral > ConstantsLib.MAX_COLLATERAL) revert AmountTooLarge(collateral, ConstantsLib.MAX_COLLATERAL);
        (address account, uint256 px) = _tradeContext(m);
        TradeLib.checkSlippage(isLong, px, acceptablePrice);
        uint256 index = _accrue(m);
        uint256 notional = PositionMath.notionalUp(size, px, unit);
        RiskParams memory risk = _riskParams[marketId][m.riskVersion];
        // Healthy as well as above initial margin: rounding can put maintenance one unit above
        // initial margin at a bound-legal parameter set.
        TradeLib.checkMarginAfterChange(MathLib.toInt(collateral), notional, collateral, m, risk);
        uint256 reserve = PositionMath.maxProfitUp(size, px, risk.maxProfitFactorBps, unit);
        TradeLib.addOpenInterest(m, marketId, isLong, size, size * px, reserve);
        id = uint256(_ledger.lastPositionId) + 1;
        if (id > type(uint32).max) revert AmountTooLarge(id, type(uint32).max);
        _ledger.lastPositionId = uint32(id);
        _positions[id] = Position({
            size: uint128(size),
            entryPrice: uint96(px),
            marketId: uint16(marketId),
            isLong: isLong,
            collateral: uint96(collateral),
            borrowIndex: uint96(index),
            riskVersion: m.riskVersion,
            maxProfitFactorBps: risk.maxProfitFactorBps
        });
        uint256 openFee = notional.wMulUp(m.openFeeRate);
        _finishOpen(id, account, _positions[id], openFee, reserve);
    }

    /// @dev Reserves the max profit, books the fee, mints the token to `account`, deploys the
    /// vault, then pulls the collateral into the vault and the fee into the pool from the caller
    /// (the trader, or the settler that escrowed them).
    function _finishOpen(uint256 id, address account, Position storage s, uint256 openFee, uint256 reserve) internal {
        Position memory p = s;
        TradeLib.reserveAndBookFee(_ledger, _protocolFeeShare, reserve, openFee, 0);
        _mint(account, id);
        address vault = Clones.cloneDeterministic(vaultImplementation, bytes32(id));
        emit PositionOpened(
            id, account, p.marketId, p.isLong, p.size, p.entryPrice, p.collateral, openFee, p.riskVersion, p.borrowIndex
        );
        _pullExact(msg.sender, vault, p.collateral);
        // Same token and sender as the checked pull above: a plain transfer suffices.
        if (openFee != 0) SafeTransferLib.safeTransferFrom(address(_token), msg.sender, pool, openFee);
    }

    /// @inheritdoc IBulkhead
    function increase(uint256 id, uint256 collateralDelta, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline)
        external
        nonReentrant
    {
        _checkDeadline(deadline);
        Position storage s = _positions[id];
        if (s.size == 0) revert PositionNotFound(id);
        uint256 marketId = s.marketId;
        Market storage m = _markets[marketId];
        _checkNotPaused(m, marketId);
        (address account, uint256 px) = _tradeContext(m);
        _requireAuthorized(id, account);
        IncreaseLogic.increase(
            s,
            m,
            _riskParams[marketId][m.riskVersion],
            _ledger,
            IncreaseLogic.Context({
                id: id,
                marketId: marketId,
                price: px,
                unit: unit,
                protocolFeeShare: _protocolFeeShare,
                token: address(_token),
                pool: pool,
                vault: vaultOf(id)
            }),
            collateralDelta,
            sizeDelta,
            acceptablePrice
        );
    }

    /// @inheritdoc IBulkhead
    function decrease(uint256 id, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline) external nonReentrant {
        uint256 size = _positions[id].size;
        if (size == 0) revert PositionNotFound(id);
        if (sizeDelta == 0) revert ZeroAmount();
        if (sizeDelta >= size) revert SizeDeltaTooLarge(sizeDelta, size);
        _decrease(id, sizeDelta, false, acceptablePrice, deadline);
    }

    /// @inheritdoc IBulkhead
    function close(uint256 id, uint256 acceptablePrice, uint256 deadline) external nonReentrant {
        uint256 size = _positions[id].size;
        if (size == 0) revert PositionNotFound(id);
        _decrease(id, size, true, acceptablePrice, deadline);
    }

    /// @dev Checks what needs the engine (deadline, rights, price), burns the token on close (an
    /// effect, before any transfer), then runs {DecreaseLogic}.
    function _decrease(uint256 id, uint256 sizeDelta, bool isClose, uint256 acceptablePrice, uint256 deadline)
        internal
    {
        _checkDeadline(deadline);
        Position storage s = _positions[id];
        uint256 marketId = s.marketId;
        Market storage m = _markets[marketId];
        (address account, uint256 px) = _tradeContext(m);
        address owner_ = _requireAuthorized(id, account);
        RiskParams storage risk = _riskParams[marketId][s.riskVersion];
        if (isClose) _burn(id);
        DecreaseLogic.decrease(
            _positions,
            m,
            risk,
            _ledger,
            DecreaseLogic.Context({
                id: id,
                price: px,
                unit: unit,
                protocolFeeShare: _protocolFeeShare,
                owner: owner_,
                token: address(_token),
                pool: pool,
                vault: vaultOf(id)
            }),
            sizeDelta,
            acceptablePrice
        );
    }

    /// @inheritdoc IBulkhead
    function addCollateral(uint256 id, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position storage s = _positions[id];
        if (s.size == 0) revert PositionNotFound(id);
        uint256 newCollateral = s.collateral + amount;
        if (newCollateral > ConstantsLib.MAX_COLLATERAL) {
            revert AmountTooLarge(newCollateral, ConstantsLib.MAX_COLLATERAL);
        }
        s.collateral = uint96(newCollateral);
        emit CollateralAdded(id, msg.sender, amount, newCollateral);
        _pullExact(msg.sender, vaultOf(id), amount);
    }

    /// @inheritdoc IBulkhead
    /// @dev The borrow fee is not settled: the margin check counts it as a debit instead, so the
    /// vault makes a single transfer. Profit is left out of the equity checked (a loss is not).
    function removeCollateral(uint256 id, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position memory p = _positionOf(id);
        address owner_ = _requireAuthorized(id, msg.sender);
        if (amount > p.collateral) revert CollateralTooLow(amount, p.collateral);
        Market storage m = _markets[p.marketId];
        uint256 px = _price(m);
        uint256 newCollateral = p.collateral - amount;
        uint256 borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, _currentIndex(m) - p.borrowIndex, unit);
        TradeLib.checkMarginAfterChange(
            PositionMath.equityWithoutProfit(newCollateral, PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit), borrowFee),
            PositionMath.notionalUp(p.size, px, unit),
            newCollateral,
            m,
            _riskParams[p.marketId][p.riskVersion]
        );
        _positions[id].collateral = uint96(newCollateral);
        emit CollateralRemoved(id, owner_, amount, 0, newCollateral, p.borrowIndex);
        PositionVault(vaultOf(id)).transfer(owner_, amount);
    }

    /* LIQUIDATION */

    /// @inheritdoc IBulkhead
    function liquidate(uint256 id) external nonReentrant returns (LiquidationPreview memory r) {
        Position memory p = _positionOf(id);
        Market storage m = _markets[p.marketId];
        uint256 px = _price(m);
        uint256 index = _accrue(m);
        Ledger memory l = _loadLedger();
        RiskParams memory risk = _riskParams[p.marketId][p.riskVersion];
        r = _previewFromHealth(id, p, risk, HealthLib.health(p, risk, px, index, unit), l);
        if (!r.liquidatable) revert PositionNotLiquidatable(id, r.equity, r.maintenance);
        _liquidationEffects(id, p, m, index, r, l, msg.sender);
        address vault = vaultOf(id);
        uint256 balance = SafeTransferLib.balanceOf(address(_token), vault);
        uint256 toKeeper = r.keeperReward < balance ? r.keeperReward : balance;
        if (toKeeper != 0) PositionVault(vault).transfer(msg.sender, toKeeper);
        if (balance > toKeeper) PositionVault(vault).transfer(pool, balance - toKeeper);
        if (r.keeperReward > toKeeper) IBulkheadPool(pool).pay(msg.sender, r.keeperReward - toKeeper);
    }

    /// @inheritdoc IBulkhead
    /// @dev Prices and risk parameters are read once per market; a market's borrow index is written
    /// only once something in it is liquidatable, its rate once at the end; the keeper is paid
    /// once, from the pool. Skips unknown ids, healthy ids and markets whose price is
    /// invalid (the keeper reports those). Each id the bound cannot clear runs in a self-call
    /// (`liquidateFromBatch`) under try/catch, so one whose vault transfer reverts is skipped with
    /// its effects rolled back and the rest of the batch goes on.
    function liquidateMany(uint256[] calldata ids) external nonReentrant returns (uint256 liquidated, uint256 reward) {
        MarketCache[] memory cache = new MarketCache[](marketCount);
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            // The record's two slots, read once; a healthy id is skipped on the stack (no copy to
            // memory, no exact health) when the conservative bound already proves it healthy.
            (uint256 s0, uint256 s1) = _positionSlots(id);
            if (uint128(s0) == 0) continue;
            uint256 marketId = uint16(s0 >> 224);
            MarketCache memory c = cache[marketId];
            Market storage m = _markets[marketId];
            if (c.state == 0) _fillCache(c, m, marketId);
            if (c.state == _CACHE_BAD_PRICE) continue;
            if (
                uint32(s1 >> 192) == c.riskVersion
                    && HealthLib.surelyHealthy(
                        uint8(s0 >> 240) != 0,
                        uint128(s0),
                        uint96(s0 >> 128),
                        uint96(s1),
                        uint96(s1 >> 96),
                        uint32(s1 >> 224),
                        c.risk,
                        c.price,
                        c.index,
                        unit
                    )
            ) continue;
            uint256 gasBefore = gasleft();
            try this.liquidateFromBatch(id, msg.sender, c.price) returns (bool done, uint256 keeperReward) {
                if (done) {
                    reward += keeperReward;
                    ++liquidated;
                }
            } catch {
                // An id that failed for lack of gas (its call and up to two nested ones used all
                // but their 1/64 shares, under 1/16 of the gas) fails the batch: else a gas
                // estimate would settle on the gas at which every id is skipped.
                if (gasleft() < gasBefore / 16) {
                    assembly ("memory-safe") {
                        revert(0, 0)
                    }
                }
            }
        }
        if (reward != 0) IBulkheadPool(pool).pay(msg.sender, reward);
    }

    /// @inheritdoc IBulkhead
    /// @dev Not nonReentrant: `liquidateMany` holds the guard, and only this contract may call it.
    /// Effects (ledger included) and the event first, then the vault empties into the pool; the
    /// batch pays the keeper's rewards from the pool once at the end.
    function liquidateFromBatch(uint256 id, address keeper, uint256 px)
        external
        returns (bool liquidated, uint256 keeperReward)
    {
        if (msg.sender != address(this)) revert Unauthorized(msg.sender);
        Position memory p = _positions[id];
        Market storage m = _markets[p.marketId];
        RiskParams memory risk = _riskParams[p.marketId][p.riskVersion];
        Health memory h = HealthLib.health(p, risk, px, _currentIndex(m), unit);
        if (!h.liquidatable) return (false, 0);
        uint256 index = _accrue(m);
        Ledger memory l = _loadLedger();
        LiquidationPreview memory r = _previewFromHealth(id, p, risk, h, l);
        _liquidationEffects(id, p, m, index, r, l, keeper);
        address vault = vaultOf(id);
        uint256 balance = SafeTransferLib.balanceOf(address(_token), vault);
        if (balance != 0) PositionVault(vault).transfer(pool, balance);
        return (true, r.keeperReward);
    }

    /// @dev The two raw storage slots of `_positions[id]`: slot 0 packs size (bits 0-127),
    /// entryPrice (128-223), marketId (224-239) and isLong (240-247); slot 1 collateral (0-95),
    /// borrowIndex (96-191), riskVersion (192-223) and maxProfitFactorBps (224-255). test/unit
    /// pins this layout.
    function _positionSlots(uint256 id) private view returns (uint256 s0, uint256 s1) {
        Position storage ps = _positions[id];
        assembly ("memory-safe") {
            s0 := sload(ps.slot)
            s1 := sload(add(ps.slot, 1))
        }
    }

    uint8 private constant _CACHE_OK = 1;
    uint8 private constant _CACHE_BAD_PRICE = 2;

    /// @dev Per-market values shared by the ids of one batch.
    struct MarketCache {
        uint8 state;
        uint32 riskVersion;
        uint256 price;
        uint256 index;
        RiskParams risk;
    }

    /// @dev Reads the market's price once (the index as of now is what `_accrue` will write).
    function _fillCache(MarketCache memory c, Market storage m, uint256 marketId) internal view {
        (uint256 px, bytes memory err) = _tryPrice(m);
        if (err.length != 0) {
            c.state = _CACHE_BAD_PRICE;
            return;
        }
        c.state = _CACHE_OK;
        c.price = px;
        c.index = _currentIndex(m);
        c.riskVersion = m.riskVersion;
        c.risk = _riskParams[marketId][c.riskVersion];
    }

    /// @dev Every effect of one liquidation: borrow fee, open interest, reserve, the ledger (written
    /// to storage), the position and its token, then the event. The caller moves the tokens after.
    function _liquidationEffects(
        uint256 id,
        Position memory p,
        Market storage m,
        uint256 index,
        LiquidationPreview memory r,
        Ledger memory l,
        address keeper
    ) internal {
        _settleBorrowFee(m, p, index);
        uint256 reserve = HealthLib.profitCap(p, unit);
        TradeLib.removeOpenInterest(m, p.isLong, p.size, uint256(p.size) * p.entryPrice, reserve);
        l.reserved -= uint128(reserve);
        l.lpAssets = uint128(uint256(int256(uint256(l.lpAssets)) + r.lpDelta));
        l.insuranceFund = uint128(l.insuranceFund + r.toInsurance - r.fromInsurance);
        _storeLedger(l);
        address owner_ = _ownerOf(id);
        delete _positions[id];
        _burn(id);
        emit PositionLiquidated(
            id,
            keeper,
            owner_,
            r.price,
            r.equity,
            r.maintenance,
            r.keeperReward,
            r.badDebt,
            r.toInsurance,
            r.fromInsurance,
            r.fromPool,
            r.lpDelta
        );
    }

    /// @dev Shared by `liquidate`, `liquidateMany` and `previewLiquidation`. With V the settlement
    /// value (collateral + PnL capped at max profit - borrow fee) and T the vault balance:
    /// LPs are owed collateral - V; the keeper gets liquidationFee(p); the rest, T - owed - fee,
    /// goes to the insurance fund or, when negative, is covered by the insurance fund then LPs.
    function _previewFromHealth(
        uint256 id,
        Position memory p,
        RiskParams memory risk,
        Health memory h,
        Ledger memory l
    ) internal view returns (LiquidationPreview memory r) {
        r.price = h.price;
        r.equity = h.equity;
        r.maintenance = h.maintenance;
        r.keeperReward = PositionMath.liquidationFeeDown(
            PositionMath.notionalDown(p.size, h.price, unit), risk.liquidationFeeRate, risk.minLiquidationFee
        );
        r.liquidatable = h.liquidatable;
        if (!r.liquidatable) return r;
        if (r.equity < 0) r.badDebt = uint256(-r.equity);
        // h.pnl is already capped at the max profit: LPs are owed the fee minus what settlement pays.
        r.lpDelta = MathLib.toInt(h.borrowFee) - h.pnl;
        _splitLiquidation(r, SafeTransferLib.balanceOf(address(_token), vaultOf(id)), l);
    }

    /// @dev Given r.lpDelta = what LPs are owed (collateral - settlement value) and the vault
    /// balance, splits the rest between keeper reward, insurance fund and LP cover.
    function _splitLiquidation(LiquidationPreview memory r, uint256 vaultBalance, Ledger memory l) internal pure {
        int256 rest = MathLib.toInt(vaultBalance) - r.lpDelta - MathLib.toInt(r.keeperReward);
        if (rest >= 0) {
            r.toInsurance = uint256(rest);
        } else {
            uint256 shortfall = uint256(-rest);
            r.fromInsurance = shortfall < l.insuranceFund ? shortfall : l.insuranceFund;
            r.fromPool = shortfall - r.fromInsurance;
            r.lpDelta -= MathLib.toInt(r.fromPool);
        }
        // LP assets cannot go negative: whatever they cannot pay (only after socialised bad debt)
        // comes out of the insurance remainder, then out of the keeper reward.
        int256 lpAfter = MathLib.toInt(l.lpAssets) + r.lpDelta;
        if (lpAfter < 0) {
            uint256 unpaid = uint256(-lpAfter);
            r.lpDelta -= lpAfter;
            uint256 fromRemainder = unpaid < r.toInsurance ? unpaid : r.toInsurance;
            r.toInsurance -= fromRemainder;
            uint256 fromReward = unpaid - fromRemainder;
            r.keeperReward -= fromReward;
            r.fromPool = r.fromPool > fromReward ? r.fromPool - fromReward : 0;
        }
    }

    /* POOL HOOKS */

    /// @inheritdoc IBulkhead
    function onDeposit(uint256 assets) external onlyPool nonReentrant {
        if (paused) revert ProtocolPaused();
        PoolLogic.onDeposit(_ledger, assets);
    }

    /// @inheritdoc IBulkhead
    function onWithdraw(uint256 assets) external onlyPool nonReentrant {
        PoolLogic.onWithdraw(_ledger, assets);
    }

    /// @inheritdoc IBulkhead
    function fundInsurance(uint256 amount) external nonReentrant {
        PoolLogic.fundInsurance(_ledger, address(_token), pool, amount);
    }

    /* VIEWS */

    /// @notice ERC-721 name of the position tokens.
    function name() public pure override returns (string memory) {
        return "Bulkhead Position";
    }

    /// @notice ERC-721 symbol of the position tokens.
    function symbol() public pure override returns (string memory) {
        return "BULK-POS";
    }

    /// @notice No off-chain metadata: a position's data is on-chain (`position`, lens views).
    function tokenURI(uint256 id) public view override returns (string memory) {
        if (_positions[id].size == 0) revert PositionNotFound(id);
        return "";
    }

    /// @inheritdoc IBulkhead
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IBulkhead
    function sequencer() external view returns (address, uint256) {
        return (_sequencerFeed, _sequencerGracePeriod);
    }

    /// @inheritdoc IBulkhead
    function market(uint256 marketId) external view returns (Market memory) {
        return _marketOf(marketId);
    }

    /// @inheritdoc IBulkhead
    function riskParams(uint256 marketId, uint256 version) external view returns (RiskParams memory) {
        return _riskParams[marketId][version];
    }

    /// @inheritdoc IBulkhead
    function ledger() external view returns (Ledger memory) {
        return _loadLedger();
    }

    /// @inheritdoc IBulkhead
    function utilisationAccumulator() external view returns (UtilisationAccumulator memory) {
        return _ledger.utilisation;
    }

    /// @inheritdoc IBulkhead
    function nextPositionId() external view returns (uint256) {
        return uint256(_ledger.lastPositionId) + 1;
    }

    /// @inheritdoc IBulkhead
    function protocolFeeShare() external view returns (uint256) {
        return _protocolFeeShare;
    }

    /// @inheritdoc IBulkhead
    function position(uint256 id) external view returns (Position memory) {
        return _positions[id];
    }

    /// @inheritdoc IBulkhead
    function vaultOf(uint256 id) public view returns (address) {
        return Clones.predictDeterministicAddress(vaultImplementation, bytes32(id));
    }

    /// @inheritdoc IBulkhead
    function price(uint256 marketId) external view returns (uint256) {
        Market storage m = _marketOf(marketId);
        MarketConfigLogic.requireNotDelisted(m, marketId);
        return _price(m);
    }

    /// @inheritdoc IBulkhead
    function currentBorrowIndex(uint256 marketId) external view returns (uint256) {
        return _currentIndex(_marketOf(marketId));
    }

    /// @inheritdoc IBulkhead
    function borrowRate(uint256 marketId) external view returns (uint256) {
        return BorrowLib.rateAt(_marketOf(marketId), _ledger.lpAssets, _ledger.reserved);
    }

    /// @inheritdoc IBulkhead
    function isLiquidatable(uint256 id) external view returns (bool) {
        Position memory p = _positions[id];
        if (p.size == 0) return false;
        Market storage m = _markets[p.marketId];
        (uint256 px, bytes memory err) = _tryPrice(m);
        if (err.length != 0) return false;
        RiskParams memory risk = _riskParams[p.marketId][p.riskVersion];
        return HealthLib.health(p, risk, px, _currentIndex(m), unit).liquidatable;
    }

    /// @inheritdoc IBulkhead
    function previewLiquidation(uint256 id) external view returns (LiquidationPreview memory) {
        Position memory p = _positionOf(id);
        Market storage m = _markets[p.marketId];
        RiskParams memory risk = _riskParams[p.marketId][p.riskVersion];
        Health memory h = HealthLib.health(p, risk, _price(m), _currentIndex(m), unit);
        return _previewFromHealth(id, p, risk, h, _loadLedger());
    }

    /* BORROW INDEX */

    /// @dev Also moves the pool's utilisation integrals to now: call before LP assets or reserved change.
    function _accrue(Market storage m) internal returns (uint256) {
        return BorrowLib.accrue(m, _ledger, unit);
    }

    function _currentIndex(Market storage m) internal view returns (uint256) {
        return BorrowLib.currentIndex(m, _ledger);
    }

    /// @dev The market's parameters apply to its index from this block on.
    function _restartRateIntegral(Market storage m) internal {
        BorrowLib.restartRateIntegral(m, _ledger);
    }

    /// @dev The borrow fee a position owes at `index`, removed from the market's accrued total
    /// (which rounded down, so the subtraction floors at zero).
    function _settleBorrowFee(Market storage m, Position memory p, uint256 index) internal returns (uint256) {
        return TradeLib.settleBorrowFee(m, p, index, unit);
    }

    /* INTERNAL CHECKS AND BOOKKEEPING */

    function _marketOf(uint256 marketId) internal view returns (Market storage m) {
        if (marketId >= marketCount) revert MarketNotListed(marketId);
        return _markets[marketId];
    }

    function _positionOf(uint256 id) internal view returns (Position memory p) {
        p = _positions[id];
        if (p.size == 0) revert PositionNotFound(id);
    }

    function _requireAuthorized(uint256 id, address account) internal view returns (address owner_) {
        owner_ = _ownerOf(id);
        if (!_isApprovedOrOwner(account, id)) revert NotPositionOwner(id, account);
    }

    /// @dev Who trades and at what price. Without a settler: the caller, at the validated push
    /// price. With one, only the settler may call, with the account and the fill price it settles
    /// at appended to the calldata (the last 20 + 32 bytes, as ERC-2771 appends the sender).
    function _tradeContext(Market storage m) internal view returns (address account, uint256 px) {
        address settler_ = settler;
        if (settler_ == address(0)) return (msg.sender, _price(m));
        if (msg.sender != settler_) revert TradesRequireRequest(settler_);
        assembly ("memory-safe") {
            account := shr(96, calldataload(sub(calldatasize(), 52)))
            px := calldataload(sub(calldatasize(), 32))
        }
    }

    function _checkDeadline(uint256 deadline) internal view {
        if (block.timestamp > deadline) revert DeadlineExpired(deadline, block.timestamp);
    }

    /// @dev Open and increase: a delisted market takes no position, so its feed is not read.
    function _checkNotPaused(Market storage m, uint256 marketId) internal view {
        MarketConfigLogic.requireNotDelisted(m, marketId);
        if (paused) revert ProtocolPaused();
        if (m.paused) revert MarketPaused(marketId);
    }

    function _loadLedger() internal view returns (Ledger memory) {
        StoredLedger storage s = _ledger;
        return Ledger(s.lpAssets, s.reserved, s.insuranceFund, s.protocolFees);
    }

    /// @dev Writes the LP, reserved and insurance fields of `l` (protocol fees do not move here).
    function _storeLedger(Ledger memory l) internal {
        _ledger.lpAssets = uint112(l.lpAssets);
        _ledger.reserved = uint112(l.reserved);
        _ledger.insuranceFund = l.insuranceFund;
    }

    /* ORACLE */

    /// @dev The validated price of a market, or a revert naming the failed check.
    function _price(Market storage m) internal view returns (uint256 px) {
        bytes memory err;
        (px, err) = _tryPrice(m);
        if (err.length != 0) ChainlinkPriceLib.revertWith(err);
    }

    function _tryPrice(Market storage m) internal view returns (uint256 px, bytes memory err) {
        err = ChainlinkPriceLib.trySequencer(_sequencerFeed, _sequencerGracePeriod);
        if (err.length != 0) return (0, err);
        return ChainlinkPriceLib.tryPrice(m.feed, m.heartbeat, m.feedDecimals);
    }

    /* TOKEN TRANSFERS */

    function _pullExact(address from, address to, uint256 amount) internal {
        TradeLib.pullExact(address(_token), from, to, amount);
    }
}
