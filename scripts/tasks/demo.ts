// `npm run demo [-- --network localhost]`
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runDemo } from "../demo/demo.js";
import { colorEnabled } from "../demo/format.js";

export default async function demoTask(_args: unknown, hre: HardhatRuntimeEnvironment): Promise<void> {
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.create();
  const summary = await runDemo({ hre, connection, color: colorEnabled() });
  if (!summary.ok) process.exitCode = 1;
}
