// What a run leaves behind: a table in the terminal, and in the report folder s3.md (the table, the issue's
// targets with their measured ratios, the charts), s3.json (every figure, for tools) and two SVG charts.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { Summary } from "./figures.ts";
import { formatBytes, type S3BenchOptions } from "./options.ts";
import type { TargetRole } from "./peers.ts";
import type { PreloadFigures } from "./preload.ts";
import { latencySvg, throughputSvg } from "./svg.ts";
import { checkTargets, rolesOf } from "./targets.ts";

const MIB = 1024 * 1024;
/** Above this share of one core, the load process may be what limits a workload. */
const CLIENT_CORE_SHARE_SUSPECT = 0.7;

export interface RunRecord {
  readonly startedAt: Date;
  readonly options: S3BenchOptions;
  readonly argv: readonly string[];
  readonly targets: readonly { name: string; role: TargetRole; description: string }[];
  readonly summaries: readonly Summary[];
  readonly preload: PreloadFigures | undefined;
}

interface Row {
  readonly cells: readonly string[];
}

const COLUMNS = ["size", "workload", "c", "target", "MiB/s", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "vs limit", "vs swift", "client µs/op", "client core", "router RSS MiB"] as const;
const fixed = (n: number, digits = 1) => (n >= 1000 ? n.toFixed(0) : n.toFixed(digits));

function rowsOf(summaries: readonly Summary[], targets: readonly { name: string; role: TargetRole }[]): Row[] {
  const limit = targets.find((t) => t.role === "limit")?.name;
  const swift = targets.find((t) => t.name === "swift")?.name;
  const peerOf = (s: Summary, name: string | undefined) => (name === undefined || name === s.target ? undefined : summaries.find((o) => o.target === name && o.job.workload === s.job.workload && o.job.sizeBytes === s.job.sizeBytes && o.job.concurrency === s.job.concurrency && o.job.purpose === s.job.purpose));
  const versus = (s: Summary, name: string | undefined) => {
    // The limit is the yardstick, not a contender: its row says nothing "vs" a peer.
    if (s.target === limit) return "";
    const peer = peerOf(s, name);
    return peer === undefined || peer.mibPerSecond === 0 ? "" : `${(s.mibPerSecond / peer.mibPerSecond).toFixed(2)} ×`;
  };
  const ordered = [...summaries].sort((a, b) => a.job.sizeBytes - b.job.sizeBytes || (a.job.purpose === b.job.purpose ? 0 : a.job.purpose === "speed" ? -1 : 1) || a.job.workload.localeCompare(b.job.workload) || a.job.concurrency - b.job.concurrency || targets.findIndex((t) => t.name === a.target) - targets.findIndex((t) => t.name === b.target));
  return ordered.map((s) => ({
    cells: [
      formatBytes(s.job.sizeBytes),
      s.job.purpose === "speed" ? s.job.workload : `${s.job.workload} (memory)`,
      String(s.job.concurrency),
      s.target,
      fixed(s.mibPerSecond),
      fixed(s.opsPerSecond),
      fixed(s.latency.p50Ms, 2),
      fixed(s.latency.p99Ms, 2),
      fixed(s.latency.p999Ms, 2),
      String(s.errors),
      versus(s, limit),
      versus(s, swift),
      fixed(s.clientCpuUsPerOp, 0),
      `${(s.clientCpuCoreShare * 100).toFixed(0)} %`,
      s.routerRssMaxBytes === undefined ? "" : (s.routerRssMaxBytes / MIB).toFixed(0),
    ],
  }));
}

