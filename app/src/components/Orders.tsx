import { useState } from "react";
import { formatSize, formatUnits, type BulkheadClient, type PositionView } from "@bulkhead/sdk";
import type { Run, Snapshot } from "../App";
import { factor, money, parsePositive, price } from "../format";

interface Props {
  client: BulkheadClient;
  snap: Snapshot;
  view: PositionView;
  run: Run;
  busy: boolean;
}

const KIND_LABEL: Record<string, string> = { StopLoss: "Stop-loss", TakeProfit: "Take-profit", TrailingStop: "Trailing stop", LimitIncrease: "Limit increase", LimitOpen: "Limit open" };

/** The position's trigger orders and top-up guards, and forms to place them. */
export function Orders({ client, snap, view, run, busy }: Props) {
  const [stop, setStop] = useState("");
  const [take, setTake] = useState("");
  const [trail, setTrail] = useState("200");
  const [guard, setGuard] = useState({ threshold: "1.5", amount: "20", budget: "100" });
  const id = view.id;
  const sym = client.token.symbol;
  const d = client.token.decimals;

  if (snap.orderBook === null) {
    return (
      <div>
        <h3>Orders</h3>
        <p className="muted" data-testid="no-order-book">
          This deployment trades instantly and has no order book: stop-loss, take-profit, trailing stops and top-up guards
          live on two-step deployments (<code>npm run devnet</code>).
        </p>
      </div>
    );
  }
  const list = snap.orders.get(id) ?? { orders: [], guards: [] };
  const place = (label: string, fn: () => Promise<{ orderId: bigint }>) =>
    run(async () => {
      const r = await fn();
      return `${label} #${r.orderId} placed on position #${id}.`;
    });

  return (
    <div className="orders" data-testid={`orders-${id}`}>
      <h3>Orders</h3>
      {list.orders.length + list.guards.length === 0 ? (
        <p className="muted">No orders on this position.</p>
      ) : (
        <ul>
          {list.orders.map((o) => (
            <li key={String(o.id)} data-testid="order" data-order-id={String(o.id)} data-kind={o.kind} data-trigger={String(o.trigger)} data-acceptable={String(o.acceptablePrice)}>
              {KIND_LABEL[o.kind] ?? o.kind} #{String(o.id)}:{" "}
              {o.kind === "TrailingStop" ? `${formatUnits(o.trigger, 2)} % trail, fill no worse than ${price(o.acceptablePrice)}` : `at ${price(o.trigger)}, fill no worse than ${price(o.acceptablePrice)}`}
              {o.size === 0n ? ", whole position" : `, size ${formatSize(o.size)}`}
              {o.sibling !== null ? ` (bracket with #${o.sibling})` : ""}
              {o.expired ? " — expired" : ""}{" "}
              <button className="link" disabled={busy} data-testid="cancel-order" onClick={() => void run(async () => { await client.cancelOrder({ orderId: o.id }); return `Order #${o.id} cancelled.`; })}>cancel</button>
            </li>
          ))}
          {list.guards.map((g) => (
            <li key={String(g.id)} data-testid="guard" data-order-id={String(g.id)} data-threshold={String(g.threshold)} data-amount={String(g.amount)} data-budget={String(g.budget)}>
              Top-up guard #{String(g.id)}: adds {money(g.amount, client.token)} below health {factor(g.threshold)}, budget left {money(g.budget, client.token)}{" "}
              <button className="link" disabled={busy} data-testid="cancel-guard" onClick={() => void run(async () => { await client.cancelOrder({ orderId: g.id }); return `Guard #${g.id} cancelled.`; })}>cancel</button>
            </li>
          ))}
        </ul>
      )}
      <div className="action">
        <input value={stop} placeholder="stop price" onChange={(e) => setStop(e.target.value)} data-testid="sl-price" />
        <button disabled={busy} data-testid="place-sl" onClick={() => void place("Stop-loss", () => client.placeStopLoss({ positionId: id, triggerPrice: parsePositive(stop, 18, "The stop price", "USD") }))}>Stop-loss</button>
      </div>
      <div className="action">
        <input value={take} placeholder="take-profit price" onChange={(e) => setTake(e.target.value)} data-testid="tp-price" />
        <button disabled={busy} data-testid="place-tp" onClick={() => void place("Take-profit", () => client.placeTakeProfit({ positionId: id, triggerPrice: parsePositive(take, 18, "The take-profit price", "USD") }))}>Take-profit</button>
      </div>
      <div className="action">
        <input value={trail} placeholder="trail, bps" onChange={(e) => setTrail(e.target.value)} data-testid="trail-bps" />
        <button disabled={busy} data-testid="place-trail" onClick={() => void place("Trailing stop", () => client.placeTrailingStop({ positionId: id, trailBps: parsePositive(trail, 0, "The trail", "basis points") }))}>Trailing stop</button>
      </div>
      <p className="muted">Top-up guard: below health · add {sym} · up to a budget of {sym}</p>
      <div className="action">
        <input className="narrow" value={guard.threshold} title="health factor" data-testid="guard-threshold" onChange={(e) => setGuard({ ...guard, threshold: e.target.value })} />
        <input className="narrow" value={guard.amount} title={`${sym} per top-up`} data-testid="guard-amount" onChange={(e) => setGuard({ ...guard, amount: e.target.value })} />
        <input className="narrow" value={guard.budget} title={`${sym} budget`} data-testid="guard-budget" onChange={(e) => setGuard({ ...guard, budget: e.target.value })} />
        <button disabled={busy} data-testid="place-guard" onClick={() => void place("Top-up guard", () => client.setTopUpGuard({
          id,
          threshold: parsePositive(guard.threshold, 18, "The guard's health threshold", "health"),
          amount: parsePositive(guard.amount, d, "The top-up amount", sym),
          budget: parsePositive(guard.budget, d, "The guard's budget", sym),
        }))}>Top-up guard</button>
      </div>
    </div>
  );
}
