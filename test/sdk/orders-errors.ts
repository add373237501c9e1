// Every custom error of the order book (and the router's order-book setting) decodes to a typed
// SDK error with a sentence, not the generic fallback; the sentences carry their numbers.
import { expect } from "chai";
import { Interface } from "ethers";
import {
  AcceptablePriceUnreachableError,
  ContractRevertError,
  FillPastAcceptablePriceError,
  OrderBookAlreadySetError,
  PositionHealthyError,
  TopUpCannotSaveError,
  TriggerOnWrongSideError,
  bulkheadOrderBookAbi,
  bulkheadRouterAbi,
  decodeRevert,
} from "../../sdk/src/index.js";

const sample = (type: string): unknown =>
  type === "address" ? "0x00000000000000000000000000000000000000aa" : type === "bool" ? true : type === "string" ? "name" : type.startsWith("bytes") ? "0x" + "11".repeat(32) : type === "uint8" ? 3n : 7n;

describe("SDK: order errors", () => {
  const ctx = { decimals: 6, symbol: "USDC" };
  for (const [label, abi] of [["OrderBook", bulkheadOrderBookAbi], ["Router", bulkheadRouterAbi]] as const) {
    it(`test_decodeRevert_everyErrorOfThe${label}_hasASentence`, () => {
      const iface = new Interface(abi as never);
      const generic: string[] = [];
      iface.forEachError((e) => {
        const err = decodeRevert(iface.encodeErrorResult(e, e.inputs.map((i) => sample(i.type))), ctx);
        expect(err).to.be.instanceOf(ContractRevertError, e.name);
        if (err.constructor === ContractRevertError || err.message.startsWith("reverted with")) generic.push(e.name);
      });
      expect(generic, generic.join(", ")).to.deep.equal([]);
    });
  }

  it("test_decodeRevert_orderErrors_carryTheirNumbers", () => {
    const book = new Interface(bulkheadOrderBookAbi as never);
    const wrongSide = decodeRevert(book.encodeErrorResult("TriggerOnWrongSide", [3n, true, 3_100n * 10n ** 18n, 3_000n * 10n ** 18n]), ctx);
    expect(wrongSide).to.be.instanceOf(TriggerOnWrongSideError);
    expect(wrongSide.message).to.match(/^a long's StopLoss must wait below the current price 3,?000/);
    const unreachable = decodeRevert(book.encodeErrorResult("AcceptablePriceUnreachable", [2_980n * 10n ** 18n, 0n]), ctx);
    expect(unreachable).to.be.instanceOf(AcceptablePriceUnreachableError);
    expect(unreachable.message).to.equal("a buying exit's acceptable price of 0 can never be met (every fill price is positive)");
    const past = decodeRevert(book.encodeErrorResult("FillPastAcceptablePrice", [4n, 2_900n * 10n ** 18n, 2_850n * 10n ** 18n]), ctx);
    expect(past).to.be.instanceOf(FillPastAcceptablePriceError);
    expect(past.message).to.match(/^order 4 would fill at .*2,?850.*past its acceptable price .*2,?900.*stays in the book$/);
    const healthy = decodeRevert(book.encodeErrorResult("PositionHealthy", [9n, 52n * 10n ** 17n, 5n * 10n ** 18n]), ctx);
    expect(healthy).to.be.instanceOf(PositionHealthyError);
    expect(healthy.message).to.equal("guard 9 cannot top up: the position's health factor 5.2 at the report is not below its threshold 5");
    const cannot = decodeRevert(book.encodeErrorResult("TopUpCannotSave", [9n, -45_500_000n, 290_000_000n]), ctx);
    expect(cannot).to.be.instanceOf(TopUpCannotSaveError);
    expect(cannot.message).to.match(/^guard 9 would not save the position: its equity after the top-up would be -45\.5 USDC, below the 290 USDC maintenance/);
    const router = new Interface(bulkheadRouterAbi as never);
    const set = decodeRevert(router.encodeErrorResult("OrderBookAlreadySet", ["0x00000000000000000000000000000000000000aa"]), ctx);
    expect(set).to.be.instanceOf(OrderBookAlreadySetError);
  });
});
