// The scrubber's walk (DESIGN.md, repair): re-read stored bodies a bounded amount at a time, in
// (partition, bucket, key, stamp) order from where the last step stopped, and report the copies whose bytes
// fail their checksum, for repairCorruptCopy (core/repair.ts) to replace from a good replica.
// Guarantees: a step reads at most `versionsMax` bodies and stops once `bytesMax` bytes were listed; repeated
// steps visit every live committed version held when the walk began and still held when the walk reaches it
// (a cursor names a place, so writes and drops in between neither skip nor repeat the versions around it);
// `next` undefined means the walk reached the end and the next step starts over.
// Assumes: checkBody reads the body to its end (the runtime's store checks block checksums as it streams).
import { assert } from "./assert.ts";
import type { PartitionId } from "./ids.ts";
import type { ObjectVersion } from "./object-version.ts";
import { afterVersion } from "./partition-cursor.ts";
import type { BlobStore, PartitionCursor, StoreFailure, StoredVersion } from "./ports.ts";
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
  /**
   * One sequential read of a step's bodies, where the store has one (the simulator's disk: one operation, one
   * event); each result is what readBody would have returned. Absent: the bodies are read one by one.
   */
  readBodies?(versions: readonly StoredVersion[]): Promise<Result<readonly BodyRead<Body>[], StoreFailure>>;
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

type BodyRead<Body> = Result<{ readonly body: Body }, StoreFailure>;

export async function scrubStep<Body>(ctx: ScrubContext<Body>, cursor: ScrubCursor | undefined, limits: ScrubLimits): Promise<Result<ScrubStep, StoreFailure>> {
  assert(limits.versionsMax > 0 && limits.bytesMax > 0, "scrub limits must be positive");
  const walked = await walkStep(ctx.store, cursor, limits);
  if (!walked.ok) return walked;
  const { versions, bytes, next } = walked.value;
  const reads = ctx.readBodies !== undefined ? await ctx.readBodies(versions) : ok(await readOneByOne(ctx.store, versions));
  if (!reads.ok) return reads;
  assert(reads.value.length === versions.length, "one read per version scrubbed");
  const corrupt: CorruptCopy[] = [];
  for (const [i, stored] of versions.entries()) {
    const read = reads.value[i]!;
    const version = toObjectVersion(stored);
    if (!read.ok) {
      // Dropped since the listing (superseded, collected): nothing to check.
      if (read.error.kind === "corrupt") corrupt.push({ partition: stored.partition, version, detail: read.error.detail });
      else if (read.error.kind !== "not-found") return read;
      continue;
    }
    const verdict = await ctx.checkBody(read.value.body, version);
    if (!verdict.ok) corrupt.push({ partition: stored.partition, version, detail: verdict.error });
  }
  return ok({ checked: versions.length, bytes, corrupt, next });
}

/** The live committed versions one step re-reads, in walk order from `cursor`, within the step's limits. */
async function walkStep<Body>(store: BlobStore<Body>, cursor: ScrubCursor | undefined, limits: ScrubLimits): Promise<Result<{ versions: StoredVersion[]; bytes: number; next: ScrubCursor | undefined }, StoreFailure>> {
  const held = await store.partitionsHeld();
  if (!held.ok) return held;
  const versions: StoredVersion[] = [];
  let bytes = 0;
  for (const partition of held.value) {
    if (cursor !== undefined && partition < cursor.partition) continue;
    let after = cursor !== undefined && partition === cursor.partition ? cursor.after : undefined;
    for (;;) {
      const limit = limits.versionsMax - versions.length;
      const page = await store.listPartition(partition, after, limit);
      if (!page.ok) return page;
      for (const stored of page.value) {
        after = afterVersion(stored);
        if (!stored.committed || stored.deleted) continue;
        versions.push(stored);
        bytes += stored.size;
        if (versions.length >= limits.versionsMax || bytes >= limits.bytesMax) return ok({ versions, bytes, next: { partition, after } });
      }
      if (page.value.length < limit) break;
    }
  }
  return ok({ versions, bytes, next: undefined });
}

async function readOneByOne<Body>(store: BlobStore<Body>, versions: readonly StoredVersion[]): Promise<BodyRead<Body>[]> {
  const reads: BodyRead<Body>[] = [];
  for (const v of versions) reads.push(await store.readBody(v.bucket, v.key, v.stamp));
  return reads;
}
