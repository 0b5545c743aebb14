// The metadata index of one storage node: every version it holds (pending or committed, tombstones
// included), in an embedded SQLite database (better-sqlite3, WAL, synchronous=FULL).
// Guarantees: a call that returns has committed its change durably (synchronous=FULL: the WAL is fsynced on
// every commit), except a pending row, which survives a process crash but not a power loss (synchronous=
// NORMAL for it: a lost pending row only makes its commit fail, and the orphan blob is removed at start-up,
// so the write is refused rather than lost, and one fsync per replica per PUT is saved); rows sort by (bucket, key, stamp) in byte order (SQLite BINARY collation over UTF-8, the
// order S3 lists keys in); no two rows name the same blob file (unique index on blob_path); readers only
// ever see committed rows through headCommitted, getCommitted, listPartition and listBucket.
// Assumes: one process opens a data folder at a time (the caller holds the folder); better-sqlite3 is
// synchronous, so each statement blocks the event loop for its duration, commits for one fsync.

import Database from "better-sqlite3";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import type { PartitionCursor, StoredVersion } from "../../core/ports.ts";
import { assert } from "../../core/assert.ts";
import { type StoreTimings, timedStatements } from "./store-timings.ts";

/** A row of the index: a StoredVersion plus where and how its bytes are kept. */
export interface IndexedVersion extends StoredVersion {
  /** Size of the verification blocks the blob was written with. */
  readonly blockBytes: number;
  /** xxhash64 of each block, 8 bytes big-endian per block, in order. Empty for tombstones and 0-byte blobs. */
  readonly blockChecksums: Buffer;
  /** Path of the blob file relative to the data folder's blobs/ folder; null for tombstones. */
  readonly blobPath: string | null;
}

