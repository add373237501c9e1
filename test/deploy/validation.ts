// Bad configuration fails before anything is sent, with a message that names the field.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import hre, { network } from "hardhat";
import { DeployConfigError, parseDeployConfig, type ConfigIssue } from "../../scripts/deploy/config.js";
import { deployBulkhead } from "../../scripts/deploy/deploy.js";
import { preflight } from "../../scripts/deploy/preflight.js";
import { WAD, YEAR } from "../../scripts/deploy/bounds.js";
import { npmRun, ROOT } from "../helpers/processes.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;

const LOCAL = JSON.parse(await readFile(path.join(ROOT, "ignition/parameters/localhost.json"), "utf8"));
const clone = () => structuredClone(LOCAL) as typeof LOCAL;

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DeployConfigError) return [...e.issues];
    throw e;
  }
  throw new Error("expected a DeployConfigError");
}
const fields = (issues: ConfigIssue[]) => issues.map((i) => i.field);

/** A local parameter file whose ETH/USD market reads a real (non-mock) feed address. */
function withExternalFeed(address: string, extra: Record<string, unknown> = {}) {
  const c = clone();
  c.markets[0].feed = { address, ...extra };
  return c;
}

describe("deploy: configuration is validated before anything is sent", function () {
  this.timeout(60_000);

  it("test_config_localFile_parsesToExactOnChainValues", () => {
    const c = parseDeployConfig(clone());
    const eth = c.markets[0];
    expect(eth.params.maxLeverage).to.equal(50n * WAD);
    expect(eth.params.openFeeRate).to.equal(WAD / 1000n);
    expect(eth.params.baseBorrowRate).to.equal(WAD / 10n / YEAR);
    expect(eth.params.minCollateral).to.equal(10_000_000n);
    expect(eth.params.maxLongOpenInterest).to.equal(10_000n * WAD);
    expect(eth.risk).to.deep.equal({ mmr: WAD / 200n, liquidationFeeRate: WAD / 200n, minLiquidationFee: 1_000_000n, maxProfitFactorBps: 5000n });
    expect(eth.heartbeat).to.equal(3600n);
    expect(eth.feed).to.deep.equal({ kind: "mock", decimals: 8, answer: 3000n * 10n ** 8n });
  });

  it("test_config_badValues_eachNamedByItsField", () => {
    const c = clone();
    c.markets[0].heartbeat = 0;
    c.markets[0].risk.mmr = "60%";
    c.markets[0].risk.mmR = "1%";
    c.markets[0].params.minCollateral = "10 DAI";
    c.markets[1].params.maxLeverage = "lots";
    c.markets[1].risk.minLiquidationFee = "0.0000001 USDC";
    c.guardian = "0x70997970c51812dc3a010c7d01b50e0d17dc79C8"; // checksum broken
    delete c.pool;
    const issues = issuesOf(() => parseDeployConfig(c, "bad.json"));
    expect(fields(issues)).to.have.members([
      "markets[0].heartbeat",
      "markets[0].risk.mmr",
      "markets[0].risk.mmR",
      "markets[0].params.minCollateral",
      "markets[1].params.maxLeverage",
      "markets[1].risk.minLiquidationFee",
      "guardian",
      "pool",
      "pool.name",
      "pool.symbol",
    ]);
    const byField = new Map(issues.map((i) => [i.field, i.problem]));
    expect(byField.get("markets[0].heartbeat")).to.match(/0 is outside the contract's bounds \[60, 172800\].*ParameterOutOfBounds\("heartbeat"\)/);
    expect(byField.get("markets[0].risk.mmr")).to.match(/600000000000000000 is outside .*\[1000000000000000, 500000000000000000\]/);
    expect(byField.get("markets[0].params.minCollateral")).to.match(/is in DAI; this field is in USDC/);
    expect(byField.get("markets[1].risk.minLiquidationFee")).to.match(/more decimals than USDC/);
    expect(new DeployConfigError("bad.json", issues).message).to.match(/^bad\.json: 10 problems, nothing was sent/);
  });

  it("test_config_coupledBound_namesBothFields", () => {
    const c = clone();
    c.markets[0].risk.liquidationFeeRate = "1.5%"; // 0.5% + 1.5% = 2% = 1 / 50x: not below the initial margin
    const issues = issuesOf(() => parseDeployConfig(c));
    expect(fields(issues)).to.deep.equal(["markets[0].risk.mmr + risk.liquidationFeeRate"]);
  });

  it("test_preflight_feedWithoutCode_staleFeed_wrongDescription_wrongChain", async () => {
    const [deployer] = await ethers.getSigners();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const nobody = ethers.Wallet.createRandom().address;
    const issuesFor = async (json: unknown, id = chainId) =>
      preflight({ ethers, config: parseDeployConfig(json), chainId: id, deployer: deployer.address });

    const noCode = await issuesFor(withExternalFeed(nobody));
    expect(noCode).to.have.length(1);
    expect(noCode[0].field).to.equal("markets[0].feed.address");
    expect(noCode[0].problem).to.match(/has no code on chain 31337 .*FeedHasNoCode/);

    const feed = await ethers.deployContract("MockV3Aggregator", [8, 3000n * 10n ** 8n]);
    const described = await issuesFor(withExternalFeed(await feed.getAddress(), { description: "ETH / USD" }));
    expect(fields(described)).to.deep.equal(["markets[0].feed.description"]);
    expect(described[0].problem).to.match(/expected "ETH \/ USD", the feed at .* says "v0\.8\/tests\/MockV3Aggregator\.sol"/);

    expect(await issuesFor(withExternalFeed(await feed.getAddress()))).to.deep.equal([]);
    await networkHelpers.time.increase(3601);
    const stale = await issuesFor(withExternalFeed(await feed.getAddress()));
    expect(fields(stale)).to.deep.equal(["markets[0].heartbeat"]);
    expect(stale[0].problem).to.match(/last updated \d+s ago, more than the heartbeat 3600s/);

    const wrongChain = clone();
    expect(await issuesFor(wrongChain, 11155111n)).to.deep.equal([
      { field: "chainId", problem: "the file is for chain 31337 but the network answers chain 11155111" },
    ]);
    delete wrongChain.chainId;
    // A public chain also needs two-step settlement: the instant local file has no streams section.
    expect(fields(await issuesFor(wrongChain, 11155111n))).to.deep.equal(["token.mock", "streams", "markets[0].feed.mock", "markets[1].feed.mock"]);
  });

  it("test_deploy_badConfig_sendsNothing", async () => {
    const [deployer] = await ethers.getSigners();
    const nonce = await ethers.provider.getTransactionCount(deployer.address);
    const block = await ethers.provider.getBlockNumber();
    const nobody = ethers.Wallet.createRandom().address;
    let error: unknown;
    try {
      await deployBulkhead({ hre, connection, config: parseDeployConfig(withExternalFeed(nobody)), parametersPath: "x.json" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(DeployConfigError);
    expect((error as Error).message).to.match(/^x\.json: 1 problem, nothing was sent\n {2}- markets\[0\]\.feed\.address: /);
    expect(await ethers.provider.getTransactionCount(deployer.address)).to.equal(nonce);
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
  });

  it("test_deployCli_missingOrMalformedSecrets_namedBeforeConnecting", async function () {
    this.timeout(60_000);
    // Empty values stand for unset ones: an unset variable would consult the developer's keystore.
    const missing = await npmRun("deploy", ["--network", "sepolia"], { SEPOLIA_RPC_URL: "", DEPLOYER_PRIVATE_KEY: "" });
    expect(missing.code, missing.stdout + missing.stderr).to.equal(1);
    expect(missing.stderr).to.include("Deployment refused before sending anything.");
    expect(missing.stderr).to.include("networks.sepolia.url: configuration variable SEPOLIA_RPC_URL is not set");
    expect(missing.stderr).to.include("networks.sepolia.accounts[0]: configuration variable DEPLOYER_PRIVATE_KEY is not set");
    // A URL that nothing answers on: the run must fail on the key before any connection is tried.
    const malformed = await npmRun("deploy", ["--network", "sepolia"], { SEPOLIA_RPC_URL: "http://127.0.0.1:9", DEPLOYER_PRIVATE_KEY: "0x1234" });
    expect(malformed.code).to.equal(1);
    expect(malformed.stderr).to.include("networks.sepolia.accounts[0]: configuration variable DEPLOYER_PRIVATE_KEY is not a 32-byte hex private key");
    expect(malformed.stderr).not.to.include("SEPOLIA_RPC_URL");
  });
});
