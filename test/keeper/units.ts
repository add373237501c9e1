// The keeper's small parts without a chain: the fail-over JSON-RPC transport (against local HTTP
// servers that misbehave on purpose), the atomic JSON store, configuration precedence and
// validation, the metrics server, the logger.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, encryptKeystoreJson, getAddress } from "ethers";
import { main, streamsOptions } from "../../keeper/src/cli.js";
import { ConfigError, loadConfig, type KeeperConfig } from "../../keeper/src/config.js";
import { Logger } from "../../keeper/src/logger.js";
import { Metrics, MetricsServer } from "../../keeper/src/metrics.js";
import { FailoverRpcProvider, RpcUnavailableError, probeChainIds } from "../../keeper/src/rpc.js";
import { PeerSchedule } from "../../keeper/src/peers.js";
import { STREAMS_FIELD, SecretsError, readStreamsCredentials, sealStreamsCredentials } from "../../keeper/src/secrets.js";
import { JsonStore, StoreError } from "../../keeper/src/store.js";
import type { DeploymentRecord } from "../../scripts/deploy/deploy.js";
import { devAddress, devKey, tempDir } from "./helpers/chain.js";

type Handler = (body: { method: string; id: number }, hit: number, req: IncomingMessage, res: ServerResponse) => void;

