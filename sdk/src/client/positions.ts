/**
 * Client reads of positions: batched snapshots through the lens, local health, vault addresses,
 * position ids from the ERC-721 Transfer logs, and liquidation previews (lens and local).
 * @module
 */
import { ZeroAddress, getAddress, zeroPadValue, type BlockTag } from "ethers";
import { decodeTupleArray } from "../abiDecode.js";
import { toHealth, toLiquidationPreview, toPositionRecord, toRiskParams } from "../decode.js";
import { TRANSFER_TOPIC, readLogs, type LogRangeOptions } from "../events.js";
import { positionHealth, type PositionHealth } from "../health.js";
import { BulkheadLogic, type LiquidateManyPreview } from "../math/BulkheadLogic.js";
import { computeVaultAddress } from "../vault.js";
import type { Ledger, LiquidationPreview, PositionId, PositionRecord, RiskParams } from "../types.js";
import { ClientModule } from "./context.js";
import { lensRead } from "./lensRead.js";
import type { MarketInfo } from "./markets.js";
import type { OrderList } from "./orderReads.js";

/** A position with everything a front-end shows, read in one batched snapshot. */
export interface PositionView {
  id: PositionId;
  owner: string;
  vault: string;
  /** The vault's token balance (>= collateral; more only after a donation). */
  vaultBalance: bigint;
  position: PositionRecord;
  /** Risk parameters the position was opened under. */
  risk: RiskParams;
  /** Validated oracle price of its market at the read block, null when the feed fails a check. */
  price: bigint | null;
  /** Market borrow index at the read block. */
  index: bigint;
  /** Health at `price`, computed locally (equal to the lens' `health(id)`); null without a valid price. */
  health: PositionHealth | null;
  blockNumber: number;
  /** Its live trigger orders and top-up guards: only when asked for (`getPosition(id, { withOrders: true })`). */
  orders?: OrderList;
}

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Position reads: snapshots, health, vault addresses, ids, liquidation previews. */
export class Positions extends ClientModule {
  vaultOf(id: PositionId): string {
    const c = this.ctx;
    return computeVaultAddress(c.engineAddress, c.vaultImplementation, id, c.initCodeHash);
  }

  async getPositions(ids: readonly PositionId[], blockTag?: number): Promise<(PositionView | null)[]> {
    if (ids.length === 0) return [];
    const c = this.ctx;
    // The first page fixes the block (one request when the ids fit one page); the others are pinned to it.
    const [first, ...rest] = chunk(ids, c.options.lensBatchSize);
    const head = await lensRead(c, "readPositions", [first], blockTag);
    const blockNumber = head.blockNumber;
    const pages = [
      decodeTupleArray(c.lens.interface, "readPositions", head.data),
      ...(await Promise.all(rest.map((ch) => lensRead(c, "readPositions", [ch], blockNumber)))).map((r) =>
        decodeTupleArray(c.lens.interface, "readPositions", r.data),
      ),
    ];
    const out: (PositionView | null)[] = [];
    for (const row of pages.flat()) {
      const position = toPositionRecord(row.position);
      if (position.size === 0n) {
        out.push(null);
        continue;
      }
      if (position.marketId >= c.marketCount) c.marketCount = position.marketId + 1; // listed after connect
      const risk = toRiskParams(row.risk);
      c.seedRisk(position.marketId, position.riskVersion, risk);
      const price = row.priceValid ? toHealth(row.health).price : null;
      const index = BigInt(row.currentBorrowIndex as bigint);
      out.push({
        id: BigInt(row.id as bigint),
        owner: getAddress(String(row.owner)),
        vault: getAddress(String(row.vault)),
        vaultBalance: BigInt(row.vaultBalance as bigint),
        position,
        risk,
        price,
        index,
        health: price === null ? null : positionHealth(position, risk, price, index, c.unit),
        blockNumber,
      });
    }
    return out;
  }

