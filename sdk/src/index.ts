/**
 * `@bulkhead/sdk`: TypeScript SDK of Bulkhead, the isolated-margin trading protocol.
 *
 * - {@link BulkheadClient}: reads, local health, quotes, transactions with typed errors, events.
 * - `math`: the Solidity math libraries mirrored in bigint (also at `@bulkhead/sdk/math`).
 * - `abis`: the contracts' ABIs (also at `@bulkhead/sdk/abis`).
 * @module
 */
export * from "./client.js";
export * from "./types.js";
export * from "./errors.js";
export * from "./requestErrors.js";
export * from "./events.js";
export * from "./requests.js";
export * from "./orders.js";
export * from "./orderErrors.js";
export * from "./health.js";
export * from "./format.js";
export * from "./addresses.js";
export * from "./vault.js";
export * from "./validate.js";
export * from "./json.js";
export * from "./streams/index.js";
export * from "./math/index.js";
export * from "./abis/index.js";
