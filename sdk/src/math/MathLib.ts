/**
 * Mirror of `contracts/libraries/MathLib.sol` (OpenZeppelin 5 `Math.mulDiv` underneath): fixed-point
 * helpers whose names carry their rounding direction. bigint only; each function fails where the
 * Solidity one reverts (division by zero, a result above 2**256 - 1).
 * @module
 */
import { ConstantsLib } from "./ConstantsLib.js";
import { MAX_UINT256, nonZero, u256 } from "./checked.js";

export namespace MathLib {
  /** floor(x * y / d), exact (512-bit intermediate in Solidity, unbounded here). */
  export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
    return u256((x * y) / nonZero(d, "mulDivDown"), "mulDivDown");
  }

  /** ceil(x * y / d), exact. */
  export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
    const prod = x * y;
    const q = u256(prod / nonZero(d, "mulDivUp"), "mulDivUp");
    return prod % d > 0n ? u256(q + 1n, "mulDivUp") : q;
  }

  /** floor(x * y / 1e18). */
  export function wMulDown(x: bigint, y: bigint): bigint {
    return mulDivDown(x, y, ConstantsLib.WAD);
  }

  /** ceil(x * y / 1e18). */
  export function wMulUp(x: bigint, y: bigint): bigint {
    return mulDivUp(x, y, ConstantsLib.WAD);
  }

  /** ceil(x * 1e18 / y). */
  export function wDivUp(x: bigint, y: bigint): bigint {
    return mulDivUp(x, ConstantsLib.WAD, y);
  }

  /** max(x - y, 0). */
  export function zeroFloorSub(x: bigint, y: bigint): bigint {
    return x > y ? x - y : 0n;
  }

  /** `int256(x)`: an explicit Solidity conversion, unchecked (wraps at 2**255 like the contract). */
  export function toInt(x: bigint): bigint {
    const v = x & MAX_UINT256;
    return v >= 1n << 255n ? v - (1n << 256n) : v;
  }
}