  /** One batched lens read (`positions` or `previewLiquidations`), decoded row by row in linear time. */
  async #lensRows(method: "positions" | "previewLiquidations", ids: readonly PositionId[], blockTag: number): Promise<Record<string, unknown>[]> {
    const c = this.ctx;
    const iface = c.lens.interface;
    const data = iface.encodeFunctionData(method, [ids]);
    const ret = await c.read(() => c.provider.call({ to: c.lensAddress, data, blockTag }));
    return decodeTupleArray(iface, method, ret);
  }

  async getPosition(id: PositionId): Promise<PositionView | null> {
    return (await this.getPositions([id]))[0] ?? null;
  }

  async getMaxRemovableCollateral(id: PositionId, blockTag?: BlockTag): Promise<bigint> {
    const c = this.ctx;
    return c.read(() => c.lens.getFunction("maxRemovableCollateral")(id, { blockTag }) as Promise<bigint>);
  }

  healthAt(view: Pick<PositionView, "position" | "risk" | "index">, price: bigint): PositionHealth {
    return positionHealth(view.position, view.risk, price, view.index, this.ctx.unit);
  }

  /** Ids of position tokens ever minted to or transferred to `owner` (from Transfer logs). */
  async #idsReceivedBy(owner: string, range: Partial<LogRangeOptions>): Promise<bigint[]> {
    const c = this.ctx;
    const ids = new Set<bigint>();
    const topics = [TRANSFER_TOPIC, null, zeroPadValue(getAddress(owner), 32)];
    for await (const page of readLogs(c.provider, { address: c.engineAddress, topics }, await c.range(range))) {
      for (const log of page) if (log.topics.length === 4) ids.add(BigInt(log.topics[3]!));
    }
    return [...ids].sort((a, b) => (a < b ? -1 : 1));
  }

  async getPositionsOf(owner: string, range: Partial<LogRangeOptions>): Promise<PositionView[]> {
    const candidates = await this.#idsReceivedBy(owner, range);
    const views = await this.getPositions(candidates);
    const who = getAddress(owner);
    return views.filter((v): v is PositionView => v !== null && v.owner === who);
  }

  async getOpenPositionIds(range: Partial<LogRangeOptions>): Promise<bigint[]> {
    const c = this.ctx;
    const open = new Set<bigint>();
    const zero = zeroPadValue(ZeroAddress, 32);
    const topics = [TRANSFER_TOPIC, null, null];
    for await (const page of readLogs(c.provider, { address: c.engineAddress, topics }, await c.range(range))) {
      for (const log of page) {
        if (log.topics.length !== 4) continue;
        const id = BigInt(log.topics[3]!);
        if (log.topics[1] === zero) open.add(id);
        if (log.topics[2] === zero) open.delete(id);
      }
    }
    return [...open].sort((a, b) => (a < b ? -1 : 1));
  }

  async previewLiquidations(ids: readonly PositionId[]): Promise<LiquidationPreview[]> {
    const c = this.ctx;
    const blockTag = await c.latestBlock();
    const pages = await Promise.all(
      chunk(ids, c.options.lensBatchSize).map((ch) => this.#lensRows("previewLiquidations", ch, blockTag)),
    );
    return pages.flat().map(toLiquidationPreview);
  }

  previewLiquidationLocal(view: PositionView, ledger: Ledger, price: bigint | null): LiquidationPreview | null {
    if (price === null) return null;
    return BulkheadLogic.previewLiquidation(view.position, view.risk, price, view.index, this.ctx.unit, view.vaultBalance, ledger);
  }

  previewLiquidateManyLocal(views: readonly (PositionView | null)[], ledger: Ledger, markets: readonly MarketInfo[]): LiquidateManyPreview {
    const batchMarkets = markets.map((m) => ({ market: m, price: m.price, index: m.currentIndex }));
    return BulkheadLogic.previewLiquidateMany(views, batchMarkets, ledger, this.ctx.unit);
  }
}
