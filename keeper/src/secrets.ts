/**
 * The Data Streams credentials (API key and user secret) kept in the keeper's keystore, next to
 * its signing key and under the same password, so an operator holds one encrypted file instead of
 * secrets in the environment. They sit in the keystore's JSON under `x-bulkhead-streams` (a key
 * geth and ethers ignore): scrypt derives a key from the password, AES-256-GCM encrypts
 * `{"apiKey","userSecret"}`, and its tag makes a wrong password a clear error rather than garbage.
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileDurably } from "./store.js";

export const STREAMS_FIELD = "x-bulkhead-streams";

export interface StreamsCredentials {
  apiKey: string;
  userSecret: string;
}

interface Sealed {
  version: 1;
  kdf: "scrypt";
  kdfparams: { n: number; r: number; p: number; dklen: 32; salt: string };
  cipher: "aes-256-gcm";
  iv: string;
  tag: string;
  ciphertext: string;
}

/** The keystore holds no readable credentials for this password (or none at all where some were expected). */
export class SecretsError extends Error {
  override name = "SecretsError";
}

const derive = (password: string, k: Sealed["kdfparams"]) =>
  scryptSync(password.normalize("NFKC"), Buffer.from(k.salt, "hex"), k.dklen, { N: k.n, r: k.r, p: k.p, maxmem: 256 * k.n * k.r + 1024 * 1024 });

/** The credentials in a keystore's JSON text; null when it holds none. */
export function readStreamsCredentials(keystoreJson: string, password: string, where = "the keystore"): StreamsCredentials | null {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(keystoreJson) as Record<string, unknown>;
  } catch (e) {
    throw new SecretsError(`${where} is not JSON (${(e as Error).message})`);
  }
  const sealed = json[STREAMS_FIELD] as Sealed | undefined;
  if (sealed === undefined) return null;
  if (sealed?.version !== 1 || sealed.kdf !== "scrypt" || sealed.cipher !== "aes-256-gcm") {
    throw new SecretsError(`the Data Streams credentials in ${where} are in an unknown format (${STREAMS_FIELD} must be version 1, scrypt, aes-256-gcm): store them again with --save-streams-credentials`);
  }
  let plain: string;
  try {
    const decipher = createDecipheriv("aes-256-gcm", derive(password, sealed.kdfparams), Buffer.from(sealed.iv, "hex"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "hex"));
    plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "hex")), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretsError(`cannot decrypt the Data Streams credentials in ${where}: wrong password (they are encrypted with the keystore's own password; store them again with --save-streams-credentials if it changed)`);
  }
  const creds = JSON.parse(plain) as Partial<StreamsCredentials>;
  if (typeof creds.apiKey !== "string" || typeof creds.userSecret !== "string" || creds.apiKey === "" || creds.userSecret === "") {
    throw new SecretsError(`the Data Streams credentials in ${where} lack the API key or the user secret: store them again with --save-streams-credentials`);
  }
  return { apiKey: creds.apiKey, userSecret: creds.userSecret };
}

/** The keystore's JSON text with `creds` sealed in it (replacing any before); the key part is untouched. */
export function sealStreamsCredentials(keystoreJson: string, password: string, creds: StreamsCredentials, scryptN = 1 << 17): string {
  const json = JSON.parse(keystoreJson) as Record<string, unknown>;
  const kdfparams = { n: scryptN, r: 8, p: 1, dklen: 32 as const, salt: randomBytes(32).toString("hex") };
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derive(password, kdfparams), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify({ apiKey: creds.apiKey, userSecret: creds.userSecret }), "utf8"), cipher.final()]);
  const sealed: Sealed = { version: 1, kdf: "scrypt", kdfparams, cipher: "aes-256-gcm", iv: iv.toString("hex"), tag: cipher.getAuthTag().toString("hex"), ciphertext: ciphertext.toString("hex") };
  return JSON.stringify({ ...json, [STREAMS_FIELD]: sealed });
}

/** Seals `creds` into the keystore file at `path` (written atomically and durably). */
export function saveStreamsCredentials(path: string, password: string, creds: StreamsCredentials, scryptN?: number): void {
  writeFileDurably(path, sealStreamsCredentials(readFileSync(path, "utf8"), password, creds, scryptN));
}
