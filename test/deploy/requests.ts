// Two-step settlement in the deploy: the `streams` section of a parameter file is validated before
// anything is sent (the oracle's bounds, v3 stream ids, and no public network without it); the
// Ignition module deploys Chainlink's Verifier with the local oracle set, the BulkheadOracle, the
// BulkheadRouter and sets it as the engine's settler; a request on the deployed system, executed by
// a third account with a report the local oracle set signs for the deployed config digest, fills
// at the report's ask.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import hre, { network } from "hardhat";
import { Contract, ZeroAddress, parseUnits } from "ethers";
import { parseDeployment, type ReportV3 } from "@bulkhead/sdk";
import { DeployConfigError, parseDeployConfig, type ConfigIssue } from "../../scripts/deploy/config.js";
import { deployBulkhead, type DeploymentRecord } from "../../scripts/deploy/deploy.js";
import { preflight } from "../../scripts/deploy/preflight.js";
import * as B from "../../scripts/deploy/bounds.js";
import { LocalOracleSet, localFeedId } from "../../scripts/streams/oracleSet.js";
import { WAD } from "../helpers/fixture.js";
import { ROOT } from "../helpers/processes.js";
import { VERIFIER, VERIFIER_PROXY } from "../helpers/streams.js";
import { depositThroughRequest } from "../helpers/lpRequests.js";

const read = async (name: string) => JSON.parse(await readFile(path.join(ROOT, "ignition/parameters", name), "utf8"));
const REQUESTS = await read("localhost-requests.json");
const LOCAL = await read("localhost.json");
const PUBLIC = { sepolia: await read("sepolia.json"), arbitrumSepolia: await read("arbitrumSepolia.json"), baseSepolia: await read("baseSepolia.json") };
const clone = <T>(x: T): T => structuredClone(x);

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DeployConfigError) return [...e.issues];
    throw e;
  }
  throw new Error("expected a DeployConfigError");
}
const byField = (issues: ConfigIssue[]) => Object.fromEntries(issues.map((i) => [i.field, i.problem]));

