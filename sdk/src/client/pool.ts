/**
 * Client reads and transactions of the LP pool (ERC-4626): pool state and share price, an
 * account's LP position, deposit, withdraw and redeem.
 * @module
 */
import { ZeroAddress, getAddress, type Log, type TransactionReceipt } from "ethers";
import { toLedger } from "../decode.js";
import { BulkheadError } from "../errors.js";
import { ConstantsLib } from "../math/ConstantsLib.js";
import { MathLib } from "../math/MathLib.js";
import { PoolMath } from "../math/PoolMath.js";
import { ClientModule, txResult, type Executed, type PreparedTransactions, type TxOptions, type TxResult } from "./context.js";
import { lensRead, type ReadAt } from "./lensRead.js";
import type { MarketInfo, Markets } from "./markets.js";

const { WAD } = ConstantsLib;

/** Pool (LP) state. */
export interface PoolState {
  /** ERC-4626 totalAssets; null while a market feed is invalid (the pool refuses to price shares). */
  totalAssets: bigint | null;
  totalSupply: bigint;
  shareDecimals: number;
  /** Token units per whole share (10**shareDecimals shares), rounded down; null with totalAssets. */
  sharePrice: bigint | null;
  lpAssets: bigint;
  reserved: bigint;
  /** lpAssets - reserved, floored at 0: what LPs can withdraw and new positions can reserve. */
  freeLiquidity: bigint;
  /** reserved / lpAssets (WAD), capped at 1e18. */
  utilisation: bigint;
  insuranceFund: bigint;
  protocolFees: bigint;
  paused: boolean;
  /** The trade request router (the engine's settler), null where trades are instant; the pool takes ERC-7540 requests exactly when it is set. */
  router: string | null;
  /** The id the next opened position gets; its vault is `vaultOf(nextPositionId)` (if no other position opens first). */
  nextPositionId: bigint;
  blockNumber: number;
}

/** An account's LP position. */
export interface LpPosition {
  shares: bigint;
  /** Value of the shares now (rounded down); null while a market feed is invalid (the pool cannot price shares). */
  assets: bigint | null;
  /** Most assets withdrawable now (limited by free liquidity; 0 while a market feed is invalid). */
  maxWithdraw: bigint;
  /** The account's balance of the pool's asset (the collateral token). */
  assetBalance: bigint;
}

/** What an LP deposit would do now (see {@link Pool.quoteDeposit}). */
export interface DepositQuote {
  assets: bigint;
  /** Shares minted (`previewDeposit`); null when the pool cannot price shares now (see `issues`). */
  shares: bigint | null;
  /** Most the receiver can deposit now (null for a read-only client without `receiver`). */
  maxDeposit: bigint | null;
  /** Tokens the pool pulls. */
  requiredAllowance: bigint;
  /** The wallet's allowance to the pool (null for a read-only client). */
  allowance: bigint | null;
  needsApproval: boolean;
  /** Tokens the wallet must hold. */
  requiredBalance: bigint;
  /** The wallet's token balance (null for a read-only client). */
  balance: bigint | null;
  /** Typed errors the deposit would fail with now. */
  issues: BulkheadError[];
  ok: boolean;
  blockNumber: number;
}

/** The lens' `readPool` result as ethers decodes it. */
interface LensPoolRead {
  at: ReadAt;
  pool: { ledger: unknown; paused: boolean; totalSupply: bigint; shareDecimals: bigint; totalAssets: bigint; totalAssetsError: string; settler: string; nextPositionId: bigint };
  lp: { shares: bigint; assets: bigint; assetsError: string; maxWithdraw: bigint; assetBalance: bigint };
}

/** LP pool reads and transactions. */
export class Pool extends ClientModule<{ markets: Markets }> {
  async getPool(): Promise<PoolState> {
    return this.#decode(await this.#read(ZeroAddress)).pool;
  }

  async getLpPosition(account: string): Promise<LpPosition> {
    return this.#decode(await this.#read(getAddress(account))).lp;
  }

