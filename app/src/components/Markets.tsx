import { formatLeverage } from "@bulkhead/sdk";
import type { Snapshot } from "../App";
import { age, price } from "../format";

export function Markets({ snap }: { snap: Snapshot }) {
  return (
    <section className="card">
      <h2>Markets</h2>
      <table data-testid="markets">
        <thead>
          <tr><th>Market</th><th>Price</th><th>Feed age</th><th>Max leverage</th></tr>
        </thead>
        <tbody>
          {snap.markets.map((m) => (
            <tr key={m.id} data-testid={`market-${m.id}`}>
              <td>{m.symbol ?? `#${m.id}`}</td>
              <td data-testid="market-price">{m.price === null ? <span className="bad">{m.priceError?.message ?? "no valid price"}</span> : price(m.price)}</td>
              <td>{age(snap.ages.get(m.id))}</td>
              <td>{formatLeverage(m.params.maxLeverage, 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        {snap.router === null ? "Trades fill at once at the push-feed price." : "Trades are requests filled at the Data Streams report of a later second."}
      </p>
    </section>
  );
}
