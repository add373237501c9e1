// Injected wallets: EIP-6963 discovery (every extension announces itself), with the legacy
// `window.ethereum` as a fallback for wallets that do not announce.

/** The EIP-1193 surface the app uses. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface InjectedWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
  interface WindowEventMap {
    "eip6963:announceProvider": CustomEvent<InjectedWallet>;
  }
}

/** Calls `onChange` with every wallet found so far, now and as more announce themselves; returns a stop function. */
export function discoverWallets(onChange: (wallets: InjectedWallet[]) => void, fallbackAfterMs = 250): () => void {
  const found = new Map<string, InjectedWallet>();
  const onAnnounce = (e: CustomEvent<InjectedWallet>) => {
    if (!e.detail?.info?.uuid || !e.detail.provider) return;
    found.set(e.detail.info.uuid, e.detail);
    onChange([...found.values()]);
  };
  window.addEventListener("eip6963:announceProvider", onAnnounce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  const timer = setTimeout(() => {
    if (found.size === 0 && window.ethereum) {
      found.set("window.ethereum", { info: { uuid: "window.ethereum", name: "Browser wallet", icon: "", rdns: "" }, provider: window.ethereum });
      onChange([...found.values()]);
    }
  }, fallbackAfterMs);
  return () => {
    clearTimeout(timer);
    window.removeEventListener("eip6963:announceProvider", onAnnounce);
  };
}

export const toHexChainId = (chainId: number) => `0x${chainId.toString(16)}`;

/** Asks the wallet to switch to `chainId` (EIP-3326). */
export async function switchChain(provider: Eip1193Provider, chainId: number): Promise<void> {
  await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: toHexChainId(chainId) }] });
}
