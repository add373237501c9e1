import { formatAmount, formatPercent, formatPrice, formatUnits, parseUnits, type TokenInfo } from "@bulkhead/sdk";
import { InputError } from "./sdk";

export const WAD = 10n ** 18n;

export const money = (x: bigint, token: TokenInfo) => formatAmount(x, token, { maxDecimals: 2, rounding: "nearest", thousands: "," });
export const price = (x: bigint) => `$${formatPrice(x, { thousands: "," })}`;
export const pct = (x: bigint) => formatPercent(x);
export const factor = (x: bigint | null) => (x === null ? "∞" : formatUnits(x, 18, { maxDecimals: 2, minDecimals: 2, rounding: "down" }));
export const short = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`;

/** A positive decimal typed into a field, in `decimals` units; the error names the field and the unit. */
export function parsePositive(text: string, decimals: number, field: string, unit: string): bigint {
  let value: bigint;
  try {
    value = parseUnits(text, decimals);
  } catch {
    throw new InputError(`${field} must be a number of ${unit}, like 100 or 250.5${decimals < 18 ? ` (at most ${decimals} decimals)` : ""}.`);
  }
  if (value <= 0n) throw new InputError(`${field} must be more than 0 ${unit}.`);
  return value;
}

export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "unreadable";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
