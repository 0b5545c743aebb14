// The targets (issue 11), each read off one run's figures as a measured ratio or value.
// A target whose workload did not run says so and how to run it, instead of a number.
import type { Summary } from "./figures.ts";
import type { TargetRole } from "./peers.ts";

const MIB = 1024 * 1024;

export interface TargetCheck {
  readonly name: string;
  readonly goal: string;
  /** "0.62 ×", "41.3 ms": what this run measured, or undefined when it did not run the workload. */
  readonly measured: string | undefined;
  readonly met: boolean | undefined;
  readonly howToMeasure: string;
}

interface Roles {
  readonly subject: string;
  readonly limit: string | undefined;
  readonly swift: string | undefined;
}

function find(summaries: readonly Summary[], target: string | undefined, workload: string, sizeBytes: number, concurrency: number, purpose = "speed"): Summary | undefined {
  if (target === undefined) return undefined;
  return summaries.find((s) => s.target === target && s.job.workload === workload && s.job.sizeBytes === sizeBytes && s.job.concurrency === concurrency && s.job.purpose === purpose);
}

function ratio(name: string, goal: number, a: Summary | undefined, b: Summary | undefined, figure: (s: Summary) => number, howToMeasure: string): TargetCheck {
  if (a === undefined || b === undefined || figure(b) === 0) return { name, goal: `≥ ${goal} ×`, measured: undefined, met: undefined, howToMeasure };
  const value = figure(a) / figure(b);
  return { name, goal: `≥ ${goal} ×`, measured: `${value.toFixed(2)} × (${figure(a).toFixed(1)} / ${figure(b).toFixed(1)})`, met: value >= goal, howToMeasure };
}

function below(name: string, goalMs: number, s: Summary | undefined, howToMeasure: string): TargetCheck {
  if (s === undefined) return { name, goal: `< ${goalMs} ms`, measured: undefined, met: undefined, howToMeasure };
  return { name, goal: `< ${goalMs} ms`, measured: `${s.latency.p99Ms.toFixed(1)} ms`, met: s.latency.p99Ms < goalMs, howToMeasure };
}

export function rolesOf(targets: readonly { name: string; role: TargetRole }[]): Roles {
  return {
    subject: targets.find((t) => t.role === "subject")!.name,
    limit: targets.find((t) => t.role === "limit")?.name,
    swift: targets.find((t) => t.name === "swift")?.name,
  };
}

export function checkTargets(summaries: readonly Summary[], roles: Roles): TargetCheck[] {
  const mibps = (s: Summary) => s.mibPerSecond;
  const opsps = (s: Summary) => s.opsPerSecond;
  const big = 64 * MIB;
  const small = 4096;
  const run64 = "--sizes 64m --concurrency 4 --workloads put,get";
  const run4k = "--sizes 4k --concurrency 32 --workloads put,get";
  const rssPut = find(summaries, roles.subject, "put", big, 16, "router-memory");
  const rssGet = find(summaries, roles.subject, "get", big, 16, "router-memory");
  const rss = [rssPut, rssGet].map((s) => s?.routerRssMaxBytes).filter((r) => r !== undefined);
  const rssMax = rss.length === 2 ? Math.max(...rss) : undefined;
  return [
    ratio("PUT 64 MiB c4, MiB/s vs the limit pipeline", 0.8, find(summaries, roles.subject, "put", big, 4), find(summaries, roles.limit, "put", big, 4), mibps, `${run64} --limit`),
    ratio("PUT 64 MiB c4, MiB/s vs Swift", 1.5, find(summaries, roles.subject, "put", big, 4), find(summaries, roles.swift, "put", big, 4), mibps, `${run64} --vs swift`),
    ratio("GET 64 MiB c4, MiB/s vs the limit pipeline", 0.8, find(summaries, roles.subject, "get", big, 4), find(summaries, roles.limit, "get", big, 4), mibps, `${run64} --limit`),
    ratio("PUT 4 KiB c32, ops/s vs the limit small-object pipeline", 0.7, find(summaries, roles.subject, "put", small, 32), find(summaries, roles.limit, "put", small, 32), opsps, `${run4k} --limit`),
    below("PUT 4 KiB c32, p99", 50, find(summaries, roles.subject, "put", small, 32), run4k),
    ratio("GET 4 KiB c32, ops/s vs a bare two-hop HTTP pipeline", 0.5, find(summaries, roles.subject, "get", small, 32), find(summaries, roles.limit, "get", small, 32), opsps, `${run4k} --limit`),
    below("GET 4 KiB c32, p99", 20, find(summaries, roles.subject, "get", small, 32), run4k),
    {
      name: "Router RSS with 16 concurrent 64 MiB PUTs, then GETs",
      goal: "< 200 MiB",
      measured: rssMax === undefined ? undefined : `${(rssMax / MIB).toFixed(0)} MiB (PUT ${(rssPut!.routerRssMaxBytes! / MIB).toFixed(0)}, GET ${(rssGet!.routerRssMaxBytes! / MIB).toFixed(0)})`,
      met: rssMax === undefined ? undefined : rssMax < 200 * MIB,
      howToMeasure: "any run against the local cluster without --quick or --no-rss-check",
    },
  ];
}
