// Deploys Bulkhead with the shared fixture and connects SDK clients to it, as a front-end would
// (explicit addresses: a local chain has no deployment file).
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { deploySystem } from "../../helpers/fixture.js";
import type { BulkheadAddresses } from "../../../sdk/src/index.js";

export async function deployForSdk(ethers: HardhatEthers, opts: Parameters<typeof deploySystem>[1] = {}) {
  const sys = await deploySystem(ethers, opts);
  const addresses: BulkheadAddresses = {
    engine: await sys.engine.getAddress(),
    lens: await sys.lens.getAddress(),
    pool: await sys.pool.getAddress(),
    token: await sys.token.getAddress(),
    startBlock: 0,
    markets: [
      { id: 0, symbol: "ETH/USD", feed: await sys.ethFeed.getAddress() },
      { id: 1, symbol: "BTC/USD", feed: await sys.btcFeed.getAddress() },
    ],
  };
  return { ...sys, addresses };
}

/** An EIP-1193 provider that counts the JSON-RPC requests passing through it, by method. */
export class CountingEip1193 implements Eip1193Provider {
  readonly byMethod = new Map<string, number>();
  constructor(readonly inner: { request(args: { method: string; params?: unknown[] | object }): Promise<unknown> }) {}
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    this.byMethod.set(args.method, (this.byMethod.get(args.method) ?? 0) + 1);
    return this.inner.request(args);
  }
  get total(): number {
    return [...this.byMethod.values()].reduce((a, b) => a + b, 0);
  }
  count(...methods: string[]): number {
    return methods.reduce((s, m) => s + (this.byMethod.get(m) ?? 0), 0);
  }
  reset(): void {
    this.byMethod.clear();
  }
}

/** A read-only ethers provider over Hardhat's EIP-1193 provider whose requests are counted. */
export function countingProvider(inner: CountingEip1193["inner"], chainId = 31337) {
  const counter = new CountingEip1193(inner);
  const provider = new BrowserProvider(counter, chainId, { staticNetwork: true, cacheTimeout: -1 });
  return { counter, provider };
}

/** Awaits `promise`, requires it to reject with an instance of `cls` whose message matches, and returns the error. */
export async function expectRejection<E extends Error>(
  promise: Promise<unknown>,
  cls: abstract new (...args: never[]) => E,
  message?: string | RegExp,
): Promise<E> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (!(error instanceof cls)) throw new Error(`expected a ${cls.name}, got ${error === undefined ? "no error" : String(error)}`);
  if (typeof message === "string" && error.message !== message) throw new Error(`expected message "${message}", got "${error.message}"`);
  if (message instanceof RegExp && !message.test(error.message)) throw new Error(`expected message ${message}, got "${error.message}"`);
  return error;
}
