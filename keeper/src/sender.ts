/**
 * The keeper account's transactions, whatever they carry (a liquidation batch or an execution):
 * EIP-1559 fees under a cap, a locally kept nonce (resynchronised from the node when it
 * disagrees), write-ahead sends (each transaction is in the store before it is broadcast, so a
 * restart settles it instead of sending it again), and settlement: receipts, nonces used by a
 * transaction the keeper has no receipt for, forgotten transactions re-broadcast, stuck ones
 * replaced with bumped fees or, when they would no longer do anything, cancelled with a 0-value
 * self-transfer that frees the nonce.
 * @module
 */
import { Transaction, type Provider, type TransactionReceipt, type TransactionRequest } from "ethers";
import type { BulkheadClient } from "@bulkhead/sdk";
import { silentLogger, type Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { RpcUnavailableError } from "./rpc.js";
import type { JobRecord, JsonStore, PendingLiquidation, SentTx } from "./store.js";

const GWEI = 10n ** 9n;

/** Signs transactions (an ethers Wallet). */
export interface TxSigner {
  signTransaction(tx: TransactionRequest): Promise<string>;
}

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

export type BroadcastOutcome = "sent" | "unknown" | "nonce" | "funds" | "underpriced" | "rejected";

export interface SenderOptions {
  /** Fee cap per gas, wei (default 100 gwei): nothing is sent above it. */
  maxFeePerGas?: bigint;
  /** Priority fee per gas, wei (default 1 gwei). */
  priorityFeePerGas?: bigint;
  /** Replacement bump, percent of the previous fees (default 20, nodes ask for at least 10). */
  feeBumpPercent?: number;
  /** Blocks without a receipt before a transaction is replaced (default 3). */
  replaceAfterBlocks?: number;
  /** Gas limit = estimate * this / 100 (default 130). */
  gasLimitPercent?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Test hook: called at named points of the send path (a test kills the process there). */
  onCheckpoint?: (point: "recorded" | "broadcast") => void;
}

/** What settlement reports back to the owner of the entries (the executor). */
export interface SettleHandler {
  /** One of the entry's transactions has a receipt (called before the entry is removed). */
  mined(entry: PendingLiquidation, tx: SentTx, receipt: TransactionReceipt): void;
  /** The entry's nonce was used by a transaction the keeper has no receipt for (called after it is removed). */
  dropped(entry: PendingLiquidation): void;
  /** Whether a stuck entry would still do something (else its replacement is a cancellation). */
  stillWorth(entry: PendingLiquidation): Promise<boolean>;
}

function errorText(e: unknown): string {
  const o = e as { code?: unknown; message?: unknown; shortMessage?: unknown; info?: { error?: { message?: unknown } }; error?: { message?: unknown } };
  return [o?.code, o?.message, o?.shortMessage, o?.info?.error?.message, o?.error?.message].filter((x) => x !== undefined).join(" | ");
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);

export class TxSender {
  readonly client: BulkheadClient;
  readonly provider: Provider;
  readonly address: string;
  readonly store: JsonStore;
  readonly #signer: TxSigner | null;
  readonly #o: Required<Omit<SenderOptions, "logger" | "metrics" | "onCheckpoint">>;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #onCheckpoint: (point: "recorded" | "broadcast") => void;
  #nonce = -1;
  /** Nonce of an entry -> first block its nonce was seen used without a receipt of ours. */
  readonly #orphans = new Map<number, number>();
  #lastCapWarning = 0;

  constructor(client: BulkheadClient, signer: TxSigner | null, address: string, store: JsonStore, options: SenderOptions = {}) {
    this.client = client;
    this.provider = client.provider;
    this.#signer = signer;
    this.address = address;
    this.store = store;
    this.#o = {
      maxFeePerGas: options.maxFeePerGas ?? 100n * GWEI,
      priorityFeePerGas: options.priorityFeePerGas ?? 1n * GWEI,
      feeBumpPercent: options.feeBumpPercent ?? 20,
      replaceAfterBlocks: options.replaceAfterBlocks ?? 3,
      gasLimitPercent: options.gasLimitPercent ?? 130,
    };
    this.#log = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#onCheckpoint = options.onCheckpoint ?? (() => {});
  }

  /** Transactions signed and not settled (liquidations and executions), in nonce order. */
  get pending(): PendingLiquidation[] {
    const key = this.address.toLowerCase();
    return (this.store.state.pending[key] ??= []);
  }

  get maxFeePerGas(): bigint {
    return this.#o.maxFeePerGas;
  }

  /** Synchronises the nonce with the node and the store (call once before the first send). */
  async init(): Promise<void> {
    await this.syncNonce();
    if (this.pending.length > 0) {
      this.#log.info("tx.recovered", {
        pending: this.pending.map((p) => ({ nonce: p.nonce, ids: p.ids.length, hashes: p.txs.map((t) => t.hash) })),
      });
    }
  }

  async syncNonce(): Promise<void> {
    const onChain = await this.provider.getTransactionCount(this.address, "pending");
    const stored = this.pending.reduce((m, p) => Math.max(m, p.nonce + 1), 0);
    this.#nonce = Math.max(onChain, stored);
  }

  // ------------------------------------------------------------ fees

  /** The fees a transaction sent now gets, or null above the cap. */
  feesAt(baseFee: bigint): Fees | null {
    const cap = this.#o.maxFeePerGas;
    if (baseFee >= cap) return null;
    const tip = minBig(this.#o.priorityFeePerGas, cap - baseFee);
    return { maxFeePerGas: minBig(baseFee * 2n + tip, cap), maxPriorityFeePerGas: tip };
  }

  /** The gas limit a transaction with this estimate gets. */
  gasLimitFor(estimate: bigint): bigint {
    return (estimate * BigInt(this.#o.gasLimitPercent)) / 100n;
  }

  /** Whether a fee-cap warning may be logged now (one every 30 s, shared by every kind). */
  capWarningDue(): boolean {
    if (Date.now() - this.#lastCapWarning <= 30_000) return false;
    this.#lastCapWarning = Date.now();
    return true;
  }

  // ------------------------------------------------------------ send

  /**
   * Signs, records (write-ahead) and broadcasts one transaction at the next nonce. When the node
   * refuses it, the record is dropped (the nonce was not used), the failure counted and the
   * nonce resynchronised; "sent" and "unknown" (every RPC failed: it may have gone out) keep it.
   */
  async send(
    t: { to: string; data: string; gasLimit: bigint; fees: Fees; block: number; ids: string[]; job?: JobRecord },
  ): Promise<{ ok: boolean; nonce: number; hash: string; outcome: BroadcastOutcome }> {
    if (this.#nonce < 0) await this.syncNonce();
    const nonce = this.#nonce;
    const tx: TransactionRequest = { type: 2, chainId: this.client.chainId, nonce, to: t.to, data: t.data, value: 0n, gasLimit: t.gasLimit, ...t.fees };
    const { raw, hash } = await this.#sign(tx);
    const entry: PendingLiquidation = {
      nonce,
      ids: t.ids,
      ...(t.job ? { job: t.job } : {}),
      txs: [{ hash, raw, kind: t.job ? "job" : "liquidate", block: t.block, at: Date.now(), maxFeePerGas: t.fees.maxFeePerGas.toString(), maxPriorityFeePerGas: t.fees.maxPriorityFeePerGas.toString() }],
    };
    // Write-ahead: a restart finds this nonce and settles it instead of sending it again.
    this.pending.push(entry);
    this.#nonce = nonce + 1;
    this.store.save();
    this.#onCheckpoint("recorded");
    const outcome = await this.#broadcast(raw, hash);
    this.#onCheckpoint("broadcast");
    if (outcome === "sent" || outcome === "unknown") return { ok: true, nonce, hash, outcome };
    // Rejected: the nonce was not used by this transaction.
    this.pending.splice(this.pending.indexOf(entry), 1);
    this.store.save();
    this.#metrics?.inc("keeper_failures_total", 1, { kind: `send_${outcome}` });
    await this.syncNonce();
    return { ok: false, nonce, hash, outcome };
  }

  async #sign(tx: TransactionRequest): Promise<{ raw: string; hash: string }> {
    const raw = await this.#signer!.signTransaction(tx);
    return { raw, hash: Transaction.from(raw).hash! };
  }

  /**
   * Broadcasts a signed transaction. "sent": the node has it; "unknown": every RPC failed (it
   * may have gone out: the pending entry stays and is checked); otherwise the reason it was refused.
   */
  async #broadcast(raw: string, hash: string): Promise<BroadcastOutcome> {
    try {
      await (this.provider as Provider & { send(method: string, params: unknown[]): Promise<unknown> }).send("eth_sendRawTransaction", [raw]);
      return "sent";
    } catch (e) {
      const text = errorText(e);
      if (/already known|known transaction|ALREADY_KNOWN/i.test(text)) return "sent";
      if (e instanceof RpcUnavailableError) {
        this.#log.warn("tx.broadcastUncertain", { hash, error: text });
        return "unknown";
      }
      if (/nonce too low|nonce has already been used|NONCE_EXPIRED|replacement.*underpriced|REPLACEMENT_UNDERPRICED/i.test(text)) {
        // A retried broadcast whose first attempt got through lands here too: is ours there?
        if (await this.#known(hash)) return "sent";
        const underpriced = /underpriced/i.test(text);
        this.#log.warn("tx.rejected", { hash, reason: underpriced ? "underpriced" : "nonce used", error: text });
        return underpriced ? "underpriced" : "nonce";
      }
      if (/insufficient funds|INSUFFICIENT_FUNDS/i.test(text)) {
        this.#log.error("tx.rejected", { hash, reason: "insufficient funds for gas", account: this.address, action: "fund the keeper account" });
        return "funds";
      }
      this.#log.error("tx.rejected", { hash, error: text });
      return "rejected";
    }
  }

  async #known(hash: string): Promise<boolean> {
    const [tx, receipt] = await Promise.all([this.provider.getTransaction(hash), this.provider.getTransactionReceipt(hash)]);
    return tx !== null || receipt !== null;
  }

  // ------------------------------------------------------------ settle

  /** Checks every pending transaction: receipts, forgotten transactions, replacements. Returns how many were mined. */
  async settle(ctx: { block: number; baseFeePerGas: bigint }, handler: SettleHandler): Promise<number> {
    let mined = 0;
    const latestNonce = await this.provider.getTransactionCount(this.address, "latest");
    for (const entry of [...this.pending]) {
      const receipts = await Promise.all(entry.txs.map((t) => this.provider.getTransactionReceipt(t.hash)));
      const i = receipts.findIndex((r) => r !== null);
      if (i >= 0) {
        mined++;
        handler.mined(entry, entry.txs[i]!, receipts[i]!);
        this.pending.splice(this.pending.indexOf(entry), 1);
        this.#orphans.delete(entry.nonce);
        this.store.save();
        continue;
      }
      if (latestNonce > entry.nonce) {
        // The nonce is used but no receipt of ours is visible (yet: a lagging node may show it later).
        const since = this.#orphans.get(entry.nonce) ?? ctx.block;
        this.#orphans.set(entry.nonce, since);
        if (ctx.block - since >= 3) {
          this.#log.warn("tx.dropped", { nonce: entry.nonce, hashes: entry.txs.map((t) => t.hash), reason: "nonce used by a transaction this keeper has no receipt for" });
          this.pending.splice(this.pending.indexOf(entry), 1);
          this.#orphans.delete(entry.nonce);
          handler.dropped(entry);
          this.store.save();
        }
        continue;
      }
      const last = entry.txs[entry.txs.length - 1]!;
      if (ctx.block - last.block >= this.#o.replaceAfterBlocks) {
        await this.#replace(entry, ctx, handler);
      } else if (!(await this.#known(last.hash))) {
        // The node forgot it (restart, mempool eviction, a broadcast that never arrived): send again.
        this.#log.info("tx.rebroadcast", { nonce: entry.nonce, hash: last.hash });
        await this.#broadcast(last.raw, last.hash);
      }
    }
    return mined;
  }

  async #replace(entry: PendingLiquidation, ctx: { block: number; baseFeePerGas: bigint }, handler: SettleHandler): Promise<void> {
    const last = entry.txs[entry.txs.length - 1]!;
    const bump = (x: bigint) => (x * BigInt(100 + this.#o.feeBumpPercent) + 99n) / 100n;
    const cap = this.#o.maxFeePerGas;
    const market = this.feesAt(ctx.baseFeePerGas);
    const maxFee = minBig(maxBig(bump(BigInt(last.maxFeePerGas)), market?.maxFeePerGas ?? 0n), cap);
    let tip = minBig(maxBig(bump(BigInt(last.maxPriorityFeePerGas)), market?.maxPriorityFeePerGas ?? 0n), maxFee);
    if (maxFee <= BigInt(last.maxFeePerGas)) {
      if (this.capWarningDue()) {
        this.#log.warn("tx.stuck", { nonce: entry.nonce, hash: last.hash, capGwei: Number(cap) / 1e9, action: "at the fee cap: raise --max-fee-gwei" });
      }
      return;
    }
    if (tip > maxFee) tip = maxFee;
    const cancel = !(await handler.stillWorth(entry));
    const base = { type: 2, chainId: this.client.chainId, nonce: entry.nonce, value: 0n, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
    // A replacement carries what the first transaction carried (same target, data and gas limit).
    const first = Transaction.from(entry.txs[0]!.raw);
    const request: TransactionRequest = cancel
      ? { ...base, to: this.address, data: "0x", gasLimit: 21_000n }
      : { ...base, to: first.to!, data: first.data, gasLimit: first.gasLimit };
    const { raw, hash } = await this.#sign(request);
    entry.txs.push({ hash, raw, kind: cancel ? "cancel" : entry.job ? "job" : "liquidate", block: ctx.block, at: Date.now(), maxFeePerGas: maxFee.toString(), maxPriorityFeePerGas: tip.toString() });
    this.store.save();
    const outcome = await this.#broadcast(raw, hash);
    this.#metrics?.inc("keeper_txs_sent_total", 1, { kind: cancel ? "cancel" : "replacement" });
    this.#log.info(cancel ? "tx.cancelling" : "tx.replaced", {
      nonce: entry.nonce,
      was: last.hash,
      hash,
      maxFeeGwei: Number(maxFee) / 1e9,
      tipGwei: Number(tip) / 1e9,
      outcome,
    });
    if (outcome !== "sent" && outcome !== "unknown") {
      // Not accepted: forget this attempt; the previous transaction still holds the nonce.
      entry.txs.pop();
      this.store.save();
    }
  }
}
