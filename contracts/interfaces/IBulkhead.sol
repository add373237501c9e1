// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.30;

import {IOracleErrors} from "./IOracleErrors.sol";

/// @notice Owner-set trading parameters of a market; they apply to every action from the block
/// they are set. All rates are WAD (1e18 = 100%); borrow rates are per second.
struct MarketParams {
    uint256 maxLeverage;
    uint256 openFeeRate;
    uint256 closeFeeRate;
    uint256 baseBorrowRate;
    uint256 borrowRateSlope;
    uint256 minCollateral;
    uint256 maxLongOpenInterest;
    uint256 maxShortOpenInterest;
}

/// @notice Risk parameters a position keeps for its whole life (snapshot by version at open).
/// @dev One slot: mmr and liquidationFeeRate WAD, minLiquidationFee in token units,
/// maxProfitFactorBps in basis points of entry notional.
struct RiskParams {
    uint64 mmr;
    uint64 liquidationFeeRate;
    uint96 minLiquidationFee;
    uint32 maxProfitFactorBps;
}

/// @notice A market as stored: listing, parameters and live state, nine slots. `borrowIndex` and
/// `rateIntegral` are as of the market's last accrual; the index grows with the pool's actual
/// utilisation from then on (see {BorrowLib}), so a market needs no touching to follow it.
/// `delisted` is final: a delisted market has no open interest, takes no position and its feed is
/// never read again. `longReserved`/`shortReserved` are the sums of the max profits reserved by
/// the side's open positions (their caps); their sum over every market and side is the ledger's
/// `reserved`, and the pool caps each side's trader PnL at it when it values LP shares.
struct Market {
    address feed;
    uint32 heartbeat;
    uint8 feedDecimals;
    bool paused;
    uint32 riskVersion;
    bool delisted;
    uint64 openFeeRate;
    uint64 closeFeeRate;
    uint64 baseBorrowRate;
    uint64 borrowRateSlope;
    uint96 maxLeverage;
    uint96 minCollateral;
    uint128 maxLongOpenInterest;
    uint128 maxShortOpenInterest;
    uint72 borrowIndex;
    uint80 rateIntegral;
    uint104 accruedBorrowFees;
    uint128 longSize;
    uint128 shortSize;
    uint256 longSizeEntry;
    uint256 shortSizeEntry;
    uint112 longReserved;
    uint112 shortReserved;
}

/// @notice A position record, two slots. Its owner is the ERC-721 owner of its id.
/// `maxProfitFactorBps` is the position's own cap factor (bps of entry notional): its risk
/// version's at open, at most that after an increase (see {IBulkhead-increase}).
struct Position {
    uint128 size;
    uint96 entryPrice;
    uint16 marketId;
    bool isLong;
    uint96 collateral;
    uint96 borrowIndex;
    uint32 riskVersion;
    uint32 maxProfitFactorBps;
}

/// @notice Everything a front-end or keeper needs about a position at one price. `pnl` is what
/// settlement pays (a gain capped at the position's max profit) and `equity` = collateral + pnl -
/// borrowFee, so `liquidatable` (equity < maintenance) uses the value a close or liquidation pays.
/// `liquidationFee` is the maintenance term (rounded up); the keeper is paid it rounded down.
struct Health {
    uint256 price;
    uint256 notional;
    int256 pnl;
    uint256 borrowFee;
    int256 equity;
    uint256 maintenance;
    uint256 liquidationFee;
    uint256 liquidationPrice;
    bool liquidatable;
}

/// @notice What `liquidate` would do now; `liquidate` executes exactly this.
/// @dev keeperReward = fromVault + fromInsurance + fromPool paid to the keeper side; `badDebt` is
/// max(-equity, 0); `toInsurance` is what is left in the vault after the loss and the reward.
struct LiquidationPreview {
    bool liquidatable;
    uint256 price;
    int256 equity;
    uint256 maintenance;
    uint256 keeperReward;
    uint256 badDebt;
    uint256 toInsurance;
    uint256 fromInsurance;
    uint256 fromPool;
    int256 lpDelta;
}

