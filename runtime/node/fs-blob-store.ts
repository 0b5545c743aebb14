// The file-system BlobStore of one storage node: blob files under <dataDir>/blobs, their metadata in a
// SQLite index (metadata-index.ts), temp files under <dataDir>/tmp.
// Guarantees:
// - A blob file is named by a hash of (bucket, key, stamp), never by the client's key, so no key reaches
//   outside the data folder.
// - writePending / writeCommitted resolve only once the bytes and the row are durable: the body is streamed
//   (with backpressure) to a temp file while its xxhash64, per-block xxhash64s and size are computed; the file
//   is fsynced, renamed into place, its directory fsynced, and only then is the row inserted. A body that fails
//   midway (the sender went away) leaves no temp file and no row.
// - replaceCommitted puts a verified body in place of a rotten committed copy with one rename; until then, and
//   whenever the new body fails, the old copy stays: a node never passes through holding no copy.
// - Reads serve committed rows only. Every block is checked against its stored xxhash64 before any byte of it
//   is handed on; the first block is checked before readBody resolves, so a reader can switch replicas before a
//   response starts; a full read also checks the whole-blob checksum before its last block is handed on. A block
//   that fails its check destroys the body stream with a CorruptBlobError: never a silent early end.
// Assumes: one FsBlobStore per data folder at a time; open() runs start-up recovery (startup.ts) before it
// returns, so a blob without a row is never served and never counted.

import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { assert } from "../../core/assert.ts";
import { checksumHex, createXxhash64, xxhash64, xxhash64Bytes } from "../../core/hash.ts";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import type { BlobStore, ByteRange, Log, PartitionCursor, StoreFailure, StoredVersion, VersionHeader } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { type IndexedVersion, MetadataIndex, storedVersionOf } from "./metadata-index.ts";
import { recoverDataDir } from "./startup.ts";
import { type StoreTimings, timedFsync } from "./store-timings.ts";

export const BLOCK_BYTES_DEFAULT = 1024 * 1024;
/** The largest single object S3 accepts in one PUT; multipart parts are smaller still. */
export const OBJECT_BYTES_MAX_DEFAULT = 5 * 1024 ** 3;
const PENDING_DROP_BATCH = 256;
// Seeds for blob names, distinct from the seeds of partitions (0) and ring positions, so a blob name never
// doubles as another hash. Two 64-bit hashes: 128 bits keep names collision-free at any realistic count.
const NAME_SEED_HIGH = 0x626c6f62n; // "blob"
const NAME_SEED_LOW = 0x6e616d65n; // "name"

export interface FsBlobStoreOptions {
  readonly dataDir: string;
  readonly log: Log;
  /** Size of the blocks each blob is verified in; stored per blob, so it may change between runs. */
  readonly blockBytes?: number;
  /** Bodies larger than this are refused. */
  readonly objectBytesMax?: number;
  /**
   * Told of a copy whose bytes failed their check after its body began to stream (readBody answers "corrupt"
   * itself when the first block fails), so that the node can have it replaced.
   */
  readonly onCorruptWhileStreaming?: (version: StoredVersion, detail: string) => void;
  /** Told how long each index statement and fsync took (store-timings.ts). */
  readonly timings?: StoreTimings;
  /**
   * Told, during open's start-up recovery and before their rows are removed, the partitions that lost committed
   * versions (blob files gone): the node must record them durably (startup.ts).
   */
  readonly recordLostPartitions?: (partitions: readonly PartitionId[]) => void;
}

/** The error a body stream is destroyed with when a block fails its checksum. */
export class CorruptBlobError extends Error {
  override name = "CorruptBlobError";
  readonly code = "ERINGSTORE_CORRUPT";
}

/** Where a blob lives, relative to <dataDir>/blobs: <2 hex>/<2 hex>/<32 hex>. */
export function blobRelativePath(bucket: string, key: string, stamp: VersionStamp): string {
  const name = `${bucket}/${key}/${stamp}`;
  const hash = checksumHex(xxhash64(name, NAME_SEED_HIGH)) + checksumHex(xxhash64(name, NAME_SEED_LOW));
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
}

interface Received {
  readonly tempPath: string;
  readonly checksum: string;
  readonly size: number;
  readonly blockChecksums: Buffer;
}

