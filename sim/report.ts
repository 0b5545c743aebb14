// The report of a multi-seed run: reports/sim/<scenario>.md with a summary table, the failing seeds with
// their replay commands, and an SVG chart of the minimum live replica count over simulated time with the
// faults marked. Guarantees: the chart is self-contained SVG (no scripts, no external fonts); the report is
// a function of the summaries only (plus the wall time and date the caller passes).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SeedSummary } from "./pool.ts";

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const profileFlag = (profile: string | undefined): string => (profile && profile !== "full" ? ` --profile ${profile}` : "");

export function replayCommand(scenarioPath: string, seed: number, bug?: string, profile?: string): string {
  return `npx tsx sim/cli.ts ${scenarioPath} --seed ${seed}${profileFlag(profile)}${bug ? ` --bug ${bug}` : ""} --trace-messages --trace reports/sim/traces/${seed}.txt`;
}

export function summaryTable(summaries: readonly SeedSummary[]): string {
  const n = summaries.length;
  const failed = summaries.filter((s) => !s.ok);
  const sum = (f: (s: SeedSummary) => number): number => summaries.reduce((a, s) => a + f(s), 0);
  const repl = summaries.map((s) => s.figures.fullReplicationAfterFaultsMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const wall = summaries.map((s) => s.figures.wallMs).sort((a, b) => a - b);
  const rows: [string, string][] = [
    ["seeds run", fmt(n)],
    ["seeds failed", fmt(failed.length)],
    ["writes acknowledged (total / mean per seed)", `${fmt(sum((s) => s.figures.writesAcknowledged))} / ${fmt(sum((s) => s.figures.writesAcknowledged) / n)}`],
    ["writes refused (503)", fmt(sum((s) => s.figures.writesFailed))],
    ["acknowledged writes whose every copy the faults destroyed (beyond N-W)", fmt(sum((s) => s.figures.writesDestroyedByFaults))],
    ["reads checked", fmt(sum((s) => s.figures.readsChecked))],
    ["reads failed (unavailable)", fmt(sum((s) => s.figures.readsFailed))],
    ["listings checked (failed)", `${fmt(sum((s) => s.figures.listingsChecked ?? 0))} (${fmt(sum((s) => s.figures.listingsFailed ?? 0))})`],
    ["buckets created / deleted (DeleteBucket refused not empty; PUTs refused NoSuchBucket; leftovers read)", `${fmt(sum((s) => s.figures.bucketsCreated ?? 0))} / ${fmt(sum((s) => s.figures.bucketsDeleted ?? 0))} (${fmt(sum((s) => s.figures.bucketDeletesRefusedNotEmpty ?? 0))}; ${fmt(sum((s) => s.figures.putsRefusedNoSuchBucket ?? 0))}; ${fmt(sum((s) => s.figures.bucketLeftoversSeen ?? 0))})`],
    ["read repair copies verified (failed)", `${fmt(sum((s) => s.figures.readRepairsVerified ?? 0))} (${fmt(sum((s) => s.figures.readRepairsFailed ?? 0))})`],
    ["multipart uploads completed / aborted (parts read back)", `${fmt(sum((s) => s.figures.uploadsCompleted ?? 0))} / ${fmt(sum((s) => s.figures.uploadsAborted ?? 0))} (${fmt(sum((s) => s.figures.partsReadBack ?? 0))})`],
    ["faults injected", fmt(sum((s) => s.figures.faultsInjected))],
    ["simulated time per seed (mean, s)", fmt(sum((s) => s.figures.simulatedMs) / n / 1000, 1)],
    ["time to full replication after the last fault (p50 / p99 / max, s)", repl.length ? `${fmt(quantile(repl, 0.5) / 1000, 1)} / ${fmt(quantile(repl, 0.99) / 1000, 1)} / ${fmt(repl[repl.length - 1]! / 1000, 1)}` : "n/a"],
    ["events per seed (mean)", fmt(sum((s) => s.figures.events) / n)],
    ["simulated events per second (mean)", fmt(sum((s) => s.figures.eventsPerSecond) / n)],
    ["wall time per seed (p50 / max, ms)", `${fmt(quantile(wall, 0.5))} / ${fmt(wall[wall.length - 1] ?? 0)}`],
  ];
  return ["| figure | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}

/** Minimum live replica count over simulated time: per-seed minimum across all seeds, and the first seed's line, with its faults marked. */
export function replicaChart(summaries: readonly SeedSummary[], title: string): string {
  const width = 900;
  const height = 320;
  const left = 50;
  const right = 20;
  const top = 30;
  const bottom = 40;
  const first = summaries[0];
  const maxT = Math.max(1, ...summaries.flatMap((s) => s.series.map((p) => p.atMs)));
  const maxY = Math.max(3, ...summaries.flatMap((s) => s.series.map((p) => p.minReplicas)));
  const x = (t: number): number => left + ((width - left - right) * t) / maxT;
  const y = (v: number): number => top + (height - top - bottom) * (1 - v / maxY);
  // Minimum across seeds, by sample index (every seed samples at the same instants).
  const samples = Math.max(0, ...summaries.map((s) => s.series.length));
  const minAcross: { atMs: number; v: number }[] = [];
  for (let i = 0; i < samples; i++) {
    let v = Infinity;
    let at = 0;
    for (const s of summaries) {
      const p = s.series[i];
      if (p) {
        v = Math.min(v, p.minReplicas);
        at = p.atMs;
      }
    }
    if (v !== Infinity) minAcross.push({ atMs: at, v });
  }
  const path = (points: readonly { atMs: number; v: number }[]): string =>
    points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.atMs).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${left}" y="18" font-size="13">${escapeXml(title)}</text>`);
  for (let v = 0; v <= maxY; v++) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  const stepS = Math.max(60, Math.ceil(maxT / 1000 / 10 / 60) * 60);
  for (let s = 0; s * 1000 <= maxT; s += stepS) {
    parts.push(`<line x1="${x(s * 1000)}" x2="${x(s * 1000)}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x(s * 1000)}" y="${height - bottom + 14}" text-anchor="middle">${s / 60} min</text>`);
  }
  if (first) {
    for (const f of first.faultMarks) {
      const color = f.label.startsWith("restart") || f.label.startsWith("heal") ? "#2a9d8f" : "#e76f51";
      parts.push(`<line x1="${x(f.atMs).toFixed(1)}" x2="${x(f.atMs).toFixed(1)}" y1="${top}" y2="${height - bottom}" stroke="${color}" stroke-opacity="0.5"><title>${escapeXml(`${(f.atMs / 1000).toFixed(1)} s: ${f.label}`)}</title></line>`);
    }
    parts.push(`<path d="${path(first.series.map((p) => ({ atMs: p.atMs, v: p.minReplicas })))}" fill="none" stroke="#264653" stroke-width="1.5"/>`);
  }
  if (summaries.length > 1) parts.push(`<path d="${path(minAcross)}" fill="none" stroke="#e9c46a" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  const legendY = height - 10;
  parts.push(`<text x="${left}" y="${legendY}">solid: seed ${first?.seed ?? "-"} (red lines: its faults, green: restarts/heals); dashed: minimum over all ${summaries.length} seeds; y: live copies of the newest acknowledged version, minimum over keys</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function writeReport(dir: string, scenarioPath: string, summaries: readonly SeedSummary[], meta: { wallMs: number; workers: number; seedsLabel: string; bug?: string; description?: string; profile?: string }): string {
  mkdirSync(dir, { recursive: true });
  const name = summaries[0]?.scenario ?? "scenario";
  const svgName = `${name}.svg`;
  writeFileSync(join(dir, svgName), replicaChart(summaries, `${name}: minimum live replicas over simulated time`));
  const failed = summaries.filter((s) => !s.ok);
  const lines = [
    `# Simulator report: ${name}`,
    "",
    meta.description ? `${meta.description}\n` : "",
    `Command: \`npx tsx sim/cli.ts ${scenarioPath} --seeds ${meta.seedsLabel}${profileFlag(meta.profile)}${meta.bug ? ` --bug ${meta.bug}` : ""}\` — ${meta.workers} worker process(es), ${fmt(meta.wallMs / 1000, 1)} s wall.`,
    "",
    summaryTable(summaries),
    "",
    failed.length === 0
      ? "All seeds passed."
      : ["## Failing seeds", "", ...failed.map((s) => `- seed ${s.seed}: ${s.violations[0]?.what.split("\n")[0] ?? "?"}\n  replay: \`${replayCommand(scenarioPath, s.seed, meta.bug, meta.profile)}\``)].join("\n"),
    "",
    `![minimum replica count](${svgName})`,
    "",
  ];
  const path = join(dir, `${name}.md`);
  writeFileSync(path, lines.join("\n"));
  return path;
}
