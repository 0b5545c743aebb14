// A deadline that follows a request body's progress: a body with bytes waiting to go out and none taken by the
// receiver for `idleMs` is stalled (the receiver hangs: SIGSTOPped, swapped out, its disk stuck), so the
// request is cut then, in seconds, and not after a fixed total time that a healthy 5 GiB upload must exceed.
// Guarantees: a body whose sender is slow (nothing waiting) never counts as stalled; `onStall` fires at most
// once, within idleMs + one check interval of the last byte taken; the meter passes every byte on unchanged.
// Assumes: the caller stops the watch when the request settles (stop()).
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { assert } from "../../core/assert.ts";

/**
 * No byte taken for this long while bytes wait = dead. Above the failure detector's 4 s (runtime/liveness.ts),
 * so a replica is cut only when it would soon count as down anyway; well below what a client waits for.
 */
export const REPLICA_PROGRESS_TIMEOUT_MS = Number(process.env.RINGSTORE_REPLICA_PROGRESS_TIMEOUT_MS ?? 5000);

/** Small, so that "the meter took a chunk" lags "the receiver took bytes" by at most this much. */
const METER_HIGH_WATER_BYTES = 64 * 1024;
const CHECK_INTERVAL_MS_MAX = 1000;

export interface ProgressWatch {
  /** The body to send: the same bytes as the source. */
  readonly stream: Readable;
  stop(): void;
}

export function watchProgress(source: Readable, idleMs: number, onStall: (idleMs: number) => void, nowMs: () => number = Date.now): ProgressWatch {
  assert(Number.isFinite(idleMs) && idleMs > 0, () => `progress timeout ${idleMs} ms must be positive`);
  let lastProgressMs = nowMs();
  let fired = false;
  const meter = new Transform({
    highWaterMark: METER_HIGH_WATER_BYTES,
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      lastProgressMs = nowMs();
      callback(null, chunk);
    },
  });
  // The meter holds back its write callback while its readable side is full (the receiver stopped taking
  // bytes); whatever the source writes meanwhile waits in writableLength: that is "bytes waiting".
  const check = () => {
    if (fired || meter.destroyed || meter.writableFinished) return stop();
    const waiting = meter.writableLength > 0 || meter.writableNeedDrain;
    if (!waiting) {
      lastProgressMs = nowMs(); // a slow sender is not a stalled receiver: the clock runs only while bytes wait
      return;
    }
    const idle = nowMs() - lastProgressMs;
    if (idle >= idleMs) {
      fired = true;
      stop();
      onStall(idle);
    }
  };
  const timer = setInterval(check, Math.min(CHECK_INTERVAL_MS_MAX, Math.max(10, Math.floor(idleMs / 4))));
  timer.unref();
  const stop = () => clearInterval(timer);
  source.on("error", (error) => meter.destroy(error));
  meter.once("close", stop);
  source.pipe(meter);
  return { stream: meter, stop };
}
