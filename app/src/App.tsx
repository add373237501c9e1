import { useCallback, useEffect, useRef, useState } from "react";
import type { BulkheadClient, LpClaimable, LpPosition, LpRequestView, MarketInfo, OrderList, PoolState, PositionView, RequestView } from "@bulkhead/sdk";
import { discoverWallets, switchChain, type InjectedWallet } from "./wallet";
import {
  connectClient, errorSentence, feedAges, loadDeployments, pendingLpRequests, pendingRequests, tradeHistory,
  type AppDeployment, type HistoryEntry,
} from "./sdk";
import { factor, parsePositive, price, pct, short } from "./format";
import { Markets } from "./components/Markets";
import { Ticket } from "./components/Ticket";
import { Positions } from "./components/Positions";
import { PoolPanel } from "./components/PoolPanel";
import { History } from "./components/History";

/** Everything a screen shows, read after each new block. */
export interface Snapshot {
  block: number;
  markets: MarketInfo[];
  ages: Map<number, number | null>;
  positions: PositionView[];
  orders: Map<bigint, OrderList>;
  requests: RequestView[];
  pool: PoolState;
  lp: LpPosition;
  /** An asynchronous (ERC-7540) pool: what the account can claim and its LP requests still pending; null for an instant pool. */
  lpAsync: { claimable: LpClaimable; requests: LpRequestView[] } | null;
  router: string | null;
  orderBook: string | null;
  next: { id: bigint; vault: string };
  /** Read only while the history tab is open (null otherwise): the page load needs no log scan of the past. */
  history: HistoryEntry[] | null;
}

/** Runs a user action: shows its sentence on failure, a notice on success, then refreshes. */
export type Run = (fn: () => Promise<string | void>) => Promise<boolean>;

interface Session {
  wallet: InjectedWallet;
  account: string;
  chainId: number;
}

type Tab = "trade" | "pool" | "history";

const THRESHOLD_KEY = "bulkhead.healthWarning";

async function readSnapshot(client: BulkheadClient, account: string, known: number | null, withHistory: boolean): Promise<Snapshot> {
  // One lens call for the markets with the pool, the account's LP position, wallet balance and
  // router, one for the positions (after one Transfer-log scan for their ids). A forced read (the
  // first, or after an action) scans the logs up to the block the overview ran at, so it needs no
  // eth_blockNumber first (bench/app.md counts the page load's requests).
  const head = client.getOverview(account);
  const block = known ?? (await head).pool.blockNumber;
  const [{ markets, pool, lp }, positions, history] = await Promise.all([
    head,
    client.getPositionsOf(account, { toBlock: block }),
    withHistory ? tradeHistory(client, account) : null,
  ]);
  const { router } = pool;
  const next = { id: pool.nextPositionId, vault: client.vaultOf(pool.nextPositionId) };
  const ages = feedAges(markets);
  const orderBook = router === null ? null : await client.getOrderBook();
  const orders = new Map<bigint, OrderList>();
  if (orderBook !== null) {
    const list = await client.getOrders({ owner: account });
    for (const p of positions) {
      orders.set(p.id, {
        orders: list.orders.filter((o) => o.activePositionId === p.id),
        guards: list.guards.filter((g) => g.positionId === p.id),
      });
    }
  }
  const requests = router === null ? [] : await pendingRequests(client, account);
  const lpAsync = router !== null
    ? await Promise.all([client.getLpClaimable(account), pendingLpRequests(client, account)]).then(([claimable, requests]) => ({ claimable, requests }))
    : null;
  positions.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { block, markets, ages, positions, orders, requests, pool, lp, lpAsync, router, orderBook, next, history };
}

