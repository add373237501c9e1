// Shared pieces of the keeper's end-to-end tests: the crash subsets known in advance from the
// lens' liquidation prices, snapshots of the node, interval mining, block waits.
import { expect } from "chai";
import { Interface, JsonRpcProvider } from "ethers";
import { BulkheadClient, bulkheadInterface, bulkheadLensAbi, type PositionView } from "@bulkhead/sdk";
import { sendTx, type System } from "./chain.js";

/** Liquidation prices (and records) of `ids`, from the lens in batches. */
export async function readViews(sys: System, ids: readonly bigint[]): Promise<Map<bigint, PositionView>> {
  const client = await BulkheadClient.connect(sys.provider, { addresses: sys.deployment });
  const views = await client.getPositions(ids);
  const out = new Map<bigint, PositionView>();
  views.forEach((v, i) => v && out.set(ids[i]!, v));
  return out;
}

/**
 * The ids a move of `market` to `priceWad` makes liquidatable, known before the move from each
 * position's liquidation price: a long at or above the new price, a short at or below it. A
 * position within `bandBps` of the line is ambiguous (borrow fees accrue between reads) and the
 * seed must not produce one.
 */
export function subsetAt(views: Map<bigint, PositionView>, market: number, priceWad: bigint, bandBps = 2n): Set<bigint> {
  const out = new Set<bigint>();
  const band = (priceWad * bandBps) / 10_000n;
  for (const [id, v] of views) {
    if (v.position.marketId !== market || !v.health) continue;
    const L = v.health.liquidationPrice;
    if (L === 0n) continue;
    const d = L > priceWad ? L - priceWad : priceWad - L;
    expect(d > band, `position ${id} sits within ${bandBps} bps of the move (L=${L}, p=${priceWad}): choose another price or seed`).to.equal(true);
    if (v.position.isLong ? L > priceWad : L < priceWad) out.add(id);
  }
  return out;
}

/**
 * A feed answer (8 decimals) for `market` between `lo` and `hi` (answers) in the middle of the
 * widest gap between the liquidation prices of the positions that move would hit (longs for a
 * fall, shorts for a rise), so no position sits near the line.
 */
export function pickMove(views: Map<bigint, PositionView>, market: number, lo: bigint, hi: bigint, longs: boolean): bigint {
  const ls = [...views.values()]
    .filter((v) => v.position.marketId === market && v.position.isLong === longs && v.health)
    .map((v) => v.health!.liquidationPrice / 10n ** 10n)
    .filter((l) => l >= lo && l <= hi)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const points = [lo, ...ls, hi];
  let best = { gap: -1n, mid: (lo + hi) / 2n };
  for (let i = 1; i < points.length; i++) {
    const gap = points[i]! - points[i - 1]!;
    if (gap > best.gap) best = { gap, mid: points[i - 1]! + gap / 2n };
  }
  return best.mid;
}

/** The lens' own verdict at a block: which of `ids` are liquidatable there. */
export async function liquidatableAt(sys: System, ids: readonly bigint[], blockTag: number | "latest" = "latest"): Promise<Set<bigint>> {
  const out = new Set<bigint>();
  const lens = new Interface(bulkheadLensAbi as never);
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const ret = (await sys.provider.send("eth_call", [{ to: sys.deployment.lens, data: lens.encodeFunctionData("previewLiquidations", [chunk]) }, typeof blockTag === "number" ? "0x" + blockTag.toString(16) : blockTag])) as string;
    const previews = lens.decodeFunctionResult("previewLiquidations", ret)[0] as { liquidatable: boolean }[];
    previews.forEach((p, j) => p.liquidatable && out.add(chunk[j]!));
  }
  return out;
}

export async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send("evm_snapshot", [])) as string;
}

export async function revert(provider: JsonRpcProvider, id: string): Promise<void> {
  const ok = (await provider.send("evm_revert", [id])) as boolean;
  if (!ok) throw new Error(`evm_revert ${id} failed`);
}

/** Mines a block every `ms` (automine off), like a chain with a block time; 0 restores automine. */
export async function intervalMining(provider: JsonRpcProvider, ms: number): Promise<void> {
  await provider.send("evm_setAutomine", [ms === 0]);
  await provider.send("evm_setIntervalMining", [ms]);
}

export async function blockNumber(provider: JsonRpcProvider): Promise<number> {
  return Number(BigInt((await provider.send("eth_blockNumber", [])) as string));
}

/** Waits until the chain is `n` blocks past `from`. */
export async function waitBlocks(provider: JsonRpcProvider, from: number, n: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = await blockNumber(provider);
    if (b >= from + n) return b;
    if (Date.now() > deadline) throw new Error(`chain stuck at block ${b}, waiting for ${from + n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Closes positions from their owners. */
export async function closePositions(sys: System, views: readonly PositionView[]): Promise<void> {
  const e = bulkheadInterface();
  for (const v of views) {
    const data = e.encodeFunctionData("close", [v.id, v.position.isLong ? 0n : 2n ** 96n - 1n, 2n ** 40n]);
    await sendTx(sys.provider, v.owner, sys.deployment.engine, data, 900_000n);
  }
}

/** Feed answer (8 decimals) -> WAD price. */
export const wad = (answer: bigint) => answer * 10n ** 10n;