export class FsBlobStore implements BlobStore<Readable> {
  readonly blobsDir: string;
  readonly tmpDir: string;
  private readonly log: Log;
  private readonly blockBytes: number;
  private readonly objectBytesMax: number;
  private readonly onCorruptWhileStreaming: FsBlobStoreOptions["onCorruptWhileStreaming"];
  private readonly timings: StoreTimings | undefined;
  /** Blob paths being written now: a second write of the same version waits for none, it fails. */
  private readonly writesInFlight = new Set<string>();

  private constructor(
    readonly dataDir: string,
    private readonly index: MetadataIndex,
    options: FsBlobStoreOptions,
  ) {
    this.blobsDir = join(dataDir, "blobs");
    this.tmpDir = join(dataDir, "tmp");
    this.log = options.log;
    this.blockBytes = options.blockBytes ?? BLOCK_BYTES_DEFAULT;
    this.objectBytesMax = options.objectBytesMax ?? OBJECT_BYTES_MAX_DEFAULT;
    this.onCorruptWhileStreaming = options.onCorruptWhileStreaming;
    this.timings = options.timings;
    assert(Number.isInteger(this.blockBytes) && this.blockBytes >= 4096 && this.blockBytes <= 64 * 1024 * 1024, `blockBytes ${this.blockBytes} outside 4 KiB..64 MiB`);
  }

  /** Opens a data folder (creating it if needed) and runs start-up recovery before returning. */
  static async open(options: FsBlobStoreOptions): Promise<FsBlobStore> {
    const { dataDir, log } = options;
    await mkdir(join(dataDir, "blobs"), { recursive: true });
    await mkdir(join(dataDir, "tmp"), { recursive: true });
    const index = MetadataIndex.open(join(dataDir, "index.sqlite"), options.timings);
    try {
      await recoverDataDir({ blobsDir: join(dataDir, "blobs"), tmpDir: join(dataDir, "tmp"), index, log, recordLost: options.recordLostPartitions });
    } catch (error) {
      index.close();
      throw error;
    }
    return new FsBlobStore(dataDir, index, options);
  }

  /** Committed versions (tombstones left out) and their bytes, from the index: a full scan, so callers cache it. */
  storedTotals(): { versions: number; bytes: number } {
    return this.index.committedTotals();
  }

  /** Closes the index. Callers stop serving (and let writes finish) first. */
  async close(): Promise<void> {
    this.index.close();
  }

  /** Absolute path of a version's blob file: for tests and the scrubber. */
  blobFilePath(bucket: string, key: string, stamp: VersionStamp): string {
    return join(this.blobsDir, blobRelativePath(bucket, key, stamp));
  }

  // ---- writes ----

  async writePending(partition: PartitionId, header: VersionHeader, body: Readable, hintFor: NodeId | undefined): Promise<Result<{ checksum: string; size: number }, StoreFailure>> {
    const existing = this.lookup(header);
    if (!existing.ok) {
      body.destroy();
      return existing;
    }
    if (existing.value?.committed) {
      // A retried put of a version already committed here: keep the committed copy, never overwrite it.
      body.destroy();
      return ok({ checksum: existing.value.checksum, size: existing.value.size });
    }
    const written = await this.writeBlob(header, body, (received) =>
      this.index.upsert({
        ...header,
        etag: "",
        checksum: received.checksum,
        partition,
        committed: false,
        ...(hintFor !== undefined ? { hintFor } : {}),
        blockBytes: this.blockBytes,
        blockChecksums: received.blockChecksums,
        blobPath: header.deleted ? null : blobRelativePath(header.bucket, header.key, header.stamp),
      }),
    );
    if (!written.ok) return written;
    return ok({ checksum: written.value.checksum, size: written.value.size });
  }

