// Chainlink Data Streams reports verified by Chainlink's own Verifier and VerifierProxy
// (`@chainlink/contracts` llo-feeds, compiled with solc 0.8.19), configured with a local oracle
// set, then checked for a market by DataStreamsLib: every rule has a test that breaks it.
import { expect } from "chai";
import { network } from "hardhat";
import { SigningKey, keccak256, toUtf8Bytes } from "ethers";
import { decodeReportV3, decodeSignedReport, encodeSignedReport, schemaVersion, type ReportV3 } from "@bulkhead/sdk";
import { LocalOracleSet, localFeedId } from "../../scripts/streams/oracleSet.js";

const { ethers, networkHelpers } = await network.create();

const WAD = 10n ** 18n;
const ETH = localFeedId("ETH/USD");
const BTC = localFeedId("BTC/USD");
const VERIFIER = "@chainlink/contracts/src/v0.8/llo-feeds/Verifier.sol:Verifier";
const PROXY = "@chainlink/contracts/src/v0.8/llo-feeds/VerifierProxy.sol:VerifierProxy";
const DEVIATION_BPS = 100n; // 1 %

async function deploy() {
  const proxy = await ethers.deployContract(PROXY, [ethers.ZeroAddress]);
  const verifier = await ethers.deployContract(VERIFIER, [await proxy.getAddress()]);
  await (await proxy.initializeVerifier(await verifier.getAddress())).wait();
  const set = LocalOracleSet.deterministic();
  const digest = await set.configure(verifier as never, ETH);
  const btcDigest = await set.configure(verifier as never, BTC);
  const harness = await ethers.deployContract("DataStreamsHarness", [await proxy.getAddress()]);
  const now = BigInt(await networkHelpers.time.latest());
  const report = (over: Partial<ReportV3> = {}): ReportV3 => ({
    feedId: ETH,
    validFromTimestamp: Number(now) - 1,
    observationsTimestamp: Number(now),
    nativeFee: 0n,
    linkFee: 0n,
    expiresAt: Number(now) + 3600,
    price: 3_000n * WAD,
    bid: 2_999n * WAD,
    ask: 3_001n * WAD,
    ...over,
  });
  return { proxy, verifier, set, digest, btcDigest, harness, now, report };
}

