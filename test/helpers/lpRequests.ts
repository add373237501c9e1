// Funds an asynchronous (ERC-7540) pool the way an LP must once the engine has a settler: a
// deposit request, its execution (by the LP itself; while no market holds open interest no report
// is read, the valuation does not depend on a price), and the claim of its shares.
import type { Contract, Signer } from "ethers";

export async function depositThroughRequest(pool: Contract, lp: Signer, assets: bigint, marketCount: number): Promise<bigint> {
  const me = await lp.getAddress();
  const p = pool.connect(lp) as Contract;
  const fee = (await p.getFunction("quoteExecutionFee")(1n, 10n ** 11n)) as bigint;
  const receipt = (await (await p.getFunction("requestDeposit").send(assets, me, me, { value: fee })).wait())!;
  const created = receipt.logs.map((l: { topics: readonly string[]; data: string }) => pool.interface.parseLog({ topics: [...l.topics], data: l.data })).find((e) => e?.name === "LpRequestCreated")!;
  // anvil's gas estimate is the gas used net of storage refunds, too low for a limit when the
  // execution deletes its request: give it headroom, as the SDK does (gasBufferBps).
  const args = [created.args.getValue("requestId"), Array(marketCount).fill("0x")];
  const gas = (await p.getFunction("executeDeposit").estimateGas(...args)) * 3n / 2n;
  await (await p.getFunction("executeDeposit")(...args, { gasLimit: gas })).wait();
  const shares = (await p.getFunction("deposit(uint256,address,address)").staticCall(assets, me, me)) as bigint;
  await (await p.getFunction("deposit(uint256,address,address)")(assets, me, me)).wait();
  return shares;
}
