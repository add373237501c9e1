/**
 * Turns liquidation candidates into batches the chain would execute. Candidates (largest reward
 * first) are cut into `liquidateMany` batches of at most `maxBatchSize`, each simulated with
 * eth_call from the keeper alongside its gas estimate: a batch the chain would liquidate nothing
 * of is dropped (another keeper was first), one that would liquidate only some is pruned with the
 * lens' `previewLiquidations`, one that reverts is split until the offending id is found and set
 * aside for `quarantineBlocks`. Batches whose gas estimate passes `maxBatchGas` are halved.
 * @module
 */
import { ContractRevertError, UnknownRevertError, bulkheadInterface, type BulkheadClient } from "@bulkhead/sdk";
import { silentLogger, type Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

export interface PlannerOptions {
  /** Ids per liquidateMany (default 50). */
  maxBatchSize?: number;
  /** Gas estimate above which a batch is halved (default 8,000,000). */
  maxBatchGas?: bigint;
  /** Blocks an id whose liquidation reverts alone is set aside (default 50). */
  quarantineBlocks?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Asks the tracker to re-read ids whose record looks out of date. */
  onStale?: (ids: bigint[]) => void;
}

/** A batch as the chain would execute it now: ids, how many it liquidates, its reward and gas estimate. */
export type PlannedBatch = { ids: bigint[]; liquidated: bigint; reward: bigint; gas: bigint };

export type Simulation = { ok: true; liquidated: bigint; reward: bigint } | { ok: false; error: unknown };

const isRevert = (e: unknown) => e instanceof ContractRevertError || e instanceof UnknownRevertError;

export class LiquidationPlanner {
  readonly client: BulkheadClient;
  readonly address: string;
  readonly #o: Required<Omit<PlannerOptions, "logger" | "metrics" | "onStale">>;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #onStale: (ids: bigint[]) => void;
  readonly #iface = bulkheadInterface();
  /** Id -> block until which it is set aside. */
  readonly #quarantine = new Map<bigint, number>();

  constructor(client: BulkheadClient, address: string, options: PlannerOptions = {}) {
    this.client = client;
    this.address = address;
    this.#o = {
      maxBatchSize: options.maxBatchSize ?? 50,
      maxBatchGas: options.maxBatchGas ?? 8_000_000n,
      quarantineBlocks: options.quarantineBlocks ?? 50,
    };
    this.#log = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#onStale = options.onStale ?? (() => {});
  }

  /** Adds the ids set aside at `block` to `out` (and forgets those whose time is over). */
  addSetAside(out: Set<bigint>, block: number): void {
    for (const [id, until] of this.#quarantine) {
      if (until > block) out.add(id);
      else this.#quarantine.delete(id);
    }
  }

  /** The calldata of `liquidateMany(ids)`. */
  encode(ids: readonly bigint[]): string {
    return this.#iface.encodeFunctionData("liquidateMany", [ids]);
  }

  async simulate(ids: readonly bigint[]): Promise<Simulation> {
    const data = this.encode(ids);
    try {
      const ret = await this.client.provider.call({ from: this.address, to: this.client.engineAddress, data });
      const [liquidated, reward] = this.#iface.decodeFunctionResult("liquidateMany", ret) as unknown as [bigint, bigint];
      return { ok: true, liquidated, reward };
    } catch (e) {
      const err = this.client.toError(e);
      // Anything but a revert (RPC trouble) is not a verdict about the batch: the cycle fails and retries.
      if (!isRevert(err)) throw err;
      return { ok: false, error: err };
    }
  }

  /** Why `liquidate(id)` reverts (the error), or undefined when it would go through. */
  async #simulateOne(id: bigint): Promise<unknown> {
    const data = this.#iface.encodeFunctionData("liquidate", [id]);
    try {
      await this.client.provider.call({ from: this.address, to: this.client.engineAddress, data });
      return undefined;
    } catch (e) {
      const err = this.client.toError(e);
      if (!isRevert(err)) throw err;
      return err;
    }
  }

  /** Gas estimate of liquidating `ids`; null when the estimate reverts (RPC trouble throws). */
  async #estimate(ids: readonly bigint[]): Promise<bigint | null> {
    try {
      return await this.client.provider.estimateGas({ from: this.address, to: this.client.engineAddress, data: this.encode(ids) });
    } catch (e) {
      const err = this.client.toError(e);
      if (!isRevert(err)) throw err;
      return null;
    }
  }

  #setAside(id: bigint, block: number, error: unknown): void {
    this.#quarantine.set(id, block + this.#o.quarantineBlocks);
    this.#metrics?.inc("keeper_failures_total", 1, { kind: "simulation_revert" });
    this.#log.error("liquidation.simulationReverted", {
      id,
      error: (error as Error)?.message ?? String(error),
      action: `set aside for ${this.#o.quarantineBlocks} blocks`,
    });
  }

  /**
   * Turns candidates into batches the chain would execute: simulated, pruned, split by gas.
   * Returns the batches with their simulated outcome and gas estimate.
   */
  async plan(ids: bigint[], block: number): Promise<PlannedBatch[]> {
    // Batches are planned concurrently (their reads are independent), then kept in reward order.
    const chunks: bigint[][] = [];
    for (let i = 0; i < ids.length; i += this.#o.maxBatchSize) chunks.push(ids.slice(i, i + this.#o.maxBatchSize));
    return (await Promise.all(chunks.map((c) => this.#planChunk(c, block)))).flat();
  }

  async #planChunk(ids: bigint[], block: number): Promise<PlannedBatch[]> {
    const out: PlannedBatch[] = [];
    const queue: bigint[][] = [ids];
    let guard = 0;
    while (queue.length > 0 && guard++ < 4 * ids.length + 16) {
      let batch = queue.shift()!;
      // The gas estimate runs alongside the simulation: when the whole batch would go through
      // (the usual case) it is the one to use, and the batch costs one round trip, not two.
      const [first, estimated] = await Promise.all([this.simulate(batch), this.#estimate(batch)]);
      let sim = first;
      if (sim.ok && sim.liquidated === BigInt(batch.length) && estimated !== null) {
        if (estimated > this.#o.maxBatchGas && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
        } else {
          out.push({ ids: batch, liquidated: sim.liquidated, reward: sim.reward, gas: estimated });
        }
        continue;
      }
      if (!sim.ok) {
        if (batch.length === 1) {
          this.#setAside(batch[0]!, block, sim.error);
          continue;
        }
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        continue;
      }
      if (sim.liquidated === 0n && batch.length === 1 && (await this.client.previewLiquidations(batch))[0]?.liquidatable) {
        // Liquidatable, yet the batch skips it: its own liquidation reverts (e.g. its vault's
        // transfer); `liquidate` gives the reason. Set aside like a reverting batch of one.
        this.#setAside(batch[0]!, block, await this.#simulateOne(batch[0]!));
        continue;
      }
      if (sim.liquidated === 0n) {
        this.#log.info("liquidation.skipped", { ids: batch.length, reason: "nothing liquidatable on chain (taken by another keeper, or healthy again)" });
        this.#metrics?.inc("keeper_skipped_total", batch.length, { reason: "not_liquidatable_on_chain" });
        this.#onStale(batch);
        continue;
      }
      if (sim.liquidated < BigInt(batch.length)) {
        const previews = await this.client.previewLiquidations(batch);
        const keep = batch.filter((_, i) => previews[i]?.liquidatable);
        const gone = batch.filter((_, i) => !previews[i]?.liquidatable);
        if (gone.length > 0) {
          this.#log.info("liquidation.skipped", { ids: gone.length, reason: "not liquidatable on chain (taken by another keeper, or healthy again)" });
          this.#metrics?.inc("keeper_skipped_total", gone.length, { reason: "not_liquidatable_on_chain" });
          this.#onStale(gone);
        }
        if (keep.length === 0) continue;
        if (keep.length !== batch.length) {
          batch = keep;
          sim = await this.simulate(batch);
          if (!sim.ok || sim.liquidated === 0n) {
            queue.unshift(...(sim.ok ? [] : [batch]));
            continue;
          }
        }
        if (sim.liquidated < BigInt(batch.length)) {
          // Every id is liquidatable, yet the chain skips some: their own liquidation reverts
          // (liquidateMany isolates it). Halve until the failing ones stand alone.
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          continue;
        }
      }
      const gas = await this.#estimate(batch);
      if (gas === null) {
        queue.unshift(batch); // state moved between call and estimate: simulate again
        continue;
      }
      if (gas > this.#o.maxBatchGas && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
        continue;
      }
      out.push({ ids: batch, liquidated: sim.liquidated, reward: sim.reward, gas });
    }
    return out;
  }
}
