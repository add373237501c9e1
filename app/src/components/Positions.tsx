import { Fragment, useEffect, useState } from "react";
import { formatSize, formatUnits, parseUnits, type BulkheadClient, type DecreaseQuote, type PositionView } from "@bulkhead/sdk";
import type { Run, Snapshot } from "../App";
import { explorerLink, healthAt } from "../sdk";
import { factor, money, parsePositive, pct, price, short, WAD } from "../format";
import { Orders } from "./Orders";

interface Props {
  client: BulkheadClient;
  snap: Snapshot;
  run: Run;
  busy: boolean;
  warnLevel: bigint | null;
}

/** A health factor drawn as a bar: empty at 1 (liquidation), full at 3 and above. */
function Gauge({ hf, warnLevel }: { hf: bigint | null; warnLevel: bigint | null }) {
  const value = hf === null ? 3 : Math.max(0, Math.min(3, Number(formatUnits(hf, 18, { maxDecimals: 4 }))));
  const level = hf !== null && hf < WAD ? "bad" : hf !== null && warnLevel !== null && hf < warnLevel ? "warn" : "good";
  return (
    <span className="gauge" title="health factor: equity / maintenance margin; liquidated below 1">
      <span className={`fill ${level}`} style={{ width: `${Math.max(0, value - 1) * 50}%` }} />
    </span>
  );
}