/// @notice Pool accounting held by the engine (the pool contract holds the tokens).
struct Ledger {
    uint128 lpAssets;
    uint128 reserved;
    uint128 insuranceFund;
    uint128 protocolFees;
}

/// @notice The pool's utilisation integrals as of `updatedAt`: ∫u·dt and ∫(u − target)⁺·dt, in
/// WAD·seconds, u = reserved / LP assets (capped at 100%). Moved to the current block before every
/// change of LP assets or reserved; every market's borrow index is a function of them.
struct UtilisationAccumulator {
    uint40 updatedAt;
    uint104 utilisationTime;
    uint104 aboveTargetTime;
}

/// @notice The pool ledger as the engine stores it: LP assets, reserved and the position counter
/// share the slot that every trade writes anyway; the utilisation integrals sit next to it.
struct StoredLedger {
    uint112 lpAssets;
    uint112 reserved;
    uint32 lastPositionId;
    uint128 insuranceFund;
    uint128 protocolFees;
    UtilisationAccumulator utilisation;
}

/// @title IBulkhead
/// @notice Isolated-margin engine: every position has its own collateral vault (an EIP-1167
/// clone at a CREATE2 address derived from its id) and `liquidate(id)` moves only that vault.
interface IBulkhead is IOracleErrors {
    // ---------------------------------------------------------------- errors
    /// @notice The action's deadline has passed.
    error DeadlineExpired(uint256 deadline, uint256 blockTimestamp);
    /// @notice No market with this id.
    error MarketNotListed(uint256 marketId);
    /// @notice The market is paused for risk-increasing actions (see ProtocolPaused for a global pause).
    error MarketPaused(uint256 marketId);
    /// @notice The market was delisted: it takes no position, its parameters are frozen and its
    /// feed is not read (list a new market instead).
    error MarketIsDelisted(uint256 marketId);
    /// @notice Only a market without open interest can be delisted.
    error MarketHasOpenInterest(uint256 marketId, uint256 longSize, uint256 shortSize);
    /// @notice The protocol is paused: opens, increases and LP deposits wait.
    error ProtocolPaused();
    /// @notice The oracle price is worse for the trader than `acceptable`.
    error SlippageExceeded(uint256 acceptable, uint256 actual);
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice A size or amount does not fit its storage field.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @notice Equity after the action is below what it needs: the initial margin (notional /
    /// maxLeverage), or after increase, decrease and removeCollateral the larger of that and the
    /// position's maintenance, so no trader action leaves a position liquidatable.
    error InsufficientMargin(int256 equity, uint256 required);
    /// @notice Collateral after the action is below the market's minimum.
    error CollateralBelowMinimum(uint256 collateral, uint256 minimum);
    /// @notice The market side's open interest would exceed its cap.
    error OpenInterestCapExceeded(uint256 marketId, bool isLong, uint256 openInterest, uint256 cap);
    /// @notice Free pool liquidity (LP assets - reserved) cannot cover the required amount.
    error InsufficientFreeLiquidity(uint256 available, uint256 required);
    /// @notice No open position with this id.
    error PositionNotFound(uint256 id);
    /// @notice The caller is neither the position's owner nor approved for it.
    error NotPositionOwner(uint256 id, address caller);
    /// @notice The position's equity is not below its maintenance requirement.
    error PositionNotLiquidatable(uint256 id, int256 equity, uint256 maintenance);
    /// @notice Closing would leave the trader owing `net` (negative): only liquidation can close it.
    error PositionUnderwater(uint256 id, int256 net);
    /// @notice sizeDelta must be below the position size for a decrease (use close for all of it).
    error SizeDeltaTooLarge(uint256 sizeDelta, uint256 size);
    /// @notice removeCollateral asked for more than the position has.
    error CollateralTooLow(uint256 requested, uint256 collateral);
    /// @notice A transfer delivered a different amount than requested (fee-on-transfer token).
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice A governance value lies outside its hard-coded bounds.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);
    /// @notice The feed address has no code.
    error FeedHasNoCode(address feed);
    /// @notice The market count is at its cap.
    error TooManyMarkets(uint256 max);
    /// @notice The caller may not call this function.
    error Unauthorized(address caller);
    /// @notice The collateral token has more than 18 decimals.
    error UnsupportedDecimals(uint256 decimals);
    /// @notice The pool is not the engine's pool for this token.
    error InvalidPool(address pool);
    /// @notice Trades settle through requests: open, increase, decrease and close are accepted
    /// only from the settler (the request router), which fills them at a later report's price.
    error TradesRequireRequest(address settler);
    /// @notice The settler is set once.
    error SettlerAlreadySet(address settler);
    /// @notice The settler must be a contract (the request router).
    error SettlerHasNoCode(address settler);

