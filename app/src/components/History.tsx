import type { BulkheadClient } from "@bulkhead/sdk";
import { formatSize } from "@bulkhead/sdk";
import type { Snapshot } from "../App";
import { explorerLink, type HistoryEntry } from "../sdk";
import { money, price, short } from "../format";

function describe(h: HistoryEntry, c: BulkheadClient): { what: string; pnl: bigint | null; fees: bigint; at: bigint | null } {
  const e = h.event;
  const t = c.token;
  switch (e.type) {
    case "PositionOpened":
      return { what: `Opened ${e.isLong ? "long" : "short"} ${formatSize(e.size)} with ${money(e.collateral, t)}`, pnl: null, fees: e.openFee, at: e.price };
    case "PositionIncreased":
      return { what: `Increased by ${formatSize(e.sizeDelta)}`, pnl: e.realisedPnl, fees: e.openFee + e.borrowFee, at: e.price };
    case "PositionDecreased":
      return { what: e.newSize === 0n ? `Closed, paid ${money(e.payout, t)}` : `Decreased by ${formatSize(e.sizeDelta)}, paid ${money(e.payout, t)}`, pnl: e.pnl, fees: e.closeFee + e.borrowFee, at: e.price };
    case "CollateralAdded":
      return { what: `Topped up ${money(e.amount, t)}`, pnl: null, fees: 0n, at: null };
    case "CollateralRemoved":
      return { what: `Removed ${money(e.amount, t)}`, pnl: null, fees: e.borrowFee, at: null };
    case "PositionLiquidated":
      return { what: `Liquidated (equity ${money(e.equity, t)}, keeper paid ${money(e.keeperReward, t)})`, pnl: null, fees: e.keeperReward, at: e.price };
  }
}

export function History({ client, snap }: { client: BulkheadClient; snap: Snapshot }) {
  const symbol = (id: number | null) => (id === null ? "" : snap.markets.find((m) => m.id === id)?.symbol ?? `#${id}`);
  return (
    <section className="card" data-testid="history">
      <h2>History</h2>
      {snap.history === null ? (
        <p className="muted" data-testid="history-loading">Reading the history…</p>
      ) : snap.history.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Block</th><th>#</th><th>Market</th><th>What</th><th>Price</th><th>Realised PnL</th><th>Fees</th><th>Transaction</th></tr>
          </thead>
          <tbody>
            {snap.history.map((h) => {
              const d = describe(h, client);
              const link = explorerLink(client.chainId, "tx", h.event.transactionHash);
              return (
                <tr key={`${h.event.transactionHash}-${h.event.logIndex}`} data-testid={`history-${h.event.type}-${h.event.id}`}>
                  <td>{h.event.blockNumber}</td>
                  <td>{String(h.event.id)}</td>
                  <td>{symbol(h.marketId)} {h.isLong === null ? "" : h.isLong ? "long" : "short"}</td>
                  <td>{d.what}</td>
                  <td>{d.at === null ? "" : price(d.at)}</td>
                  <td className={d.pnl !== null && d.pnl < 0n ? "bad" : ""}>{d.pnl === null ? "" : money(d.pnl, client.token)}</td>
                  <td>{d.fees === 0n ? "" : money(d.fees, client.token)}</td>
                  <td className="mono">{link ? <a href={link} target="_blank" rel="noreferrer">{short(h.event.transactionHash)}</a> : short(h.event.transactionHash)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
