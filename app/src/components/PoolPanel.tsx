import { useEffect, useState } from "react";
import { formatUnits, parseUnits, type BulkheadClient, type LpRequestQuote } from "@bulkhead/sdk";
import { PoolMath } from "@bulkhead/sdk/math";
import type { Run, Snapshot } from "../App";
import { money, parsePositive, pct } from "../format";
import { InputError } from "../sdk";

/** The typed amount in token units, or null while it is not a positive amount (the preview waits for one). */
function typed(text: string, decimals: number): bigint | null {
  try {
    const v = parseUnits(text, decimals);
    return v > 0n ? v : null;
  } catch {
    return null;
  }
}

export function PoolPanel({ client, snap, run, busy }: { client: BulkheadClient; snap: Snapshot; run: Run; busy: boolean }) {
  const [amount, setAmount] = useState("1000");
  const { pool, lp } = snap;
  const t = client.token;
  const shares = (x: bigint) => `${formatUnits(x, pool.shareDecimals, { maxDecimals: 4, rounding: "down", thousands: "," })} shares`;
  const share = pool.sharePrice === null ? "unpriced (a feed is invalid)" : money(pool.sharePrice, t);
  // ERC-4626 previews at the block the pool was read at, with the pool's own rounding (deposit
  // down, withdraw up); an asynchronous pool prices its requests at execution instead.
  const assets = typed(amount, t.decimals);
  const instant = snap.lpAsync === null;
  const mints = assets !== null && pool.totalAssets !== null ? PoolMath.toSharesDown(assets, pool.totalAssets, pool.totalSupply) : null;
  const burns = assets !== null && pool.totalAssets !== null ? PoolMath.toSharesUp(assets, pool.totalAssets, pool.totalSupply) : null;
  // An asynchronous deposit fills at its settlement second's reports: the SDK bounds the shares
  // over the prices those reports can carry.
  const [requestQuote, setRequestQuote] = useState<LpRequestQuote | null>(null);
  useEffect(() => {
    let live = true;
    if (instant || assets === null) {
      setRequestQuote(null);
      return;
    }
    client.quoteLpRequest({ kind: "Deposit", amount: assets }).then((q) => live && setRequestQuote(q), () => live && setRequestQuote(null));
    return () => {
      live = false;
    };
  }, [client, instant, String(assets), snap.block]);
  return (
    <section className="card" data-testid="pool" data-block={pool.blockNumber}>
      <h2>Liquidity pool</h2>
      <dl className="quote">
        <dt>Share price</dt><dd data-testid="share-price">{share} per share</dd>
        <dt>Total assets</dt><dd>{pool.totalAssets === null ? "—" : money(pool.totalAssets, t)}</dd>
        <dt>Utilisation</dt><dd data-testid="utilisation">{pct(pool.utilisation)}</dd>
        <dt>Free liquidity</dt><dd data-testid="free-liquidity">{money(pool.freeLiquidity, t)}</dd>
        <dt>Insurance fund</dt><dd>{money(pool.insuranceFund, t)}</dd>
        <dt>Your shares</dt>
        <dd data-testid="lp-shares" data-raw={String(lp.shares)}>
          {shares(lp.shares)}, worth {lp.assets === null ? "—" : money(lp.assets, t)}; withdrawable now{" "}
          <span data-testid="lp-max-withdraw" data-raw={String(lp.maxWithdraw)}>{money(lp.maxWithdraw, t)}</span>
        </dd>
      </dl>
      <div className="action">
        <input value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="lp-amount" />
        <button disabled={busy} data-testid="lp-deposit" onClick={() => void run(async () => {
          const assets = parsePositive(amount, t.decimals, "The deposit", t.symbol);
          if (await client.isPoolAsync()) {
            const r = await client.requestDeposit({ assets });
            return `Deposit request #${r.requestId} sent; claim its shares once it is executed.`;
          }
          const r = await client.deposit({ assets });
          return `Deposited ${money(assets, t)} for ${shares(r.shares)}.`;
        })}>{snap.lpAsync === null ? "Deposit" : "Request deposit"}</button>
        <button disabled={busy} data-testid="lp-withdraw" onClick={() => void run(async () => {
          const assets = parsePositive(amount, t.decimals, "The withdrawal", t.symbol);
          if (snap.lpAsync !== null) {
            // A redemption is of shares, priced at its pinned reports: the shares worth the typed amount now.
            if (pool.totalAssets === null) throw new InputError("The pool cannot price its shares while a market feed is invalid: try again once the feeds are back.");
            const redeem = PoolMath.toSharesUp(assets, pool.totalAssets, pool.totalSupply);
            if (redeem > lp.shares) throw new InputError(`You hold ${shares(lp.shares)}; ${money(assets, t)} needs ${shares(redeem)} at today's share price.`);
            const r = await client.requestRedeem({ shares: redeem });
            return `Redemption request #${r.requestId} for ${shares(redeem)} sent; claim its ${t.symbol} once it is executed.`;
          }
          if (assets > lp.maxWithdraw) throw new InputError(`You can withdraw at most ${money(lp.maxWithdraw, t)} now (limited by your shares and the free liquidity).`);
          const r = await client.withdraw({ assets });
          return `Withdrew ${money(assets, t)} for ${shares(r.shares)}.`;
        })}>{snap.lpAsync === null ? "Withdraw" : "Request redemption"}</button>
      </div>
      {instant && mints !== null && burns !== null && (
        <p className="muted" data-testid="lp-preview">
          A deposit of {money(assets!, t)} mints <span data-testid="lp-preview-mint" data-raw={String(mints)}>{shares(mints)}</span>; a
          withdrawal of it burns <span data-testid="lp-preview-burn" data-raw={String(burns)}>{shares(burns)}</span> (at block {pool.blockNumber}).
        </p>
      )}
      {requestQuote !== null && (
        <p className="muted" data-testid="lp-request-preview" data-min={String(requestQuote.result.min)} data-max={String(requestQuote.result.max)}>
          A deposit request of {money(requestQuote.amount, t)} mints between {shares(requestQuote.result.min)} and {shares(requestQuote.result.max)} at
          its reports, {requestQuote.settlementDelay} s after it is sent; execution fee {formatUnits(requestQuote.executionFee.fee, 18, { maxDecimals: 6 })} of the chain's native token.
        </p>
      )}
      {snap.lpAsync !== null && (
        <div data-testid="lp-async">
          <p className="muted">This pool is asynchronous (ERC-7540): deposits and redemptions are requests a keeper executes at the reports of their settlement second; their result is then yours to claim.</p>
          {snap.lpAsync.requests.length > 0 && (
            <ul className="requests" data-testid="lp-requests">
              {snap.lpAsync.requests.map((r) => (
                <li key={String(r.id)} data-testid="lp-request" data-request-id={String(r.id)}>
                  {r.kind === "Deposit" ? `Deposit request #${r.id}: ${money(r.amount, t)}` : `Redemption request #${r.id}: ${shares(r.amount)}`}, settles at second {r.settlesAt}, waiting for its execution
                </li>
              ))}
            </ul>
          )}
          {snap.lpAsync.claimable.deposits.shares > 0n && (
            <button disabled={busy} data-testid="lp-claim-deposit" data-raw={String(snap.lpAsync.claimable.deposits.shares)} onClick={() => void run(async () => {
              const r = await client.claimDeposit();
              return `Claimed ${shares(r.shares)}.`;
            })}>Claim {shares(snap.lpAsync.claimable.deposits.shares)}</button>
          )}
          {snap.lpAsync.claimable.redemptions.assets > 0n && (
            <button disabled={busy} data-testid="lp-claim-redeem" data-raw={String(snap.lpAsync.claimable.redemptions.assets)} onClick={() => void run(async () => {
              const r = await client.claimRedeem();
              return `Claimed ${money(r.assets, t)}.`;
            })}>Claim {money(snap.lpAsync.claimable.redemptions.assets, t)}</button>
          )}
        </div>
      )}
      {pool.paused && <p className="bad">The pool is paused.</p>}
    </section>
  );
}
