/**
 * The devnet's push-feed publisher: plays the Chainlink nodes that update a price feed on a public
 * network. On every tick it reads the chain's time and, for each local `MockV3Aggregator`, publishes
 * the target price with `updateAnswer` when it has moved past the feed's deviation threshold from
 * the feed's answer, or when the answer is older than the feed's heartbeat (republishing the same
 * answer, as Chainlink's heartbeat does). With a trace as the target the push feeds follow the
 * trace the report service signs from, within the threshold; with no target (`--prices feeds`) it
 * only keeps the feeds fresh, so a devnet left running is not stopped by the engine's staleness check.
 * @module
 */
import { Contract, type Provider, type Signer } from "ethers";

const AGGREGATOR_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function updateAnswer(int256 answer)",
];

export interface PushedFeed {
  /** e.g. "ETH/USD". */
  name: string;
  aggregator: string;
  decimals: number;
  /** Publish when the target differs from the answer by at least this many basis points. */
  deviationBps: bigint;
  /** Publish when the answer is at least this many seconds old. */
  heartbeat: number;
}

export interface PusherOptions {
  /** Price the feed should show at chain time t (18 decimals); null: keep the feed's answer. */
  target: (feed: PushedFeed, t: number) => Promise<bigint | null>;
  /** Milliseconds between ticks (default 500). */
  intervalMs?: number;
  log?: (line: string) => void;
}

/** An 18-decimal price as an answer with `decimals` decimals (rounded down). */
export function fromWad(wad: bigint, decimals: number): bigint {
  return decimals <= 18 ? wad / 10n ** BigInt(18 - decimals) : wad * 10n ** BigInt(decimals - 18);
}

export class FeedPusher {
  readonly #provider: Provider;
  readonly #feeds: { feed: PushedFeed; contract: Contract }[];
  readonly #o: Required<Omit<PusherOptions, "log">> & Pick<PusherOptions, "log">;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Answers published, by feed name. */
  readonly pushes = new Map<string, number>();

  constructor(signer: Signer, feeds: readonly PushedFeed[], options: PusherOptions) {
    if (!signer.provider) throw new Error("the pusher's signer needs a provider");
    this.#provider = signer.provider;
    this.#feeds = feeds.map((feed) => ({ feed, contract: new Contract(feed.aggregator, AGGREGATOR_ABI, signer) }));
    this.#o = { intervalMs: 500, ...options };
  }

  /** One pass over the feeds; resolves with how many answers it published. */
  async tick(): Promise<number> {
    const block = await this.#provider.getBlock("latest");
    if (!block) return 0;
    const now = block.timestamp;
    let sent = 0;
    for (const { feed, contract } of this.#feeds) {
      const [, answer, , updatedAt] = (await contract.getFunction("latestRoundData")()) as [bigint, bigint, bigint, bigint];
      const wad = await this.#o.target(feed, now);
      const next = wad === null ? answer : fromWad(wad, feed.decimals);
      const diff = next > answer ? next - answer : answer - next;
      const moved = next !== answer && diff * 10_000n >= feed.deviationBps * (answer > 0n ? answer : 1n);
      const stale = BigInt(now) - updatedAt >= BigInt(feed.heartbeat);
      if (!moved && !stale) continue;
      if (next <= 0n) continue;
      await (await contract.getFunction("updateAnswer")(next)).wait();
      this.pushes.set(feed.name, (this.pushes.get(feed.name) ?? 0) + 1);
      this.#o.log?.(`pushed ${feed.name} ${formatAnswer(next, feed.decimals)} (${moved ? "deviation" : "heartbeat"}, chain time ${now})`);
      sent++;
    }
    return sent;
  }

  /** Ticks every `intervalMs` until {@link stop}; a failed tick is logged and the next one tries again. */
  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#running = this.tick()
        .then(() => undefined)
        .catch((e: unknown) => {
          if (!this.#stopped) this.#o.log?.(`push failed: ${(e as Error).message.split("\n")[0]}`);
        })
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.intervalMs);
        });
    };
    loop();
  }

  /** Stops ticking and waits for the tick in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}

function formatAnswer(answer: bigint, decimals: number): string {
  const s = answer.toString().padStart(decimals + 1, "0");
  return `${s.slice(0, -decimals)}.${s.slice(-decimals).replace(/0+$/, "") || "0"}`;
}
