// From what the load process measured to the figures a report prints: rates, percentiles, client CPU,
// and the latency distribution (percentile → ms) a chart draws. Rounds of one job on one target merge.
import * as hdr from "hdr-histogram-js";
import type { JobFigures, OperationKind, Workload } from "./job.ts";

const MIB = 1024 * 1024;
/** Percentiles a latency distribution is drawn at. */
export const DISTRIBUTION_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100] as const;

export interface JobSpec {
  readonly workload: Workload;
  readonly sizeBytes: number;
  readonly concurrency: number;
  /** A workload run for a target rather than for speed (the router-memory check). */
  readonly purpose: "speed" | "router-memory";
}

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly distribution: readonly (readonly [percentile: number, ms: number])[];
}

export interface Summary {
  readonly target: string;
  readonly job: JobSpec;
  readonly rounds: number;
  readonly elapsedMs: number;
  readonly ops: number;
  readonly bytes: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly mibPerSecond: number;
  readonly opsPerSecond: number;
  readonly latency: Latency;
  readonly byKind: Partial<Record<OperationKind, { readonly ops: number; readonly opsPerSecond: number; readonly mibPerSecond: number; readonly latency: Latency }>>;
  /** Client CPU (user + system) per operation, and as a share of one core over the job. */
  readonly clientCpuUsPerOp: number;
  readonly clientCpuCoreShare: number;
  /** Highest resident memory of the target's router processes during the job, when sampled. */
  readonly routerRssMaxBytes: number | undefined;
}

export interface Measured {
  readonly target: string;
  readonly job: JobSpec;
  readonly round: number;
  readonly figures: JobFigures;
  readonly routerRssMaxBytes: number | undefined;
}

function latencyOf(histogram: ReturnType<typeof hdr.decodeFromCompressedBase64>): Latency {
  const ms = (us: number) => us / 1000;
  return {
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
    distribution: DISTRIBUTION_PERCENTILES.map((p) => [p, ms(p === 100 ? histogram.maxValue : histogram.getValueAtPercentile(p))] as const),
  };
}

function merged(encoded: readonly string[]) {
  const [first, ...rest] = encoded.map((e) => hdr.decodeFromCompressedBase64(e));
  for (const h of rest) first!.add(h);
  return first!;
}

/** One line of the table: every round of `job` on `target`, merged. */
export function summarise(rounds: readonly Measured[]): Summary {
  if (rounds.length === 0) throw new Error("nothing to summarise");
  const { target, job } = rounds[0]!;
  const sum = (f: (m: Measured) => number) => rounds.reduce((total, m) => total + f(m), 0);
  const elapsedMs = sum((m) => m.figures.elapsedMs);
  const ops = sum((m) => m.figures.ops);
  const bytes = sum((m) => m.figures.bytes);
  const cpuUs = sum((m) => m.figures.clientCpuUserUs + m.figures.clientCpuSystemUs);
  const seconds = elapsedMs / 1000;
  const byKind: Summary["byKind"] = {};
  for (const kind of ["put", "get"] as const) {
    const parts = rounds.map((m) => m.figures.kinds[kind]).filter((k) => k !== undefined);
    if (parts.length === 0) continue;
    const kindOps = parts.reduce((t, k) => t + k.ops, 0);
    const kindBytes = parts.reduce((t, k) => t + k.bytes, 0);
    byKind[kind] = { ops: kindOps, opsPerSecond: kindOps / seconds, mibPerSecond: kindBytes / MIB / seconds, latency: latencyOf(merged(parts.map((k) => k.histogram))) };
  }
  const rss = rounds.map((m) => m.routerRssMaxBytes).filter((r) => r !== undefined);
  return {
    target,
    job,
    rounds: rounds.length,
    elapsedMs,
    ops,
    bytes,
    errors: sum((m) => m.figures.errors),
    errorSamples: rounds.flatMap((m) => m.figures.errorSamples).slice(0, 5),
    mibPerSecond: bytes / MIB / seconds,
    opsPerSecond: ops / seconds,
    latency: latencyOf(merged(rounds.map((m) => m.figures.histogram))),
    byKind,
    clientCpuUsPerOp: ops > 0 ? cpuUs / ops : 0,
    clientCpuCoreShare: cpuUs / 1000 / elapsedMs,
    routerRssMaxBytes: rss.length > 0 ? Math.max(...rss) : undefined,
  };
}

export const sameJob = (a: JobSpec, b: JobSpec) => a.workload === b.workload && a.sizeBytes === b.sizeBytes && a.concurrency === b.concurrency && a.purpose === b.purpose;
