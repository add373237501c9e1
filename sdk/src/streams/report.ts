/**
 * Chainlink Data Streams reports of the v3 (crypto) schema: the report data the Verifier returns,
 * the signed payload it verifies, and the digest the oracles sign. Mirrors Chainlink's on-chain
 * format (`Verifier.verify`), so reports fetched from Chainlink's API and reports signed by a
 * local oracle set decode the same way.
 * @module
 */
import { AbiCoder, concat, getBytes, hexlify, keccak256, toBeHex, zeroPadValue } from "ethers";

const coder = AbiCoder.defaultAbiCoder();

/** Solidity tuple of a v3 report, in Chainlink's field order. */
const REPORT_V3 = "tuple(bytes32 feedId, uint32 validFromTimestamp, uint32 observationsTimestamp, uint192 nativeFee, uint192 linkFee, uint32 expiresAt, int192 price, int192 bid, int192 ask)";
const SIGNED = ["bytes32[3]", "bytes", "bytes32[]", "bytes32[]", "bytes32"];

/** A decoded v3 report. Prices carry 18 decimals; timestamps are Unix seconds. */
export interface ReportV3 {
  feedId: string;
  validFromTimestamp: number;
  observationsTimestamp: number;
  nativeFee: bigint;
  linkFee: bigint;
  expiresAt: number;
  price: bigint;
  bid: bigint;
  ask: bigint;
}

/** A signed report as the VerifierProxy takes it. */
export interface SignedReport {
  /** [configDigest, epoch and round (last 5 bytes), extra hash]. */
  context: [string, string, string];
  /** ABI-encoded report data (for v3, {@link encodeReportV3}). */
  reportData: string;
  rs: string[];
  ss: string[];
  /** Byte i is the recovery id (0 or 1) of signature i. */
  rawVs: string;
}

/** The schema version of a stream, from the first two bytes of its feed id (3 for v3). */
export function schemaVersion(feedId: string): number {
  const b = getBytes(feedId);
  if (b.length !== 32) throw new TypeError(`feed id must be 32 bytes, got ${b.length}`);
  return (b[0]! << 8) | b[1]!;
}

/** ABI-encodes v3 report data. */
export function encodeReportV3(r: ReportV3): string {
  return coder.encode([REPORT_V3], [r]);
}

/** Decodes v3 report data (the bytes the Verifier returns, or `reportData` of a signed report). */
export function decodeReportV3(data: string): ReportV3 {
  const [t] = coder.decode([REPORT_V3], data);
  return {
    feedId: t.feedId as string,
    validFromTimestamp: Number(t.validFromTimestamp),
    observationsTimestamp: Number(t.observationsTimestamp),
    nativeFee: t.nativeFee as bigint,
    linkFee: t.linkFee as bigint,
    expiresAt: Number(t.expiresAt),
    price: t.price as bigint,
    bid: t.bid as bigint,
    ask: t.ask as bigint,
  };
}

/** ABI-encodes a signed report (the `payload` of `VerifierProxy.verify`). */
export function encodeSignedReport(s: SignedReport): string {
  return coder.encode(SIGNED, [s.context, s.reportData, s.rs, s.ss, s.rawVs]);
}

/** Decodes a signed report payload, e.g. a `fullReport` from the Data Streams API. */
export function decodeSignedReport(payload: string): SignedReport {
  const [context, reportData, rs, ss, rawVs] = coder.decode(SIGNED, payload);
  return { context: [...context] as [string, string, string], reportData, rs: [...rs], ss: [...ss], rawVs };
}

/** The digest each oracle signs: keccak256(keccak256(reportData) ‖ context), as the Verifier recomputes it. */
export function reportSigningDigest(reportData: string, context: readonly [string, string, string]): string {
  return keccak256(concat([keccak256(reportData), ...context]));
}

/** The context word that carries an epoch (4 bytes) and round (1 byte) in its last 5 bytes. */
export function epochAndRound(epoch: number, round: number): string {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= 2 ** 32) throw new RangeError(`epoch ${epoch} out of range`);
  if (!Number.isInteger(round) || round < 0 || round > 255) throw new RangeError(`round ${round} out of range`);
  return zeroPadValue(toBeHex((BigInt(epoch) << 8n) | BigInt(round)), 32);
}

/** Packs recovery ids (0/1 each) into the `rawVs` word: byte i is signature i's. */
export function packRawVs(vs: readonly number[]): string {
  if (vs.length > 32) throw new RangeError(`at most 32 signatures, got ${vs.length}`);
  const out = new Uint8Array(32);
  vs.forEach((v, i) => (out[i] = v));
  return hexlify(out);
}
