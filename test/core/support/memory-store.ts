// A tiny in-memory BlobStore for core tests. Bodies are values: a size and the checksum of their bytes; a
// corrupt body is one whose checksum no longer matches the version's.
// Guarantees: the BlobStore contract (test/contract/blob-store-contract.ts runs it here too): lists committed
// versions in (bucket, key, stamp) order, keys in UTF-8 byte order, from a cursor; writes of a stamp already
// committed keep the committed copy; bytes that do not match a version are refused. Holds no bytes: a range of a
// body is its size.

import type { NodeId, PartitionId } from "../../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../../core/object-version.ts";
import type { BlobStore, ByteRange, PartitionCursor, StoreFailure, StoredVersion, VersionHeader } from "../../../core/ports.ts";
import { compareKeys, compareVersionPlaces } from "../../../core/key-order.ts";
import { cursorPlace } from "../../../core/partition-cursor.ts";
import { type Result, err, ok } from "../../../core/result.ts";

export interface MemBody {
  readonly size: number;
  /** xxhash64 of the bytes this body stands for. */
  readonly checksum: string;
}

interface Entry {
  version: StoredVersion;
  body: MemBody;
}

const idOf = (bucket: string, key: string, stamp: string): string => `${bucket}\u0000${key}\u0000${stamp}`;

export class MemoryStore implements BlobStore<MemBody> {
  readonly entries = new Map<string, Entry>();
  /** Called before every drop (tests check invariants at that moment). */
  onDrop?: (version: StoredVersion) => void;
  /** Copies replaced in place by replaceCommitted. */
  replaced = 0;

  // ---- direct access for tests ----

  committed(bucket: string, key: string): StoredVersion[] {
    return [...this.entries.values()].filter((e) => e.version.committed && e.version.bucket === bucket && e.version.key === key).map((e) => e.version);
  }

  newestCommitted(bucket: string, key: string): StoredVersion | null {
    let best: StoredVersion | null = null;
    for (const v of this.committed(bucket, key)) if (!best || v.stamp > best.stamp) best = v;
    return best;
  }

  hasCommitted(bucket: string, key: string, stamp: string): boolean {
    return this.entries.get(idOf(bucket, key, stamp))?.version.committed === true;
  }

  allCommitted(): StoredVersion[] {
    return [...this.entries.values()].filter((e) => e.version.committed).map((e) => e.version);
  }

  /** Replace a stored body with bytes that fail the checksum. */
  corrupt(bucket: string, key: string, stamp: string): void {
    const e = this.entries.get(idOf(bucket, key, stamp));
    if (e) e.body = { size: e.body.size, checksum: `bad${e.body.checksum}`.slice(0, 16) };
  }

  put(partition: PartitionId, version: ObjectVersion, body: MemBody, committed: boolean, hintFor?: NodeId): void {
    this.entries.set(idOf(version.bucket, version.key, version.stamp), { version: { ...version, partition, committed, ...(hintFor ? { hintFor } : {}) }, body });
  }

  // ---- BlobStore ----

  async writePending(partition: PartitionId, header: VersionHeader, body: MemBody, hintFor: NodeId | undefined): Promise<Result<{ checksum: string; size: number }, StoreFailure>> {
    const id = idOf(header.bucket, header.key, header.stamp);
    const existing = this.entries.get(id);
    if (existing?.version.committed) return ok({ checksum: existing.version.checksum, size: existing.version.size });
    if (body.size !== header.size) return err({ kind: "io", detail: `body of ${body.size} B, header says ${header.size} B` });
    this.entries.set(id, { version: { ...header, etag: "", checksum: body.checksum, partition, committed: false, ...(hintFor ? { hintFor } : {}) }, body });
    return ok({ checksum: body.checksum, size: body.size });
  }

  async commit(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written: VersionStamp = version.stamp): Promise<Result<void, StoreFailure>> {
    const finalId = idOf(version.bucket, version.key, version.stamp);
    const id = this.entries.has(finalId) ? finalId : idOf(version.bucket, version.key, written);
    const e = this.entries.get(id);
    if (!e) return err({ kind: "not-found", detail: "no pending version" });
    if (e.version.checksum !== version.checksum || e.version.size !== version.size || e.version.deleted !== version.deleted) return err({ kind: "corrupt", detail: "checksum differs" });
    if (e.version.committed) return ok(undefined);
    this.entries.delete(id);
    this.entries.set(finalId, { version: { ...version, partition, committed: true, ...(hintFor ? { hintFor } : {}) }, body: e.body });
    return ok(undefined);
  }

