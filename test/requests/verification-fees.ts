// Chainlink's on-chain billing for Data Streams: where the VerifierProxy has a FeeManager (public
// networks), the BulkheadOracle pays each report's fee in LINK from its own balance. Chainlink's
// real FeeManager and RewardManager (llo-feeds, solc 0.8.19) are configured as Chainlink's own
// Foundry tests configure them (BaseVerifierTest: `setFeeManager` on the proxy and the reward
// manager, a native surcharge, reward recipients per config digest), with 18-decimal ERC-20
// stand-ins for LINK and wrapped native. Executions go through `router.execute`.
import { expect } from "chai";
import { network } from "hardhat";
import { ETH_MARKET, ETH_PRICE, USDC, WAD, wadFromFeed } from "../helpers/fixture.js";
import { Kind, created, deployRequestSystem, type RequestSystem } from "../helpers/requests.js";
import { FEED_IDS, HALF_SPREAD_BPS } from "../helpers/streams.js";

const { ethers, networkHelpers } = await network.create();

const PX = wadFromFeed(ETH_PRICE);
const Q = { price: PX };
const ASK = PX + (PX * HALF_SPREAD_BPS) / 10_000n;
const MAX_UINT96 = 2n ** 96n - 1n;
/** Chainlink's percentage scalar (1e18 = 100 %), for surcharges, discounts and recipient weights. */
const PERCENT = 10n ** 18n;
/** Fees a report carries, as Chainlink's reports do: LINK and native, 18 decimals each. */
const LINK_FEE = 5n * 10n ** 16n; // 0.05 LINK
const NATIVE_FEE = 10n ** 13n;
const NATIVE_SURCHARGE = PERCENT / 100n; // 1 %
const FUNDING = 10n * WAD; // 10 LINK

/** Chainlink's on-chain billing beside `proxy`: a reward manager, a fee manager, both linked. */
async function deployBilling(s: RequestSystem, link: { getAddress(): Promise<string> }, recipient: string) {
  const wrappedNative = await ethers.deployContract("MockStablecoin", ["Wrapped Ether", "WETH", 18]);
  const rewardManager = await ethers.deployContract("RewardManager", [link]);
  const feeManager = await ethers.deployContract("FeeManager", [link, wrappedNative, s.proxy, rewardManager]);
  await (await s.proxy.setFeeManager(feeManager)).wait();
  await (await rewardManager.setFeeManager(feeManager)).wait();
  await (await feeManager.setNativeSurcharge(NATIVE_SURCHARGE)).wait();
  for (const digest of s.digests) await (await feeManager.setFeeRecipients(digest, [{ addr: recipient, weight: PERCENT }])).wait();
  return { wrappedNative, rewardManager, feeManager };
}

/** The request system on a "public network": the proxy bills, the oracle holds 10 LINK. */
async function billed() {
  const s = await deployRequestSystem(ethers);
  const link = await ethers.deployContract("MockStablecoin", ["ChainLink Token", "LINK", 18]);
  const recipient = s.signers.carol.address; // stands for Chainlink's node operators
  const billing = await deployBilling(s, link, recipient);
  await (await link.faucet(s.oracle, FUNDING)).wait();
  return { ...s, link, recipient, ...billing };
}
type Billed = Awaited<ReturnType<typeof billed>>;

/** The request system as on a local chain: no fee manager. */
async function free() {
  return deployRequestSystem(ethers);
}

async function requestOpen(s: RequestSystem) {
  return created(s, s.router.connect(s.signers.alice).requestOpen(ETH_MARKET, true, 1_000n * USDC, WAD, MAX_UINT96, { value: await s.fee(Kind.Open) }));
}

