// The keeper's components on Hardhat's in-process network: the SDK fixture deployment, an ethers
// provider whose JSON-RPC requests are counted, a read-only SDK client, positions to open, a
// logger whose lines the test reads.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { BrowserProvider, Wallet } from "ethers";
import { BulkheadClient, sizeForLeverage } from "@bulkhead/sdk";
import { FAR, USDC, WAD } from "../../helpers/fixture.js";
import { CountingEip1193, deployForSdk } from "../../sdk/helpers/system.js";
import { Logger, type LogLevel } from "../../../keeper/src/logger.js";
import { devKey } from "./chain.js";

export type InProcess = Awaited<ReturnType<typeof inProcess>>;

export async function inProcess(ethers: HardhatEthers, eip1193: CountingEip1193["inner"], opts: Parameters<typeof deployForSdk>[1] = {}) {
  const sys = await deployForSdk(ethers, opts);
  const counter = new CountingEip1193(eip1193);
  const provider = new BrowserProvider(counter, 31337, { staticNetwork: true, cacheTimeout: -1 });
  const client = await BulkheadClient.connect(provider, { addresses: sys.addresses, lensBatchSize: 200 });
  // Account 9: no role in the fixture, funded with the chain's coin.
  const wallet = new Wallet(devKey(9), provider);
  const { alice, bob, carol } = sys.signers;
  const traders = [alice, bob, carol];
  let n = 0;
  /** Opens a position at the current price; returns its id. */
  const open = async (o: { market?: 0 | 1; long?: boolean; collateral?: bigint; size: bigint }): Promise<bigint> => {
    const trader = traders[n++ % traders.length]!;
    const long = o.long ?? true;
    const id = await sys.engine.nextPositionId();
    await (await sys.engine.connect(trader).open(o.market ?? 0, long, o.collateral ?? 100n * USDC, o.size, long ? 2n ** 96n - 1n : 0n, FAR)).wait();
    return id;
  };
  return { sys, counter, provider, client, wallet, open };
}

/** A logger that keeps its lines as objects. */
export function captureLogger(level: LogLevel = "debug") {
  const lines: ({ event: string; level: string } & Record<string, unknown>)[] = [];
  const logger = new Logger({ format: "json", level, sink: (line) => lines.push(JSON.parse(line) as never) });
  return { logger, lines, events: (name: string) => lines.filter((l) => l.event === name) };
}

/** Size of a `leverage`x ETH position (whole multiple) with `collateral` at 3,000. */
export const ethSize = (collateral: bigint, leverage: bigint) => sizeForLeverage(collateral, leverage * WAD, 3_000n * WAD, 10n ** 30n);