  async commit(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written: VersionStamp = version.stamp): Promise<Result<void, StoreFailure>> {
    assert(written <= version.stamp, () => `a commit re-keys to a later stamp, not from ${written} back to ${version.stamp}`);
    try {
      // Under its final stamp already (a retried commit, or a repair push that came first), else under the put's.
      const row = this.index.get(version.bucket, version.key, version.stamp) ?? (written === version.stamp ? undefined : this.index.get(version.bucket, version.key, written));
      if (!row) return err({ kind: "not-found", detail: `no pending ${version.bucket}/${version.key}@${written}` });
      if (row.checksum !== version.checksum || row.size !== version.size || row.deleted !== version.deleted) {
        return err({
          kind: "corrupt",
          detail: `checksum-mismatch: holds ${row.checksum}/${row.size}B/deleted=${row.deleted}, commit names ${version.checksum}/${version.size}B/deleted=${version.deleted}`,
        });
      }
      if (row.committed) return ok(undefined);
      const marked = this.index.markCommitted(partition, version, hintFor, row.stamp);
      assert(marked, `row ${version.bucket}/${version.key}@${row.stamp} vanished during commit`);
      return ok(undefined);
    } catch (error) {
      return err(this.failureOf(error, "commit", { bucket: version.bucket, key: version.key, stamp: version.stamp }));
    }
  }

  async writeCommitted(partition: PartitionId, version: ObjectVersion, body: Readable, hintFor: NodeId | undefined): Promise<Result<void, StoreFailure>> {
    const existing = this.lookup(version);
    if (!existing.ok || existing.value?.committed) {
      body.destroy();
      return existing.ok ? ok(undefined) : existing;
    }
    const written = await this.writeBlob(
      version,
      body,
      (received) =>
        this.index.upsert({
          ...version,
          partition,
          committed: true,
          ...(hintFor !== undefined ? { hintFor } : {}),
          blockBytes: this.blockBytes,
          blockChecksums: received.blockChecksums,
          blobPath: version.deleted ? null : blobRelativePath(version.bucket, version.key, version.stamp),
        }),
      version.checksum,
    );
    return written.ok ? ok(undefined) : written;
  }

  /**
   * Replaces a committed copy whose bytes rotted (core/ports.ts BlobStore.replaceCommitted): the new body goes
   * to a temp file, is fsynced and checked against the row's checksum and size, and only then renamed over the
   * old blob file. A body that fails midway or does not match removes only its temp file: the old copy (and its
   * row) stay as they were. The row's block checksums are rewritten after the rename; a crash in between is
   * harmless, since the bytes are the same version's and the old block checksums were cut from good bytes.
   */
  async replaceCommitted(partition: PartitionId, version: ObjectVersion, body: Readable): Promise<Result<void, StoreFailure>> {
    const what = { bucket: version.bucket, key: version.key, stamp: version.stamp };
    const existing = this.lookup(version);
    if (!existing.ok) {
      body.destroy();
      return existing;
    }
    const row = existing.value;
    if (row === null || !row.committed) return this.writeCommitted(partition, version, body, row?.hintFor ?? undefined);
    if (row.deleted || row.blobPath === null) {
      body.destroy();
      return ok(undefined);
    }
    if (row.checksum !== version.checksum || row.size !== version.size) {
      body.destroy();
      return err({ kind: "corrupt", detail: `checksum-mismatch: holds ${row.checksum}/${row.size}B, replacement names ${version.checksum}/${version.size}B` });
    }
    if (this.writesInFlight.has(row.blobPath)) {
      body.destroy();
      return err({ kind: "io", detail: `a write of ${version.bucket}/${version.key}@${version.stamp} is already in progress` });
    }
    this.writesInFlight.add(row.blobPath);
    let tempPath = "";
    try {
      const received = await this.receive(body, row.size, true);
      tempPath = received.tempPath;
      if (received.size !== row.size) return err({ kind: "io", detail: `body ended at ${received.size} B, row says ${row.size} B` });
      if (received.checksum !== row.checksum) return err({ kind: "corrupt", detail: `checksum-mismatch: received ${received.checksum}, version names ${row.checksum}` });
      const finalPath = join(this.blobsDir, row.blobPath);
      await this.install(tempPath, finalPath);
      tempPath = "";
      if (!this.index.replaceBlocks(row, this.blockBytes, received.blockChecksums)) {
        // Dropped while the body streamed (superseded, collected): the file just installed belongs to no row.
        await removeQuietly(finalPath, this.log);
        return err({ kind: "not-found", detail: `${version.bucket}/${version.key}@${version.stamp} went away during its replacement` });
      }
      return ok(undefined);
    } catch (error) {
      if (!body.destroyed) body.destroy();
      return err(this.failureOf(error, "replace", what));
    } finally {
      this.writesInFlight.delete(row.blobPath);
      if (tempPath !== "") await removeQuietly(tempPath, this.log);
    }
  }

