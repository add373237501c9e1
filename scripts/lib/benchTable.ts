// What the gas benchmarks of requests and orders share: an explicit gas limit (estimation never
// shapes a measured transaction), the gas of a sent transaction, the worst measured occurrence of
// each action against its goal (printed, never asserted), and the markdown and JSON they write.
import { mkdir, writeFile } from "node:fs/promises";
import type { ContractTransactionResponse } from "ethers";

export const GAS_LIMIT = 15_000_000n;

export const fmt = (n: number) => n.toLocaleString("en-US");

export const gasOf = async (tx: Promise<ContractTransactionResponse>) => Number((await (await tx).wait())!.gasUsed);

export interface BenchRow {
  action: string;
  gas: number;
  goal: number | undefined;
  met: boolean | undefined;
}

/** One row per action: its worst measured gas and whether that meets its goal, if it has one. */
export function goalRows(measured: Map<string, number[]>, goals: Record<string, number>): BenchRow[] {
  return [...measured].map(([action, gs]) => {
    const gas = Math.max(...gs);
    const goal = goals[action];
    return { action, gas, goal, met: goal === undefined ? undefined : gas <= goal };
  });
}

export function goalTable(rows: BenchRow[]): string[] {
  return [
    "| action | gas | goal | status |",
    "| --- | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.action} | ${fmt(r.gas)} | ${r.goal ? fmt(r.goal) : "–"} | ${r.met === undefined ? "" : r.met ? "✔" : "✘ over"} |`),
  ];
}

/** Writes bench/<name>.md and bench/<name>.json, prints the markdown and every goal missed. */
export async function writeBench(name: string, md: string[], json: unknown, rows: BenchRow[]) {
  await mkdir("bench", { recursive: true });
  await writeFile(`bench/${name}.md`, md.join("\n"));
  await writeFile(`bench/${name}.json`, JSON.stringify(json, null, 2) + "\n");
  console.log(md.join("\n"));
  for (const r of rows) if (r.met === false) console.log(`OVER GOAL ${r.action}: ${fmt(r.gas)} > ${fmt(r.goal!)}`);
}
