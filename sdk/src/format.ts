/**
 * Formatting and parsing of fixed-point bigints for display: token amounts (token decimals),
 * prices and sizes (WAD), percentages and leverage. Exact: no floating point anywhere.
 * @module
 */

/** How to round the digits that are cut off. */
export type Rounding = "down" | "up" | "nearest";

/** Options of {@link formatUnits}. */
export interface FormatOptions {
  /** Most fraction digits to show (default: all of `decimals`). */
  maxDecimals?: number;
  /** Fewest fraction digits to show, padding with zeros (default 0). */
  minDecimals?: number;
  /** Rounding of the cut digits, on the absolute value (default "down"). */
  rounding?: Rounding;
  /** Group the integer part by thousands with this separator (default none). */
  thousands?: string;
}

/** Formats `value / 10**decimals` as a decimal string, e.g. formatUnits(12_500_000n, 6) = "12.5". */
export function formatUnits(value: bigint, decimals: number, options: FormatOptions = {}): string {
  const { maxDecimals = decimals, minDecimals = 0, rounding = "down", thousands } = options;
  const negative = value < 0n;
  let abs = negative ? -value : value;
  const shown = Math.max(0, Math.min(maxDecimals, decimals));
  const cut = 10n ** BigInt(decimals - shown);
  const rest = abs % cut;
  abs /= cut;
  if (rest !== 0n && (rounding === "up" || (rounding === "nearest" && rest * 2n >= cut))) abs += 1n;
  const scale = 10n ** BigInt(shown);
  let int = (abs / scale).toString();
  let frac = shown > 0 ? (abs % scale).toString().padStart(shown, "0") : "";
  frac = frac.replace(/0+$/, "");
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
  if (thousands) int = int.replace(/\B(?=(\d{3})+(?!\d))/g, thousands);
  const sign = negative && (abs !== 0n) ? "-" : "";
  return frac.length > 0 ? `${sign}${int}.${frac}` : `${sign}${int}`;
}

/** Parses a decimal string into units of `10**-decimals`; throws on malformed text or excess digits. */
export function parseUnits(text: string, decimals: number): bigint {
  const t = text.trim().replace(/_/g, "");
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(t);
  if (m === null || (m[2] === "" && (m[3] === undefined || m[3] === ""))) {
    throw new RangeError(`not a decimal number: "${text}"`);
  }
  const frac = (m[3] ?? "").replace(/0+$/, "");
  if (frac.length > decimals) throw new RangeError(`"${text}" has more than ${decimals} decimals`);
  const v = BigInt(m[2] || "0") * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  return m[1] ? -v : v;
}

/** A token amount with its symbol: formatAmount(12_500_000n, { decimals: 6, symbol: "USDC" }) = "12.5 USDC". */
export function formatAmount(
  amount: bigint,
  token: { decimals: number; symbol?: string },
  options: FormatOptions = {},
): string {
  const text = formatUnits(amount, token.decimals, { maxDecimals: Math.min(token.decimals, 6), ...options });
  return token.symbol ? `${text} ${token.symbol}` : text;
}

/** A WAD price with a precision that suits its magnitude (at least 2 and up to 8 significant fraction digits). */
export function formatPrice(priceWad: bigint, options: FormatOptions = {}): string {
  const abs = priceWad < 0n ? -priceWad : priceWad;
  const WAD = 10n ** 18n;
  const maxDecimals = abs >= 1_000n * WAD ? 2 : abs >= WAD ? 4 : abs >= WAD / 100n ? 6 : 10;
  return formatUnits(priceWad, 18, { maxDecimals, minDecimals: 2, rounding: "nearest", ...options });
}

/** A WAD size (index units), up to 6 decimals. */
export function formatSize(sizeWad: bigint, options: FormatOptions = {}): string {
  return formatUnits(sizeWad, 18, { maxDecimals: 6, ...options });
}

/** A WAD fraction as a percentage: formatPercent(123_400_000_000_000_000n) = "12.34%". */
export function formatPercent(fractionWad: bigint, digits = 2): string {
  return `${formatUnits(fractionWad * 100n, 18, { maxDecimals: digits, minDecimals: digits, rounding: "nearest" })}%`;
}

/** A WAD multiple as leverage: formatLeverage(10n * WAD) = "10.00x". */
export function formatLeverage(leverageWad: bigint, digits = 2): string {
  return `${formatUnits(leverageWad, 18, { maxDecimals: digits, minDecimals: digits, rounding: "nearest" })}x`;
}

/** Parses a human price or size into WAD: parseWad("3000.5"). */
export function parseWad(text: string): bigint {
  return parseUnits(text, 18);
}
