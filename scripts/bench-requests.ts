// Gas of two-step trades (`npm run bench:gas`, after the instant-action benchmark): each request
// kind and its execution through BulkheadRouter, with the report verified by Chainlink's real
// Verifier and VerifierProxy (signed by the local oracle set, f + 1 = 2 signatures). Warm state:
// the pool is funded, both sides of the market traded, and every action is measured on its second
// occurrence. Writes bench/requests.md and bench/requests.json. Goals (issue 12) are printed,
// not asserted: it is a benchmark.
import { network } from "hardhat";
import { GAS_LIMIT, fmt, gasOf, goalRows, goalTable, writeBench } from "./lib/benchTable.js";
import { ETH_MARKET, USDC, WAD } from "../test/helpers/fixture.js";
import { FEE_GAS_PRICE, Kind, created, deployRequestSystem, type RequestSystem } from "../test/helpers/requests.js";

const { ethers, networkHelpers } = await network.create();
const MAX_UINT96 = 2n ** 96n - 1n;
const PX = 3_000n * WAD;

const GOALS: Record<string, number> = {
  "requestOpen": 150_000,
  "execute open (report verified)": 330_000,
  "requestClose + execute close": 300_000,
  "cancel (after expiry)": 70_000,
  "LP requestDeposit + executeDeposit": 350_000,
};


async function cycle(s: RequestSystem, measure: Map<string, number[]>) {
  const { alice, keeper } = s.signers;
  const put = (k: string, g: number) => measure.set(k, [...(measure.get(k) ?? []), g]);
  const fee = await s.fee(Kind.Open);

  const openTx = s.router.connect(alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: fee, gasLimit: GAS_LIMIT });
  const open = await created(s, openTx);
  put("requestOpen", Number(open.receipt.gasUsed));
  await networkHelpers.time.increaseTo(open.settlesAt);
  const execOpen = await gasOf(s.router.connect(keeper).execute(open.id, s.signAt(ETH_MARKET, open.settlesAt, { price: PX }), { gasLimit: GAS_LIMIT }));
  put("execute open (report verified)", execOpen);
  const id = (await s.engine.nextPositionId()) - 1n;

  const inc = await created(s, s.router.connect(alice).requestIncrease(id, 500n * USDC, WAD / 2n, MAX_UINT96, { value: await s.fee(Kind.Increase), gasLimit: GAS_LIMIT }));
  put("requestIncrease", Number(inc.receipt.gasUsed));
  await networkHelpers.time.increaseTo(inc.settlesAt);
  put("execute increase", await gasOf(s.router.connect(keeper).execute(inc.id, s.signAt(ETH_MARKET, inc.settlesAt, { price: PX }), { gasLimit: GAS_LIMIT })));

  const dec = await created(s, s.router.connect(alice).requestDecrease(id, WAD / 2n, 0n, { value: await s.fee(Kind.Decrease), gasLimit: GAS_LIMIT }));
  put("requestDecrease", Number(dec.receipt.gasUsed));
  await networkHelpers.time.increaseTo(dec.settlesAt);
  put("execute decrease", await gasOf(s.router.connect(keeper).execute(dec.id, s.signAt(ETH_MARKET, dec.settlesAt, { price: PX }), { gasLimit: GAS_LIMIT })));

  const close = await created(s, s.router.connect(alice).requestClose(id, 0n, { value: await s.fee(Kind.Close), gasLimit: GAS_LIMIT }));
  await networkHelpers.time.increaseTo(close.settlesAt);
  const execClose = await gasOf(s.router.connect(keeper).execute(close.id, s.signAt(ETH_MARKET, close.settlesAt, { price: PX }), { gasLimit: GAS_LIMIT }));
  put("requestClose", Number(close.receipt.gasUsed));
  put("execute close", execClose);
  put("requestClose + execute close", Number(close.receipt.gasUsed) + execClose);

  // LP: a deposit request and its execution at the report of the one market with open interest.
  await s.fund(s.signers.lp.address, 10_000n * USDC);
  await (await s.token.connect(s.signers.lp).approve(s.pool, 10_000n * USDC)).wait();
  const lpFee = await s.pool.quoteExecutionFee(1n, FEE_GAS_PRICE);
  const dep = (await (await s.pool.connect(s.signers.lp).requestDeposit(10_000n * USDC, s.signers.lp.address, s.signers.lp.address, { value: lpFee, gasLimit: GAS_LIMIT })).wait())!;
  const depEvent = dep.logs.map((l) => s.pool.interface.parseLog(l)).find((p) => p?.name === "LpRequestCreated")!;
  const depSettles = depEvent.args.settlesAt as bigint;
  await networkHelpers.time.increaseTo(depSettles);
  const execDep = await gasOf(s.pool.connect(keeper).executeDeposit(depEvent.args.requestId as bigint, [s.signAt(ETH_MARKET, depSettles, { price: PX }), "0x"], { gasLimit: GAS_LIMIT }));
  put("LP requestDeposit", Number(dep.gasUsed));
  put("LP executeDeposit (report verified)", execDep);
  put("LP requestDeposit + executeDeposit", Number(dep.gasUsed) + execDep);
  put("LP claim (deposit)", await gasOf(s.pool.connect(s.signers.lp)["deposit(uint256,address,address)"](10_000n * USDC, s.signers.lp.address, s.signers.lp.address, { gasLimit: GAS_LIMIT })));

  const stale = await created(s, s.router.connect(alice).requestOpen(ETH_MARKET, false, 1_000n * USDC, WAD, 0n, { value: fee, gasLimit: GAS_LIMIT }));
  await networkHelpers.time.increase(Number((await s.oracle.timing()).expiry) + 1);
  put("cancel (after expiry)", await gasOf(s.router.connect(alice).cancel(stale.id, { gasLimit: GAS_LIMIT })));
  // The market's feed must stay fresh for the next cycle.
  await (await s.ethFeed.updateAnswer(3_000n * 10n ** 8n)).wait();
}