interface RawRow {
  bucket: string;
  key: string;
  stamp: string;
  partition: number;
  size: number;
  etag: string;
  checksum: string;
  block_bytes: number;
  block_checksums: Buffer;
  content_type: string;
  user_meta: string;
  deleted: number;
  committed: number;
  hint_for: string | null;
  blob_path: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
  bucket          TEXT    NOT NULL,
  key             TEXT    NOT NULL,
  stamp           TEXT    NOT NULL,
  partition       INTEGER NOT NULL,
  size            INTEGER NOT NULL,
  etag            TEXT    NOT NULL,
  checksum        TEXT    NOT NULL,
  block_bytes     INTEGER NOT NULL,
  block_checksums BLOB    NOT NULL,
  content_type    TEXT    NOT NULL,
  user_meta       TEXT    NOT NULL,
  deleted         INTEGER NOT NULL,
  committed       INTEGER NOT NULL,
  hint_for        TEXT,
  blob_path       TEXT,
  PRIMARY KEY (bucket, key, stamp)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_partition ON versions (partition, bucket, key, stamp);
CREATE UNIQUE INDEX IF NOT EXISTS versions_by_blob ON versions (blob_path) WHERE blob_path IS NOT NULL;
CREATE INDEX IF NOT EXISTS pending_by_stamp ON versions (stamp) WHERE committed = 0;
`;

const COLUMNS =
  "bucket, key, stamp, partition, size, etag, checksum, block_bytes, block_checksums, content_type, user_meta, deleted, committed, hint_for, blob_path";

/** Rows a listBucket call may step over (older versions, pending rows) before it returns a short page. */
const LIST_BUCKET_ROWS_SCANNED_MAX = 100_000;

export class MetadataIndex {
  private readonly db: Database.Database;
  private readonly statements;

  private constructor(db: Database.Database, timings: StoreTimings | undefined) {
    this.db = db;
    this.statements = timedStatements({
      upsert: db.prepare(
        `INSERT INTO versions (${COLUMNS}) VALUES (@bucket, @key, @stamp, @partition, @size, @etag, @checksum, @block_bytes, @block_checksums, @content_type, @user_meta, @deleted, @committed, @hint_for, @blob_path)
         ON CONFLICT (bucket, key, stamp) DO UPDATE SET
           partition = excluded.partition, size = excluded.size, etag = excluded.etag, checksum = excluded.checksum,
           block_bytes = excluded.block_bytes, block_checksums = excluded.block_checksums, content_type = excluded.content_type,
           user_meta = excluded.user_meta, deleted = excluded.deleted, committed = excluded.committed,
           hint_for = excluded.hint_for, blob_path = excluded.blob_path
         WHERE versions.committed = 0`,
      ),
      markCommitted: db.prepare(
        `UPDATE versions SET committed = 1, stamp = @stamp, partition = @partition, etag = @etag, content_type = @content_type, user_meta = @user_meta, hint_for = COALESCE(@hint_for, hint_for)
         WHERE bucket = @bucket AND key = @key AND stamp = @written`,
      ),
      replaceBlocks: db.prepare(
        `UPDATE versions SET block_bytes = @block_bytes, block_checksums = @block_checksums
         WHERE bucket = @bucket AND key = @key AND stamp = @stamp AND committed = 1 AND checksum = @checksum`,
      ),
      getAny: db.prepare(`SELECT ${COLUMNS} FROM versions WHERE bucket = ? AND key = ? AND stamp = ?`),
      getCommitted: db.prepare(`SELECT ${COLUMNS} FROM versions WHERE bucket = ? AND key = ? AND stamp = ? AND committed = 1`),
      headCommitted: db.prepare(`SELECT ${COLUMNS} FROM versions WHERE bucket = ? AND key = ? AND committed = 1 ORDER BY stamp DESC LIMIT 1`),
      deleteOne: db.prepare(`DELETE FROM versions WHERE bucket = ? AND key = ? AND stamp = ?`),
      listPartitionFirst: db.prepare(
        `SELECT ${COLUMNS} FROM versions WHERE partition = ? AND committed = 1 ORDER BY bucket, key, stamp LIMIT ?`,
      ),
      listPartitionAfter: db.prepare(
        `SELECT ${COLUMNS} FROM versions WHERE partition = ? AND (bucket, key, stamp) > (?, ?, ?) AND committed = 1 ORDER BY bucket, key, stamp LIMIT ?`,
      ),
      listPartitionFromKey: db.prepare(
        `SELECT ${COLUMNS} FROM versions WHERE partition = ? AND (bucket, key) >= (?, ?) AND committed = 1 ORDER BY bucket, key, stamp LIMIT ?`,
      ),
      listBucket: db.prepare(
        `SELECT ${COLUMNS} FROM versions WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key, stamp`,
      ),
      nextPartition: db.prepare(`SELECT partition FROM versions WHERE partition > ? ORDER BY partition LIMIT 1`),
      pendingBefore: db.prepare(`SELECT ${COLUMNS} FROM versions WHERE committed = 0 AND stamp < ? ORDER BY stamp LIMIT ?`),
      hasBlobPath: db.prepare(`SELECT 1 AS present FROM versions WHERE blob_path = ?`),
      allRows: db.prepare(`SELECT ${COLUMNS} FROM versions ORDER BY bucket, key, stamp`),
      count: db.prepare(`SELECT COUNT(*) AS count FROM versions`),
      committedTotals: db.prepare(`SELECT COUNT(*) AS versions, COALESCE(SUM(size), 0) AS bytes FROM versions WHERE committed = 1 AND deleted = 0`),
    }, timings);
  }

  /** Opens (creating if needed) the index at `path`, in WAL mode with fsync on every commit. */
  static open(path: string, timings?: StoreTimings): MetadataIndex {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = OFF");
    db.pragma("journal_size_limit = 67108864");
    const mode = db.pragma("journal_mode", { simple: true });
    assert(String(mode).toLowerCase() === "wal", `index at ${path} did not enter WAL mode (got ${String(mode)})`);
    db.exec(SCHEMA);
    return new MetadataIndex(db, timings);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Inserts a row, or replaces a pending row of the same stamp (a retried put, or repair delivering a
   * committed copy over a pending one). Never touches a committed row: returns false when one is there.
   */
  upsert(row: IndexedVersion): boolean {
    const params = { ...toParams(row), committed: row.committed ? 1 : 0 };
    if (row.committed) return this.statements.upsert.run(params).changes === 1;
    this.db.pragma("synchronous = NORMAL");
    try {
      return this.statements.upsert.run(params).changes === 1;
    } finally {
      this.db.pragma("synchronous = FULL");
    }
  }

  /** Marks a row committed, taking the fields only the commit knows (etag, content type, user metadata); a commit without a hint keeps the put's. */
  /**
   * Marks the row put under `written` committed, as `version`: under the version's own stamp, which may be a
   * later one than the put's (it is re-keyed in the same statement, so no crash sees it under both or neither;
   * its blob file keeps the name it was written under, the row names it). Assumes no row holds the version's
   * stamp yet when it differs from `written` (the store checks).
   */
  markCommitted(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written: VersionStamp = version.stamp): boolean {
    const changes = this.statements.markCommitted.run({
      bucket: version.bucket,
      key: version.key,
      stamp: version.stamp,
      written,
      partition,
      etag: version.etag,
      content_type: version.contentType,
      user_meta: JSON.stringify(version.userMeta),
      hint_for: hintFor ?? null,
    }).changes;
    return changes === 1;
  }

  /**
   * Records how a committed copy's blob, just replaced by a good one (FsBlobStore.replaceCommitted), is cut into
   * blocks; false when the row is gone (dropped meanwhile) or names another checksum.
   */
  replaceBlocks(version: { bucket: string; key: string; stamp: VersionStamp; checksum: string }, blockBytes: number, blockChecksums: Buffer): boolean {
    const params = { bucket: version.bucket, key: version.key, stamp: version.stamp, checksum: version.checksum, block_bytes: blockBytes, block_checksums: blockChecksums };
    return this.statements.replaceBlocks.run(params).changes === 1;
  }

  /** The row of one version, pending or committed. */
  get(bucket: string, key: string, stamp: VersionStamp): IndexedVersion | null {
    return fromRaw(this.statements.getAny.get(bucket, key, stamp) as RawRow | undefined);
  }

  getCommitted(bucket: string, key: string, stamp: VersionStamp): IndexedVersion | null {
    return fromRaw(this.statements.getCommitted.get(bucket, key, stamp) as RawRow | undefined);
  }

  /** The newest committed version of a key, tombstones included. */
  headCommitted(bucket: string, key: string): IndexedVersion | null {
    return fromRaw(this.statements.headCommitted.get(bucket, key) as RawRow | undefined);
  }

  /** Removes one row; returns it as it was, or null when there was none. */
  remove(bucket: string, key: string, stamp: VersionStamp): IndexedVersion | null {
    const remove = this.db.transaction((): IndexedVersion | null => {
      const row = fromRaw(this.statements.getAny.get(bucket, key, stamp) as RawRow | undefined);
      if (row) this.statements.deleteOne.run(bucket, key, stamp);
      return row;
    });
    return remove();
  }

  /** Committed versions of a partition in (bucket, key, stamp) order from a cursor (core/ports.ts PartitionCursor). */
  listPartition(partition: PartitionId, from: PartitionCursor | undefined, limit: number): IndexedVersion[] {
    assert(Number.isInteger(limit) && limit > 0, `limit ${limit} must be a positive integer`);
    const raws = (
      from === undefined
        ? this.statements.listPartitionFirst.all(partition, limit)
        : from.kind === "key-start"
          ? this.statements.listPartitionFromKey.all(partition, from.bucket, from.key, limit)
          : this.statements.listPartitionAfter.all(partition, from.bucket, from.key, from.stamp, limit)
    ) as RawRow[];
    return raws.map((raw) => fromRaw(raw)!);
  }

  /**
   * The newest committed version of each key of a bucket (tombstones included) that starts with `prefix`
   * and sorts after `after`, in key order, at most `limit` keys. Keys sharing a prefix are contiguous in
   * byte order, so the scan stops at the first key past the prefix.
   */
  listBucket(bucket: string, prefix: string, after: string, limit: number): IndexedVersion[] {
    assert(Number.isInteger(limit) && limit > 0, `limit ${limit} must be a positive integer`);
    const page: IndexedVersion[] = [];
    let current: RawRow | null = null;
    let scanned = 0;
    for (const raw of this.statements.listBucket.iterate(bucket, after, prefix) as IterableIterator<RawRow>) {
      if (!raw.key.startsWith(prefix)) break;
      if (current && raw.key !== current.key) {
        page.push(fromRaw(current)!);
        current = null;
        if (page.length >= limit) break;
      }
      if (raw.committed === 1) current = raw; // rows come in stamp order: the last committed one is the newest
      scanned += 1;
      if (scanned >= LIST_BUCKET_ROWS_SCANNED_MAX) break;
    }
    // The iterator is closed by `break`; a key cut off by the scan cap is left for the next page only if it
    // was not complete, so the cap can shorten a page but never returns an older version as the newest.
    if (current && page.length < limit && scanned < LIST_BUCKET_ROWS_SCANNED_MAX) page.push(fromRaw(current)!);
    return page;
  }

  /** Partitions of which this node holds at least one version (pending ones too, as the simulated disk does), ascending. */
  partitionsHeld(): PartitionId[] {
    const held: PartitionId[] = [];
    let previous = -1;
    for (;;) {
      const row = this.statements.nextPartition.get(previous) as { partition: number } | undefined;
      if (!row) return held;
      held.push(row.partition as PartitionId);
      previous = row.partition;
    }
  }

  /** Pending rows older than a cut-off, oldest first, at most `limit`. */
  pendingBefore(stampCutoff: VersionStamp, limit: number): IndexedVersion[] {
    return (this.statements.pendingBefore.all(stampCutoff, limit) as RawRow[]).map((raw) => fromRaw(raw)!);
  }

  hasBlobPath(blobPath: string): boolean {
    return this.statements.hasBlobPath.get(blobPath) !== undefined;
  }

  /** Every row, for start-up recovery. Do not write to the index while iterating. */
  *allRows(): Generator<IndexedVersion> {
    for (const raw of this.statements.allRows.iterate() as IterableIterator<RawRow>) yield fromRaw(raw)!;
  }

  rowCount(): number {
    return (this.statements.count.get() as { count: number }).count;
  }

  /** Committed versions that are not tombstones, and their bytes: a full scan, so callers cache it. */
  committedTotals(): { versions: number; bytes: number } {
    return this.statements.committedTotals.get() as { versions: number; bytes: number };
  }
}

function toParams(row: IndexedVersion): Record<string, unknown> {
  return {
    bucket: row.bucket,
    key: row.key,
    stamp: row.stamp,
    partition: row.partition,
    size: row.size,
    etag: row.etag,
    checksum: row.checksum,
    block_bytes: row.blockBytes,
    block_checksums: row.blockChecksums,
    content_type: row.contentType,
    user_meta: JSON.stringify(row.userMeta),
    deleted: row.deleted ? 1 : 0,
    hint_for: row.hintFor ?? null,
    blob_path: row.blobPath,
  };
}

function fromRaw(raw: RawRow | undefined): IndexedVersion | null {
  if (!raw) return null;
  return {
    bucket: raw.bucket,
    key: raw.key,
    stamp: raw.stamp as VersionStamp,
    partition: raw.partition as PartitionId,
    size: raw.size,
    etag: raw.etag,
    checksum: raw.checksum,
    contentType: raw.content_type,
    userMeta: JSON.parse(raw.user_meta) as Record<string, string>,
    deleted: raw.deleted === 1,
    committed: raw.committed === 1,
    ...(raw.hint_for !== null ? { hintFor: raw.hint_for as NodeId } : {}),
    blockBytes: raw.block_bytes,
    blockChecksums: raw.block_checksums,
    blobPath: raw.blob_path,
  };
}

/** The StoredVersion a BlobStore caller sees: the row without its storage details. */
export function storedVersionOf(row: IndexedVersion): StoredVersion {
  const { blockBytes: _blockBytes, blockChecksums: _blockChecksums, blobPath: _blobPath, ...version } = row;
  return version;
}
