/**
 * Chainlink Data Streams: the v3 report format and the signed payload the on-chain Verifier takes.
 * @module
 */
export * from "./report.js";
