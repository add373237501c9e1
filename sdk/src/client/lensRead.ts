/**
 * One batched lens read (`readMarkets`, `readPositions`, `readPool`): a single `eth_call` at the
 * latest block that returns the block it ran at, so a read needs no `eth_blockNumber` first.
 * @internal
 */
import { InvalidRequestError } from "../errors.js";
import type { ClientContext } from "./context.js";

/** The block a lens read ran at. */
export interface ReadAt {
  blockNumber: number;
  /** The block's timestamp (Unix seconds). */
  timestamp: number;
}

/**
 * Calls `method(args)` on the lens at `blockTag` (default: the latest block) and returns the raw
 * result with the block it ran at. Unpinned, it never returns a block below the client's own
 * receipts (read-your-writes): a node behind them is asked again at that block.
 */
export async function lensRead(c: ClientContext, method: string, args: readonly unknown[], blockTag?: number): Promise<ReadAt & { data: string }> {
  const data = c.lens.interface.encodeFunctionData(method, args);
  const call = async (tag: number | "latest") => {
    const ret = await c.read(() => c.provider.call({ to: c.lensAddress, data, blockTag: tag }));
    const hex = ret.slice(2);
    if (hex.length < 128) throw new InvalidRequestError(`the lens at ${c.lensAddress} returned no data for ${method}: it is not a lens of this SDK's version`);
    return { data: ret, blockNumber: Number(BigInt("0x" + hex.slice(0, 64))), timestamp: Number(BigInt("0x" + hex.slice(64, 128))) };
  };
  const r = await call(blockTag ?? "latest");
  return blockTag === undefined && r.blockNumber < c.minBlock ? call(c.minBlock) : r;
}