  async writeCommitted(partition: PartitionId, version: ObjectVersion, body: MemBody, hintFor: NodeId | undefined): Promise<Result<void, StoreFailure>> {
    // Like the simulator's disk: a committed copy of the same stamp is kept as it is.
    if (this.entries.get(idOf(version.bucket, version.key, version.stamp))?.version.committed) return ok(undefined);
    if (body.size !== version.size) return err({ kind: "io", detail: `body of ${body.size} B, version says ${version.size} B` });
    if (body.checksum !== version.checksum) return err({ kind: "corrupt", detail: `received ${body.checksum}, version names ${version.checksum}` });
    this.entries.set(idOf(version.bucket, version.key, version.stamp), { version: { ...version, partition, committed: true, ...(hintFor ? { hintFor } : {}) }, body });
    return ok(undefined);
  }

  async replaceCommitted(partition: PartitionId, version: ObjectVersion, body: MemBody): Promise<Result<void, StoreFailure>> {
    const e = this.entries.get(idOf(version.bucket, version.key, version.stamp));
    if (!e?.version.committed) return this.writeCommitted(partition, version, body, undefined);
    if (e.version.deleted) return ok(undefined);
    // As the file-system store does: a body that does not match the version never takes the old copy's place.
    if (body.checksum !== version.checksum || body.size !== version.size || e.version.checksum !== version.checksum) {
      return err({ kind: "corrupt", detail: `replacement ${body.checksum}/${body.size}B does not match ${version.checksum}/${version.size}B` });
    }
    this.replaced += 1;
    e.body = body;
    return ok(undefined);
  }

  async headCommitted(bucket: string, key: string): Promise<Result<StoredVersion | null, StoreFailure>> {
    return ok(this.newestCommitted(bucket, key));
  }

  async readBody(bucket: string, key: string, stamp: VersionStamp, range?: ByteRange): Promise<Result<{ version: StoredVersion; body: MemBody }, StoreFailure>> {
    const e = this.entries.get(idOf(bucket, key, stamp));
    if (!e?.version.committed) return err({ kind: "not-found", detail: `${key}@${stamp}` });
    if (range === undefined) return ok({ version: e.version, body: e.body });
    const size = Math.max(0, Math.min(e.body.size - 1, range.endInclusive) - range.start + 1);
    return ok({ version: e.version, body: { size, checksum: e.body.checksum } });
  }

  async drop(bucket: string, key: string, stamp: VersionStamp): Promise<Result<boolean, StoreFailure>> {
    const id = idOf(bucket, key, stamp);
    const e = this.entries.get(id);
    if (!e) return ok(false);
    this.onDrop?.(e.version);
    this.entries.delete(id);
    return ok(true);
  }

  async listPartition(partition: PartitionId, from: PartitionCursor | undefined, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    const cursor = from ? cursorPlace(from) : undefined;
    const rows = [...this.entries.values()]
      .map((e) => e.version)
      .filter((v) => v.committed && v.partition === partition && (cursor === undefined || compareVersionPlaces(v, cursor) > 0))
      .sort(compareVersionPlaces)
      .slice(0, limit);
    return ok(rows);
  }

  async partitionsHeld(): Promise<Result<readonly PartitionId[], StoreFailure>> {
    return ok([...new Set([...this.entries.values()].map((e) => e.version.partition))].sort((a, b) => a - b));
  }

  async listBucket(bucket: string, prefix: string, after: string, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    const newest = new Map<string, StoredVersion>();
    for (const e of this.entries.values()) {
      const v = e.version;
      if (!v.committed || v.bucket !== bucket || !v.key.startsWith(prefix) || compareKeys(v.key, after) <= 0) continue;
      const best = newest.get(v.key);
      if (!best || v.stamp > best.stamp) newest.set(v.key, v);
    }
    return ok([...newest.keys()].sort(compareKeys).slice(0, limit).map((k) => newest.get(k)!));
  }

  async dropPendingBefore(stampCutoff: VersionStamp): Promise<Result<number, StoreFailure>> {
    let n = 0;
    for (const [id, e] of [...this.entries]) {
      if (!e.version.committed && e.version.stamp < stampCutoff) {
        this.entries.delete(id);
        n++;
      }
    }
    return ok(n);
  }
}