    // ---------------------------------------------------------------- events
    /// @notice A market was listed with its feed, trading and risk parameters (risk version 0).
    event MarketListed(
        uint256 indexed marketId, address indexed feed, uint256 heartbeat, uint256 feedDecimals, MarketParams params, RiskParams risk
    );
    /// @notice A market's feed or heartbeat changed.
    event FeedSet(uint256 indexed marketId, address indexed feed, uint256 heartbeat, uint256 feedDecimals);
    /// @notice A market's trading parameters changed.
    event MarketParamsSet(uint256 indexed marketId, MarketParams params);
    /// @notice A market's risk parameters changed; positions opened from now on use `riskVersion`.
    event RiskParamsSet(uint256 indexed marketId, uint256 indexed riskVersion, RiskParams risk);
    /// @notice The owner delisted a market that had no open interest (final).
    event MarketDelisted(uint256 indexed marketId);
    /// @notice The guardian (or owner) paused or unpaused one market.
    event MarketPauseSet(uint256 indexed marketId, bool paused);
    /// @notice The guardian (or owner) paused or unpaused opens, increases and LP deposits everywhere.
    event PauseSet(bool paused);
    /// @notice The guardian changed.
    event GuardianSet(address indexed guardian);
    /// @notice From now on trades settle only through `settler` (the request router).
    event SettlerSet(address indexed settler);
    /// @notice The protocol's share of trading fees changed.
    event ProtocolFeeShareSet(uint256 share);

    /// @notice A position was opened into its own vault.
    event PositionOpened(
        uint256 indexed id,
        address indexed owner,
        uint256 indexed marketId,
        bool isLong,
        uint256 size,
        uint256 price,
        uint256 collateral,
        uint256 openFee,
        uint256 riskVersion,
        uint256 borrowIndex
    );
    /// @notice A position grew: its PnL at `price` (capped) and borrow fee so far were settled
    /// into its collateral, then it became `newSize` at entry `newEntryPrice` (= price), on the
    /// market's risk version `riskVersion` with its own cap factor `maxProfitFactorBps`.
    event PositionIncreased(
        uint256 indexed id,
        uint256 sizeDelta,
        uint256 collateralDelta,
        uint256 price,
        int256 realisedPnl,
        uint256 openFee,
        uint256 borrowFee,
        uint256 newSize,
        uint256 newEntryPrice,
        uint256 newCollateral,
        uint256 borrowIndex,
        uint256 riskVersion,
        uint256 maxProfitFactorBps
    );
    /// @notice A position shrank (newSize = 0: closed, token burned); `payout` went to `owner`.
    event PositionDecreased(
        uint256 indexed id,
        address indexed owner,
        uint256 sizeDelta,
        uint256 price,
        int256 pnl,
        uint256 borrowFee,
        uint256 closeFee,
        uint256 payout,
        uint256 newSize,
        uint256 newCollateral,
        uint256 borrowIndex
    );
    /// @notice Anyone topped up a position's vault.
    event CollateralAdded(uint256 indexed id, address indexed from, uint256 amount, uint256 newCollateral);
    /// @notice The owner took collateral out of a position's vault. The borrow fee is not settled
    /// here (`borrowFee` is 0): the margin check counts it instead.
    event CollateralRemoved(
        uint256 indexed id, address indexed owner, uint256 amount, uint256 borrowFee, uint256 newCollateral, uint256 borrowIndex
    );
    /// @notice A position was liquidated; the amounts are exactly its `previewLiquidation`.
    event PositionLiquidated(
        uint256 indexed id,
        address indexed keeper,
        address indexed owner,
        uint256 price,
        int256 equity,
        uint256 maintenance,
        uint256 keeperReward,
        uint256 badDebt,
        uint256 toInsurance,
        uint256 fromInsurance,
        uint256 fromPool,
        int256 lpDelta
    );
    /// @notice LP liquidity entered or left the pool (`assets` signed: + deposit, - withdrawal).
    event LiquidityChanged(int256 assets, uint256 lpAssets);
    /// @notice The insurance fund received `amount` from `from`.
    event InsuranceFunded(address indexed from, uint256 amount);
    /// @notice Protocol fees were paid out to `to`.
    event ProtocolFeesWithdrawn(address indexed to, uint256 amount);

