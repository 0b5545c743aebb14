// The BlobStore contract (core/ports.ts): one set of cases that every store must pass, run against the
// simulated disk (sim-disk.test.ts) and the file-system store (fs-blob-store.test.ts). The simulator's
// promise rests on its disk doing what the real store does; these cases are where the two are held to it.
// What a store must do:
// - list a partition in (bucket, key, stamp) order and a bucket in key order, keys in UTF-8 byte order (S3's
//   order), not JS string order (UTF-16 code units): "\uFFFF" sorts before "\u{10000}" in bytes, after in JS;
// - show committed versions only in listPartition, listBucket, headCommitted and readBody, while counting a
//   partition held by pending rows alone in partitionsHeld;
// - resume a partition listing from a cursor: "key-start" at a key's first version, "after" just past one;
// - give the partition digest of its newest committed version per key, tombstones included;
// - serve a range of a body, clamped to the body's end;
// - keep a committed copy when the same stamp is written again (writePending, writeCommitted); replace its
//   bytes only through replaceCommitted, and only with bytes that match the version;
// - keep every acknowledged write through a crash, and apply a write in flight at a crash whole or not at all;
// - after a restart, forget a committed copy whose bytes are gone (runtime/node/startup.ts).
// Each harness supplies bodies of real bytes: the simulated body of bytes is their size and xxhash64, so both
// stores compute the same checksums and digests for the same writes.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PartitionId } from "../../core/ids.ts";
import { compareVersionPlaces } from "../../core/key-order.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { afterVersion, keyStart } from "../../core/partition-cursor.ts";
import { type DigestSum, emptyDigestSum, renderDigest, withKeyChanged } from "../../core/partition-digest.ts";
import type { BlobStore, PartitionCursor, StoredVersion, VersionHeader } from "../../core/ports.ts";
import { partitionDigest } from "../../core/storage-node.ts";
import { bytesOf, checksumOf, freshStamp, headerOf, versionOf } from "./support/versions.ts";

export { bytesOf, checksumOf, freshStamp, headerOf, versionOf };

/** One store under test, on one disk that outlives the store's process. */
export interface StoreHarness<Body> {
  /** The store of the process running now (a new one after each restart). */
  readonly store: BlobStore<Body>;
  /** A body holding these bytes (a fresh one each call: a stream is read once). */
  bodyOf(bytes: Uint8Array): Body;
  /** What a body read back holds: its bytes, for a store that holds real bytes, else its size alone (a body is read once). */
  readBack(body: Body): Promise<{ readonly size: number; readonly bytes?: Buffer }>;
  /** The process crashes (nothing more is synced) and starts again on the same disk. */
  crashAndRestart(): Promise<void>;
  /**
   * The process crashes while the operations `start` began are in flight (none has been answered), and starts
   * again; for a store whose crash the test can place there.
   */
  readonly crashDuring?: (start: (store: BlobStore<Body>) => void) => Promise<void>;
  /**
   * The bytes of one committed copy are lost while the process is down (a blob file gone), then it starts again;
   * resolves to the partitions the start says lost copies (what the node hands core/catch-up.ts as lostCopies).
   */
  readonly loseBytesAndRestart?: (version: { bucket: string; key: string; stamp: VersionStamp }) => Promise<readonly PartitionId[]>;
  close(): Promise<void>;
}

export interface StoreFactory<Body> {
  readonly name: string;
  /** Its harness has crashDuring. */
  readonly crashesMidWrite: boolean;
  /** Its harness has loseBytesAndRestart. */
  readonly losesBytes: boolean;
  open(): Promise<StoreHarness<Body>>;
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/** Keys where JS `<` and UTF-8 byte order disagree, and some where they agree. */
export const keysOutOfJsOrder = ["\uFFFF", "\u{10000}", "\uE000", "\u{1F600}", "\uD7FF", "\uFF21", "z", "é", "a", "a/\u{10FFFF}", "a/\uFFFD", "a\u0000b", "a\u0001"];

/** Writes and commits one version; returns it. */
async function putCommitted<Body>(h: StoreHarness<Body>, partition: PartitionId, bucket: string, key: string, bytes: Buffer, stamp = freshStamp()): Promise<ObjectVersion> {
  const header = headerOf(bucket, key, stamp, bytes.length);
  const put = await h.store.writePending(partition, header, h.bodyOf(bytes), undefined);
  expect(put, `put ${key}`).toEqual({ ok: true, value: { checksum: checksumOf(bytes), size: bytes.length } });
  const version = versionOf(header, checksumOf(bytes));
  expect(await h.store.commit(partition, version, undefined), `commit ${key}`).toEqual({ ok: true, value: undefined });
  return version;
}

async function putTombstone<Body>(h: StoreHarness<Body>, partition: PartitionId, bucket: string, key: string, stamp = freshStamp()): Promise<ObjectVersion> {
  const header = headerOf(bucket, key, stamp, 0, true);
  const put = await h.store.writePending(partition, header, h.bodyOf(Buffer.alloc(0)), undefined);
  expect(put.ok, `tombstone ${key}`).toBe(true);
  const version = versionOf(header, checksumOf(Buffer.alloc(0)));
  expect(await h.store.commit(partition, version, undefined)).toEqual({ ok: true, value: undefined });
  return version;
}

/** A whole partition listing, page by page from "after" cursors, as core reads it. */
export async function listAll<Body>(store: BlobStore<Body>, partition: PartitionId, pageSize: number, from?: PartitionCursor): Promise<StoredVersion[]> {
  const all: StoredVersion[] = [];
  let cursor = from;
  for (let pages = 0; ; pages++) {
    expect(pages, "listing ends").toBeLessThan(10_000);
    const page = await store.listPartition(partition, cursor, pageSize);
    if (!page.ok) throw new Error(`listPartition: ${page.error.kind} ${page.error.detail}`);
    expect(page.value.length).toBeLessThanOrEqual(pageSize);
    all.push(...page.value);
    if (page.value.length < pageSize) return all;
    cursor = afterVersion(page.value[page.value.length - 1]!);
  }
}

/** A whole bucket listing (newest committed version per key), page by page from the last key. */
export async function listBucketAll<Body>(store: BlobStore<Body>, bucket: string, prefix: string, pageSize: number): Promise<StoredVersion[]> {
  const all: StoredVersion[] = [];
  let after = "";
  for (let pages = 0; ; pages++) {
    expect(pages, "listing ends").toBeLessThan(10_000);
    const page = await store.listBucket(bucket, prefix, after, pageSize);
    if (!page.ok) throw new Error(`listBucket: ${page.error.kind} ${page.error.detail}`);
    all.push(...page.value);
    if (page.value.length < pageSize) return all;
    after = page.value[page.value.length - 1]!.key;
  }
}

const placeOf = (v: { bucket: string; key: string; stamp: string }): string => `${v.bucket} ${JSON.stringify(v.key)} ${v.stamp}`;

// ---- a reference model of what a store holds, for random sequences of operations ----

interface ModelRow {
  readonly version: ObjectVersion;
  committed: boolean;
}

/** What the contract says a store holds after a sequence of acknowledged operations. */
export class ModelStore {
  readonly rows = new Map<string, ModelRow>();