export function App() {
  const [wallets, setWallets] = useState<InjectedWallet[]>([]);
  const [deployments, setDeployments] = useState<AppDeployment[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [client, setClient] = useState<BulkheadClient | null>(null);
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [tab, setTab] = useState<Tab>("trade");
  const [threshold, setThreshold] = useState(() => localStorage.getItem(THRESHOLD_KEY) ?? "1.5");
  const refreshing = useRef(false);
  /** What the shown snapshot was read for (block and whether with history); "" forces the next read. */
  const lastRead = useRef("");

  useEffect(() => discoverWallets(setWallets), []);
  useEffect(() => {
    loadDeployments().then(setDeployments, (e) => setError(errorSentence(e)));
  }, []);

  const deployment = session && deployments ? deployments.find((d) => d.chainId === session.chainId) ?? null : null;

  // Wallet events: a new account or chain rebuilds the client (a client never outlives its chain).
  useEffect(() => {
    if (!session) return;
    const { provider } = session.wallet;
    const onAccounts = (...args: unknown[]) => {
      const accounts = args[0] as string[];
      if (!accounts?.[0]) {
        setSession(null);
        return;
      }
      setSession((s) => (s ? { ...s, account: accounts[0]! } : s));
    };
    const onChain = (...args: unknown[]) => setSession((s) => (s ? { ...s, chainId: Number(args[0] as string) } : s));
    provider.on?.("accountsChanged", onAccounts);
    provider.on?.("chainChanged", onChain);
    return () => {
      provider.removeListener?.("accountsChanged", onAccounts);
      provider.removeListener?.("chainChanged", onChain);
    };
  }, [session?.wallet]);

  useEffect(() => {
    setClient(null);
    setSnap(null);
    lastRead.current = "";
    if (!session || !deployment) return;
    let live = true;
    connectClient(session.wallet.provider, session.account, deployment).then(
      (c) => live && setClient(c),
      (e) => live && setError(errorSentence(e)),
    );
    return () => {
      live = false;
    };
  }, [session?.account, session?.chainId, session?.wallet, deployment]);

  const refresh = useCallback(
    async (force = false) => {
      if (!client || !session || refreshing.current) return;
      refreshing.current = true;
      try {
        const withHistory = tab === "history";
        const block = force ? null : await client.latestBlock();
        if (block !== null && `${block}/${withHistory}` === lastRead.current) return;
        const s = await readSnapshot(client, session.account, block, withHistory);
        lastRead.current = `${s.block}/${withHistory}`;
        setSnap(s);
      } catch (e) {
        setError(errorSentence(e));
      } finally {
        refreshing.current = false;
      }
    },
    [client, session?.account, tab],
  );

  useEffect(() => {
    if (!client) return;
    void refresh(true);
    const timer = setInterval(() => void refresh(), 1_000);
    return () => clearInterval(timer);
  }, [client, refresh]);

  const run: Run = useCallback(
    async (fn) => {
      setBusy(true);
      setError(null);
      setNotice(null);
      try {
        const done = await fn();
        if (done) setNotice(done);
        return true;
      } catch (e) {
        setError(errorSentence(e));
        return false;
      } finally {
        setBusy(false);
        lastRead.current = "";
        void refresh(true);
      }
    },
    [refresh],
  );

  const connect = async (wallet: InjectedWallet) => {
    setError(null);
    try {
      const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as string[];
      const chainId = Number((await wallet.provider.request({ method: "eth_chainId" })) as string);
      if (!accounts[0]) throw new Error("Your wallet shared no account");
      setSession({ wallet, account: accounts[0], chainId });
    } catch (e) {
      setError(errorSentence(e));
    }
  };

  let warnLevel: bigint | null = null;
  try {
    warnLevel = parsePositive(threshold, 18, "The warning level", "health");
  } catch {
    warnLevel = null;
  }
  const warnings = (snap?.positions ?? []).filter((p) => warnLevel !== null && p.health?.healthFactor != null && p.health.healthFactor < warnLevel);
  const symbolOf = (id: number) => snap?.markets.find((m) => m.id === id)?.symbol ?? `market ${id}`;

  return (
    <div className="app">
      <header>
        <h1>Bulkhead</h1>
        <span className="muted">isolated margin: every position has its own vault</span>
        <div className="spacer" />
        {session ? (
          <span className="account" data-testid="account">
            {session.wallet.info.name} · {short(session.account)} · chain {session.chainId}
          </span>
        ) : wallets.length === 0 ? (
          <span className="muted">No browser wallet found: install one (any EIP-1193 wallet) and reload.</span>
        ) : (
          wallets.map((w) => (
            <button key={w.info.uuid} onClick={() => void connect(w)} data-testid="connect">
              Connect {w.info.name}
            </button>
          ))
        )}
      </header>

      {session && deployments && !deployment && (
        <div className="banner warn" data-testid="wrong-network">
          Your wallet is on chain {session.chainId}; this app trades on {deployments.map((d) => `chain ${d.chainId} (${d.network})`).join(", ")}.{" "}
          {deployments.map((d) => (
            <button key={d.chainId} onClick={() => switchChain(session.wallet.provider, d.chainId).catch((e) => setError(errorSentence(e)))}>
              Switch to {d.network}
            </button>
          ))}
        </div>
      )}
      {error && (
        <div className="banner error" role="alert" data-testid="error">
          {error} <button className="link" onClick={() => setError(null)}>dismiss</button>
        </div>
      )}
      {notice && <div className="banner ok" data-testid="notice">{notice}</div>}
      {snap && client &&
        warnings.map((p) => (
          <div className="banner warn" key={String(p.id)} data-testid="health-warning">
            Position #{String(p.id)} ({symbolOf(p.position.marketId)} {p.position.isLong ? "long" : "short"}) has health {factor(p.health!.healthFactor)},
            under your warning level of {threshold}: top it up or reduce it. It is liquidated at {price(p.health!.liquidationPrice)} ({pct(p.health!.distanceToLiquidation)} away).
          </div>
        ))}

      {client && snap ? (
        <>
          <nav>
            {(["trade", "pool", "history"] as const).map((t) => (
              <button key={t} className={tab === t ? "tab active" : "tab"} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
                {t === "trade" ? "Trade" : t === "pool" ? "Pool" : "History"}
              </button>
            ))}
            <div className="spacer" />
            <label className="inline">
              Warn below health{" "}
              <input className="narrow" value={threshold} data-testid="threshold" onChange={(e) => {
                setThreshold(e.target.value);
                localStorage.setItem(THRESHOLD_KEY, e.target.value);
              }} />
            </label>
            <span className="muted">block {snap.block}</span>
          </nav>
          {tab === "trade" && (
            <>
              <div className="row">
                <Markets snap={snap} />
                <Ticket client={client} snap={snap} run={run} busy={busy} />
              </div>
              <Positions client={client} snap={snap} run={run} busy={busy} warnLevel={warnLevel} />
            </>
          )}
          {tab === "pool" && <PoolPanel client={client} snap={snap} run={run} busy={busy} />}
          {tab === "history" && <History client={client} snap={snap} />}
        </>
      ) : (
        session && deployment && !error && <p className="muted">Reading the deployment…</p>
      )}
    </div>
  );
}
