/**
 * Solidity 0.8 checked arithmetic on bigint: the SDK's math fails exactly where the contracts
 * revert with `Panic(0x11)` (overflow/underflow) or `Panic(0x12)` (division by zero), so a
 * mirrored function never returns a number the contract could not have produced.
 * @module
 */

/** 2**256 - 1. */
export const MAX_UINT256 = (1n << 256n) - 1n;
/** type(int256).max. */
export const MAX_INT256 = (1n << 255n) - 1n;
/** type(int256).min. */
export const MIN_INT256 = -(1n << 255n);

/** Thrown where the contract would panic: arithmetic overflow/underflow or division by zero. */
export class ArithmeticError extends Error {
  override readonly name = "ArithmeticError";
  /** The Solidity panic code the contract reverts with: 0x11 or 0x12. */
  readonly panicCode: 0x11 | 0x12;
  constructor(panicCode: 0x11 | 0x12, readonly operation: string) {
    super(`${panicCode === 0x12 ? "division by zero" : "arithmetic overflow or underflow"} in ${operation}`);
    this.panicCode = panicCode;
  }
}

/** Asserts x is a uint256 (what a checked uint256 operation would have produced). */
export function u256(x: bigint, operation: string): bigint {
  if (x < 0n || x > MAX_UINT256) throw new ArithmeticError(0x11, operation);
  return x;
}

/** Asserts x is an int256. */
export function i256(x: bigint, operation: string): bigint {
  if (x < MIN_INT256 || x > MAX_INT256) throw new ArithmeticError(0x11, operation);
  return x;
}

/** Asserts the denominator is not zero. */
export function nonZero(d: bigint, operation: string): bigint {
  if (d === 0n) throw new ArithmeticError(0x12, operation);
  return d;
}
