// The scrubber of a storage node and the driver of its corrupt-copy queue: the one loop both worlds run
// (runtime/node/main.ts, sim/core-logic.ts), over the ports; they differ only in the pacing they give it.
// Guarantees:
//   - Steps of core/scrub.ts walk the disk in order; a step that listed B bytes is followed by a pause of
//     B / bytesPerSecond (less the time the step took), never shorter than stepPauseMsMin; a step that ends a
//     walk over the whole disk rests at least passPauseMs; a step that failed waits failurePauseMs.
//   - Every copy a step finds corrupt is logged once (scrub.corrupt-copy) and queued (core/corrupt-copies.ts).
//   - The queue (copies found by steps, by reads, by the store while streaming) is drained before every step,
//     again right after a step that found something, and at least every drainIntervalMs while the scrubber
//     rests: a copy a read reported does not wait for the end of a pass pause.
// Assumes: the host's sleep resolves after about the time asked (virtual time in the simulator); clock.nowMs
// is the repair context's clock.

import { assert } from "./assert.ts";
import type { CorruptCopyQueue, CorruptDrainReport } from "./corrupt-copies.ts";
import type { Log } from "./ports.ts";
import type { NodeLoopHost } from "./repair-loop.ts";
import { type ScrubContext, type ScrubCursor, type ScrubLimits, scrubStep } from "./scrub.ts";

export interface ScrubPacing {
  readonly limits: ScrubLimits;
  /** Bytes re-read per second at most, over a walk. */
  readonly bytesPerSecond: number;
  readonly stepPauseMsMin: number;
  /** The rest after a walk over the whole disk. */
  readonly passPauseMs: number;
  readonly failurePauseMs: number;
  /** The corrupt-copy queue is drained at least this often. */
  readonly drainIntervalMs: number;
}

export function validateScrubPacing(pacing: ScrubPacing): ScrubPacing {
  const { limits, ...pauses } = pacing;
  for (const [name, value] of Object.entries(pauses)) assert(Number.isFinite(value) && value >= 0, () => `scrub pacing ${name} ${value} must be a finite number >= 0`);
  assert(pacing.bytesPerSecond > 0 && pacing.drainIntervalMs > 0, "scrub rate and drain interval must be positive");
  assert(limits.versionsMax > 0 && limits.bytesMax > 0, "scrub limits must be positive");
  return pacing;
}

/** The pause after a step that listed `bytes` and took `elapsedMs`; `walkEnded`: it reached the end of the disk. */
export function pauseAfterStep(pacing: ScrubPacing, step: { readonly bytes: number; readonly elapsedMs: number; readonly walkEnded: boolean }): number {
  const ratePauseMs = (step.bytes / pacing.bytesPerSecond) * 1000 - step.elapsedMs;
  const pause = Math.max(pacing.stepPauseMsMin, ratePauseMs, step.walkEnded ? pacing.passPauseMs : 0);
  assert(Number.isFinite(pause) && pause >= 0, () => `scrub pause ${pause} ms must be finite and >= 0`);
  return pause;
}

export interface ScrubLoopHost<Body> extends NodeLoopHost<Body> {
  /** The store the scrubber reads (the node's own, behind no cache) and how a body is checked. */
  readonly scrub: ScrubContext<Body>;
  /** Copies found corrupt, replaced through `repair` (core/repair.ts repairCorruptCopy). */
  readonly queue: CorruptCopyQueue;
  readonly pacing: ScrubPacing;
  readonly log: Log;
  /** A step's figures, for the host's metrics; `passChecked` counts the pass so far, this step included. */
  onStep?(step: { readonly checked: number; readonly bytes: number; readonly corruptQueued: number; readonly passChecked: number; readonly walkEnded: boolean }): void;
  /** What a drain of the queue did, for the host's metrics. */
  onDrained?(report: CorruptDrainReport): void;
}

/** Runs until host.running() is false; the first step comes after startDelayMs. */
export async function runScrubLoop<Body>(host: ScrubLoopHost<Body>, startDelayMs: number): Promise<void> {
  const pacing = validateScrubPacing(host.pacing);
  const nowMs = () => host.repair.nowMs();
  const self = host.repair.self;
  await host.sleep(startDelayMs);
  let cursor: ScrubCursor | undefined;
  let stepDueMs = nowMs();
  // Decided by the sleep, not by comparing clocks: a drifting clock must not cut a pause into slivers.
  let stepDue = true;
  let passStartedMs = nowMs();
  let passChecked = 0;
  while (host.running()) {
    try {
      const drain = async (): Promise<void> => {
        const drained = await host.queue.drain(host.repair);
        host.onDrained?.(drained);
      };
      await drain();
      if (stepDue) {
        const startedMs = nowMs();
        const step = await scrubStep(host.scrub, cursor, pacing.limits);
        if (!step.ok) {
          host.log.error("scrub.step-failed", { node: self, failure: step.error });
          stepDueMs = nowMs() + pacing.failurePauseMs;
        } else {
          let corruptQueued = 0;
          for (const c of step.value.corrupt) {
            host.log.warn("scrub.corrupt-copy", { node: self, partition: c.partition, bucket: c.version.bucket, key: c.version.key, stamp: c.version.stamp, detail: c.detail });
            if (host.queue.add(c.partition, c.version, nowMs())) corruptQueued++;
          }
          // What this step found is replaced at once, not a pause later.
          if (step.value.corrupt.length > 0) await drain();
          passChecked += step.value.checked;
          cursor = step.value.next;
          const walkEnded = cursor === undefined;
          host.onStep?.({ checked: step.value.checked, bytes: step.value.bytes, corruptQueued, passChecked, walkEnded });
          const pauseMs = pauseAfterStep(pacing, { bytes: step.value.bytes, elapsedMs: nowMs() - startedMs, walkEnded });
          if (walkEnded) {
            host.log.info("scrub.pass-done", { node: self, versions: passChecked, ms: nowMs() - passStartedMs });
            passStartedMs = nowMs() + pauseMs;
            passChecked = 0;
          }
          stepDueMs = nowMs() + pauseMs;
        }
      }
    } catch (error) {
      host.onThrow(error);
      host.log.error("scrub.step-failed", { node: self, cause: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      stepDueMs = nowMs() + pacing.failurePauseMs;
    }
    const remainingMs = stepDueMs - nowMs();
    const waitMs = Math.max(0, Math.min(pacing.drainIntervalMs, remainingMs));
    await host.sleep(waitMs);
    stepDue = waitMs >= remainingMs;
  }
}
