// `npm run demo` on the in-process network, two-step settlement: exits 0; every open fills at the
// report its request pinned and an earlier report is refused; the latency arbitrage earns nothing;
// the stop-loss, take-profit and trailing stop close their positions and the guard keeps its own
// alive through the crash; the keeper library liquidates only the unguarded twin; the three
// positions without orders do not move by a unit. Its main function's summary says the same in numbers.
import { expect } from "chai";
import hre from "hardhat";
import { runDemo } from "../../scripts/demo/demo.js";
import { colorEnabled, makeStyle, table, units } from "../../scripts/demo/format.js";
import { npmRun, skipUnderCoverage } from "../helpers/processes.js";

describe("demo", function () {
  this.timeout(90_000);

  it("test_demo_npmRun_exitsZero_fillsAtPinnedReports_ordersExecute_liquidatesOnlyTheUnguardedTwin", async function () {
    // A separate `npm run demo` process; under --coverage it would rebuild the uninstrumented
    // contracts first. test_demo_main_summary covers the same code in-process.
    skipUnderCoverage(this);
    const res = await npmRun("demo", [], { NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(res.code, res.stdout + res.stderr).to.equal(0);
    const out = res.stdout;
    // Two-step settlement: the LP's deposit request, the opens at their pinned reports, the early report refused.
    expect(out).to.include("parameters from ignition/parameters/localhost-requests.json");
    expect(out).to.match(/lp 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} requests 1,000,000\.00 USDC \(request #1, pinned to \d\d:\d\d:\d\d\) → filled at the reports of \d\d:\d\d:\d\d → claims 1,000,000\.00 bhUSDC/);
    expect(out).to.match(/✗ the executor tries request #1 with the report of (\d\d:\d\d:\d\d), the second it was made in: refused \(ReportNotPinnedError\)/);
    expect(out).to.match(/“the request settles at the report covering .+; this one covers .+ \(fetch the report at the request's settlement time\)”/);
    expect(out).to.include("every fill equals that price of the report its request pinned.");
    // The arbitrage, the orders through the crash, the keeper's one liquidation.
    expect(out).to.match(/✓ mallory's PnL: −\d+\.\d\d USDC/);
    expect(out).to.match(/trailing stop #3 closes #5 at [\d,]+\.\d\d \(peak 3,015\.00 at/);
    expect(out).to.match(/stop-loss #1 closes #1 at /);
    expect(out).to.match(/take-profit #2 closes #4 at /);
    expect(out.match(/guard #4 tops up #2: \+250\.00/g)).to.have.length(3);
    expect(out).to.match(/cycle 1 · block \d+ {2}tracks 5 positions, 1 liquidatable: #3 /);
    expect(out).to.include("sends liquidateMany([3])  tx 0x");
    expect(out.match(/liquidated #/g)).to.have.length(1);
    expect(out).to.include("✓ the engine agrees: lens.previewLiquidations(ids) finds #3 liquidatable");
    expect(out.match(/✓ unchanged/g)).to.have.length(3);
    expect(out).to.include("✓ 3 top-ups of 250, nothing else");
    expect(out).to.match(/the twins: alice's stop-loss sold at 2,939\.70 and returned [\d,]+\.\d\d to her wallet; bob's guarded position is open \(equity [\d,]+\.\d\d, health \d\.\d\d\); carol's lost all 1,959\.99\./);
    expect(out).to.match(/✓ bob's guard: 753\.00 USDC left his wallet = 750\.00 into vault #2 \+ 3\.00 to the executor/);
    expect(out).to.include("✓ the other 3 vaults did not move by a single unit.");
    // Not a TTY: no colour codes at all.
    expect(out).not.to.include("\x1b[");
  });

  it("test_demo_main_summary", async () => {
    const lines: string[] = [];
    const summary = await runDemo({ hre, connection: await hre.network.create(), print: (l) => lines.push(l), color: true });
    expect(summary.ok, lines.join("\n")).to.equal(true);
    expect(summary.positions).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(summary.lpShares).to.equal(1_000_000n * 10n ** 12n); // the first deposit: one share (12 decimals, the token's 6 plus the offset) per token
    // Every open filled at its pinned report; one tried at the second it was requested in was refused.
    expect(summary.filledAtPinnedReport).to.equal(true);
    expect(summary.earlyReport).to.not.equal(null);
    expect(summary.earlyReport!.requestId).to.equal(1n);
    expect(summary.earlyReport!.settlesAt - summary.earlyReport!.observedAt).to.equal(2);
    expect(summary.earlyReport!.error).to.equal("ReportNotPinnedError");
    expect(summary.earlyReport!.message).to.match(/^the request settles at the report covering /);
    // The latency arbitrage across the visible push update made nothing.
    expect(summary.arbitrage.positionId).to.equal(9n);
    expect(summary.arbitrage.pnl <= 0n, `arbitrage PnL ${summary.arbitrage.pnl}`).to.equal(true);
    // The orders: a stop-loss, a take-profit on the short, a trailing stop, a guard through the crash.
    expect(summary.stopped).to.deep.equal([1n]);
    expect(summary.tookProfit).to.deep.equal([4n]);
    expect(summary.trailed).to.deep.equal([5n]);
    expect(summary.guarded).to.deep.equal({ id: 2n, topUps: 3, survived: true });
    // Only the unguarded twin of the stopped and the guarded positions is liquidated, by the keeper library.
    expect(summary.healthLiquidatable).to.deep.equal([3n]);
    expect(summary.previewedLiquidatable).to.deep.equal([3n]);
    expect(summary.liquidated).to.deep.equal([3n]);
    expect(summary.keeper.tracked).to.equal(5);
    expect(summary.keeper.found).to.deep.equal([3n]);
    expect(summary.keeper.sent).to.have.length(1);
    expect(summary.keeper.mined).to.deep.equal([3n]);
    expect(summary.keeper.events.filter((e) => e.startsWith("liquidation."))).to.deep.equal(["liquidation.sent", "liquidation.mined"]);
    // The three positions without orders: not a unit moved; the guard's and the liquidation's money accounted for.
    expect(summary.untouchedVaults).to.equal(3);
    expect(summary.changedOtherVaults).to.deep.equal([]);
    expect(summary.conserved).to.equal(true);
    expect(lines.join("\n")).to.include("\x1b[");
  });

  it("test_demo_format_colorsAndNumbers", () => {
    expect(colorEnabled({ isTTY: true }, {})).to.equal(true);
    expect(colorEnabled({ isTTY: false }, {})).to.equal(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: "1" })).to.equal(false);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: "1" })).to.equal(true);
    expect(units(1_234_567_891n, 6)).to.equal("1,234.56");
    expect(units(-90_666_666n, 6, 2, { sign: true })).to.equal("−90.66");
    expect(units(5n, 0, 0, { sign: true })).to.equal("+5");
    const s = makeStyle(true);
    const t = table([{ header: "a" }, { header: "b", align: "right" }], [[s.red("x"), "1"], ["yy", "22"]], makeStyle(false), "");
    expect(t.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""))).to.deep.equal(["a    b", "──  ──", "x    1", "yy  22"]);
  });
});
