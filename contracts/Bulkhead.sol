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
    Ledger
} from "./interfaces/IBulkhead.sol";
import {IBulkheadPool} from "./interfaces/IBulkheadPool.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {HealthLib} from "./libraries/HealthLib.sol";
import {ChainlinkPriceLib} from "./oracles/ChainlinkPriceLib.sol";
import {MarketConfigLogic} from "./libraries/MarketConfigLogic.sol";
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

    /// @dev The pool ledger as stored. LP assets, reserved and the position counter share the
    /// slot that every trade writes anyway.
    struct StoredLedger {
        uint112 lpAssets;
        uint112 reserved;
        uint32 lastPositionId;
        uint128 insuranceFund;
        uint128 protocolFees;
    }

    StoredLedger internal _ledger;
    /// @inheritdoc IBulkhead
    address public guardian;
    /// @inheritdoc IBulkhead
    bool public paused;
    uint64 internal _protocolFeeShare;
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
        MarketConfigLogic.listMarket(_markets[marketId], _riskParams[marketId], marketId, feed, heartbeat, params, risk);
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
    function setPaused(bool paused_) external onlyGuardianOrOwner {
        paused = paused_;
        emit PauseSet(paused_);
    }

    /// @inheritdoc IBulkhead
    function setMarketPaused(uint256 marketId, bool paused_) external onlyGuardianOrOwner {
        _marketOf(marketId).paused = paused_;
        emit MarketPauseSet(marketId, paused_);
    }

    /// @inheritdoc IBulkhead
    function withdrawProtocolFees(address to, uint256 amount) external onlyOwner nonReentrant {
        uint256 fees = _ledger.protocolFees;
        if (amount > fees) revert AmountTooLarge(amount, fees);
        _ledger.protocolFees = uint128(fees - amount);
        emit ProtocolFeesWithdrawn(to, amount);
        IBulkheadPool(pool).pay(to, amount);
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
        uint256 px = _price(m);
        _checkSlippage(isLong, px, acceptablePrice);
        uint256 index = _accrue(m);
        uint256 notional = PositionMath.notionalUp(size, px, unit);
        _checkInitialMargin(MathLib.toInt(collateral), notional, collateral, m);
        _addOpenInterest(m, marketId, isLong, size, size * px);
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
            riskVersion: m.riskVersion
        });
        uint256 openFee = notional.wMulUp(m.openFeeRate);
        _finishOpen(id, _positions[id], openFee);
    }

    /// @dev Reserves the max profit, books the fee, mints the token, deploys the vault, then
    /// pulls the collateral into the vault and the fee into the pool.
    function _finishOpen(uint256 id, Position storage s, uint256 openFee) internal {
        Position memory p = s;
        _reserveAndBookFee(
            PositionMath.maxProfitUp(
                p.size, p.entryPrice, _riskParams[p.marketId][p.riskVersion].maxProfitFactorBps, unit
            ),
            openFee,
            0
        );
        _mint(msg.sender, id);
        address vault = Clones.cloneDeterministic(vaultImplementation, bytes32(id));
        emit PositionOpened(
            id, msg.sender, p.marketId, p.isLong, p.size, p.entryPrice, p.collateral, openFee, p.riskVersion, p.borrowIndex
        );
        _pullExact(msg.sender, vault, p.collateral);
        // Same token and sender as the checked pull above: a plain transfer suffices.
        if (openFee != 0) SafeTransferLib.safeTransferFrom(address(_token), msg.sender, pool, openFee);
    }

    /// @dev Amounts of one increase, kept in memory to stay within the stack.
    struct Increase {
        uint256 price;
        uint256 index;
        uint256 newSize;
        uint256 newEntry;
        uint256 newCollateral;
        uint256 borrowFee;
        uint256 openFee;
    }

    /// @inheritdoc IBulkhead
    function increase(uint256 id, uint256 collateralDelta, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline)
        external
        nonReentrant
    {
        _checkDeadline(deadline);
        Position memory p = _positionOf(id);
        _requireAuthorized(id);
        Market storage m = _markets[p.marketId];
        _checkNotPaused(m, p.marketId);
        if (sizeDelta == 0) revert ZeroAmount();
        Increase memory x;
        x.newSize = p.size + sizeDelta;
        if (x.newSize > ConstantsLib.MAX_SIZE) revert AmountTooLarge(x.newSize, ConstantsLib.MAX_SIZE);
        uint256 withCollateral = p.collateral + collateralDelta;
        if (withCollateral > ConstantsLib.MAX_COLLATERAL) {
            revert AmountTooLarge(withCollateral, ConstantsLib.MAX_COLLATERAL);
        }
        x.price = _price(m);
        _checkSlippage(p.isLong, x.price, acceptablePrice);
        x.index = _accrue(m);
        x.borrowFee = _settleBorrowFee(m, p, x.index);

        // The size-weighted entry rounds against the trader: up for a long, down for a short.
        uint256 oldBase = uint256(p.size) * p.entryPrice;
        uint256 newBase = oldBase + sizeDelta * x.price;
        x.newEntry = p.isLong ? newBase.mulDivUp(1, x.newSize) : newBase / x.newSize;
        uint256 newNotional = PositionMath.notionalUp(x.newSize, x.price, unit);
        if (x.borrowFee > withCollateral) {
            revert InsufficientMargin(
                MathLib.toInt(withCollateral) - MathLib.toInt(x.borrowFee),
                PositionMath.initialMarginUp(newNotional, m.maxLeverage)
            );
        }
        x.newCollateral = withCollateral - x.borrowFee;
        _checkInitialMargin(
            PositionMath.equity(x.newCollateral, PositionMath.pnl(p.isLong, x.newSize, x.newEntry, x.price, unit), 0),
            newNotional,
            x.newCollateral,
            m
        );
        _addOpenInterest(m, p.marketId, p.isLong, sizeDelta, x.newSize * x.newEntry - oldBase);
        uint256 profitFactor = _riskParams[p.marketId][p.riskVersion].maxProfitFactorBps;
        x.openFee = PositionMath.notionalUp(sizeDelta, x.price, unit).wMulUp(m.openFeeRate);
        _reserveAndBookFee(
            PositionMath.maxProfitUp(x.newSize, x.newEntry, profitFactor, unit)
                - PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, unit),
            x.openFee,
            x.borrowFee
        );

        _finishIncrease(id, sizeDelta, collateralDelta, x);
    }

    /// @dev Stores and announces an increase, then moves tokens. The borrow fee is paid from the
    /// new collateral first, so the vault moves only what the new collateral does not cover.
    function _finishIncrease(uint256 id, uint256 sizeDelta, uint256 collateralDelta, Increase memory x) internal {
        Position storage s = _positions[id];
        s.size = uint128(x.newSize);
        s.entryPrice = uint96(x.newEntry);
        s.collateral = uint96(x.newCollateral);
        s.borrowIndex = uint96(x.index);
        emit PositionIncreased(
            id, sizeDelta, collateralDelta, x.price, x.openFee, x.borrowFee, x.newSize, x.newEntry, x.newCollateral, x.index
        );
        uint256 feeFromTrader = x.borrowFee < collateralDelta ? x.borrowFee : collateralDelta;
        if (collateralDelta > feeFromTrader) _pullExact(msg.sender, vaultOf(id), collateralDelta - feeFromTrader);
        if (x.openFee + feeFromTrader != 0) _pullExact(msg.sender, pool, x.openFee + feeFromTrader);
        if (x.borrowFee > feeFromTrader) PositionVault(vaultOf(id)).transfer(pool, x.borrowFee - feeFromTrader);
    }

    /// @inheritdoc IBulkhead
    function decrease(uint256 id, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline) external nonReentrant {
        Position memory p = _positionOf(id);
        if (sizeDelta == 0) revert ZeroAmount();
        if (sizeDelta >= p.size) revert SizeDeltaTooLarge(sizeDelta, p.size);
        _decrease(id, p, sizeDelta, acceptablePrice, deadline);
    }

    /// @inheritdoc IBulkhead
    function close(uint256 id, uint256 acceptablePrice, uint256 deadline) external nonReentrant {
        Position memory p = _positionOf(id);
        _decrease(id, p, p.size, acceptablePrice, deadline);
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
    /// vault makes a single transfer.
    function removeCollateral(uint256 id, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position memory p = _positionOf(id);
        address owner_ = _requireAuthorized(id);
        if (amount > p.collateral) revert CollateralTooLow(amount, p.collateral);
        Market storage m = _markets[p.marketId];
        uint256 px = _price(m);
        uint256 newCollateral = p.collateral - amount;
        uint256 borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, _currentIndex(m) - p.borrowIndex, unit);
        _checkInitialMargin(
            PositionMath.equity(newCollateral, PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit), borrowFee),
            PositionMath.notionalUp(p.size, px, unit),
            newCollateral,
            m
        );
        _positions[id].collateral = uint96(newCollateral);
        emit CollateralRemoved(id, owner_, amount, 0, newCollateral, p.borrowIndex);
        PositionVault(vaultOf(id)).transfer(owner_, amount);
    }

    /// @dev Amounts of one decrease, kept in memory to stay within the stack.
    struct Decrease {
        address owner;
        bool isClose;
        uint256 price;
        uint256 index;
        uint256 newSize;
        uint256 reserve;
        uint256 newReserve;
        int256 pnl;
        uint256 borrowFee;
        uint256 closeFee;
        uint256 released;
        uint256 newCollateral;
        uint256 payout;
        uint256 donation;
    }

    /// @dev Realises `sizeDelta` (all of it on close): PnL on the delta capped by its share of the
    /// max profit, the whole borrow fee, the close fee on the delta's notional; releases the
    /// delta's share of collateral (rounded down) and pays max(net, 0) to the owner.
    function _decrease(uint256 id, Position memory p, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline)
        internal
    {
        _checkDeadline(deadline);
        Decrease memory d;
        d.owner = _requireAuthorized(id);
        Market storage m = _markets[p.marketId];
        d.price = _price(m);
        _checkSlippage(!p.isLong, d.price, acceptablePrice);
        d.index = _accrue(m);
        d.isClose = sizeDelta == p.size;
        d.newSize = p.size - sizeDelta;
        d.borrowFee = _settleBorrowFee(m, p, d.index);
        uint256 profitFactor = _riskParams[p.marketId][p.riskVersion].maxProfitFactorBps;
        d.reserve = PositionMath.maxProfitUp(p.size, p.entryPrice, profitFactor, unit);
        d.newReserve = PositionMath.maxProfitUp(d.newSize, p.entryPrice, profitFactor, unit);
        d.pnl = PositionMath.pnl(p.isLong, sizeDelta, p.entryPrice, d.price, unit);
        int256 cap = MathLib.toInt(d.reserve.mulDivDown(sizeDelta, p.size));
        if (d.pnl > cap) d.pnl = cap;
        d.closeFee = PositionMath.notionalUp(sizeDelta, d.price, unit).wMulUp(m.closeFeeRate);
        d.released = d.isClose ? p.collateral : uint256(p.collateral).mulDivDown(sizeDelta, p.size);
        _settleDecrease(id, p, d, m);

        _removeOpenInterest(m, p.isLong, sizeDelta, sizeDelta * p.entryPrice);
        _ledger.reserved -= uint112(d.reserve - d.newReserve);
        d.payout -= _bookTraderSettlement(d.borrowFee, d.closeFee, d.pnl, d.payout);

        if (d.isClose) {
            d.donation = SafeTransferLib.balanceOf(address(_token), vaultOf(id)) - p.collateral;
            delete _positions[id];
            _burn(id);
        } else {
            Position storage s = _positions[id];
            s.size = uint128(d.newSize);
            s.collateral = uint96(d.newCollateral);
            s.borrowIndex = uint96(d.index);
        }
        emit PositionDecreased(
            id, d.owner, sizeDelta, d.price, d.pnl, d.borrowFee, d.closeFee, d.payout, d.newSize, d.newCollateral, d.index
        );
        _payDecrease(id, p.collateral, d);
    }

    /// @dev net = released + pnl - fees: paid out when positive, else taken from the remaining
    /// collateral (a close cannot leave the trader owing). The rest must keep initial margin.
    function _settleDecrease(uint256 id, Position memory p, Decrease memory d, Market storage m) internal view {
        int256 net = MathLib.toInt(d.released) + d.pnl - MathLib.toInt(d.borrowFee + d.closeFee);
        if (net >= 0) {
            d.newCollateral = p.collateral - d.released;
            d.payout = uint256(net);
        } else {
            if (d.isClose || uint256(-net) > p.collateral - d.released) revert PositionUnderwater(id, net);
            d.newCollateral = p.collateral - d.released - uint256(-net);
        }
        if (!d.isClose) {
            _checkInitialMargin(
                PositionMath.equity(
                    d.newCollateral, PositionMath.pnl(p.isLong, d.newSize, p.entryPrice, d.price, unit), 0
                ),
                PositionMath.notionalUp(d.newSize, d.price, unit),
                d.newCollateral,
                m
            );
        }
    }

    /// @dev Vault pays the owner first (plus any donation on close) and the pool the rest of what
    /// leaves it; the pool pays the owner's profit beyond the released collateral.
    function _payDecrease(uint256 id, uint256 collateral, Decrease memory d) internal {
        uint256 vaultOut = collateral - d.newCollateral;
        uint256 vaultToOwner = d.payout < vaultOut ? d.payout : vaultOut;
        PositionVault vault = PositionVault(vaultOf(id));
        if (vaultToOwner + d.donation != 0) vault.transfer(d.owner, vaultToOwner + d.donation);
        if (vaultOut > vaultToOwner) vault.transfer(pool, vaultOut - vaultToOwner);
        if (d.payout > vaultToOwner) IBulkheadPool(pool).pay(d.owner, d.payout - vaultToOwner);
    }

    /// @dev Books a trader's realised borrow fee, close fee and PnL in the ledger. A trader profit
    /// is paid from LP assets; only after socialised bad debt can LP assets fall short, in which
    /// case the insurance fund pays and whatever neither can pay is returned as `unpaid` (at most
    /// `payout`; the protocol's fee cut of this very trade gives back any excess).
    function _bookTraderSettlement(uint256 borrowFee, uint256 closeFee, int256 pnl, uint256 payout)
        internal
        returns (uint256 unpaid)
    {
        uint256 protocolCut = closeFee.wMulDown(_protocolFeeShare);
        if (protocolCut != 0) _ledger.protocolFees += uint128(protocolCut);
        int256 lpDelta = MathLib.toInt(borrowFee + closeFee - protocolCut) - pnl;
        uint256 lpAssets = _ledger.lpAssets;
        if (lpDelta >= 0) {
            _ledger.lpAssets = uint112(lpAssets + uint256(lpDelta));
            return 0;
        }
        uint256 owed = uint256(-lpDelta);
        if (owed <= lpAssets) {
            _ledger.lpAssets = uint112(lpAssets - owed);
            return 0;
        }
        _ledger.lpAssets = 0;
        owed -= lpAssets;
        uint256 insurance = _ledger.insuranceFund;
        uint256 fromInsurance = owed < insurance ? owed : insurance;
        _ledger.insuranceFund = uint128(insurance - fromInsurance);
        unpaid = owed - fromInsurance;
        if (unpaid > payout) {
            _ledger.protocolFees -= uint128(unpaid - payout);
            unpaid = payout;
        }
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
        uint256 fromPool = _executeLiquidation(id, p, m, risk, index, r, l, true);
        _storeLedger(l);
        if (fromPool != 0) IBulkheadPool(pool).pay(msg.sender, fromPool);
    }

    /// @inheritdoc IBulkhead
    /// @dev Prices and risk parameters are read once per market; the ledger is read and written
    /// once, and a market's borrow index written, only once something is liquidatable; the keeper
    /// is paid once, from the pool. Skips unknown ids, healthy ids and markets whose price is
    /// invalid (the keeper reports those).
    function liquidateMany(uint256[] calldata ids) external nonReentrant returns (uint256 liquidated, uint256 reward) {
        MarketCache[] memory cache = new MarketCache[](marketCount);
        Ledger memory l;
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            Position memory p = _positions[id];
            if (p.size == 0) continue;
            MarketCache memory c = cache[p.marketId];
            Market storage m = _markets[p.marketId];
            if (c.state == 0) _fillCache(c, m, p.marketId);
            if (c.state == _CACHE_BAD_PRICE) continue;
            if (c.riskVersion != p.riskVersion) {
                c.riskVersion = p.riskVersion;
                c.risk = _riskParams[p.marketId][p.riskVersion];
            }
            Health memory h = HealthLib.health(p, c.risk, c.price, c.index, unit);
            if (!h.liquidatable) continue;
            if (liquidated == 0) l = _loadLedger();
            if (!c.accrued) {
                _accrue(m);
                c.accrued = true;
            }
            LiquidationPreview memory r = _previewFromHealth(id, p, c.risk, h, l);
            _executeLiquidation(id, p, m, c.risk, c.index, r, l, false);
            reward += r.keeperReward;
            ++liquidated;
        }
        if (liquidated != 0) {
            _storeLedger(l);
            if (reward != 0) IBulkheadPool(pool).pay(msg.sender, reward);
        }
    }

    uint8 private constant _CACHE_OK = 1;
    uint8 private constant _CACHE_BAD_PRICE = 2;

    /// @dev Per-market values shared by the ids of one batch.
    struct MarketCache {
        uint8 state;
        bool accrued;
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

    /// @dev Effects of one liquidation (the ledger in memory is written by the caller), the event,
    /// then the vault empties: to the keeper first when `payKeeper` (single liquidation), the rest
    /// to the pool. Returns the part of the reward the pool still owes the keeper (a batch pays
    /// its keeper once, from the pool, so it passes false).
    function _executeLiquidation(
        uint256 id,
        Position memory p,
        Market storage m,
        RiskParams memory risk,
        uint256 index,
        LiquidationPreview memory r,
        Ledger memory l,
        bool payKeeper
    ) internal returns (uint256 fromPool) {
        _settleBorrowFee(m, p, index);
        _removeOpenInterest(m, p.isLong, p.size, uint256(p.size) * p.entryPrice);
        l.reserved -= uint128(PositionMath.maxProfitUp(p.size, p.entryPrice, risk.maxProfitFactorBps, unit));
        l.lpAssets = uint128(uint256(int256(uint256(l.lpAssets)) + r.lpDelta));
        l.insuranceFund = uint128(l.insuranceFund + r.toInsurance - r.fromInsurance);
        address owner_ = _ownerOf(id);
        delete _positions[id];
        _burn(id);
        emit PositionLiquidated(
            id,
            msg.sender,
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
        address vault = vaultOf(id);
        uint256 balance = SafeTransferLib.balanceOf(address(_token), vault);
        uint256 toKeeper = payKeeper ? (r.keeperReward < balance ? r.keeperReward : balance) : 0;
        if (toKeeper != 0) PositionVault(vault).transfer(msg.sender, toKeeper);
        if (balance > toKeeper) PositionVault(vault).transfer(pool, balance - toKeeper);
        return r.keeperReward - toKeeper;
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
        r.keeperReward = h.liquidationFee;
        r.liquidatable = h.liquidatable;
        if (!r.liquidatable) return r;
        if (r.equity < 0) r.badDebt = uint256(-r.equity);
        int256 cap = MathLib.toInt(PositionMath.maxProfitUp(p.size, p.entryPrice, risk.maxProfitFactorBps, unit));
        r.lpDelta = MathLib.toInt(h.borrowFee) - (h.pnl < cap ? h.pnl : cap);
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
        _accrueAll();
        uint256 lpAssets = _ledger.lpAssets + assets;
        if (lpAssets > type(uint112).max) revert AmountTooLarge(lpAssets, type(uint112).max);
        _ledger.lpAssets = uint112(lpAssets);
        emit LiquidityChanged(MathLib.toInt(assets), lpAssets);
    }

    /// @inheritdoc IBulkhead
    function onWithdraw(uint256 assets) external onlyPool nonReentrant {
        _accrueAll();
        uint256 lpAssets = _ledger.lpAssets;
        uint256 free = MathLib.zeroFloorSub(lpAssets, _ledger.reserved);
        if (assets > free) revert InsufficientFreeLiquidity(free, assets);
        _ledger.lpAssets = uint112(lpAssets - assets);
        emit LiquidityChanged(-MathLib.toInt(assets), lpAssets - assets);
    }

    /// @inheritdoc IBulkhead
    function fundInsurance(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 insurance = _ledger.insuranceFund + amount;
        if (insurance > type(uint128).max) revert AmountTooLarge(insurance, type(uint128).max);
        _ledger.insuranceFund = uint128(insurance);
        emit InsuranceFunded(msg.sender, amount);
        _pullExact(msg.sender, pool, amount);
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
        return _price(_marketOf(marketId));
    }

    /// @inheritdoc IBulkhead
    function currentBorrowIndex(uint256 marketId) external view returns (uint256) {
        return _currentIndex(_marketOf(marketId));
    }

    /// @inheritdoc IBulkhead
    function borrowRate(uint256 marketId) external view returns (uint256) {
        return _borrowRate(_marketOf(marketId));
    }

    /// @inheritdoc IBulkhead
    function isLiquidatable(uint256 id) external view returns (bool) {
        Position memory p = _positions[id];
        if (p.size == 0) return false;
        Market storage m = _markets[p.marketId];
        (uint256 px, bytes memory err) = _tryPrice(m);
        return err.length == 0 && HealthLib.health(p, _riskParams[p.marketId][p.riskVersion], px, _currentIndex(m), unit).liquidatable;
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

    /// @dev Moves the market's borrow index to now and books the fees accrued meanwhile (rounded
    /// down: they are LP value not yet collected). Returns the index.
    function _accrue(Market storage m) internal returns (uint256 index) {
        index = m.borrowIndex;
        uint256 last = m.lastAccrual;
        if (last == block.timestamp) return index;
        uint256 delta = _borrowRate(m) * (block.timestamp - last);
        uint256 fees = m.accruedBorrowFees + _pendingBorrowFees(m, delta);
        index += delta;
        m.borrowIndex = uint96(index);
        m.lastAccrual = uint40(block.timestamp);
        m.accruedBorrowFees = uint120(fees);
    }

    /// @dev Accrues every market; called before LP liquidity (hence utilisation) changes.
    function _accrueAll() internal {
        uint256 count = marketCount;
        for (uint256 i; i < count; ++i) {
            _accrue(_markets[i]);
        }
    }

    /// @dev Borrow fees all open positions of a market owe for an index move, rounded down.
    function _pendingBorrowFees(Market storage m, uint256 indexDelta) internal view returns (uint256) {
        if (indexDelta == 0) return 0;
        return (m.longSizeEntry + m.shortSizeEntry).mulDivDown(indexDelta, ConstantsLib.WAD * unit);
    }

    function _currentIndex(Market storage m) internal view returns (uint256) {
        uint256 elapsed = block.timestamp - m.lastAccrual;
        return elapsed == 0 ? m.borrowIndex : m.borrowIndex + _borrowRate(m) * elapsed;
    }

    /// @dev baseRate + slope * utilisation, utilisation = reserved / LP assets capped at 100%.
    function _borrowRate(Market storage m) internal view returns (uint256) {
        uint256 lpAssets = _ledger.lpAssets;
        uint256 reserved = _ledger.reserved;
        uint256 utilisation = reserved >= lpAssets
            ? (reserved == 0 ? 0 : ConstantsLib.WAD)
            : reserved.mulDivDown(ConstantsLib.WAD, lpAssets);
        return m.baseBorrowRate + uint256(m.borrowRateSlope).wMulDown(utilisation);
    }

    /// @dev The borrow fee a position owes at `index`, removed from the market's accrued total
    /// (which rounded down, so the subtraction floors at zero).
    function _settleBorrowFee(Market storage m, Position memory p, uint256 index) internal returns (uint256 fee) {
        fee = PositionMath.borrowFeeUp(p.size, p.entryPrice, index - p.borrowIndex, unit);
        m.accruedBorrowFees = uint120(MathLib.zeroFloorSub(m.accruedBorrowFees, fee));
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

    function _requireAuthorized(uint256 id) internal view returns (address owner_) {
        owner_ = _ownerOf(id);
        if (!_isApprovedOrOwner(msg.sender, id)) revert NotPositionOwner(id, msg.sender);
    }

    function _checkDeadline(uint256 deadline) internal view {
        if (block.timestamp > deadline) revert DeadlineExpired(deadline, block.timestamp);
    }

    function _checkNotPaused(Market storage m, uint256 marketId) internal view {
        if (paused) revert ProtocolPaused();
        if (m.paused) revert MarketPaused(marketId);
    }

    /// @dev A buyer (long open/increase, short reduce) accepts prices up to `acceptable`; a seller
    /// accepts prices down to it.
    function _checkSlippage(bool buying, uint256 px, uint256 acceptable) internal pure {
        if (buying ? px > acceptable : px < acceptable) revert SlippageExceeded(acceptable, px);
    }

    /// @dev equity >= notional / maxLeverage (rounded up) and collateral >= minCollateral.
    function _checkInitialMargin(int256 equity, uint256 notional, uint256 collateral, Market storage m)
        internal
        view
    {
        uint256 required = PositionMath.initialMarginUp(notional, m.maxLeverage);
        if (equity < MathLib.toInt(required)) revert InsufficientMargin(equity, required);
        uint256 minimum = m.minCollateral;
        if (collateral < minimum) revert CollateralBelowMinimum(collateral, minimum);
    }

    function _addOpenInterest(Market storage m, uint256 marketId, bool isLong, uint256 sizeDelta, uint256 baseDelta)
        internal
    {
        if (isLong) {
            uint256 oi = m.longSize + sizeDelta;
            if (oi > m.maxLongOpenInterest) revert OpenInterestCapExceeded(marketId, true, oi, m.maxLongOpenInterest);
            m.longSize = uint128(oi);
            m.longSizeEntry += baseDelta;
        } else {
            uint256 oi = m.shortSize + sizeDelta;
            if (oi > m.maxShortOpenInterest) {
                revert OpenInterestCapExceeded(marketId, false, oi, m.maxShortOpenInterest);
            }
            m.shortSize = uint128(oi);
            m.shortSizeEntry += baseDelta;
        }
    }

    function _removeOpenInterest(Market storage m, bool isLong, uint256 sizeDelta, uint256 baseDelta) internal {
        if (isLong) {
            m.longSize -= uint128(sizeDelta);
            m.longSizeEntry -= baseDelta;
        } else {
            m.shortSize -= uint128(sizeDelta);
            m.shortSizeEntry -= baseDelta;
        }
    }

    /// @dev Reserves `reserveDelta` of free liquidity and books a trading fee (LP and protocol
    /// share) plus `lpIncome` (a settled borrow fee) for LPs.
    function _reserveAndBookFee(uint256 reserveDelta, uint256 fee, uint256 lpIncome) internal {
        uint256 lpAssets = _ledger.lpAssets;
        uint256 reserved = _ledger.reserved;
        uint256 free = MathLib.zeroFloorSub(lpAssets, reserved);
        if (reserveDelta > free) revert InsufficientFreeLiquidity(free, reserveDelta);
        uint256 protocolCut = fee.wMulDown(_protocolFeeShare);
        _ledger.reserved = uint112(reserved + reserveDelta);
        _ledger.lpAssets = uint112(lpAssets + fee - protocolCut + lpIncome);
        if (protocolCut != 0) _ledger.protocolFees += uint128(protocolCut);
    }

    function _loadLedger() internal view returns (Ledger memory) {
        StoredLedger memory s = _ledger;
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

    /// @dev transferFrom that reverts unless `to` received exactly `amount` (no fee on transfer).
    function _pullExact(address from, address to, uint256 amount) internal {
        address token_ = address(_token);
        uint256 before = SafeTransferLib.balanceOf(token_, to);
        SafeTransferLib.safeTransferFrom(token_, from, to, amount);
        uint256 received = SafeTransferLib.balanceOf(token_, to) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }
}
