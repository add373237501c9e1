// `npm run deploy -- --network <name> [--parameters file] [--verify]`
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DeployConfigError, loadDeployConfig } from "../deploy/config.js";
import { DeployError, deployBulkhead, parametersPathOf } from "../deploy/deploy.js";
import { networkSecretIssues } from "../deploy/secrets.js";

type Args = { parameters?: string; deploymentsDir: string; journalDir?: string; verify: boolean };

export default async function deployTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  const networkName = hre.globalOptions.network ?? "default";
  const file = args.parameters ?? parametersPathOf(networkName === "default" ? "localhost" : networkName);
  try {
    // Offline checks first: the file, then the network's secrets; only then connect.
    const config = await loadDeployConfig(file);
    if (config.network !== networkName && !(networkName === "default" && config.network === "localhost")) {
      throw new DeployConfigError(file, [{ field: "network", problem: `the file is for "${config.network}", not --network ${networkName}` }]);
    }
    const secretIssues = await networkSecretIssues(hre, networkName);
    if (secretIssues.length > 0) throw new DeployConfigError(`hardhat.config.ts (network ${networkName})`, secretIssues);

    await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
    const connection = await hre.network.create();
    console.log(`Deploying Bulkhead to ${networkName} from ${file}`);
    const record = await deployBulkhead({
      hre,
      connection,
      config,
      parametersPath: file,
      deploymentsDir: args.deploymentsDir,
      journalDir: args.journalDir,
      log: (line) => console.log(line),
    });
    console.log(`  engine ${record.engine}  pool ${record.pool}  lens ${record.lens}`);
    console.log(`  ${record.markets.map((m) => `#${m.id} ${m.symbol}`).join(", ")}; owner ${record.governance.owner}; start block ${record.startBlock}`);
    if (args.verify) {
      // `ignition verify` reads the journal from its default place, ignition/deployments/<id>.
      const standard = path.join(hre.config.paths.ignition, "deployments", record.ignition.deploymentId);
      if (record.ignition.journal === null) throw new Error("--verify needs a recorded (not in-process) deployment");
      if (args.journalDir !== undefined && path.resolve(args.journalDir) !== standard) {
        throw new Error(`--verify reads the journal from ${standard}; drop --journal-dir or run \`npx hardhat ignition verify\` yourself`);
      }
      console.log(`Verifying ${record.ignition.deploymentId} on the block explorers`);
      await hre.tasks.getTask(["ignition", "verify"]).run({ deploymentId: record.ignition.deploymentId });
    }
  } catch (e) {
    if (e instanceof DeployConfigError) {
      console.error(`\nDeployment refused before sending anything.\n${e.message}`);
      process.exitCode = 1;
      return;
    }
    if (e instanceof DeployError) {
      console.error(`\nDeployment stopped.\n${e.message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
