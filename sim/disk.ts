// A simulated disk: one node's BlobStore over SimBody values.
// Guarantees: a body or write operation takes virtual time (base latency + size / bandwidth, times the slow factor) and its
// effect becomes durable exactly when it resolves; an operation still in flight when the node crashes is
// either applied or lost (a coin from the disk's own RNG) and never answered, which is what "writes lost on
// crash unless synced" means for a store that syncs before it answers; a bit flip replaces a stored body with
// one whose content hash no longer matches its checksum; metadata reads (head, listings) come from an
// in-memory index and take no virtual time; a full disk refuses writes with "disk-full".
// Listing is in (bucket, key, stamp) order, keys in UTF-8 byte order (core/key-order.ts), the order of the
// runtime's SQLite index; listings and head show committed versions only. A write of a stamp already
// committed here keeps the committed copy (only replaceCommitted puts other bytes in its place), and a
// committed write or a commit whose checksum or size does not match is refused, as the file-system store does;
// test/contract/blob-store-contract.ts holds both stores to the same cases. Iteration order of every structure
// is insertion order, so the disk is deterministic.
// Assumes: the owning process's incarnation guards every completion (sim/process.ts).

import type { BucketEntry } from "../core/bucket-table.ts";
import { assert } from "../core/assert.ts";
import type { NodeId, PartitionId } from "../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../core/object-version.ts";
import type { BlobStore, ByteRange, PartitionCursor, StoreFailure, StoredVersion, VersionHeader } from "../core/ports.ts";
import { type VersionPlace, compareKeys, compareVersionPlaces } from "../core/key-order.ts";
import { cursorPlace } from "../core/partition-cursor.ts";
import { type Result, err, ok } from "../core/result.ts";
import { type SimBody, flipped } from "./body.ts";
import type { EventLoop } from "./event-loop.ts";
import type { SimProcess } from "./process.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

export interface DiskSettings {
  readonly opLatencyMs: number;
  /** Bytes per ms (200,000 = 200 MB/s). */
  readonly bytesPerMs: number;
  readonly capacityBytes: number;
  /** When true the disk itself verifies checksums on read and answers "corrupt"; when false, bodies come back as stored and the node must check. */
  readonly verifyOnRead: boolean;
}

export const defaultDisk: DiskSettings = { opLatencyMs: 0.2, bytesPerMs: 200_000, capacityBytes: 2 ** 40, verifyOnRead: false };

interface Record {
  readonly id: string;
  readonly partition: PartitionId;
  version: StoredVersion;
  body: SimBody;
}

/** Where the scrubber's walk stands: just after the version at `after` in `partition`. */
export interface ScrubCursor {
  readonly partition: number;
  readonly after: VersionPlace;
}

/** Observer of durable copies, for the oracle's replica counts. */
export interface DiskObserver {
  committed(node: NodeId, version: ObjectVersion): void;
  /** A body was stored durably (a pending copy): for the oracle's completion order. */
  bodyStored?(node: NodeId, contentHash: string): void;
  /** A committed copy went away: dropped by the node's logic, or destroyed with its disk. */
  removed(node: NodeId, version: ObjectVersion, cause: "logic" | "wipe"): void;
}

/**
 * A stored version built field by field: headers reach the disk in many shapes (the coordinator's, repair's,
 * read repair's), and spreading them was the costliest single step of a simulated write.
 */
function storedVersion(h: VersionHeader, etag: string, checksum: string, partition: PartitionId, committed: boolean, hintFor: NodeId | undefined): StoredVersion {
  const v = { bucket: h.bucket, key: h.key, stamp: h.stamp, size: h.size, etag, checksum, contentType: h.contentType, userMeta: h.userMeta, deleted: h.deleted, partition, committed };
  return hintFor === undefined ? v : { ...v, hintFor };
}

/** The runtime's store refuses a body of another size than its header's, and a tombstone with bytes. */
function sizeRefusal(header: VersionHeader, body: SimBody): StoreFailure | undefined {
  if (header.deleted && header.size !== 0) return { kind: "io", detail: `size ${header.size} refused for a tombstone` };
  if (body.size !== header.size) return { kind: "io", detail: `body ended at ${body.size} B, header says ${header.size} B` };
  return undefined;
}

const keyOf = (bucket: string, key: string): string => `${bucket}\u0000${key}`;
const idOf = (bucket: string, key: string, stamp: string): string => `${bucket}\u0000${key}\u0000${stamp}`;