describe("Data Streams reports (real Verifier, local oracle set)", () => {
  it("test_verify_aReportOfTheLocalOracleSet_verifiesAndDecodesToTheSignedPrices", async () => {
    const { harness, set, digest, report, verifier } = await networkHelpers.loadFixture(deploy);
    const r = report();
    const payload = set.sign(r, digest, { epoch: 1, round: 0 });
    // The SDK reads back exactly what was signed.
    expect(decodeReportV3(decodeSignedReport(payload).reportData)).to.deep.equal(r);
    expect(schemaVersion(ETH)).to.equal(3);
    await expect(harness.verifyAndCheck(payload, ETH, 3_000n * WAD, DEVIATION_BPS))
      .to.emit(harness, "Checked")
      .withArgs(ETH, r.observationsTimestamp, r.price, r.bid, r.ask)
      .and.to.emit(verifier, "ReportVerified");
  });

  it("test_verify_signedByAKeyOutsideTheOracleSet_revertsBadVerification", async () => {
    const { harness, set, digest, report, verifier } = await networkHelpers.loadFixture(deploy);
    const stranger = new SigningKey(keccak256(toUtf8Bytes("not an oracle")));
    const payload = set.sign(report(), digest, { epoch: 1, round: 0 }, { keys: [set.keys[0]!, stranger] });
    await expect(harness.verifyAndCheck(payload, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(verifier, "BadVerification");
  });

  it("test_verify_oneSignatureTooFew_revertsIncorrectSignatureCount", async () => {
    const { harness, set, digest, report, verifier } = await networkHelpers.loadFixture(deploy);
    const payload = set.sign(report(), digest, { epoch: 1, round: 0 }, { signatures: set.f });
    await expect(harness.verifyAndCheck(payload, ETH, 3_000n * WAD, DEVIATION_BPS))
      .to.be.revertedWithCustomError(verifier, "IncorrectSignatureCount")
      .withArgs(set.f, set.f + 1);
  });

  it("test_verify_oneOracleSigningTwice_revertsBadVerification", async () => {
    const { harness, set, digest, report, verifier } = await networkHelpers.loadFixture(deploy);
    const payload = set.sign(report(), digest, { epoch: 1, round: 0 }, { keys: [set.keys[1]!, set.keys[1]!] });
    await expect(harness.verifyAndCheck(payload, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(verifier, "BadVerification");
  });

  it("test_verify_tamperedPriceAfterSigning_revertsBadVerification", async () => {
    const { harness, set, digest, report, verifier } = await networkHelpers.loadFixture(deploy);
    const honest = decodeSignedReport(set.sign(report(), digest, { epoch: 1, round: 0 }));
    const forged = decodeSignedReport(set.sign(report({ price: 3_010n * WAD, ask: 3_011n * WAD }), digest, { epoch: 1, round: 0 }));
    // The forged report data under the honest report's signatures.
    const spliced = encodeSignedReport({ ...honest, reportData: forged.reportData });
    await expect(harness.verifyAndCheck(spliced, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(verifier, "BadVerification");
  });

  it("test_verify_unknownConfigDigest_revertsVerifierNotFound", async () => {
    const { harness, set, report, proxy } = await networkHelpers.loadFixture(deploy);
    const digest = "0x0006" + "ab".repeat(30);
    await expect(harness.verifyAndCheck(set.sign(report(), digest, { epoch: 1, round: 0 }), ETH, 3_000n * WAD, DEVIATION_BPS))
      .to.be.revertedWithCustomError(proxy, "VerifierNotFound")
      .withArgs(digest);
  });

  describe("checks for a market (DataStreamsLib.check)", () => {
    it("test_check_reportOfAnotherStream_revertsReportFeedMismatch", async () => {
      const { harness, set, btcDigest, report } = await networkHelpers.loadFixture(deploy);
      // A genuine, verified BTC report offered for the ETH market.
      const payload = set.sign(report({ feedId: BTC }), btcDigest, { epoch: 1, round: 0 });
      await expect(harness.verifyAndCheck(payload, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportFeedMismatch").withArgs(ETH, BTC);
    });

    it("test_check_schemaOtherThanV3_revertsReportSchemaUnsupported", async () => {
      const { harness, report } = await networkHelpers.loadFixture(deploy);
      const v2 = "0x0002" + ETH.slice(6);
      await expect(harness.check(report({ feedId: v2 }), v2, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportSchemaUnsupported").withArgs(v2, 2);
    });

    it("test_check_validFromAfterObservation_revertsReportTimestampsInvalid", async () => {
      const { harness, report, now } = await networkHelpers.loadFixture(deploy);
      const r = report({ validFromTimestamp: Number(now) + 1, observationsTimestamp: Number(now) });
      await expect(harness.check(r, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportTimestampsInvalid").withArgs(now + 1n, now);
    });

    it("test_check_expiredReport_revertsReportExpired_andTheLastSecondIsValid", async () => {
      const { harness, report, now } = await networkHelpers.loadFixture(deploy);
      const r = report({ expiresAt: Number(now) + 10 });
      await networkHelpers.time.setNextBlockTimestamp(now + 10n);
      await networkHelpers.mine();
      await harness.check(r, ETH, 3_000n * WAD, DEVIATION_BPS);
      await networkHelpers.time.setNextBlockTimestamp(now + 11n);
      await networkHelpers.mine();
      await expect(harness.check(r, ETH, 3_000n * WAD, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportExpired").withArgs(now + 10n, now + 11n);
    });

    it("test_check_bidAskOutOfOrderOrNonPositive_revertsReportPricesInvalid", async () => {
      const { harness, report } = await networkHelpers.loadFixture(deploy);
      const cases: Partial<ReportV3>[] = [
        { bid: 3_000n * WAD + 1n }, // bid above price
        { ask: 3_000n * WAD - 1n }, // ask below price
        { bid: 0n }, // bid not positive
        { bid: -1n, price: -1n + 0n, ask: 3_001n * WAD }, // negative
        { ask: 2n ** 96n }, // beyond the supported price range
      ];
      for (const c of cases) {
        const r = report(c);
        await expect(harness.check(r, ETH, 3_000n * WAD, 10_000n), JSON.stringify(c, (_, v) => (typeof v === "bigint" ? v.toString() : v)))
          .to.be.revertedWithCustomError(harness, "ReportPricesInvalid")
          .withArgs(r.bid, r.price, r.ask);
      }
      // bid == price == ask is a valid report.
      await harness.check(report({ bid: 3_000n * WAD, ask: 3_000n * WAD }), ETH, 3_000n * WAD, DEVIATION_BPS);
    });

    it("test_check_priceFarFromThePushFeed_revertsReportDeviatesFromFeed_atExactlyOneWeiPastTheBound", async () => {
      const { harness, report } = await networkHelpers.loadFixture(deploy);
      const feed = 3_000n * WAD;
      const edge = feed + (feed * DEVIATION_BPS) / 10_000n; // exactly 1 % above
      const atEdge = report({ price: edge, bid: edge, ask: edge });
      expect((await harness.check(atEdge, ETH, feed, DEVIATION_BPS))[0]).to.equal(edge);
      const past = report({ price: edge + 1n, bid: edge + 1n, ask: edge + 1n });
      await expect(harness.check(past, ETH, feed, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportDeviatesFromFeed").withArgs(edge + 1n, feed, DEVIATION_BPS);
      const low = feed - (feed * DEVIATION_BPS) / 10_000n;
      await harness.check(report({ price: low, bid: low, ask: 3_000n * WAD }), ETH, feed, DEVIATION_BPS);
      await expect(harness.check(report({ price: low - 1n, bid: low - 1n }), ETH, feed, DEVIATION_BPS)).to.be.revertedWithCustomError(harness, "ReportDeviatesFromFeed").withArgs(low - 1n, feed, DEVIATION_BPS);
    });
  });

  it("test_localOracleSet_refusesASetTheVerifierWouldRefuse", () => {
    const keys = LocalOracleSet.deterministic().keys;
    expect(() => new LocalOracleSet(keys.slice(0, 3), 1)).to.throw(/cannot tolerate f = 1/);
    expect(() => new LocalOracleSet(keys, 0)).to.throw(/f must be a positive integer/);
  });
});