  writePending(header: VersionHeader, checksum: string): void {
    const id = placeOf(header);
    if (this.rows.get(id)?.committed) return;
    this.rows.set(id, { version: versionOf(header, checksum), committed: false });
  }

  commit(version: ObjectVersion): void {
    const row = this.rows.get(placeOf(version));
    if (row && row.version.checksum === version.checksum) row.committed = true;
  }

  writeCommitted(version: ObjectVersion): void {
    const id = placeOf(version);
    if (this.rows.get(id)?.committed) return;
    this.rows.set(id, { version, committed: true });
  }

  drop(place: { bucket: string; key: string; stamp: string }): void {
    this.rows.delete(placeOf(place));
  }

  dropPendingBefore(cutoff: VersionStamp): void {
    for (const [id, row] of [...this.rows]) if (!row.committed && row.version.stamp < cutoff) this.rows.delete(id);
  }

  committedSorted(): ObjectVersion[] {
    return [...this.rows.values()]
      .filter((r) => r.committed)
      .map((r) => r.version)
      .sort((a, b) => utf8Order(a.key, b.key) || (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  }

  newestPerKey(): ObjectVersion[] {
    const newest = new Map<string, ObjectVersion>();
    for (const v of this.committedSorted()) newest.set(v.key, v);
    return [...newest.values()];
  }

  digest(): { hash: string; count: number } {
    let sum: DigestSum = emptyDigestSum;
    for (const v of this.newestPerKey()) sum = withKeyChanged(sum, null, v);
    return renderDigest(sum);
  }
}

export type Op =
  | { readonly kind: "put"; readonly key: number; readonly stamp: number; readonly size: number; readonly deleted: boolean }
  | { readonly kind: "commit"; readonly key: number; readonly stamp: number }
  | { readonly kind: "write-committed"; readonly key: number; readonly stamp: number; readonly size: number }
  | { readonly kind: "drop"; readonly key: number; readonly stamp: number }
  | { readonly kind: "drop-pending-before"; readonly stamp: number };

export const opKeys = ["k", "k/1", "\uFFFF", "\u{10000}", "é", "\uE000x", "\u{1F600}/a", "a\u0000"];
const keyIndex = fc.nat({ max: opKeys.length - 1 });
const stampIndex = fc.nat({ max: 5 });
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("put" as const), key: keyIndex, stamp: stampIndex, size: fc.nat({ max: 40 }), deleted: fc.boolean() }),
  fc.record({ kind: fc.constant("commit" as const), key: keyIndex, stamp: stampIndex }),
  fc.record({ kind: fc.constant("write-committed" as const), key: keyIndex, stamp: stampIndex, size: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant("drop" as const), key: keyIndex, stamp: stampIndex }),
  fc.record({ kind: fc.constant("drop-pending-before" as const), stamp: stampIndex }),
);

// Bytes of a version are a function of its place (and size), so a re-sent write of the same stamp carries the
// same bytes, as a retried put and a repair pull do.
const opBytes = (key: number, stamp: number, size: number): Buffer => bytesOf(size, key * 7 + stamp);

/** Stores hold their test data apart: each property run writes its own partition of its own bucket. */
let isolation = 1000;
export const isolated = (): { partition: PartitionId; bucket: string } => {
  isolation += 1;
  return { partition: isolation as PartitionId, bucket: `bucket-${isolation}` };
};

