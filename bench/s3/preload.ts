// Metadata scale (issue 11, item 4): a bucket filled to each of the given object counts in turn, and at each
// level the latency of 4 KiB PUTs, HEADs of random keys among all the objects, 4 KiB GETs, and listing speed,
// so that how the cost grows with the bucket shows. The fill goes through the S3 API (0-byte PUTs, many at
// a time), the same path a client takes; it is the slow part, and says its rate.
import * as hdr from "hdr-histogram-js";
import type { ScaleFigures, TimedFigures } from "./job.ts";
import type { LoadProcess } from "./load-runner.ts";
import type { BenchTarget } from "./peers.ts";
import type { ProgressPrinter } from "./progress.ts";

const FILL_CONCURRENCY = 64;
const PROBE_CONCURRENCY = 4;
const PROBE_OPS = { full: 200, quick: 40 } as const;
const LIST_PAGES_MAX = { full: 20, quick: 2 } as const;
/** The 1,000,000-object target: 4 KiB GET and HEAD latency within this factor of its value at 10,000. */
const GROWTH_ALLOWED = 1.2;

export interface PreloadFigures {
  readonly markdown: readonly string[];
  readonly json: unknown;
  readonly errors: number;
  readonly errorSamples: readonly string[];
}

interface Percentiles {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentilesOf(figures: TimedFigures): Percentiles {
  const h = hdr.decodeFromCompressedBase64(figures.histogram);
  return { p50Ms: h.getValueAtPercentile(50) / 1000, p99Ms: h.getValueAtPercentile(99) / 1000 };
}

export async function runPreload(load: LoadProcess, subject: BenchTarget, counts: readonly number[], quick: boolean, progress: ProgressPrinter): Promise<PreloadFigures> {
  const levels = [...new Set(counts)].sort((a, b) => a - b);
  const target = { ...subject.target, bucket: `${subject.target.bucket}-scale` };
  const results: ScaleFigures[] = [];
  let filled = 0;
  for (const level of levels) {
    const head = `[scale ${level.toLocaleString("en")}] ${subject.name}`;
    const figures = await load.scale(target, { fillFrom: filled, fillTo: level, fillConcurrency: FILL_CONCURRENCY, probeConcurrency: PROBE_CONCURRENCY, probeOps: quick ? PROBE_OPS.quick : PROBE_OPS.full, listPagesMax: quick ? LIST_PAGES_MAX.quick : LIST_PAGES_MAX.full }, (p) =>
      progress.update(`${head} filling: ${p.ops.toLocaleString("en")}/${level.toLocaleString("en")} objects, ${(((p.ops - filled) / p.elapsedMs) * 1000).toFixed(0)} PUT/s, ${p.errors} errors`),
    );
    filled = level;
    results.push(figures);
    const rate = (figures.fill.ops / figures.fill.elapsedMs) * 1000;
    progress.done(`${head} filled at ${Number.isFinite(rate) ? rate.toFixed(0) : "-"} PUT/s; HEAD p50 ${percentilesOf(figures.head).p50Ms.toFixed(1)} ms, GET p50 ${percentilesOf(figures.get).p50Ms.toFixed(1)} ms, list ${((figures.list.keys / figures.list.elapsedMs) * 1000).toFixed(0)} keys/s`);
  }

  const rows = results.map((r) => {
    const [put, headP, get, list] = [r.put, r.head, r.get, r.list].map(percentilesOf) as [Percentiles, Percentiles, Percentiles, Percentiles];
    const errors = r.fill.errors + r.put.errors + r.head.errors + r.get.errors + r.list.errors;
    const fillRate = r.fill.elapsedMs > 0 ? (r.fill.ops / r.fill.elapsedMs) * 1000 : 0;
    return { objects: r.objects, fillPutsPerSecond: fillRate, put, head: headP, get, list, listKeysPerSecond: (r.list.keys / r.list.elapsedMs) * 1000, listKeys: r.list.keys, errors, errorSamples: [r.fill, r.put, r.head, r.get, r.list].flatMap((f) => f.errorSamples).slice(0, 3) };
  });
  const f = (n: number) => n.toFixed(2);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const growth = (pick: (r: (typeof rows)[number]) => Percentiles) => (rows.length > 1 ? `${f(pick(last).p50Ms / pick(first).p50Ms)} × (p50), ${f(pick(last).p99Ms / pick(first).p99Ms)} × (p99)` : "one level only");
  const million = rows.find((r) => r.objects >= 1_000_000);
  const markdown = [
    "## Metadata scale",
    "",
    `A bucket filled through the S3 API (0-byte PUTs, ${FILL_CONCURRENCY} at a time) to each count in turn; at each: ${quick ? PROBE_OPS.quick : PROBE_OPS.full} 4 KiB PUTs, HEADs of random keys among all objects, and 4 KiB GETs, ${PROBE_CONCURRENCY} at a time; then ListObjectsV2 pages of 1000 keys from the start (at most ${quick ? LIST_PAGES_MAX.quick : LIST_PAGES_MAX.full} pages).`,
    "",
    "| objects | fill PUT/s | PUT p50 / p99 ms | HEAD p50 / p99 ms | GET p50 / p99 ms | list page p50 / p99 ms | list keys/s | errors |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.objects.toLocaleString("en")} | ${r.fillPutsPerSecond.toFixed(0)} | ${f(r.put.p50Ms)} / ${f(r.put.p99Ms)} | ${f(r.head.p50Ms)} / ${f(r.head.p99Ms)} | ${f(r.get.p50Ms)} / ${f(r.get.p99Ms)} | ${f(r.list.p50Ms)} / ${f(r.list.p99Ms)} | ${r.listKeysPerSecond.toFixed(0)} | ${r.errors} |`),
    "",
    `Growth from ${first.objects.toLocaleString("en")} to ${last.objects.toLocaleString("en")} objects: HEAD ${growth((r) => r.head)}; GET ${growth((r) => r.get)}; PUT ${growth((r) => r.put)}.`,
    million === undefined
      ? `Target (1,000,000 objects: 4 KiB GET and HEAD within ${GROWTH_ALLOWED} × their value at 10,000): not measured; this run went to ${last.objects.toLocaleString("en")} objects, filled at ${last.fillPutsPerSecond.toFixed(0)} PUT/s.`
      : `Target (1,000,000 objects: 4 KiB GET and HEAD within ${GROWTH_ALLOWED} × their value at 10,000): HEAD ${f(million.head.p50Ms / first.head.p50Ms)} ×, GET ${f(million.get.p50Ms / first.get.p50Ms)} × (p50, against ${first.objects.toLocaleString("en")}).`,
  ];
  return { markdown, json: rows, errors: rows.reduce((n, r) => n + r.errors, 0), errorSamples: rows.flatMap((r) => r.errorSamples) };
}
