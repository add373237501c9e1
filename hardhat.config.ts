import { createRequire } from "node:module";
import { configVariable, defineConfig, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";
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

// Chainlink's Data Streams contracts (`@chainlink/contracts` llo-feeds: Verifier, VerifierProxy,
// FeeManager, RewardManager) pin `pragma solidity 0.8.19`: they are built by a second npm `solc`
// build (the `solc-0.8.19` alias), with the settings Chainlink ships them with (no viaIR, 200 runs,
// paris), so local chains run the same contracts as Chainlink's deployments.
const CHAINLINK_COMPILER = {
  version: "0.8.19",
  path: require.resolve("solc-0.8.19/soljson.js"),
  settings: {
    evmVersion: "paris",
    optimizer: { enabled: true, runs: 200 },
  },
};

const PROFILE = { compilers: [COMPILER, CHAINLINK_COMPILER] };

// Public testnets: the RPC URL and the deployer's key come from configuration variables, read from
// the environment or from Hardhat's encrypted keystore (`npx hardhat keystore set NAME`), never
// from the repository. They are resolved only when the network is used.
const testnet = (rpcVariable: string, chainId: number) => ({
  type: "http" as const,
  chainId,
  url: configVariable(rpcVariable),
  accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
});

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // Chainlink's own mock aggregator stands in for price and sequencer feeds on local chains;
    // OpenZeppelin's TimelockController receives the engine's ownership on public networks.
    npmFilesToBuild: [
      "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol",
      "@openzeppelin/contracts/governance/TimelockController.sol",
      "@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol",
      "@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol",
      // Chainlink's on-chain billing (public networks): tests verify reports paying its LINK fee.
      "@chainlink/contracts/src/v0.8/llo-feeds/FeeManager.sol",
      "@chainlink/contracts/src/v0.8/llo-feeds/RewardManager.sol",
    ],
    // `production` (deploy) and `default` (tests, bench) build identical bytecode on purpose:
    // what is tested and measured is what ships.
    profiles: { default: PROFILE, production: PROFILE },
  },
  paths: {
    tests: { mocha: "test", solidity: "contracts" },
  },
  // Coverage figures are of the contracts that ship: test contracts and local stand-ins are not counted.
  coverage: { skipFiles: ["contracts/test/**", "contracts/mocks/**"] },
  test: {
    solidity: {
      fuzz: { runs: 256, seed: "0xb01c4ead" },
      invariant: { runs: 256, depth: 50, failOnRevert: false },
    },
  },
  networks: {
    // `npm run node` serves this; LOCALHOST_RPC_URL points it elsewhere (the node tests use a free port).
    localhost: { type: "http", chainId: 31337, url: process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545" },
    sepolia: { ...testnet("SEPOLIA_RPC_URL", 11155111), chainType: "l1" },
    arbitrumSepolia: { ...testnet("ARBITRUM_SEPOLIA_RPC_URL", 421614), chainType: "generic" },
    baseSepolia: { ...testnet("BASE_SEPOLIA_RPC_URL", 84532), chainType: "op" },
  },
  // One Etherscan (API v2) key verifies on Etherscan, Arbiscan and Basescan; Blockscout needs none.
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY") },
  },
  tasks: [
    task("deploy", "Deploy Bulkhead from ignition/parameters/<network>.json and write deployments/<network>.json")
      .addOption({
        name: "parameters",
        description: "Parameter file (default: ignition/parameters/<network>.json)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({
        name: "deploymentsDir",
        description: "Folder of the <network>.json deployment records",
        defaultValue: "deployments",
      })
      .addOption({
        name: "journalDir",
        description: "Ignition journal folder (default: ignition/deployments/chain-<chainId>)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addFlag({ name: "verify", description: "Verify every contract on the network's block explorers afterwards" })
      .setAction(() => import("./scripts/tasks/deploy.js"))
      .build(),
    task("demo", "Deploy, trade, crash ETH and liquidate exactly the one unhealthy position")
      .setAction(() => import("./scripts/tasks/demo.js"))
      .build(),
    task("devnet", "Start a node, deploy with the local oracle set, serve Data Streams reports, run the keeper; Ctrl-C stops it all")
      .addOption({ name: "port", description: "JSON-RPC port of the node on 127.0.0.1", type: ArgumentType.INT, defaultValue: 8545 })
      .addOption({ name: "reportPort", description: "Port of the local report service on 127.0.0.1 (0: any free port)", type: ArgumentType.INT, defaultValue: 8546 })
      .addOption({ name: "prices", description: "Price source: feeds (the push feeds), trace (traces/day.csv) or trace=<file>", defaultValue: "feeds" })
      .addOption({ name: "timeScale", description: "Trace seconds replayed per chain second (trace prices only)", type: ArgumentType.FLOAT, defaultValue: 1 })
      .addOption({ name: "record", description: "Where the deployment record goes", defaultValue: "deployments/devnet.json" })
      .addOption({ name: "parameters", description: "Parameter file (two-step settlement with the local Verifier)", defaultValue: "ignition/parameters/localhost-requests.json" })
      .addFlag({ name: "noKeeper", description: "Do not start the keeper" })
      .setAction(() => import("./scripts/tasks/devnet.js"))
      .build(),
  ],
});
