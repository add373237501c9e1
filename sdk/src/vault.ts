/**
 * Off-chain address of a position's vault: an EIP-1167 minimal clone of the vault implementation,
 * deployed by the engine with CREATE2 and salt bytes32(id) (OpenZeppelin 5 `Clones.cloneDeterministic`).
 * @module
 */
import { concat, getAddress, getCreate2Address, keccak256, toBeHex } from "ethers";

/** EIP-1167 creation code around the implementation address, exactly as OpenZeppelin 5 `Clones` builds it. */
const PREFIX = "0x3d602d80600a3d3981f3363d3d373d3d3d363d73";
const SUFFIX = "0x5af43d82803e903d91602b57fd5bf3";

/** Creation code of a minimal clone of `implementation` (55 bytes). */
export function cloneInitCode(implementation: string): string {
  return concat([PREFIX, getAddress(implementation), SUFFIX]);
}

/** keccak256 of {@link cloneInitCode}: constant per engine, so compute it once. */
export function cloneInitCodeHash(implementation: string): string {
  return keccak256(cloneInitCode(implementation));
}

/** The CREATE2 salt of position `id`: bytes32(id). */
export function vaultSalt(id: bigint): string {
  return toBeHex(id, 32);
}

/** The vault address of position `id`, known before the position opens; equals `engine.vaultOf(id)`. */
export function computeVaultAddress(engine: string, vaultImplementation: string, id: bigint, initCodeHash?: string): string {
  return getCreate2Address(getAddress(engine), vaultSalt(id), initCodeHash ?? cloneInitCodeHash(vaultImplementation));
}