/** Any key of whole code points (no lone surrogate, which UTF-8 cannot carry): ASCII, U+0000, BMP, astral. */
export const wellFormedKey = fc.string({ unit: "binary", minLength: 1, maxLength: 8 }).filter((k) => Buffer.from(k, "utf8").toString("utf8") === k);

/** Runs the contract against one kind of store. */
export function blobStoreContract<Body>(factory: StoreFactory<Body>): void {
  const withStore = async (run: (h: StoreHarness<Body>) => Promise<void>): Promise<void> => {
    const h = await factory.open();
    try {
      await run(h);
    } finally {
      await h.close();
    }
  };

  describe(`BlobStore contract: ${factory.name}`, () => {
    // ---- order ----

    it("lists a partition and a bucket in UTF-8 byte order, not JS string order", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        for (const [i, key] of keysOutOfJsOrder.entries()) await putCommitted(h, partition, bucket, key, bytesOf(3, i));
        const byBytes = [...keysOutOfJsOrder].sort(utf8Order);
        expect(byBytes).not.toEqual([...keysOutOfJsOrder].sort()); // the case where the two orders differ
        expect((await listAll(h.store, partition, 100)).map((v) => v.key)).toEqual(byBytes);
        expect((await listAll(h.store, partition, 2)).map((v) => v.key)).toEqual(byBytes);
        expect((await listBucketAll(h.store, bucket, "", 100)).map((v) => v.key)).toEqual(byBytes);
        expect((await listBucketAll(h.store, bucket, "", 3)).map((v) => v.key)).toEqual(byBytes);
        // "after" and a prefix are byte order too: past "\uFFFF" come the astral keys only.
        const afterBmp = await h.store.listBucket(bucket, "", "\uFFFF", 100);
        expect(afterBmp.ok && afterBmp.value.map((v) => v.key)).toEqual(["\u{10000}", "\u{1F600}"]);
        expect((await listBucketAll(h.store, bucket, "a/", 1)).map((v) => v.key)).toEqual(["a/\uFFFD", "a/\u{10FFFF}"]);
        // A cursor resumes in the same order.
        const fromKey = await h.store.listPartition(partition, keyStart(bucket, "\uFFFF"), 100);
        expect(fromKey.ok && fromKey.value.map((v) => v.key)).toEqual(["\uFFFF", "\u{10000}", "\u{1F600}"]);
      });
    });

    it("a partition listing read in pages is every committed version of any key set, in UTF-8 byte order", async () => {
      await withStore(async (h) => {
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(wellFormedKey, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (keys, pageSize) => {
            const { partition, bucket } = isolated();
            for (const [i, key] of keys.entries()) await putCommitted(h, partition, bucket, key, bytesOf(2, i));
            const sorted = [...keys].sort(utf8Order);
            expect((await listAll(h.store, partition, pageSize)).map((v) => v.key)).toEqual(sorted);
            expect((await listBucketAll(h.store, bucket, "", pageSize)).map((v) => v.key)).toEqual(sorted);
          }),
          { numRuns: 40 },
        );
      });
    });

    // ---- committed only ----

    it("lists, heads and reads committed versions only; a partition of pending rows alone is still held", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const old = await putCommitted(h, partition, bucket, "k", bytesOf(5, 1));
        const newer = headerOf(bucket, "k", freshStamp(), 6);
        expect((await h.store.writePending(partition, newer, h.bodyOf(bytesOf(6, 2)), undefined)).ok).toBe(true);
        const onlyPending = headerOf(bucket, "p", freshStamp(), 4);
        expect((await h.store.writePending(partition, onlyPending, h.bodyOf(bytesOf(4, 3)), undefined)).ok).toBe(true);

        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([placeOf(old)]);
        expect((await listAll(h.store, partition, 1)).map(placeOf)).toEqual([placeOf(old)]);
        expect((await listBucketAll(h.store, bucket, "", 10)).map(placeOf)).toEqual([placeOf(old)]);
        const head = await h.store.headCommitted(bucket, "k");
        expect(head.ok && head.value?.stamp).toBe(old.stamp);
        expect(await h.store.headCommitted(bucket, "p")).toEqual({ ok: true, value: null });
        const read = await h.store.readBody(bucket, "k", newer.stamp);
        expect(read.ok || read.error.kind).toBe("not-found");
        expect(await partitionDigest(h.store, partition)).toEqual({ ok: true, value: digestOf([old]) });

        const pendingOnly = isolated();
        const lone = headerOf(pendingOnly.bucket, "x", freshStamp(), 1);
        expect((await h.store.writePending(pendingOnly.partition, lone, h.bodyOf(bytesOf(1, 4)), undefined)).ok).toBe(true);
        const held = await h.store.partitionsHeld();
        expect(held.ok && held.value).toContain(pendingOnly.partition);
        expect(held.ok && held.value).toContain(partition);
        expect(held.ok && [...held.value]).toEqual(held.ok ? [...held.value].sort((a, b) => a - b) : []);
        expect(await listAll(h.store, pendingOnly.partition, 10)).toEqual([]);
      });
    });

    it("a listed version says what was committed: partition, checksum, size, metadata and the committer's etag", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(9, 5);
        const header = headerOf(bucket, "meta", freshStamp(), bytes.length);
        expect((await h.store.writePending(partition, header, h.bodyOf(bytes), undefined)).ok).toBe(true);
        const version = { ...versionOf(header, checksumOf(bytes)), etag: "fedcba9876543210fedcba9876543210", contentType: "video/mp4", userMeta: { camera: "b" } };
        expect(await h.store.commit(partition, version, undefined)).toEqual({ ok: true, value: undefined });
        const [listed] = await listAll(h.store, partition, 10);
        expect(listed).toEqual({ ...version, partition, committed: true });
        const head = await h.store.headCommitted(bucket, "meta");
        expect(head).toEqual({ ok: true, value: { ...version, partition, committed: true } });
      });
    });

    // ---- cursors ----

    it("resumes a partition listing: key-start at a key's first version, after just past one version", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const a1 = await putCommitted(h, partition, bucket, "a", bytesOf(1, 1));
        const b1 = await putCommitted(h, partition, bucket, "b", bytesOf(1, 2));
        const b2 = await putCommitted(h, partition, bucket, "b", bytesOf(1, 3));
        const b3 = await putTombstone(h, partition, bucket, "b");
        const c1 = await putCommitted(h, partition, bucket, "\u{10000}", bytesOf(1, 4));
        const places = async (from: PartitionCursor, limit = 10) => {
          const page = await h.store.listPartition(partition, from, limit);
          if (!page.ok) throw new Error(page.error.detail);
          return page.value.map(placeOf);
        };
        expect(await places(keyStart(bucket, "b"))).toEqual([b1, b2, b3, c1].map(placeOf));
        expect(await places(keyStart(bucket, "b"), 2)).toEqual([b1, b2].map(placeOf));
        expect(await places(afterVersion(b1))).toEqual([b2, b3, c1].map(placeOf));
        expect(await places(afterVersion(b3))).toEqual([c1].map(placeOf));
        expect(await places(afterVersion(a1))).toEqual([b1, b2, b3, c1].map(placeOf));
        expect(await places(afterVersion(c1))).toEqual([]);
        // A cursor names a place, not a row: it resumes right after a version dropped since, and at a key no longer held.
        expect(await h.store.drop(bucket, "b", b2.stamp)).toEqual({ ok: true, value: true });
        expect(await places(afterVersion(b2))).toEqual([b3, c1].map(placeOf));
        expect(await places(keyStart(bucket, "a\u0000"))).toEqual([b1, b3, c1].map(placeOf));
        expect(await places(keyStart(bucket, "\uFFFF"))).toEqual([c1].map(placeOf));
        // Another bucket's cursor: resumes in bucket order.
        expect(await places(keyStart("a-bucket-before", "zzz"))).toEqual([a1, b1, b3, c1].map(placeOf));
        expect(await places(keyStart(`${bucket}~`, ""))).toEqual([]);
      });
    });

    // ---- digests ----

    it("the partition digest covers the newest committed version of each key, tombstones included, pending rows not", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const digest = async () => {
          const d = await partitionDigest(h.store, partition, 2);
          if (!d.ok) throw new Error(d.error.detail);
          return d.value;
        };
        expect(await digest()).toEqual(digestOf([]));
        await putCommitted(h, partition, bucket, "x", bytesOf(4, 1));
        const x2 = await putCommitted(h, partition, bucket, "x", bytesOf(4, 2));
        const y = await putCommitted(h, partition, bucket, "\u{1F600}", bytesOf(4, 3));
        const z = await putTombstone(h, partition, bucket, "\uFFFF");
        expect(await digest()).toEqual(digestOf([x2, y, z]));
        const before = await digest();
        expect((await h.store.writePending(partition, headerOf(bucket, "x", freshStamp(), 2), h.bodyOf(bytesOf(2, 9)), undefined)).ok).toBe(true);
        expect(await digest()).toEqual(before);
        const zLive = await putCommitted(h, partition, bucket, "\uFFFF", bytesOf(1, 5));
        expect(await digest()).toEqual(digestOf([x2, y, zLive]));
        expect(await digest()).not.toEqual(before);
      });
    });

    // ---- ranges ----

    it("serves a body whole or a range of it, clamped to its end; a tombstone's body is empty", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(100, 7);
        const v = await putCommitted(h, partition, bucket, "ranged", bytes);
        const cases = [
          { range: undefined, from: 0, to: 100 },
          { range: { start: 0, endInclusive: 0 }, from: 0, to: 1 },
          { range: { start: 10, endInclusive: 19 }, from: 10, to: 20 },
          { range: { start: 99, endInclusive: 99 }, from: 99, to: 100 },
          { range: { start: 90, endInclusive: 1_000 }, from: 90, to: 100 },
          { range: { start: 100, endInclusive: 200 }, from: 100, to: 100 },
        ];
        for (const c of cases) {
          const read = await h.store.readBody(bucket, "ranged", v.stamp, c.range);
          if (!read.ok) throw new Error(`${JSON.stringify(c.range)}: ${read.error.detail}`);
          expect(read.value.version).toEqual({ ...v, partition, committed: true });
          const back = await h.readBack(read.value.body);
          expect(back.size, JSON.stringify(c.range)).toBe(c.to - c.from);
          if (back.bytes) expect(back.bytes.equals(bytes.subarray(c.from, c.to)), JSON.stringify(c.range)).toBe(true);
        }
        const t = await putTombstone(h, partition, bucket, "ranged");
        const read = await h.store.readBody(bucket, "ranged", t.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expect(read.value.version.deleted).toBe(true);
        expect((await h.readBack(read.value.body)).size).toBe(0);
        const head = await h.store.headCommitted(bucket, "ranged");
        expect(head.ok && head.value).toEqual({ ...t, partition, committed: true });
        expect((await h.store.readBody(bucket, "ranged", freshStamp())).ok).toBe(false);
      });
    });

    // ---- the same stamp written again ----

    it("a committed copy stays when its stamp is written again, pending or committed; a pending one is replaced", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(8, 1);
        const v = await putCommitted(h, partition, bucket, "k", bytes);
        const header = headerOf(bucket, "k", v.stamp, 8);
        const other = bytesOf(8, 2);
        // A retried put: answered with the committed copy's checksum, the copy still committed.
        const retried = await h.store.writePending(partition, header, h.bodyOf(other), undefined);
        expect(retried).toEqual({ ok: true, value: { checksum: v.checksum, size: 8 } });
        // A repair's delivery of the same stamp with other bytes (and a checksum to match them): kept as it was.
        expect(await h.store.writeCommitted(partition, versionOf(header, checksumOf(other)), h.bodyOf(other), undefined)).toEqual({ ok: true, value: undefined });
        const head = await h.store.headCommitted(bucket, "k");
        expect(head.ok && head.value).toEqual({ ...v, partition, committed: true });
        const read = await h.store.readBody(bucket, "k", v.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expectBytes(await h.readBack(read.value.body), bytes);
        expect(await listAll(h.store, partition, 10)).toEqual([{ ...v, partition, committed: true }]);

        // A pending row is replaced by a second put of its stamp, and by a committed delivery.
        const pendingHeader = headerOf(bucket, "p", freshStamp(), 8);
        expect((await h.store.writePending(partition, pendingHeader, h.bodyOf(other), undefined)).ok).toBe(true);
        expect(await h.store.writePending(partition, pendingHeader, h.bodyOf(bytes), undefined)).toEqual({ ok: true, value: { checksum: checksumOf(bytes), size: 8 } });
        const delivered = versionOf(pendingHeader, checksumOf(other));
        expect(await h.store.writeCommitted(partition, delivered, h.bodyOf(other), undefined)).toEqual({ ok: true, value: undefined });
        const p = await h.store.headCommitted(bucket, "p");
        expect(p.ok && p.value).toEqual({ ...delivered, partition, committed: true });
      });
    });

    it("refuses a committed write or a commit whose bytes do not match the version, and a commit of nothing", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(8, 1);
        const header = headerOf(bucket, "k", freshStamp(), 8);
        const wrong = await h.store.writeCommitted(partition, versionOf(header, checksumOf(bytesOf(8, 2))), h.bodyOf(bytes), undefined);
        expect(wrong.ok || wrong.error.kind).toBe("corrupt");
        const short = await h.store.writeCommitted(partition, versionOf({ ...header, size: 9 }, checksumOf(bytes)), h.bodyOf(bytes), undefined);
        expect(short.ok).toBe(false);
        expect(await h.store.headCommitted(bucket, "k")).toEqual({ ok: true, value: null });
        expect(await listAll(h.store, partition, 10)).toEqual([]);

        const absent = await h.store.commit(partition, versionOf(header, checksumOf(bytes)), undefined);
        expect(absent.ok || absent.error.kind).toBe("not-found");
        expect((await h.store.writePending(partition, header, h.bodyOf(bytes), undefined)).ok).toBe(true);
        const mismatched = await h.store.commit(partition, versionOf(header, checksumOf(bytesOf(8, 3))), undefined);
        expect(mismatched.ok || mismatched.error.kind).toBe("corrupt");
        const resized = await h.store.commit(partition, versionOf({ ...header, size: 7 }, checksumOf(bytes)), undefined);
        expect(resized.ok || resized.error.kind).toBe("corrupt");
        expect(await h.store.headCommitted(bucket, "k")).toEqual({ ok: true, value: null });
        const version = versionOf(header, checksumOf(bytes));
        expect(await h.store.commit(partition, version, undefined)).toEqual({ ok: true, value: undefined });
        // Committing again is idempotent; naming other bytes is still refused.
        expect(await h.store.commit(partition, version, undefined)).toEqual({ ok: true, value: undefined });
        const again = await h.store.commit(partition, versionOf(header, checksumOf(bytesOf(8, 3))), undefined);
        expect(again.ok || again.error.kind).toBe("corrupt");
      });
    });

    it("commit under a later stamp re-keys the pending copy: it is seen under the final stamp only, through a retry and a crash", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(24, 5);
        const written = freshStamp();
        const between = freshStamp();
        const completed = freshStamp();
        const header = headerOf(bucket, "k", written, bytes.length);
        expect((await h.store.writePending(partition, header, h.bodyOf(bytes), undefined)).ok).toBe(true);
        // A version of the key committed meanwhile, by a PUT that began later and finished first.
        const other = await putCommitted(h, partition, bucket, "k", bytesOf(8, 6), between);
        const version = { ...versionOf(header, checksumOf(bytes)), stamp: completed };
        const mismatched = await h.store.commit(partition, { ...version, checksum: checksumOf(bytesOf(24, 7)) }, undefined, written);
        expect(mismatched.ok || mismatched.error.kind).toBe("corrupt");
        expect(await h.store.commit(partition, version, undefined, written)).toEqual({ ok: true, value: undefined });
        const expectFinal = async (): Promise<void> => {
          const head = await h.store.headCommitted(bucket, "k");
          expect(head.ok && head.value?.stamp).toBe(completed);
          expect((await listAll(h.store, partition, 10)).map((v) => v.stamp)).toEqual([other.stamp, completed]);
          const read = await h.store.readBody(bucket, "k", completed);
          expect(read.ok && (await h.readBack(read.value.body))).toMatchObject({ size: bytes.length });
          const gone = await h.store.readBody(bucket, "k", written);
          expect(gone.ok || gone.error.kind).toBe("not-found");
        };
        await expectFinal();
        // A retried commit (its reply was lost) finds the version under its final stamp.
        expect(await h.store.commit(partition, version, undefined, written)).toEqual({ ok: true, value: undefined });
        await h.crashAndRestart();
        await expectFinal();
        // Its pending record is gone with the re-key: collecting pending writes leaves the committed copy.
        expect((await h.store.dropPendingBefore(freshStamp())).ok).toBe(true);
        await expectFinal();
      });
    });

    it("replaceCommitted puts matching bytes in a committed copy's place, refuses others, and stores a copy it lacks", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const bytes = bytesOf(16, 1);
        const v = await putCommitted(h, partition, bucket, "k", bytes);
        expect(await h.store.replaceCommitted(partition, v, h.bodyOf(bytes))).toEqual({ ok: true, value: undefined });
        const other = bytesOf(16, 2);
        const refused = await h.store.replaceCommitted(partition, v, h.bodyOf(other));
        expect(refused.ok || refused.error.kind).toBe("corrupt");
        const read = await h.store.readBody(bucket, "k", v.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expectBytes(await h.readBack(read.value.body), bytes);
        expect(await listAll(h.store, partition, 10)).toEqual([{ ...v, partition, committed: true }]);

        // Not held: stored as writeCommitted stores it. A tombstone: left as it is.
        const lacking = versionOf(headerOf(bucket, "lacking", freshStamp(), 16), checksumOf(bytes));
        expect(await h.store.replaceCommitted(partition, lacking, h.bodyOf(bytes))).toEqual({ ok: true, value: undefined });
        const lackingHead = await h.store.headCommitted(bucket, "lacking");
        expect(lackingHead.ok && lackingHead.value).toEqual({ ...lacking, partition, committed: true });
        const t = await putTombstone(h, partition, bucket, "gone");
        expect(await h.store.replaceCommitted(partition, t, h.bodyOf(Buffer.alloc(0)))).toEqual({ ok: true, value: undefined });
        const tHead = await h.store.headCommitted(bucket, "gone");
        expect(tHead.ok && tHead.value).toEqual({ ...t, partition, committed: true });
      });
    });

    // ---- tombstones, drops, pending expiry ----

    it("a tombstone is a committed version: listed, headed and digested; a bucket listing shows it as the key's newest", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const v = await putCommitted(h, partition, bucket, "k", bytesOf(3, 1));
        const t = await putTombstone(h, partition, bucket, "k");
        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([v, t].map(placeOf));
        const [newest] = await listBucketAll(h.store, bucket, "", 10);
        expect(newest).toEqual({ ...t, partition, committed: true });
        const d = await partitionDigest(h.store, partition);
        expect(d.ok && d.value).toEqual(digestOf([t]));
      });
    });

    it("drop removes one version, pending or committed, and says whether there was one", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const v1 = await putCommitted(h, partition, bucket, "k", bytesOf(3, 1));
        const v2 = await putCommitted(h, partition, bucket, "k", bytesOf(3, 2));
        const pending = headerOf(bucket, "k", freshStamp(), 3);
        expect((await h.store.writePending(partition, pending, h.bodyOf(bytesOf(3, 3)), undefined)).ok).toBe(true);
        expect(await h.store.drop(bucket, "k", v2.stamp)).toEqual({ ok: true, value: true });
        expect(await h.store.drop(bucket, "k", v2.stamp)).toEqual({ ok: true, value: false });
        expect(await h.store.drop(bucket, "k", pending.stamp)).toEqual({ ok: true, value: true });
        expect(await h.store.drop(bucket, "never", v1.stamp)).toEqual({ ok: true, value: false });
        const head = await h.store.headCommitted(bucket, "k");
        expect(head.ok && head.value?.stamp).toBe(v1.stamp);
        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([placeOf(v1)]);
        const commitDropped = await h.store.commit(partition, versionOf(pending, checksumOf(bytesOf(3, 3))), undefined);
        expect(commitDropped.ok || commitDropped.error.kind).toBe("not-found");
      });
    });

    it("dropPendingBefore removes pending rows older than the cut-off, and nothing committed", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const oldPending = headerOf(bucket, "old", freshStamp(), 2);
        expect((await h.store.writePending(partition, oldPending, h.bodyOf(bytesOf(2, 1)), undefined)).ok).toBe(true);
        const committed = await putCommitted(h, partition, bucket, "kept", bytesOf(2, 2));
        const cutoff = freshStamp();
        const newPending = headerOf(bucket, "new", freshStamp(), 2);
        expect((await h.store.writePending(partition, newPending, h.bodyOf(bytesOf(2, 3)), undefined)).ok).toBe(true);
        const dropped = await h.store.dropPendingBefore(cutoff);
        expect(dropped.ok && dropped.value).toBeGreaterThanOrEqual(1);
        const late = await h.store.commit(partition, versionOf(oldPending, checksumOf(bytesOf(2, 1))), undefined);
        expect(late.ok || late.error.kind).toBe("not-found");
        expect(await h.store.commit(partition, versionOf(newPending, checksumOf(bytesOf(2, 3))), undefined)).toEqual({ ok: true, value: undefined });
        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([placeOf(committed), placeOf(newPending)].sort());
      });
    });

    // ---- the model: any sequence of operations ----

    it("after any sequence of writes, commits, drops and expiries, listings, heads and the digest are the model's", async () => {
      await withStore(async (h) => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 4 }), async (ops, pageSize) => {
            const { partition, bucket } = isolated();
            const stamps = Array.from({ length: 6 }, () => freshStamp());
            const model = new ModelStore();
            for (const op of ops) await applyOp(h, model, partition, bucket, stamps, op);
            await expectModel(h, model, partition, bucket, pageSize);
          }),
          { numRuns: 30 },
        );
      });
    });

    // ---- crashes ----

    it("every acknowledged write survives a crash: committed and pending rows, tombstones, drops", async () => {
      await withStore(async (h) => {
        const { partition, bucket } = isolated();
        const kept = await putCommitted(h, partition, bucket, "\u{10000}", bytesOf(5, 1));
        const dropped = await putCommitted(h, partition, bucket, "\uFFFF", bytesOf(5, 2));
        const t = await putTombstone(h, partition, bucket, "t");
        expect(await h.store.drop(bucket, "\uFFFF", dropped.stamp)).toEqual({ ok: true, value: true });
        const pending = headerOf(bucket, "p", freshStamp(), 5);
        expect((await h.store.writePending(partition, pending, h.bodyOf(bytesOf(5, 3)), undefined)).ok).toBe(true);
        const digestBefore = await partitionDigest(h.store, partition);

        await h.crashAndRestart();

        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([t, kept].map(placeOf));
        expect(await partitionDigest(h.store, partition)).toEqual(digestBefore);
        const read = await h.store.readBody(bucket, "\u{10000}", kept.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expectBytes(await h.readBack(read.value.body), bytesOf(5, 1));
        // The pending row is still there to commit, as its coordinator may yet ask.
        expect(await h.store.commit(partition, versionOf(pending, checksumOf(bytesOf(5, 3))), undefined)).toEqual({ ok: true, value: undefined });
        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([pending, t, kept].map(placeOf));
      });
    });

    // The file-system store's crash cannot be placed inside one of its calls in this process: its own tests kill
    // a process that is writing (test/contract/fs-blob-store.test.ts). A store without the capability has no such
    // case, rather than a skipped one that CI would count as not run.
    if (factory.crashesMidWrite) it("a write in flight at a crash is applied whole or not at all", async () => {
      await withStore(async (h) => {
        if (!h.crashDuring) throw new Error(`${factory.name} says it crashes mid-write but has no crashDuring`);
        const { partition, bucket } = isolated();
        const committed = await putCommitted(h, partition, bucket, "c", bytesOf(4, 1));
        const pending = headerOf(bucket, "p", freshStamp(), 4);
        expect((await h.store.writePending(partition, pending, h.bodyOf(bytesOf(4, 2)), undefined)).ok).toBe(true);
        const versions = Array.from({ length: 12 }, (_, i) => versionOf(headerOf(bucket, `w${i}`, freshStamp(), 4), checksumOf(bytesOf(4, 10 + i))));
        await h.crashDuring((store) => {
          for (const [i, v] of versions.entries()) void store.writeCommitted(partition, v, h.bodyOf(bytesOf(4, 10 + i)), undefined);
          void store.commit(partition, versionOf(pending, checksumOf(bytesOf(4, 2))), undefined);
          void store.drop(bucket, "c", committed.stamp);
        });
        const listed = await listAll(h.store, partition, 100);
        const byKey = new Map(listed.map((v) => [v.key, v]));
        for (const [i, v] of versions.entries()) {
          const held = byKey.get(v.key);
          if (held === undefined) continue;
          expect(held).toEqual({ ...v, partition, committed: true });
          const read = await h.store.readBody(bucket, v.key, v.stamp);
          if (!read.ok) throw new Error(read.error.detail);
          const back = await h.readBack(read.value.body);
          expect(back.size).toBe(4);
          if (back.bytes) expect(back.bytes.equals(bytesOf(4, 10 + i))).toBe(true);
        }
        // The commit in flight: committed, or still pending (its commit can be asked again).
        if (!byKey.has("p")) expect(await h.store.commit(partition, versionOf(pending, checksumOf(bytesOf(4, 2))), undefined)).toEqual({ ok: true, value: undefined });
        expect((await h.store.headCommitted(bucket, "p")).ok).toBe(true);
        // The drop in flight: done or not, never half (a listed copy reads back whole).
        if (byKey.has("c")) expect((await h.store.readBody(bucket, "c", committed.stamp)).ok).toBe(true);
      });
    });

    if (factory.losesBytes) it("after a restart, a committed copy whose bytes are gone is forgotten: not listed, not digested, not read", async () => {
      await withStore(async (h) => {
        if (!h.loseBytesAndRestart) throw new Error(`${factory.name} cannot lose one copy's bytes`);
        const { partition, bucket } = isolated();
        const older = await putCommitted(h, partition, bucket, "k", bytesOf(6, 1));
        const lost = await putCommitted(h, partition, bucket, "k", bytesOf(6, 2));
        const other = await putCommitted(h, partition, bucket, "\u{10000}", bytesOf(6, 3));
        const t = await putTombstone(h, partition, bucket, "t");
        expect(await h.loseBytesAndRestart(lost)).toEqual([partition]);
        expect((await listAll(h.store, partition, 10)).map(placeOf)).toEqual([older, t, other].map(placeOf));
        const head = await h.store.headCommitted(bucket, "k");
        expect(head.ok && head.value?.stamp).toBe(older.stamp);
        const read = await h.store.readBody(bucket, "k", lost.stamp);
        expect(read.ok || read.error.kind).toBe("not-found");
        const d = await partitionDigest(h.store, partition);
        expect(d.ok && d.value).toEqual(digestOf([older, t, other]));
      });
    });
  });
}