describe("deploy: two-step settlement (streams)", function () {
  this.timeout(120_000);

  describe("parameter files", () => {
    it("test_config_localRequestsFile_parsesToExactOnChainValues", () => {
      const c = parseDeployConfig(clone(REQUESTS));
      expect(c.streams).to.deep.equal({
        verifierProxy: { kind: "local" },
        timing: { settlementDelay: 2n, expiry: 300n, pushFallbackDelay: 120n },
        markets: [
          { symbol: "ETH/USD", streamId: localFeedId("ETH/USD"), maxDeviationBps: 100n },
          { symbol: "BTC/USD", streamId: localFeedId("BTC/USD"), maxDeviationBps: 100n },
        ],
      });
      // The instant local file stays instant: no streams, no settler.
      expect(parseDeployConfig(clone(LOCAL)).streams).to.equal(undefined);
    });

    it("test_config_publicFiles_settleThroughChainlinksProxyAndV3Streams", () => {
      const proxies = { sepolia: "0x4e9935be37302B9C97Ff4ae6868F1b566ade26d2", arbitrumSepolia: "0x2ff010DEbC1297f19579B4246cad07bd24F2488A", baseSepolia: "0x8Ac491b7c118a0cdcF048e0f707247fD8C9575f9" };
      for (const [name, json] of Object.entries(PUBLIC)) {
        const s = parseDeployConfig(clone(json), name).streams!;
        expect(s.verifierProxy, name).to.deep.equal({ kind: "external", address: proxies[name as keyof typeof proxies] });
        expect(s.markets.map((m) => [m.symbol, m.streamId.slice(0, 6)]), name).to.deep.equal([["ETH/USD", "0x0003"], ["BTC/USD", "0x0003"]]);
        expect(json._sources.verifierProxy, name).to.include(proxies[name as keyof typeof proxies]);
        for (const m of s.markets) expect(json._sources.streams, name).to.include(m.streamId);
      }
    });

    it("test_config_publicNetworkWithoutStreams_isRefused", () => {
      const noStreams = clone(PUBLIC.arbitrumSepolia);
      delete noStreams.streams;
      const issues = issuesOf(() => parseDeployConfig(noStreams, "arbitrumSepolia.json"));
      expect(issues.map((i) => i.field)).to.deep.equal(["streams"]);
      expect(issues[0]!.problem).to.match(/^missing: a public network \(arbitrumSepolia, chain 421614\) must settle trades through requests .* every trade would execute instantly/);
      // A local file moved to a public chain id is refused too, not only the shipped public files.
      const moved = clone(LOCAL);
      moved.chainId = 11155111;
      expect(issuesOf(() => parseDeployConfig(moved)).map((i) => i.field)).to.deep.equal(["streams"]);
      // And so is the local oracle set there: its keys are public.
      const localVerifier = clone(PUBLIC.sepolia);
      localVerifier.streams.verifierProxy = "local";
      expect(byField(issuesOf(() => parseDeployConfig(localVerifier)))["streams.verifierProxy"]).to.match(/trusts public development keys/);
    });

    it("test_config_streams_badValues_eachNamedByItsField", () => {
      const c = clone(PUBLIC.sepolia);
      c.streams.markets["ETH/USD"].maxDeviation = "6%";
      c.streams.markets["BTC/USD"].streamId = "0x0002" + "11".repeat(30); // a v2 (no bid/ask) stream
      c.streams.markets["SOL/USD"] = { streamId: "0x0003" + "22".repeat(30), maxDeviation: "1%" };
      c.streams.timing.settlementDelay = "90s";
      c.streams.timing.expiry = "2d";
      const issues = byField(issuesOf(() => parseDeployConfig(c, "bad.json")));
      expect(Object.keys(issues)).to.have.members([
        "streams.markets.ETH/USD.maxDeviation",
        "streams.markets.BTC/USD.streamId",
        "streams.markets.SOL/USD",
        "streams.timing.settlementDelay",
        "streams.timing.expiry",
      ]);
      expect(issues["streams.markets.ETH/USD.maxDeviation"]).to.equal(`600 is outside the contract's bounds [1, 500] (would revert ParameterOutOfBounds("maxDeviationBps"))`);
      expect(issues["streams.markets.BTC/USD.streamId"]).to.match(/is a schema v2 stream \(first two bytes 0x0002\); the oracle decodes v3 crypto reports only, 0x0003… \(would revert ReportSchemaUnsupported\)/);
      expect(issues["streams.markets.SOL/USD"]).to.match(/^unknown field \(expected one of: ETH\/USD, BTC\/USD\)/);
      expect(issues["streams.timing.settlementDelay"]).to.equal(`90 is outside the contract's bounds [1, 60] (would revert ParameterOutOfBounds("settlementDelay"))`);
      expect(issues["streams.timing.expiry"]).to.equal(`172800 is outside the contract's bounds [300, 86400] (would revert ParameterOutOfBounds("expiry"))`);
    });

    it("test_config_streams_timingOrder_idsAndLabels_refused", () => {
      const c = clone(PUBLIC.baseSepolia);
      c.streams.timing = { settlementDelay: "5s", expiry: "1h", pushFallbackDelay: "30s" }; // the fallback would open before a minute
      c.streams.markets["ETH/USD"] = { streamId: "ETH/USD", maxDeviation: "0%" }; // a label is a local id; 0 bps refuses every report
      c.streams.markets["BTC/USD"].streamId = "0x0003abc"; // not 32 bytes
      const issues = byField(issuesOf(() => parseDeployConfig(c)));
      expect(Object.keys(issues)).to.have.members(["streams.timing.pushFallbackDelay", "streams.markets.ETH/USD.streamId", "streams.markets.ETH/USD.maxDeviation", "streams.markets.BTC/USD.streamId"]);
      expect(issues["streams.timing.pushFallbackDelay"]).to.equal(`30 is outside the contract's bounds [60, 86400] (would revert ParameterOutOfBounds("pushFallbackDelay"))`);
      expect(issues["streams.markets.ETH/USD.streamId"]).to.match(/"ETH\/USD" is a label, which only names a stream of the local oracle set; a public network needs Chainlink's stream id/);
      expect(issues["streams.markets.ETH/USD.maxDeviation"]).to.match(/^0 is outside the contract's bounds \[1, 500\]/);
      expect(issues["streams.markets.BTC/USD.streamId"]).to.equal("0x0003abc is not a 32-byte hex stream id");

      const missing = clone(REQUESTS);
      delete missing.streams.markets["BTC/USD"];
      expect(byField(issuesOf(() => parseDeployConfig(missing)))).to.deep.equal({
        "streams.markets.BTC/USD": "missing: every market needs its stream (BTC/USD is listed in markets)",
      });
      const twice = clone(REQUESTS);
      twice.streams.markets["BTC/USD"].streamId = "ETH/USD";
      expect(byField(issuesOf(() => parseDeployConfig(twice)))["streams.markets.BTC/USD.streamId"]).to.match(/is also ETH\/USD's stream/);
    });

    it("test_config_unconfirmedValue_refusesTheNetwork", () => {
      const c = clone(PUBLIC.sepolia);
      c.streams.verifierProxy = { unconfirmed: "not listed for this network" };
      c.streams.markets["BTC/USD"].streamId = { unconfirmed: "testnet id not published" };
      expect(byField(issuesOf(() => parseDeployConfig(c)))).to.deep.equal({
        "streams.verifierProxy": "not confirmed (not listed for this network): write Chainlink's published value before deploying to this network; a guessed one is never deployed",
        "streams.markets.BTC/USD.streamId": "not confirmed (testnet id not published): write Chainlink's published value before deploying to this network; a guessed one is never deployed",
      });
    });
  });

  describe("bounds and chain checks", () => {
    const connection = network.create();

    it("test_bounds_timingAndDeviation_agreeWithTheOracleAtEveryEdge", async () => {
      const { ethers } = await connection;
      const [owner] = await ethers.getSigners();
      // The constructor checks the timing before it reads anything: any engine address works.
      const anyEngine = owner.address;
      const factory = await ethers.getContractFactory("BulkheadOracle");
      const verdict = async (t: B.Timing) => {
        try {
          await factory.getDeployTransaction(anyEngine, ZeroAddress, t).then((tx) => ethers.provider.call(tx));
          return "ok";
        } catch (e) {
          const parsed = factory.interface.parseError((e as { data?: string }).data ?? "0x");
          return parsed ? `${parsed.name}(${parsed.args.join(",")})` : String(e);
        }
      };
      const ts = (t: B.Timing) => {
        const v = B.timingViolations(t)[0];
        return v ? `ParameterOutOfBounds(${v.name},${v.value},${v.min},${v.max})` : "ok";
      };
      const base = { settlementDelay: 2n, expiry: 300n, pushFallbackDelay: 120n };
      const cases: B.Timing[] = [base];
      for (const s of [0n, 1n, 59n, 60n, 61n]) cases.push({ ...base, settlementDelay: s });
      for (const p of [59n, 60n, B.MAX_REQUEST_EXPIRY, B.MAX_REQUEST_EXPIRY + 1n]) cases.push({ settlementDelay: 2n, pushFallbackDelay: p, expiry: B.MAX_REQUEST_EXPIRY });
      for (const e of [119n, 120n, B.MAX_REQUEST_EXPIRY, B.MAX_REQUEST_EXPIRY + 1n]) cases.push({ ...base, expiry: e });
      let refused = 0;
      for (const t of cases) {
        const contract = await verdict(t);
        expect(contract, JSON.stringify(t, (_k, v) => (typeof v === "bigint" ? Number(v) : v))).to.equal(ts(t));
        if (contract !== "ok") refused++;
      }
      expect(refused).to.equal(6);
      expect(B.streamDeviationViolation(0n)?.min).to.equal(1n);
      expect(B.streamDeviationViolation(B.MAX_REPORT_DEVIATION_BPS)).to.equal(undefined);
      expect(B.streamDeviationViolation(B.MAX_REPORT_DEVIATION_BPS + 1n)?.name).to.equal("maxDeviationBps");
    });

    it("test_preflight_verifierProxy_noCode_notAProxy_feeManagerWithoutLink_localOnPublicChain_missingStreams", async () => {
      const { ethers } = await connection;
      const [deployer] = await ethers.getSigners();
      const chainId = (await ethers.provider.getNetwork()).chainId;
      const issuesFor = async (json: unknown, id = chainId) => preflight({ ethers, config: parseDeployConfig(json), chainId: id, deployer: deployer.address });
      const withProxy = (address: string) => {
        const c = clone(REQUESTS);
        c.streams.verifierProxy = address;
        c.streams.markets = { "ETH/USD": { streamId: localFeedId("ETH/USD"), maxDeviation: "1%" }, "BTC/USD": { streamId: localFeedId("BTC/USD"), maxDeviation: "1%" } };
        return c;
      };

      const nobody = ethers.Wallet.createRandom().address;
      expect(await issuesFor(withProxy(nobody))).to.deep.equal([{ field: "streams.verifierProxy", problem: `${nobody} has no code on chain 31337` }]);
      const feed = await ethers.deployContract("MockV3Aggregator", [8, 1n]);
      const notProxy = await issuesFor(withProxy(await feed.getAddress()));
      expect(notProxy.map((i) => i.field)).to.deep.equal(["streams.verifierProxy"]);
      expect(notProxy[0]!.problem).to.match(/is not Chainlink's VerifierProxy \(typeAndVersion\(\) says nothing\)/);
      const proxy = await ethers.deployContract(VERIFIER_PROXY, [ZeroAddress]);
      expect(await issuesFor(withProxy(await proxy.getAddress()))).to.deep.equal([]);

      // On-chain billing: Chainlink's FeeManager names LINK, which the oracle pays in: accepted.
      const link = await ethers.deployContract("MockStablecoin", ["ChainLink Token", "LINK", 18]);
      const wrappedNative = await ethers.deployContract("MockStablecoin", ["Wrapped Ether", "WETH", 18]);
      const rewardManager = await ethers.deployContract("@chainlink/contracts/src/v0.8/llo-feeds/RewardManager.sol:RewardManager", [link]);
      const billing = await ethers.deployContract(VERIFIER_PROXY, [ZeroAddress]);
      const feeManager = await ethers.deployContract("@chainlink/contracts/src/v0.8/llo-feeds/FeeManager.sol:FeeManager", [link, wrappedNative, billing, rewardManager]);
      await (await billing.setFeeManager(feeManager)).wait();
      expect(await issuesFor(withProxy(await billing.getAddress()))).to.deep.equal([]);
      // A fee manager whose LINK token has no code could never be paid: refused before sending.
      const noLink = await ethers.deployContract(VERIFIER_PROXY, [ZeroAddress]);
      const hostile = await ethers.deployContract("UnderchargingFeeManager", [nobody, rewardManager, 1n]);
      await (await noLink.setFeeManager(hostile)).wait();
      expect(await issuesFor(withProxy(await noLink.getAddress()))).to.deep.equal([
        { field: "streams.verifierProxy", problem: `${await noLink.getAddress()} bills verification through its fee manager ${await hostile.getAddress()}, whose LINK token (i_linkAddress()) ${nobody} has no code: BulkheadOracle could not pay the fee` },
      ]);

      // On a public chain id: a file with no chainId and no streams, and the local Verifier.
      const noChainId = clone(REQUESTS);
      delete noChainId.chainId;
      const publicIssues = await issuesFor(noChainId, 11155111n);
      expect(publicIssues.map((i) => i.field)).to.include("streams.verifierProxy");
      const instant = clone(LOCAL);
      delete instant.chainId;
      expect((await issuesFor(instant, 11155111n)).map((i) => i.field)).to.include("streams");
    });
  });

  describe("deploy of localhost-requests.json (in-process)", () => {
    it("test_deploy_localhostRequests_requestExecutedByAThirdAccount_fillsAtTheReportsAsk", async () => {
      const connection = await network.create();
      const { ethers, networkHelpers } = connection;
      const record: DeploymentRecord = await deployBulkhead({ hre, connection, parametersPath: path.join(ROOT, "ignition/parameters/localhost-requests.json") });
      const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;

      // Recorded and wired: router = settler, oracle over the local proxy, one stream per market.
      for (const k of ["router", "orderBook", "oracle", "verifierProxy", "verifier"] as const) expect(await ethers.provider.getCode(record[k]!), k).to.not.equal("0x");
      const engine = new Contract(record.engine, await abi("Bulkhead"), ethers.provider);
      const oracle = new Contract(record.oracle!, await abi("BulkheadOracle"), ethers.provider);
      const verifier = new Contract(record.verifier!, (await hre.artifacts.readArtifact(VERIFIER)).abi, ethers.provider);
      expect(await engine.settler()).to.equal(record.router);
      // The order book is set on the router, once, before the handover.
      const routerView = new Contract(record.router!, await abi("BulkheadRouter"), ethers.provider);
      const book = new Contract(record.orderBook!, await abi("BulkheadOrderBook"), ethers.provider);
      expect([await routerView.orderBook(), await book.router(), await book.engine()]).to.deep.equal([record.orderBook, record.router, record.engine]);
      expect(await oracle.verifierProxy()).to.equal(record.verifierProxy);
      expect(record.timing).to.deep.equal({ settlementDelay: 2, expiry: 300, pushFallbackDelay: 120 });
      for (const [i, label] of ["ETH/USD", "BTC/USD"].entries()) {
        const m = record.markets[i]!;
        expect([m.streamId, m.maxDeviationBps]).to.deep.equal([localFeedId(label), 100]);
        expect((await oracle.stream(i)).feedId).to.equal(m.streamId);
        expect((await verifier.latestConfigDetails(m.streamId)).configDigest).to.equal(m.configDigest);
      }
      // The SDK reads the new fields; the streams are per market.
      const d = parseDeployment(record);
      expect([d.router, d.oracle, d.verifierProxy, d.verifier]).to.deep.equal([record.router, record.oracle, record.verifierProxy, record.verifier]);
      expect(d.markets.map((m) => m.streamId)).to.deep.equal([localFeedId("ETH/USD"), localFeedId("BTC/USD")]);

      const [, lp, trader, executor] = await ethers.getSigners();
      const token = new Contract(record.token, await abi("MockStablecoin"), ethers.provider);
      const pool = new Contract(record.pool, await abi("BulkheadPool"), ethers.provider);
      const router = new Contract(record.router!, await abi("BulkheadRouter"), ethers.provider);
      const usd = (x: string) => parseUnits(x, record.tokenDecimals);
      await (await token.connect(lp).getFunction("faucet")(lp.address, usd("100000"))).wait();
      await (await token.connect(lp).getFunction("approve")(record.pool, usd("100000"))).wait();
      // The pool is asynchronous here (the engine has a settler): LPs deposit through a request.
      await depositThroughRequest(pool, lp, usd("100000"), 2);
      await (await token.connect(trader).getFunction("faucet")(trader.address, usd("1000"))).wait();
      await (await token.connect(trader).getFunction("approve")(record.router, usd("1000"))).wait();

      // Instant trades are gone: the engine takes opens from the router only.
      await expect(engine.connect(trader).getFunction("open")(0, true, usd("500"), WAD, 2n ** 96n - 1n, 2n ** 64n)).to.be.revertedWithCustomError(engine, "TradesRequireRequest").withArgs(record.router);

      const fee = await router.quoteExecutionFee(1n, 10n ** 11n);
      const tx = await router.connect(trader).getFunction("requestOpen")(0, true, usd("500"), WAD, 2n ** 96n - 1n, { value: fee });
      const created = router.interface.parseLog((await tx.wait())!.logs.find((l: { address: string }) => l.address === record.router)!)!;
      const [id, settlesAt] = [created.args.requestId as bigint, created.args.settlesAt as bigint];
      await networkHelpers.time.increaseTo(settlesAt);

      // The report at the pinned second, signed by the deterministic local oracle set for the deployed digest.
      const price = 3000n * WAD;
      const report: ReportV3 = {
        feedId: record.markets[0]!.streamId!,
        validFromTimestamp: Number(settlesAt),
        observationsTimestamp: Number(settlesAt),
        nativeFee: 0n,
        linkFee: 0n,
        expiresAt: Number(settlesAt) + 3600,
        price,
        bid: price - 3n * 10n ** 18n,
        ask: price + 3n * 10n ** 18n,
      };
      const signed = LocalOracleSet.deterministic().sign(report, record.markets[0]!.configDigest!, { epoch: Number(settlesAt), round: 0 });
      await expect(router.connect(executor).getFunction("execute")(id, signed))
        .to.emit(router, "RequestExecuted")
        .withArgs(id, executor.address, 1n, report.ask, (v: bigint) => v > 0n, (v: bigint) => v >= 0n);
      expect(await engine.ownerOf(1n)).to.equal(trader.address);
      expect((await engine.position(1n)).entryPrice).to.equal(report.ask);
    });

    it("test_deploy_localhostRequests_withTimelock_settlementIsSetBeforeTheHandover", async () => {
      const connection = await network.create();
      const { ethers } = connection;
      const [, proposer] = await ethers.getSigners();
      const config = clone(REQUESTS);
      config.owner = { timelock: { minDelay: "2d", proposers: [proposer.address], executors: ["anyone"] } };
      const record = await deployBulkhead({ hre, connection, config: parseDeployConfig(config) });
      const abi = async (name: string) => (await hre.artifacts.readArtifact(name)).abi;
      const engine = new Contract(record.engine, await abi("Bulkhead"), ethers.provider);
      const oracle = new Contract(record.oracle!, await abi("BulkheadOracle"), ethers.provider);
      expect(await engine.owner()).to.equal(record.governance.timelock!.address);
      expect(await engine.settler()).to.equal(record.router);
      // The order book is set on the router, once, before the handover.
      const routerView = new Contract(record.router!, await abi("BulkheadRouter"), ethers.provider);
      const book = new Contract(record.orderBook!, await abi("BulkheadOrderBook"), ethers.provider);
      expect([await routerView.orderBook(), await book.router(), await book.engine()]).to.deep.equal([record.orderBook, record.router, record.engine]);
      expect((await oracle.stream(1)).feedId).to.equal(localFeedId("BTC/USD"));
      // setStream is the engine owner's now: the deployer can no longer change it.
      const [deployer] = await ethers.getSigners();
      await expect(oracle.connect(deployer).getFunction("setStream")(0, localFeedId("ETH/USD"), 200))
        .to.be.revertedWithCustomError(oracle, "Unauthorized")
        .withArgs(deployer.address);
    });

    it("test_sdk_parseDeployment_oldRecordsStillRead_badStreamIdNamed", () => {
      const old = { chainId: 1, network: "x", engine: ZeroAddress, pool: ZeroAddress, lens: ZeroAddress, token: ZeroAddress, startBlock: 0, markets: [{ id: 0, symbol: "ETH/USD", feed: ZeroAddress }] };
      const d = parseDeployment(old);
      expect([d.router, d.oracle, d.markets[0]!.streamId]).to.deep.equal([undefined, undefined, undefined]);
      expect(() => parseDeployment({ ...old, router: "0x12", markets: [{ ...old.markets[0], streamId: "0x0003" }] })).to.throw(
        /markets\[0\]\.streamId must be a 32-byte hex string, got "0x0003"; router must be an address, got "0x12"/,
      );
    });
  });
});
