import { useState } from "react";
import type { BulkheadClient } from "@bulkhead/sdk";
import type { Run, Snapshot } from "../App";
import { money, parsePositive, pct } from "../format";
import { InputError } from "../sdk";

export function PoolPanel({ client, snap, run, busy }: { client: BulkheadClient; snap: Snapshot; run: Run; busy: boolean }) {
  const [amount, setAmount] = useState("1000");
  const { pool, lp } = snap;
  const t = client.token;
  const share = pool.sharePrice === null ? "unpriced (a feed is invalid)" : money(pool.sharePrice, t);
  return (
    <section className="card" data-testid="pool">
      <h2>Liquidity pool</h2>
      <dl className="quote">
        <dt>Share price</dt><dd data-testid="share-price">{share} per share</dd>
        <dt>Total assets</dt><dd>{pool.totalAssets === null ? "—" : money(pool.totalAssets, t)}</dd>
        <dt>Utilisation</dt><dd data-testid="utilisation">{pct(pool.utilisation)}</dd>
        <dt>Free liquidity</dt><dd data-testid="free-liquidity">{money(pool.freeLiquidity, t)}</dd>
        <dt>Insurance fund</dt><dd>{money(pool.insuranceFund, t)}</dd>
        <dt>Your shares</dt><dd>{lp.assets === null ? "—" : money(lp.assets, t)} (withdrawable now {money(lp.maxWithdraw, t)})</dd>
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
          return `Deposited ${money(assets, t)} for ${r.shares} shares.`;
        })}>Deposit</button>
        <button disabled={busy} data-testid="lp-withdraw" onClick={() => void run(async () => {
          const assets = parsePositive(amount, t.decimals, "The withdrawal", t.symbol);
          if (assets > lp.maxWithdraw) throw new InputError(`You can withdraw at most ${money(lp.maxWithdraw, t)} now (limited by your shares and the free liquidity).`);
          await client.withdraw({ assets });
          return `Withdrew ${money(assets, t)}.`;
        })}>Withdraw</button>
      </div>
      {pool.paused && <p className="bad">The pool is paused.</p>}
    </section>
  );
}