const s = await deployRequestSystem(ethers);
// Both sides of the market already hold open interest (a warm market), from another trader.
for (const isLong of [true, false]) {
  const r = await created(s, s.router.connect(s.signers.bob).requestOpen(ETH_MARKET, isLong, 5_000n * USDC, 2n * WAD, isLong ? MAX_UINT96 : 0n, { value: await s.fee(Kind.Open) }));
  await networkHelpers.time.increaseTo(r.settlesAt);
  await (await s.router.connect(s.signers.keeper).execute(r.id, s.signAt(ETH_MARKET, r.settlesAt, { price: PX }))).wait();
}
const warmup = new Map<string, number[]>();
await cycle(s, warmup);
const measured = new Map<string, number[]>();
await cycle(s, measured);
await cycle(s, measured);

const rows = goalRows(measured, GOALS);
const sizes = ["BulkheadRouter", "BulkheadOracle"].map((name) => ({ name, bytes: 0 }));
for (const sz of sizes) {
  const code = await ethers.provider.getCode(sz.name === "BulkheadRouter" ? await s.router.getAddress() : await s.oracle.getAddress());
  sz.bytes = (code.length - 2) / 2;
}

const md = [
  "# Gas of two-step trades",
  "",
  "`npm run bench:gas` (in-process Hardhat network). Worst of two measured occurrences after one warm-up; a warm market ",
  "(both sides hold open interest). Executions verify the report through Chainlink's Verifier and VerifierProxy (no fee ",
  "manager: local chains) and include the executor's fee payment and the requester's refund.",
  "",
  ...goalTable(rows),
  "",
  "| contract | runtime bytes |",
  "| --- | ---: |",
  ...sizes.map((z) => `| ${z.name} | ${fmt(z.bytes)} |`),
  "",
];
await writeBench("requests", md, { rows, sizes, goals: GOALS }, rows);
