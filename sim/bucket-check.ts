// The oracle's check of bucket creation and deletion (issue 9 item 4): buckets besides the workload's main one
// are created, filled, emptied and deleted while PUTs race with DeleteBucket (sim/workload.ts bucketOp), and
// what clients were told is checked against DeleteBucket's promise (core/bucket-registry.ts):
//   - DeleteBucket acknowledged while an acknowledged object of the bucket was live (no delete of that key
//     could have removed it) is a violation: the listing it ran missed a committed write;
//   - a PUT acknowledged into a bucket whose deletion was acknowledged before the PUT began, with no
//     CreateBucket of that name tried since, is a violation: nodes committed into a deleted bucket;
//   - a GET that began after an acknowledged DeleteBucket and returns an acknowledged object written before
//     that delete began is a violation: the object outlived its bucket.
// Indeterminate operations excuse only what they could explain: a DeleteObject that failed may have removed
// its key (so a DeleteBucket after it may succeed, and the key's old version may still show up later: those
// are counted as `leftoversSeen`, not violations); a CreateBucket that failed may have created the bucket.
// Assumes: content hashes identify client writes uniquely (sim/body.ts clientBody); stamps order one key's
// versions (last writer wins), so "could have removed" compares stamps where both are known.

import type { VersionStamp } from "../core/object-version.ts";
import type { SimBody } from "./body.ts";
import type { BucketOutcome, DoneOutcome, ReadOutcome, WriteOutcome } from "./logic.ts";

/** Buckets the workload creates and deletes (the main bucket, sim/workload.ts BUCKET, is created once and kept). */
export const LIFECYCLE_BUCKETS = ["clips", "thumbs"] as const;
/** Keys per lifecycle bucket: few, so that emptying a bucket and a PUT racing with its deletion both happen. */
export const LIFECYCLE_KEYS = 6;

type Outcome = "pending" | "acked" | "failed";

interface ObjectWrite {
  readonly bucket: string;
  readonly key: string;
  readonly kind: "put" | "delete";
  readonly contentHash: string | null;
  readonly startMs: number;
  endMs: number | undefined;
  outcome: Outcome;
  stamp: VersionStamp | undefined;
}

interface BucketOp {
  readonly bucket: string;
  readonly kind: "create" | "delete";
  readonly startMs: number;
  endMs: number | undefined;
  outcome: Outcome;
}

export interface BucketReadToken {
  readonly bucket: string;
  readonly key: string;
  readonly startMs: number;
}

export class BucketCheck {
  bucketsCreated = 0;
  bucketsDeleted = 0;
  deletesRefusedNotEmpty = 0;
  putsRefusedNoBucket = 0;
  /** Old versions of keys read back after their bucket's deletion, explained by a DeleteObject that failed. */
  leftoversSeen = 0;
  private readonly writes: ObjectWrite[] = [];
  private readonly ops: BucketOp[] = [];
  private readonly byContent = new Map<string, ObjectWrite>();

  constructor(
    private readonly now: () => number,
    private readonly violate: (key: string, what: string) => void,
  ) {}

  writeStarted(bucket: string, key: string, body: SimBody | null): ObjectWrite {
    const write: ObjectWrite = { bucket, key, kind: body ? "put" : "delete", contentHash: body?.contentHash ?? null, startMs: this.now(), endMs: undefined, outcome: "pending", stamp: undefined };
    this.writes.push(write);
    if (write.contentHash !== null) this.byContent.set(write.contentHash, write);
    return write;
  }

  writeEnded(write: ObjectWrite, outcome: WriteOutcome): void {
    write.endMs = this.now();
    if (!outcome.ok) {
      write.outcome = "failed";
      if (outcome.reason === "NoSuchBucket") this.putsRefusedNoBucket += write.kind === "put" ? 1 : 0;
      return;
    }
    write.outcome = "acked";
    write.stamp = outcome.stamp;
    if (write.kind !== "put") return;
    // Into a deleted bucket: a deletion acknowledged before this PUT began, and no create tried since.
    const deleted = this.lastAckedDelete(write.bucket, write.startMs);
    if (deleted && !(this.recreatedFromMs(deleted) < write.endMs)) {
      this.violate(`${write.bucket}/${write.key}`, `PUT acknowledged at ${write.endMs.toFixed(3)} into bucket ${write.bucket}, whose deletion was acknowledged at ${deleted.endMs!.toFixed(3)} before the PUT began (${write.startMs.toFixed(3)}), with no CreateBucket since`);
    }
    // Acknowledged after a DeleteBucket that it raced with was acknowledged: that delete must not have succeeded.
    for (const op of this.ops) {
      if (op.bucket === write.bucket && op.kind === "delete" && op.outcome === "acked" && write.startMs < op.endMs! && write.endMs > op.endMs! && this.generationOf(op) < write.startMs) this.checkEmptyAt(op, [write]);
    }
  }

  opStarted(bucket: string, kind: "create" | "delete"): BucketOp {
    const op: BucketOp = { bucket, kind, startMs: this.now(), endMs: undefined, outcome: "pending" };
    this.ops.push(op);
    return op;
  }

