// Shared helpers of the unit tests (test/unit): a system with a protocol fee share, pinned block
// times, balance snapshots, the pool conservation check and the expected borrow index.
import { expect } from "chai";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import type { AddressLike } from "ethers";
import { deploySystem, type TokenKind } from "./fixture.js";
import { Units, borrowRate, indexAt, type Pos, type Risk } from "./reference.js";

/** Protocol share of trading fees the unit fixture sets (10%), so every fee split is exercised. */
export const PROTOCOL_SHARE = 10n ** 17n;

export type System = Awaited<ReturnType<typeof deploySystem>>;
export type Engine = System["engine"];
export type Token = System["token"];

/** deploySystem plus a 10% protocol fee share and the reference unit converter. */
export async function deployUnitSystem(
  ethers: HardhatEthers,
  opts: { lpDeposit?: bigint; sequencer?: boolean; tokenDecimals?: number; token?: TokenKind } = {},
) {
  const s = await deploySystem(ethers, opts);
  await (await s.engine.setProtocolFeeShare(PROTOCOL_SHARE)).wait();
  const decimals = Number(await s.token.decimals());
  return { ...s, u: new Units(decimals), decimals };
}

/** Pins the next block's timestamp to latest + dt and returns it. */
export async function nextBlockAt(networkHelpers: NetworkHelpers, dt: bigint = 1n): Promise<bigint> {
  const t = BigInt(await networkHelpers.time.latest()) + dt;
  await networkHelpers.time.setNextBlockTimestamp(t);
  return t;
}

/** Lets `dt` seconds pass, then re-posts each feed's latest answer so prices are fresh again. */
export async function elapse(
  networkHelpers: NetworkHelpers,
  dt: bigint,
  feeds: { latestAnswer(): Promise<bigint>; updateAnswer(a: bigint): Promise<{ wait(): Promise<unknown> }> }[],
) {
  await networkHelpers.time.increase(dt);
  for (const f of feeds) await (await f.updateAnswer(await f.latestAnswer())).wait();
}

export async function balancesOf(token: Token, accounts: AddressLike[]): Promise<bigint[]> {
  return Promise.all(accounts.map((a) => token.balanceOf(a)));
}

/** Runs `action` and checks each account's token balance changed by exactly `deltas`. */
export async function expectBalanceDeltas(
  token: Token,
  accounts: AddressLike[],
  action: () => Promise<unknown>,
  deltas: bigint[],
) {
  const before = await balancesOf(token, accounts);
  await action();
  const after = await balancesOf(token, accounts);
  expect(after.map((b, i) => b - before[i])).to.deep.equal(deltas);
}

/**
 * DESIGN.md invariants 2 and 11: the pool holds exactly LP assets + insurance fund + protocol fees
 * + the assets of pending LP deposit requests + executed, unclaimed redemptions (both zero while
 * the pool is synchronous), and its own share balance is exactly the shares of pending redemption
 * requests + executed, unclaimed deposits.
 */
export async function expectPoolConserved(s: { token: Token; pool: System["pool"]; engine: Engine }) {
  const [l, e] = await Promise.all([s.engine.ledger(), s.pool.escrow()]);
  expect(await s.token.balanceOf(s.pool)).to.equal(
    l.lpAssets + l.insuranceFund + l.protocolFees + e.pendingDepositAssets + e.claimableRedeemAssets,
  );
  expect(await s.pool.balanceOf(s.pool)).to.equal(e.pendingRedeemShares + e.claimableDepositShares);
}

/**
 * Market borrow index at timestamp `ts` (the next block's, at the latest): the stored index grown
 * with the pool's utilisation path since its last accrual (reference `indexAt`).
 */
export async function expectedIndexAt(engine: Engine, marketId: bigint, ts: bigint): Promise<bigint> {
  const [m, l, a] = await Promise.all([engine.market(marketId), engine.ledger(), engine.utilisationAccumulator()]);
  return indexAt(m, l, a, ts);
}

/** A market's rate at the ledger's utilisation now: base + slope·u + kink slope·(u − target)⁺. */
export async function expectedRateNow(engine: Engine, marketId: bigint): Promise<bigint> {
  const m = await engine.market(marketId);
  const l = await engine.ledger();
  return borrowRate(m.baseBorrowRate, m.borrowRateSlope, l.reserved, l.lpAssets);
}

/** The position record as the reference `Pos`. */
export async function posOf(engine: Engine, id: bigint): Promise<Pos & { marketId: bigint; riskVersion: bigint }> {
  const p = await engine.position(id);
  return {
    isLong: p.isLong,
    size: p.size,
    entry: p.entryPrice,
    collateral: p.collateral,
    borrowIndex: p.borrowIndex,
    marketId: p.marketId,
    riskVersion: p.riskVersion,
  };
}

export async function riskOf(engine: Engine, marketId: bigint, version: bigint): Promise<Risk> {
  const r = await engine.riskParams(marketId, version);
  return {
    mmr: r.mmr,
    liquidationFeeRate: r.liquidationFeeRate,
    minLiquidationFee: r.minLiquidationFee,
    maxProfitFactorBps: r.maxProfitFactorBps,
  };
}

/** Position id of the last PositionOpened event of a transaction. */
export async function openedId(engine: Engine, tx: { wait(): Promise<unknown> }): Promise<bigint> {
  const receipt = (await tx.wait()) as { logs: { topics: string[]; data: string }[] };
  for (const log of [...receipt.logs].reverse()) {
    const parsed = engine.interface.parseLog(log);
    if (parsed?.name === "PositionOpened") return parsed.args.id as bigint;
  }
  throw new Error("no PositionOpened event");
}
