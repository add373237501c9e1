/**
 * A local oracle set: the signers that Chainlink's Data Streams DON would be on a public network,
 * played by deterministic development keys on a local chain. The same `Verifier` and
 * `VerifierProxy` contracts as Chainlink's verify what it signs, so tests, the demo and the keeper
 * exercise the real verification path. The keys are public test keys (like a dev node's unlocked
 * accounts): never fund or trust them anywhere else.
 * @module
 */
import { Contract, SigningKey, Wallet, getBytes, keccak256, toUtf8Bytes } from "ethers";
import {
  encodeReportV3,
  encodeSignedReport,
  epochAndRound,
  packRawVs,
  reportSigningDigest,
  type ReportV3,
} from "@bulkhead/sdk";

/** Where a report sits in the DON's protocol: a later (epoch, round) is a later report. */
export interface ReportRound {
  epoch: number;
  round: number;
}

export class LocalOracleSet {
  /** Signing keys, one per oracle. */
  readonly keys: readonly SigningKey[];
  /** Faulty oracles tolerated: a report needs f + 1 signatures and the set has more than 3f. */
  readonly f: number;

  constructor(keys: readonly SigningKey[], f: number) {
    if (!Number.isInteger(f) || f < 1) throw new RangeError(`f must be a positive integer, got ${f}`);
    if (keys.length <= 3 * f) throw new RangeError(`${keys.length} oracles cannot tolerate f = ${f}: the Verifier needs more than 3f`);
    if (keys.length > 31) throw new RangeError(`at most 31 oracles, got ${keys.length}`);
    this.keys = keys;
    this.f = f;
  }

  /** `n` deterministic keys derived from `label` (default: 4 oracles, f = 1). */
  static deterministic(label = "bulkhead local oracle", n = 4, f = 1): LocalOracleSet {
    const keys = Array.from({ length: n }, (_, i) => new SigningKey(keccak256(toUtf8Bytes(`${label} ${i}`))));
    return new LocalOracleSet(keys, f);
  }

  /** Oracle addresses, in key order (the `signers` of `Verifier.setConfig`). */
  get signers(): string[] {
    return this.keys.map((k) => new Wallet(k).address);
  }

  /**
   * A signed report payload for `VerifierProxy.verify`: `report` signed in the context of
   * `configDigest` at `at` by the first `signatures` oracles (default f + 1, what the Verifier
   * requires; tests pass fewer or other keys to see it refuse).
   */
  sign(report: ReportV3, configDigest: string, at: ReportRound, options: { signatures?: number; keys?: readonly SigningKey[] } = {}): string {
    const keys = options.keys ?? this.keys.slice(0, options.signatures ?? this.f + 1);
    const reportData = encodeReportV3(report);
    const context: [string, string, string] = [configDigest, epochAndRound(at.epoch, at.round), "0x" + "00".repeat(32)];
    const digest = getBytes(reportSigningDigest(reportData, context));
    const sigs = keys.map((k) => k.sign(digest));
    return encodeSignedReport({
      context,
      reportData,
      rs: sigs.map((s) => s.r),
      ss: sigs.map((s) => s.s),
      rawVs: packRawVs(sigs.map((s) => s.yParity)),
    });
  }

  /**
   * Configures `verifier` (Chainlink's `Verifier`, owned by the caller) to accept this set's
   * signatures for `feedId`, and returns the config digest reports must be signed under.
   */
  async configure(verifier: Contract, feedId: string): Promise<string> {
    const tx = await verifier.getFunction("setConfig")(
      feedId,
      this.signers,
      this.signers.map((a) => keccak256(a)), // offchain transmitters: any distinct 32-byte ids
      this.f,
      "0x",
      1n,
      "0x",
      [],
    );
    await tx.wait();
    const [, , digest] = (await verifier.getFunction("latestConfigDetails")(feedId)) as [bigint, bigint, string];
    return digest;
  }
}

/** A v3 feed id for a local stream: schema 0x0003 followed by 30 bytes of keccak256(label). */
export function localFeedId(label: string): string {
  return "0x0003" + keccak256(toUtf8Bytes(label)).slice(6);
}