function digestOf(newest: readonly ObjectVersion[]): { hash: string; count: number } {
  let sum: DigestSum = emptyDigestSum;
  for (const v of newest) sum = withKeyChanged(sum, null, v);
  return renderDigest(sum);
}

export async function applyOp<Body>(h: StoreHarness<Body>, model: ModelStore, partition: PartitionId, bucket: string, stamps: readonly VersionStamp[], op: Op): Promise<void> {
  if (op.kind === "drop-pending-before") {
    const dropped = await h.store.dropPendingBefore(stamps[op.stamp]!);
    expect(dropped.ok).toBe(true);
    model.dropPendingBefore(stamps[op.stamp]!);
    return;
  }
  const key = opKeys[op.key]!;
  const stamp = stamps[op.stamp]!;
  const held = model.rows.get(placeOf({ bucket, key, stamp }));
  switch (op.kind) {
    case "put": {
      const size = op.deleted ? 0 : op.size;
      const bytes = opBytes(op.key, op.stamp, size);
      const header = headerOf(bucket, key, stamp, size, op.deleted);
      const put = await h.store.writePending(partition, header, h.bodyOf(bytes), undefined);
      expect(put.ok, `put ${key}@${stamp}`).toBe(true);
      // Answered with what the store holds: the committed copy's checksum when there is one.
      if (put.ok) expect(put.value.checksum).toBe(held?.committed ? held.version.checksum : checksumOf(bytes));
      model.writePending(header, checksumOf(bytes));
      return;
    }
    case "commit": {
      if (held === undefined) {
        const absent = await h.store.commit(partition, versionOf(headerOf(bucket, key, stamp, 0), checksumOf(Buffer.alloc(0))), undefined);
        expect(absent.ok || absent.error.kind).toBe("not-found");
        return;
      }
      expect(await h.store.commit(partition, held.version, undefined)).toEqual({ ok: true, value: undefined });
      model.commit(held.version);
      return;
    }
    case "write-committed": {
      const bytes = opBytes(op.key, op.stamp, op.size);
      const version = versionOf(headerOf(bucket, key, stamp, op.size), checksumOf(bytes));
      expect(await h.store.writeCommitted(partition, version, h.bodyOf(bytes), undefined)).toEqual({ ok: true, value: undefined });
      model.writeCommitted(version);
      return;
    }
    case "drop": {
      expect(await h.store.drop(bucket, key, stamp)).toEqual({ ok: true, value: held !== undefined });
      model.drop({ bucket, key, stamp });
      return;
    }
  }
}