export class SimDisk implements BlobStore<SimBody> {
  /** bucket\0key → stamp → record. */
  private readonly byKey = new Map<string, Map<string, Record>>();
  private readonly byPartition = new Map<number, Map<string, Record>>();
  private readonly sortedCache = new Map<number, Record[]>();
  /** byKey's keys in byte order (bucket, then key: NUL sorts first), rebuilt after a key comes or goes. */
  private sortedKeysCache: string[] | undefined;
  private readonly inFlight = new Set<{ apply: () => void }>();
  /** Records written pending and maybe committed since (dropPendingBefore skips and forgets committed ones). */
  private readonly pending = new Set<Record>();
  usedBytes = 0;
  slowFactor = 1;
  capacityBytes: number;
  corruptions = 0;

  constructor(
    readonly node: NodeId,
    private readonly process: SimProcess,
    private readonly loop: EventLoop,
    private readonly rng: SimRng,
    private readonly trace: Trace,
    readonly settings: DiskSettings,
    private readonly observer: DiskObserver | undefined,
  ) {
    this.capacityBytes = settings.capacityBytes;
  }

  // ---- the world's view (oracle, faults); no latency, no incarnation ----

  /** Every record, committed or pending, in insertion order. */
  *records(): Generator<{ readonly version: StoredVersion; readonly body: SimBody }> {
    for (const versions of this.byKey.values()) for (const record of versions.values()) yield record;
  }

  /**
   * Up to `count` live committed versions after `cursor`, in (partition, bucket, key, stamp) order: the
   * scrubber's walk over the disk. `next` is undefined once the walk has reached the end (it starts over).
   * A cursor names a place, not a position, so writes and drops between two slices neither skip nor repeat
   * the versions around it; each slice costs a binary search, not a walk from the start.
   */
  scrubSlice(cursor: ScrubCursor | undefined, count: number): { versions: StoredVersion[]; next: ScrubCursor | undefined } {
    const versions: StoredVersion[] = [];
    const partitions = [...this.byPartition.keys()].sort((a, b) => a - b);
    for (const partition of partitions) {
      if (cursor !== undefined && partition < cursor.partition) continue;
      const sorted = this.sortedPartition(partition);
      for (let i = cursor !== undefined && partition === cursor.partition ? SimDisk.firstAfter(sorted, cursor.after) : 0; i < sorted.length; i++) {
        const r = sorted[i]!;
        if (r.version.deleted) continue;
        versions.push(r.version);
        if (versions.length >= count) return { versions, next: { partition, after: r.version } };
      }
    }
    return { versions, next: undefined };
  }

  /** Committed copies of one key, with their bodies (the census of one key, without listing the disk). */
  *committedRecords(bucket: string, key: string): Generator<{ readonly version: StoredVersion; readonly body: SimBody }> {
    const versions = this.byKey.get(keyOf(bucket, key));
    if (versions) for (const record of versions.values()) if (record.version.committed) yield record;
  }

  committedVersions(bucket: string, key: string): StoredVersion[] {
    const versions = this.byKey.get(keyOf(bucket, key));
    if (!versions) return [];
    return [...versions.values()].filter((r) => r.version.committed).map((r) => r.version);
  }

  /** The process crashed: in-flight operations are applied or lost, at random, and never answered. */
  crash(): void {
    for (const op of this.inFlight) if (this.rng.chance(0.5)) op.apply();
    this.inFlight.clear();
  }

  /**
   * Set by the node on its first start with this disk, gone with a wipe: what the runtime's node.json marker
   * is, so that a restart can tell its own data (intact) from a replaced, empty disk.
   */
  formatted = false;

  /**
   * Partitions that lost committed versions (loseBytes) and have not caught up since: what the runtime keeps in
   * lost-partitions.json (runtime/node/lost-partitions.ts). Survives crashes; the node's start hands it to
   * core/catch-up.ts (those copies are behind and not intact) and its repair rounds shrink it.
   */
  lostPartitions: ReadonlySet<PartitionId> = new Set();

  /**
   * The node's copy of the bucket table (core/bucket-table.ts), as the runtime keeps it in buckets.json: written
   * whole, durably, on every change (the runtime fsyncs it before answering), so it survives crashes; gone with a wipe.
   */
  bucketEntries: readonly BucketEntry[] = [];

