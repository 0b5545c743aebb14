// `npm run bench -- s3 [options]`: S3 load, measured the way users measure object stores — throughput and
// latency percentiles per object size — against a local ringstore cluster (or --endpoint), side by side with
// peers (--vs swift) and this machine's limit (--limit), alternating, in one run. Writes reports/bench/s3.*.
// The load runs in a process of its own (bench/s3/load-process.ts); this process starts and stops the
// endpoints, samples the routers' memory and writes the report. `--help` lists the options.
import { join } from "node:path";
import type { Job } from "./s3/job.ts";
import { LoadProcess } from "./s3/load-runner.ts";
import { progressPrinter } from "./s3/progress.ts";
import { DEFAULT_DURATION_MS, defaultConcurrency, formatBytes, parseS3BenchOptions, type S3BenchOptions, valueFor } from "./s3/options.ts";
import { type BenchTarget, externalEndpoint, limitTarget, residentBytesOf, startLocalRingstore, swiftPeer } from "./s3/peers.ts";
import { type JobSpec, type Measured, sameJob, summarise, type Summary } from "./s3/figures.ts";
import { writeReport, terminalTable } from "./s3/report.ts";
import { runPreload, type PreloadFigures } from "./s3/preload.ts";

const MIB = 1024 * 1024;
const RSS_SAMPLE_EVERY_MS = 200;
/** The router-memory target: 16 concurrent 64 MiB PUTs, then GETs. */
const RSS_JOB = { sizeBytes: 64 * MIB, concurrency: 16, count: 16 } as const;
const READ_SET_BYTES = 512 * MIB;
const READ_SET_OBJECTS_MAX = 64;
const READ_SET_OBJECTS_QUICK = 8;

/** Objects a size's read set holds: enough to spread over the nodes, bounded in bytes and in time to write. */
const readObjectsFor = (size: number, quick: boolean) => (quick ? READ_SET_OBJECTS_QUICK : Math.max(4, Math.min(READ_SET_OBJECTS_MAX, Math.floor(READ_SET_BYTES / size))));

function jobsOf(options: S3BenchOptions): JobSpec[] {
  const jobs: JobSpec[] = [];
  for (const sizeBytes of options.sizes) {
    for (const workload of options.workloads) jobs.push({ workload, sizeBytes, concurrency: valueFor(options.concurrency, sizeBytes, defaultConcurrency), purpose: "speed" });
  }
  if (options.rssCheck) {
    jobs.push({ workload: "put", sizeBytes: RSS_JOB.sizeBytes, concurrency: RSS_JOB.concurrency, purpose: "router-memory" });
    jobs.push({ workload: "get", sizeBytes: RSS_JOB.sizeBytes, concurrency: RSS_JOB.concurrency, purpose: "router-memory" });
  }
  return jobs;
}

const opsText = (perSecond: number) => perSecond.toFixed(perSecond >= 10 ? 0 : 2);
const label = (job: JobSpec) => `${job.workload} ${formatBytes(job.sizeBytes).replace(" ", "")} c${job.concurrency}`;

/** Highest VmRSS of `pids` while `during` runs. */
async function withRssSampling<T>(pids: readonly number[], during: () => Promise<T>): Promise<{ value: T; rssMaxBytes: number | undefined }> {
  if (pids.length === 0) return { value: await during(), rssMaxBytes: undefined };
  let max = 0;
  const sample = () => {
    for (const pid of pids) max = Math.max(max, residentBytesOf(pid) ?? 0);
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_EVERY_MS);
  try {
    const value = await during();
    sample();
    return { value, rssMaxBytes: max };
  } finally {
    clearInterval(timer);
  }
}