/** A JSON-RPC server on 127.0.0.1 whose behaviour the test scripts; counts its hits. */
class FakeNode {
  readonly server: Server;
  hits = 0;
  constructor(handler: Handler) {
    this.server = createServer((req, res) => {
      let data = "";
      req.on("data", (d: Buffer) => (data += d.toString()));
      req.on("end", () => handler(JSON.parse(data), ++this.hits, req, res));
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const answer = (res: ServerResponse, body: unknown, status = 200) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const ok = (id: number, result: unknown) => ({ jsonrpc: "2.0", id, result });
const fail = (id: number, code: number, message: string, data?: string) => ({ jsonrpc: "2.0", id, error: { code, message, ...(data ? { data } : {}) } });

describe("keeper units", function () {
  this.timeout(60_000);
  const nodes: FakeNode[] = [];
  const providers: FailoverRpcProvider[] = [];
  const node = async (h: Handler) => {
    const n = new FakeNode(h);
    nodes.push(n);
    return { n, url: await n.start() };
  };
  const provider = (urls: string[], opts = {}) => {
    const p = new FailoverRpcProvider(urls, 31337, { backoffMs: 5, timeoutMs: 2_000, ...opts });
    providers.push(p);
    return p;
  };
  afterEach(async () => {
    providers.splice(0).forEach((p) => p.destroy());
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  describe("rpc", () => {
    it("test_rpc_failsOverToTheNextUrlAndStaysWithIt", async () => {
      const down = await node((_b, _h, _q, res) => answer(res, {}, 503));
      const up = await node((b, _h, _q, res) => answer(res, ok(b.id, "0x10")));
      const p = provider([down.url, up.url]);
      expect(await p.getBlockNumber()).to.equal(16);
      expect(await p.getBlockNumber()).to.equal(16);
      expect(down.n.hits).to.equal(1);
      expect(up.n.hits).to.equal(2);
      expect(p.stats.failovers).to.equal(1);
      expect(p.stats.count("eth_blockNumber")).to.equal(2);
      expect(p.currentUrl).to.equal(up.url);
    });

    it("test_rpc_retriesTransientNodeErrorsAndTimeouts", async () => {
      const flaky = await node((b, hit, _q, res) => {
        if (hit === 1) return answer(res, fail(b.id, -32603, "internal error"));
        if (hit === 2) return answer(res, fail(b.id, -32005, "rate limit exceeded"));
        if (hit === 3) return; // hangs: the client's timeout fires
        answer(res, ok(b.id, "0x2a"));
      });
      const p = provider([flaky.url], { timeoutMs: 300 });
      // The third request hangs forever: without the client's timeout this call never returns
      // and the test's own timeout fails it.
      expect(await p.getBlockNumber()).to.equal(42);
      expect(flaky.n.hits).to.equal(4);
      expect(p.stats.retries).to.equal(3);
    });

    it("test_rpc_neverRetriesRevertsOrVerdictsAboutATransaction", async () => {
      const revertData = "0x08c379a0" + "0".repeat(62) + "20" + "0".repeat(63) + "1" + "61" + "0".repeat(62);
      const n = await node((b, _h, _q, res) => {
        if (b.method === "eth_call") return answer(res, fail(b.id, 3, "execution reverted: a", revertData));
        if (b.method === "eth_sendRawTransaction") return answer(res, fail(b.id, -32000, "nonce too low"));
        answer(res, ok(b.id, "0x1"));
      });
      const p = provider([n.url]);
      let error: unknown;
      await p.call({ to: "0x0000000000000000000000000000000000000001", data: "0x" }).catch((e: unknown) => (error = e));
      expect((error as { code?: string }).code).to.equal("CALL_EXCEPTION");
      expect(n.n.hits).to.equal(1);
      await p.send("eth_sendRawTransaction", ["0x00"]).catch((e: unknown) => (error = e));
      expect(String((error as Error).message)).to.match(/nonce/i);
      expect(n.n.hits).to.equal(2);
      expect(p.stats.retries).to.equal(0);
    });

    it("test_rpc_givesUpAfterItsRetriesWithAReadableError", async () => {
      const down = await node((_b, _h, _q, res) => answer(res, {}, 502));
      const p = provider([down.url, "http://127.0.0.1:9"], { retries: 3 });
      let error: unknown;
      await p.getBlockNumber().catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect((error as RpcUnavailableError).attempts).to.equal(4);
      expect((error as Error).message).to.match(/eth_blockNumber failed 4 times on every URL/);
      expect(p.stats.failures).to.equal(1);
    });

    it("test_probeChainIds_reportsEachUrl", async () => {
      const up = await node((b, _h, _q, res) => answer(res, ok(b.id, "0x7a69")));
      const r = await probeChainIds([up.url, "http://127.0.0.1:9"], 1_000);
      expect(r[0]).to.deep.equal({ url: up.url, chainId: 31337 });
      expect(r[1]!.chainId).to.equal(undefined);
      expect(r[1]!.error).to.be.a("string");
    });
  });

  describe("store", () => {
    const deployment = { chainId: 31337, engine: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", startBlock: 7 };

    it("test_store_writesAtomicallyAndReopens", () => {
      const dir = tempDir();
      const path = join(dir, "nested", "store.json");
      const s = JsonStore.open(path, deployment);
      expect(s.fresh).to.equal(true);
      s.state.checkpoint = { block: 9, hash: "0xabc" };
      s.state.positions["5"] = 1;
      s.save();
      // A crash in the middle of a later write leaves a temporary file, never a torn store.
      writeFileSync(`${path}.999.tmp`, "{ torn");
      expect(readdirSync(join(dir, "nested")).filter((f) => f.endsWith(".tmp") && !f.includes(".999."))).to.deep.equal([]);
      const again = JsonStore.open(path, deployment);
      expect(again.fresh).to.equal(false);
      expect(again.state.checkpoint).to.deep.equal({ block: 9, hash: "0xabc" });
      expect(again.state.positions).to.deep.equal({ "5": 1 });
    });

    it("test_store_refusesAnotherDeploymentsFile", () => {
      const path = join(tempDir(), "store.json");
      JsonStore.open(path, deployment).save();
      expect(() => JsonStore.open(path, { ...deployment, engine: "0x0000000000000000000000000000000000000001" })).to.throw(StoreError, /belongs to engine 0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6 on chain 31337.*pass another --store/);
      expect(() => JsonStore.open(path, { ...deployment, chainId: 1 })).to.throw(StoreError, /not engine .* on chain 1/);
      writeFileSync(path, "not json");
      expect(() => JsonStore.open(path, deployment)).to.throw(StoreError, /cannot read the store/);
    });

    it("test_store_newStartBlock_rescansButKeepsPendingTransactions", () => {
      const path = join(tempDir(), "store.json");
      const s = JsonStore.open(path, deployment);
      s.state.checkpoint = { block: 20, hash: "0x1" };
      s.state.positions["1"] = 0;
      s.state.pending["0xabc"] = [{ nonce: 3, ids: ["1"], txs: [] }];
      s.save();
      const moved = JsonStore.open(path, { ...deployment, startBlock: 8 });
      expect(moved.state.checkpoint).to.equal(null);
      expect(moved.state.positions).to.deep.equal({});
      expect(moved.state.pending["0xabc"]).to.have.length(1);
    });
  });

  describe("config", () => {
    const deploymentJson = { chainId: 31337, network: "localhost", engine: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", pool: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", lens: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", token: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6", markets: [], startBlock: 0 };
    const cwd = () => {
      const dir = tempDir();
      mkdirSync(join(dir, "deployments"));
      writeFileSync(join(dir, "deployments", "localhost.json"), JSON.stringify(deploymentJson));
      return dir;
    };
    const load = (argv: string[], env: Record<string, string> = {}, dir = cwd()) => loadConfig(argv, env, dir) as KeeperConfig;
    const problems = (argv: string[], env: Record<string, string> = {}, dir = cwd()): string[] => {
      try {
        loadConfig(argv, env, dir);
      } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
      }
      return [];
    };

    it("test_config_flagsOverEnvironmentOverFileOverDefaults", () => {
      const dir = cwd();
      writeFileSync(join(dir, "k.json"), JSON.stringify({ confirmations: 5, maxBatchSize: 7, logFormat: "json" }));
      const key = { KEEPER_PRIVATE_KEY: devKey(1) };
      expect(load(["--network", "localhost", "--config", "k.json"], key, dir).confirmations).to.equal(5);
      expect(load(["--network", "localhost", "--config", "k.json"], { ...key, KEEPER_CONFIRMATIONS: "4" }, dir).confirmations).to.equal(4);
      const c = load(["--network", "localhost", "--config", "k.json", "--confirmations", "3"], { ...key, KEEPER_CONFIRMATIONS: "4" }, dir);
      expect(c.confirmations).to.equal(3);
      expect(c.maxBatchSize).to.equal(7);
      expect(c.logFormat).to.equal("json");
      expect(c.rpc).to.deep.equal(["http://127.0.0.1:8545"]);
      expect(c.deployment?.engine).to.equal(deploymentJson.engine);
      expect(c.key).to.deep.equal({ privateKey: devKey(1), source: "env" });
      expect(c.keyOnCommandLine).to.equal(false);
      expect(c.pollIntervalMs).to.equal(1_000); // default
      expect(c.maxFeePerGas).to.equal(100n * 10n ** 9n);
    });

    it("test_config_readsTheRecordThatNpmRunDeployWrites", () => {
      // deployments/localhost.json as `npm run deploy -- --network localhost` writes it (the type is the deploy script's).
      const a = (n: number) => getAddress("0x" + n.toString(16).padStart(40, "0"));
      const market = (id: number, symbol: string) => ({ id, symbol, feed: a(10 + id), feedDecimals: 8, heartbeat: 3600, params: { maxLeverage: "50000000000000000000" }, risk: { mmr: "5000000000000000" } });
      const record = {
        chainId: 31337, network: "localhost", engine: a(1), pool: a(2), lens: a(3), token: a(4),
        markets: [market(0, "ETH/USD"), market(1, "BTC/USD")],
        startBlock: 1, tokenDecimals: 6, tokenSymbol: "USDC", vaultImplementation: a(5), libraries: { PoolLogic: a(6) }, sequencer: null,
        governance: { owner: a(7), pendingOwner: null, guardian: a(8), timelock: null },
        standIns: { token: a(4) }, deployer: a(9), ignition: { module: "Bulkhead", deploymentId: "chain-31337", journal: "ignition/deployments/chain-31337" },
        transactions: [{ step: "Bulkhead#Bulkhead", hash: "0x" + "ab".repeat(32), blockNumber: 7 }],
        parameters: { file: "ignition/parameters/localhost.json", source: {} }, updatedAt: "2026-01-01T00:00:00.000Z",
      } satisfies DeploymentRecord;
      const dir = tempDir();
      mkdirSync(join(dir, "deployments"));
      writeFileSync(join(dir, "deployments", "localhost.json"), JSON.stringify(record, null, 2));
      const c = load(["--network", "localhost", "--dry-run"], {}, dir);
      expect(c.rpc).to.deep.equal(["http://127.0.0.1:8545"]);
      expect(c.deployment).to.deep.equal({
        chainId: 31337, network: "localhost", engine: a(1), pool: a(2), lens: a(3), token: a(4), startBlock: 1,
        markets: [{ id: 0, symbol: "ETH/USD", feed: a(10) }, { id: 1, symbol: "BTC/USD", feed: a(11) }],
      });
    });

    it("test_config_rpcListsAndDryRunWithoutKey", () => {
      const c = load(["--network", "localhost", "--rpc", "http://a:1", "--rpc=http://b:2,http://c:3", "--dry-run", "--max-fee-gwei", "2.5"]);
      expect(c.rpc).to.deep.equal(["http://a:1", "http://b:2", "http://c:3"]);
      expect(c.dryRun).to.equal(true);
      expect(c.key).to.equal(null);
      expect(c.maxFeePerGas).to.equal(2_500_000_000n);
      expect(load(["--network", "localhost", "--key", devKey(2).slice(2)]).keyOnCommandLine).to.equal(true);
    });

    it("test_config_reportsEveryProblemWithWhatToDo", () => {
      const dir = cwd();
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ confirmatons: 3 }));
      const p = problems(["--network", "localhost", "--config", "bad.json", "--rpc", "ftp://x", "--poll-interval", "5", "--min-profit", "1", "--log-format", "xml", "--keystore", "nope.json"], { KEEPER_PRIVATE_KEY: devKey(1) }, dir);
      expect(p).to.include.members([
        'unknown argument "--poll-interval" (did you mean --poll-interval-ms?); see --help',
        '--config ' + join(dir, "bad.json") + ': unknown option "confirmatons" (did you mean confirmations?)',
        '--rpc (KEEPER_RPC_URLS): "ftp://x" is not an http(s) URL',
        "give either --key (KEEPER_PRIVATE_KEY) or --keystore (KEEPER_KEYSTORE), not both",
        "--min-profit (KEEPER_MIN_PROFIT) needs the gas coin's price: pass --native-price <tokens per coin> or --native-price-market <market id>",
        '--log-format (KEEPER_LOG_FORMAT) must be one of text, json, got "xml"',
      ]);
      expect(problems(["--network", "localhost"])).to.deep.equal(["no key: set KEEPER_PRIVATE_KEY, or pass --keystore <file>, or run with --dry-run"]);
      expect(problems(["--network", "sepolia", "--dry-run"])[0]).to.match(/^unknown network "sepolia": no deployments\/sepolia\.json .* known networks: localhost/);
      const empty = tempDir();
      expect(problems(["--network", "localhost", "--dry-run"], {}, empty)).to.deep.equal([
        "network localhost has no deployments/localhost.json yet: deploy Bulkhead to it first, or pass --deployment <file>",
      ]);
    });

    it("test_config_peers_aListOfAddressesAndAGrace_checkedWithWhatToDo", () => {
      const key = { KEEPER_PRIVATE_KEY: devKey(1) };
      const c = load(["--network", "localhost", "--peers", `${devAddress(1).toLowerCase()},${devAddress(2)}`, "--peers", devAddress(1), "--peer-grace-blocks", "4"], key);
      expect(c.peers).to.deep.equal([devAddress(1), devAddress(2)]);
      expect(c.peerGraceBlocks).to.equal(4);
      expect(load(["--network", "localhost"], { ...key, KEEPER_PEERS: `${devAddress(1)}, ${devAddress(2)}` }).peers).to.deep.equal([devAddress(1), devAddress(2)]);
      const none = load(["--network", "localhost"], key);
      expect([none.peers, none.peerGraceBlocks]).to.deep.equal([[], 2]);
      expect(problems(["--network", "localhost", "--peers", "0x1234", "--peer-grace-blocks", "0"], key)).to.deep.equal([
        '--peers (KEEPER_PEERS): "0x1234" is not an address',
        "--peer-grace-blocks (KEEPER_PEER_GRACE_BLOCKS) must be an integer from 1 to 10000, got \"0\"",
      ]);
      expect(problems(["--network", "localhost", "--peers", devAddress(1), "--dry-run"])).to.deep.equal([
        "--peers (KEEPER_PEERS) needs this keeper's key (its address picks its slot among the peers): give --key (KEEPER_PRIVATE_KEY) or --keystore (KEEPER_KEYSTORE), also in a dry run",
      ]);
      expect(problems(["--network", "localhost", "--peer-grace-blocks", "3"], key)).to.deep.equal(["--peer-grace-blocks (KEEPER_PEER_GRACE_BLOCKS) given without --peers (KEEPER_PEERS): list the keepers sharing the chain too"]);
    });

    it("test_secrets_streamsCredentialsSealedInTheKeystore_readBackWithItsPassword_theKeyStillDecrypts", async () => {
      const wallet = new Wallet(devKey(3));
      const keystore = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "right", { scrypt: { N: 1 << 10 } });
      expect(readStreamsCredentials(keystore, "right"), "none yet").to.equal(null);
      const creds = { apiKey: "key-1", userSecret: "secret-1" };
      const sealed = sealStreamsCredentials(keystore, "right", creds, 1 << 10);
      expect(sealed).to.not.contain("secret-1");
      expect(readStreamsCredentials(sealed, "right")).to.deep.equal(creds);
      expect((await Wallet.fromEncryptedJson(sealed, "right")).address, "geth/ethers still read the key").to.equal(wallet.address);
      expect(() => readStreamsCredentials(sealed, "wrong", "the keystore k.json"))
        .to.throw(SecretsError, "cannot decrypt the Data Streams credentials in the keystore k.json: wrong password");
      const tampered = JSON.parse(sealed);
      tampered[STREAMS_FIELD].ciphertext = "00" + tampered[STREAMS_FIELD].ciphertext.slice(2);
      expect(() => readStreamsCredentials(JSON.stringify(tampered), "right")).to.throw(SecretsError, "wrong password");
    });

    it("test_cli_streamsCredentialsFromTheKeystore_savedByTheCli_theEnvironmentWinsPerCredential", async () => {
      const dir = cwd();
      const wallet = new Wallet(devKey(3));
      const file = join(dir, "key.json");
      writeFileSync(file, await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "right", { scrypt: { N: 1 << 10 } }));
      const run = async (argv: string[], env: Record<string, string>) => {
        let out = "";
        const code = await main(argv, env, { cwd: dir, stdout: (t) => (out += t), stderr: (t) => (out += t), signals: false });
        return { code, out };
      };
      const creds = { KEEPER_STREAMS_API_KEY: "api-key", KEEPER_STREAMS_USER_SECRET: "user-secret" };
      const saved = await run(["--keystore", "key.json", "--save-streams-credentials"], { KEEPER_KEYSTORE_PASSWORD: "right", ...creds });
      expect(saved.code, saved.out).to.equal(0);
      expect(saved.out).to.contain(`stored the Data Streams credentials in the keystore ${file} (account ${wallet.address})`);
      expect(readFileSync(file, "utf8")).to.not.contain("user-secret");
      // A wrong password stores nothing.
      const wrong = await run(["--keystore", "key.json", "--save-streams-credentials"], { KEEPER_KEYSTORE_PASSWORD: "wrong", ...creds, KEEPER_STREAMS_API_KEY: "other" });
      expect(wrong.code).to.equal(2);
      expect(wrong.out).to.contain(`cannot decrypt the keystore ${file}: wrong password`);
      const args = ["--network", "localhost", "--keystore", "key.json", "--streams-url", "http://127.0.0.1:9"];
      expect(streamsOptions(load(args, { KEEPER_KEYSTORE_PASSWORD: "right" }, dir))).to.deep.include({ apiKey: "api-key", userSecret: "user-secret" });
      expect(streamsOptions(load(args, { KEEPER_KEYSTORE_PASSWORD: "right", KEEPER_STREAMS_API_KEY: "from-env" }, dir)), "the environment over the keystore").to.deep.include({ apiKey: "from-env", userSecret: "user-secret" });
      // The key's password opens the key, but credentials sealed under another password do not open.
      writeFileSync(file, sealStreamsCredentials(readFileSync(file, "utf8"), "another", { apiKey: "a", userSecret: "b" }, 1 << 10));
      expect(() => streamsOptions(load(args, { KEEPER_KEYSTORE_PASSWORD: "right" }, dir))).to.throw(ConfigError, `cannot decrypt the Data Streams credentials in the keystore ${file}: wrong password`);
      // A keystore without credentials, and none in the environment: said so at start (exit code 2).
      writeFileSync(file, await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "right", { scrypt: { N: 1 << 10 } }));
      const none = await run([...args, "--no-metrics"], { KEEPER_KEYSTORE_PASSWORD: "right" });
      expect(none.code).to.equal(2);
      expect(none.out).to.contain(`the keystore ${file} holds none: set KEEPER_STREAMS_API_KEY and KEEPER_STREAMS_USER_SECRET, or store them in the keystore with --save-streams-credentials`);
      expect(problems(["--network", "localhost", "--save-streams-credentials"], creds)).to.deep.equal([
        "--save-streams-credentials (KEEPER_SAVE_STREAMS_CREDENTIALS) needs the keystore to store them in: pass --keystore (KEEPER_KEYSTORE) and its password",
      ]);
    });

    it("test_cli_keystore_wrongPasswordIsAConfigurationError", async () => {
      const dir = cwd();
      const wallet = new Wallet(devKey(3));
      writeFileSync(join(dir, "key.json"), await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "right", { scrypt: { N: 1 << 10 } }));
      const run = async (password: string) => {
        let err = "";
        const code = await main(["--network", "localhost", "--keystore", "key.json", "--rpc", "http://127.0.0.1:9", "--no-metrics"], { KEEPER_KEYSTORE_PASSWORD: password }, { cwd: dir, stdout: () => {}, stderr: (t) => (err += t), signals: false });
        return { code, err };
      };
      const wrong = await run("wrong");
      expect(wrong.code).to.equal(2);
      expect(wrong.err).to.contain("cannot decrypt the keystore");
      expect(wrong.err).to.contain("wrong password");
      // The right password gets past the key to the next check (no node there).
      const right = await run("right");
      expect(right.code).to.equal(2);
      expect(right.err).to.contain("cannot reach any RPC URL");
      expect(existsSync(join(dir, ".keeper"))).to.equal(false);
    });
  });

