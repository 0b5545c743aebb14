// The corrupt-copy queue of one storage node and its driver: copies found corrupt (by a read, by the store
// while streaming, by the scrubber) wait here until repairCorruptCopy (core/repair.ts) replaces them from a
// good replica. Both hosts run this one queue, drained by the one scrub loop (core/scrub-loop.ts), so limits,
// de-duplication, retries and when a copy is replaced are the same in both worlds.
// Guarantees:
//   - At most lengthMax copies wait; a report beyond that is counted and dropped (the copy is still on disk,
//     and the scrubber's next pass or the next read finds it again).
//   - A copy waiting or being repaired is not queued twice (the repair's own re-read reports it again).
//   - A copy left unrepaired (no holder had a good body) is tried again after retryAfterMsMin, doubling up to
//     retryAfterMsMax, for at most attemptsMax attempts; then it is left to the scrubber. The rotten copy is
//     kept all along (repairCorruptCopy never drops it).
//   - One drain repairs at most drainMax copies, in the order they were reported.
// Assumes: nowMs may step back (a wall clock): that only delays a retry.
import { assert } from "./assert.ts";
import type { PartitionId } from "./ids.ts";
import type { ObjectVersion } from "./object-version.ts";
import { type CorruptCopyOutcome, type RepairContext, repairCorruptCopy } from "./repair.ts";

export interface CorruptQueueLimits {
  readonly lengthMax: number;
  readonly drainMax: number;
  readonly retryAfterMsMin: number;
  readonly retryAfterMsMax: number;
  readonly attemptsMax: number;
}

/** The limits both hosts use. */
export const corruptQueueLimits: CorruptQueueLimits = { lengthMax: 1000, drainMax: 64, retryAfterMsMin: 1000, retryAfterMsMax: 5 * 60_000, attemptsMax: 20 };

export type CorruptDrainReport = Record<CorruptCopyOutcome | "givenUp", number>;

interface Waiting {
  readonly partition: PartitionId;
  readonly version: ObjectVersion;
  readonly attempts: number;
  readonly dueMs: number;
}

const idOf = (v: ObjectVersion): string => `${v.bucket}\u0000${v.key}\u0000${v.stamp}`;

export class CorruptCopyQueue {
  /** In report order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Waiting>();
  private readonly repairing = new Set<string>();
  droppedTotal = 0;

  constructor(readonly limits: CorruptQueueLimits = corruptQueueLimits) {
    assert(limits.lengthMax > 0 && limits.drainMax > 0 && limits.attemptsMax > 0, "corrupt-queue limits must be positive");
    assert(limits.retryAfterMsMin > 0 && limits.retryAfterMsMin <= limits.retryAfterMsMax, "corrupt-queue retry range must be 0 < min <= max");
  }

  get length(): number {
    return this.waiting.size;
  }

  /** Queues a copy found corrupt; false when it is already queued or being repaired, or the queue is full. */
  add(partition: PartitionId, version: ObjectVersion, nowMs: number): boolean {
    const id = idOf(version);
    if (this.waiting.has(id) || this.repairing.has(id)) return false;
    if (this.waiting.size >= this.limits.lengthMax) {
      this.droppedTotal += 1;
      return false;
    }
    this.waiting.set(id, { partition, version, attempts: 0, dueMs: nowMs });
    return true;
  }

  /** Repairs the copies that are due, one at a time (each streams a whole body), at most drainMax of them. */
  async drain<Body>(ctx: RepairContext<Body>): Promise<CorruptDrainReport> {
    const report: CorruptDrainReport = { replaced: 0, intact: 0, gone: 0, unrepaired: 0, givenUp: 0 };
    const nowMs = ctx.nowMs();
    const due = [...this.waiting].filter(([, w]) => w.dueMs <= nowMs).slice(0, this.limits.drainMax);
    for (const [id, item] of due) {
      this.waiting.delete(id);
      this.repairing.add(id);
      let outcome: CorruptCopyOutcome;
      try {
        outcome = await repairCorruptCopy(ctx, item.partition, item.version);
      } finally {
        this.repairing.delete(id);
      }
      report[outcome] += 1;
      if (outcome !== "unrepaired") continue;
      const attempts = item.attempts + 1;
      if (attempts >= this.limits.attemptsMax || this.waiting.size >= this.limits.lengthMax) {
        report.givenUp += 1;
        const v = item.version;
        ctx.log.warn("repair.corrupt-copy-left-to-scrubber", { node: ctx.self, partition: item.partition, bucket: v.bucket, key: v.key, stamp: v.stamp, attempts });
        continue;
      }
      const retryAfterMs = Math.min(this.limits.retryAfterMsMax, this.limits.retryAfterMsMin * 2 ** (attempts - 1));
      this.waiting.set(id, { ...item, attempts, dueMs: ctx.nowMs() + retryAfterMs });
    }
    assert(this.waiting.size <= this.limits.lengthMax, "the corrupt-copy queue stays within its length");
    return report;
  }
}
