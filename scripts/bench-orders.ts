// Gas of trigger orders (`npm run bench:gas`, after the request benchmark): placing each kind on the
// BulkheadOrderBook and executing it with reports verified by Chainlink's real Verifier and
// VerifierProxy (signed by the local oracle set), through the router's fill. Warm state: the pool
// is funded, both sides of the market hold open interest, and every action is measured on its
// second and third occurrence after a warm-up. Writes bench/orders.md and bench/orders.json.
// Goals (issue 13) are printed, not asserted: it is a benchmark.
import { network } from "hardhat";
import { GAS_LIMIT, fmt, gasOf, goalRows, goalTable, writeBench } from "./lib/benchTable.js";
import { ETH_MARKET, ETH_PRICE, USDC, WAD } from "../test/helpers/fixture.js";
import { Kind, created } from "../test/helpers/requests.js";
import { OrderKind, deployOrderSystem, params, placed, type OrderSystem } from "../test/helpers/orders.js";

const { ethers, networkHelpers } = await network.create();
const MAX_UINT96 = 2n ** 96n - 1n;
const PX = 3_000n * WAD;

const GOALS: Record<string, number> = {
  "place stop-loss": 90_000,
  "execute stop-loss (close, report verified)": 260_000,
  "execute take-profit (close, cancels its bracket stop)": 260_000,
  "execute trailing stop (two reports verified)": 320_000,
  "execute top-up (report verified)": 150_000,
};

/** Percent of the 3,000 reference as a WAD price and as the push feed's 8-decimal answer. */
const at = (pct: bigint) => ({ wad: (PX * pct) / 1000n, answer: (ETH_PRICE * pct) / 1000n });

