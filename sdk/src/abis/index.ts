/**
 * ABIs of the Bulkhead contracts, generated from the Hardhat artifacts (`as const`, so abitype-based
 * libraries infer types from them too).
 * @module
 */
export { bulkheadAbi } from "./bulkhead.js";
export { bulkheadPoolAbi } from "./bulkheadPool.js";
export { bulkheadLensAbi } from "./bulkheadLens.js";
export { positionVaultAbi } from "./positionVault.js";
export { erc20Abi } from "./erc20.js";
export { bulkheadRouterAbi } from "./bulkheadRouter.js";
export { bulkheadOracleAbi } from "./bulkheadOracle.js";
export { bulkheadOrderBookAbi } from "./bulkheadOrderBook.js";
export { verifierErrorsAbi } from "./verifierErrors.js";
export { verifierProxyErrorsAbi } from "./verifierProxyErrors.js";
