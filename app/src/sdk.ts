// Everything the app asks of the SDK beyond its plain methods sits here, so that a change of how
// it is read (a new SDK method, a watcher) is made in this one file and the screens do not change.
import { BrowserProvider, JsonRpcSigner, type Eip1193Provider as EthersEip1193 } from "ethers";
import {
  BulkheadClient,
  BulkheadError,
  isUserRejection,
  NoContractError,
  parseDeployment,
  walletError,
  WrongNetworkError,
  TradesRequireRequestError,
  type Deployment,
  type LpRequestView,
  type MarketInfo,
  type PositionEvent,
  type PositionView,
  type RequestView,
  type RiskParams,
} from "@bulkhead/sdk";
import { ConstantsLib, HealthLib } from "@bulkhead/sdk/math";
import type { Eip1193Provider } from "./wallet";

const WAD = ConstantsLib.WAD;

/** A deployment record with the fields the SDK's `Deployment` leaves out (written by the deploy script). */
export type AppDeployment = Deployment & { orderBook?: string };

/** Thrown by the app's own checks of what the user typed; its message is the sentence shown. */
export class InputError extends Error {
  override name = "InputError";
}

// ---------------------------------------------------------------- configuration

/**
 * The deployments the app can trade on, from `deployment.json` next to the page: one record as
 * `npm run deploy` / `npm run devnet` write it, or an array of them (one per chain).
 */
export async function loadDeployments(url = "deployment.json"): Promise<AppDeployment[]> {
  let res: Response;
  try {
    res = await fetch(url, { cache: "no-store" });
  } catch {
    throw new InputError("The app could not load its deployment record (deployment.json); check that the server is running.");
  }
  if (!res.ok) {
    throw new InputError("No deployment record was found: run `npm run node` and `npm run deploy -- --network localhost` (or `npm run devnet`), then reload.");
  }
  const json = (await res.json()) as unknown;
  const records = Array.isArray(json) ? json : [json];
  return records.map((r) => ({ ...parseDeployment(r), orderBook: typeof (r as AppDeployment).orderBook === "string" ? (r as AppDeployment).orderBook : undefined }));
}

/** Block explorers of the chains Bulkhead has deploy configurations for; a local chain has none. */
const EXPLORERS: Record<number, string> = {
  1: "https://etherscan.io",
  11155111: "https://sepolia.etherscan.io",
  42161: "https://arbiscan.io",
  421614: "https://sepolia.arbiscan.io",
  8453: "https://basescan.org",
  84532: "https://sepolia.basescan.org",
};

export function explorerLink(chainId: number, kind: "address" | "tx", value: string): string | null {
  const base = EXPLORERS[chainId];
  return base ? `${base}/${kind}/${value}` : null;
}

// ---------------------------------------------------------------- connection

/** A client on the wallet's signer. Reads go through the wallet too, as in any dapp. */
export async function connectClient(wallet: Eip1193Provider, account: string, deployment: AppDeployment): Promise<BulkheadClient> {
  // No response cache: a read right after the user's own transaction must see it.
  const provider = new BrowserProvider(wallet as EthersEip1193, deployment.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 1_000 });
  // The account came from eth_requestAccounts: a signer for it directly (getSigner would ask eth_accounts again).
  const signer = new JsonRpcSigner(provider, account);
  return BulkheadClient.connect(signer, { addresses: deployment, pollingInterval: 1_000 });
}

// ---------------------------------------------------------------- errors

const REJECTED = "You rejected the transaction in your wallet.";

/** The EIP-1193 or ethers code of a wallet error, however ethers wrapped it (the SDK types rejections, network changes and empty results; the rest are worded here). */
function walletCode(e: unknown): unknown {
  const x = e as { code?: unknown; info?: { error?: { code?: unknown } }; error?: { code?: unknown } } | null;
  return x?.info?.error?.code ?? x?.error?.code ?? x?.code;
}

