// The in-memory scale part of the keeper benchmark alone (scale.ts), printed, not written:
//   npx hardhat run keeper/bench/scale-run.ts
import { scaleBench } from "./scale.js";

await scaleBench((text) => console.log(text));
