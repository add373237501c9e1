/**
 * JSON for SDK objects. Every amount is a bigint, which `JSON.stringify` refuses, and quotes carry
 * typed errors, which it reduces to `{}`: that blocks server-side rendering, query caches and
 * local storage. These helpers write a bigint as `{ "$bigint": "123" }`, an SDK error as
 * `{ "$error": { name, message, errorName, args, data } }` and `undefined` as
 * `{ "$undefined": true }`, and read them back, so `parse(stringify(x))` equals `x`: the same
 * bigints, the same error classes and messages, the same fields.
 * @module
 */
import { BulkheadError, ContractRevertError, createRevertError, type RevertArgs } from "./errors.js";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const BIGINT = "$bigint";
const ERROR = "$error";
const UNDEFINED = "$undefined";

function isTagged(o: Record<string, unknown>, tag: string): boolean {
  const keys = Object.keys(o);
  return keys.length === 1 && keys[0] === tag;
}

/**
 * A `JSON.stringify` replacer: bigints and SDK errors as tagged objects (`undefined` is dropped
 * as usual; {@link stringify} keeps it). Pair it with {@link jsonReviver}.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return { [BIGINT]: value.toString() };
  if (value instanceof Error) return { [ERROR]: errorFields(value) };
  return value;
}

/** A `JSON.parse` reviver that turns what {@link jsonReplacer} wrote back into bigints and errors. */
export function jsonReviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  if (isTagged(o, BIGINT) && typeof o[BIGINT] === "string") return BigInt(o[BIGINT]);
  if (isTagged(o, ERROR)) return reviveError(o[ERROR] as ErrorFields);
  return value;
}

interface ErrorFields {
  name: string;
  message: string;
  errorName?: string;
  args?: RevertArgs;
  data?: string;
}

function errorFields(e: Error): ErrorFields {
  const out: ErrorFields = { name: e.name, message: e.message };
  if (e instanceof ContractRevertError) {
    out.errorName = e.errorName;
    out.args = { ...e.args };
    if (e.data !== undefined) out.data = e.data;
  }
  return out;
}

/** The error class of a revert is chosen by its Solidity name; its message is kept as written (amounts in the token of the client that made it). */
function reviveError(f: ErrorFields): Error {
  const e =
    f.errorName !== undefined
      ? createRevertError({ name: f.errorName, args: f.args ?? {} }, f.data !== undefined ? { data: f.data } : {})
      : new BulkheadError(f.message);
  e.message = f.message;
  if (e.name !== f.name) Object.defineProperty(e, "name", { value: f.name, writable: true, enumerable: true, configurable: true });
  return e;
}

/**
 * `value` as plain JSON data (for a framework that serialises props itself, e.g. Next.js):
 * bigints, SDK errors and `undefined` fields tagged. {@link fromJSON} reverses it.
 */
export function toJSON(value: unknown): Json {
  const walk = (v: unknown, inArray: boolean): Json | undefined => {
    if (v === undefined) return { [UNDEFINED]: true };
    if (typeof v === "bigint") return { [BIGINT]: v.toString() };
    if (v instanceof Error) return { [ERROR]: walk(errorFields(v), false) as Json };
    if (v === null || typeof v !== "object") {
      if (typeof v === "function" || typeof v === "symbol") return inArray ? null : undefined;
      return v as Json;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") return walk((v as { toJSON(): unknown }).toJSON(), inArray);
    if (Array.isArray(v)) return v.map((x) => walk(x, true) ?? null);
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      const j = walk(x, false);
      if (j !== undefined) out[k] = j;
    }
    return out;
  };
  return walk(value, false) ?? null;
}

/** Reverses {@link toJSON}: bigints, errors and `undefined` fields come back. */
export function fromJSON<T = unknown>(json: Json): T {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(walk);
    const o = v as Record<string, unknown>;
    if (isTagged(o, UNDEFINED)) return undefined;
    if (isTagged(o, BIGINT) && typeof o[BIGINT] === "string") return BigInt(o[BIGINT]);
    if (isTagged(o, ERROR)) return reviveError(walk(o[ERROR]) as ErrorFields);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = walk(x);
    return out;
  };
  return walk(json) as T;
}

/** `JSON.stringify` for SDK objects: {@link parse} gives back an equal object (bigints, errors, `undefined` fields). */
export function stringify(value: unknown, space?: string | number): string {
  return JSON.stringify(toJSON(value), null, space);
}

/** Reads what {@link stringify} wrote. */
export function parse<T = unknown>(text: string): T {
  return fromJSON<T>(JSON.parse(text) as Json);
}
