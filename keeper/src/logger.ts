/**
 * Structured logs: one line per event, `event` names like `liquidation.sent`, fields after it.
 * Text for people (`2026-05-01T12:00:00.000Z WARN  feed.stale market=0 age=4210s`), JSON lines for
 * machines (`--log-format json`). bigints print as decimal strings.
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go (stdout by default, every level, so `keeper | jq` sees them all). */
export type LogSink = (line: string, level: LogLevel) => void;

const defaultSink: LogSink = (line) => {
  process.stdout.write(line + "\n");
};

function plain(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return v.message;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

function textValue(v: unknown): string {
  const p = plain(v);
  if (typeof p === "string") return /[\s"=]/.test(p) || p === "" ? JSON.stringify(p) : p;
  return JSON.stringify(p);
}

export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly #sink: LogSink;
  readonly #base: LogFields;

  constructor(options: { level?: LogLevel; format?: LogFormat; sink?: LogSink; fields?: LogFields } = {}) {
    this.level = options.level ?? "info";
    this.format = options.format ?? "text";
    this.#sink = options.sink ?? defaultSink;
    this.#base = options.fields ?? {};
  }

  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger {
    return new Logger({ level: this.level, format: this.format, sink: this.#sink, fields: { ...this.#base, ...fields } });
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const all = { ...this.#base, ...fields };
    const time = new Date().toISOString();
    let line: string;
    if (this.format === "json") {
      line = JSON.stringify({ time, level, event, ...(plain(all) as LogFields) });
    } else {
      const rest = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(" ");
      line = `${time} ${level.toUpperCase().padEnd(5)} ${event}${rest ? " " + rest : ""}`;
    }
    this.#sink(line, level);
  }

  debug(event: string, fields?: LogFields): void {
    this.log("debug", event, fields);
  }
  info(event: string, fields?: LogFields): void {
    this.log("info", event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.log("warn", event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.log("error", event, fields);
  }
}

/** A logger that drops everything (library default). */
export const silentLogger = new Logger({ sink: () => {}, level: "error" });