async function cycle(s: OrderSystem, measure: Map<string, number[]>) {
  const { alice, keeper } = s.signers;
  const put = (k: string, g: number) => measure.set(k, [...(measure.get(k) ?? []), g]);
  const now = async () => BigInt(await networkHelpers.time.latest());
  const feedTo = async (pct: bigint) => (await s.ethFeed.updateAnswer(at(pct).answer)).wait();
  const openLong = async (amount: bigint) => {
    const r = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, true, amount, WAD, MAX_UINT96, { value: await s.fee(Kind.Open) }));
    await networkHelpers.time.increaseTo(r.settlesAt);
    await (await s.router.connect(keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: PX }))).wait();
    return (await s.engine.nextPositionId()) - 1n;
  };
  const fee = async (kind: bigint) => ({ value: await s.orderFee(kind), gasLimit: GAS_LIMIT });

  // A stop-loss and a take-profit on one position; the stop fills, the take-profit is then pruned.
  let id = await openLong(1_000n * USDC);
  const stop = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.StopLoss, positionId: id, trigger: at(970n).wad }), await fee(OrderKind.StopLoss)));
  put("place stop-loss", Number(stop.receipt.gasUsed));
  const tp = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.TakeProfit, positionId: id, trigger: at(1030n).wad }), await fee(OrderKind.TakeProfit)));
  put("place take-profit", Number(tp.receipt.gasUsed));
  await feedTo(970n);
  put("execute stop-loss (close, report verified)", await gasOf(s.book.connect(keeper).execute(stop.id, s.signAt(ETH_MARKET, await now(), { price: at(970n).wad }), { gasLimit: GAS_LIMIT })));
  put("prune (position closed)", await gasOf(s.book.connect(keeper).prune(tp.id, { gasLimit: GAS_LIMIT })));
  await feedTo(1000n);

  // A bracket; the take-profit fills and cancels the stop.
  id = await openLong(1_000n * USDC);
  const sl = params({ kind: OrderKind.StopLoss, positionId: id, trigger: at(970n).wad });
  const bracket = await placed(s, s.book.connect(alice).placeBracket(sl, { ...sl, kind: OrderKind.TakeProfit, trigger: at(1030n).wad }, { value: (await s.orderFee(OrderKind.StopLoss)) + (await s.orderFee(OrderKind.TakeProfit)), gasLimit: GAS_LIMIT }));
  put("place bracket (stop-loss + take-profit)", Number(bracket.receipt.gasUsed));
  await feedTo(1030n);
  put("execute take-profit (close, cancels its bracket stop)", await gasOf(s.book.connect(keeper).execute(bracket.ids[1]!, s.signAt(ETH_MARKET, await now(), { price: at(1030n).wad }), { gasLimit: GAS_LIMIT })));
  await feedTo(1000n);

  // A 2 % trailing stop: a peak at +1 %, then a report 2.5 % below it.
  id = await openLong(1_000n * USDC);
  const trail = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.TrailingStop, positionId: id, trigger: 200n }), await fee(OrderKind.TrailingStop)));
  put("place trailing stop", Number(trail.receipt.gasUsed));
  await networkHelpers.time.increase(1);
  const peak = s.signAt(ETH_MARKET, await now(), { price: at(1010n).wad });
  await feedTo(985n);
  put("execute trailing stop (two reports verified)", await gasOf(s.book.connect(keeper).executeTrailingStop(trail.id, peak, s.signAt(ETH_MARKET, await now(), { price: at(985n).wad }), { gasLimit: GAS_LIMIT })));
  await feedTo(1000n);

  // A top-up guard on a 30x long (health factor about 3.3 at 3,000) with threshold 5.
  id = await openLong(100n * USDC);
  const guard = await placed(s, s.book.connect(alice).setTopUpGuard(id, 5n * WAD, 50n * USDC, 500n * USDC, 1n * USDC, 0n, { gasLimit: GAS_LIMIT }));
  put("set top-up guard", Number(guard.receipt.gasUsed));
  await networkHelpers.time.increase(1);
  put("execute top-up (report verified)", await gasOf(s.book.connect(keeper).executeTopUp(guard.id, s.signAt(ETH_MARKET, await now(), { price: PX }), { gasLimit: GAS_LIMIT })));
  put("cancel (guard)", await gasOf(s.book.connect(alice).cancel(guard.id, { gasLimit: GAS_LIMIT })));
  const close = await created(s, s.router.connect(alice).requestClose(id, 0n, { value: await s.fee(Kind.Close) }));
  await networkHelpers.time.increaseTo(close.settlesAt);
  await (await s.router.connect(keeper).execute(close.id, s.signAt(ETH_MARKET, close.settlesAt, { price: PX }))).wait();

  // A limit long at -1 %: filled by a report whose ask is at the limit.
  const limit = at(990n).wad;
  const lo = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.LimitOpen, marketId: ETH_MARKET, isLong: true, amount: 1_000n * USDC, size: WAD, trigger: limit }), await fee(OrderKind.LimitOpen)));
  put("place limit open", Number(lo.receipt.gasUsed));
  await feedTo(990n);
  const mid = (limit * 10_000n) / 10_005n;
  put("execute limit open (report verified)", await gasOf(s.book.connect(keeper).execute(lo.id, s.signAt(ETH_MARKET, await now(), { price: mid, ask: limit }), { gasLimit: GAS_LIMIT })));
  await feedTo(1000n);
  // Clean up every position this cycle left open.
  id = (await s.engine.nextPositionId()) - 1n;
  const c = await created(s, s.router.connect(alice).requestClose(id, 0n, { value: await s.fee(Kind.Close) }));
  await networkHelpers.time.increaseTo(c.settlesAt);
  await (await s.router.connect(keeper).execute(c.id, s.signAt(ETH_MARKET, c.settlesAt, { price: PX }))).wait();
  const cancelMe = await placed(s, s.book.connect(alice).place(params({ kind: OrderKind.LimitOpen, marketId: ETH_MARKET, isLong: true, amount: 1_000n * USDC, size: WAD, trigger: limit }), await fee(OrderKind.LimitOpen)));
  put("cancel (limit open, escrow returned)", await gasOf(s.book.connect(alice).cancel(cancelMe.id, { gasLimit: GAS_LIMIT })));
}

const s = await deployOrderSystem(ethers);
for (const isLong of [true, false]) {
  const r = await created(s, s.router.connect(s.signers.bob).requestOpen(ETH_MARKET, isLong, 5_000n * USDC, 2n * WAD, isLong ? MAX_UINT96 : 0n, { value: await s.fee(Kind.Open) }));
  await networkHelpers.time.increaseTo(r.settlesAt);
  await (await s.router.connect(s.signers.keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: PX }))).wait();
}
await cycle(s, new Map());
const measured = new Map<string, number[]>();
await cycle(s, measured);
await cycle(s, measured);

const rows = goalRows(measured, GOALS);
const bytes = ((await ethers.provider.getCode(s.book)).length - 2) / 2;
const md = [
  "# Gas of trigger orders",
  "",
  "`npm run bench:gas` (in-process Hardhat network). Worst of two measured occurrences after one warm-up; a warm market ",
  "(both sides hold open interest). Executions verify their reports through Chainlink's Verifier and VerifierProxy (no fee ",
  "manager: local chains), fill through the router and the engine, and include the executor's pay and the owner's refund.",
  "",
  ...goalTable(rows),
  "",
  `BulkheadOrderBook runtime bytes: ${fmt(bytes)}.`,
  "",
];
await writeBench("orders", md, { rows, bytes, goals: GOALS }, rows);