/** Executes `req` as the keeper with the report at its settlement time, carrying `fees`. */
async function execute(s: RequestSystem, req: { id: bigint; settlesAt: bigint }, over: { linkFee?: bigint; nativeFee?: bigint; expiresAt?: number } = {}) {
  if (BigInt(await networkHelpers.time.latest()) < req.settlesAt) await networkHelpers.time.increaseTo(req.settlesAt);
  const signed = s.signAt(ETH_MARKET, req.settlesAt, Q, { linkFee: over.linkFee ?? LINK_FEE, nativeFee: over.nativeFee ?? NATIVE_FEE, ...(over.expiresAt === undefined ? {} : { expiresAt: over.expiresAt }) });
  return { signed, tx: s.router.connect(s.signers.keeper).execute(req.id, signed) };
}

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) {
  return (await (await tx).wait())!.gasUsed;
}

type CallFrame = { type: string; from: string; to?: string; input: string; calls?: CallFrame[] };
/** Every call the transaction made, depth first (EDR's call tracer). */
async function callsOf(hash: string): Promise<CallFrame[]> {
  const root = (await ethers.provider.send("debug_traceTransaction", [hash, { tracer: "callTracer" }])) as CallFrame;
  const out: CallFrame[] = [];
  const walk = (c: CallFrame) => {
    out.push(c);
    for (const k of c.calls ?? []) walk(k);
  };
  walk(root);
  return out;
}

