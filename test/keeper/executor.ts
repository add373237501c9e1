// The executor on Hardhat's in-process network: stuck transactions replaced with higher fees (or
// cancelled when someone else liquidated first), the fee cap, the profitability floor, a
// liquidation that reverts set aside while the rest go through, nonce resynchronisation, and two
// peer keepers splitting the liquidations (each its own ids; a stopped peer's after the grace).
import { expect } from "chai";
import { Wallet } from "ethers";
import { network } from "hardhat";
import { Evaluator } from "../../keeper/src/evaluator.js";
import { Executor, type ExecutorOptions } from "../../keeper/src/executor.js";
import { Metrics } from "../../keeper/src/metrics.js";
import { JsonStore } from "../../keeper/src/store.js";
import { PositionTracker } from "../../keeper/src/tracker.js";
import { USDC } from "../helpers/fixture.js";
import { devKey } from "./helpers/chain.js";
import { captureLogger, ethSize, inProcess, type InProcess } from "./helpers/inprocess.js";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;
const GWEI = 10n ** 9n;
const rpc = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });

/** Opens `n` 20x ETH longs and crashes ETH 5%: all of them become liquidatable. */
async function liquidatable(t: InProcess, n: number): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let i = 0; i < n; i++) ids.push(await t.open({ size: ethSize(100n * USDC, 20n) }));
  await (await t.sys.ethFeed.updateAnswer(2_850n * 10n ** 8n)).wait();
  return ids;
}

function setup(t: InProcess, options: ExecutorOptions = {}, wallet: Wallet = t.wallet) {
  const store = JsonStore.open(null, { chainId: 31337, engine: t.sys.addresses.engine, startBlock: 0 });
  const log = captureLogger();
  const metrics = new Metrics();
  const tracker = new PositionTracker(t.client, store, { confirmations: 0 });
  const evaluator = new Evaluator(t.client);
  const executor = new Executor(t.client, wallet, wallet.address, store, { logger: log.logger, metrics, onStale: (ids) => tracker.markDirty(ids), ...options });
  /** One keeper cycle by hand: sync, evaluate, settle, submit. */
  const cycle = async (baseFeePerGas?: bigint) => {
    const s = await tracker.sync();
    const e = await evaluator.evaluate(tracker.views.values(), s.head, s.headTimestamp);
    const ctx = { block: s.head, baseFeePerGas: baseFeePerGas ?? s.headBaseFeePerGas, prices: e.markets.map((m) => m.price) };
    const settled = await executor.settle(ctx);
    const sent = await executor.submit(e.candidates, ctx);
    return { e, settled, sent, ctx };
  };
  return { store, tracker, executor, metrics, cycle, ...log };
}

async function isOpen(t: InProcess, id: bigint): Promise<boolean> {
  return (await t.sys.engine.position(id)).size > 0n;
}