  private lookup(what: { bucket: string; key: string; stamp: VersionStamp }): Result<IndexedVersion | null, StoreFailure> {
    try {
      return ok(this.index.get(what.bucket, what.key, what.stamp));
    } catch (error) {
      return err(this.failureOf(error, "lookup", { bucket: what.bucket, key: what.key, stamp: what.stamp }));
    }
  }

  /**
   * Streams a body to a temp file, makes it durable under its blob path, then records the row.
   * `expectChecksum`, when given, must match what was received, or nothing is installed.
   */
  private async writeBlob(
    header: VersionHeader,
    body: Readable,
    record: (received: Received) => boolean,
    expectChecksum?: string,
  ): Promise<Result<{ checksum: string; size: number }, StoreFailure>> {
    const what = { bucket: header.bucket, key: header.key, stamp: header.stamp };
    if (!Number.isSafeInteger(header.size) || header.size < 0 || header.size > this.objectBytesMax || (header.deleted && header.size !== 0)) {
      body.destroy();
      return err({ kind: "io", detail: `size ${header.size} refused (deleted=${header.deleted}, max ${this.objectBytesMax})` });
    }
    const relativePath = blobRelativePath(header.bucket, header.key, header.stamp);
    if (this.writesInFlight.has(relativePath)) {
      body.destroy();
      return err({ kind: "io", detail: `a write of ${header.bucket}/${header.key}@${header.stamp} is already in progress` });
    }
    this.writesInFlight.add(relativePath);
    let received: Received | null = null;
    let installedPath: string | null = null;
    try {
      received = await this.receive(body, header.size, !header.deleted);
      if (received.size !== header.size) {
        return err({ kind: "io", detail: `body ended at ${received.size} B, header says ${header.size} B` });
      }
      if (expectChecksum !== undefined && received.checksum !== expectChecksum) {
        return err({ kind: "corrupt", detail: `checksum-mismatch: received ${received.checksum}, version names ${expectChecksum}` });
      }
      if (!header.deleted) {
        installedPath = join(this.blobsDir, relativePath);
        await this.install(received.tempPath, installedPath);
      }
      received = { ...received, tempPath: "" };
      if (!record(received)) {
        // A committed row appeared for this stamp while we were writing (a commit raced a retried put).
        // The bytes we installed are the same version's; the committed row's block checksums still guard reads.
        this.log.warn("store.blob-write-raced-commit", what);
      }
      installedPath = null;
      return ok({ checksum: received.checksum, size: received.size });
    } catch (error) {
      if (!body.destroyed) body.destroy(); // e.g. the temp file could not be created: nobody reads the body now
      return err(this.failureOf(error, "write", what));
    } finally {
      this.writesInFlight.delete(relativePath);
      if (received && received.tempPath !== "") await removeQuietly(received.tempPath, this.log);
      if (installedPath !== null) await removeQuietly(installedPath, this.log);
    }
  }

  /** Streams a body into a new temp file (or nowhere, for a tombstone), hashing as it goes; fsyncs it. */
  private async receive(body: Readable, bytesMax: number, keepBytes: boolean): Promise<Received> {
    const tempPath = join(this.tmpDir, randomBytes(12).toString("hex"));
    const handle = keepBytes ? await open(tempPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600) : null;
    const sink = new HashingFileSink(handle, bytesMax, this.blockBytes);
    let closed = false;
    try {
      try {
        await pipeline(body, sink);
      } catch (error) {
        throw sink.failure ?? new BodyStreamError(error);
      }
      if (handle) {
        await timedFsync(this.timings, "file", () => handle.sync());
        closed = true;
        await handle.close();
      }
    } catch (error) {
      if (handle) {
        if (!closed) await handle.close().catch(() => {});
        await removeQuietly(tempPath, this.log);
      }
      throw error;
    }
    return { tempPath: handle ? tempPath : "", checksum: sink.checksum(), size: sink.bytesTotal, blockChecksums: sink.blockChecksums() };
  }

