// The load generator's own process (forked by bench/s3.ts): runs one job at a time against one S3 endpoint
// and answers with its figures. Being a process of its own, its CPU is its own (process.cpuUsage) and it
// competes with the servers only as any client would.
// Guarantees: every operation is timed into an HDR histogram (µs); an error is counted, never retried.
import * as hdr from "hdr-histogram-js";
import { S3LoadClient, type OperationResult } from "./client.ts";
import type { FromLoad, Job, JobFigures, KindFigures, OperationKind, ToLoad } from "./job.ts";
import type { Target } from "./client.ts";

const PROGRESS_EVERY_MS = 500;
const ERROR_SAMPLES_MAX = 5;
/** Each PUT loop cycles over this many keys: a long run overwrites instead of filling the disk. */
const WRITE_KEYS_PER_LOOP = 2;
/** The read set is written at least this many at a time, whatever the job's own concurrency. */
const PREPARE_CONCURRENCY_MIN = 8;
const LATENCY_US_MAX = 10 * 60 * 1_000_000;

const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3 });
type Histogram = ReturnType<typeof newHistogram>;

function send(message: FromLoad): void {
  process.send!(message);
}

/** Read sets already written, by endpoint and prefix: get, mixed and ranged jobs of one size share one. */
const prepared = new Set<string>();
const clients = new Map<string, S3LoadClient>();

function clientFor(target: Target, connections: number): S3LoadClient {
  const key = `${target.endpoint} ${connections}`;
  let client = clients.get(key);
  if (client === undefined) {
    client = new S3LoadClient(target, connections);
    clients.set(key, client);
  }
  return client;
}

async function prepareReads(client: S3LoadClient, target: Target, job: Job): Promise<void> {
  const id = `${target.endpoint} ${target.bucket} ${job.readPrefix}`;
  if (job.workload === "put" || prepared.has(id)) return;
  const created = await client.createBucket();
  if (!created.ok) throw new Error(created.error);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const timer = setInterval(() => send({ type: "progress", phase: "prepare", ops: done, bytes: done * job.sizeBytes, errors: 0, elapsedMs: performance.now() - started }), PROGRESS_EVERY_MS);
  try {
    await Promise.all(
      Array.from({ length: Math.min(Math.max(job.concurrency, PREPARE_CONCURRENCY_MIN), job.readObjects) }, async () => {
        while (next < job.readObjects) {
          const n = next++;
          const result = await client.put(`${job.readPrefix}/${n}`, job.sizeBytes);
          if (!result.ok) throw new Error(`writing the objects to read: ${result.error}`);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(timer);
  }
  prepared.add(id);
}

async function run(target: Target, job: Job): Promise<JobFigures> {
  const client = clientFor(target, job.concurrency);
  const created = await client.createBucket();
  if (!created.ok) throw new Error(created.error);
  await prepareReads(client, target, job);

  const all = newHistogram();
  const byKind: Record<OperationKind, { ops: number; bytes: number; histogram: Histogram | undefined }> = {
    put: { ops: 0, bytes: 0, histogram: undefined },
    get: { ops: 0, bytes: 0, histogram: undefined },
  };
  let errors = 0;
  const errorSamples: string[] = [];
  let issued = 0;
  const stop = job.stop;
  const started = performance.now();
  const deadline = "durationMs" in stop ? started + stop.durationMs : Infinity;
  const more = () => ("count" in stop ? issued < stop.count : performance.now() < deadline);
  const kindOf = (): OperationKind => (job.workload === "put" ? "put" : job.workload === "mixed" ? (Math.random() < job.mixedGetFraction ? "get" : "put") : "get");
  const totals = () => ({ ops: byKind.put.ops + byKind.get.ops, bytes: byKind.put.bytes + byKind.get.bytes });
  const timer = setInterval(() => send({ type: "progress", phase: "measure", ...totals(), errors, elapsedMs: performance.now() - started }), PROGRESS_EVERY_MS);
  const cpuBefore = process.cpuUsage();

  async function loop(loopIndex: number): Promise<void> {
    let writes = 0;
    while (more()) {
      issued++;
      const kind = kindOf();
      const t0 = performance.now();
      let result: OperationResult;
      if (kind === "put") {
        result = await client.put(`${job.keyPrefix}/${loopIndex}-${writes++ % WRITE_KEYS_PER_LOOP}`, job.sizeBytes);
      } else {
        const key = `${job.readPrefix}/${Math.floor(Math.random() * job.readObjects)}`;
        if (job.workload === "ranged") {
          const length = Math.min(job.rangeBytes, job.sizeBytes);
          const first = Math.floor(Math.random() * (job.sizeBytes - length + 1));
          result = await client.get(key, job.sizeBytes, { first, length });
        } else {
          result = await client.get(key, job.sizeBytes);
        }
      }
      const latencyUs = Math.max(1, Math.round((performance.now() - t0) * 1000));
      if (result.ok) {
        const figures = byKind[kind];
        figures.histogram ??= newHistogram();
        figures.histogram.recordValue(latencyUs);
        all.recordValue(latencyUs);
        figures.ops++;
        figures.bytes += result.bytes;
      } else {
        errors++;
        if (errorSamples.length < ERROR_SAMPLES_MAX) errorSamples.push(result.error);
      }
    }
  }

  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => loop(i)));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - started;
  clearInterval(timer);
  const kinds: Partial<Record<OperationKind, KindFigures>> = {};
  for (const kind of ["put", "get"] as const) {
    const figures = byKind[kind];
    if (figures.histogram !== undefined) kinds[kind] = { ops: figures.ops, bytes: figures.bytes, histogram: hdr.encodeIntoCompressedBase64(figures.histogram) };
  }
  return { elapsedMs, ...totals(), errors, errorSamples, clientCpuUserUs: cpu.user, clientCpuSystemUs: cpu.system, kinds, histogram: hdr.encodeIntoCompressedBase64(all) };
}

process.on("message", (message: ToLoad) => {
  if (message.type === "exit") {
    void Promise.all([...clients.values()].map((c) => c.close())).finally(() => process.exit(0));
    return;
  }
  run(message.target, message.job).then(
    (figures) => send({ type: "done", figures }),
    (error: Error) => send({ type: "failed", error: error.message }),
  );
});
