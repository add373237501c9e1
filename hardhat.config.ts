import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";

const require = createRequire(import.meta.url);

// Compiled offline with the npm `solc` WebAssembly build; keep the `solc` package
// version in package.json equal to SOLC_VERSION.
const SOLC_VERSION = "0.8.30";

const COMPILER = {
  version: SOLC_VERSION,
  path: require.resolve("solc/soljson.js"),
  settings: {
    evmVersion: "cancun",
    // viaIR keeps the engine under the 24,576-byte limit; 200 runs balances size and gas.
    viaIR: true,
    optimizer: { enabled: true, runs: 200 },
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // Chainlink's own mock aggregator stands in for price and sequencer feeds on local chains.
    npmFilesToBuild: ["@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol"],
    // `production` (deploy) and `default` (tests, bench) build identical bytecode on purpose:
    // what is tested and measured is what ships.
    profiles: { default: COMPILER, production: COMPILER },
  },
  paths: {
    tests: { mocha: "test", solidity: "contracts" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256, seed: "0xb01c4ead" },
      invariant: { runs: 256, depth: 50, failOnRevert: false },
    },
  },
  networks: {
    localhost: { type: "http", url: "http://127.0.0.1:8545" },
  },
});
