import { useState } from "react";
import { formatUnits, parseUnits, type BulkheadClient } from "@bulkhead/sdk";
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
  const instant = snap.router === null;
  const mints = assets !== null && pool.totalAssets !== null ? PoolMath.toSharesDown(assets, pool.totalAssets, pool.totalSupply) : null;
  const burns = assets !== null && pool.totalAssets !== null ? PoolMath.toSharesUp(assets, pool.totalAssets, pool.totalSupply) : null;
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
        })}>Deposit</button>
        <button disabled={busy} data-testid="lp-withdraw" onClick={() => void run(async () => {
          const assets = parsePositive(amount, t.decimals, "The withdrawal", t.symbol);
          if (assets > lp.maxWithdraw) throw new InputError(`You can withdraw at most ${money(lp.maxWithdraw, t)} now (limited by your shares and the free liquidity).`);
          const r = await client.withdraw({ assets });
          return `Withdrew ${money(assets, t)} for ${shares(r.shares)}.`;
        })}>Withdraw</button>
      </div>
      {instant && mints !== null && burns !== null && (
        <p className="muted" data-testid="lp-preview">
          A deposit of {money(assets!, t)} mints <span data-testid="lp-preview-mint" data-raw={String(mints)}>{shares(mints)}</span>; a
          withdrawal of it burns <span data-testid="lp-preview-burn" data-raw={String(burns)}>{shares(burns)}</span> (at block {pool.blockNumber}).
        </p>
      )}
      {pool.paused && <p className="bad">The pool is paused.</p>}
    </section>
  );
}