    // ---------------------------------------------------------------- trader actions
    /// @notice Opens a position: takes `collateral` into a new vault plus the open fee into the
    /// pool, mints the position token to the caller and records entry at the oracle price.
    /// @param marketId Market to trade.
    /// @param isLong True for a long.
    /// @param collateral Collateral in token units, moved into the position's vault.
    /// @param size Position size in index units (WAD).
    /// @param acceptablePrice Worst entry price: max for a long, min for a short (WAD).
    /// @param deadline Last timestamp at which the transaction may execute.
    /// @return id The position id (ERC-721 token id); its vault is `vaultOf(id)`.
    /// @dev Reverts on deadline, pause, slippage, open-interest cap, free liquidity, initial margin.
    function open(uint256 marketId, bool isLong, uint256 collateral, uint256 size, uint256 acceptablePrice, uint256 deadline)
        external
        returns (uint256 id);

    /// @notice Adds size (and optional collateral) to a position at the oracle price p. The
    /// position first settles at p: its PnL, capped at its cap C (R = min(pnl, C)), and its
    /// borrow fee go into its collateral (a loss to the pool, a profit from LP assets); then its
    /// entry becomes p, its size s + d, its risk version the market's current one (mmr,
    /// liquidation fee, margin check) and its cap factor
    /// F = min(F_now, floor((C - R) * BPS * unit / (s * p))). The open fee on d is pulled from the
    /// caller. The position must keep initial margin and stay healthy under the current version.
    /// @dev Never worth more than opening d as a second position at p. Both legs now share entry
    /// p and F, so at p' = p + x: min((s+d)x, (s+d)pF) = min(sx, spF) + min(dx, dpF); spF <= C - R
    /// gives R + min(sx, spF) <= min(R + sx, C) <= the old leg's own capped PnL at p', and F <= F_now
    /// bounds the delta by a fresh position's cap. The cap ceil((s+d)pF / (BPS * unit)) is at most
    /// (C - R) + ceil(d * p * F_now / (BPS * unit)), integers, so it has no rounding slack; the
    /// trader gains at most 3 token units from rounding once where two positions round twice
    /// (PnL rounds down once: <= 1; the close fee rounds up once: <= 2). A position past its cap
    /// (R = C) carries F = 0. From here the whole size pays borrow fees on p * (s + d), as if the
    /// old leg had been closed and reopened at p. Rights: the owner, or an ERC-721 operator
    /// approved for the id or for all of the owner's positions, may increase (adding leverage to
    /// the owner's position, paid from the operator's wallet), decrease, close (paid to the owner)
    /// and remove collateral (sent to the owner); anyone may add collateral.
    function increase(uint256 id, uint256 collateralDelta, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline)
        external;

    /// @notice Realises `sizeDelta` of a position: its PnL (capped), the borrow fee and the close
    /// fee; releases the same share of collateral and pays the net to the position's owner.
    /// @dev Owner or approved only (paid to the owner); the rest must keep the initial margin and
    /// stay healthy. acceptablePrice is the minimum for a long and the maximum for a short. The cap
    /// uses the position's own factor. The close fee is notional * min(closeFeeRate, the position's
    /// mmr), rounded up: under maintenance, so every healthy position can pay it.
    function decrease(uint256 id, uint256 sizeDelta, uint256 acceptablePrice, uint256 deadline) external;

