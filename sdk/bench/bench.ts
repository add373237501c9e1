// SDK benchmark (printed, not asserted): `npm run bench:sdk`.
// 1. Health of 10,000 positions computed locally (HealthLib mirror + liquidation price + ratios).
// 2. JSON-RPC requests the client makes to read 1,000 positions (lens `positions(ids)` in
//    chunks), counted by an EIP-1193 wrapper under an ethers BrowserProvider.
import { network } from "hardhat";
import { BulkheadClient, positionHealth, type PositionRecord, type RiskParams } from "../src/index.js";
import { deployForSdk, countingProvider } from "../../test/sdk/helpers/system.js";
import { Rng } from "../../test/sdk/helpers/random.js";
import { FAR, USDC, WAD } from "../../test/helpers/fixture.js";

const WAD_ = 10n ** 18n;

function localHealthBench(n: number) {
  const rng = new Rng(42n);
  const unit = 10n ** 30n;
  const risk: RiskParams = { mmr: WAD_ / 200n, liquidationFeeRate: WAD_ / 200n, minLiquidationFee: USDC, maxProfitFactorBps: 5_000n };
  const positions: PositionRecord[] = Array.from({ length: n }, () => ({
    size: rng.range(WAD_ / 100n, 100n * WAD_),
    entryPrice: rng.range(1_000n * WAD_, 5_000n * WAD_),
    marketId: 0,
    isLong: rng.bool(),
    collateral: rng.range(10n * USDC, 100_000n * USDC),
    borrowIndex: rng.range(0n, 10n ** 12n),
    riskVersion: 0,
    maxProfitFactorBps: 5_000n,
  }));
  const price = 3_000n * WAD_;
  const index = 10n ** 12n;
  positionHealth(positions[0]!, risk, price, index, unit); // warm-up
  const t0 = performance.now();
  let liquidatable = 0;
  for (const p of positions) if (positionHealth(p, risk, price, index, unit).liquidatable) liquidatable++;
  const ms = performance.now() - t0;
  console.log(`local health of ${n} positions: ${ms.toFixed(1)} ms (${((ms * 1000) / n).toFixed(1)} µs each), ${liquidatable} liquidatable`);
}

async function rpcBench(n: number) {
  const connection = await network.connect();
  const { ethers } = connection;
  const sys = await deployForSdk(ethers);
  const { alice } = sys.signers;
  const engine = sys.engine.connect(alice);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await engine.open(i % 2, i % 3 !== 0, 20n * USDC, WAD / 100n, i % 3 !== 0 ? 10n ** 30n : 0n, FAR);
  }
  console.log(`opened ${n} positions in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup)`);

  const { counter, provider } = countingProvider(connection.provider);
  const client = await BulkheadClient.connect(provider, { addresses: sys.addresses });
  const ids = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  counter.reset();
  let t = performance.now();
  const cold = await client.getPositions(ids);
  const coldMs = performance.now() - t;
  const coldCalls = counter.total;
  const coldMethods = Object.fromEntries(counter.byMethod);
  counter.reset();
  t = performance.now();
  const warm = await client.getPositions(ids);
  const warmMs = performance.now() - t;
  const open = warm.filter((v) => v !== null).length;
  console.log(`read ${n} positions (${open} open, health computed locally), lensBatchSize ${client.options.lensBatchSize}:`);
  console.log(`  first read: ${coldCalls} JSON-RPC requests ${JSON.stringify(coldMethods)} in ${coldMs.toFixed(0)} ms`);
  console.log(`  next reads: ${counter.total} JSON-RPC requests ${JSON.stringify(Object.fromEntries(counter.byMethod))} in ${warmMs.toFixed(0)} ms`);
  const gas = await provider.estimateGas({ to: sys.addresses.lens, data: (await sys.lens.positions.populateTransaction(ids.slice(0, client.options.lensBatchSize))).data });
  console.log(`  one lens positions(${client.options.lensBatchSize} ids) call: ${gas} gas`);
  if (cold.length !== n) throw new Error("bench read the wrong number of positions");
}

localHealthBench(10_000);
await rpcBench(1_000);
