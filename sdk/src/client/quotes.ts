/**
 * Client quotes: what a trade would do at the oracle price now (the engine's checks mirrored by
 * `BulkheadLogic`), the acceptable price of the slippage band, the allowance it needs and the
 * typed errors it would revert with. The instant transactions (`trades.ts`) send what these quote.
 * @module
 */
import { InvalidRequestError, type ContractRevertError } from "../errors.js";
import { positionHealth } from "../health.js";
import {
  BulkheadLogic,
  type DecreasePreview,
  type IncreasePreview,
  type LedgerEffects,
  type RemoveCollateralPreview,
  type RevertReason,
} from "../math/BulkheadLogic.js";
import { BorrowLib } from "../math/BorrowLib.js";
import { ConstantsLib } from "../math/ConstantsLib.js";
import { MathLib } from "../math/MathLib.js";
import type { MarketId, PositionId, Side } from "../types.js";
import { ClientModule, NO_WALLET, type WalletFunds } from "./context.js";
import type { Markets } from "./markets.js";
import type { Positions } from "./positions.js";

const { WAD, BPS } = ConstantsLib;

// ---------------------------------------------------------------- public types

/** A request for an open quote: give `leverage` (WAD multiple of collateral) or `size` (WAD). */
export interface OpenRequest {
  market: MarketId;
  side: Side;
  /** Collateral in token units (the open fee is pulled on top). */
  collateral: bigint;
  /** Leverage as a WAD multiple, e.g. 10n * 10n**18n for 10x. */
  leverage?: bigint;
  /** Position size in index units (WAD). */
  size?: bigint;
  /** Tolerance in basis points (default: the client's). */
  slippageBps?: number;
}

/** A request for an increase quote: `sizeDelta` (WAD) added, with `collateralDelta` (token units) pulled on top of the fee. */
export interface IncreaseRequest {
  id: PositionId;
  sizeDelta: bigint;
  collateralDelta?: bigint;
  slippageBps?: number;
}

/** Common fields of every quote. */
export interface QuoteBase {
  /** The oracle price the quote uses (WAD). */
  price: bigint;
  /** The worst price the transaction accepts (max for a buyer, min for a seller). */
  acceptablePrice: bigint;
  /** Tokens the engine pulls from the wallet (0 when none). */
  requiredAllowance: bigint;
  /** The wallet's current allowance to the engine (null for a read-only client). */
  allowance: bigint | null;
  needsApproval: boolean;
  /** Tokens the wallet must hold: what the transaction pulls at the quoted price (0 when none). */
  requiredBalance: bigint;
  /** The wallet's token balance (null for a read-only client, and when nothing is pulled). */
  balance: bigint | null;
  /**
   * Typed errors the transaction would revert with at the quoted price, in the engine's check
   * order, then {@link InsufficientBalanceError} when `balance` is below `requiredBalance`.
   */
  issues: ContractRevertError[];
  /** True when `issues` is empty. */
  ok: boolean;
  blockNumber: number;
}

/** A quote for `open`. `borrowRateAfter` is the market's rate (`borrowRate`) once the position is open. */
export interface OpenQuote extends QuoteBase, LedgerEffects {
  market: MarketId;
  side: Side;
  collateral: bigint;
  size: bigint;
  /** notional / collateral (WAD). */
  leverage: bigint;
  maxLeverage: bigint;
  notional: bigint;
  openFee: bigint;
  initialMargin: bigint;
  liquidationPrice: bigint;
  /** Max profit the pool reserves for the position. */
  reserve: bigint;
  /** At the edge of the slippage band: the liquidation price if the entry is the acceptable price, the open fee at the highest band price, and whether initial margin still holds there. */
  worstCase: { liquidationPrice: bigint; openFee: bigint; marginOk: boolean };
}

/** A quote for `increase`. */
export interface IncreaseQuote extends QuoteBase, IncreasePreview {
  id: PositionId;
  sizeDelta: bigint;
  collateralDelta: bigint;
}