  describe("peers", () => {
    const group = [devAddress(14), devAddress(15), devAddress(16)];
    const keys = Array.from({ length: 300 }, (_, i) => `order:${i}`);

    it("test_peers_everyJobHasExactlyOneOwner_theSameInEveryKeeperWhateverTheListOrder", () => {
      const schedules = group.map((self, i) => new PeerSchedule({ peers: i === 1 ? [...group].reverse() : group.map((a) => a.toLowerCase()), self }));
      const owned = schedules.map(() => 0);
      for (const key of keys) {
        const mine = schedules.map((s) => s.mine(key));
        expect(mine.filter(Boolean), `owners of ${key}`).to.have.length(1);
        owned[mine.indexOf(true)]!++;
        for (const s of schedules) expect(s.owner(key)).to.equal(schedules[mine.indexOf(true)]!.peers[schedules[mine.indexOf(true)]!.slot]);
      }
      // keccak spreads the keys: each of three keepers owns a fair share of 300 (binomial, far from the bounds).
      for (const n of owned) expect(n).to.be.within(60, 140);
    });

    it("test_peers_theOwnerTriesAtOnce_theOthersOnlyAfterTheGraceFromWhenTheyFirstSawItDue", () => {
      const [a, b] = [new PeerSchedule({ peers: group, self: group[0]!, graceBlocks: 3 }), new PeerSchedule({ peers: group, self: group[1]!, graceBlocks: 3 })];
      const key = keys.find((k) => a.mine(k))!;
      expect(a.ready(key, 100)).to.equal(true);
      expect([100, 101, 102].map((block) => b.ready(key, block))).to.deep.equal([false, false, false]);
      expect(b.ready(key, 103), "the grace ran out: the owner may be down").to.equal(true);
      expect(b.ready(key, 110)).to.equal(true);
      // A job unseen for long (no longer due, then due again) waits a whole grace again.
      expect(b.ready(key, 200)).to.equal(false);
      expect(b.ready(key, 203)).to.equal(true);
      // Alone, every job is the keeper's own.
      const solo = PeerSchedule.solo(group[2]!);
      expect(keys.every((k) => solo.mine(k) && solo.ready(k, 1))).to.equal(true);
    });

    it("test_peers_aKeeperNotInItsOwnList_isRefusedWithWhatToDo", () => {
      expect(() => new PeerSchedule({ peers: group, self: devAddress(17) })).to.throw(`this keeper's address ${devAddress(17)} is not in the peer list`);
    });
  });

