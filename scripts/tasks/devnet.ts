// `npm run devnet [-- --port 8545 --report-port 8546 --prices feeds|trace[=file] --time-scale 1 --no-keeper]`
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DevnetError, parsePrices, runDevnet } from "../devnet/devnet.js";

type Args = { port: number; reportPort: number; prices: string; timeScale: number; noKeeper: boolean; record: string; parameters: string };

export default async function devnetTask(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  let prices;
  try {
    prices = parsePrices(args.prices);
  } catch (e) {
    if (!(e instanceof DevnetError)) throw e;
    console.error(`devnet: ${e.message}`);
    process.exitCode = 2;
    return;
  }
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const code = await runDevnet({
    hre,
    port: args.port,
    reportPort: args.reportPort,
    keeper: !args.noKeeper,
    prices,
    timeScale: args.timeScale,
    record: args.record,
    parameters: args.parameters,
  });
  // Everything it started is stopped: exit now rather than wait on Hardhat's own idle handles.
  process.exit(code);
}
