// The command line of `npm run bench -- s3`: sizes, durations and concurrencies, each either one value or a
// list of size:value pairs, so one run can hold 64 MiB at c4 for 20 s and 4 KiB at c32 for 10 s.
import { Command, InvalidArgumentError, Option } from "commander";
import { WORKLOADS, type Workload } from "./job.ts";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a size (e.g. 4k, 1m, 64m)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1) throw new InvalidArgumentError(`size ${text} must be at least 1 byte`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  for (const [unit, factor] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a duration (e.g. 500ms, 10s, 2m)`);
  const factor = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1000;
  return Number(match[1]) * factor;
}

/** "32" (every size) or "4k:32,64m:4" (per size; a size left out falls back to `fallback(size)`). */
export interface PerSize<T> {
  readonly bySize: ReadonlyMap<number, T>;
  readonly all: T | undefined;
}

function perSize<T>(parse: (text: string) => T): (text: string) => PerSize<T> {
  return (text) => {
    if (!text.includes(":")) return { bySize: new Map(), all: parse(text) };
    const bySize = new Map<number, T>();
    for (const part of text.split(",")) {
      const [size, value] = part.split(":");
      if (size === undefined || value === undefined) throw new InvalidArgumentError(`${JSON.stringify(part)} is not size:value`);
      bySize.set(parseBytes(size), parse(value));
    }
    return { bySize, all: undefined };
  };
}

export function valueFor<T>(setting: PerSize<T> | undefined, size: number, fallback: (size: number) => T): T {
  return setting?.bySize.get(size) ?? setting?.all ?? fallback(size);
}

const positiveInteger = (what: string) => (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

export interface S3BenchOptions {
  readonly workloads: readonly Workload[];
  readonly sizes: readonly number[];
  readonly concurrency: PerSize<number> | undefined;
  readonly duration: PerSize<number> | undefined;
  readonly count: PerSize<number> | undefined;
  readonly rounds: number;
  readonly endpoint: string | undefined;
  readonly accessKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly region: string;
  readonly bucket: string;
  readonly vs: readonly string[];
  readonly limit: boolean;
  readonly rssCheck: boolean;
  readonly quick: boolean;
  readonly port: number;
  readonly out: string;
  readonly rangeBytes: number;
  readonly mixedGetFraction: number;
  readonly preload: readonly number[];
}

export const QUICK = { workloads: WORKLOADS, sizes: [4096, 256 * 1024], concurrency: 4, durationMs: 400 } as const;

export function parseS3BenchOptions(argv: readonly string[], defaultOut: string): S3BenchOptions {
  const program = new Command("bench s3")
    .description("S3 load: throughput and latency percentiles per object size, side by side with peers and the machine's limit")
    .option("--workloads <list>", `comma-separated, of ${WORKLOADS.join(", ")}`, (text: string) => {
      const list = text.split(",").map((w) => w.trim());
      for (const w of list) if (!(WORKLOADS as readonly string[]).includes(w)) throw new InvalidArgumentError(`unknown workload ${w}`);
      return list as Workload[];
    })
    .option("--sizes <list>", "object sizes, e.g. 4k,1m,64m", (text: string) => text.split(",").map(parseBytes))
    .option("--concurrency <n|size:n,...>", "requests in flight (default 32 up to 64 KiB, 8 up to 4 MiB, 4 above)", perSize(positiveInteger("--concurrency")))
    .option("--duration <t|size:t,...>", "how long each workload runs (default 10s)", perSize(parseDurationMs))
    .option("--count <n|size:n,...>", "operations per workload instead of a duration", perSize(positiveInteger("--count")))
    .option("--rounds <n>", "repeat every workload, alternating the targets' order", positiveInteger("--rounds"), 1)
    .option("--endpoint <url>", "measure this S3 endpoint instead of starting a local cluster")
    .option("--access-key <id>", "with --endpoint")
    .option("--secret-key <secret>", "with --endpoint")
    .option("--region <name>", "SigV4 region", "us-east-1")
    .option("--bucket <name>", "bucket to use (created when missing)", "bench")
    .option("--vs <peer>", "also measure a peer, alternating: swift (started with /work/shared/swift/up.sh when not running)", (v: string, all: string[] = []) => [...all, v])
    .option("--limit", "also measure the bare plain-Node pipeline (bench/limit/) and print each figure as a fraction of it")
    .option("--no-rss-check", "skip the router-memory workload (16 concurrent 64 MiB PUTs, then GETs)")
    .option("--quick", "a few seconds in all: small sizes, short workloads (what CI runs)")
    .option("--port <port>", "the local cluster's S3 port (its router; nodes on the next ports) and, from +200, the limit pipeline's", positiveInteger("--port"), 24000)
    .option("--out <dir>", "where the report goes", defaultOut)
    .option("--range-bytes <size>", "bytes a ranged GET reads (at most the object)", parseBytes, 1024 * 1024)
    .option("--mixed-get-fraction <f>", "share of GETs in the mixed workload", Number, 0.7)
    .addOption(new Option("--preload <list>", "metadata scale: fill a bucket to these object counts (e.g. 10000,100000) and measure PUT/HEAD/GET latency and listing at each (alone unless --workloads is given)").argParser((text: string) => text.split(",").map(positiveInteger("--preload"))))
    .parse(["node", "bench", ...argv]);
  const o = program.opts();
  if (o.endpoint !== undefined && (o.accessKey === undefined || o.secretKey === undefined)) program.error("--endpoint needs --access-key and --secret-key");
  if (o.duration !== undefined && o.count !== undefined) program.error("--duration and --count exclude each other");
  for (const peer of o.vs ?? []) if (peer !== "swift") program.error(`unknown peer ${peer} (known: swift)`);
  const quick = o.quick === true;
  // --preload alone measures metadata scale only; with --workloads, both.
  const scaleOnly = o.preload !== undefined && o.workloads === undefined;
  return {
    workloads: o.workloads ?? (scaleOnly ? [] : quick ? QUICK.workloads : WORKLOADS),
    sizes: o.sizes ?? (quick ? QUICK.sizes : [4096, 1024 ** 2, 64 * 1024 ** 2]),
    concurrency: o.concurrency ?? (quick ? { bySize: new Map(), all: QUICK.concurrency } : undefined),
    duration: o.duration ?? (quick && o.count === undefined ? { bySize: new Map(), all: QUICK.durationMs } : undefined),
    count: o.count,
    rounds: o.rounds,
    endpoint: o.endpoint,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
    region: o.region,
    bucket: o.bucket,
    vs: o.vs ?? [],
    limit: o.limit === true,
    rssCheck: o.rssCheck !== false && !quick && !scaleOnly && o.endpoint === undefined,
    quick,
    port: o.port,
    out: o.out,
    rangeBytes: o.rangeBytes,
    mixedGetFraction: o.mixedGetFraction,
    preload: o.preload ?? [],
  };
}

export const defaultConcurrency = (size: number) => (size <= 64 * 1024 ? 32 : size <= 4 * 1024 ** 2 ? 8 : 4);
export const DEFAULT_DURATION_MS = 10_000;