    /// @notice Closes the whole position, pays the owner (plus any donation in its vault), burns the token.
    /// @dev Owner or approved only; the payout always goes to the owner.
    function close(uint256 id, uint256 acceptablePrice, uint256 deadline) external;

    /// @notice Tops up any position's vault; reads no oracle, so it works while paused or stale.
    function addCollateral(uint256 id, uint256 amount) external;

    /// @notice Moves collateral from the vault to the owner. What is left must cover the larger of
    /// initial margin and maintenance with equity that counts no unrealised profit:
    /// newCollateral + min(pnl, 0) - borrowFee >= max(notional / maxLeverage, maintenance), and
    /// newCollateral >= minCollateral. Paper gains are not margin until a decrease realises them
    /// (capped), so a withdrawal cannot leave a position that only a price reversal funds.
    /// @dev Owner or approved only (see {increase} for operators' rights); needs a valid price. The lens' `maxRemovableCollateral(id)` is
    /// exactly the largest amount this accepts.
    function removeCollateral(uint256 id, uint256 amount) external;

    // ---------------------------------------------------------------- liquidation
    /// @notice Liquidates a position whose equity is below maintenance at a valid oracle price.
    /// @dev The keeper (caller) receives liquidationFee(p) rounded down (notionalDown * rate, at
    /// least the minimum fee), from the vault first, then the insurance fund, then the pool; the
    /// vault's remainder goes to the insurance fund. Every effect and the event precede the
    /// transfers.
    /// @return preview What was done, equal to `previewLiquidation(id)` before the call.
    function liquidate(uint256 id) external returns (LiquidationPreview memory preview);

    /// @notice Liquidates the liquidatable ids and skips the others (unknown, healthy, bad feed,
    /// or a vault whose transfer reverts: that position stays exactly as it was).
    /// @return liquidated How many positions were liquidated.
    /// @return reward Total keeper reward paid to the caller.
    function liquidateMany(uint256[] calldata ids) external returns (uint256 liquidated, uint256 reward);

    /// @notice One liquidation of a `liquidateMany` batch at the batch's price `px` for `keeper`;
    /// only the engine itself may call it (else `Unauthorized`), so a revert rolls back that id alone.
    /// @return liquidated False when the position is not liquidatable (nothing changed).
    /// @return keeperReward What the batch owes `keeper` for it (paid from the pool at the end).
    function liquidateFromBatch(uint256 id, address keeper, uint256 px)
        external
        returns (bool liquidated, uint256 keeperReward);

    // ---------------------------------------------------------------- pool hooks
    /// @notice Called by the pool after it received `assets` from an LP.
    function onDeposit(uint256 assets) external;
    /// @notice Called by the pool before it pays `assets` to an LP; reverts below reserved.
    function onWithdraw(uint256 assets) external;
    /// @notice Adds `amount` from the caller to the insurance fund.
    function fundInsurance(uint256 amount) external;

    // ---------------------------------------------------------------- governance
    /// @notice Lists a market. Owner only; every parameter is bounded.
    function listMarket(address feed, uint256 heartbeat, MarketParams calldata params, RiskParams calldata risk)
        external
        returns (uint256 marketId);
    /// @notice Delists a market with no open interest (long and short size 0). Owner only, final:
    /// a delisted market takes no open or increase, its setters revert and no path reads its feed
    /// again; its stored state (borrow index, accrued fees) stays as it was. There is no relisting:
    /// a market id keeps one history, so list a new market instead.
    function delistMarket(uint256 marketId) external;
    /// @notice Replaces a market's feed and heartbeat. Owner only.
    function setFeed(uint256 marketId, address feed, uint256 heartbeat) external;
    /// @notice Replaces a market's trading parameters. Owner only.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external;
    /// @notice Sets new risk parameters for positions opened from now on. Owner only.
    function setRiskParams(uint256 marketId, RiskParams calldata risk) external;
    /// @notice Sets the protocol's share of trading fees. Owner only.
    function setProtocolFeeShare(uint256 share) external;
    /// @notice Sets the guardian. Owner only.
    function setGuardian(address guardian) external;

