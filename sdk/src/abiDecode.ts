/**
 * Linear-time decoding of `tuple(...)[]` return values whose tuple is static (fixed size), as
 * the lens' batched reads return. ethers' ABI reader copies the whole return buffer on every
 * word it reads (the context object of an internal assertion is built eagerly), so decoding an
 * array of N rows costs O(N²): 200 lens positions took 1.6–2.6 s of CPU on a CI machine. Here a
 * decoding plan is built once per function and each row is read word by word into a plain
 * object keyed by the Solidity names (what `decode.ts` reads), so the cost is linear
 * (about 20 µs per position).
 * @internal
 */
import { getAddress, type Interface, type ParamType } from "ethers";

type Plan =
  | { kind: "uint" }
  | { kind: "int" }
  | { kind: "bool" }
  | { kind: "address" }
  | { kind: "bytes"; size: number }
  | { kind: "tuple"; fields: { name: string; plan: Plan }[] }
  | { kind: "array"; length: number; child: Plan };

function plan(t: ParamType): Plan | null {
  if (t.isTuple()) {
    const fields: { name: string; plan: Plan }[] = [];
    for (const [i, c] of t.components.entries()) {
      const p = plan(c);
      if (p === null) return null;
      fields.push({ name: c.name || String(i), plan: p });
    }
    return { kind: "tuple", fields };
  }
  if (t.isArray()) {
    if (t.arrayLength < 0) return null;
    const child = plan(t.arrayChildren);
    return child === null ? null : { kind: "array", length: t.arrayLength, child };
  }
  const b = t.baseType;
  if (b.startsWith("uint")) return { kind: "uint" };
  if (b.startsWith("int")) return { kind: "int" };
  if (b === "bool") return { kind: "bool" };
  if (b === "address") return { kind: "address" };
  if (/^bytes\d+$/.test(b)) return { kind: "bytes", size: Number(b.slice(5)) };
  return null; // string, bytes: dynamic
}

function words(p: Plan): number {
  if (p.kind === "tuple") return p.fields.reduce((s, f) => s + words(f.plan), 0);
  if (p.kind === "array") return p.length * words(p.child);
  return 1;
}

/** Reads one value of `p` from the hex string at word index `w`; returns the value and the next word index. */
function read(hex: string, w: number, p: Plan): [unknown, number] {
  switch (p.kind) {
    case "uint":
      return [BigInt("0x" + hex.slice(w * 64, w * 64 + 64)), w + 1];
    case "int": // sign-extended to 256 bits by the ABI
      return [BigInt.asIntN(256, BigInt("0x" + hex.slice(w * 64, w * 64 + 64))), w + 1];
    case "bool":
      return [hex.slice(w * 64, w * 64 + 64) !== "0".repeat(64), w + 1];
    case "address":
      return [getAddress("0x" + hex.slice(w * 64 + 24, w * 64 + 64)), w + 1];
    case "bytes":
      return ["0x" + hex.slice(w * 64, w * 64 + p.size * 2), w + 1];
    case "tuple": {
      const o: Record<string, unknown> = {};
      for (const f of p.fields) [o[f.name], w] = read(hex, w, f.plan);
      return [o, w];
    }
    case "array": {
      const a: unknown[] = [];
      for (let i = 0; i < p.length; i++) {
        let v: unknown;
        [v, w] = read(hex, w, p.child);
        a.push(v);
      }
      return [a, w];
    }
  }
}

const plans = new WeakMap<Interface, Map<string, { element: Plan; words: number; head: number } | null>>();

/**
 * Decodes the `tuple(...)[]` output of `fn` from `data` into plain objects keyed by the
 * Solidity field names: its only output, or its last one after static outputs (the lens'
 * `read*` functions return the block first). Falls back to ethers' decoder when the element is
 * not static.
 */
export function decodeTupleArray(iface: Interface, fn: string, data: string): Record<string, unknown>[] {
  let byFn = plans.get(iface);
  if (!byFn) plans.set(iface, (byFn = new Map()));
  let entry = byFn.get(fn);
  if (entry === undefined) {
    const fragment = iface.getFunction(fn);
    const out = fragment?.outputs.at(-1);
    const heads = fragment?.outputs.slice(0, -1).map(plan) ?? [];
    if (!fragment || !out?.isArray() || out.arrayLength !== -1 || heads.some((h) => h === null)) {
      throw new Error(`decodeTupleArray: ${fn} does not return one dynamic array after static outputs`);
    }
    const element = plan(out.arrayChildren);
    const head = heads.reduce((s, h) => s + words(h!), 0);
    entry = element === null ? null : { element, words: words(element), head };
    byFn.set(fn, entry);
  }
  if (entry === null) return [...(iface.decodeFunctionResult(fn, data).at(-1) as unknown[])] as Record<string, unknown>[];
  const hex = data.startsWith("0x") ? data.slice(2) : data;
  const word = (w: number) => {
    if ((w + 1) * 64 > hex.length) throw new Error(`decodeTupleArray: ${fn} returned ${hex.length / 2} bytes, too short`);
    return Number(BigInt("0x" + hex.slice(w * 64, w * 64 + 64)));
  };
  const offsetWord = word(entry.head) / 32;
  const count = word(offsetWord);
  const first = offsetWord + 1;
  if ((first + count * entry.words) * 64 > hex.length) throw new Error(`decodeTupleArray: ${fn} returned ${hex.length / 2} bytes for ${count} rows`);
  const rows: Record<string, unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) rows[i] = read(hex, first + i * entry.words, entry.element)[0] as Record<string, unknown>;
  return rows;
}
