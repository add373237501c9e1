/**
 * Client reads and transactions of the LP pool (ERC-4626): pool state and share price, an
 * account's LP position, deposit, withdraw and redeem.
 * @module
 */
import { ZeroAddress, getAddress, type Log, type TransactionReceipt } from "ethers";
import { toLedger } from "../decode.js";
import { ConstantsLib } from "../math/ConstantsLib.js";
import { MathLib } from "../math/MathLib.js";
import { PoolMath } from "../math/PoolMath.js";
import { ClientModule, txResult, type Executed, type TxOptions, type TxResult } from "./context.js";
import { lensRead } from "./lensRead.js";
import type { Markets } from "./markets.js";

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
  blockNumber: number;
}

/** An account's LP position. */
export interface LpPosition {
  shares: bigint;
  /** Value of the shares now (rounded down); null while a market feed is invalid (the pool cannot price shares). */
  assets: bigint | null;
  /** Most assets withdrawable now (limited by free liquidity; 0 while a market feed is invalid). */
  maxWithdraw: bigint;
}

/** LP pool reads and transactions. */
export class Pool extends ClientModule<{ markets: Markets }> {
  async getPool(): Promise<PoolState> {
    const { at, pool } = await this.#read(ZeroAddress);
    const ledger = toLedger(pool.ledger);
    const { lpAssets, reserved } = ledger;
    const sd = Number(pool.shareDecimals);
    // totalAssets prices the open positions: while a market feed is invalid the pool refuses to.
    const totalAssets = pool.totalAssetsError === "0x" ? BigInt(pool.totalAssets) : null;
    const totalSupply = BigInt(pool.totalSupply);
    return {
      totalAssets,
      totalSupply,
      shareDecimals: sd,
      sharePrice: totalAssets === null ? null : PoolMath.toAssetsDown(10n ** BigInt(sd), totalAssets, totalSupply),
      ...ledger,
      freeLiquidity: MathLib.zeroFloorSub(lpAssets, reserved),
      utilisation: reserved >= lpAssets ? (reserved === 0n ? 0n : WAD) : MathLib.mulDivDown(reserved, WAD, lpAssets),
      paused: Boolean(pool.paused),
      blockNumber: at.blockNumber,
    };
  }

  async getLpPosition(account: string): Promise<LpPosition> {
    const { lp } = await this.#read(getAddress(account));
    // convertToAssets needs totalAssets, which reverts with the oracle error while a feed is invalid.
    const assets = lp.assetsError === "0x" ? BigInt(lp.assets) : null;
    return { shares: BigInt(lp.shares), assets, maxWithdraw: BigInt(lp.maxWithdraw) };
  }

  /** The lens' pool and LP views at the latest block (one call). */
  async #read(account: string) {
    const c = this.ctx;
    const r = await lensRead(c, "readPool", [account]);
    const [, pool, lp] = c.lens.interface.decodeFunctionResult("readPool", r.data) as unknown as [
      unknown,
      { ledger: unknown; paused: boolean; totalSupply: bigint; shareDecimals: bigint; totalAssets: bigint; totalAssetsError: string },
      { shares: bigint; assets: bigint; assetsError: string; maxWithdraw: bigint },
    ];
    return { at: r, pool, lp };
  }

  async deposit(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const c = this.ctx;
    const signer = c.requireSigner("deposit");
    const receiver = req.receiver ?? (await signer.getAddress());
    const r = await c.execute<bigint>(c.pool, "deposit(uint256,address)", [req.assets, receiver], req, { spender: c.poolAddress, amount: req.assets });
    return { ...txResult(r), shares: this.#eventShares(r.receipt, "Deposit") ?? r.returned };
  }

  async withdraw(req: { assets: bigint; receiver?: string } & TxOptions): Promise<TxResult & { shares: bigint }> {
    const r = await this.#exit("withdraw", req.assets, req);
    return { ...txResult(r), shares: this.#eventShares(r.receipt, "Withdraw") ?? r.returned };
  }

  async redeem(req: { shares: bigint; receiver?: string } & TxOptions): Promise<TxResult & { assets: bigint }> {
    const r = await this.#exit("redeem", req.shares, req);
    return { ...txResult(r), assets: r.returned };
  }

  /** Sends `withdraw(amount)` or `redeem(amount)` of the signer's shares, paid to `receiver` (default: the signer). */
  async #exit(method: "withdraw" | "redeem", amount: bigint, req: { receiver?: string } & TxOptions): Promise<Executed<bigint>> {
    const c = this.ctx;
    const me = await c.requireSigner(method).getAddress();
    return c.execute<bigint>(c.pool, method, [amount, req.receiver ?? me, me], req);
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
