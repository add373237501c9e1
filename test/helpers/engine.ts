// The engine links four external libraries (kept out of it for the 24 KB size limit). Every
// deployment of `Bulkhead` in tests and scripts goes through these helpers.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";

export const ENGINE_LIBRARIES = ["MarketConfigLogic", "PoolLogic", "IncreaseLogic", "DecreaseLogic"] as const;
export type EngineLibraries = Record<(typeof ENGINE_LIBRARIES)[number], string>;

/** Deploys the engine's external libraries; returns their addresses by name. */
export async function deployEngineLibraries(ethers: HardhatEthers): Promise<EngineLibraries> {
  const out = {} as EngineLibraries;
  for (const name of ENGINE_LIBRARIES) {
    const lib = await ethers.deployContract(name);
    out[name] = await lib.getAddress();
  }
  return out;
}

/** A `Bulkhead` contract factory with freshly deployed (or given) libraries linked. */
export async function engineFactory(ethers: HardhatEthers, libraries?: EngineLibraries) {
  return ethers.getContractFactory("Bulkhead", { libraries: libraries ?? (await deployEngineLibraries(ethers)) });
}
