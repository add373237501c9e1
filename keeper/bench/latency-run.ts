// The order-latency part of the keeper benchmark alone (latency.ts), printed, not written:
//   npx hardhat run keeper/bench/latency-run.ts
import { latencyBench } from "./latency.js";

await latencyBench((text) => console.log(text));
