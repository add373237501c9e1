// A Bulkhead system that trades through requests: the unit system (fixture.ts, 10 % protocol fee
// share), Chainlink's Verifier with the local oracle set and a BulkheadOracle (streams.ts), and the
// BulkheadRouter as the engine's settler. Traders approve the router; executions are by `keeper`.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import type { ContractTransactionResponse, Signer } from "ethers";
import { deployUnitSystem } from "./unit.js";
import { deployStreams, TIMING, type Quote } from "./streams.js";

export { TIMING };
/** Execution fee every test request sends: the kind's gas limit at 100 gwei, well above any test gas price. */
export const FEE_GAS_PRICE = 100n * 10n ** 9n;

export const Kind = { None: 0n, Open: 1n, Increase: 2n, Decrease: 3n, Close: 4n } as const;

export async function deployRequestSystem(ethers: HardhatEthers, opts: Parameters<typeof deployUnitSystem>[1] = {}) {
  const s = await deployUnitSystem(ethers, opts);
  const streams = await deployStreams(ethers, s.engine);
  const router = await ethers.deployContract("BulkheadRouter", [s.engine, streams.oracle]);
  await (await s.engine.setSettler(router)).wait();
  const { alice, bob, carol, keeper } = s.signers;
  for (const t of [alice, bob, carol, keeper]) await (await s.token.connect(t).approve(router, ethers.MaxUint256)).wait();
  const fee = async (kind: bigint) => (await router.executionGas(kind)) * FEE_GAS_PRICE;
  return { ...s, ...streams, router, fee };
}

export type RequestSystem = Awaited<ReturnType<typeof deployRequestSystem>>;

/** The request id and creation time of a request transaction (from its RequestCreated event). */
export async function created(s: RequestSystem, tx: Promise<ContractTransactionResponse>) {
  const receipt = (await (await tx).wait())!;
  for (const log of receipt.logs) {
    const parsed = s.router.interface.parseLog(log);
    if (parsed?.name === "RequestCreated") {
      const settlesAt = parsed.args.settlesAt as bigint;
      return { id: parsed.args.requestId as bigint, settlesAt, createdAt: settlesAt - TIMING.settlementDelay, receipt };
    }
  }
  throw new Error("no RequestCreated event");
}

/** Lets the settlement delay pass, then executes `id` as `executor` with the report at `settlesAt`. */
export async function executeAt(
  s: RequestSystem,
  networkHelpers: NetworkHelpers,
  req: { id: bigint; settlesAt: bigint },
  marketId: bigint,
  q: Quote,
  executor: Signer = s.signers.keeper,
) {
  const now = BigInt(await networkHelpers.time.latest());
  if (now < req.settlesAt) await networkHelpers.time.increaseTo(req.settlesAt);
  return s.router.connect(executor).execute(req.id, s.signAt(marketId, req.settlesAt, q));
}