export async function main(argv: readonly string[] = []): Promise<void> {
  const options = parseS3BenchOptions(argv, join(import.meta.dirname, "..", "reports", "bench"));
  const startedAt = new Date();
  const runId = `run-${startedAt.getTime().toString(36)}`;
  const targets: BenchTarget[] = [];
  const load = new LoadProcess();
  const measured: Measured[] = [];
  let preload: PreloadFigures | undefined;
  const stopAll = async () => {
    await load.stop();
    for (const t of [...targets].reverse()) await t.stop().catch((error: Error) => console.error(`stopping ${t.name}: ${error.message}`));
  };
  process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  try {
    // Started together (they are independent), kept in this order: subject, peers, limit.
    if (options.endpoint === undefined) console.error(`starting the local cluster on 127.0.0.1:${options.port} …`);
    const starting = [
      options.endpoint !== undefined ? Promise.resolve(externalEndpoint(options.endpoint, options.accessKey!, options.secretKey!, options.bucket, options.region)) : startLocalRingstore(options.port, options.bucket, options.region),
      ...options.vs.map(async () => swiftPeer(options.bucket)),
      ...(options.limit ? [limitTarget(options.port + 200, options.bucket)] : []),
    ];
    const results = await Promise.allSettled(starting);
    for (const r of results) if (r.status === "fulfilled") targets.push(r.value);
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;

    const jobs = jobsOf(options);
    const progress = progressPrinter();
    const total = jobs.reduce((n, job) => n + options.rounds * (job.purpose === "speed" ? targets.length : 1), 0);
    let index = 0;
    for (let round = 0; round < options.rounds; round++) {
      for (const spec of jobs) {
        // Alternate who goes first, round after round, so a drift in the machine's load favours nobody.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          if (spec.purpose === "router-memory" && target.routerPids.length === 0) continue;
          index++;
          const stop = spec.purpose === "router-memory" ? { count: RSS_JOB.count } : options.count !== undefined ? { count: valueFor(options.count, spec.sizeBytes, () => 100) } : { durationMs: valueFor(options.duration, spec.sizeBytes, () => DEFAULT_DURATION_MS) };
          const job: Job = {
            ...spec,
            stop,
            keyPrefix: `${runId}/${spec.workload}-${spec.sizeBytes}-c${spec.concurrency}`,
            readPrefix: `${runId}/read-${spec.sizeBytes}`,
            readObjects: readObjectsFor(spec.sizeBytes, options.quick),
            rangeBytes: options.rangeBytes,
            mixedGetFraction: options.mixedGetFraction,
          };
          const head = `[${index}/${total}] ${target.name.padEnd(9)} ${label(spec).padEnd(16)}`;
          const { value: figures, rssMaxBytes } = await withRssSampling(target.routerPids, () =>
            load.run(target, job, (p) => {
              const seconds = p.elapsedMs / 1000;
              const rate = seconds > 0 ? p.bytes / MIB / seconds : 0;
              progress.update(p.phase === "prepare" ? `${head} writing objects to read: ${p.ops}/${job.readObjects}` : `${head} ${seconds.toFixed(1)}s  ${rate.toFixed(1)} MiB/s  ${opsText(p.ops / Math.max(seconds, 1e-9))} ops/s  ${p.errors} errors`);
            }),
          );
          const seconds = figures.elapsedMs / 1000;
          progress.done(`${head} ${(figures.bytes / MIB / seconds).toFixed(1)} MiB/s  ${opsText(figures.ops / seconds)} ops/s  ${figures.errors} errors${rssMaxBytes !== undefined ? `  router RSS ≤ ${(rssMaxBytes / MIB).toFixed(0)} MiB` : ""}`);
          measured.push({ target: target.name, job: spec, round, figures, routerRssMaxBytes: rssMaxBytes });
        }
      }
    }
    if (options.preload.length > 0) preload = await runPreload(load, targets[0]!, options.preload, options.quick, progress);
  } finally {
    await stopAll();
  }

  const summaries: Summary[] = [];
  for (const m of measured) {
    if (summaries.some((s) => s.target === m.target && sameJob(s.job, m.job))) continue;
    summaries.push(summarise(measured.filter((o) => o.target === m.target && sameJob(o.job, m.job))));
  }
  const files = writeReport(options.out, { startedAt, options, argv, targets: targets.map((t) => ({ name: t.name, role: t.role, description: t.description })), summaries, preload });
  console.log(terminalTable(summaries, targets.map((t) => ({ name: t.name, role: t.role }))));
  if (preload !== undefined) console.log(`${preload.markdown.join("\n")}\n`);
  console.log(`report: ${files.join(", ")}`);
  const errors = summaries.reduce((n, s) => n + s.errors, 0) + (preload?.errors ?? 0);
  if (errors > 0) {
    console.error(`${errors} operations failed; first: ${[...summaries.flatMap((s) => s.errorSamples), ...(preload?.errorSamples ?? [])][0]}`);
    process.exitCode = 1;
  }
}
