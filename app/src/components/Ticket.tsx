import { useEffect, useState } from "react";
import { formatLeverage, formatSize, InsufficientBalanceError, sizeForLeverage, type BulkheadClient, type OpenQuote, type RequestQuote, type Side } from "@bulkhead/sdk";
import type { Run, Snapshot } from "../App";
import { errorSentence, explorerLink, quoteIssues } from "../sdk";
import { money, parsePositive, price, WAD } from "../format";

interface Props {
  client: BulkheadClient;
  snap: Snapshot;
  run: Run;
  busy: boolean;
}

/** The trade ticket: side, collateral and a leverage slider, with a live quote. */
export function Ticket({ client, snap, run, busy }: Props) {
  const [marketId, setMarketId] = useState(0);
  const [side, setSide] = useState<Side>("long");
  const [collateral, setCollateral] = useState("100");
  const [leverageTenths, setLeverageTenths] = useState(50);
  const [quote, setQuote] = useState<OpenQuote | null>(null);
  const [requestQuote, setRequestQuote] = useState<RequestQuote | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const market = snap.markets.find((m) => m.id === marketId) ?? snap.markets[0];
  const maxTenths = market ? Number(market.params.maxLeverage / (WAD / 10n)) : 500;
  const leverage = (BigInt(leverageTenths) * WAD) / 10n;
  const twoStep = snap.router !== null;

  // The quote follows every input and every new block.
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const amount = parsePositive(collateral, client.token.decimals, "Collateral", client.token.symbol);
        const q = await client.quoteOpen({ market: marketId, side, collateral: amount, leverage });
        let rq: RequestQuote | null = null;
        if (twoStep) rq = await client.quoteRequestOpen({ market: marketId, side, amount: amount + q.openFee, size: q.size });
        if (!live) return;
        setQuote(q);
        setRequestQuote(rq);
        const first = quoteIssues(q.issues)[0];
        // The SDK's quote checks the balance before any approval; the ticket says it in the trader's terms.
        setProblem(
          first instanceof InsufficientBalanceError
            ? `Your wallet has ${money(first.args.balance, client.token)}; this trade needs ${money(first.args.needed, client.token)} (collateral and open fee).`
            : (first?.message ?? null),
        );
      } catch (e) {
        if (!live) return;
        setQuote(null);
        setProblem(errorSentence(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [client, marketId, side, collateral, leverageTenths, snap.block]);

  const open = () =>
    run(async () => {
      const amount = parsePositive(collateral, client.token.decimals, "Collateral", client.token.symbol);
      if (twoStep) {
        const q = await client.quoteOpen({ market: marketId, side, collateral: amount, leverage });
        const size = q.size > 0n ? q.size : sizeForLeverage(amount, leverage, q.price, client.unit);
        const r = await client.requestOpen({ market: marketId, side, amount: amount + q.openFee, size });
        return `Open request #${r.requestId} sent; it fills at the report of second ${r.event.settlesAt}.`;
      }
      const r = await client.open({ market: marketId, side, collateral: amount, leverage });
      return `Position #${r.id} opened at ${price(r.event.price)}; its collateral sits in vault ${r.vault}.`;
    });

  const vaultLink = explorerLink(client.chainId, "address", snap.next.vault);
  return (
    <section className="card ticket" data-testid="ticket">
      <h2>Trade</h2>
      <div className="fields">
        <label>
          Market
          <select value={marketId} onChange={(e) => setMarketId(Number(e.target.value))} data-testid="ticket-market">
            {snap.markets.map((m) => <option key={m.id} value={m.id}>{m.symbol ?? `#${m.id}`}</option>)}
          </select>
        </label>
        <div className="sides">
          {(["long", "short"] as const).map((s) => (
            <button key={s} className={side === s ? `side ${s} active` : "side"} onClick={() => setSide(s)} data-testid={`side-${s}`}>
              {s === "long" ? "Long" : "Short"}
            </button>
          ))}
        </div>
        <label>
          Collateral ({client.token.symbol})
          <input value={collateral} onChange={(e) => setCollateral(e.target.value)} inputMode="decimal" data-testid="ticket-collateral" />
        </label>
        <label>
          Leverage <strong data-testid="ticket-leverage-value">{formatLeverage(leverage, 1)}</strong>
          <input type="range" min={11} max={maxTenths} step={1} value={Math.min(leverageTenths, maxTenths)}
            onChange={(e) => setLeverageTenths(Number(e.target.value))} data-testid="ticket-leverage" />
        </label>
      </div>
      {quote && (
        <dl className="quote" data-testid="quote">
          <dt>Size</dt><dd data-testid="quote-size">{formatSize(quote.size)} {market?.symbol?.split("/")[0] ?? ""}</dd>
          <dt>Notional</dt><dd>{money(quote.notional, client.token)}</dd>
          <dt>Open fee</dt>
          <dd>{requestQuote ? `${money(requestQuote.openFee.min, client.token)} – ${money(requestQuote.openFee.max, client.token)}` : money(quote.openFee, client.token)}</dd>
          {requestQuote && <><dt>Execution fee</dt><dd>{(Number(requestQuote.executionFee.fee) / 1e18).toPrecision(3)} ETH</dd></>}
          <dt>Fill bound</dt>
          <dd data-testid="quote-acceptable">{side === "long" ? "at most" : "at least"} {price(requestQuote?.acceptablePrice ?? quote.acceptablePrice)}</dd>
          <dt>Liquidation price</dt><dd data-testid="quote-liquidation" data-raw={String(quote.liquidationPrice)}>{price(quote.liquidationPrice)}</dd>
          <dt>Collateral vault</dt>
          <dd className="mono" data-testid="quote-vault" title={`position #${snap.next.id} (if no other position opens first)`}>
            {vaultLink ? <a href={vaultLink} target="_blank" rel="noreferrer">{snap.next.vault}</a> : snap.next.vault}
          </dd>
          <dt>Wallet</dt><dd data-testid="balance">{money(snap.lp.assetBalance, client.token)}</dd>
        </dl>
      )}
      {problem && <p className="bad" data-testid="quote-problem">{problem}</p>}
      <button className="primary" disabled={busy || problem !== null || quote === null} onClick={() => void open()} data-testid="ticket-open">
        {twoStep ? "Request" : "Open"} {side} {formatLeverage(leverage, 1)}
      </button>
    </section>
  );
}