    /// @notice Makes `settler` (the request router, {IBulkheadRouter}) the only caller of open,
    /// increase, decrease and close; once, by the owner. The settler appends the account it acts
    /// for (20 bytes) and the fill price (32 bytes, WAD) to each call's calldata, ERC-2771 style;
    /// the engine uses them in place of `msg.sender` and the push-feed price, and still checks the
    /// account's rights, slippage against the fill price, margin and every bound. Without a
    /// settler (local development configurations only) trades are instant at the push price.
    function setSettler(address settler) external;

    /// @notice The request router trades settle through, or address 0 (instant trades).
    function settler() external view returns (address);
    /// @notice Pauses or unpauses opens, increases and LP deposits everywhere. Guardian or owner.
    function setPaused(bool paused) external;
    /// @notice Pauses or unpauses opens and increases on one market. Guardian or owner.
    function setMarketPaused(uint256 marketId, bool paused) external;
    /// @notice Pays accumulated protocol fees out of the pool. Owner only.
    function withdrawProtocolFees(address to, uint256 amount) external;

    // ---------------------------------------------------------------- views
    /// @notice The collateral token.
    function token() external view returns (address);
    /// @notice The ERC-4626 pool that holds LP, insurance and protocol-fee tokens.
    function pool() external view returns (address);
    /// @notice The vault implementation every position vault is a clone of.
    function vaultImplementation() external view returns (address);
    /// @notice 1e18 * 10**(18 - token decimals): size * price / unit is a token amount.
    function unit() external view returns (uint256);
    /// @notice L2 sequencer uptime feed (address 0 on L1) and its grace period in seconds.
    function sequencer() external view returns (address feed, uint256 gracePeriod);
    /// @notice Id the next position will get.
    function nextPositionId() external view returns (uint256);
    /// @notice Number of markets listed.
    function marketCount() external view returns (uint256);
    /// @notice A market as stored (state as of its last accrual).
    function market(uint256 marketId) external view returns (Market memory);
    /// @notice Risk parameters of a market at a version.
    function riskParams(uint256 marketId, uint256 version) external view returns (RiskParams memory);
    /// @notice The pool ledger: LP assets, reserved, insurance fund, protocol fees.
    function ledger() external view returns (Ledger memory);
    /// @notice The pool's utilisation integrals as stored (as of their `updatedAt`); the ledger's
    /// utilisation has held since then.
    function utilisationAccumulator() external view returns (UtilisationAccumulator memory);
    /// @notice Whether opens, increases and LP deposits are paused everywhere.
    function paused() external view returns (bool);
    /// @notice The guardian.
    function guardian() external view returns (address);
    /// @notice The protocol's share of trading fees (WAD).
    function protocolFeeShare() external view returns (uint256);
    /// @notice The position record (size 0 when it does not exist).
    function position(uint256 id) external view returns (Position memory);
    /// @notice The vault address of position `id`, known before the position exists.
    function vaultOf(uint256 id) external view returns (address);
    /// @notice The validated oracle price of a market (reverts with the failed check, or with
    /// MarketIsDelisted for a delisted market, whose feed is not read).
    function price(uint256 marketId) external view returns (uint256);
    /// @notice The market's borrow index as of now.
    function currentBorrowIndex(uint256 marketId) external view returns (uint256);
    /// @notice Borrow rate per second (WAD) at the pool's utilisation now: base + slope·u +
    /// ABOVE_TARGET_BORROW_RATE_SLOPE·(u − TARGET_UTILISATION)⁺, rounded down. Every market's
    /// index grows at it for as long as the utilisation holds, whichever market moves it next.
    function borrowRate(uint256 marketId) external view returns (uint256);
    /// @notice Whether `liquidate(id)` would succeed now.
    function isLiquidatable(uint256 id) external view returns (bool);
    /// @notice What `liquidate(id)` would do now.
    function previewLiquidation(uint256 id) external view returns (LiquidationPreview memory);
}