  opEnded(op: BucketOp, outcome: BucketOutcome | DoneOutcome): void {
    op.endMs = this.now();
    op.outcome = outcome.ok ? "acked" : "failed";
    if (!outcome.ok) {
      if (op.kind === "delete" && outcome.reason === "not-empty") this.deletesRefusedNotEmpty += 1;
      return;
    }
    if (op.kind === "create") {
      if ("created" in outcome && outcome.created) this.bucketsCreated += 1;
      return;
    }
    this.bucketsDeleted += 1;
    const since = this.generationOf(op);
    this.checkEmptyAt(
      op,
      this.writes.filter((w) => w.bucket === op.bucket && w.kind === "put" && w.outcome === "acked" && w.startMs > since && w.startMs < op.endMs!),
    );
  }

  readStarted(bucket: string, key: string): BucketReadToken {
    return { bucket, key, startMs: this.now() };
  }

  readEnded(token: BucketReadToken, outcome: ReadOutcome): void {
    if (!outcome.ok || !outcome.found) return;
    const write = this.byContent.get(outcome.version.checksum);
    if (write === undefined || write.bucket !== token.bucket || write.key !== token.key) {
      this.violate(`${token.bucket}/${token.key}`, `read returned ${outcome.version.stamp} (checksum ${outcome.version.checksum}), which no client wrote for this key`);
      return;
    }
    // Deleted with its bucket before this read began, and written before that deletion began.
    const deleted = this.lastAckedDelete(token.bucket, token.startMs);
    if (!deleted || write.startMs >= deleted.startMs) return;
    if (write.outcome !== "acked" || this.removedByFailedDelete(write, deleted.endMs!)) {
      this.leftoversSeen += 1;
      return;
    }
    this.violate(`${token.bucket}/${token.key}`, `read began at ${token.startMs.toFixed(3)} returned ${write.stamp} (acknowledged at ${write.endMs!.toFixed(3)}), although bucket ${token.bucket} was deleted (acknowledged at ${deleted.endMs!.toFixed(3)}) after it was written`);
  }

  /**
   * From when a CreateBucket may have begun a new generation of the bucket `deletion` removes: the earliest
   * create still running, or begun, once the deletion began (a create blocked on a record read may finish
   * after the tombstone); Infinity when none.
   */
  private recreatedFromMs(deletion: BucketOp): number {
    const creates = this.ops.filter((o) => o.bucket === deletion.bucket && o.kind === "create" && (o.endMs === undefined || o.endMs > deletion.startMs));
    return Math.min(...creates.map((o) => Math.max(o.startMs, deletion.startMs)), Infinity);
  }

  /** The acknowledged DeleteBucket of `bucket` that ended last before `atMs`. */
  private lastAckedDelete(bucket: string, atMs: number): BucketOp | undefined {
    let last: BucketOp | undefined;
    for (const op of this.ops) if (op.bucket === bucket && op.kind === "delete" && op.outcome === "acked" && op.endMs! < atMs && (!last || op.endMs! > last.endMs!)) last = op;
    return last;
  }

  /** Where the bucket generation `op` deletes began: the end of the acknowledged deletion before it (0 for the first). */
  private generationOf(op: BucketOp): number {
    return this.lastAckedDelete(op.bucket, op.startMs)?.endMs ?? 0;
  }

  /** A DeleteObject of the key that did not succeed but may have taken effect, begun before `beforeMs`. */
  private removedByFailedDelete(put: ObjectWrite, beforeMs: number): boolean {
    return this.writes.some((w) => w.kind === "delete" && w.bucket === put.bucket && w.key === put.key && w.outcome !== "acked" && w.startMs < beforeMs);
  }

  /** Every put in `puts` must have been removed (by a newer acknowledged delete, or possibly by a failed one) when `op` succeeded. */
  private checkEmptyAt(op: BucketOp, puts: readonly ObjectWrite[]): void {
    // A CreateBucket begun after this delete began may have started a new generation (once the tombstone
    // landed, before this delete was answered): a PUT acknowledged after that create began may belong to it.
    const recreatedFromMs = this.recreatedFromMs(op);
    // Per key, only its newest acknowledged put can be live.
    const newest = new Map<string, ObjectWrite>();
    for (const p of puts) {
      if (p.endMs! > recreatedFromMs) continue;
      const known = newest.get(p.key);
      if (!known || p.stamp! > known.stamp!) newest.set(p.key, p);
    }
    for (const put of newest.values()) {
      const removed = this.writes.some((w) => w.kind === "delete" && w.bucket === put.bucket && w.key === put.key && w.startMs < op.endMs! && (w.outcome === "acked" ? w.stamp! > put.stamp! : true));
      const overwrittenLater = this.writes.some((w) => w.kind === "put" && w.outcome === "acked" && w.bucket === put.bucket && w.key === put.key && w.stamp! > put.stamp! && w.startMs < op.endMs! && w.endMs! <= recreatedFromMs);
      if (removed || overwrittenLater) continue;
      this.violate(`${put.bucket}/${put.key}`, `DeleteBucket ${put.bucket} acknowledged at ${op.endMs!.toFixed(3)} (began ${op.startMs.toFixed(3)}) while ${put.key}@${put.stamp} (acknowledged at ${put.endMs!.toFixed(3)}) was live: no delete of it could have removed it`);
    }
  }
}
