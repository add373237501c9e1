// The position tracker on Hardhat's in-process network: chunked backfill, resume from the
// store, closes and liquidations, reorgs (Hardhat snapshots stand in for a competing branch), the
// rolling refresh of the records, and a restart from the saved records.
import { expect } from "chai";
import { network } from "hardhat";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { RecordCache } from "../../keeper/src/records.js";
import { JsonStore } from "../../keeper/src/store.js";
import { PositionTracker } from "../../keeper/src/tracker.js";
import { FAR, USDC } from "../helpers/fixture.js";
import { tempDir } from "./helpers/chain.js";
import { captureLogger, ethSize, inProcess, type InProcess } from "./helpers/inprocess.js";

const connection = await network.connect();
const { ethers, networkHelpers } = connection;

describe("keeper tracker", function () {
  this.timeout(120_000);
  let t: InProcess;

  beforeEach(async () => {
    t = await inProcess(ethers, connection.provider);
  });

  const openStore = (path: string | null) => JsonStore.open(path, { chainId: 31337, engine: t.sys.addresses.engine, startBlock: 0 });

  it("test_backfill_readsLogsInChunksAndResumesFromTheStoredCheckpoint", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) ids.push(await t.open({ size: ethSize(100n * USDC, 5n), long: i % 2 === 0 }));
    await networkHelpers.mine(3);
    const path = join(tempDir(), "store.json");
    const store = openStore(path);
    const { logger, events } = captureLogger();
    const tracker = new PositionTracker(t.client, store, { confirmations: 2, logChunkSize: 4, logger });
    t.counter.reset();
    const head = await t.provider.getBlockNumber();
    await tracker.sync(head);
    expect(tracker.ids()).to.deep.equal(ids);
    expect(tracker.size).to.equal(6);
    // Chunks of 4 blocks up to head - 2, then one query for the unconfirmed tip.
    expect(t.counter.count("eth_getLogs")).to.equal(Math.ceil((head - 2 + 1) / 4) + 1);
    expect(events("sync.backfilled")).to.have.length(1);
    const saved = JSON.parse(readFileSync(path, "utf8")) as { checkpoint: { block: number; hash: string }; positions: Record<string, number> };
    expect(saved.checkpoint.block).to.equal(head - 2);
    expect(saved.checkpoint.hash).to.equal((await t.provider.getBlock(head - 2))!.hash);
    expect(Object.keys(saved.positions)).to.have.length(6);

    // A restart reads only what came after the checkpoint.
    const closed = ids[0]!; // opened by alice, the first trader
    await (await t.sys.engine.connect(t.sys.signers.alice).close(closed, 0n, FAR)).wait();
    const added = await t.open({ size: ethSize(100n * USDC, 3n) });
    await networkHelpers.mine(2);
    const again = new PositionTracker(t.client, openStore(path), { confirmations: 2, logChunkSize: 4 });
    t.counter.reset();
    const head2 = await t.provider.getBlockNumber();
    await again.sync(head2);
    expect(t.counter.count("eth_getLogs")).to.equal(Math.ceil((head2 - 2 - (head - 2)) / 4) + 1);
    expect(again.ids()).to.deep.equal([...ids.filter((id) => id !== closed), added]);
    expect([...again.views.keys()].sort()).to.deep.equal(again.ids());
  });

  it("test_sync_readsRecordsOnlyOfPositionsThatChanged", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push(await t.open({ size: ethSize(100n * USDC, 4n) }));
    const tracker = new PositionTracker(t.client, openStore(null), { confirmations: 1, fullRefreshBlocks: 0 });
    expect((await tracker.sync()).refreshed).to.equal(5);
    await networkHelpers.mine(3);
    expect((await tracker.sync()).refreshed, "nothing changed: no record read").to.equal(0);
    await (await t.sys.engine.connect(t.sys.signers.carol).addCollateral(ids[2]!, 50n * USDC)).wait();
    const r = await tracker.sync();
    expect(r.refreshed).to.equal(1);
    expect(tracker.views.get(ids[2]!)!.position.collateral).to.equal(150n * USDC);
  });

  it("test_rollingRefresh_readsASliceEachBlock_everyRecordOncePerFullRefreshBlocks", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 12; i++) ids.push(await t.open({ size: ethSize(100n * USDC, 4n) }));
    const tracker = new PositionTracker(t.client, openStore(null), { confirmations: 1, fullRefreshBlocks: 4 });
    expect((await tracker.sync()).refreshed, "the first sync reads every record").to.equal(12);
    const reads = new Map<bigint, number>();
    for (let i = 0; i < 8; i++) {
      await networkHelpers.mine(1);
      const before = new Map(tracker.views);
      const r = await tracker.sync();
      const read = ids.filter((id) => tracker.views.get(id) !== before.get(id));
      // Nothing changed on chain: only the block's slot (id mod 4) is read, never a burst of all.
      expect(r.refreshed, `block ${r.head}`).to.equal(read.length);
      expect(read.every((id) => Number(id % 4n) === r.head % 4), `block ${r.head} reads slot ${r.head % 4}`).to.equal(true);
      for (const id of read) reads.set(id, (reads.get(id) ?? 0) + 1);
    }
    // Eight blocks: every record re-read exactly twice.
    expect(ids.map((id) => reads.get(id) ?? 0)).to.deep.equal(ids.map(() => 2));
    // Blocks skipped between two syncs (a slow cycle): their slots are read too.
    await networkHelpers.mine(2);
    const before = new Map(tracker.views);
    const r = await tracker.sync();
    const slots = new Set(ids.filter((id) => tracker.views.get(id) !== before.get(id)).map((id) => Number(id % 4n)));
    expect(slots).to.deep.equal(new Set([(r.head - 1) % 4, r.head % 4]));
  });

  it("test_restart_revivesTheSavedRecords_readingOnlyWhatChangedSince_andNothingAfterAReorgOfTheirBlock", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 8; i++) ids.push(await t.open({ size: ethSize(100n * USDC, 4n) }));
    const dir = tempDir();
    const path = join(dir, "store.json");
    const cache = () => new RecordCache(`${path}.records.json`);
    const snapshot = await networkHelpers.takeSnapshot();
    await networkHelpers.mine(1);
    const first = new PositionTracker(t.client, openStore(path), { confirmations: 1, fullRefreshBlocks: 0, records: cache() });
    await first.sync();
    first.saveRecords();
    const fresh = new Map(first.views);
    // After the save: one position gets collateral, one closes, one opens.
    await (await t.sys.engine.connect(t.sys.signers.bob).addCollateral(ids[1]!, 50n * USDC)).wait();
    await (await t.sys.engine.connect(t.sys.signers.alice).close(ids[0]!, 0n, FAR)).wait();
    const added = await t.open({ size: ethSize(100n * USDC, 3n) });
    await networkHelpers.mine(3);
    const { logger, events } = captureLogger();
    const second = new PositionTracker(t.client, openStore(path), { confirmations: 1, fullRefreshBlocks: 0, records: cache(), logger });
    const r = await second.sync();
    expect(events("records.restored")[0]).to.include({ records: 7 });
    expect(r.refreshed, "only the changed and the new position are read").to.equal(2);
    expect([...second.views.keys()].sort()).to.deep.equal([...ids.slice(1), added].sort());
    expect(second.views.get(ids[1]!)!.position.collateral).to.equal(150n * USDC);
    // The revived records are the records a fresh read gives.
    for (const id of ids.slice(2)) expect(second.views.get(id)).to.deep.equal(fresh.get(id));
    // The saved block replaced (a reorg): the cache is ignored, every record read.
    await snapshot.restore();
    await networkHelpers.time.increase(60);
    await networkHelpers.mine(6);
    const { logger: l3, events: e3 } = captureLogger();
    const third = new PositionTracker(t.client, openStore(join(dir, "other.json")), { confirmations: 1, fullRefreshBlocks: 0, records: cache(), logger: l3 });
    expect((await third.sync()).refreshed).to.equal(8);
    expect(e3("records.stale")).to.have.length(1);
  });

  it("test_reorgInTheTip_forgetsPositionsOfTheAbandonedBranch", async () => {
    await t.open({ size: ethSize(100n * USDC, 5n) });
    await networkHelpers.mine(3);
    const fork = await networkHelpers.takeSnapshot();
    const store = openStore(null);
    const { logger, events } = captureLogger();
    const tracker = new PositionTracker(t.client, store, { confirmations: 3, logger });
    const orphan = await t.open({ size: ethSize(200n * USDC, 5n) });
    let r = await tracker.sync();
    expect(tracker.ids()).to.include(orphan);
    expect(tracker.views.has(orphan)).to.equal(true);
    expect(Object.keys(store.state.positions), "an unconfirmed position is never persisted").to.not.include(orphan.toString());

    // Another branch wins: same height plus two, without the orphan's open.
    await fork.restore();
    await networkHelpers.mine(3);
    r = await tracker.sync();
    expect(r.reorg).to.equal("tip");
    expect(events("reorg.tip")).to.have.length(1);
    expect(tracker.ids()).to.not.include(orphan);
    expect(tracker.views.has(orphan)).to.equal(false);
    expect(tracker.size).to.equal(1);
  });

  it("test_reorgBelowTheCheckpoint_rescansFromTheDeploymentBlock", async () => {
    const kept = await t.open({ size: ethSize(100n * USDC, 5n) });
    const fork = await networkHelpers.takeSnapshot();
    const orphan = await t.open({ size: ethSize(200n * USDC, 5n) });
    await networkHelpers.mine(4);
    const { logger, events } = captureLogger();
    const tracker = new PositionTracker(t.client, openStore(null), { confirmations: 1, logger });
    await tracker.sync();
    expect(tracker.ids()).to.deep.equal([kept, orphan]);
    expect(tracker.store.state.positions[orphan.toString()]).to.equal(0);

    await fork.restore();
    await networkHelpers.mine(8);
    const r = await tracker.sync();
    expect(r.reorg).to.equal("deep");
    expect(events("reorg.deep")).to.have.length(1);
    expect(tracker.ids()).to.deep.equal([kept]);
    expect(Object.keys(tracker.store.state.positions)).to.deep.equal([kept.toString()]);
  });
});