export function Positions({ client, snap, run, busy, warnLevel }: Props) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: bigint) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(String(id))) n.delete(String(id));
      else n.add(String(id));
      return n;
    });
  const symbol = (id: number) => snap.markets.find((m) => m.id === id)?.symbol ?? `#${id}`;
  const opens = snap.requests.filter((r) => r.kind === "Open");

  return (
    <section className="card">
      <h2>Positions</h2>
      {opens.length > 0 && (
        <ul className="requests" data-testid="pending-opens">
          {opens.map((r) => (
            <li key={String(r.id)}>
              Open request #{String(r.id)}: {symbol(r.marketId)} {r.isLong ? "long" : "short"} {formatSize(r.size)} with {money(r.collateral, client.token)} — {r.status.replace(/-/g, " ")}
              {r.status === "expired" && <button onClick={() => void run(async () => { await client.cancelRequest({ requestId: r.id }); return `Request #${r.id} cancelled; its escrow is back.`; })}>Cancel</button>}
            </li>
          ))}
        </ul>
      )}
      {snap.positions.length === 0 ? (
        <p className="muted" data-testid="no-positions">No open positions.</p>
      ) : (
        <table className="positions" data-testid="positions">
          <thead>
            <tr>
              <th>#</th><th>Market</th><th>Vault</th><th>Collateral</th><th>Size</th><th>Entry</th><th>PnL</th><th>Equity</th>
              <th>Health</th><th>To liquidation</th><th>Liquidation</th><th />
            </tr>
          </thead>
          <tbody>
            {snap.positions.map((v) => {
              const h = v.health;
              const link = explorerLink(client.chainId, "address", v.vault);
              const expanded = open.has(String(v.id));
              return (
                <Fragment key={String(v.id)}>
                  <tr data-testid={`position-${v.id}`} data-block={v.blockNumber}>
                    <td>{String(v.id)}</td>
                    <td>{symbol(v.position.marketId)} <span className={v.position.isLong ? "long" : "short"}>{v.position.isLong ? "long" : "short"}</span></td>
                    <td className="mono" data-testid="vault" title={v.vault}>{link ? <a href={link} target="_blank" rel="noreferrer">{short(v.vault)}</a> : short(v.vault)}</td>
                    <td data-testid="collateral" data-raw={String(v.position.collateral)}>{money(v.position.collateral, client.token)}</td>
                    <td data-testid="size" data-raw={String(v.position.size)}>{formatSize(v.position.size)}</td>
                    <td>{price(v.position.entryPrice)}</td>
                    <td className={h && h.pnl < 0n ? "bad" : "good"} data-testid="pnl">{h ? money(h.pnl, client.token) : "—"}</td>
                    <td data-testid="equity">{h ? money(h.equity, client.token) : "—"}</td>
                    <td data-testid="health" data-raw={String(h?.healthFactor ?? "")}>
                      <Gauge hf={h?.healthFactor ?? null} warnLevel={warnLevel} /> {h ? factor(h.healthFactor) : "no price"}
                    </td>
                    <td>{h ? pct(h.distanceToLiquidation) : "—"}</td>
                    <td data-testid="liquidation-price" data-raw={String(h?.liquidationPrice ?? "")}>{h ? price(h.liquidationPrice) : "—"}</td>
                    <td><button onClick={() => toggle(v.id)} data-testid="manage">{expanded ? "Hide" : "Manage"}</button></td>
                  </tr>
                  {expanded && (
                    <tr className="detail">
                      <td colSpan={12}>
                        <Detail client={client} snap={snap} view={v} run={run} busy={busy} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Detail({ client, snap, view, run, busy }: { client: BulkheadClient; snap: Snapshot; view: PositionView; run: Run; busy: boolean }) {
  const id = view.id;
  const now = view.price ?? view.position.entryPrice;
  const [step, setStep] = useState(100);
  const [topUp, setTopUp] = useState("10");
  const [remove, setRemove] = useState("");
  const [decrease, setDecrease] = useState("");
  const [maxRemovable, setMaxRemovable] = useState<{ amount: bigint; block: number } | null>(null);
  const [decreaseQuote, setDecreaseQuote] = useState<DecreaseQuote | null>(null);
  const twoStep = snap.router !== null;
  const d = client.token.decimals;
  const sym = client.token.symbol;

  useEffect(() => {
    let live = true;
    client.quoteRemoveCollateral({ id, amount: 1n }).then((q) => live && setMaxRemovable({ amount: q.maxRemovable, block: q.blockNumber }), () => live && setMaxRemovable(null));
    return () => {
      live = false;
    };
  }, [client, id, snap.block]);

  // What the typed decrease pays, quoted by the SDK at this block (null while the field is not a size).
  useEffect(() => {
    let live = true;
    let sizeDelta: bigint;
    try {
      sizeDelta = parseUnits(decrease, 18);
    } catch {
      setDecreaseQuote(null);
      return;
    }
    if (sizeDelta <= 0n || twoStep) {
      setDecreaseQuote(null);
      return;
    }
    client.quoteDecrease({ id, sizeDelta }).then((q) => live && setDecreaseQuote(q), () => live && setDecreaseQuote(null));
    return () => {
      live = false;
    };
  }, [client, id, snap.block, decrease, twoStep]);

  // The what-if price: 50 % to 150 % of the price now, in 1 % steps; computed in the browser.
  const whatIfPrice = (now * BigInt(step)) / 100n;
  const w = healthAt(view, whatIfPrice, client.unit);
  const requests = snap.requests.filter((r) => r.positionId === id);

  return (
    <div className="detail-grid" data-testid={`detail-${id}`}>
      <div>
        <h3>What if the price were…</h3>
        <input type="range" min={50} max={150} value={step} onChange={(e) => setStep(Number(e.target.value))} data-testid="whatif" />
        <p data-testid="whatif-result" data-price={String(whatIfPrice)} data-health={String(w.healthFactor ?? "")} data-equity={String(w.equity)}>
          At {price(whatIfPrice)} ({step - 100 >= 0 ? "+" : ""}{step - 100} %): PnL {money(w.pnl, client.token)}, equity {money(w.equity, client.token)},
          health {factor(w.healthFactor)}{w.liquidatable ? <strong className="bad"> — liquidatable</strong> : null}.
        </p>
        <p className="muted">Vault <span className="mono">{view.vault}</span> holds {money(view.vaultBalance, client.token)}.</p>
      </div>
      <div className="actions">
        <h3>Manage</h3>
        <div className="action">
          <input value={topUp} onChange={(e) => setTopUp(e.target.value)} data-testid="topup-amount" />
          <button disabled={busy} data-testid="topup" onClick={() => void run(async () => {
            const amount = parsePositive(topUp, d, "Top-up", sym);
            await client.addCollateral({ id, amount });
            return `Added ${money(amount, client.token)} to position #${id}.`;
          })}>Top up</button>
        </div>
        <div className="action">
          <input value={remove} placeholder={maxRemovable === null ? "" : `max ${formatUnits(maxRemovable.amount, d)}`} onChange={(e) => setRemove(e.target.value)} data-testid="remove-amount" />
          <button className="link" disabled={maxRemovable === null || maxRemovable.amount === 0n} data-testid="remove-max"
            data-raw={maxRemovable === null ? "" : String(maxRemovable.amount)} data-block={maxRemovable?.block ?? ""}
            onClick={() => setRemove(formatUnits(maxRemovable?.amount ?? 0n, d))}>max</button>
          <button disabled={busy} data-testid="remove" onClick={() => void run(async () => {
            const amount = parsePositive(remove, d, "The amount to remove", sym);
            await client.removeCollateral({ id, amount });
            return `Removed ${money(amount, client.token)} from position #${id}.`;
          })}>Remove</button>
        </div>
        <div className="action">
          <input value={decrease} placeholder={`size, of ${formatSize(view.position.size)}`} onChange={(e) => setDecrease(e.target.value)} data-testid="decrease-size" />
          <button disabled={busy} data-testid="decrease" onClick={() => void run(async () => {
            const sizeDelta = parsePositive(decrease, 18, "The size to decrease", "index units");
            if (twoStep) {
              const r = await client.requestDecrease({ id, sizeDelta });
              return `Decrease request #${r.requestId} sent.`;
            }
            const r = await client.decrease({ id, sizeDelta });
            return `Position #${id} decreased by ${formatSize(sizeDelta)}; ${money(r.event.payout, client.token)} paid out.`;
          })}>Decrease</button>
        </div>
        {decreaseQuote !== null && (
          <p className="muted" data-testid="decrease-quote" data-block={decreaseQuote.blockNumber} data-received={String(decreaseQuote.received)} data-min-received={String(decreaseQuote.minReceived)}>
            {decreaseQuote.ok
              ? `Pays ${money(decreaseQuote.received, client.token)} at ${price(decreaseQuote.price)}, at least ${money(decreaseQuote.minReceived, client.token)} at the fill bound ${price(decreaseQuote.acceptablePrice)}.`
              : decreaseQuote.issues[0]!.message}
          </p>
        )}
        <div className="action">
          <button disabled={busy} className="danger" data-testid="close" onClick={() => void run(async () => {
            if (twoStep) {
              const r = await client.requestClose({ id });
              return `Close request #${r.requestId} sent.`;
            }
            const r = await client.close({ id });
            return `Position #${id} closed at ${price(r.event.price)}; ${money(r.event.payout, client.token)} paid out.`;
          })}>Close</button>
        </div>
        {requests.length > 0 && (
          <ul className="requests" data-testid="position-requests">
            {requests.map((r) => <li key={String(r.id)}>{r.kind} request #{String(r.id)}: {r.status.replace(/-/g, " ")}</li>)}
          </ul>
        )}
      </div>
      <Orders client={client} snap={snap} view={view} run={run} busy={busy} />
    </div>
  );
}

