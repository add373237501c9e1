// Terminal output for the demo: colours that switch themselves off (not a TTY, NO_COLOR set),
// exact bigint number formatting and aligned tables.

export type Style = {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
};

/** Colours on a TTY unless NO_COLOR is set (https://no-color.org); FORCE_COLOR turns them on anyway. */
export function colorEnabled(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true;
}

export function makeStyle(enabled: boolean): Style {
  const sgr = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
    magenta: sgr(35, 39),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** Printed width of a string (ANSI codes take no room). */
export const visibleWidth = (s: string) => [...s.replace(ANSI, "")].length;

const pad = (s: string, width: number, align: "left" | "right") => {
  const fill = " ".repeat(Math.max(0, width - visibleWidth(s)));
  return align === "left" ? s + fill : fill + s;
};

/**
 * `value / 10^decimals` with `shown` decimals (truncated toward zero, which never overstates a
 * balance), thousands separators and an optional explicit sign.
 */
export function units(value: bigint, decimals: number, shown = 2, opts: { sign?: boolean } = {}): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  let frac = "";
  if (shown > 0) {
    const f = ((abs % scale) * 10n ** BigInt(shown)) / scale;
    frac = "." + f.toString().padStart(shown, "0");
  }
  const body = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + frac;
  const sign = negative ? "−" : opts.sign ? "+" : "";
  return sign + body;
}

/** A ratio of two bigints as a decimal with `shown` places (truncated). */
export function ratio(num: bigint, den: bigint, shown = 2): string {
  if (den === 0n) return "∞";
  return units((num * 10n ** BigInt(shown)) / den, shown, shown);
}

export const shortAddress = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export type Column = { header: string; align?: "left" | "right" };

/** An aligned table: header, a rule, rows; every line indented by `indent`. */
export function table(columns: Column[], rows: string[][], style: Style, indent = "   "): string[] {
  const widths = columns.map((c, i) => Math.max(visibleWidth(c.header), ...rows.map((r) => visibleWidth(r[i] ?? ""))));
  const line = (cells: string[]) =>
    indent + cells.map((cell, i) => pad(cell, widths[i], columns[i].align ?? "left")).join("  ").trimEnd();
  return [
    line(columns.map((c) => (c.header === "" ? "" : style.bold(c.header)))),
    style.dim(indent + widths.map((w) => "─".repeat(w)).join("  ")),
    ...rows.map(line),
  ];
}
