// The scrubber's walk (DESIGN.md, repair): re-read stored bodies a bounded amount at a time, in
// (partition, bucket, key, stamp) order from where the last step stopped, and report the copies whose bytes
// fail their checksum, for repairCorruptCopy (core/repair.ts) to replace from a good replica.
// Guarantees: a step reads at most `versionsMax` bodies and stops once `bytesMax` bytes were read; repeated
// steps visit every live committed version held when the walk began and still held when the walk reaches it
// (a cursor names a place, so writes and drops in between neither skip nor repeat the versions around it);
// `next` undefined means the walk reached the end and the next step starts over.
// Assumes: checkBody reads the body to its end (the runtime's store checks block checksums as it streams).
import { assert } from "./assert.ts";
import type { PartitionId } from "./ids.ts";
import type { ObjectVersion } from "./object-version.ts";
import { afterVersion } from "./partition-cursor.ts";
import type { BlobStore, PartitionCursor, StoreFailure } from "./ports.ts";
import { type Result, ok } from "./result.ts";
import { toObjectVersion } from "./storage-node.ts";

export interface ScrubCursor {
  readonly partition: PartitionId;
  readonly after: PartitionCursor | undefined;
}

export interface ScrubContext<Body> {
  readonly store: BlobStore<Body>;
  /** Read `body` to its end: true when its bytes match the version's checksum, a detail when they do not. */
  checkBody(body: Body, version: ObjectVersion): Promise<Result<true, string>>;
}

export interface ScrubLimits {
  readonly versionsMax: number;
  readonly bytesMax: number;
}

export interface CorruptCopy {
  readonly partition: PartitionId;
  readonly version: ObjectVersion;
  readonly detail: string;
}

export interface ScrubStep {
  readonly checked: number;
  readonly bytes: number;
  readonly corrupt: readonly CorruptCopy[];
  readonly next: ScrubCursor | undefined;
}

export async function scrubStep<Body>(ctx: ScrubContext<Body>, cursor: ScrubCursor | undefined, limits: ScrubLimits): Promise<Result<ScrubStep, StoreFailure>> {
  assert(limits.versionsMax > 0 && limits.bytesMax > 0, "scrub limits must be positive");
  const held = await ctx.store.partitionsHeld();
  if (!held.ok) return held;
  let checked = 0;
  let bytes = 0;
  const corrupt: CorruptCopy[] = [];
  for (const partition of held.value) {
    if (cursor !== undefined && partition < cursor.partition) continue;
    let after = cursor !== undefined && partition === cursor.partition ? cursor.after : undefined;
    for (;;) {
      const limit = limits.versionsMax - checked;
      const page = await ctx.store.listPartition(partition, after, limit);
      if (!page.ok) return page;
      for (const stored of page.value) {
        after = afterVersion(stored);
        if (!stored.committed || stored.deleted) continue;
        const version = toObjectVersion(stored);
        checked += 1;
        bytes += stored.size;
        const read = await ctx.store.readBody(stored.bucket, stored.key, stored.stamp);
        if (!read.ok) {
          // Dropped since the listing (superseded, collected): nothing to check.
          if (read.error.kind === "corrupt") corrupt.push({ partition, version, detail: read.error.detail });
          else if (read.error.kind !== "not-found") return read;
        } else {
          const verdict = await ctx.checkBody(read.value.body, version);
          if (!verdict.ok) corrupt.push({ partition, version, detail: verdict.error });
        }
        if (checked >= limits.versionsMax || bytes >= limits.bytesMax) return ok({ checked, bytes, corrupt, next: { partition, after } });
      }
      if (page.value.length < limit) break;
    }
  }
  return ok({ checked, bytes, corrupt, next: undefined });
}
