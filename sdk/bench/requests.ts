// JSON-RPC requests of a front-end's first page load (printed, not asserted; the bound is asserted
// in test/sdk/requests.ts): connect, markets, the owner's positions with health, the pool and LP
// panel, then one open. Counted by an EIP-1193 wrapper under an ethers BrowserProvider, once with
// a wallet's default provider (ethers asks eth_chainId before each request to notice a switched
// chain) and once with a static network.
import { network } from "hardhat";
import { BrowserProvider } from "ethers";
import { BulkheadClient } from "../src/index.js";
import { CountingEip1193, deployForSdk } from "../../test/sdk/helpers/system.js";
import { USDC, WAD } from "../../test/helpers/fixture.js";

const connection = await network.connect();
const sys = await deployForSdk(connection.ethers);
const { alice } = sys.signers;
const opener = await BulkheadClient.connect(alice, { addresses: sys.addresses });
for (let i = 0; i < 10; i++) await opener.open({ market: i % 2, side: i % 3 ? "long" : "short", collateral: 100n * USDC, leverage: 2n * WAD });
const ids = Array.from({ length: 10 }, (_, i) => BigInt(i + 1));

for (const staticNetwork of [false, true]) {
  const counter = new CountingEip1193(connection.provider);
  const provider = new BrowserProvider(counter, undefined, { staticNetwork, cacheTimeout: -1 });
  const signer = await provider.getSigner(alice.address);
  const counts: Record<string, number> = {};
  const step = async (name: string, f: () => Promise<unknown>) => {
    counter.reset();
    await f();
    counts[name] = counter.total;
  };
  let client!: BulkheadClient;
  counter.reset();
  await step("connect", async () => (client = await BulkheadClient.connect(signer, { addresses: sys.addresses })));
  await step("getMarkets", () => client.getMarkets());
  await step("getPositions(10)", () => client.getPositions(ids));
  await step("getPool", () => client.getPool());
  await step("getLpPosition", () => client.getLpPosition(alice.address));
  counter.reset();
  await Promise.all([client.getMarkets(), client.getPositions(ids), client.getPool(), client.getLpPosition(alice.address)]);
  counts["page reads in parallel"] = counter.total;
  await step("open (allowance set)", () => client.open({ market: 0, side: "long", collateral: 100n * USDC, leverage: 2n * WAD }));
  counter.reset();
  await step("getTradeHistory(owner)", () => client.getTradeHistory(alice.address, { timestamps: false }));
  console.log(`JSON-RPC requests, ${staticNetwork ? "BrowserProvider with a static network" : "default BrowserProvider (eth_chainId before each request)"}:`);
  for (const [k, v] of Object.entries(counts)) console.log(`  ${k.padEnd(28)} ${v}`);
  console.log(`  first page load (connect + the four reads in parallel): ${counts.connect! + counts["page reads in parallel"]!}`);
}
