// Raw-storage access to engine records, with slots taken from the compiler's own storage layout
// rather than hard-coded: the build info Hardhat wrote is recompiled with solc asking only for
// `storageLayout` (no code generation, a few seconds), so a reordered or repacked struct moves the
// slots here too. Callers still verify the result against the public views before trusting it.
import { readFile } from "node:fs/promises";
import hre from "hardhat";
import { AbiCoder, keccak256, concat, toBeHex, zeroPadValue, getBytes } from "ethers";

/** One struct member: its slot relative to the struct's base slot, byte offset and byte size. */
export type StructMember = { label: string; slot: bigint; offset: number; bytes: number };

/** A `mapping(key => struct)` state variable: its declaration slot and the struct's members. */
export type MappingOfStruct = { slot: bigint; structSlots: number; members: StructMember[] };

export type SolcStorageItem = { label: string; slot: string; offset: number; type: string };
export type SolcType = { encoding: string; label: string; numberOfBytes: string; value?: string; members?: SolcStorageItem[] };
export type SolcLayout = { storage: SolcStorageItem[]; types: Record<string, SolcType> };

/** Storage layout of `contractName` as solc computes it from the exact sources of the last build. */
export async function storageLayoutOf(contractName: string): Promise<SolcLayout> {
  return (await storageLayoutsOf([contractName]))[contractName];
}

/** Storage layouts of several contracts, one solc run per build info they come from. */
export async function storageLayoutsOf(contractNames: string[]): Promise<Record<string, SolcLayout>> {
  const byBuild = new Map<string, { name: string; sourceName: string }[]>();
  for (const name of contractNames) {
    const artifact = await hre.artifacts.readArtifact(name);
    const buildInfoId = await hre.artifacts.getBuildInfoId(name);
    if (buildInfoId === undefined) throw new Error(`no build info for ${name}`);
    byBuild.set(buildInfoId, [...(byBuild.get(buildInfoId) ?? []), { name, sourceName: artifact.sourceName }]);
  }
  const layouts: Record<string, SolcLayout> = {};
  for (const [buildInfoId, wanted] of byBuild) {
    const path = await hre.artifacts.getBuildInfoPath(buildInfoId);
    if (path === undefined) throw new Error(`no build info file for ${buildInfoId}`);
    const buildInfo = JSON.parse(await readFile(path, "utf8"));
    const input = structuredClone(buildInfo.input);
    const inputName = (sourceName: string): string => buildInfo.userSourceNameMap[sourceName] ?? sourceName;
    input.settings.outputSelection = {};
    for (const w of wanted) {
      input.settings.outputSelection[inputName(w.sourceName)] ??= {};
      input.settings.outputSelection[inputName(w.sourceName)][w.name] = ["storageLayout"];
    }
    input.settings.optimizer = { enabled: false }; // layout does not depend on it; skips work
    const solc = (await import("solc")).default; // loaded on demand: its WebAssembly build is large
    const output = JSON.parse(solc.compile(JSON.stringify(input)));
    const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
    if (errors.length !== 0) throw new Error(`solc: ${JSON.stringify(errors)}`);
    for (const w of wanted) {
      const layout = output.contracts?.[inputName(w.sourceName)]?.[w.name]?.storageLayout;
      if (layout === undefined) throw new Error(`solc returned no storage layout for ${w.name}`);
      layouts[w.name] = layout;
    }
  }
  return layouts;
}

/** Layout of the state variable `label`, which must be a mapping from a value type to a struct. */
export function mappingOfStruct(layout: SolcLayout, label: string): MappingOfStruct {
  const item = layout.storage.find((s) => s.label === label);
  if (item === undefined) throw new Error(`no state variable ${label}`);
  const mapping = layout.types[item.type];
  if (mapping.encoding !== "mapping" || mapping.value === undefined) throw new Error(`${label} is not a mapping`);
  const struct = layout.types[mapping.value];
  if (struct.members === undefined) throw new Error(`${label} does not map to a struct`);
  return {
    slot: BigInt(item.slot),
    structSlots: Number(BigInt(struct.numberOfBytes) / 32n),
    members: struct.members.map((m) => ({
      label: m.label,
      slot: BigInt(m.slot),
      offset: m.offset,
      bytes: Number(layout.types[m.type].numberOfBytes),
    })),
  };
}

/** keccak256(abi.encode(key, slot)): base slot of `mapping[key]` for a uint256 key. */
export function mappingValueSlot(key: bigint, mappingSlot: bigint): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [key, mappingSlot])));
}

/** A member's value decoded from the struct's raw storage words (index = member.slot). */
export function decodeMember(words: readonly bigint[], m: StructMember): bigint {
  const bits = BigInt(m.bytes * 8);
  return (words[Number(m.slot)] >> BigInt(m.offset * 8)) & ((1n << bits) - 1n);
}

/**
 * Slot of Solady ERC721's packed ownership word of `id` (owner in the low 160 bits, extra data
 * above): id + id + keccak256(id's high 28 bytes ++ the seed's top 4 bytes), per Solady's docs.
 */
export function soladyOwnershipSlot(id: bigint): bigint {
  const seedTop4 = "0x7d882553"; // top bytes of _ERC721_MASTER_SLOT_SEED = 0x7d8825530a5a2e7a << 192
  const idWord = getBytes(zeroPadValue(toBeHex(id), 32));
  const preimage = concat([idWord.slice(0, 28), seedTop4]);
  return (2n * id + BigInt(keccak256(preimage))) % (1n << 256n);
}
