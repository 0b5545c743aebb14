// What the launcher asks the load process to do, and what it answers: messages over the fork IPC channel.
import type { Target } from "./client.ts";

export const WORKLOADS = ["put", "get", "mixed", "ranged"] as const;
export type Workload = (typeof WORKLOADS)[number];
export type OperationKind = "put" | "get";

export interface Job {
  readonly workload: Workload;
  readonly sizeBytes: number;
  readonly concurrency: number;
  /** Exactly one of the two bounds the job. */
  readonly stop: { readonly durationMs: number } | { readonly count: number };
  /** Keys of this job live under it; reads use `${readPrefix}/0..readObjects-1`, written first when missing. */
  readonly keyPrefix: string;
  readonly readPrefix: string;
  readonly readObjects: number;
  /** A ranged GET reads this many bytes at a random offset. */
  readonly rangeBytes: number;
  /** Share of GETs in the mixed workload. */
  readonly mixedGetFraction: number;
}

/**
 * Metadata scale: fill `target.bucket` with 0-byte objects `fill/<n>` up to `fillTo` (from `fillFrom`, what an
 * earlier scale job left), then time 4 KiB PUTs, HEADs of random filled keys, 4 KiB GETs, and a listing.
 */
export interface ScaleJob {
  readonly fillFrom: number;
  readonly fillTo: number;
  readonly fillConcurrency: number;
  readonly probeConcurrency: number;
  readonly probeOps: number;
  readonly listPagesMax: number;
}

export type ToLoad =
  | { readonly type: "run"; readonly target: Target; readonly job: Job }
  | { readonly type: "scale"; readonly target: Target; readonly job: ScaleJob }
  | { readonly type: "exit" };

export interface KindFigures {
  readonly ops: number;
  readonly bytes: number;
  /** HDR histogram of latencies in microseconds, hdr-histogram-js compressed base64. */
  readonly histogram: string;
}

export interface JobFigures {
  readonly elapsedMs: number;
  readonly ops: number;
  readonly bytes: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** CPU the load process spent during the measured phase (process.cpuUsage), microseconds. */
  readonly clientCpuUserUs: number;
  readonly clientCpuSystemUs: number;
  readonly kinds: Partial<Record<OperationKind, KindFigures>>;
  /** All operations together. */
  readonly histogram: string;
}

export interface TimedFigures {
  readonly ops: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly elapsedMs: number;
  readonly histogram: string;
}

export interface ScaleFigures {
  readonly objects: number;
  readonly fill: { readonly ops: number; readonly errors: number; readonly elapsedMs: number; readonly errorSamples: readonly string[] };
  readonly put: TimedFigures;
  readonly head: TimedFigures;
  readonly get: TimedFigures;
  /** Pages of 1000 keys, each timed. */
  readonly list: TimedFigures & { readonly keys: number };
}

export type FromLoad =
  | { readonly type: "progress"; readonly phase: "prepare" | "measure"; readonly ops: number; readonly bytes: number; readonly errors: number; readonly elapsedMs: number }
  | { readonly type: "done"; readonly figures: JobFigures }
  | { readonly type: "scaled"; readonly figures: ScaleFigures }
  | { readonly type: "failed"; readonly error: string };
