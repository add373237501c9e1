/**
 * Whether a liquidation batch pays: its simulated reward minus the gas it is expected to cost,
 * converted to collateral tokens at a native-coin price (fixed, or a market's oracle price),
 * must reach the floor. What a request or order execution pays is ExecutionFeeLib's rule, in
 * jobs.ts (`executorPay`).
 * @module
 */

/** Converts a native-coin amount to collateral token units for the profitability check. */
export type NativePrice = { wad: bigint } | { market: number };

/**
 * `gas` at `pricePerGas` in collateral token units (`decimals`), rounded up (against the keeper);
 * null when the price is a market's and that market has no valid price.
 */
export function gasCostInTokens(gas: bigint, pricePerGas: bigint, nativePrice: NativePrice, prices: readonly (bigint | null)[] | undefined, decimals: number): bigint | null {
  const wad = "wad" in nativePrice ? nativePrice.wad : (prices?.[nativePrice.market] ?? null);
  if (wad === null || wad === undefined) return null;
  const wei = gas * pricePerGas;
  const scale = 10n ** 36n;
  return (wei * wad * 10n ** BigInt(decimals) + scale - 1n) / scale;
}

export type ProfitVerdict = { pays: true } | { pays: false; cost: bigint | null };

/** A batch's verdict against `minProfit` (null: no floor, everything pays). */
export function batchPays(reward: bigint, gas: bigint, pricePerGas: bigint, minProfit: bigint | null, nativePrice: NativePrice | null, prices: readonly (bigint | null)[] | undefined, decimals: number): ProfitVerdict {
  if (minProfit === null) return { pays: true };
  const cost = nativePrice ? gasCostInTokens(gas, pricePerGas, nativePrice, prices, decimals) : null;
  if (cost === null) return { pays: false, cost: null };
  return reward - cost < minProfit ? { pays: false, cost } : { pays: true };
}
