// Where a transaction's gas goes, from EDR's `debug_traceTransaction`: the struct logger gives
// every opcode's cost (SSTORE/SLOAD priced cold or warm, call overheads, CREATE2 with its code
// deposit), the call tracer gives each call's target and calldata. Every opcode's exclusive cost
// is attributed once, so intrinsic + Σ exclusive − refund must equal the receipt's gasUsed; the
// analysis checks that identity and refuses to report a breakdown that does not add up.
import type { Interface } from "ethers";

type StructLog = { op: string; gas: number; gasCost: number; depth: number; stack?: string[]; refund?: number };
type CallTrace = { type: string; from: string; to?: string; input: string; gasUsed: string; calls?: CallTrace[] };
type Provider = { send(method: string, params: unknown[]): Promise<unknown> };

const CALL_OPS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE", "CREATE", "CREATE2"]);

/** One call made during the transaction, with its full cost as the caller sees it. */
export type Call = {
  op: string;
  depth: number; // depth of the caller (1 = the transaction's target)
  from: string; // labels
  to: string;
  fn: string; // decoded `name(args)` when known
  total: number; // gas the caller lost over the call: overhead + everything inside
  overhead: number; // charged to the caller: account access (cold 2600 / warm 100), memory, code deposit
  inner: number; // gas consumed inside the callee, including its own calls
};

/** One storage write with its price and what it did. */
export type Write = { contract: string; slot: string; gas: number; kind: string; refund: number };

export type Analysis = {
  gasUsed: number;
  intrinsic: number; // 21000 + calldata
  execution: number; // before refund
  refundRaw: number;
  refund: number; // effective: min(raw, (intrinsic + execution) / 5)
  writes: Write[];
  sloads: Record<string, { cold: number; warm: number; gas: number }>; // by contract
  coldReads: { contract: string; slot: string }[]; // first reads (2,100 each), in order
  byOp: Record<string, number>; // exclusive gas by opcode (a call's overhead under its opcode)
  selfGas: Record<string, number>; // exclusive gas by code (contract label)
  categories: Record<string, number>; // storage writes / reads / call overhead / logs / keccak / rest
  calls: Call[]; // depth-first, in execution order
};

export type Labels = {
  address(a: string): string;
  slot(contract: string, slot: bigint): string;
  decode(to: string, input: string): string;
};

const hexAddr = (x: string) => "0x" + BigInt(x).toString(16).padStart(40, "0");

/** Kind of an SSTORE from its EIP-2929/2200/3529 price and the refund it triggered. */
function writeKind(gas: number, refundDelta: number): string {
  const clear = refundDelta > 0 ? " (refund)" : "";
  switch (gas) {
    case 22100:
      return "0→x cold";
    case 20000:
      return "0→x warm";
    case 5000:
      return refundDelta > 0 ? "x→0 cold" : "x→y cold";
    case 2900:
      return refundDelta > 0 ? "x→0 warm" : "x→y warm";
    case 2200:
      return "dirty/no-op cold" + clear;
    case 100:
      return "dirty/no-op warm" + clear;
    default:
      return `other(${gas})`;
  }
}