/** A quote for `decrease` or `close`. */
export interface DecreaseQuote extends QuoteBase, DecreasePreview {
  id: PositionId;
  sizeDelta: bigint;
  /** What the owner receives (payout + donation on close) at the quoted price. */
  received: bigint;
  /** What the owner receives if the price is the acceptable one. */
  minReceived: bigint;
}

/** A quote for `removeCollateral`. */
export interface RemoveCollateralQuote extends QuoteBase, RemoveCollateralPreview {
  id: PositionId;
  amount: bigint;
}

/** A quote for `addCollateral`. */
export interface AddCollateralQuote extends QuoteBase {
  id: PositionId;
  amount: bigint;
  newCollateral: bigint;
  liquidationPrice: bigint;
}

// ---------------------------------------------------------------- helpers

/** price * (1 ± bps), rounded against the trader (up for a buyer's max, down for a seller's min). */
export function acceptablePriceFor(buying: boolean, price: bigint, slippageBps: number): bigint {
  const bps = BigInt(slippageBps);
  if (bps < 0n || bps >= BPS) throw new InvalidRequestError(`slippageBps must be in [0, 10000), got ${slippageBps}`);
  return buying ? MathLib.mulDivUp(price, BPS + bps, BPS) : MathLib.mulDivDown(price, BPS - bps, BPS);
}

/**
 * The largest size whose initial margin `collateral` covers at `leverage` (WAD) and `price`:
 * notional N = floor(collateral * leverage / WAD), size = floor(N * unit / price), so that
 * notionalUp(size, price) <= N and initialMarginUp(N, leverage) <= collateral hold exactly.
 */
export function sizeForLeverage(collateral: bigint, leverage: bigint, price: bigint, unit: bigint): bigint {
  const notional = MathLib.mulDivDown(collateral, leverage, WAD);
  return MathLib.mulDivDown(notional, unit, price);
}

// ---------------------------------------------------------------- quotes

const NO_PULL = { allowance: 0n, balance: 0n };

