// Every custom error of the trade router and the report oracle (and the Verifier's refusals a
// report can meet) decodes to a typed SDK error with a sentence, not the generic fallback.
import { expect } from "chai";
import { Interface } from "ethers";
import {
  ContractRevertError,
  ReportNotPinnedError,
  RequestNotExpiredError,
  TradesRequireRequestError,
  bulkheadOracleAbi,
  bulkheadRouterAbi,
  decodeRevert,
  verifierErrorsAbi,
} from "@bulkhead/sdk";

const sample = (type: string): unknown =>
  type === "address" ? "0x00000000000000000000000000000000000000aa" : type === "bool" ? true : type === "string" ? "name" : type.startsWith("bytes") ? "0x" + "11".repeat(32) : 7n;

describe("SDK: request errors", () => {
  const ctx = { decimals: 6, symbol: "USDC" };
  for (const [label, abi] of [["router", bulkheadRouterAbi], ["oracle", bulkheadOracleAbi]] as const) {
    it(`every ${label} error decodes to a typed error with a sentence`, () => {
      const iface = new Interface(abi as never);
      const generic: string[] = [];
      iface.forEachError((e) => {
        const data = iface.encodeErrorResult(e, e.inputs.map((i) => sample(i.type)));
        const err = decodeRevert(data, ctx);
        expect(err).to.be.instanceOf(ContractRevertError, e.name);
        if (err.constructor === ContractRevertError || err.message.startsWith("reverted with")) generic.push(e.name);
      });
      // ParameterOutOfBounds and Unauthorized are the engine's, already typed; none is left generic.
      expect(generic, generic.join(", ")).to.deep.equal([]);
    });
  }

  it("the Verifier's refusals read as sentences", () => {
    const iface = new Interface(verifierErrorsAbi as never);
    for (const name of ["BadVerification", "IncorrectSignatureCount"]) {
      const f = iface.getError(name)!;
      const err = decodeRevert(iface.encodeErrorResult(f, f.inputs.map((i) => sample(i.type))), ctx);
      expect(err.message).to.not.match(/^reverted with/);
    }
  });

  it("messages carry the numbers that explain them", () => {
    const router = new Interface(bulkheadRouterAbi as never);
    const oracle = new Interface(bulkheadOracleAbi as never);
    const e1 = decodeRevert(oracle.encodeErrorResult("ReportNotPinned", [1_700_000_002n, 1_700_000_000n, 1_700_000_000n]), ctx);
    expect(e1).to.be.instanceOf(ReportNotPinnedError);
    expect(e1.message).to.contain("2023-11-14T22:13:22.000Z");
    const e2 = decodeRevert(router.encodeErrorResult("RequestNotExpired", [3n, 1_700_000_300n, 1_700_000_010n]), ctx);
    expect(e2).to.be.instanceOf(RequestNotExpiredError);
    expect(e2.message).to.match(/^request 3 can be cancelled after/);
    const engine = new Interface(["error TradesRequireRequest(address settler)"]);
    const e3 = decodeRevert(engine.encodeErrorResult("TradesRequireRequest", ["0x00000000000000000000000000000000000000aa"]), ctx);
    expect(e3).to.be.instanceOf(TradesRequireRequestError);
  });
});
