// Before connecting to an HTTP network: its RPC URL and deployer key must resolve (environment or
// Hardhat keystore) and look right, so a missing secret fails with its name, not a socket error.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { ConfigIssue } from "./config.js";

type Variable = { get(): Promise<string>; name?: string; format: string };

const label = (v: Variable) => (v.name ? `configuration variable ${v.name}` : "the configured value");
const hint = (v: Variable) => (v.name ? ` (set it with \`npx hardhat keystore set ${v.name}\` or export ${v.name})` : "");

async function value(v: Variable): Promise<string | Error> {
  try {
    return (await v.get()).trim();
  } catch (e) {
    return e as Error;
  }
}

/** Problems with the network's URL and accounts, named after their configuration variables. */
export async function networkSecretIssues(hre: HardhatRuntimeEnvironment, networkName: string): Promise<ConfigIssue[]> {
  const net = hre.config.networks[networkName];
  if (net === undefined) return [{ field: "--network", problem: `no network named "${networkName}" in hardhat.config.ts` }];
  if (net.type !== "http") return [];
  const issues: ConfigIssue[] = [];
  const url = await value(net.url);
  const urlField = `networks.${networkName}.url`;
  if (url instanceof Error || url === "") {
    issues.push({ field: urlField, problem: `${label(net.url)} is not set${hint(net.url)}` });
  } else if (!/^https?:\/\//.test(url) && !/^wss?:\/\//.test(url)) {
    issues.push({ field: urlField, problem: `${label(net.url)} is not an http(s) URL` });
  }
  const accounts = net.accounts;
  if (Array.isArray(accounts)) {
    if (accounts.length === 0) issues.push({ field: `networks.${networkName}.accounts`, problem: "no deployer key configured" });
    for (const [i, a] of accounts.entries()) {
      const key = await value(a);
      const field = `networks.${networkName}.accounts[${i}]`;
      if (key instanceof Error || key === "") issues.push({ field, problem: `${label(a)} is not set${hint(a)}` });
      else if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) issues.push({ field, problem: `${label(a)} is not a 32-byte hex private key` });
    }
  }
  return issues;
}