  /** The disk is replaced by an empty one (the node must be down): everything it held is gone. */
  wipe(): number {
    this.formatted = false;
    this.lostPartitions = new Set();
    this.bucketEntries = [];
    assert(!this.process.up, () => `wipe ${this.node} while it is up`);
    let lost = 0;
    for (const versions of [...this.byKey.values()]) {
      for (const record of [...versions.values()]) {
        this.remove(versions, record, "wipe");
        lost += 1;
      }
    }
    this.inFlight.clear();
    return lost;
  }

  /**
   * The bytes of one stored version are lost while the node is down (a blob file gone: partial loss), and the
   * next start forgets its record, as the runtime's start-up recovery drops a row whose blob file is missing
   * (runtime/node/startup.ts); repair then sees the copy missing. Returns whether there was such a version.
   */
  loseBytes(bucket: string, key: string, stamp: VersionStamp): boolean {
    assert(!this.process.up, () => `bytes lost on ${this.node} while it is up`);
    const versions = this.byKey.get(keyOf(bucket, key));
    const record = versions?.get(stamp);
    if (versions === undefined || record === undefined || record.version.deleted) return false;
    if (record.version.committed) this.lostPartitions = new Set([...this.lostPartitions, record.version.partition]);
    this.remove(versions, record, "wipe");
    return true;
  }

  /** loseBytes for every stored committed version `which` picks; returns how many were lost. */
  loseBytesOf(which: (version: StoredVersion) => boolean): number {
    const picked: StoredVersion[] = [];
    for (const versions of this.byKey.values()) for (const r of versions.values()) if (r.version.committed && which(r.version)) picked.push(r.version);
    return picked.filter((v) => this.loseBytes(v.bucket, v.key, v.stamp)).length;
  }

  /** Flip bits in one stored committed body, chosen at random; returns what was hit. */
  flipRandomBody(): string | null {
    const candidates: Record[] = [];
    for (const versions of this.byKey.values()) for (const r of versions.values()) if (r.version.committed && !r.version.deleted && !r.body.corrupt) candidates.push(r);
    if (candidates.length === 0) return null;
    const victim = this.rng.pick(candidates);
    victim.body = flipped(victim.body, `disk${this.loop.nowMs}`);
    this.corruptions += 1;
    return `${victim.version.bucket}/${victim.version.key}@${victim.version.stamp}`;
  }

  // ---- BlobStore ----

  writePending(partition: PartitionId, header: VersionHeader, body: SimBody, hintFor: NodeId | undefined): Promise<Result<{ checksum: string; size: number }, StoreFailure>> {
    return this.operation(body.size, true, () => {
      // A retried put of a version already committed here: the committed copy stays, never turned back into a pending one.
      const held = this.byKey.get(keyOf(header.bucket, header.key))?.get(header.stamp);
      if (held?.version.committed) return ok({ checksum: held.version.checksum, size: held.version.size });
      const refused = sizeRefusal(header, body);
      if (refused !== undefined) return err(refused);
      if (this.usedBytes + body.size > this.capacityBytes) return err({ kind: "disk-full", detail: `${this.node} is full` });
      const version = storedVersion(header, "", body.contentHash, partition, false, hintFor);
      this.store(partition, version, body);
      this.observer?.bodyStored?.(this.node, body.contentHash);
      return ok({ checksum: body.contentHash, size: body.size });
    });
  }

  commit(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written: VersionStamp = version.stamp): Promise<Result<void, StoreFailure>> {
    assert(written <= version.stamp, () => `a commit re-keys to a later stamp, not from ${written} back to ${version.stamp}`);
    return this.operation(0, true, () => {
      const versions = this.byKey.get(keyOf(version.bucket, version.key));
      // Under its final stamp already (a retried commit, or a repair push that came first), else under the put's.
      const record = versions?.get(version.stamp) ?? versions?.get(written);
      if (versions === undefined || record === undefined) return err({ kind: "not-found", detail: `no pending ${version.key}@${written}` });
      const held = record.version;
      if (held.checksum !== version.checksum || held.size !== version.size || held.deleted !== version.deleted) {
        return err({ kind: "corrupt", detail: `checksum-mismatch: holds ${held.checksum}/${held.size}B/deleted=${held.deleted}, commit names ${version.checksum}/${version.size}B/deleted=${version.deleted}` });
      }
      if (held.committed) return ok(undefined);
      const committed = storedVersion(version, version.etag, version.checksum, partition, true, hintFor);
      if (held.stamp === version.stamp) {
        record.version = committed;
        this.sortedInsert(record);
      } else {
        // Re-keyed in one step, as the runtime's index does in one statement: never under both stamps.
        this.remove(versions, record);
        this.store(partition, committed, record.body);
      }
      this.observer?.committed(this.node, committed);
      return ok(undefined);
    });
  }