  describe("metrics and logs", () => {
    it("test_metricsServer_servesHealthAndPrometheusTextOnLoopbackOnly", async () => {
      const m = new Metrics();
      m.declare("keeper_liquidations_total", "counter", "Positions liquidated");
      m.inc("keeper_failures_total", 2, { kind: "cycle" });
      m.set("keeper_feed_staleness_seconds", 12, { market: 0, symbol: "ETH/USD" });
      let healthy = false;
      const server = new MetricsServer(m, () => ({ ok: healthy, status: healthy ? "ok" : "starting" }));
      const port = await server.listen(0);
      try {
        let res = await fetch(`http://127.0.0.1:${port}/health`);
        expect(res.status).to.equal(503);
        expect(await res.json()).to.deep.equal({ ok: false, status: "starting" });
        healthy = true;
        res = await fetch(`http://127.0.0.1:${port}/health`);
        expect(res.status).to.equal(200);
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(text).to.contain("# HELP keeper_liquidations_total Positions liquidated\n# TYPE keeper_liquidations_total counter\nkeeper_liquidations_total 0\n");
        expect(text).to.contain('keeper_failures_total{kind="cycle"} 2\n');
        expect(text).to.contain('keeper_feed_staleness_seconds{market="0",symbol="ETH/USD"} 12\n');
        expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).to.equal(404);
        expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST" })).status).to.equal(405);
      } finally {
        await server.close();
      }
    });

    it("test_logger_oneLinePerEventInTextOrJson", () => {
      const lines: string[] = [];
      const text = new Logger({ sink: (l) => lines.push(l) });
      text.info("liquidation.sent", { nonce: 3, reward: 12n, note: "two words" });
      text.debug("hidden");
      const json = new Logger({ format: "json", level: "debug", sink: (l) => lines.push(l) }).child({ keeper: "a" });
      json.warn("feed.stale", { market: 0, age: 4200n });
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  liquidation\.sent nonce=3 reward=12 note="two words"$/);
      const parsed = JSON.parse(lines[1]!) as Record<string, unknown>;
      expect(parsed).to.include({ level: "warn", event: "feed.stale", keeper: "a", market: 0, age: "4200" });
    });
  });
});

