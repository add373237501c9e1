// Seeded bigint PRNG (splitmix64) for reproducible random test cases.
const MASK64 = (1n << 64n) - 1n;

export class Rng {
  #state: bigint;
  constructor(seed: bigint) {
    this.#state = seed & MASK64;
  }
  /** Next 64 random bits. */
  next64(): bigint {
    this.#state = (this.#state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.#state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
  /** Uniform in [0, 2**bits). */
  bits(bits: number): bigint {
    let v = 0n;
    for (let got = 0; got < bits; got += 64) v = (v << 64n) | this.next64();
    return v & ((1n << BigInt(bits)) - 1n);
  }
  /** Uniform in [lo, hi]. */
  range(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    const bits = span.toString(2).length + 64;
    return lo + (this.bits(bits) % span);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return Number(this.range(BigInt(lo), BigInt(hi)));
  }
  /** Log-uniform in [lo, hi]: a random bit length, then a uniform value of that length. */
  log(lo: bigint, hi: bigint): bigint {
    const maxBits = hi.toString(2).length;
    const b = this.int(1, maxBits);
    const v = this.bits(b) | (1n << BigInt(b - 1));
    return v < lo ? lo : v > hi ? hi : v;
  }
  bool(pTrue = 0.5): boolean {
    return Number(this.next64() >> 11n) / 2 ** 53 < pTrue;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
}