  writeCommitted(partition: PartitionId, version: ObjectVersion, body: SimBody, hintFor: NodeId | undefined): Promise<Result<void, StoreFailure>> {
    return this.operation(body.size, true, () => {
      // A committed copy already here is kept as it is (replaceCommitted is what puts other bytes in its
      // place); a pending one is replaced. The bytes must be the version's: the runtime's store checks the
      // body it received before it installs anything.
      const existing = this.byKey.get(keyOf(version.bucket, version.key))?.get(version.stamp);
      if (existing?.version.committed) return ok(undefined);
      const refused = sizeRefusal(version, body);
      if (refused !== undefined) return err(refused);
      if (body.contentHash !== version.checksum) return err({ kind: "corrupt", detail: `checksum-mismatch: received ${body.contentHash}, version names ${version.checksum}` });
      if (this.usedBytes + body.size - (existing?.body.size ?? 0) > this.capacityBytes) return err({ kind: "disk-full", detail: `${this.node} is full` });
      const stored = storedVersion(version, version.etag, version.checksum, partition, true, hintFor);
      this.store(partition, stored, body);
      this.observer?.committed(this.node, stored);
      return ok(undefined);
    });
  }

  replaceCommitted(partition: PartitionId, version: ObjectVersion, body: SimBody): Promise<Result<void, StoreFailure>> {
    const held = this.byKey.get(keyOf(version.bucket, version.key))?.get(version.stamp);
    if (held === undefined || !held.version.committed) return this.writeCommitted(partition, version, body, held?.version.hintFor);
    return this.operation(body.size, true, () => {
      // Looked up again at completion: the copy may have been dropped (superseded) while the body was written.
      const record = this.byKey.get(keyOf(version.bucket, version.key))?.get(version.stamp);
      if (record === undefined || !record.version.committed) return err({ kind: "not-found", detail: `${version.key}@${version.stamp} went away during its replacement` });
      if (record.version.deleted) return ok(undefined);
      // The runtime's store checks what it wrote before the rename: a body that does not match never takes the old copy's place.
      if (body.contentHash !== version.checksum || body.size !== record.body.size || record.version.checksum !== version.checksum) {
        return err({ kind: "corrupt", detail: `replacement ${body.contentHash}/${body.size}B does not match ${version.checksum}/${record.body.size}B on ${this.node}` });
      }
      // In place: the copy is never absent, so the oracle sees no removal (the rename over it is atomic).
      record.body = body;
      return ok(undefined);
    });
  }

  headCommitted(bucket: string, key: string): Promise<Result<StoredVersion | null, StoreFailure>> {
    return this.indexRead(() => {
      let best: StoredVersion | null = null;
      const versions = this.byKey.get(keyOf(bucket, key));
      if (versions) for (const r of versions.values()) if (r.version.committed && (best === null || r.version.stamp > best.stamp)) best = r.version;
      return ok(best);
    });
  }

  readBody(bucket: string, key: string, stamp: VersionStamp, range?: ByteRange): Promise<Result<{ version: StoredVersion; body: SimBody }, StoreFailure>> {
    const size = this.byKey.get(keyOf(bucket, key))?.get(stamp)?.body.size ?? 0;
    return this.operation(size, false, () => this.readNow(bucket, key, stamp, range));
  }

  /**
   * The scrubber's sequential read of many bodies: one disk operation (one event) whose latency covers all
   * their bytes, instead of one per body; each result is what readBody would have returned.
   */
  readBodies(versions: readonly StoredVersion[]): Promise<Result<Result<{ version: StoredVersion; body: SimBody }, StoreFailure>[], StoreFailure>> {
    let bytes = 0;
    for (const v of versions) bytes += this.byKey.get(keyOf(v.bucket, v.key))?.get(v.stamp)?.body.size ?? 0;
    return this.operation(bytes, false, () => ok(versions.map((v) => this.readNow(v.bucket, v.key, v.stamp, undefined))));
  }

  private readNow(bucket: string, key: string, stamp: VersionStamp, range: ByteRange | undefined): Result<{ version: StoredVersion; body: SimBody }, StoreFailure> {
    const record = this.byKey.get(keyOf(bucket, key))?.get(stamp);
    if (record === undefined || !record.version.committed) return err({ kind: "not-found", detail: `no ${key}@${stamp}` });
    if (this.settings.verifyOnRead && record.body.contentHash !== record.version.checksum) {
      return err({ kind: "corrupt", detail: `${key}@${stamp} fails its checksum on ${this.node}` });
    }
    const body = range === undefined ? record.body : { ...record.body, size: Math.max(0, Math.min(record.body.size - 1, range.endInclusive) - range.start + 1) };
    return ok({ version: record.version, body });
  }

