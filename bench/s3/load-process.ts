// The load generator's own process (forked by bench/s3.ts): runs one job at a time against one S3 endpoint
// and answers with its figures. Being a process of its own, its CPU is its own (process.cpuUsage) and it
// competes with the servers only as any client would.
// Guarantees: every operation is timed into an HDR histogram (µs); an error is counted, never retried.
import * as hdr from "hdr-histogram-js";
import { S3LoadClient, type OperationResult } from "./client.ts";
import type { FromLoad, Job, JobFigures, KindFigures, OperationKind, ScaleFigures, ScaleJob, TimedFigures, ToLoad } from "./job.ts";
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

/** `count` operations, `concurrency` at a time, each timed. */
async function timed(concurrency: number, count: number, op: (n: number) => Promise<OperationResult>): Promise<TimedFigures> {
  const histogram = newHistogram();
  let next = 0;
  let ops = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const n = next++;
        const t0 = performance.now();
        const result = await op(n);
        if (result.ok) {
          histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          ops++;
        } else {
          errors++;
          if (errorSamples.length < ERROR_SAMPLES_MAX) errorSamples.push(result.error);
        }
      }
    }),
  );
  return { ops, errors, errorSamples, elapsedMs: performance.now() - started, histogram: hdr.encodeIntoCompressedBase64(histogram) };
}

const PROBE_BYTES = 4096;
const LIST_PAGE_KEYS = 1000;
const fillKey = (n: number) => `fill/${String(n).padStart(9, "0")}`;

async function scale(target: Target, job: ScaleJob): Promise<ScaleFigures> {
  const client = clientFor(target, Math.max(job.fillConcurrency, job.probeConcurrency));
  const created = await client.createBucket();
  if (!created.ok) throw new Error(created.error);
  const started = performance.now();
  let filled = 0;
  let fillErrors = 0;
  const timer = setInterval(() => send({ type: "progress", phase: "prepare", ops: job.fillFrom + filled, bytes: 0, errors: fillErrors, elapsedMs: performance.now() - started }), PROGRESS_EVERY_MS);
  let fill: TimedFigures;
  try {
    fill = await timed(job.fillConcurrency, job.fillTo - job.fillFrom, async (n) => {
      const result = await client.put(fillKey(job.fillFrom + n), 0);
      if (result.ok) filled++;
      else fillErrors++;
      return result;
    });
  } finally {
    clearInterval(timer);
  }
  const level = job.fillTo;
  const put = await timed(job.probeConcurrency, job.probeOps, (n) => client.put(`probe-${level}/${n}`, PROBE_BYTES));
  const head = await timed(job.probeConcurrency, job.probeOps, () => client.head(fillKey(Math.floor(Math.random() * level))));
  const get = await timed(job.probeConcurrency, job.probeOps, () => client.get(`probe-${level}/${Math.floor(Math.random() * job.probeOps)}`, PROBE_BYTES));
  // Pages until the end or listPagesMax, each timed; a listing is sequential by nature (each page's token).
  const listHistogram = newHistogram();
  const listStarted = performance.now();
  let token: string | undefined;
  let keys = 0;
  let listErrors = 0;
  const listErrorSamples: string[] = [];
  for (let pages = 0; pages < job.listPagesMax && (pages === 0 || token !== undefined); pages++) {
    const t0 = performance.now();
    const page = await client.listPage(LIST_PAGE_KEYS, token);
    if (!page.ok) {
      listErrors++;
      listErrorSamples.push(page.error);
      break;
    }
    listHistogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    keys += page.keys;
    token = page.next;
  }
  const list = { ops: listHistogram.totalCount, errors: listErrors, errorSamples: listErrorSamples, elapsedMs: performance.now() - listStarted, histogram: hdr.encodeIntoCompressedBase64(listHistogram), keys };
  return { objects: level, fill: { ops: fill.ops, errors: fill.errors, elapsedMs: fill.elapsedMs, errorSamples: fill.errorSamples }, put, head, get, list };
}

process.on("message", (message: ToLoad) => {
  if (message.type === "scale") {
    scale(message.target, message.job).then(
      (figures) => send({ type: "scaled", figures }),
      (error: Error) => send({ type: "failed", error: error.message }),
    );
    return;
  }
  if (message.type === "exit") {
    void Promise.all([...clients.values()].map((c) => c.close())).finally(() => process.exit(0));
    return;
  }
  run(message.target, message.job).then(
    (figures) => send({ type: "done", figures }),
    (error: Error) => send({ type: "failed", error: error.message }),
  );
});