  /** Renames a synced temp file into place and fsyncs the directories whose entries changed. */
  private async install(tempPath: string, finalPath: string): Promise<void> {
    const directory = dirname(finalPath);
    const firstCreated = await mkdir(directory, { recursive: true });
    await rename(tempPath, finalPath);
    await timedFsync(this.timings, "directory", () => fsyncDirectory(directory));
    if (firstCreated !== undefined) {
      // New directories: their own entries in their parents must be durable too.
      for (let dir = dirname(directory); dir.length >= this.blobsDir.length; dir = dirname(dir)) {
        await timedFsync(this.timings, "directory", () => fsyncDirectory(dir));
        if (dir === this.blobsDir) break;
      }
    }
  }

  // ---- reads ----

  async headCommitted(bucket: string, key: string): Promise<Result<StoredVersion | null, StoreFailure>> {
    try {
      const row = this.index.headCommitted(bucket, key);
      return ok(row ? storedVersionOf(row) : null);
    } catch (error) {
      return err(this.failureOf(error, "head", { bucket, key }));
    }
  }

  async readBody(bucket: string, key: string, stamp: VersionStamp, range?: ByteRange): Promise<Result<{ version: StoredVersion; body: Readable }, StoreFailure>> {
    const what = { bucket, key, stamp };
    let row: IndexedVersion | null;
    try {
      row = this.index.getCommitted(bucket, key, stamp);
    } catch (error) {
      return err(this.failureOf(error, "read", what));
    }
    if (!row) return err({ kind: "not-found", detail: `no committed ${bucket}/${key}@${stamp}` });
    const version = storedVersionOf(row);
    const start = range?.start ?? 0;
    const endInclusive = Math.min(row.size - 1, range?.endInclusive ?? row.size - 1);
    assert(start >= 0 && Number.isSafeInteger(start), `range start ${start} must be a non-negative integer`);
    if (row.deleted || endInclusive < start) return ok({ version, body: Readable.from([], { objectMode: false }) });
    if (row.blobPath === null) return err(this.corrupt(what, "committed row without a blob path"));
    const blockCount = Math.ceil(row.size / row.blockBytes);
    if (row.blockChecksums.length !== blockCount * 8) {
      return err(this.corrupt(what, `row holds ${row.blockChecksums.length / 8} block checksums for ${blockCount} blocks`));
    }

    let handle: FileHandle;
    try {
      handle = await open(join(this.blobsDir, row.blobPath), "r");
    } catch (error) {
      if (isCode(error, "ENOENT")) return err(this.corrupt(what, "blob file missing"));
      return err(this.failureOf(error, "read", what));
    }
    const reader = new VerifiedBlockReader(handle, row, start, endInclusive, (detail) => {
      this.log.error("store.blob-corrupt", { bucket: row.bucket, key: row.key, stamp: row.stamp, detail });
      this.onCorruptWhileStreaming?.(version, detail);
    });
    const first = await reader.prepareFirstBlock();
    if (!first.ok) {
      await handle.close().catch(() => {});
      if (first.error.kind === "corrupt") this.log.error("store.blob-corrupt", { ...what, detail: first.error.detail });
      return err(first.error);
    }
    return ok({ version, body: reader });
  }

  async drop(bucket: string, key: string, stamp: VersionStamp): Promise<Result<boolean, StoreFailure>> {
    try {
      const row = this.index.remove(bucket, key, stamp);
      if (!row) return ok(false);
      // Row first, file second: a crash in between leaves an orphan file, which start-up removes.
      if (row.blobPath !== null) await removeQuietly(join(this.blobsDir, row.blobPath), this.log);
      return ok(true);
    } catch (error) {
      return err(this.failureOf(error, "drop", { bucket, key, stamp }));
    }
  }

  async listPartition(partition: PartitionId, from: PartitionCursor | undefined, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    try {
      return ok(this.index.listPartition(partition, from, limit).map(storedVersionOf));
    } catch (error) {
      return err(this.failureOf(error, "list-partition", { partition }));
    }
  }

  async partitionsHeld(): Promise<Result<readonly PartitionId[], StoreFailure>> {
    try {
      return ok(this.index.partitionsHeld());
    } catch (error) {
      return err(this.failureOf(error, "partitions-held", {}));
    }
  }