/** Every failure as one sentence: the SDK's typed errors carry theirs; the rest are worded here. */
export function errorSentence(e: unknown): string {
  if (e instanceof BulkheadError || e instanceof InputError) return e.message;
  if (isUserRejection(e)) return REJECTED;
  const typed = walletError(e);
  if (typed instanceof WrongNetworkError) return "Your wallet switched networks during the request; the app reconnected, so try again.";
  if (typed instanceof NoContractError) return "A contract of the deployment record has no code on this chain: the record does not match the network your wallet is on.";
  const code = walletCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code === 4100) return "Your wallet has not authorised this site: connect it again.";
  if (code === 4902) return "Your wallet does not know this chain: add it in the wallet, then switch.";
  if (code === -32002) return "Your wallet already has a request open: answer it there first.";
  if (code === "INSUFFICIENT_FUNDS") return "Your wallet does not have enough of the chain's native token to pay for gas.";
  if (code === "UNKNOWN_ERROR" || code === "SERVER_ERROR") return "Your wallet's node did not answer as expected; check its connection and try again.";
  // ethers' own messages are long and carry calldata; keep their first clause only.
  const first = message.split(/ \(|\n/)[0]!.trim();
  return first.length > 0 && first.length < 160 ? `${first[0]!.toUpperCase()}${first.slice(1)}${/[.!?]$/.test(first) ? "" : "."}` : "Something went wrong; nothing was sent.";
}

/** Quote issues a front-end shows: on a two-step deployment `TradesRequireRequest` is the route, not a problem. */
export const quoteIssues = (issues: readonly Error[]) => issues.filter((i) => !(i instanceof TradesRequireRequestError));

// ---------------------------------------------------------------- reads

/** Seconds since each market's push feed last updated, at the block the markets were read (null when the feed does not answer). */
export function feedAges(markets: readonly Pick<MarketInfo, "id" | "feedUpdatedAt" | "blockTimestamp">[]): Map<number, number | null> {
  return new Map(markets.map((m) => [m.id, m.feedUpdatedAt === 0n ? null : Math.max(0, m.blockTimestamp - Number(m.feedUpdatedAt))] as const));
}

/** Health at another price, computed in the browser with the SDK's mirror of the contract math. */
export function healthAt(view: Pick<PositionView, "position" | "risk" | "index">, price: bigint, unit: bigint) {
  const p = view.position;
  const risk: RiskParams = view.risk;
  const h = HealthLib.withLiquidationPrice(HealthLib.health(p, risk, price, view.index, unit), p, risk, unit);
  return { ...h, healthFactor: h.maintenance === 0n ? null : (h.equity * WAD) / h.maintenance };
}

/** One line of the history tab. */
export interface HistoryEntry {
  event: PositionEvent;
  marketId: number | null;
  isLong: boolean | null;
}

/** The latest entries of `owner`'s trade history, newest first (one page of the SDK's `getTradeHistory`). */
export async function tradeHistory(client: BulkheadClient, owner: string, limit = 100): Promise<HistoryEntry[]> {
  return (await client.getTradeHistory(owner, { limit, timestamps: false })).entries;
}

/** Requests of `account` still pending on the router, with their status. */
export async function pendingRequests(client: BulkheadClient, account: string): Promise<RequestView[]> {
  const events = await client.getRequestEvents({ account });
  const ids = new Set<bigint>();
  for (const e of events) {
    if (e.type === "RequestCreated") ids.add(e.requestId);
    else ids.delete(e.requestId);
  }
  const views = await Promise.all([...ids].map((id) => client.getRequest(id)));
  return views.filter((v): v is RequestView => v !== null);
}

/** LP requests `account` controls that are neither executed nor cancelled (an asynchronous pool's deposits and redemptions). */
export async function pendingLpRequests(client: BulkheadClient, account: string): Promise<LpRequestView[]> {
  const ids = new Set<bigint>();
  for (const e of await client.getLpRequestEvents()) {
    if (e.type === "LpRequestCreated") ids.add(e.requestId);
    else ids.delete(e.requestId);
  }
  const views = await Promise.all([...ids].map((id) => client.getLpRequest(id)));
  return views.filter((v): v is LpRequestView => v !== null && !v.claimable && v.controller.toLowerCase() === account.toLowerCase());
}