  /** The pool and `account`'s LP position from one read (what an account panel shows). */
  async getPoolWithLp(account: string): Promise<{ pool: PoolState; lp: LpPosition }> {
    return this.#decode(await this.#read(getAddress(account)));
  }

  /** The markets, the pool and `account`'s LP position from one read at one block (a trading page's load before its positions). */
  async getOverview(account: string): Promise<{ markets: MarketInfo[]; pool: PoolState; lp: LpPosition }> {
    const c = this.ctx;
    const at = await lensRead(c, "readOverview", [getAddress(account)]);
    const [, rows, pool, lp] = c.lens.interface.decodeFunctionResult("readOverview", at.data) as unknown as [unknown, unknown[], LensPoolRead["pool"], LensPoolRead["lp"]];
    return { markets: this.uses.markets.fromLens(rows, at), ...this.#decode({ at, pool, lp }) };
  }

  #decode({ at, pool, lp }: LensPoolRead): { pool: PoolState; lp: LpPosition } {
    const ledger = toLedger(pool.ledger);
    const { lpAssets, reserved } = ledger;
    const sd = Number(pool.shareDecimals);
    // totalAssets prices the open positions: while a market feed is invalid the pool refuses to.
    const totalAssets = pool.totalAssetsError === "0x" ? BigInt(pool.totalAssets) : null;
    const totalSupply = BigInt(pool.totalSupply);
    const router = pool.settler === ZeroAddress ? null : getAddress(pool.settler);
    this.ctx.sawSettler(pool.settler);
    return {
      pool: {
        totalAssets,
        totalSupply,
        shareDecimals: sd,
        sharePrice: totalAssets === null ? null : PoolMath.toAssetsDown(10n ** BigInt(sd), totalAssets, totalSupply),
        ...ledger,
        freeLiquidity: MathLib.zeroFloorSub(lpAssets, reserved),
        utilisation: reserved >= lpAssets ? (reserved === 0n ? 0n : WAD) : MathLib.mulDivDown(reserved, WAD, lpAssets),
        paused: Boolean(pool.paused),
        router,
        nextPositionId: BigInt(pool.nextPositionId),
        blockNumber: at.blockNumber,
      },
      lp: {
        shares: BigInt(lp.shares),
        // convertToAssets needs totalAssets, which reverts with the oracle error while a feed is invalid.
        assets: lp.assetsError === "0x" ? BigInt(lp.assets) : null,
        maxWithdraw: BigInt(lp.maxWithdraw),
        assetBalance: BigInt(lp.assetBalance),
      },
    };
  }

