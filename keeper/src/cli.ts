/**
 * The keeper's command line: reads and validates the configuration, checks the chain (RPC
 * reachable, same chain as the deployment, code at the engine and the lens, a usable key), opens
 * the store, serves /health and /metrics, runs the loop, and shuts down cleanly on SIGINT/SIGTERM.
 * Exit codes: 0 after a clean shutdown, 2 for a configuration problem, 1 for anything else.
 * @module
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Wallet, formatEther, type HDNodeWallet } from "ethers";
import { BulkheadClient, UnknownChainError, formatAmount, getDeployment, parseUnits, type Deployment } from "@bulkhead/sdk";
import { ConfigError, HELP, loadConfig, type KeeperConfig } from "./config.js";
import { Keeper } from "./keeper.js";
import { Logger } from "./logger.js";
import { Metrics, MetricsServer } from "./metrics.js";
import { StreamsReports, type StreamsOptions } from "./reports.js";
import { readStreamsCredentials, saveStreamsCredentials, type StreamsCredentials } from "./secrets.js";
import { FailoverRpcProvider, probeChainIds, redactUrl } from "./rpc.js";
import { RecordCache } from "./records.js";
import { JsonStore, StoreError } from "./store.js";

/** A startup check failed in a way the operator fixes in the configuration. */
class StartupError extends Error {
  override name = "StartupError";
}

export interface MainIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Installs signal handlers (default true). */
  signals?: boolean;
  cwd?: string;
}

function lock(path: string): () => void {
  const file = `${path}.lock`;
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8").trim());
    let alive = false;
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === "EPERM";
      }
    }
    if (alive) throw new StartupError(`another keeper (pid ${pid}) uses the store ${path}: stop it or pass another --store`);
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

async function loadWallet(key: KeeperConfig["key"]): Promise<Wallet | HDNodeWallet | null> {
  if (!key) return null;
  if ("privateKey" in key) {
    try {
      return new Wallet(key.privateKey);
    } catch {
      throw new ConfigError(["the private key is not valid for secp256k1 (the value is not shown)"]);
    }
  }
  try {
    return await Wallet.fromEncryptedJson(readFileSync(key.keystore, "utf8"), key.password);
  } catch (e) {
    const msg = (e as Error).message;
    throw new ConfigError([`cannot decrypt the keystore ${key.keystore}: ${/password/i.test(msg) ? "wrong password" : msg}`]);
  }
}

/**
 * The Data Streams client's options: each credential from the environment or the config file
 * when set there, else from the keystore (sealed with `--save-streams-credentials`); null
 * without `--streams-url`. A missing or undecryptable credential is a ConfigError saying so.
 */
export function streamsOptions(config: KeeperConfig): StreamsOptions | null {
  const s = config.streams;
  if (!s) return null;
  let apiKey = s.apiKey;
  let userSecret = s.userSecret;
  if (apiKey === null || userSecret === null) {
    const key = config.key;
    let sealed: StreamsCredentials | null = null;
    if (key && "keystore" in key) {
      try {
        sealed = readStreamsCredentials(readFileSync(key.keystore, "utf8"), key.password, `the keystore ${key.keystore}`);
      } catch (e) {
        throw new ConfigError([(e as Error).message]);
      }
    }
    if (!sealed) {
      throw new ConfigError([
        `--streams-url (KEEPER_STREAMS_URL) needs the Data Streams credentials and the keystore${key && "keystore" in key ? ` ${key.keystore}` : ""} holds none: set KEEPER_STREAMS_API_KEY and KEEPER_STREAMS_USER_SECRET, or store them in the keystore with --save-streams-credentials`,
      ]);
    }
    apiKey ??= sealed.apiKey;
    userSecret ??= sealed.userSecret;
  }
  return { url: s.url, apiKey, userSecret, ...(s.ws ? { ws: s.ws } : {}) };
}

/** `--save-streams-credentials`: checks the password opens the keystore's key, then seals the credentials next to it. */
async function saveCredentials(c: NonNullable<KeeperConfig["saveStreamsCredentials"]>, out: (text: string) => void): Promise<void> {
  const wallet = await loadWallet({ keystore: c.keystore, password: c.password });
  saveStreamsCredentials(c.keystore, c.password, { apiKey: c.apiKey, userSecret: c.userSecret });
  out(`keeper: stored the Data Streams credentials in the keystore ${c.keystore} (account ${wallet!.address}), encrypted with its password; KEEPER_STREAMS_API_KEY and KEEPER_STREAMS_USER_SECRET are no longer needed\n`);
}

