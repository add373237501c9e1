// Helpers of the trailing-stop and top-up-guard tests (test/orders/trailing.ts, top-up.ts and
// test/e2e/orders-crash.ts): opening a position through a request, moving the push feed, the
// health factor a top-up decides on, and a snapshot of a position and its vault.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import { ETH_MARKET, WAD } from "./fixture.js";
import { Kind, created, executeAt } from "./requests.js";
import type { OrderSystem } from "./orders.js";

export const MAX_UINT96 = 2n ** 96n - 1n;

/** The block time of the latest block. */
export const now = async (networkHelpers: NetworkHelpers) => BigInt(await networkHelpers.time.latest());

/** Opens a position for `trader` through a request filled at a report of benchmark `price`; returns its id. */
export async function openThroughRouter(
  s: OrderSystem,
  networkHelpers: NetworkHelpers,
  trader: HardhatEthersSigner,
  o: { marketId?: bigint; isLong: boolean; amount: bigint; size: bigint; price: bigint },
): Promise<bigint> {
  const marketId = o.marketId ?? ETH_MARKET;
  const id = await s.engine.nextPositionId();
  const acceptable = o.isLong ? MAX_UINT96 : 0n;
  const r = await created(
    s,
    s.router.connect(trader).requestOpen(marketId, o.isLong, o.amount, o.size, acceptable, { value: await s.fee(Kind.Open) }),
  );
  await (await executeAt(s, networkHelpers, r, marketId, { price: o.price })).wait();
  return id;
}

/** Sets the ETH push feed to the WAD price `price` (8-decimal answer). */
export async function pushEth(s: OrderSystem, price: bigint) {
  await (await s.ethFeed.updateAnswer(price / 10n ** 10n)).wait();
}

/**
 * The health of position `id` at `price` as the next block (pinned to time `t`) sees it, and its
 * factor equity * WAD / maintenance truncated toward zero (Solidity's signed division), what
 * `executeTopUp` decides on and reports. The next transaction must be mined at `t`.
 */
export async function healthNextBlock(s: OrderSystem, networkHelpers: NetworkHelpers, id: bigint, price: bigint, t: bigint) {
  await networkHelpers.time.setNextBlockTimestamp(t);
  const h = await s.lens.healthAt(id, price, { blockTag: "pending" });
  return { equity: h.equity, maintenance: h.maintenance, factor: (h.equity * WAD) / h.maintenance, liquidatable: h.liquidatable };
}

/** A position's record and its vault's balance, to compare to the unit. */
export async function positionSnapshot(s: OrderSystem, id: bigint) {
  const p = await s.engine.position(id);
  const vault = await s.token.balanceOf(await s.engine.vaultOf(id));
  return { owner: await s.engine.ownerOf(id), isLong: p.isLong, collateral: p.collateral, size: p.size, entry: p.entryPrice, borrowIndex: p.borrowIndex, vault };
}