describe("keeper executor", function () {
  this.timeout(120_000);

  afterEach(async () => {
    await rpc("evm_setAutomine", [true]);
  });

  it("test_stuckTransaction_isReplacedWithBumpedFeesAndOnlyTheReplacementIsMined", async () => {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 3);
    const k = setup(t, { replaceAfterBlocks: 2, feeBumpPercent: 20, maxFeePerGas: 500n * GWEI, priorityFeePerGas: GWEI });
    await k.executor.init();
    await rpc("evm_setAutomine", [false]);
    const first = await k.cycle();
    expect(first.sent.sent).to.equal(1);
    const sent = k.events("liquidation.sent")[0]!;
    // The base fee jumps: the transaction's fee cap no longer covers it, blocks go by without it.
    await rpc("hardhat_setNextBlockBaseFeePerGas", ["0x" + (60n * GWEI).toString(16)]);
    await networkHelpers.mine(2);
    expect(await t.provider.getTransactionReceipt(String(sent.hash))).to.equal(null);
    const second = await k.cycle();
    expect(second.sent.sent, "nothing new while the batch is in flight").to.equal(0);
    const replaced = k.events("tx.replaced");
    expect(replaced).to.have.length(1);
    expect(replaced[0]).to.include({ nonce: sent.nonce, was: sent.hash, outcome: "sent" });
    expect(Number(replaced[0]!.maxFeeGwei)).to.be.at.least(Number(sent.maxFeeGwei) * 1.2);
    expect(Number(replaced[0]!.maxFeeGwei)).to.be.greaterThan(Number(second.ctx.baseFeePerGas) / 1e9);
    await networkHelpers.mine(1);
    await k.cycle();
    const mined = k.events("liquidation.mined");
    expect(mined).to.have.length(1);
    expect(mined[0]!.hash).to.equal(replaced[0]!.hash);
    expect(await t.provider.getTransaction(String(sent.hash)).then((tx) => tx?.blockNumber ?? null)).to.equal(null);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
    expect(k.executor.pendingCount).to.equal(0);
    expect(k.metrics.get("keeper_liquidations_total")).to.equal(3);
  });

  it("test_stuckTransaction_whoseIdsAnotherKeeperTook_isCancelled", async () => {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 2);
    const k = setup(t, { replaceAfterBlocks: 1, maxFeePerGas: 500n * GWEI });
    await k.executor.init();
    await rpc("evm_setAutomine", [false]);
    await k.cycle();
    await rpc("hardhat_setNextBlockBaseFeePerGas", ["0x" + (60n * GWEI).toString(16)]);
    // Another keeper pays the price and is first.
    await t.sys.engine.connect(t.sys.signers.keeper).liquidateMany(ids, { maxFeePerGas: 200n * GWEI, maxPriorityFeePerGas: 2n * GWEI });
    await networkHelpers.mine(1);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
    await k.cycle();
    expect(k.events("tx.cancelling")).to.have.length(1);
    await networkHelpers.mine(1);
    await k.cycle();
    expect(k.events("tx.cancelled")).to.have.length(1);
    expect(k.executor.pendingCount).to.equal(0);
    expect(k.metrics.get("keeper_liquidations_total")).to.equal(0);
  });

  it("test_feeCap_holdsLiquidationsWhileTheBaseFeeIsAboveIt", async () => {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 2);
    const k = setup(t, { maxFeePerGas: 2n * GWEI });
    await k.executor.init();
    const r = await k.cycle(5n * GWEI);
    expect(r.e.candidates).to.have.length(2);
    expect(r.sent.sent).to.equal(0);
    expect(k.events("fee.capped")).to.have.length(1);
    expect(k.events("fee.capped")[0]).to.include({ level: "warn", holding: 2, capGwei: 2 });
    expect(k.metrics.get("keeper_failures_total", { kind: "fee_cap" })).to.equal(1);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(true);
    // Under the cap again: sent.
    expect((await k.cycle(GWEI / 2n)).sent.sent).to.equal(1);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
  });

  it("test_profitFloor_skipsBatchesWhoseRewardDoesNotCoverGasAndTheFloor", async () => {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 2);
    // At 100 gwei and ETH at 3,000 USDC a liquidation's gas costs tens of USDC, more than its ~1 USDC reward.
    const poor = setup(t, { minProfit: 0n, nativePrice: { market: 0 }, maxFeePerGas: 1_000n * GWEI });
    await poor.executor.init();
    expect((await poor.cycle(100n * GWEI)).sent.sent).to.equal(0);
    const skip = poor.events("liquidation.unprofitable")[0]!;
    expect(BigInt(String(skip.reward)) - BigInt(String(skip.gasCost))).to.be.lessThan(0n);
    expect(BigInt(String(skip.gasCost))).to.be.greaterThan(10n * USDC);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(true);
    // Cheap gas: the same batch pays.
    const rich = setup(t, { minProfit: 1n, nativePrice: { wad: 3_000n * 10n ** 18n } });
    await rich.executor.init();
    expect((await rich.cycle(1n)).sent.sent).to.equal(1);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
  });

  it("test_aLiquidationThatReverts_isSetAsideAndTheOthersGoThrough", async () => {
    const t = await inProcess(ethers, connection.provider, { token: "BlacklistToken" });
    const ids = await liquidatable(t, 3);
    // The token freezes the middle position's vault: its liquidation reverts.
    const token = await ethers.getContractAt("BlacklistToken", t.sys.addresses.token!);
    await (await token.setBlacklisted(t.client.vaultOf(ids[1]!), true)).wait();
    const k = setup(t, { quarantineBlocks: 5 });
    await k.executor.init();
    const r = await k.cycle();
    expect(r.sent.ids).to.equal(2);
    const reverted = k.events("liquidation.simulationReverted");
    expect(reverted.map((l) => l.id)).to.deep.equal([ids[1]!.toString()]);
    // The mock token's Blacklisted(address) error (0xffa4e618): not a Bulkhead error, shown raw.
    expect(String(reverted[0]!.error)).to.contain("0xffa4e618");
    expect(await isOpen(t, ids[0]!)).to.equal(false);
    expect(await isOpen(t, ids[1]!)).to.equal(true);
    expect(await isOpen(t, ids[2]!)).to.equal(false);
    // Set aside for 5 blocks: not simulated again until then.
    await k.cycle();
    expect(k.events("liquidation.simulationReverted")).to.have.length(1);
    await networkHelpers.mine(5);
    await k.cycle();
    expect(k.events("liquidation.simulationReverted")).to.have.length(2);
  });

  it("test_nonceUsedElsewhere_isResynchronisedAndTheBatchSentAgain", async () => {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 2);
    const k = setup(t);
    await k.executor.init();
    // The operator uses the keeper's account by hand: the executor's nonce is behind.
    await (await t.wallet.sendTransaction({ to: t.wallet.address, value: 0n })).wait();
    expect((await k.cycle()).sent.sent).to.equal(0);
    expect(k.events("tx.rejected")[0]).to.include({ reason: "nonce used" });
    expect(k.metrics.get("keeper_failures_total", { kind: "send_nonce" })).to.equal(1);
    expect(k.executor.pendingCount).to.equal(0);
    expect((await k.cycle()).sent.sent).to.equal(1);
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
  });

  /** Keepers 9 and 10 as peers over six liquidatable positions that each of them partly owns. */
  async function peerSetup(grace: number) {
    const t = await inProcess(ethers, connection.provider);
    const ids = await liquidatable(t, 6);
    const other = new Wallet(devKey(10), t.provider);
    const peers = [t.wallet.address, other.address];
    const a = setup(t, { peers, peerGraceBlocks: grace });
    const b = setup(t, { peers, peerGraceBlocks: grace }, other);
    await a.executor.init();
    await b.executor.init();
    const owner = (id: bigint) => a.executor.peers.owner(`liquidate:${id}`);
    expect(new Set(ids.map(owner)).size, "each keeper owns some of the positions").to.equal(2);
    return { t, ids, a, b, owner, other };
  }

  it("test_peers_twoKeepersRacing_eachLiquidatesOnlyItsOwnIds_noBatchWasted", async () => {
    const { t, ids, a, b, owner, other } = await peerSetup(2);
    await rpc("evm_setAutomine", [false]);
    await a.cycle();
    await b.cycle();
    await networkHelpers.mine(1);
    await rpc("evm_setAutomine", [true]);
    for (let i = 0; i < 3; i++) {
      await networkHelpers.mine(1);
      await a.cycle();
      await b.cycle();
    }
    for (const id of ids) expect(await isOpen(t, id)).to.equal(false);
    for (const [k, address] of [[a, t.wallet.address], [b, other.address]] as const) {
      const mined = k.events("liquidation.mined");
      expect(mined, "one batch each").to.have.length(1);
      expect([...(mined[0]!.ids as string[])].sort()).to.deep.equal(ids.filter((id) => owner(id) === address).map(String).sort());
      expect(mined[0]!.skipped, "nothing in it taken by the other").to.equal(0);
      expect(k.events("liquidation.sent")).to.have.length(1);
    }
  });

  it("test_peers_onePeerStopped_itsPositionsAreLiquidatedOnceTheGraceRunsOut", async () => {
    const grace = 3;
    const { t, ids, a, owner } = await peerSetup(grace);
    const mine = ids.filter((id) => owner(id) === t.wallet.address);
    await rpc("evm_setAutomine", [false]);
    const due = (await a.cycle()).ctx.block;
    await networkHelpers.mine(1);
    for (const id of ids) expect(await isOpen(t, id), `position ${id}`).to.equal(!mine.includes(id));
    for (;;) {
      const { ctx } = await a.cycle();
      await networkHelpers.mine(1);
      const open = [];
      for (const id of ids) if (await isOpen(t, id)) open.push(id);
      if (ctx.block - due < grace) expect(open, `block ${ctx.block}: the peer's still wait`).to.have.length(ids.length - mine.length);
      else {
        expect(open, `block ${ctx.block}: the grace ran out`).to.deep.equal([]);
        break;
      }
    }
  });
});