describe("keeper: built on the SDK's public interface", () => {
  it("keeper/ imports only node builtins, ethers, its own modules, the @bulkhead/sdk package and Chainlink's Data Streams client", () => {
    // The keeper is an outside user of the SDK: no Hardhat at run time, the SDK only by its package
    // name (`@bulkhead/sdk`, declared in keeper/package.json, resolved to its build), nothing from
    // the tests. Reports come through Chainlink's official client (issue 14), also declared.
    const root = join(import.meta.dirname, "..", "..", "keeper");
    const files = [...readdirSync(join(root, "src")).map((f) => join(root, "src", f)), join(root, "bin", "keeper.mjs")];
    const seen = new Set<string>();
    for (const file of files.filter((f) => /\.(ts|mjs)$/.test(f))) {
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']/g)) seen.add(spec!);
      for (const [, spec] of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) seen.add(spec!);
    }
    const allowed = (s: string) =>
      s.startsWith("node:") || s === "ethers" || s === "@bulkhead/sdk" || s === "@chainlink/data-streams-sdk" || /^\.\.?\/(?!\.\.)[\w./-]+$/.test(s) || /^\.\.\/src\/[\w.-]+$/.test(s);
    expect([...seen].filter((s) => !allowed(s)), "imports outside the keeper's boundary").to.deep.equal([]);
    expect(seen.has("@bulkhead/sdk"), "the keeper uses the SDK").to.equal(true);
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies).sort(), "keeper/package.json dependencies").to.deep.equal(["@bulkhead/sdk", "@chainlink/data-streams-sdk", "ethers"]);
  });
});