  async listBucket(bucket: string, prefix: string, after: string, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>> {
    try {
      return ok(this.index.listBucket(bucket, prefix, after, limit).map(storedVersionOf));
    } catch (error) {
      return err(this.failureOf(error, "list-bucket", { bucket }));
    }
  }

  async dropPendingBefore(stampCutoff: VersionStamp): Promise<Result<number, StoreFailure>> {
    let dropped = 0;
    try {
      for (;;) {
        const batch = this.index.pendingBefore(stampCutoff, PENDING_DROP_BATCH);
        let droppedInBatch = 0;
        for (const row of batch) {
          if (row.blobPath !== null && this.writesInFlight.has(row.blobPath)) continue; // a retry is rewriting it
          const removed = this.index.remove(row.bucket, row.key, row.stamp);
          if (removed && !removed.committed) {
            if (removed.blobPath !== null) await removeQuietly(join(this.blobsDir, removed.blobPath), this.log);
            droppedInBatch += 1;
          }
        }
        dropped += droppedInBatch;
        if (batch.length < PENDING_DROP_BATCH || droppedInBatch === 0) return ok(dropped);
      }
    } catch (error) {
      return err(this.failureOf(error, "drop-pending", { dropped }));
    }
  }

  // ---- failures ----

  private corrupt(what: Record<string, unknown>, detail: string): StoreFailure {
    this.log.error("store.blob-corrupt", { ...what, detail });
    return { kind: "corrupt", detail };
  }

  private failureOf(error: unknown, operation: string, what: Record<string, unknown>): StoreFailure {
    const failure = storeFailureOf(error);
    if (error instanceof BodyStreamError) this.log.warn("store.blob-body-failed", { operation, ...what, detail: failure.detail });
    else this.log.error("store.blob-store-failed", { operation, ...what, kind: failure.kind, detail: failure.detail });
    return failure;
  }
}

/** The sender's stream failed (it went away, or sent more than it announced). */
class BodyStreamError extends Error {
  override name = "BodyStreamError";
  constructor(cause: unknown) {
    super(`body stream failed: ${messageOf(cause)}`, { cause });
  }
}

class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

export function storeFailureOf(error: unknown): StoreFailure {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return { kind: "disk-full", detail: messageOf(error) };
  return { kind: "io", detail: messageOf(error) };
}

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const isCode = (error: unknown, code: string): boolean => (error as { code?: unknown } | null)?.code === code;

async function removeQuietly(path: string, log: Log): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isCode(error, "ENOENT")) log.error("store.blob-remove-failed", { path, detail: messageOf(error) });
  }
}

export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A Writable that appends to a file and hashes what it writes: the whole-body xxhash64, one xxhash64 per
 * block, and the byte count. Fails as soon as more than `bytesMax` arrive. A null handle only hashes.
 */
class HashingFileSink extends Writable {
  bytesTotal = 0;
  failure: Error | null = null;
  private readonly whole = createXxhash64();
  private block = createXxhash64();
  private blockFillBytes = 0;
  private readonly blockDigests: bigint[] = [];