async function expectModel<Body>(h: StoreHarness<Body>, model: ModelStore, partition: PartitionId, bucket: string, pageSize: number): Promise<void> {
  const committed = model.committedSorted().map((v) => ({ ...v, partition, committed: true }));
  expect(await listAll(h.store, partition, pageSize)).toEqual(committed);
  const newest = model.newestPerKey().map((v) => ({ ...v, partition, committed: true }));
  expect(await listBucketAll(h.store, bucket, "", pageSize)).toEqual(newest);
  for (const key of opKeys) {
    const head = await h.store.headCommitted(bucket, key);
    expect(head, `head ${JSON.stringify(key)}`).toEqual({ ok: true, value: newest.find((v) => v.key === key) ?? null });
  }
  const digest = await partitionDigest(h.store, partition, pageSize);
  expect(digest).toEqual({ ok: true, value: model.digest() });
  // The store's listing order is the order core compares places in.
  for (let i = 1; i < committed.length; i++) expect(compareVersionPlaces(committed[i - 1]!, committed[i]!)).toBeLessThan(0);
}

/** A body read back holds exactly these bytes (or, for a store of sizes, this many). */
function expectBytes(back: { readonly size: number; readonly bytes?: Buffer }, bytes: Buffer): void {
  expect(back.size).toBe(bytes.length);
  if (back.bytes) expect(back.bytes.equals(bytes)).toBe(true);
}