  drop(bucket: string, key: string, stamp: VersionStamp): Promise<Result<boolean, StoreFailure>> {
    return this.operation(0, true, () => {
      const versions = this.byKey.get(keyOf(bucket, key));
      const record = versions?.get(stamp);
      if (versions === undefined || record === undefined) return ok(false);
      this.remove(versions, record);
      return ok(true);
    });
  }

  listPartition(partition: PartitionId, from: PartitionCursor | undefined, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    assert(limit > 0, "listPartition limit must be positive");
    return this.indexRead(() => {
      const sorted = this.sortedPartition(partition);
      const start = from === undefined ? 0 : SimDisk.firstAfter(sorted, cursorPlace(from));
      return ok(sorted.slice(start, start + limit).map((r) => r.version));
    });
  }

  partitionsHeld(): Promise<Result<readonly PartitionId[], StoreFailure>> {
    return this.indexRead(() => {
      const held: PartitionId[] = [];
      for (const [partition, records] of this.byPartition) if (records.size > 0) held.push(partition as PartitionId);
      held.sort((a, b) => a - b);
      return ok(held);
    });
  }

  listBucket(bucket: string, prefix: string, after: string, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    return this.indexRead(() => {
      const keys = (this.sortedKeysCache ??= [...this.byKey.keys()].sort(compareKeys));
      const under = keyOf(bucket, prefix);
      const from = compareKeys(after, prefix) > 0 ? keyOf(bucket, after) : under;
      // The first key at or after `from` (binary search), then keys in order while they hold the prefix.
      let low = 0;
      let high = keys.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (compareKeys(keys[mid]!, from) < 0) low = mid + 1;
        else high = mid;
      }
      const out: StoredVersion[] = [];
      for (let i = low; i < keys.length && out.length < limit; i++) {
        const k = keys[i]!;
        if (!k.startsWith(under)) break;
        let best: StoredVersion | undefined;
        for (const r of this.byKey.get(k)!.values()) if (r.version.committed && (!best || r.version.stamp > best.stamp)) best = r.version;
        if (best === undefined || compareKeys(best.key, after) <= 0) continue;
        out.push(best);
      }
      return ok(out);
    });
  }

  dropPendingBefore(stampCutoff: VersionStamp): Promise<Result<number, StoreFailure>> {
    return this.operation(0, true, () => {
      let dropped = 0;
      for (const r of [...this.pending]) {
        if (r.version.committed) {
          this.pending.delete(r);
          continue;
        }
        if (r.version.stamp < stampCutoff) {
          this.remove(this.byKey.get(keyOf(r.version.bucket, r.version.key))!, r);
          dropped += 1;
        }
      }
      return ok(dropped);
    });
  }

  // ---- internals ----

  /** Position of the first record at or after `place` in a sorted partition. */
  private static lowerBound(sorted: readonly Record[], place: VersionPlace): number {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareVersionPlaces(sorted[mid]!.version, place) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first record after `place` (places in a sorted partition are unique). */
  private static firstAfter(sorted: readonly Record[], place: VersionPlace): number {
    const at = SimDisk.lowerBound(sorted, place);
    return at < sorted.length && compareVersionPlaces(sorted[at]!.version, place) === 0 ? at + 1 : at;
  }

  // The sorted listing of a partition is kept up to date in place once built: a commit or a drop costs one
  // binary search and a splice, where re-sorting the partition on every listing after a change did not scale.
  private sortedInsert(record: Record): void {
    const sorted = this.sortedCache.get(record.partition);
    if (sorted === undefined) return;
    const at = SimDisk.lowerBound(sorted, record.version);
    if (sorted[at] === record) return;
    assert(sorted[at] === undefined || compareVersionPlaces(sorted[at].version, record.version) !== 0, () => `two records ${record.id} in the sorted listing`);
    sorted.splice(at, 0, record);
  }

  private sortedRemove(record: Record): void {
    const sorted = this.sortedCache.get(record.partition);
    if (sorted === undefined) return;
    const at = SimDisk.lowerBound(sorted, record.version);
    if (sorted[at] === record) sorted.splice(at, 1);
  }

  private sortedPartition(partition: number): Record[] {
    let sorted = this.sortedCache.get(partition);
    if (sorted === undefined) {
      sorted = [...(this.byPartition.get(partition)?.values() ?? [])].filter((r) => r.version.committed);
      sorted.sort((a, b) => compareVersionPlaces(a.version, b.version));
      this.sortedCache.set(partition, sorted);
    }
    return sorted;
  }

  private store(partition: PartitionId, version: StoredVersion, body: SimBody): void {
    const k = keyOf(version.bucket, version.key);
    const before = this.byKey.get(k)?.get(version.stamp);
    if (before !== undefined) this.remove(this.byKey.get(k)!, before);
    // Fetched after the removal: removing a key's last record removes its map too.
    let versions = this.byKey.get(k);
    if (versions === undefined) {
      versions = new Map();
      this.byKey.set(k, versions);
      this.sortedKeysCache = undefined;
    }
    const record: Record = { id: idOf(version.bucket, version.key, version.stamp), partition, version, body };
    versions.set(version.stamp, record);
    if (!version.committed) this.pending.add(record);
    let inPartition = this.byPartition.get(partition);
    if (inPartition === undefined) {
      inPartition = new Map();
      this.byPartition.set(partition, inPartition);
    }
    inPartition.set(record.id, record);
    if (version.committed) this.sortedInsert(record);
    this.usedBytes += body.size;
  }

  private remove(versions: Map<string, Record>, record: Record, cause: "logic" | "wipe" = "logic"): void {
    this.pending.delete(record);
    versions.delete(record.version.stamp);
    if (versions.size === 0) {
      this.byKey.delete(keyOf(record.version.bucket, record.version.key));
      this.sortedKeysCache = undefined;
    }
    this.byPartition.get(record.partition)?.delete(record.id);
    this.sortedRemove(record);
    this.usedBytes -= record.body.size;
    assert(this.usedBytes >= 0, () => `disk ${this.node} used bytes went negative`);
    if (record.version.committed) this.observer?.removed(this.node, record.version, cause);
  }

  /**
   * A read of the metadata index (held in memory, as sqlite's pages would be): no virtual time passes, so no
   * event is needed; it still answers only a live incarnation.
   */
  private indexRead<T>(effect: () => Result<T, StoreFailure>): Promise<Result<T, StoreFailure>> {
    if (!this.process.up) return new Promise(() => {});
    return Promise.resolve(effect());
  }

  /** Probability that an operation fails with an I/O error (EIO): nothing of it is applied. */
  ioErrorProbability = 0;
  /** Completions held back while the disk hangs (a dead controller, a stuck NFS mount). */
  private hungCompletions: (() => void)[] | undefined;

  get hung(): boolean {
    return this.hungCompletions !== undefined;
  }

  /** The disk stops completing operations until `unhang`; they then complete, in order. */
  hang(): void {
    this.hungCompletions ??= [];
  }

  unhang(): void {
    const held = this.hungCompletions ?? [];
    this.hungCompletions = undefined;
    for (const complete of held) this.loop.after(0, complete);
  }

  /**
   * One disk operation: resolves after its latency if the process is still the same incarnation (once it is
   * awake, if paused); `effect` runs at completion (a mutation becomes durable then). A mutation in flight at
   * a crash is applied or lost. While the disk hangs, completions wait for it to recover; an I/O error
   * applies nothing.
   */
  private operation<T>(bytes: number, mutates: boolean, effect: () => Result<T, StoreFailure>): Promise<Result<T, StoreFailure>> {
    const process = this.process;
    return new Promise((resolve) => {
      if (!process.up) return;
      const incarnation = process.incarnation;
      const latencyMs = (this.settings.opLatencyMs + bytes / this.settings.bytesPerMs) * this.slowFactor;
      const op = {
        apply: () => {
          effect();
        },
      };
      if (mutates) this.inFlight.add(op);
      const complete = (): void => {
        if (this.hungCompletions !== undefined) {
          this.hungCompletions.push(complete);
          return;
        }
        if (mutates && !this.inFlight.delete(op)) return; // applied or lost by a crash already
        if (!process.isCurrent(incarnation)) return;
        const result: Result<T, StoreFailure> =
          this.ioErrorProbability > 0 && this.rng.chance(this.ioErrorProbability) ? err({ kind: "io", detail: `${this.node}: I/O error` }) : effect();
        process.whenAwake(incarnation, () => resolve(result));
      };
      this.loop.after(latencyMs, complete);
    });
  }
}
