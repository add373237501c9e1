// A Bulkhead system with trigger orders: the request system (requests.ts) plus the
// BulkheadOrderBook set on the router. Traders approve the order book as well (limit orders escrow
// their amount there; top-up guards pull from the owner's wallet). Executions are by `keeper`.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse } from "ethers";
import { deployRequestSystem } from "./requests.js";

export const OrderKind = { None: 0n, LimitOpen: 1n, LimitIncrease: 2n, StopLoss: 3n, TakeProfit: 4n, TrailingStop: 5n } as const;
export const OrderTarget = { Position: 0n, OpenRequest: 1n, LimitOpenOrder: 2n } as const;
export const CancelReason = { Owner: 0n, Sibling: 1n, Dead: 2n } as const;
/** Execution fee every test order sends: the kind's gas limit at 100 gwei. */
export const ORDER_FEE_GAS_PRICE = 100n * 10n ** 9n;

export interface OrderParams {
  kind: bigint;
  target: bigint;
  positionId: bigint;
  marketId: bigint;
  isLong: boolean;
  amount: bigint;
  size: bigint;
  trigger: bigint;
  acceptablePrice: bigint;
  validUntil: bigint;
}

/** An order's parameters: every field zero/false unless given. */
export const params = (p: Partial<OrderParams> & { kind: bigint }): OrderParams => ({
  target: OrderTarget.Position,
  positionId: 0n,
  marketId: 0n,
  isLong: false,
  amount: 0n,
  size: 0n,
  trigger: 0n,
  acceptablePrice: 0n,
  validUntil: 0n,
  ...p,
});

export async function deployOrderSystem(ethers: HardhatEthers, opts: Parameters<typeof deployRequestSystem>[1] = {}) {
  const s = await deployRequestSystem(ethers, opts);
  const book = await ethers.deployContract("BulkheadOrderBook", [s.router]);
  await (await s.router.setOrderBook(book)).wait();
  const { alice, bob, carol, keeper } = s.signers;
  for (const t of [alice, bob, carol, keeper]) await (await s.token.connect(t).approve(book, ethers.MaxUint256)).wait();
  const orderFee = async (kind: bigint) => (await book.executionGas(kind)) * ORDER_FEE_GAS_PRICE;
  return { ...s, book, orderFee };
}

export type OrderSystem = Awaited<ReturnType<typeof deployOrderSystem>>;

/** The order id and placement time of a placement transaction (from its OrderPlaced event). */
export async function placed(s: OrderSystem, tx: Promise<ContractTransactionResponse>) {
  const receipt = (await (await tx).wait())!;
  const ids: bigint[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== (await s.book.getAddress()).toLowerCase()) continue;
    const parsed = s.book.interface.parseLog(log);
    if (parsed?.name === "OrderPlaced" || parsed?.name === "TopUpGuardSet") ids.push(parsed.args.orderId as bigint);
  }
  if (ids.length === 0) throw new Error("no OrderPlaced event");
  const block = await receipt.getBlock();
  return { id: ids[0], ids, placedAt: BigInt(block.timestamp), receipt };
}
