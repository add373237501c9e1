// Unit tests of the SDK's pure parts: formatting, error decoding, generated files in sync.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Interface } from "ethers";
import {
  ContractRevertError,
  InsufficientMarginError,
  PanicError,
  PoolLimitExceededError,
  RevertStringError,
  SlippageExceededError,
  StalePriceError,
  TransferFailedError,
  TransferFromFailedError,
  UnknownRevertError,
  bulkheadAbi,
  bulkheadPoolAbi,
  decodeRevert,
  extractRevertData,
  formatAmount,
  formatLeverage,
  formatPercent,
  formatPrice,
  formatUnits,
  parseUnits,
  acceptablePriceFor,
  sizeForLeverage,
  PositionMath,
} from "../../sdk/src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const USDC = { decimals: 6, symbol: "USDC" };
const engine = new Interface(bulkheadAbi as never);

describe("sdk units", () => {
  it("test_format_amountsPricesPercents", () => {
    expect(formatUnits(12_500_000n, 6)).to.equal("12.5");
    expect(formatUnits(-1n, 6)).to.equal("-0.000001");
    expect(formatUnits(1_234_567_891n, 6, { maxDecimals: 2 })).to.equal("1234.56");
    expect(formatUnits(1_234_567_891n, 6, { maxDecimals: 2, rounding: "up" })).to.equal("1234.57");
    expect(formatUnits(1_234_565_000n, 6, { maxDecimals: 2, rounding: "nearest", thousands: "," })).to.equal("1,234.57");
    expect(formatUnits(5n, 0)).to.equal("5");
    expect(formatAmount(12_500_000n, USDC)).to.equal("12.5 USDC");
    expect(formatPrice(3_000n * 10n ** 18n)).to.equal("3000.00");
    expect(formatPrice(2_954_545_454_545_454_545_455n)).to.equal("2954.55");
    expect(formatPercent(123_400_000_000_000_000n)).to.equal("12.34%");
    expect(formatLeverage(10n * 10n ** 18n)).to.equal("10.00x");
    expect(parseUnits("12.5", 6)).to.equal(12_500_000n);
    expect(parseUnits("-0.000001", 6)).to.equal(-1n);
    expect(parseUnits("1_000", 6)).to.equal(1_000_000_000n);
    expect(() => parseUnits("1.0000001", 6)).to.throw(RangeError, /more than 6 decimals/);
    expect(() => parseUnits("abc", 6)).to.throw(RangeError);
  });

  it("test_quoteHelpers_sizeForLeverageKeepsInitialMargin", () => {
    const unit = 10n ** 30n;
    // At exactly max leverage the size the SDK picks always passes the contract's margin check.
    for (const [collateral, price] of [[333_333_333n, 2_999_999_999_999_999_999_999n], [10_000_001n, 3n * 10n ** 18n], [7n, 10n ** 18n + 1n]] as const) {
      const lev = 50n * 10n ** 18n;
      const size = sizeForLeverage(collateral, lev, price, unit);
      const im = PositionMath.initialMarginUp(PositionMath.notionalUp(size, price, unit), lev);
      expect(im <= collateral, `${collateral}@${price}`).to.equal(true);
      const im1 = PositionMath.initialMarginUp(PositionMath.notionalUp(size + 10n ** 12n, price, unit), lev);
      expect(im1 > collateral || size === 0n).to.equal(true);
    }
    expect(acceptablePriceFor(true, 3_000n * 10n ** 18n, 50)).to.equal(3_015n * 10n ** 18n);
    expect(acceptablePriceFor(false, 3_000n * 10n ** 18n, 50)).to.equal(2_985n * 10n ** 18n);
    expect(() => acceptablePriceFor(true, 1n, 10_000)).to.throw(/slippageBps/);
  });

  it("test_decodeRevert_typedClassesWithReadableMessages", () => {
    const margin = decodeRevert(engine.encodeErrorResult("InsufficientMargin", [40_100_000n, 52_600_000n]), USDC);
    expect(margin).to.be.instanceOf(InsufficientMarginError).and.instanceOf(ContractRevertError);
    expect(margin.message).to.equal("needs 12.5 USDC more collateral: equity 40.1, required 52.6");
    expect((margin as InsufficientMarginError).args).to.deep.equal({ equity: 40_100_000n, required: 52_600_000n });
    expect(() => ((margin as InsufficientMarginError).args as { equity: bigint }).equity = 1n).to.throw(TypeError);
    const negative = decodeRevert(engine.encodeErrorResult("InsufficientMargin", [-5_000_000n, 10_000_000n]), USDC);
    expect(negative.message).to.equal("needs 15 USDC more collateral: equity -5, required 10");
    expect(decodeRevert(engine.encodeErrorResult("InsufficientMargin", [1n, 3n])).message).to.equal(
      "needs 2 (token units) more collateral: equity 1, required 3",
    );
    const slip = decodeRevert(engine.encodeErrorResult("SlippageExceeded", [3_000n * 10n ** 18n, 3_100n * 10n ** 18n]));
    expect(slip).to.be.instanceOf(SlippageExceededError);
    expect(slip.message).to.equal("price moved beyond your limit: oracle price 3100.00, acceptable 3000.00");
    const stale = decodeRevert(engine.encodeErrorResult("StalePrice", ["0x0000000000000000000000000000000000000001", 1_700_000_000n, 3_600n]));
    expect(stale).to.be.instanceOf(StalePriceError);
    expect(stale.message).to.match(/is stale: last update 2023-11-14T22:13:20.000Z, heartbeat 3600s/);
    const pool = new Interface(bulkheadPoolAbi as never);
    const lim = decodeRevert(pool.encodeErrorResult("ERC4626ExceededMaxWithdraw", ["0x0000000000000000000000000000000000000002", 5_000_000n, 4_000_000n]), USDC);
    expect(lim).to.be.instanceOf(PoolLimitExceededError);
    expect(lim.message).to.equal("cannot withdraw 5 USDC (max 4 USDC now): withdrawals are limited to free liquidity and your balance");
    // Every custom error in the engine ABI decodes to a ContractRevertError with its name.
    for (const f of engine.fragments) {
      if (f.type !== "error") continue;
      const frag = engine.getError((f as unknown as { name: string }).name)!;
      const values = frag.inputs.map((i) => (i.type === "address" ? "0x0000000000000000000000000000000000000003" : i.type === "bool" ? true : i.type === "string" ? "x" : 1n));
      const e = decodeRevert(engine.encodeErrorResult(frag, values), USDC);
      expect(e, frag.name).to.be.instanceOf(ContractRevertError);
      expect((e as ContractRevertError).errorName).to.equal(frag.name);
      expect(e.message.length).to.be.greaterThan(10);
    }
    const str = decodeRevert(new Interface(["error Error(string)"]).encodeErrorResult("Error", ["nope"]));
    expect(str).to.be.instanceOf(RevertStringError);
    expect(str.message).to.equal("reverted: nope");
    const panic = decodeRevert(new Interface(["error Panic(uint256)"]).encodeErrorResult("Panic", [0x11n]));
    expect(panic).to.be.instanceOf(PanicError);
    expect(panic.message).to.equal("panicked: arithmetic overflow or underflow");
    // Solady SafeTransferLib errors (raised in assembly, in no ABI).
    expect(decodeRevert("0x7939f424")).to.be.instanceOf(TransferFromFailedError);
    expect(decodeRevert("0x90b8ec18")).to.be.instanceOf(TransferFailedError);
    expect(decodeRevert("0x7939f424").message).to.match(/transferFrom failed/);
    expect(decodeRevert("0xdeadbeef")).to.be.instanceOf(UnknownRevertError);
    expect(decodeRevert("0x").message).to.equal("reverted without a reason");
  });

  it("test_extractRevertData_fromProviderErrorShapes", () => {
    const data = engine.encodeErrorResult("ZeroAmount", []);
    expect(extractRevertData({ code: "CALL_EXCEPTION", data })).to.equal(data);
    expect(extractRevertData({ error: { error: { data: { data } } } })).to.equal(data);
    expect(extractRevertData({ info: { error: { code: 3, data } } })).to.equal(data);
    expect(extractRevertData({ body: JSON.stringify({ error: { data } }) })).to.equal(data);
    expect(extractRevertData(new Error("network down"))).to.equal(undefined);
  });

  it("test_generatedFiles_inSyncWithArtifactsAndTsdoc", () => {
    // Fails when a contract's ABI changed without `npm run sdk:abis`, or the TSDoc without `npm run sdk:docs`.
    execFileSync(process.execPath, [join(root, "sdk", "scripts", "sync.ts"), "--check"], { cwd: root, stdio: "pipe" });
    execFileSync(process.execPath, [join(root, "sdk", "scripts", "api-docs.ts"), "--check"], { cwd: root, stdio: "pipe" });
  });
});