/** Runs the keeper until a signal; resolves with the exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined> = process.env, io: MainIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => process.stderr.write(t));
  const cwd = io.cwd ?? process.cwd();
  let config: KeeperConfig;
  try {
    const c = loadConfig(argv, env, cwd);
    if (c === "help") {
      out(HELP + "\n");
      return 0;
    }
    config = c;
    if (config.saveStreamsCredentials) {
      await saveCredentials(config.saveStreamsCredentials, out);
      return 0;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`keeper: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = new Logger({ format: config.logFormat, level: config.logLevel, sink: (line) => out(line + "\n") });
  let provider: FailoverRpcProvider | undefined;
  let server: MetricsServer | undefined;
  let unlock: (() => void) | undefined;
  try {
    if (config.keyOnCommandLine) log.warn("config.keyOnCommandLine", { advice: "other users of this machine can read --key in the process list: prefer KEEPER_PRIVATE_KEY or --keystore" });
    const wallet = await loadWallet(config.key);
    const streams = streamsOptions(config);

    // The chain: reachable, one chain id across URLs, matching the deployment.
    const probes = await probeChainIds(config.rpc, Math.min(config.rpcTimeoutMs, 10_000));
    const up = probes.filter((p) => p.chainId !== undefined);
    for (const p of probes.filter((p) => p.chainId === undefined)) log.warn("rpc.unreachable", { url: redactUrl(p.url), error: p.error });
    if (up.length === 0) {
      throw new StartupError(`cannot reach any RPC URL (${probes.map((p) => `${redactUrl(p.url)}: ${p.error}`).join("; ")}): check --rpc and that the node is running`);
    }
    const chainIds = new Set(up.map((p) => p.chainId));
    if (chainIds.size > 1) throw new StartupError(`the RPC URLs are on different chains (${up.map((p) => `${redactUrl(p.url)}: ${p.chainId}`).join(", ")}): give URLs of one chain`);
    const chainId = up[0]!.chainId!;
    let deployment: Deployment;
    if (config.deployment) {
      deployment = config.deployment;
      if (deployment.chainId !== chainId) {
        throw new StartupError(`the deployment (${config.deploymentSource}) is for chain ${deployment.chainId} but the RPC is on chain ${chainId}: check --network/--deployment and --rpc`);
      }
    } else {
      try {
        deployment = getDeployment(chainId);
      } catch (e) {
        if (e instanceof UnknownChainError) throw new StartupError(`${e.message}; pass --network <name> or --deployment <file>`);
        throw e;
      }
    }
    provider = await FailoverRpcProvider.create(config.rpc, { timeoutMs: config.rpcTimeoutMs, retries: config.rpcRetries, logger: log });
    const block = await provider.getBlockNumber();
    for (const [what, address] of [["engine", deployment.engine], ["lens", deployment.lens]] as const) {
      if ((await provider.getCode(address)) === "0x") {
        throw new StartupError(
          `no contract code at the ${what} address ${address} on chain ${chainId} (block ${block}): the deployment (${config.deploymentSource ?? "SDK"}) does not match this node — wrong --network/--deployment/--rpc, or the local node was restarted since the deploy`,
        );
      }
    }
    let client: BulkheadClient;
    try {
      client = await BulkheadClient.connect(provider, { addresses: deployment, lensBatchSize: config.lensBatchSize, logChunkSize: config.logChunkSize });
    } catch (e) {
      throw new StartupError(`the contract at ${deployment.engine} does not answer like a Bulkhead engine (${(e as Error).message.split("\n")[0]}): check the deployment file`);
    }
    const address = wallet?.address ?? "0x000000000000000000000000000000000000dEaD";
    const signer = wallet ? wallet.connect(provider) : null;
    if (config.peers.length > 0 && !config.peers.includes(address)) {
      throw new StartupError(`--peers (KEEPER_PEERS): this keeper's address ${address} is not in the list (${config.peers.join(", ")}): add it, or give this keeper the key of one of them`);
    }
    if (signer && !config.dryRun) {
      const balance = await provider.getBalance(address);
      if (balance === 0n) log.warn("account.noGas", { account: address, action: "fund this account with the chain's gas coin: every liquidation would fail" });
    }

    // The store, one keeper per file.
    const storePath =
      config.store ??
      resolve(cwd, ".keeper", `${config.network ?? deployment.network}-${chainId}-${deployment.engine.slice(2, 10).toLowerCase()}${config.dryRun ? "-dryrun" : ""}.json`);
    unlock = lock(storePath);
    const store = JsonStore.open(storePath, { chainId, engine: deployment.engine, startBlock: deployment.startBlock });

    const crashAt = env.KEEPER_TEST_CRASH_AT; // test hook: die (SIGKILL) at a point of the send path
    const metrics = new Metrics();
    const keeper = new Keeper(client, config.dryRun ? null : signer, address, store, {
      dryRun: config.dryRun,
      confirmations: config.confirmations,
      logChunkSize: config.logChunkSize,
      fullRefreshBlocks: config.fullRefreshBlocks,
      records: new RecordCache(`${storePath}.records.json`),
      pollIntervalMs: config.pollIntervalMs,
      maxBatchSize: config.maxBatchSize,
      maxBatchGas: config.maxBatchGas,
      maxFeePerGas: config.maxFeePerGas,
      priorityFeePerGas: config.priorityFeePerGas,
      feeBumpPercent: config.feeBumpPercent,
      replaceAfterBlocks: config.replaceAfterBlocks,
      maxPendingTxs: config.maxPendingTxs,
      minProfit: config.minProfit === null ? null : parseUnits(config.minProfit, client.token.decimals),
      nativePrice: config.nativePrice !== null ? { wad: config.nativePrice } : config.nativePriceMarket !== null ? { market: config.nativePriceMarket } : null,
      logger: log,
      metrics,
      rpcStats: provider.stats,
      reports: streams ? new StreamsReports(streams) : null,
      minTopUpFee: config.minTopUpFee === null ? 1n : parseUnits(config.minTopUpFee, client.token.decimals),
      peers: config.peers,
      peerGraceBlocks: config.peerGraceBlocks,
      ...(crashAt ? { onCheckpoint: (point: string) => point === crashAt && process.kill(process.pid, "SIGKILL") } : {}),
    });
    await keeper.init();
    if (config.metricsPort !== null) {
      server = new MetricsServer(metrics, () => keeper.health());
      try {
        await server.listen(config.metricsPort);
      } catch (e) {
        throw new StartupError(`cannot serve metrics on 127.0.0.1:${config.metricsPort} (${(e as Error).message}): pass another --metrics-port, 0 for any, or --no-metrics`);
      }
      log.info("metrics.listening", { url: `http://127.0.0.1:${server.port}/metrics`, port: server.port });
    }
    log.info("keeper.started", {
      chainId,
      network: config.network ?? deployment.network,
      engine: deployment.engine,
      account: address,
      dryRun: config.dryRun,
      rpc: config.rpc.map(redactUrl),
      store: storePath,
      resumedFrom: store.fresh ? null : store.state.checkpoint?.block ?? null,
      positions: Object.keys(store.state.positions).length,
      startBlock: deployment.startBlock,
      head: block,
      confirmations: config.confirmations,
      token: client.token.symbol,
      minProfit: config.minProfit === null ? null : formatAmount(parseUnits(config.minProfit, client.token.decimals), client.token),
      streams: config.streams ? redactUrl(config.streams.url) : null,
      requests: keeper.requests !== null,
      orders: keeper.orders !== null,
      balance: wallet ? formatEther(await provider.getBalance(address)) : null,
      peers: config.peers.length > 0 ? { count: keeper.executor.peers.size, slot: keeper.executor.peers.slot, graceBlocks: keeper.executor.peers.graceBlocks } : null,
    });

    // Run until a signal.
    const done = keeper.run();
    const stopped = new Promise<number>((resolveStop) => {
      if (io.signals === false) {
        void done.then(() => resolveStop(0));
        return;
      }
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          log.warn("keeper.forcedExit", { signal });
          process.exit(130);
        }
        stopping = true;
        log.info("keeper.stopping", { signal, pending: keeper.executor.pendingCount });
        const timer = setTimeout(() => {
          log.error("keeper.stopTimeout", { afterMs: 15_000 });
          process.exit(1);
        }, 15_000);
        void keeper.stop().then(() => {
          clearTimeout(timer);
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          resolveStop(0);
        });
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
    const code = await stopped;
    log.info("keeper.stopped", {
      lastBlock: keeper.health().lastBlock,
      checkpoint: store.state.checkpoint?.block ?? null,
      liquidations: metrics.total("keeper_liquidations_total"),
      pendingTxs: keeper.executor.pendingCount,
    });
    return code;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof StartupError || e instanceof StoreError) {
      err(`keeper: ${e.message}\n`);
      return 2;
    }
    err(`keeper: fatal: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    await server?.close();
    unlock?.();
    provider?.destroy();
  }
}