  constructor(
    private readonly handle: FileHandle | null,
    private readonly bytesMax: number,
    private readonly blockBytes: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    const position = this.bytesTotal;
    for (const buffer of buffers) {
      if (this.bytesTotal + buffer.length > this.bytesMax) {
        this.failure = new BodyStreamError(new BodyTooLargeError(`body exceeds the ${this.bytesMax} B it announced`));
        callback(this.failure);
        return;
      }
      this.hash(buffer);
    }
    if (!this.handle) {
      callback();
      return;
    }
    writeAll(this.handle, buffers, position).then(
      () => callback(),
      (error: Error) => {
        this.failure = error;
        callback(error);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.blockFillBytes > 0) this.blockDigests.push(this.block.digest());
    this.blockFillBytes = 0;
    callback();
  }

  checksum(): string {
    return checksumHex(this.whole.digest());
  }

  blockChecksums(): Buffer {
    const out = Buffer.alloc(this.blockDigests.length * 8);
    this.blockDigests.forEach((digest, i) => out.writeBigUInt64BE(digest, i * 8));
    return out;
  }

  private hash(buffer: Buffer): void {
    this.whole.update(buffer);
    this.bytesTotal += buffer.length;
    let offset = 0;
    while (offset < buffer.length) {
      const take = Math.min(this.blockBytes - this.blockFillBytes, buffer.length - offset);
      this.block.update(offset === 0 && take === buffer.length ? buffer : buffer.subarray(offset, offset + take));
      this.blockFillBytes += take;
      offset += take;
      if (this.blockFillBytes === this.blockBytes) {
        this.blockDigests.push(this.block.digest());
        this.block = createXxhash64();
        this.blockFillBytes = 0;
      }
    }
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
    pending = rest;
  }
}

/**
 * A body stream over one blob file that hands on a block only after it passed its checksum. The first block
 * is read and checked by prepareFirstBlock, before the caller hands the stream on.
 */
class VerifiedBlockReader extends Readable {
  private nextBlock: number;
  private readonly lastBlock: number;
  private readonly fullRead: boolean;
  private readonly whole = createXxhash64();
  private firstChunk: Buffer | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly row: IndexedVersion,
    private readonly start: number,
    private readonly endInclusive: number,
    private readonly reportCorrupt: (detail: string) => void,
  ) {
    super({ highWaterMark: 2 * row.blockBytes });
    this.nextBlock = Math.floor(start / row.blockBytes);
    this.lastBlock = Math.floor(endInclusive / row.blockBytes);
    this.fullRead = start === 0 && endInclusive === row.size - 1;
  }

  async prepareFirstBlock(): Promise<Result<void, StoreFailure>> {
    try {
      const stat = await this.handle.stat();
      if (stat.size !== this.row.size) return err({ kind: "corrupt", detail: `blob file holds ${stat.size} B, row says ${this.row.size} B` });
      this.firstChunk = await this.readVerifiedBlock();
      return ok(undefined);
    } catch (error) {
      if (error instanceof CorruptBlobError) return err({ kind: "corrupt", detail: error.message });
      return err(storeFailureOf(error));
    }
  }

  override _read(): void {
    if (this.firstChunk) {
      const chunk = this.firstChunk;
      this.firstChunk = null;
      this.push(chunk);
      if (this.nextBlock > this.lastBlock) this.push(null);
      return;
    }
    if (this.nextBlock > this.lastBlock) {
      this.push(null);
      return;
    }
    this.readVerifiedBlock().then(
      (chunk) => {
        this.push(chunk);
        if (this.nextBlock > this.lastBlock) this.push(null);
      },
      (error: Error) => {
        if (error instanceof CorruptBlobError) this.reportCorrupt(error.message);
        this.destroy(error);
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Reads block `nextBlock`, checks it, and returns the part of it inside the range. */
  private async readVerifiedBlock(): Promise<Buffer> {
    const index = this.nextBlock;
    const blockStart = index * this.row.blockBytes;
    const blockLength = Math.min(this.row.blockBytes, this.row.size - blockStart);
    const buffer = Buffer.allocUnsafe(blockLength);
    let filled = 0;
    while (filled < blockLength) {
      const { bytesRead } = await this.handle.read(buffer, filled, blockLength - filled, blockStart + filled);
      if (bytesRead === 0) throw new CorruptBlobError(`blob file ends inside block ${index}`);
      filled += bytesRead;
    }
    const expected = this.row.blockChecksums.readBigUInt64BE(index * 8);
    const actual = xxhash64Bytes(buffer);
    if (actual !== expected) throw new CorruptBlobError(`block ${index} fails its checksum (${checksumHex(actual)} != ${checksumHex(expected)})`);
    this.nextBlock = index + 1;
    if (this.fullRead) {
      this.whole.update(buffer);
      if (index === this.lastBlock) {
        const checksum = checksumHex(this.whole.digest());
        if (checksum !== this.row.checksum) throw new CorruptBlobError(`blob fails its whole checksum (${checksum} != ${this.row.checksum})`);
      }
    }
    const from = Math.max(this.start, blockStart) - blockStart;
    const to = Math.min(this.endInclusive + 1, blockStart + blockLength) - blockStart;
    return from === 0 && to === blockLength ? buffer : buffer.subarray(from, to);
  }
}

