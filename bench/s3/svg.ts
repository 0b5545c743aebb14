// Two charts of a run, written as plain SVG (no library, nothing fetched at runtime):
//   throughput: a panel per object size, bars per workload, one colour per target (MiB/s, linear);
//   latency:    a panel per object size, a line per target and workload, latency (ms, log scale) against
//               the percentile on a "nines" axis (50, 90, 99, 99.9, 99.99, max), as HDR plots draw it.
import type { Summary } from "./figures.ts";
import { formatBytes } from "./options.ts";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const DASHES: Record<string, string> = { put: "", get: "6 3", mixed: "2 2", ranged: "8 2 2 2" };
const PANEL_WIDTH = 360;
const PANEL_HEIGHT = 240;
const MARGIN = { left: 60, right: 16, top: 34, bottom: 46 };

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x: number, y: number, body: string, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(body)}</text>`;

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function frame(panels: string[], columns: number, title: string, legend: string): string {
  const rows = Math.ceil(panels.length / columns);
  const width = columns * (PANEL_WIDTH + MARGIN.left + MARGIN.right);
  const height = rows * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + 60;
  const placed = panels.map((p, i) => `<g transform="translate(${(i % columns) * (PANEL_WIDTH + MARGIN.left + MARGIN.right) + MARGIN.left},${Math.floor(i / columns) * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + MARGIN.top + 30})">${p}</g>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>${text(10, 18, title, 'font-size="14" font-weight="bold"')}${legend}${placed.join("")}</svg>\n`;
}

function legendOf(entries: readonly { label: string; colour: string; dash?: string }[], y: number): string {
  return entries
    .map((e, i) => {
      const x = 10 + i * 150;
      return `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${e.colour}" stroke-width="6"${e.dash ? ` stroke-dasharray="${e.dash}"` : ""}/>${text(x + 30, y + 4, e.label)}`;
    })
    .join("");
}

export function throughputSvg(summaries: readonly Summary[], targets: readonly string[]): string {
  const speed = summaries.filter((s) => s.job.purpose === "speed");
  const sizes = [...new Set(speed.map((s) => s.job.sizeBytes))].sort((a, b) => a - b);
  const colour = (t: string) => COLOURS[targets.indexOf(t) % COLOURS.length]!;
  const panels = sizes.map((size) => {
    const here = speed.filter((s) => s.job.sizeBytes === size);
    const workloads = [...new Set(here.map((s) => `${s.job.workload} c${s.job.concurrency}`))];
    const yMax = niceMax(Math.max(...here.map((s) => s.mibPerSecond)));
    const groupWidth = PANEL_WIDTH / workloads.length;
    const barWidth = (groupWidth * 0.8) / targets.length;
    const parts: string[] = [text(PANEL_WIDTH / 2, -10, `${formatBytes(size)} objects: MiB/s`, 'text-anchor="middle" font-weight="bold"')];
    for (let i = 0; i <= 4; i++) {
      const y = PANEL_HEIGHT - (i / 4) * PANEL_HEIGHT;
      parts.push(`<line x1="0" y1="${y}" x2="${PANEL_WIDTH}" y2="${y}" stroke="#ddd"/>`, text(-6, y + 4, String(Number(((yMax * i) / 4).toPrecision(3))), 'text-anchor="end"'));
    }
    workloads.forEach((w, g) => {
      parts.push(text(g * groupWidth + groupWidth / 2, PANEL_HEIGHT + 16, w, 'text-anchor="middle"'));
      targets.forEach((t, k) => {
        const s = here.find((h) => h.target === t && `${h.job.workload} c${h.job.concurrency}` === w);
        if (s === undefined) return;
        const h = (s.mibPerSecond / yMax) * PANEL_HEIGHT;
        const x = g * groupWidth + groupWidth * 0.1 + k * barWidth;
        parts.push(`<rect x="${x.toFixed(1)}" y="${(PANEL_HEIGHT - h).toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour(t)}"><title>${escape(`${t} ${w}: ${s.mibPerSecond.toFixed(1)} MiB/s, ${s.opsPerSecond.toFixed(0)} ops/s`)}</title></rect>`);
      });
    });
    parts.push(`<line x1="0" y1="${PANEL_HEIGHT}" x2="${PANEL_WIDTH}" y2="${PANEL_HEIGHT}" stroke="black"/>`);
    return parts.join("");
  });
  return frame(panels, Math.min(3, Math.max(1, panels.length)), "Throughput per object size", legendOf(targets.map((t) => ({ label: t, colour: colour(t) })), 34));
}

