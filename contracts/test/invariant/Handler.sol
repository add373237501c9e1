// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {Bulkhead} from "../../Bulkhead.sol";
import {BulkheadPool} from "../../BulkheadPool.sol";
import {
    IBulkhead, Position, RiskParams, Market, Ledger, LiquidationPreview
} from "../../interfaces/IBulkhead.sol";
import {PositionMath} from "../../libraries/PositionMath.sol";
import {ConstantsLib} from "../../libraries/ConstantsLib.sol";
import {MockStablecoin} from "../../mocks/MockStablecoin.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives a Bulkhead deployment with random traders, LPs, keepers, the guardian, the owner,
/// price moves and time, and checks each action against ghost state as it happens. A broken
/// property is recorded (first message per kind) for the invariant functions to assert; the
/// handler itself never reverts on a finding, so the sequence that produced it is reported.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant WAD = 1e18;
    uint256 internal constant FAR = 2 ** 40;
    uint256 internal constant MAX_OPEN = 16;

    /// @notice What a recorded finding breaks (DESIGN.md invariant numbers in brackets).
    enum Kind {
        Isolation, // [1]
        Conservation, // [2]
        Soundness, // [3]
        Liveness, // [4]
        InitialMargin, // [5]
        Payability, // [6] every close of a position with non-negative net is paid in full
        FreeValue, // [7]
        Pause, // what pausing stops and what it must not
        Governance, // a risk-parameter change made an open position liquidatable
        Settlement // [12] an open position was neither closable (net >= 0) nor liquidatable
    }

    /// @dev The handler's belief about one position id: its record and owner as of the last
    /// action that targeted it, and the tokens donated to its vault.
    struct Ghost {
        bool open;
        address owner;
        address vault;
        Position p;
        uint256 donated;
    }

    Bulkhead public immutable engine;
    BulkheadPool public immutable pool;
    MockStablecoin public immutable token;
    MockV3Aggregator[2] internal _feeds;
    int256[2] internal _startAnswer;
    address public immutable guardian;
    address public immutable treasury = address(0x7EA5);
    uint256 public immutable unit;
    uint256 public immutable one;

    address[] internal _traders;
    address[] internal _lps;
    address[] internal _keepers;

    mapping(uint256 id => Ghost) internal _ghost;
    uint256[] internal _openIds;
    /// @dev Every vault that ever held tokens (opened or donated to).
    address[] internal _vaults;
    mapping(address => bool) internal _isVault;

    mapping(Kind => string) public violation;
    /// @notice Tokens minted by the faucet, setup included.
    uint256 public ghostMinted;
    /// @notice Σ fromPool over liquidations: shortfalls (bad debt and keeper rewards) socialised to LPs.
    uint256 public ghostSocialisedBadDebt;
    /// @notice Σ of what traders were owed on close but not paid (zero unless LPs fell short).
    uint256 public ghostUnpaidToTraders;
    /// @notice Successful (and some noteworthy) handler outcomes, by name.
    mapping(bytes32 => uint256) public calls;

    constructor(Bulkhead engine_, BulkheadPool pool_, MockV3Aggregator ethFeed, MockV3Aggregator btcFeed, address guardian_) {
        engine = engine_;
        pool = pool_;
        token = MockStablecoin(engine_.token());
        _feeds[0] = ethFeed;
        _feeds[1] = btcFeed;
        _startAnswer = [ethFeed.latestAnswer(), btcFeed.latestAnswer()];
        guardian = guardian_;
        unit = engine_.unit();
        one = 10 ** token.decimals();
        ghostMinted = token.totalSupply();
        for (uint160 i = 1; i <= 4; ++i) {
            address trader = address(0xA000 + i);
            _traders.push(trader);
            vm.prank(trader);
            token.approve(address(engine_), type(uint256).max);
        }
        _lps.push(address(0x1111)); // the LP of BaseTest._deploySystem
        _lps.push(address(0x2222));
        for (uint256 i; i < _lps.length; ++i) {
            vm.prank(_lps[i]);
            token.approve(address(pool_), type(uint256).max);
        }
        for (uint160 i = 1; i <= 2; ++i) {
            address keeper = address(0xEE00 + i);
            _keepers.push(keeper);
            vm.prank(keeper);
            token.approve(address(engine_), type(uint256).max);
        }
    }

    // ================================================================ trader actions

    function open(uint256 actorSeed, uint256 marketSeed, bool isLong, uint256 collateralSeed, uint256 leverageSeed)
        public
    {
        (bool ok, uint256 id) = _open(_pick(_traders, actorSeed), marketSeed % 2, isLong, collateralSeed, leverageSeed);
        _afterAction(ok ? _one(id) : new uint256[](0));
    }

    function increase(uint256 idSeed, uint256 collateralSeed, uint256 sizeSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        Position memory p = engine.position(id);
        address owner = engine.ownerOf(id);
        uint256 collateralDelta = _bound(collateralSeed, 0, 5_000 * one);
        uint256 sizeDelta = _bound(sizeSeed, 1, p.size);
        _fund(owner, collateralDelta + PositionMath.notionalUp(sizeDelta, engine.price(p.marketId), unit) / 100 + 1);
        bool wasPaused = engine.paused();
        vm.prank(owner);
        try engine.increase(id, collateralDelta, sizeDelta, p.isLong ? type(uint256).max : 0, FAR) {
            ++calls["increase"];
            if (wasPaused) _flag(Kind.Pause, "increase succeeded while paused");
            Position memory q = engine.position(id);
            if (q.size != p.size + sizeDelta) _flag(Kind.Isolation, "increase: size != old + delta");
            // Governance can reduce risk: the grown position is on the current version, within its cap factor.
            uint256 version = engine.market(p.marketId).riskVersion;
            if (q.riskVersion != version) _flag(Kind.Governance, "increase kept a retired risk version");
            if (q.maxProfitFactorBps > _risk(p.marketId, version).maxProfitFactorBps) {
                _flag(Kind.Governance, "increase: factor above the current version's");
            }
            _checkInitialMargin(id, "increase");
        } catch {
            ++calls["increase.revert"];
        }
        _afterAction(_one(id));
    }

    function decrease(uint256 idSeed, uint256 fractionSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        Position memory p = engine.position(id);
        if (p.size < 2) return;
        address owner = engine.ownerOf(id);
        uint256 sizeDelta = _bound(fractionSeed, 1, p.size - 1);
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try engine.decrease(id, sizeDelta, p.isLong ? 0 : type(uint256).max, FAR) {
            ++calls["decrease"];
            if (token.balanceOf(owner) < before) _flag(Kind.Conservation, "decrease took tokens from the owner");
            Position memory q = engine.position(id);
            if (q.size != p.size - sizeDelta || q.entryPrice != p.entryPrice) {
                _flag(Kind.Isolation, "decrease: size or entry wrong");
            }
            _checkInitialMargin(id, "decrease");
        } catch {
            ++calls["decrease.revert"];
        }
        _afterAction(_one(id));
    }

    function close(uint256 idSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        _close(id);
        _afterAction(_one(id));
    }

    function addCollateral(uint256 idSeed, uint256 fromSeed, uint256 amountSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        address from = fromSeed % 2 == 0 ? _pick(_traders, fromSeed >> 1) : _pick(_keepers, fromSeed >> 1);
        uint256 amount = _bound(amountSeed, 1, 5_000 * one);
        _fund(from, amount);
        uint256 collateral = engine.position(id).collateral;
        uint256 vaultBefore = token.balanceOf(engine.vaultOf(id));
        vm.prank(from);
        try engine.addCollateral(id, amount) {
            ++calls["addCollateral"];
            if (engine.position(id).collateral != collateral + amount) {
                _flag(Kind.Isolation, "addCollateral: collateral != old + amount");
            }
            if (token.balanceOf(engine.vaultOf(id)) != vaultBefore + amount) {
                _flag(Kind.Conservation, "addCollateral: vault != old + amount");
            }
        } catch {
            _flag(Kind.Pause, "addCollateral reverted");
        }
        _afterAction(_one(id));
    }

    function removeCollateral(uint256 idSeed, uint256 amountSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        Position memory p = engine.position(id);
        address owner = engine.ownerOf(id);
        uint256 amount = _bound(amountSeed, 1, p.collateral);
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try engine.removeCollateral(id, amount) {
            ++calls["removeCollateral"];
            if (token.balanceOf(owner) != before + amount) _flag(Kind.Conservation, "removeCollateral: owner paid wrong");
            if (engine.position(id).collateral != p.collateral - amount) {
                _flag(Kind.Isolation, "removeCollateral: collateral != old - amount");
            }
            _checkInitialMargin(id, "removeCollateral");
        } catch {
            ++calls["removeCollateral.revert"];
        }
        _afterAction(_one(id));
    }

    /// @notice Sends tokens straight to a vault: an open position's or, sometimes, the next id's
    /// (known before the position exists).
    function donate(uint256 idSeed, uint256 fromSeed, uint256 amountSeed) external {
        uint256 id;
        if (idSeed % 4 == 0 || _openIds.length == 0) {
            id = engine.nextPositionId();
        } else {
            (, id) = _pickOpen(idSeed >> 2);
        }
        address from = _pick(_traders, fromSeed);
        uint256 amount = _bound(amountSeed, 1, 1_000 * one);
        _fund(from, amount);
        address vault = engine.vaultOf(id);
        _trackVault(vault);
        vm.prank(from);
        token.transfer(vault, amount);
        _ghost[id].donated += amount;
        ++calls["donate"];
        _afterAction(new uint256[](0));
    }

    function transferPosition(uint256 idSeed, uint256 toSeed) external {
        (bool found, uint256 id) = _pickOpen(idSeed);
        if (!found) return;
        address owner = engine.ownerOf(id);
        address to = _pick(_traders, toSeed);
        vm.prank(owner);
        engine.transferFrom(owner, to, id);
        ++calls["transferPosition"];
        _afterAction(_one(id));
    }

    /// @notice Opens, optionally increases, decreases, tops up and withdraws collateral, then
    /// closes, all in one block at one price: the trader must not end with more than it started.
    function roundTrip(
        uint256 actorSeed,
        uint256 marketSeed,
        bool isLong,
        uint256 collateralSeed,
        uint256 leverageSeed,
        uint256 opsSeed
    ) external {
        address trader = _pick(_traders, actorSeed);
        _fund(trader, 60_000 * one);
        // A donation made to the vault before it existed is not the round trip's return.
        uint256 putIn = token.balanceOf(trader) + _ghost[engine.nextPositionId()].donated;
        uint256 minted = ghostMinted;
        (bool ok, uint256 id) = _open(trader, marketSeed % 2, isLong, collateralSeed, leverageSeed);
        if (!ok) return _afterAction(new uint256[](0));
        _roundTripSteps(trader, id, isLong, opsSeed);
        _close(id);
        // Tokens the faucet gave the trader meanwhile are not the round trip's return either.
        uint256 takenOut = token.balanceOf(trader) - (ghostMinted - minted);
        if (engine.position(id).size != 0) {
            _flag(Kind.Payability, "roundTrip: close at the entry price failed");
        } else if (takenOut > putIn) {
            _flag(Kind.FreeValue, string.concat("roundTrip profit ", vm.toString(takenOut - putIn)));
        }
        ++calls["roundTrip"];
        _afterAction(_one(id));
    }

    function _roundTripSteps(address trader, uint256 id, bool isLong, uint256 opsSeed) internal {
        vm.startPrank(trader);
        if (opsSeed & 1 != 0) {
            uint256 sizeDelta = engine.position(id).size / 2 + 1;
            try engine.increase(id, _bound(opsSeed >> 8, 0, 1_000 * one), sizeDelta, isLong ? type(uint256).max : 0, FAR) {}
                catch {}
        }
        if (opsSeed & 2 != 0) {
            uint256 size = engine.position(id).size;
            if (size > 1) {
                try engine.decrease(id, _bound(opsSeed >> 16, 1, size - 1), isLong ? 0 : type(uint256).max, FAR) {}
                    catch {}
            }
        }
        if (opsSeed & 4 != 0) try engine.addCollateral(id, _bound(opsSeed >> 24, 1, 1_000 * one)) {} catch {}
        if (opsSeed & 8 != 0) {
            try engine.removeCollateral(id, _bound(opsSeed >> 32, 1, engine.position(id).collateral)) {} catch {}
        }
        vm.stopPrank();
    }

    // ================================================================ LP and keeper actions

    function lpDeposit(uint256 lpSeed, uint256 amountSeed) external {
        address lp = _pick(_lps, lpSeed);
        uint256 amount = _bound(amountSeed, 1, 100_000 * one);
        _fund(lp, amount);
        bool wasPaused = engine.paused();
        vm.prank(lp);
        try pool.deposit(amount, lp) {
            ++calls["lpDeposit"];
            if (wasPaused) _flag(Kind.Pause, "deposit succeeded while paused");
        } catch {
            ++calls["lpDeposit.revert"];
        }
        _afterAction(new uint256[](0));
    }

    /// @notice Withdraws up to `maxWithdraw`: free liquidity must always be withdrawable.
    function lpWithdraw(uint256 lpSeed, uint256 amountSeed) external {
        address lp = _pick(_lps, lpSeed);
        uint256 max = pool.maxWithdraw(lp);
        if (max == 0) return;
        uint256 amount = amountSeed % 2 == 0 ? max : _bound(amountSeed >> 1, 1, max);
        vm.prank(lp);
        try pool.withdraw(amount, lp, lp) {
            ++calls["lpWithdraw"];
        } catch (bytes memory err) {
            _flag(Kind.Liveness, string.concat("withdraw <= maxWithdraw reverted ", _selector(err)));
        }
        _afterAction(new uint256[](0));
    }

    /// @notice A keeper liquidates one position: it must succeed iff the engine said liquidatable,
    /// do exactly what previewLiquidation said, pay the keeper, empty only that vault and pay nothing
    /// to the owner.
    function liquidate(uint256 idSeed, uint256 keeperSeed) external {
        (bool found, uint256 id) = idSeed % 4 == 0 ? _pickOpen(idSeed >> 2) : _pickLiquidatable(idSeed >> 2);
        if (!found) return;
        _liquidate(id, _pick(_keepers, keeperSeed));
        _afterAction(_one(id));
    }

    /// @notice A batch of open ids (duplicates and an unknown id included): exactly the
    /// liquidatable ones are liquidated, the others are untouched.
    function liquidateMany(uint256 seed, uint256 keeperSeed) external {
        uint256 n = _openIds.length;
        if (n == 0) return;
        uint256 len = 1 + seed % 6;
        uint256[] memory ids = new uint256[](len);
        (, ids[0]) = _pickLiquidatable(seed);
        for (uint256 i = 1; i < len; ++i) {
            seed = uint256(keccak256(abi.encode(seed)));
            ids[i] = seed % 7 == 0 ? engine.nextPositionId() + seed % 3 : _openIds[seed % n];
        }
        bool[] memory predicted = new bool[](len);
        uint256 expected;
        for (uint256 i; i < len; ++i) {
            predicted[i] = engine.isLiquidatable(ids[i]);
            bool seen;
            for (uint256 j; j < i; ++j) {
                if (ids[j] == ids[i]) seen = true;
            }
            if (predicted[i] && !seen) ++expected;
        }
        address keeper = _pick(_keepers, keeperSeed);
        uint256 before = token.balanceOf(keeper);
        vm.recordLogs();
        vm.prank(keeper);
        try engine.liquidateMany(ids) returns (uint256 liquidated, uint256 reward) {
            _recordSocialised(vm.getRecordedLogs());
            if (liquidated != expected) _flag(Kind.Soundness, "liquidateMany count != liquidatable ids");
            if (token.balanceOf(keeper) != before + reward) _flag(Kind.Conservation, "liquidateMany reward not paid");
            for (uint256 i; i < len; ++i) {
                if ((engine.position(ids[i]).size == 0) != (predicted[i] || !_ghost[ids[i]].open)) {
                    _flag(Kind.Soundness, "liquidateMany liquidated a healthy id or skipped a liquidatable one");
                }
            }
            if (liquidated != 0) ++calls["liquidateMany"];
        } catch (bytes memory err) {
            _flag(Kind.Liveness, string.concat("liquidateMany reverted ", _selector(err)));
        }
        _afterAction(ids);
    }

    /// @notice Funds the insurance fund one time in two (so runs also see it empty).
    function fundInsurance(uint256 fromSeed, uint256 amountSeed) external {
        if (fromSeed % 2 == 0) return;
        address from = _pick(_keepers, fromSeed >> 1);
        uint256 amount = _bound(amountSeed, 1, 20_000 * one);
        _fund(from, amount);
        vm.prank(from);
        engine.fundInsurance(amount);
        ++calls["fundInsurance"];
        _afterAction(new uint256[](0));
    }

    // ================================================================ governance, guardian, world

    /// @notice The guardian pauses for a few actions (then unpauses) or unpauses now.
    function setPaused(uint256 seed) external {
        bool pause = seed % 2 == 0;
        vm.prank(guardian);
        engine.setPaused(pause);
        ++calls[pause ? bytes32("pause") : bytes32("unpause")];
        // The countdown starts after this action's own checks, so a pause lasts at least one action.
        _pauseLeft = 0;
        _afterAction(new uint256[](0));
        _pauseLeft = pause ? 1 + (seed >> 1) % 6 : 0;
    }

    /// @dev Actions left before the guardian lifts the current pause.
    uint256 internal _pauseLeft;

    /// @notice New risk parameters apply to new positions only: no open position may become
    /// liquidatable, and no record changes.
    function setRiskParams(uint256 marketSeed, uint256 mmrSeed, uint256 feeSeed, uint256 minFeeSeed, uint256 bpsSeed)
        external
    {
        uint256 marketId = marketSeed % 2;
        uint256 mmr = _bound(mmrSeed, ConstantsLib.MIN_MMR, 0.015e18);
        RiskParams memory risk = RiskParams({
            mmr: uint64(mmr),
            liquidationFeeRate: uint64(_bound(feeSeed, 0, 0.019e18 - mmr)),
            minLiquidationFee: uint96(_bound(minFeeSeed, 0, 2 * one)),
            maxProfitFactorBps: uint32(_bound(bpsSeed, ConstantsLib.MIN_MAX_PROFIT_FACTOR_BPS, 10_000))
        });
        uint256 n = _openIds.length;
        bool[] memory before = new bool[](n);
        for (uint256 i; i < n; ++i) {
            before[i] = engine.isLiquidatable(_openIds[i]);
        }
        try engine.setRiskParams(marketId, risk) {
            ++calls["setRiskParams"];
            for (uint256 i; i < n; ++i) {
                if (!before[i] && engine.isLiquidatable(_openIds[i])) {
                    _flag(Kind.Governance, "setRiskParams made an open position liquidatable");
                }
            }
        } catch {
            ++calls["setRiskParams.revert"];
        }
        _afterAction(new uint256[](0));
    }

    function withdrawProtocolFees(uint256 amountSeed) external {
        uint256 fees = engine.ledger().protocolFees;
        if (fees == 0) return;
        engine.withdrawProtocolFees(treasury, _bound(amountSeed, 1, fees));
        ++calls["withdrawProtocolFees"];
        _afterAction(new uint256[](0));
    }

    /// @notice Moves one market's price by up to ±3%.
    function movePrice(uint256 marketSeed, uint256 moveSeed) external {
        _movePrice(marketSeed % 2, int256(_bound(moveSeed, 0, 600)) - 300);
        ++calls["movePrice"];
    }

    /// @notice Moves one market's price by up to ±15%.
    function shockPrice(uint256 marketSeed, uint256 moveSeed) external {
        _movePrice(marketSeed % 2, int256(_bound(moveSeed, 0, 3_000)) - 1_500);
        ++calls["shockPrice"];
    }

    /// @notice A gap: crashes one market's price by 30-80%, or, once it is below half its start,
    /// squeezes it up by 50-150%.
    function crashPrice(uint256 marketSeed, uint256 moveSeed) external {
        uint256 marketId = marketSeed % 2;
        bool low = _feeds[marketId].latestAnswer() < _startAnswer[marketId] / 2;
        _movePrice(marketId, low ? int256(_bound(moveSeed, 5_000, 15_000)) : -int256(_bound(moveSeed, 3_000, 8_000)));
        ++calls[low ? bytes32("squeeze") : bytes32("crash")];
    }

    /// @dev Applies a move in basis points, kept within a fifth and five times the start price.
    function _movePrice(uint256 marketId, int256 bps) internal {
        MockV3Aggregator feed = _feeds[marketId];
        int256 next = feed.latestAnswer() * (10_000 + bps) / 10_000;
        int256 start = _startAnswer[marketId];
        if (next < start / 5) next = start / 5;
        if (next > start * 5) next = start * 5;
        feed.updateAnswer(next);
        _afterAction(new uint256[](0));
    }

    /// @notice Lets up to 10 days pass (borrow fees accrue) and re-posts both prices, each drifted
    /// by up to ±2%, so they stay fresh.
    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 1, 10 days));
        vm.roll(block.number + 1);
        for (uint256 i; i < 2; ++i) {
            int256 next = _feeds[i].latestAnswer() * (9_800 + int256(uint256(keccak256(abi.encode(secondsSeed, i))) % 401)) / 10_000;
            if (next < _startAnswer[i] / 5) next = _startAnswer[i] / 5;
            _feeds[i].updateAnswer(next);
        }
        ++calls["warp"];
        _afterAction(new uint256[](0));
    }

    // ================================================================ shared steps

    function _open(address trader, uint256 marketId, bool isLong, uint256 collateralSeed, uint256 leverageSeed)
        internal
        returns (bool ok, uint256 id)
    {
        if (_openIds.length >= MAX_OPEN) return (false, 0);
        uint256 px = engine.price(marketId);
        uint256 collateral = _bound(collateralSeed, 10 * one, 5_000 * one);
        // Half the positions 20-55x (a few above the 50x cap), half 1-20x.
        uint256 leverage = leverageSeed % 2 == 0 ? _bound(leverageSeed >> 1, 20e18, 55e18) : _bound(leverageSeed >> 1, 1e18, 20e18);
        uint256 size = Math.mulDiv(collateral * leverage, unit, WAD * px);
        if (size == 0) return (false, 0);
        _fund(trader, collateral + Math.mulDiv(collateral, leverage, WAD) / 100 + 1);
        bool wasPaused = engine.paused();
        vm.prank(trader);
        try engine.open(marketId, isLong, collateral, size, isLong ? type(uint256).max : 0, FAR) returns (uint256 newId) {
            ok = true;
            id = newId;
            ++calls["open"];
            if (wasPaused) _flag(Kind.Pause, "open succeeded while paused");
            Ghost storage g = _ghost[id];
            g.open = true;
            g.owner = trader;
            g.p = engine.position(id);
            g.vault = engine.vaultOf(id);
            _openIds.push(id);
            _trackVault(g.vault);
            if (g.p.size != size || g.p.collateral != collateral || g.p.entryPrice != px) {
                _flag(Kind.Isolation, "open: record differs from the request");
            }
            _checkInitialMargin(id, "open");
        } catch {
            ++calls["open.revert"];
        }
    }

    /// @dev Closes `id` as its owner. A position whose net (collateral + capped pnl - fees) is not
    /// negative must close and pay exactly net plus its vault's donation; one that is negative must not.
    function _close(uint256 id) internal {
        Position memory p = engine.position(id);
        address owner = engine.ownerOf(id);
        int256 net = _closeNet(p);
        uint256 donation = token.balanceOf(engine.vaultOf(id)) - p.collateral;
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try engine.close(id, p.isLong ? 0 : type(uint256).max, FAR) {
            ++calls["close"];
            uint256 received = token.balanceOf(owner) - before;
            if (net < 0) {
                _flag(Kind.Soundness, "close succeeded with negative net");
            } else if (received < uint256(net) + donation) {
                ghostUnpaidToTraders += uint256(net) + donation - received;
                _flag(Kind.Payability, string.concat("close underpaid by ", vm.toString(uint256(net) + donation - received)));
            } else if (received > uint256(net) + donation) {
                _flag(Kind.Conservation, "close overpaid");
            }
        } catch (bytes memory err) {
            ++calls["close.revert"];
            if (net >= 0) _flag(Kind.Payability, string.concat("close of a payable position reverted ", _selector(err)));
        }
    }

    function _closeNet(Position memory p) internal view returns (int256) {
        RiskParams memory risk = engine.riskParams(p.marketId, p.riskVersion);
        uint256 px = engine.price(p.marketId);
        uint256 fee = _borrowFee(p);
        int256 pnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit);
        int256 cap = int256(PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, unit));
        if (pnl > cap) pnl = cap;
        uint256 closeFee = PositionMath.closeFeeUp(
            PositionMath.notionalUp(p.size, px, unit), engine.market(p.marketId).closeFeeRate, risk.mmr
        );
        return int256(uint256(p.collateral)) + pnl - int256(fee + closeFee);
    }

    function _liquidate(uint256 id, address keeper) internal {
        bool predicted = engine.isLiquidatable(id);
        bool model = _modelLiquidatable(engine.position(id));
        if (predicted != model) _flag(Kind.Soundness, "isLiquidatable != DESIGN predicate");
        LiquidationPreview memory preview = engine.previewLiquidation(id);
        if (preview.liquidatable != predicted) _flag(Kind.Soundness, "previewLiquidation != isLiquidatable");
        address owner = engine.ownerOf(id);
        address vault = engine.vaultOf(id);
        uint256 ownerBefore = token.balanceOf(owner);
        uint256 keeperBefore = token.balanceOf(keeper);
        Ledger memory l = engine.ledger();
        bool wasPaused = engine.paused();
        vm.prank(keeper);
        try engine.liquidate(id) returns (LiquidationPreview memory r) {
            ++calls["liquidate"];
            if (wasPaused) ++calls["liquidate.paused"];
            if (l.insuranceFund == 0) ++calls["liquidate.noInsurance"];
            if (r.badDebt != 0) ++calls["liquidate.badDebt"];
            if (!predicted) _flag(Kind.Soundness, "liquidated a position isLiquidatable called healthy");
            if (keccak256(abi.encode(r)) != keccak256(abi.encode(preview))) {
                _flag(Kind.Soundness, "liquidate did not do what previewLiquidation said");
            }
            if (token.balanceOf(keeper) != keeperBefore + r.keeperReward) _flag(Kind.Conservation, "keeper reward");
            if (token.balanceOf(owner) != ownerBefore) _flag(Kind.Isolation, "liquidation paid the owner");
            if (token.balanceOf(vault) != 0) _flag(Kind.Conservation, "liquidated vault not emptied");
            Ledger memory k = engine.ledger();
            if (int256(uint256(k.lpAssets)) != int256(uint256(l.lpAssets)) + r.lpDelta) {
                _flag(Kind.Conservation, "liquidation lpAssets != old + lpDelta");
            }
            if (uint256(k.insuranceFund) + r.fromInsurance != uint256(l.insuranceFund) + r.toInsurance) {
                _flag(Kind.Conservation, "liquidation insurance != old + toInsurance - fromInsurance");
            }
            ghostSocialisedBadDebt += r.fromPool;
        } catch (bytes memory err) {
            ++calls["liquidate.revert"];
            if (predicted) _flag(Kind.Liveness, string.concat("liquidatable position did not liquidate ", _selector(err)));
            else if (bytes4(err) != IBulkhead.PositionNotLiquidatable.selector) {
                _flag(Kind.Soundness, string.concat("healthy liquidation reverted with another error ", _selector(err)));
            }
        }
    }

    /// @dev Adds the `fromPool` of every PositionLiquidated event of a batch to the ghost.
    function _recordSocialised(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(engine) || logs[i].topics[0] != IBulkhead.PositionLiquidated.selector) {
                continue;
            }
            (,,,,,,, uint256 fromPool,) = abi.decode(
                logs[i].data, (uint256, int256, uint256, uint256, uint256, uint256, uint256, uint256, int256)
            );
            ghostSocialisedBadDebt += fromPool;
        }
    }

    // ================================================================ after every action

    /// @dev Checks every open position the action did not target against the ghost (isolation),
    /// syncs the targets, then probes liquidation of every open position.
    function _afterAction(uint256[] memory targets) internal {
        uint256 n = _openIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _openIds[i];
            if (_contains(targets, id)) continue;
            _checkUntouched(id);
        }
        for (uint256 i; i < targets.length; ++i) {
            _sync(targets[i]);
        }
        _probeAll();
        if (_pauseLeft != 0 && --_pauseLeft == 0) {
            vm.prank(guardian);
            engine.setPaused(false);
        }
    }

    function _checkUntouched(uint256 id) internal {
        Ghost storage g = _ghost[id];
        Position memory p = engine.position(id);
        if (keccak256(abi.encode(p)) != keccak256(abi.encode(g.p))) {
            _flag(Kind.Isolation, string.concat("position ", vm.toString(id), " record changed by an action on another"));
        }
        if (p.size != 0 && engine.ownerOf(id) != g.owner) {
            _flag(Kind.Isolation, string.concat("position ", vm.toString(id), " owner changed by an action on another"));
        }
        if (token.balanceOf(g.vault) != uint256(g.p.collateral) + g.donated) {
            _flag(Kind.Isolation, string.concat("vault ", vm.toString(id), " balance changed by an action on another"));
        }
    }

    function _sync(uint256 id) internal {
        Ghost storage g = _ghost[id];
        if (!g.open) return;
        Position memory p = engine.position(id);
        if (p.size == 0) {
            g.open = false;
            delete g.p;
            g.donated = 0;
            _removeOpen(id);
            if (token.balanceOf(engine.vaultOf(id)) != 0) _flag(Kind.Conservation, "closed vault not empty");
            return;
        }
        g.p = p;
        g.owner = engine.ownerOf(id);
    }

    /// @dev For every open position isLiquidatable agrees with DESIGN's predicate, and every one it
    /// calls liquidatable is liquidated by a probe call that is rolled back (liveness in whatever
    /// state the run reached: paused, empty insurance fund, bad debt). The other direction (a
    /// healthy position cannot be liquidated) is checked by the `liquidate` action.
    function _probeAll() internal {
        uint256 n = _openIds.length;
        bool paused = engine.paused();
        bool emptyInsurance = engine.ledger().insuranceFund == 0;
        uint256[2] memory px = [engine.price(0), engine.price(1)];
        uint256[2] memory index = [engine.currentBorrowIndex(0), engine.currentBorrowIndex(1)];
        for (uint256 i; i < n; ++i) {
            uint256 id = _openIds[i];
            Position memory p = _ghost[id].p;
            bool predicted = engine.isLiquidatable(id);
            if (predicted != _modelLiquidatable(p, px[p.marketId], index[p.marketId])) {
                _flag(Kind.Soundness, "isLiquidatable != DESIGN predicate");
            }
            if (!predicted) {
                if (_closeNet(p) < 0) _flag(Kind.Settlement, "open position neither closable nor liquidatable");
                continue;
            }
            ++calls["probe.liquidatable"];
            if (paused) ++calls["probe.liquidatable.paused"];
            if (emptyInsurance) ++calls["probe.liquidatable.noInsurance"];
            if (engine.previewLiquidation(id).badDebt != 0) ++calls["probe.liquidatable.badDebt"];
            (bool ok, bytes memory ret) = _probeLiquidation(id, _keepers[0]);
            if (!ok) _flag(Kind.Liveness, string.concat("liquidatable position cannot be liquidated ", _selector(ret)));
        }
    }

    function _probeLiquidation(uint256 id, address keeper) internal returns (bool ok, bytes memory ret) {
        try this.probeLiquidation(id, keeper) {
            revert("probe returned");
        } catch (bytes memory data) {
            (ok, ret) = abi.decode(data, (bool, bytes));
        }
    }

    /// @notice Runs liquidate(id) as `keeper` and reverts with the outcome, so nothing persists.
    /// Only the handler itself may call it (it is not a fuzz target).
    function probeLiquidation(uint256 id, address keeper) external {
        require(msg.sender == address(this), "probe: self only");
        vm.prank(keeper);
        (bool ok, bytes memory ret) = address(engine).call(abi.encodeCall(IBulkhead.liquidate, (id)));
        bytes memory out = abi.encode(ok, ret);
        assembly ("memory-safe") {
            revert(add(out, 32), mload(out))
        }
    }

    /// @dev Initial margin after a trader action, from the record with the PositionMath primitives:
    /// equity >= notional / maxLeverage, collateral >= minCollateral, and hence not liquidatable.
    function _checkInitialMargin(uint256 id, string memory action) internal {
        Position memory p = engine.position(id);
        Market memory m = engine.market(p.marketId);
        uint256 px = engine.price(p.marketId);
        int256 equity = PositionMath.equity(
            p.collateral, PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit), _borrowFee(p)
        );
        uint256 required = PositionMath.initialMarginUp(PositionMath.notionalUp(p.size, px, unit), m.maxLeverage);
        if (equity < int256(required)) _flag(Kind.InitialMargin, string.concat(action, ": equity below initial margin"));
        if (p.collateral < m.minCollateral) _flag(Kind.InitialMargin, string.concat(action, ": collateral below minimum"));
        if (engine.isLiquidatable(id)) _flag(Kind.InitialMargin, string.concat(action, ": liquidatable right after"));
    }

    /// @dev DESIGN.md: liquidatable <=> equity(p) < notional(p) * mmr + max(notional(p) * feeRate, minFee),
    /// equity on the pnl settlement pays (capped at the max profit, v2 "Everything settles").
    function _modelLiquidatable(Position memory p) internal returns (bool) {
        return _modelLiquidatable(p, engine.price(p.marketId), engine.currentBorrowIndex(p.marketId));
    }

    function _modelLiquidatable(Position memory p, uint256 px, uint256 index) internal returns (bool) {
        RiskParams memory risk = _risk(p.marketId, p.riskVersion);
        uint256 notional = PositionMath.notionalUp(p.size, px, unit);
        uint256 borrowFee = PositionMath.borrowFeeUp(p.size, p.entryPrice, index - p.borrowIndex, unit);
        int256 pnl = PositionMath.pnl(p.isLong, p.size, p.entryPrice, px, unit);
        int256 cap = int256(PositionMath.maxProfitUp(p.size, p.entryPrice, p.maxProfitFactorBps, unit));
        int256 equity = PositionMath.equity(p.collateral, pnl < cap ? pnl : cap, borrowFee);
        return equity
            < int256(PositionMath.maintenanceUp(notional, risk.mmr, risk.liquidationFeeRate, risk.minLiquidationFee));
    }

    /// @dev Risk parameters are immutable per version, so the handler keeps its own copy.
    mapping(uint256 marketId => mapping(uint256 version => RiskParams)) internal _riskCache;

    function _risk(uint256 marketId, uint256 version) internal returns (RiskParams memory risk) {
        risk = _riskCache[marketId][version];
        if (risk.mmr == 0) {
            risk = engine.riskParams(marketId, version);
            _riskCache[marketId][version] = risk;
        }
    }

    function _borrowFee(Position memory p) internal view returns (uint256) {
        return PositionMath.borrowFeeUp(
            p.size, p.entryPrice, engine.currentBorrowIndex(p.marketId) - p.borrowIndex, unit
        );
    }

    // ================================================================ views for the invariants

    function openIds() external view returns (uint256[] memory) {
        return _openIds;
    }

    function vaults() external view returns (address[] memory) {
        return _vaults;
    }

    function donated(uint256 id) external view returns (uint256) {
        return _ghost[id].donated;
    }

    /// @notice Every address that can hold the token in this system.
    function holders() external view returns (address[] memory out) {
        out = new address[](_traders.length + _lps.length + _keepers.length + _vaults.length + 3);
        uint256 k;
        for (uint256 i; i < _traders.length; ++i) out[k++] = _traders[i];
        for (uint256 i; i < _lps.length; ++i) out[k++] = _lps[i];
        for (uint256 i; i < _keepers.length; ++i) out[k++] = _keepers[i];
        for (uint256 i; i < _vaults.length; ++i) out[k++] = _vaults[i];
        out[k++] = address(pool);
        out[k++] = treasury;
        out[k++] = address(this);
    }

    // ================================================================ helpers

    function _flag(Kind kind, string memory why) internal {
        if (bytes(violation[kind]).length == 0) violation[kind] = why;
    }

    function _fund(address to, uint256 amount) internal {
        uint256 balance = token.balanceOf(to);
        if (balance >= amount) return;
        token.faucet(to, amount - balance);
        ghostMinted += amount - balance;
    }

    function _trackVault(address vault) internal {
        if (_isVault[vault]) return;
        _isVault[vault] = true;
        _vaults.push(vault);
    }

    function _pick(address[] storage list, uint256 seed) internal view returns (address) {
        return list[seed % list.length];
    }

    function _pickOpen(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = _openIds.length;
        if (n == 0) return (false, 0);
        return (true, _openIds[seed % n]);
    }

    /// @dev The first liquidatable open id from a random start, else any open id.
    function _pickLiquidatable(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = _openIds.length;
        if (n == 0) return (false, 0);
        for (uint256 i; i < n; ++i) {
            uint256 id = _openIds[(seed + i) % n];
            if (engine.isLiquidatable(id)) return (true, id);
        }
        return (true, _openIds[seed % n]);
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

    function _one(uint256 id) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = id;
    }

    function _contains(uint256[] memory a, uint256 x) internal pure returns (bool) {
        for (uint256 i; i < a.length; ++i) {
            if (a[i] == x) return true;
        }
        return false;
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