export async function analyse(provider: Provider, txHash: string, gasLimit: bigint, gasUsed: bigint, labels: Labels) {
  const trace = (await provider.send("debug_traceTransaction", [txHash, { disableStorage: true }])) as {
    structLogs: StructLog[];
  };
  const callTrace = (await provider.send("debug_traceTransaction", [txHash, { tracer: "callTracer" }])) as CallTrace;
  const logs = trace.structLogs;
  const limit = Number(gasLimit);

  type Frame = { code: string; storage: string };
  const frames: Frame[] = [{ code: hexAddr(callTrace.to!), storage: hexAddr(callTrace.to!) }];
  type Open = { i: number; call: Call; childStart: number; raw: { op: string; to: string } };
  const open: Open[] = [];
  const calls: (Call & { raw: { op: string; to: string } })[] = [];
  const writes: Write[] = [];
  const sloads: Analysis["sloads"] = {};
  const coldReads: Analysis["coldReads"] = [];
  const byOp: Record<string, number> = {};
  const selfGas: Record<string, number> = {};
  const categories: Record<string, number> = {};
  const add = (rec: Record<string, number>, k: string, g: number) => (rec[k] = (rec[k] ?? 0) + g);
  let exclusiveSum = 0;

  for (let i = 0; i < logs.length; i++) {
    const s = logs[i];
    const next = logs[i + 1];
    const frame = frames[s.depth - 1];
    const codeLabel = labels.address(frame.code);
    const stack = s.stack ?? [];
    const top = (k: number) => stack[stack.length - 1 - k];

    if (CALL_OPS.has(s.op)) {
      const target = s.op.startsWith("CREATE") ? "" : hexAddr(top(1));
      const call: Call = { op: s.op, depth: s.depth, from: codeLabel, to: "", fn: "", total: 0, overhead: 0, inner: 0 };
      const entry = { ...call, raw: { op: s.op, to: target } };
      calls.push(entry);
      if (next !== undefined && next.depth === s.depth + 1) {
        frames.push({
          code: target || "0x" + "0".repeat(40),
          storage: s.op === "DELEGATECALL" || s.op === "CALLCODE" ? frame.storage : target,
        });
        open.push({ i, call: entry, childStart: next.gas, raw: entry.raw });
      } else {
        // No frame (precompile, account without code, or failed before entering).
        entry.total = entry.overhead = s.gas - (next?.gas ?? s.gas);
        exclusiveSum += entry.overhead;
        add(byOp, s.op, entry.overhead);
        add(selfGas, codeLabel, entry.overhead);
        add(categories, "call overhead (access, memory)", entry.overhead);
      }
    } else {
      exclusiveSum += s.gasCost;
      add(selfGas, codeLabel, s.gasCost);
      add(byOp, s.op, s.gasCost);
      const storageLabel = labels.address(frame.storage);
      if (s.op === "SSTORE") {
        const refundDelta = (next?.refund ?? s.refund ?? 0) - (s.refund ?? 0);
        writes.push({
          contract: storageLabel,
          slot: labels.slot(frame.storage, BigInt(top(0))),
          gas: s.gasCost,
          kind: writeKind(s.gasCost, refundDelta),
          refund: refundDelta,
        });
        add(categories, "storage writes (SSTORE)", s.gasCost);
      } else if (s.op === "SLOAD") {
        const r = (sloads[storageLabel] ??= { cold: 0, warm: 0, gas: 0 });
        if (s.gasCost >= 2100) {
          r.cold++;
          coldReads.push({ contract: storageLabel, slot: labels.slot(frame.storage, BigInt(top(0))) });
        }
        else r.warm++;
        r.gas += s.gasCost;
        add(categories, "storage reads (SLOAD)", s.gasCost);
      } else if (s.op.startsWith("LOG")) add(categories, "events (LOG)", s.gasCost);
      else if (s.op === "KECCAK256" || s.op === "SHA3") add(categories, "hashing (KECCAK256)", s.gasCost);
      else if (s.op === "TSTORE" || s.op === "TLOAD") add(categories, "transient (reentrancy guard)", s.gasCost);
      else if (["BALANCE", "EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY"].includes(s.op)) {
        add(categories, "account access (EXTCODE*/BALANCE)", s.gasCost);
      } else add(categories, "compute, memory, calldata, returndata", s.gasCost);
    }

    // The frame returns after this op: settle the call that opened it.
    if (next !== undefined && next.depth < s.depth) {
      const remaining = ["RETURN", "STOP", "REVERT", "SELFDESTRUCT"].includes(s.op) ? s.gas - s.gasCost : 0;
      const o = open.pop()!;
      frames.pop();
      const opener = logs[o.i];
      o.call.inner = o.childStart - remaining;
      o.call.total = opener.gas - next.gas;
      o.call.overhead = o.call.total - o.call.inner;
      if (o.raw.op.startsWith("CREATE")) o.raw.to = hexAddr(next.stack?.[next.stack.length - 1] ?? "0x0");
      const callerLabel = labels.address(frames[frames.length - 1].code);
      exclusiveSum += o.call.overhead;
      add(selfGas, callerLabel, o.call.overhead);
      add(byOp, o.raw.op, o.call.overhead);
      add(categories, o.raw.op.startsWith("CREATE") ? "CREATE2 (+ code deposit)" : "call overhead (access, memory)", o.call.overhead);
    }
  }

  // Attach targets and calldata from the call tracer (same depth-first order).
  const flat: CallTrace[] = [];
  const walk = (c: CallTrace) => {
    for (const child of c.calls ?? []) {
      flat.push(child);
      walk(child);
    }
  };
  walk(callTrace);
  if (flat.length !== calls.length) throw new Error(`call count mismatch: ${flat.length} traced vs ${calls.length} opcodes`);
  calls.forEach((c, k) => {
    const t = flat[k];
    const to = hexAddr(t.to ?? c.raw.to);
    if (!c.raw.op.startsWith("CREATE") && to !== c.raw.to) throw new Error(`call ${k}: ${to} vs ${c.raw.to}`);
    c.to = labels.address(to);
    c.fn = c.raw.op.startsWith("CREATE") ? "deploy" : labels.decode(to, t.input);
  });

  const last = logs[logs.length - 1];
  const remaining = last.gas - last.gasCost;
  const intrinsic = limit - logs[0].gas;
  const execution = logs[0].gas - remaining;
  if (execution !== exclusiveSum) throw new Error(`attribution ${exclusiveSum} != execution ${execution}`);
  const refundRaw = last.refund ?? 0;
  const refund = Math.min(refundRaw, Math.floor((intrinsic + execution) / 5));
  if (intrinsic + execution - refund !== Number(gasUsed)) {
    throw new Error(`breakdown ${intrinsic}+${execution}-${refund} != gasUsed ${gasUsed}`);
  }
  const analysis: Analysis = {
    gasUsed: Number(gasUsed),
    intrinsic,
    execution,
    refundRaw,
    refund,
    writes,
    sloads,
    coldReads,
    byOp,
    selfGas,
    categories,
    calls: calls.map(({ raw: _raw, ...c }) => c),
  };
  return analysis;
}

/** A decoder for calldata sent to known contracts, labelling address arguments. */
export function decoderFor(byAddress: Map<string, Interface>, label: (a: string) => string) {
  return (to: string, input: string): string => {
    const iface = byAddress.get(to);
    if (iface === undefined || input.length < 10) return input.slice(0, 10);
    const parsed = iface.parseTransaction({ data: input });
    if (parsed === null) return input.slice(0, 10);
    const args = parsed.args.map((a: unknown) =>
      typeof a === "string" && /^0x[0-9a-fA-F]{40}$/.test(a) ? label(a.toLowerCase()) : String(a),
    );
    return `${parsed.name}(${args.join(", ")})`;
  };
}