describe("verification fees (Chainlink FeeManager)", () => {
  it("test_execute_withAFeeManager_paysTheReportsLinkFeeFromTheOracleToTheRewardManager_exactly", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    const req = await requestOpen(s);
    const { signed, tx } = await execute(s, req);
    await expect(tx).to.emit(s.engine, "PositionOpened").withArgs(1n, s.signers.alice.address, ETH_MARKET, true, WAD, ASK, (v: bigint) => v > 0n, (v: bigint) => v > 0n, 0n, (v: bigint) => v > 0n);
    // The fee is the report's LINK fee (no discount), not its native fee plus surcharge.
    expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING - LINK_FEE);
    expect(await s.link.balanceOf(s.rewardManager)).to.equal(LINK_FEE);
    expect(await s.rewardManager.s_totalRewardRecipientFees(s.digests[0]!)).to.equal(LINK_FEE);
    expect(await s.link.allowance(s.oracle, s.rewardManager)).to.equal(0n);
    expect(await s.wrappedNative.balanceOf(s.feeManager)).to.equal(0n);
    // LINK is named as the fee token in the parameter payload, as Chainlink's flow prescribes.
    const proxy = (await s.proxy.getAddress()).toLowerCase();
    const verifies = (await callsOf((await (await tx).wait())!.hash)).filter((c) => c.to?.toLowerCase() === proxy && c.type === "CALL");
    const payload = ethers.AbiCoder.defaultAbiCoder().encode(["address"], [await s.link.getAddress()]);
    expect(verifies.map((c) => c.input)).to.deep.equal([s.proxy.interface.encodeFunctionData("verify", [signed, payload])]);
    // Chainlink's recipient can claim it: the fee reached Chainlink's own accounting.
    await (await s.rewardManager.connect(s.signers.carol).claimRewards([s.digests[0]!])).wait();
    expect(await s.link.balanceOf(s.recipient)).to.equal(LINK_FEE);
  });

  it("test_execute_withAFeeManager_quotesTheFeeForTheOracle_aSubscriberDiscountIsPaidRoundedUp", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    await (await s.feeManager.updateSubscriberDiscount(s.oracle, FEED_IDS[0], s.link, PERCENT / 4n)).wait();
    const linkFee = LINK_FEE + 1n;
    const discounted = (linkFee * (PERCENT - PERCENT / 4n) + PERCENT - 1n) / PERCENT; // Chainlink's ceilDiv
    expect(discounted).to.equal(37_500_000_000_000_001n);
    const req = await requestOpen(s);
    const { signed, tx } = await execute(s, req, { linkFee });
    const [, reportData] = ethers.AbiCoder.defaultAbiCoder().decode(["bytes32[3]", "bytes"], signed);
    const [fee] = await s.feeManager.getFeeAndReward(s.oracle, reportData, s.link);
    expect(fee.amount).to.equal(discounted);
    await expect(tx).to.emit(s.router, "RequestExecuted");
    expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING - discounted);
    expect(await s.link.balanceOf(s.rewardManager)).to.equal(discounted);
    expect(await s.link.allowance(s.oracle, s.rewardManager)).to.equal(0n);
  });

  it("test_execute_withTooLittleLink_revertsVerificationFeeUnpaid_andExecutesOnceFunded", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    await (await s.oracle.withdrawToken(s.link, s.signers.deployer, FUNDING - LINK_FEE + 1n)).wait();
    const req = await requestOpen(s);
    const { tx } = await execute(s, req);
    await expect(tx).to.be.revertedWithCustomError(s.oracle, "VerificationFeeUnpaid").withArgs(await s.link.getAddress(), LINK_FEE, LINK_FEE - 1n);
    expect((await s.router.request(req.id)).kind).to.equal(Kind.Open); // still pending
    await (await s.link.faucet(s.oracle, 1n)).wait();
    await expect((await execute(s, req)).tx).to.emit(s.router, "RequestExecuted");
    expect(await s.link.balanceOf(s.oracle)).to.equal(0n);
    expect(await s.link.balanceOf(s.rewardManager)).to.equal(LINK_FEE);
  });

  it("test_execute_withAFeeManager_anExpiredReportRevertsReportExpiredWithItsNumbers", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    const req = await requestOpen(s);
    await networkHelpers.time.increaseTo(req.settlesAt);
    const signed = s.signAt(ETH_MARKET, req.settlesAt, Q, { linkFee: LINK_FEE, expiresAt: Number(req.settlesAt) });
    await networkHelpers.time.setNextBlockTimestamp(req.settlesAt + 1n);
    await expect(s.router.connect(s.signers.keeper).execute(req.id, signed))
      .to.be.revertedWithCustomError(s.oracle, "ReportExpired")
      .withArgs(req.settlesAt, req.settlesAt + 1n);
  });

  it("test_execute_aReportWithoutALinkFee_approvesNothing", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    const req = await requestOpen(s);
    const { tx } = await execute(s, req, { linkFee: 0n, nativeFee: 0n });
    const receipt = (await (await tx).wait())!;
    const approvals = receipt.logs.filter((l) => l.address === s.link.target && s.link.interface.parseLog(l)?.name === "Approval");
    expect(approvals).to.have.length(0);
    expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING);
  });

  it("test_execute_afterChainlinkSetsANewFeeManager_paysTheNewOne", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    const first = await requestOpen(s);
    await (await (await execute(s, first)).tx).wait();
    const next = await deployBilling(s, s.link, s.recipient);
    const req = await created(s, s.router.connect(s.signers.bob).requestOpen(ETH_MARKET, false, 1_000n * USDC, WAD, 0n, { value: await s.fee(Kind.Open) }));
    await (await (await execute(s, req, { linkFee: 2n * LINK_FEE })).tx).wait();
    expect(await s.link.balanceOf(s.rewardManager)).to.equal(LINK_FEE); // the old one got only the first fee
    expect(await s.link.balanceOf(next.rewardManager)).to.equal(2n * LINK_FEE);
    expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING - 3n * LINK_FEE);
    expect(await s.link.allowance(s.oracle, next.rewardManager)).to.equal(0n);
  });

  it("test_execute_aFeeManagerChargingLessThanItQuoted_leavesNoAllowanceStanding", async () => {
    const s: Billed = await networkHelpers.loadFixture(billed);
    const hostile = await ethers.deployContract("UnderchargingFeeManager", [s.link, s.rewardManager, LINK_FEE]);
    await (await s.proxy.setFeeManager(hostile)).wait();
    const req = await requestOpen(s);
    const { tx } = await execute(s, req);
    const receipt = (await (await tx).wait())!;
    const approvals = receipt.logs
      .filter((l) => l.address === s.link.target)
      .map((l) => s.link.interface.parseLog(l))
      .filter((l) => l?.name === "Approval")
      .map((l) => [l!.args.owner, l!.args.spender, l!.args.value]);
    const [oracle, rewardManager] = [await s.oracle.getAddress(), await s.rewardManager.getAddress()];
    expect(approvals).to.deep.equal([
      [oracle, rewardManager, LINK_FEE],
      [oracle, rewardManager, 0n],
    ]);
    expect(await s.link.allowance(s.oracle, s.rewardManager)).to.equal(0n);
    expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING);
  });

  it("test_execute_withoutAFeeManager_callsVerifyWithAnEmptyPayload_afterOneFeeManagerRead", async () => {
    const s = await networkHelpers.loadFixture(free);
    expect(await s.proxy.s_feeManager()).to.equal(ethers.ZeroAddress);
    const req = await requestOpen(s);
    const { signed, tx } = await execute(s, req); // the report's fees are ignored: nobody bills
    const receipt = (await (await tx).wait())!;
    const oracle = (await s.oracle.getAddress()).toLowerCase();
    const proxy = (await s.proxy.getAddress()).toLowerCase();
    const fromOracle = (await callsOf(receipt.hash)).filter((c) => c.from.toLowerCase() === oracle && c.to?.toLowerCase() === proxy);
    expect(fromOracle.map((c) => [c.type, c.input])).to.deep.equal([
      ["STATICCALL", s.proxy.interface.encodeFunctionData("s_feeManager")],
      ["CALL", s.proxy.interface.encodeFunctionData("verify", [signed, "0x"])],
    ]);
  });

  it("test_gas_payingLinkAddsAtMost60kGasToAnExecution_inSteadyState", async () => {
    // Each system opens twice and closes once. The first fee ever paid writes fresh slots of the
    // reward manager (its LINK balance and the pool's total, 0 -> x); after that is the steady
    // state of a live network. Measured: +91.9k first, +57.7k steady (open and close alike): about
    // 34k is Chainlink's processFee with the reward manager's pull, 12k the oracle's fee-manager,
    // quote, balance and allowance reads, 4.5k the approval net of its refund, the rest calldata.
    const measure = async (s: RequestSystem) => {
      const first = await gasOf((await execute(s, await requestOpen(s))).tx);
      const open = await gasOf((await execute(s, await requestOpen(s))).tx);
      const close = await gasOf((await execute(s, await created(s, s.router.connect(s.signers.alice).requestClose(1n, 0n, { value: await s.fee(Kind.Close) })))).tx);
      return { first, open, close };
    };
    const freeGas = await measure(await networkHelpers.loadFixture(free));
    const paidGas = await measure(await networkHelpers.loadFixture(billed));
    if (process.env.GAS_LOGS) console.log({ freeGas, paidGas });
    expect(paidGas.first - freeGas.first).to.be.lessThan(95_000n);
    expect(paidGas.open - freeGas.open).to.be.lessThan(60_000n);
    expect(paidGas.close - freeGas.close).to.be.lessThan(60_000n);
  });

  describe("withdrawToken", () => {
    it("test_withdrawToken_byTheEngineOwner_sendsTheLinkAndEmits", async () => {
      const s: Billed = await networkHelpers.loadFixture(billed);
      const to = s.signers.lp.address;
      await expect(s.oracle.connect(s.signers.deployer).withdrawToken(s.link, to, 3n * WAD))
        .to.emit(s.oracle, "TokenWithdrawn")
        .withArgs(await s.link.getAddress(), to, 3n * WAD);
      expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING - 3n * WAD);
      expect(await s.link.balanceOf(to)).to.equal(3n * WAD);
    });

    it("test_withdrawToken_byAnyoneElse_revertsUnauthorized", async () => {
      const s: Billed = await networkHelpers.loadFixture(billed);
      for (const who of [s.signers.alice, s.signers.keeper, s.signers.guardian]) {
        await expect(s.oracle.connect(who).withdrawToken(s.link, who, 1n)).to.be.revertedWithCustomError(s.oracle, "Unauthorized").withArgs(who.address);
      }
      expect(await s.link.balanceOf(s.oracle)).to.equal(FUNDING);
    });
  });
});