  /** The lens' pool and LP views at the latest block (one call). */
  async #read(account: string): Promise<LensPoolRead> {
    const c = this.ctx;
    const r = await lensRead(c, "readPool", [account]);
    const [, pool, lp] = c.lens.interface.decodeFunctionResult("readPool", r.data) as unknown as [unknown, LensPoolRead["pool"], LensPoolRead["lp"]];
    return { at: r, pool, lp };
  }

  /**
   * What `deposit(assets)` would give now: the shares (`previewDeposit`), the allowance and
   * balance it needs against the wallet's, and the typed errors it would revert with (an invalid
   * feed, a deposit above `maxDeposit`, a balance short of `assets`).
   */
  async quoteDeposit(req: { assets: bigint; receiver?: string }): Promise<DepositQuote> {
    const c = this.ctx;
    c.validate(req, { assets: "amount", receiver: "address?" });
    const blockTag = await c.latestBlock();
    const issues: BulkheadError[] = [];
    const typed = <T>(p: Promise<T>): Promise<T | null> =>
      c.read(() => p).catch((e: unknown) => {
        if (!(e instanceof BulkheadError)) throw e;
        issues.push(e);
        return null;
      });
    const owner = c.signer ? getAddress(await c.signer.getAddress()) : null;
    const receiver = req.receiver ?? owner;
    const [shares, max, wallet] = await Promise.all([
      typed(c.pool.getFunction("previewDeposit")(req.assets, { blockTag }) as Promise<bigint>),
      receiver === null ? null : (c.read(() => c.pool.getFunction("maxDeposit")(receiver, { blockTag })) as Promise<bigint>),
      c.wallet(c.poolAddress, blockTag),
    ]);
    const { allowance, balance } = wallet;
    if (max !== null && receiver !== null && req.assets > max) {
      issues.push(c.reason({ name: "ERC4626ExceededMaxDeposit", args: { receiver, assets: req.assets, max } }));
    }
    const short = c.shortfall(wallet, req.assets);
    if (short) issues.push(c.reason(short));
    return {
      assets: req.assets,
      shares,
      maxDeposit: max,
      requiredAllowance: req.assets,
      allowance,
      needsApproval: allowance !== null && allowance < req.assets,
      requiredBalance: req.assets,
      balance,
      issues,
      ok: issues.length === 0,
      blockNumber: blockTag,
    };
  }

  async #planDeposit(req: { assets: bigint; receiver?: string } & TxOptions) {
    const c = this.ctx;
    const signer = c.requireSigner("deposit");
    c.validate(req, { assets: "amount", receiver: "address?" });
    const receiver = req.receiver ?? (await signer.getAddress());
    return { method: "deposit(uint256,address)", args: [req.assets, receiver], pull: { spender: c.poolAddress, amount: req.assets } };
  }

  async prepareDeposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    const p = await this.#planDeposit(req);
    const { transactions, simulated } = await this.ctx.prepare(this.ctx.pool, p.method, p.args, req, p.pull);
    return { transactions, simulated };
  }

  async deposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const c = this.ctx;
    const p = await this.#planDeposit(req);
    const r = await c.execute<bigint>(c.pool, p.method, p.args, req, p.pull);
    return { ...txResult(r), shares: this.#eventShares(r.receipt, "Deposit") ?? r.returned };
  }

  async prepareWithdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    return this.#exit("withdraw", req.assets, req, "prepare");
  }

  async withdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const r = await this.#exit("withdraw", req.assets, req, "execute");
    return { ...txResult(r), shares: this.#eventShares(r.receipt, "Withdraw") ?? r.returned };
  }

  async prepareRedeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<PreparedTransactions> {
    return this.#exit("redeem", req.shares, req, "prepare");
  }

  async redeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<TxResult & { assets: bigint }> {
    const r = await this.#exit("redeem", req.shares, req, "execute");
    return { ...txResult(r), assets: r.returned };
  }

  /** Prepares or sends `withdraw(amount)` or `redeem(amount)` of the signer's shares, paid to `receiver` (default: the signer). */
  async #exit(method: "withdraw" | "redeem", amount: bigint, req: { receiver?: string } & TxOptions, mode: "prepare"): Promise<PreparedTransactions>;
  async #exit(method: "withdraw" | "redeem", amount: bigint, req: { receiver?: string } & TxOptions, mode: "execute"): Promise<Executed<bigint>>;
  async #exit(method: "withdraw" | "redeem", amount: bigint, req: { receiver?: string } & TxOptions, mode: "prepare" | "execute"): Promise<PreparedTransactions | Executed<bigint>> {
    const c = this.ctx;
    const me = await c.requireSigner(method).getAddress();
    c.validate(req, method === "withdraw" ? { assets: "amount", receiver: "address?" } : { shares: "shares", receiver: "address?" });
    const args = [amount, req.receiver ?? me, me];
    if (mode === "execute") return c.execute<bigint>(c.pool, method, args, req);
    const { transactions, simulated } = await c.prepare(c.pool, method, args, req);
    return { transactions, simulated };
  }

  /** The shares of the pool's `Deposit` or `Withdraw` event in a receipt. */
  #eventShares(receipt: TransactionReceipt, name: "Deposit" | "Withdraw"): bigint | undefined {
    const c = this.ctx;
    for (const log of receipt.logs as readonly Log[]) {
      if (getAddress(log.address) !== c.poolAddress) continue;
      const parsed = c.pool.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === name) return parsed.args.getValue("shares") as bigint;
    }
    return undefined;
  }
}
