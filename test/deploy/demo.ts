// `npm run demo` on the in-process network: exits 0 and liquidates exactly one position, found and
// liquidated by the keeper library; and its main function's summary says the same in numbers.
import { expect } from "chai";
import hre from "hardhat";
import { runDemo } from "../../scripts/demo/demo.js";
import { colorEnabled, makeStyle, table, units } from "../../scripts/demo/format.js";
import { npmRun, skipUnderCoverage } from "../helpers/processes.js";

describe("demo", function () {
  this.timeout(90_000);

  it("test_demo_npmRun_exitsZeroAndLiquidatesExactlyOne", async function () {
    // A separate `npm run demo` process; under --coverage it would rebuild the uninstrumented
    // contracts first. test_demo_main_summary covers the same code in-process.
    skipUnderCoverage(this);
    const res = await npmRun("demo", [], { NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(res.code, res.stdout + res.stderr).to.equal(0);
    // The keeper library's first cycle, its sent transaction and its mined report.
    expect(res.stdout).to.match(/cycle 1 · block \d+ {2}tracks 6 positions, 1 liquidatable: #1 /);
    expect(res.stdout).to.include("sends liquidateMany([1])  tx 0x");
    expect(res.stdout).to.match(/cycle 2 · block \d+ {2}liquidateMany\(\[1\]\) → 1 liquidated #1 {2}tx 0x[0-9a-f]{4}…[0-9a-f]{4}, gas \d+, reward 90\.66 USDC/);
    expect(res.stdout.match(/liquidated #/g)).to.have.length(1);
    expect(res.stdout).to.include("✓ the engine agrees: lens.previewLiquidations(ids) finds #1 liquidatable");
    expect(res.stdout).to.include("✓ exactly one of 6 positions was liquidated (#1); the other 5 vaults did not move by a single unit.");
    expect(res.stdout.match(/✓ unchanged/g)).to.have.length(5);
    expect(res.stdout.match(/✗ liquidatable/g)).to.have.length(1);
    expect(res.stdout).to.include("= 2,000.00 out of the vault ✓");
    // Not a TTY: no colour codes at all.
    expect(res.stdout).not.to.include("\x1b[");
  });

  it("test_demo_main_summary", async () => {
    const lines: string[] = [];
    const summary = await runDemo({ hre, connection: await hre.network.create(), print: (l) => lines.push(l), color: true });
    expect(summary.ok).to.equal(true);
    expect(summary.positions).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n]);
    expect(summary.healthLiquidatable).to.deep.equal([1n]);
    expect(summary.previewedLiquidatable).to.deep.equal([1n]);
    expect(summary.liquidated).to.deep.equal([1n]);
    // What the keeper library reported: its evaluation and its own log events.
    expect(summary.keeper.tracked).to.equal(6);
    expect(summary.keeper.found).to.deep.equal([1n]);
    expect(summary.keeper.sent).to.have.length(1);
    expect(summary.keeper.mined).to.deep.equal([1n]);
    expect(summary.keeper.events.filter((e) => e.startsWith("liquidation."))).to.deep.equal(["liquidation.sent", "liquidation.mined"]);
    expect(summary.untouchedVaults).to.equal(5);
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