/** Quotes of the instant trades. */
export class Quotes extends ClientModule<{ markets: Markets; positions: Positions }> {
  #base(
    price: bigint,
    acceptablePrice: bigint,
    pull: { allowance: bigint; balance: bigint },
    wallet: WalletFunds,
    reasons: (RevertReason | undefined)[],
    blockNumber: number,
  ): QuoteBase {
    const found = [...reasons, this.ctx.shortfall(wallet, pull.balance)].filter((r): r is RevertReason => r !== undefined);
    const issues = found.map((r) => this.ctx.reason(r));
    return {
      price,
      acceptablePrice,
      requiredAllowance: pull.allowance,
      allowance: wallet.allowance,
      needsApproval: wallet.allowance !== null && wallet.allowance < pull.allowance,
      requiredBalance: pull.balance,
      balance: wallet.balance,
      issues,
      ok: issues.length === 0,
      blockNumber,
    };
  }

  /** The market, price, ledger, pause flag, protocol fee share and now-index at one block. */
  async #tradeState(marketId: number, blockNumber: number) {
    return this.uses.markets.tradeState(marketId, blockNumber);
  }

  async quoteOpen(req: OpenRequest): Promise<OpenQuote> {
    this.ctx.validate(req, { market: "market", side: "side", collateral: "amount", leverage: "leverage?", size: "size?" });
    if ((req.leverage === undefined) === (req.size === undefined)) {
      throw new InvalidRequestError("quoteOpen needs exactly one of `leverage` and `size`");
    }
    const c = this.ctx;
    const blockNumber = await c.latestBlock();
    const [s, wallet] = await Promise.all([this.#tradeState(req.market, blockNumber), this.ctx.wallet(c.engineAddress, blockNumber)]);
    const risk = await c.risk(req.market, s.market.riskVersion, blockNumber);
    const isLong = req.side === "long";
    const slippage = req.slippageBps ?? c.options.slippageBps;
    const acceptablePrice = acceptablePriceFor(isLong, s.price, slippage);
    const size = req.size ?? sizeForLeverage(req.collateral, req.leverage!, s.price, c.unit);
    const ctx = {
      market: s.market, marketId: req.market, risk, protocolPaused: s.paused, unit: c.unit, price: s.price, index: s.index,
      ledger: s.ledger, protocolFeeShare: s.protocolFeeShare,
    };
    const p = BulkheadLogic.previewOpen(ctx, isLong, req.collateral, size);
    // The edge of the band: the highest price any fill can have is the buyer's limit (long) or,
    // for a short (whose limit is a minimum), the same distance above the oracle price.
    const upper = acceptablePriceFor(true, s.price, slippage);
    const atUpper = BulkheadLogic.previewOpen({ ...ctx, price: upper }, isLong, req.collateral, size);
    const atEntry = isLong ? atUpper : BulkheadLogic.previewOpen({ ...ctx, price: acceptablePrice }, isLong, req.collateral, size);
    const requiredAllowance = req.collateral + atUpper.openFee;
    return {
      ...this.#base(s.price, acceptablePrice, { allowance: requiredAllowance, balance: req.collateral + p.openFee }, wallet, [p.revert], blockNumber),
      market: req.market,
      side: req.side,
      collateral: req.collateral,
      size,
      leverage: req.collateral === 0n ? 0n : MathLib.mulDivDown(p.notional, WAD, req.collateral),
      maxLeverage: s.market.maxLeverage,
      notional: p.notional,
      openFee: p.openFee,
      initialMargin: p.initialMargin,
      liquidationPrice: p.liquidationPrice,
      reserve: p.reserve,
      ledgerAfter: p.ledgerAfter,
      borrowRateAfter: p.borrowRateAfter,
      worstCase: {
        liquidationPrice: atEntry.liquidationPrice,
        openFee: atUpper.openFee,
        marginOk: atUpper.revert?.name !== "InsufficientMargin",
      },
    };
  }

  async #positionState(id: PositionId) {
    const blockNumber = await this.ctx.latestBlock();
    const view = (await this.uses.positions.getPositions([id], blockNumber))[0];
    if (!view) throw this.ctx.reason({ name: "PositionNotFound", args: { id } });
    const s = await this.#tradeState(view.position.marketId, blockNumber);
    return { view, ...s, blockNumber };
  }

  async quoteIncrease(req: IncreaseRequest): Promise<IncreaseQuote> {
    const c = this.ctx;
    c.validate(req, { id: "id", sizeDelta: "size", collateralDelta: "amount?" });
    const s = await this.#positionState(req.id);
    const p = s.view.position;
    const collateralDelta = req.collateralDelta ?? 0n;
    const acceptablePrice = acceptablePriceFor(p.isLong, s.price, req.slippageBps ?? c.options.slippageBps);
    // An increase moves the position to the market's current risk version.
    const risk = await c.risk(p.marketId, s.market.riskVersion, s.blockNumber);
    const ctx = {
      market: s.market, risk, protocolPaused: s.paused, unit: c.unit, price: s.price, index: s.index, ledger: s.ledger,
      protocolFeeShare: s.protocolFeeShare,
    };
    const preview = BulkheadLogic.previewIncrease(ctx, p, collateralDelta, req.sizeDelta);
    const upper = acceptablePriceFor(true, s.price, req.slippageBps ?? c.options.slippageBps);
    const worst = BulkheadLogic.previewIncrease({ ...ctx, price: upper }, p, collateralDelta, req.sizeDelta);
    const wallet = await this.ctx.wallet(c.engineAddress, s.blockNumber);
    const pull = { allowance: collateralDelta + worst.openFee, balance: collateralDelta + preview.openFee };
    return {
      ...preview,
      ...this.#base(s.price, acceptablePrice, pull, wallet, [preview.revert], s.blockNumber),
      id: req.id,
      sizeDelta: req.sizeDelta,
      collateralDelta,
    };
  }

  async quoteDecrease(req: { id: PositionId; sizeDelta: bigint | "close"; slippageBps?: number }): Promise<DecreaseQuote> {
    const c = this.ctx;
    c.validate(req, req.sizeDelta === "close" ? { id: "id" } : { id: "id", sizeDelta: "size" });
    const s = await this.#positionState(req.id);
    const p = s.view.position;
    const acceptablePrice = acceptablePriceFor(!p.isLong, s.price, req.slippageBps ?? c.options.slippageBps);
    const ctx = {
      market: s.market, risk: s.view.risk, protocolFeeShare: s.protocolFeeShare, vaultBalance: s.view.vaultBalance, id: req.id,
      unit: c.unit, price: s.price, index: s.index, ledger: s.ledger,
    };
    const preview = BulkheadLogic.previewDecrease(ctx, p, req.sizeDelta);
    const worst = BulkheadLogic.previewDecrease({ ...ctx, price: acceptablePrice }, p, req.sizeDelta);
    return {
      ...preview,
      ...this.#base(s.price, acceptablePrice, NO_PULL, NO_WALLET, [preview.revert], s.blockNumber),
      id: req.id,
      sizeDelta: req.sizeDelta === "close" ? p.size : req.sizeDelta,
      received: preview.payout + preview.donation,
      minReceived: worst.revert ? 0n : worst.payout + worst.donation,
    };
  }

  async quoteClose(req: { id: PositionId; slippageBps?: number }): Promise<DecreaseQuote> {
    return this.quoteDecrease({ ...req, sizeDelta: "close" });
  }

  async quoteRemoveCollateral(req: { id: PositionId; amount: bigint; feeBufferSeconds?: number }): Promise<RemoveCollateralQuote> {
    const c = this.ctx;
    c.validate(req, { id: "id", amount: "amount", feeBufferSeconds: "count?" });
    const s = await this.#positionState(req.id);
    const ctx = { market: s.market, risk: s.view.risk, unit: c.unit, price: s.price, index: s.index };
    const preview = BulkheadLogic.previewRemoveCollateral(ctx, s.view.position, req.amount);
    const [block, pool] = await Promise.all([c.provider.getBlock(s.blockNumber), this.uses.markets.getUtilisationState(s.blockNumber)]);
    const later = BigInt(block!.timestamp) + BigInt(req.feeBufferSeconds ?? 300);
    // Projected at the utilisation now; a higher one meanwhile grows the fee faster.
    const laterIndex = BorrowLib.currentIndex(s.market, pool, later);
    const buffered = BulkheadLogic.previewRemoveCollateral({ ...ctx, index: laterIndex }, s.view.position, req.amount);
    return {
      ...preview,
      maxRemovable: buffered.maxRemovable,
      ...this.#base(s.price, s.price, NO_PULL, NO_WALLET, [preview.revert], s.blockNumber),
      id: req.id,
      amount: req.amount,
    };
  }

  async quoteAddCollateral(req: { id: PositionId; amount: bigint }): Promise<AddCollateralQuote> {
    const c = this.ctx;
    c.validate(req, { id: "id", amount: "amount" });
    const blockNumber = await c.latestBlock();
    const view = (await this.uses.positions.getPositions([req.id], blockNumber))[0];
    if (!view) throw c.reason({ name: "PositionNotFound", args: { id: req.id } });
    const wallet = await this.ctx.wallet(c.engineAddress, blockNumber);
    const p = { ...view.position, collateral: view.position.collateral + req.amount };
    const price = view.price ?? view.position.entryPrice;
    const liquidationPrice = positionHealth(p, view.risk, price, view.index, c.unit).liquidationPrice;
    const reasons: RevertReason[] = [];
    if (req.amount === 0n) reasons.push({ name: "ZeroAmount", args: {} });
    if (p.collateral > ConstantsLib.MAX_COLLATERAL) reasons.push({ name: "AmountTooLarge", args: { amount: p.collateral, max: ConstantsLib.MAX_COLLATERAL } });
    return {
      ...this.#base(price, price, { allowance: req.amount, balance: req.amount }, wallet, reasons, blockNumber),
      id: req.id,
      amount: req.amount,
      newCollateral: p.collateral,
      liquidationPrice,
    };
  }
}
