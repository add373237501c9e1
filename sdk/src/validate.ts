/**
 * Runtime checks of the request objects the client's public methods take. A front-end's form
 * hands over strings, numbers and upper-case sides that TypeScript never saw; each field is
 * checked for its type and, where a wrong scale is obvious (a leverage of `5n` is 5e-18x), its
 * unit, and a bad one throws {@link InvalidInputError} naming the field. What the contracts
 * check (margins, caps, bounds) is left to the quotes and the simulation.
 * @module
 */
import { isAddress } from "ethers";
import { InvalidInputError } from "./errors.js";
import type { TokenInfo } from "./types.js";

/**
 * What a field holds: `side` ("long" | "short"), `market` (a market id number), `id` (a bigint
 * id), `amount` (bigint token units), `shares` (bigint pool shares), `leverage`, `size`, `price`
 * and `factor` (bigint, 18 decimals), `bigint` (any bigint: wei, bps, seconds), `bps` (an
 * integer number of basis points below 10,000), `count` (a non-negative integer number),
 * `address`, `hex` (a 0x string), `approval` ("exact" | "unlimited" | "none"), `function`, and
 * `ids` (an array of bigint ids). A trailing `?` makes the field optional.
 */
export type FieldKind =
  | "side"
  | "market"
  | "id"
  | "amount"
  | "shares"
  | "leverage"
  | "size"
  | "price"
  | "factor"
  | "bigint"
  | "bps"
  | "count"
  | "address"
  | "hex"
  | "approval"
  | "function"
  | "ids";

/** The fields of a request object and what each holds. */
export type FieldSpec = Readonly<Record<string, FieldKind | `${FieldKind}?`>>;

/** The fields of {@link TxOptions}, accepted by every transaction. */
export const TX_OPTION_FIELDS: FieldSpec = {
  approval: "approval?",
  deadline: "bigint?",
  acceptablePrice: "price?",
  slippageBps: "bps?",
  confirmations: "count?",
  gasLimit: "bigint?",
  value: "bigint?",
  onSubmitted: "function?",
};

/** Below these a WAD value is surely unscaled (a leverage under 0.001x, a size under 1e-9 units, a price under 1e-12). */
const UNSCALED = { leverage: 10n ** 15n, size: 10n ** 9n, price: 10n ** 6n, factor: 10n ** 15n } as const;

function shown(v: unknown): string {
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return `the number ${v}`;
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

/** `5n` as text in a unit of 18 decimals ("5e-18"), for the hints. */
function tiny(v: bigint): string {
  return `${Number(v) / 1e18}`;
}

function bigintOf(field: string, v: unknown, what: string): bigint {
  if (typeof v !== "bigint") throw new InvalidInputError(field, `must be a bigint ${what}, got ${shown(v)}`);
  if (v < 0n) throw new InvalidInputError(field, `must not be negative, got ${v}n`);
  return v;
}

function checkField(field: string, kind: FieldKind, v: unknown, token: TokenInfo | undefined): void {
  switch (kind) {
    case "side":
      if (v !== "long" && v !== "short") throw new InvalidInputError(field, `must be "long" or "short" (lower case), got ${shown(v)}`);
      return;
    case "market":
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new InvalidInputError(field, `must be a market id, a number (0, 1, ...), got ${shown(v)}`);
      return;
    case "id":
      bigintOf(field, v, "id (e.g. 1n)");
      return;
    case "amount": {
      const d = token?.decimals;
      const example = token && d !== undefined ? ` (${token.symbol} has ${d} decimals: 100 ${token.symbol} is ${100n * 10n ** BigInt(d)}n, or parseUnits("100", ${d}))` : "";
      bigintOf(field, v, `in token units${example}`);
      return;
    }
    case "shares":
      bigintOf(field, v, "number of pool shares");
      return;
    case "leverage": {
      const x = bigintOf(field, v, "with 18 decimals (5x is 5n * 10n**18n)");
      if (x > 0n && x < UNSCALED.leverage) throw new InvalidInputError(field, `leverage is 18-decimal: 5x is 5n * 10n**18n (got ${x}n, which is ${tiny(x)}x)`);
      return;
    }
    case "size": {
      const x = bigintOf(field, v, "with 18 decimals (1.5 units is 15n * 10n**17n)");
      if (x > 0n && x < UNSCALED.size) throw new InvalidInputError(field, `size is 18-decimal, in units of the market's asset: 1.5 units is 15n * 10n**17n (got ${x}n, which is ${tiny(x)} units)`);
      return;
    }
    case "price": {
      const x = bigintOf(field, v, "with 18 decimals (3,000 is 3_000n * 10n**18n)");
      if (x > 0n && x < UNSCALED.price) throw new InvalidInputError(field, `prices are 18-decimal: 3,000 is 3_000n * 10n**18n (got ${x}n, which is ${tiny(x)})`);
      return;
    }
    case "factor": {
      const x = bigintOf(field, v, "with 18 decimals (a factor of 2 is 2n * 10n**18n)");
      if (x > 0n && x < UNSCALED.factor) throw new InvalidInputError(field, `${field} is 18-decimal: a factor of 2 is 2n * 10n**18n (got ${x}n, which is ${tiny(x)})`);
      return;
    }
    case "bigint":
      bigintOf(field, v, "");
      return;
    case "bps":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 10_000) throw new InvalidInputError(field, `must be a whole number of basis points in [0, 10000) (50 is 0.5%), got ${shown(v)}`);
      return;
    case "count":
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new InvalidInputError(field, `must be a non-negative whole number, got ${shown(v)}`);
      return;
    case "address":
      if (typeof v !== "string" || !isAddress(v)) throw new InvalidInputError(field, `must be an address (0x and 40 hex digits), got ${shown(v)}`);
      return;
    case "hex":
      if (typeof v !== "string" || !/^0x(?:[0-9a-fA-F]{2})*$/.test(v)) throw new InvalidInputError(field, `must be a 0x-prefixed hex string, got ${shown(v)}`);
      return;
    case "approval":
      if (v !== "exact" && v !== "unlimited" && v !== "none") throw new InvalidInputError(field, `must be "exact", "unlimited" or "none", got ${shown(v)}`);
      return;
    case "function":
      if (typeof v !== "function") throw new InvalidInputError(field, `must be a function, got ${shown(v)}`);
      return;
    case "ids":
      if (!Array.isArray(v)) throw new InvalidInputError(field, `must be an array of bigint ids, got ${shown(v)}`);
      v.forEach((x, i) => bigintOf(`${field}[${i}]`, x, "id (e.g. 1n)"));
      return;
  }
}

/**
 * Checks `req` against `fields` (see {@link FieldKind}); throws {@link InvalidInputError} naming
 * the first field at fault. Fields not in the spec are not looked at. With `token`, the message
 * of a token amount shows its decimals.
 */
export function validateRequest(req: unknown, fields: FieldSpec, token?: TokenInfo): void {
  if (req === null || typeof req !== "object") throw new InvalidInputError("request", `must be an object of named fields, got ${shown(req)}`);
  const o = req as Record<string, unknown>;
  for (const [field, spec] of Object.entries(fields)) {
    const optional = spec.endsWith("?");
    const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind;
    const v = o[field];
    if (v === undefined) {
      if (optional) continue;
      throw new InvalidInputError(field, "is required");
    }
    checkField(field, kind, v, token);
  }
}
