// A Bulkhead system with trigger orders: the request system (requests.ts) plus the
// BulkheadOrderBook set on the router. Traders approve the order book as well (limit orders escrow
// their amount there; top-up guards pull from the owner's wallet). Executions are by `keeper`.
import { expect } from "chai";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import type { AddressLike, ContractTransactionResponse, Signer } from "ethers";
import { ETH_MARKET, USDC, WAD, defaultParams, wadFromFeed } from "./fixture.js";
import { wMulUp } from "./reference.js";
import { Kind, created, deployRequestSystem, executeAt } from "./requests.js";
import { HALF_SPREAD_BPS, type Quote } from "./streams.js";
import { expectPoolConserved } from "./unit.js";

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

// ---------------------------------------------------------------- helpers of the order tests

/** A price's bid and ask in a test report (HALF_SPREAD_BPS around it). */
export const bidOf = (price: bigint) => price - (price * HALF_SPREAD_BPS) / 10_000n;
export const askOf = (price: bigint) => price + (price * HALF_SPREAD_BPS) / 10_000n;

/** The router's open fee of `size` filled at `price` (what comes out of an open's amount). */
export const openFeeOf = (s: OrderSystem, size: bigint, price: bigint) => wMulUp(s.u.notional(size, price), defaultParams.openFeeRate);

/** Opens a position through a router request filled at `q` (default: the push price); returns its id. */
export async function openPosition(
  s: OrderSystem,
  networkHelpers: NetworkHelpers,
  over: { account?: Signer; marketId?: bigint; isLong?: boolean; amount?: bigint; size?: bigint; q?: Quote } = {},
) {
  const isLong = over.isLong ?? true;
  const marketId = over.marketId ?? ETH_MARKET;
  const account = over.account ?? s.signers.alice;
  const r = await created(
    s,
    s.router.connect(account).requestOpen(marketId, isLong, over.amount ?? 1_000n * USDC, over.size ?? WAD, isLong ? 2n ** 96n - 1n : 0n, { value: await s.fee(Kind.Open) }),
  );
  const price = over.q ?? { price: wadFromFeed(await (marketId === ETH_MARKET ? s.ethFeed : s.btcFeed).latestAnswer()) };
  const receipt = (await (await executeAt(s, networkHelpers, r, marketId, price)).wait())!;
  const engine = (await s.engine.getAddress()).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== engine) continue;
    const parsed = s.engine.interface.parseLog(log);
    if (parsed?.name === "PositionOpened") return parsed.args.id as bigint;
  }
  throw new Error("no PositionOpened event");
}

/** Places `p` as `from` with its kind's test fee (or `value`); returns the order id and placement time. */
export async function placeOrder(s: OrderSystem, from: Signer, p: Partial<OrderParams> & { kind: bigint }, value?: bigint) {
  return placed(s, s.book.connect(from).place(params(p), { value: value ?? (await s.orderFee(p.kind)) }));
}

/** Moves a market's push feed to `price` (WAD), so reports near it pass the deviation check. */
export async function setPushPrice(s: OrderSystem, marketId: bigint, price: bigint) {
  const feed = marketId === ETH_MARKET ? s.ethFeed : s.btcFeed;
  await (await feed.updateAnswer(price / 10n ** 10n)).wait();
}

/** The report of `marketId` at `q` observed one second after the latest block (what the next block can use). */
export async function nextReport(s: OrderSystem, networkHelpers: NetworkHelpers, marketId: bigint, q: Quote, dt = 1n) {
  const t = BigInt(await networkHelpers.time.latest()) + dt;
  return { t, report: s.signAt(marketId, t, q) };
}

/** The OrderExecuted event of a transaction, parsed. */
export async function executedOf(s: OrderSystem, tx: ContractTransactionResponse) {
  const receipt = (await tx.wait())!;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== (await s.book.getAddress()).toLowerCase()) continue;
    const parsed = s.book.interface.parseLog(log);
    if (parsed?.name === "OrderExecuted") {
      return { toExecutor: parsed.args.toExecutor as bigint, refund: parsed.args.refund as bigint, price: parsed.args.price as bigint, receipt };
    }
  }
  throw new Error("no OrderExecuted event");
}

/**
 * The book's escrow (DESIGN.md invariant 11): its token balance is exactly the live limit orders'
 * amounts, its native balance exactly the live orders' fees plus what it owes (to the signers and
 * `accounts`); and the pool is conserved.
 */
export async function expectBookConserved(ethers: HardhatEthers, s: OrderSystem, accounts: AddressLike[] = []) {
  let amounts = 0n;
  let fees = 0n;
  const next = await s.book.nextOrderId();
  for (let id = 1n; id < next; id++) {
    const o = await s.book.order(id);
    if (o.kind === OrderKind.None) continue;
    amounts += o.amount;
    fees += o.executionFee;
  }
  let owed = 0n;
  for (const a of [...Object.values(s.signers), ...accounts]) owed += await s.book.nativeOwed(a);
  expect(await s.token.balanceOf(s.book)).to.equal(amounts);
  expect(await ethers.provider.getBalance(s.book)).to.equal(fees + owed);
  await expectPoolConserved(s);
}