export function terminalTable(summaries: readonly Summary[], targets: readonly { name: string; role: TargetRole }[]): string {
  const rows = [COLUMNS as readonly string[], ...rowsOf(summaries, targets).map((r) => r.cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = (i: number) => i >= 4;
  const line = (r: readonly string[]) => r.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const checks = checkTargets(summaries, rolesOf(targets));
  const targetLines = checks.map((c) => `  ${c.met === undefined ? "·" : c.met ? "✓" : "✗"} ${c.name} ${c.goal}: ${c.measured ?? `not measured (${c.howToMeasure})`}`);
  return ["", line(rows[0]!), ...rows.slice(1).map(line), "", "Targets (issue 11):", ...targetLines, ""].join("\n");
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightFrom: number): string {
  return [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i >= rightFrom ? "---:" : "---")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function markdown(record: RunRecord, loadBefore: number): string {
  const { options, summaries, targets } = record;
  const checks = checkTargets(summaries, rolesOf(targets));
  const command = `npm run bench -- s3${record.argv.length > 0 ? ` ${record.argv.join(" ")}` : ""}`;
  const lines = [
    "# S3 benchmark",
    "",
    `Produced by \`${command}\` on ${record.startedAt.toISOString()}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end. ${options.rounds} round${options.rounds > 1 ? "s" : ""}, targets alternating.`,
    "",
    ...(Math.max(loadBefore, loadavg()[0]!) > cpus().length
      ? [`**The machine was busy** (load average up to ${Math.max(loadBefore, loadavg()[0]!).toFixed(1)} on ${cpus().length} cores, other work included): absolute figures are low; only the ratios between targets measured in this run mean anything.`, ""]
      : []),
    "Measured:",
    ...targets.map((t) => `- **${t.name}** (${t.role}): ${t.description}.`),
    "",
    "Client: bench/s3/load-process.ts in a process of its own, undici pools (one connection per request in flight), SigV4 with UNSIGNED-PAYLOAD, bodies streamed from one shared 1 MiB random buffer, responses counted and dropped; latencies into HDR histograms (hdr-histogram-js). `client µs/op` and `client core` are its own CPU (process.cpuUsage) per operation and as a share of one core.",
    `Workloads: put (each request in flight cycles over 2 keys of its own), get (a read set written before, ${options.sizes.map((s) => formatBytes(s)).join(", ")}), mixed (${Math.round(options.mixedGetFraction * 100)} % GET), ranged (GET of ${formatBytes(options.rangeBytes)} at a random offset, or the whole object when smaller). Ratios are MiB/s of the row over MiB/s of the peer for the same workload (the same as ops/s for the same size).`,
    "",
    "## Targets (issue 11)",
    "",
    markdownTable(["target", "goal", "measured", "met"], checks.map((c) => [c.name, c.goal, c.measured ?? `not measured: \`${c.howToMeasure}\``, c.met === undefined ? "·" : c.met ? "yes" : "**no**"]), 99),
    "",
    "## Figures",
    "",
    markdownTable([...COLUMNS], rowsOf(summaries, targets).map((r) => r.cells), 4),
    "",
  ];
  const mixed = summaries.filter((s) => s.job.workload === "mixed");
  if (mixed.length > 0) {
    lines.push("Mixed workloads, by operation:", "");
    lines.push(
      markdownTable(
        ["size", "c", "target", "op", "ops/s", "MiB/s", "p50 ms", "p99 ms", "p99.9 ms"],
        mixed.flatMap((s) => (["get", "put"] as const).flatMap((k) => {
          const f = s.byKind[k];
          return f === undefined ? [] : [[formatBytes(s.job.sizeBytes), String(s.job.concurrency), s.target, k, fixed(f.opsPerSecond), fixed(f.mibPerSecond), fixed(f.latency.p50Ms, 2), fixed(f.latency.p99Ms, 2), fixed(f.latency.p999Ms, 2)]];
        })),
        4,
      ),
      "",
    );
  }
  const busyClient = summaries.filter((s) => s.clientCpuCoreShare > CLIENT_CORE_SHARE_SUSPECT);
  lines.push(
    busyClient.length === 0
      ? `The client used at most ${(Math.max(0, ...summaries.map((s) => s.clientCpuCoreShare)) * 100).toFixed(0)} % of one core in any workload: it was not the bottleneck.`
      : `**The client used over ${CLIENT_CORE_SHARE_SUSPECT * 100} % of a core** in ${busyClient.map((s) => `${s.target} ${s.job.workload} ${formatBytes(s.job.sizeBytes)}`).join(", ")}: those figures may be the client's limit.`,
    "",
  );
  const errors = summaries.filter((s) => s.errors > 0);
  if (errors.length > 0) lines.push("Errors (first of each):", "", ...errors.map((s) => `- ${s.target} ${s.job.workload} ${formatBytes(s.job.sizeBytes)}: ${s.errors} — \`${s.errorSamples[0] ?? "?"}\``), "");
  lines.push("![Throughput per object size](s3-throughput.svg)", "", "![Latency distribution per object size](s3-latency.svg)", "");
  if (record.preload !== undefined) lines.push(...record.preload.markdown, "");
  return lines.join("\n");
}

const loadAtStart = loadavg()[0]!;

/** Writes the report files; returns their paths. */
export function writeReport(dir: string, record: RunRecord): string[] {
  mkdirSync(dir, { recursive: true });
  const names = record.targets.map((t) => t.name);
  if (record.summaries.length === 0 && record.preload !== undefined) {
    // A metadata-scale run alone has its own report and leaves the throughput report of another run alone.
    const head = [`# S3 metadata scale`, "", `Produced by \`npm run bench -- s3 ${record.argv.join(" ")}\` on ${record.startedAt.toISOString()}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`, "", ...record.targets.map((t) => `- **${t.name}**: ${t.description}.`), ""];
    const scaleFiles = { "s3-scale.md": [...head, ...record.preload.markdown, ""].join("\n"), "s3-scale.json": `${JSON.stringify({ startedAt: record.startedAt.toISOString(), argv: record.argv, targets: record.targets, preload: record.preload.json }, null, 2)}\n` };
    return writeFiles(dir, scaleFiles);
  }
  const files = {
    "s3.md": markdown(record, loadAtStart),
    "s3.json": `${JSON.stringify({ startedAt: record.startedAt.toISOString(), argv: record.argv, node: process.version, cpus: cpus().length, targets: record.targets, checks: checkTargets(record.summaries, rolesOf(record.targets)), summaries: record.summaries, preload: record.preload?.json }, null, 2)}\n`,
    "s3-throughput.svg": throughputSvg(record.summaries, names),
    "s3-latency.svg": latencySvg(record.summaries, names),
  };
  return writeFiles(dir, files);
}

function writeFiles(dir: string, files: Record<string, string>): string[] {
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  });
}
