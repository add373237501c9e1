/**
 * Sharing one chain with peer keepers without shared state. Every keeper of a group is given the
 * same list of the group's addresses (in any order); each job (a request, an order, a top-up, a
 * prune, a position to liquidate) has one owner, the peer at keccak256(key) mod N of the sorted
 * list. The owner tries the job as soon as it is due; every other peer waits `graceBlocks` from
 * the block it first saw the job due, then tries it too, so a job whose owner is down or slow is
 * late by the grace, never missed. While every peer is up and the grace exceeds the owner's time
 * from "due" to inclusion, no two peers send the same job, so no transaction is wasted on a lost
 * race. Without a group (one peer) every job is the keeper's own.
 * @module
 */
import { getAddress, keccak256, toUtf8Bytes } from "ethers";

export interface PeerOptions {
  /** Addresses of every keeper of the group, this one included (order does not matter). */
  peers: readonly string[];
  /** This keeper's address (its slot is its place in the sorted list). */
  self: string;
  /** Blocks a peer waits for the owner of a job before trying it itself (default 2). */
  graceBlocks?: number;
}

/** Blocks a job may go unseen (not due, set aside) before its wait starts over. */
const FORGET_AFTER_BLOCKS = 32;

export class PeerSchedule {
  /** Sorted, checksummed addresses of the group. */
  readonly peers: readonly string[];
  readonly slot: number;
  readonly graceBlocks: number;
  /** Key -> first and last block a job owned by a peer was seen due. */
  readonly #seen = new Map<string, { first: number; last: number }>();
  #sweptAt = 0;

  constructor(o: PeerOptions) {
    const peers = [...new Set(o.peers.map((p) => getAddress(p)))].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    const self = getAddress(o.self);
    const slot = peers.indexOf(self);
    if (slot < 0) throw new Error(`this keeper's address ${self} is not in the peer list (${peers.join(", ")}): add it, or give this keeper the key of one of them`);
    this.peers = peers;
    this.slot = slot;
    this.graceBlocks = o.graceBlocks ?? 2;
  }

  /** A group of one: every job is this keeper's. */
  static solo(self: string): PeerSchedule {
    return new PeerSchedule({ peers: [self], self });
  }

  get size(): number {
    return this.peers.length;
  }

  /** Slot of the peer that tries `key` first. */
  ownerSlot(key: string): number {
    return this.peers.length === 1 ? 0 : Number(BigInt(keccak256(toUtf8Bytes(key))) % BigInt(this.peers.length));
  }

  /** Address of the peer that tries `key` first. */
  owner(key: string): string {
    return this.peers[this.ownerSlot(key)]!;
  }

  mine(key: string): boolean {
    return this.ownerSlot(key) === this.slot;
  }

  /**
   * Whether the job `key`, due at `block`, may be tried now: at once by its owner, by any other
   * peer once it has been due for `graceBlocks` (counted from the first block this keeper saw it
   * due; a job unseen for a while starts over).
   */
  ready(key: string, block: number): boolean {
    if (this.mine(key)) return true;
    this.#sweep(block);
    let s = this.#seen.get(key);
    if (!s || block - s.last > FORGET_AFTER_BLOCKS || block < s.first) {
      s = { first: block, last: block };
      this.#seen.set(key, s);
    }
    s.last = Math.max(s.last, block);
    return block - s.first >= this.graceBlocks;
  }

  /** Jobs of peers this keeper is waiting on (for metrics). */
  waiting(block: number): number {
    let n = 0;
    for (const s of this.#seen.values()) if (s.last >= block - 1 && block - s.first < this.graceBlocks) n++;
    return n;
  }

  #sweep(block: number): void {
    if (block - this.#sweptAt < FORGET_AFTER_BLOCKS) return;
    this.#sweptAt = block;
    for (const [key, s] of this.#seen) if (block - s.last > FORGET_AFTER_BLOCKS) this.#seen.delete(key);
  }
}
