/**
 * The protocol's math, mirrored from the Solidity libraries function for function (bigint only,
 * same names, same rounding, same order of operations). Pure: no provider, no I/O.
 * @module
 */
export { ConstantsLib } from "./ConstantsLib.js";
export { MathLib } from "./MathLib.js";
export { PositionMath } from "./PositionMath.js";
export { HealthLib, type HealthInput } from "./HealthLib.js";
export { BorrowLib, type RateMarket, type IndexMarket, type AccrualMarket } from "./BorrowLib.js";
export {
  BulkheadLogic,
  type RevertReason,
  type ActionContext,
  type LedgerEffects,
  type BatchPosition,
  type BatchMarket,
  type LiquidateManyPreview,
  type OpenPreview,
  type IncreasePreview,
  type DecreasePreview,
  type RemoveCollateralPreview,
} from "./BulkheadLogic.js";
export { PoolMath, type PoolMarketInput } from "./PoolMath.js";
export { PoolLogic, type LiquidityChange } from "./PoolLogic.js";
export { PoolRequestMath, type PoolRequestMarketInput } from "./PoolRequestMath.js";
export { ArithmeticError, MAX_UINT256, MAX_INT256, MIN_INT256 } from "./checked.js";