/** The "nines" of a percentile: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 …; the maximum one step past 99.99. */
const ninesOf = (percentile: number) => (percentile >= 100 ? 4.5 : -Math.log10(1 - percentile / 100));
const NINES_TICKS = [[50, "p50"], [90, "p90"], [99, "p99"], [99.9, "p99.9"], [99.99, "p99.99"], [100, "max"]] as const;

export function latencySvg(summaries: readonly Summary[], targets: readonly string[]): string {
  const speed = summaries.filter((s) => s.job.purpose === "speed" && s.ops > 0);
  const sizes = [...new Set(speed.map((s) => s.job.sizeBytes))].sort((a, b) => a - b);
  const colour = (t: string) => COLOURS[targets.indexOf(t) % COLOURS.length]!;
  const xOf = (p: number) => (ninesOf(p) / 4.5) * PANEL_WIDTH;
  const panels = sizes.map((size) => {
    const here = speed.filter((s) => s.job.sizeBytes === size);
    const all = here.flatMap((s) => s.latency.distribution.map(([, ms]) => Math.max(ms, 0.001)));
    const lo = Math.floor(Math.log10(Math.min(...all)));
    const hi = Math.ceil(Math.log10(Math.max(...all)) + 1e-9);
    const span = Math.max(1, hi - lo);
    const yOf = (ms: number) => PANEL_HEIGHT - ((Math.log10(Math.max(ms, 0.001)) - lo) / span) * PANEL_HEIGHT;
    const parts: string[] = [text(PANEL_WIDTH / 2, -10, `${formatBytes(size)} objects: latency (ms)`, 'text-anchor="middle" font-weight="bold"')];
    for (let e = lo; e <= lo + span; e++) parts.push(`<line x1="0" y1="${yOf(10 ** e)}" x2="${PANEL_WIDTH}" y2="${yOf(10 ** e)}" stroke="#ddd"/>`, text(-6, yOf(10 ** e) + 4, String(10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)), 'text-anchor="end"'));
    for (const [p, name] of NINES_TICKS) parts.push(`<line x1="${xOf(p)}" y1="0" x2="${xOf(p)}" y2="${PANEL_HEIGHT}" stroke="#eee"/>`, text(xOf(p), PANEL_HEIGHT + 16, name, 'text-anchor="middle"'));
    for (const s of here) {
      const points = s.latency.distribution.filter(([p]) => p >= 50).map(([p, ms]) => `${xOf(p).toFixed(1)},${yOf(ms).toFixed(1)}`);
      const dash = DASHES[s.job.workload] ?? "";
      parts.push(`<polyline fill="none" stroke="${colour(s.target)}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${points.join(" ")}"><title>${escape(`${s.target} ${s.job.workload} c${s.job.concurrency}`)}</title></polyline>`);
    }
    parts.push(`<rect x="0" y="0" width="${PANEL_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="black"/>`);
    return parts.join("");
  });
  const workloads = [...new Set(speed.map((s) => s.job.workload))];
  const legend = legendOf([...targets.map((t) => ({ label: t, colour: colour(t) })), ...workloads.map((w) => ({ label: w, colour: "#555", dash: DASHES[w] ?? "" }))], 34);
  return frame(panels, Math.min(3, Math.max(1, panels.length)), "Latency distribution per object size (percentile → ms, log)", legend);
}
