import { existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PartitionId } from "../../core/ids.ts";
import { stampAtMs } from "../../core/version.ts";
import { CorruptBlobError, FsBlobStore, blobRelativePath, storeFailureOf } from "../../runtime/node/fs-blob-store.ts";
import { verifyPulledBody } from "../../runtime/node/verified-body.ts";
import {
  bytesOf,
  checksumOf,
  collect,
  failingStreamOf,
  headerOf,
  nextStamp,
  partition7,
  recordingLog,
  streamOf,
  versionOf,
  withTempDir,
} from "./support/storage.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

async function openStore(dataDir: string, blockBytes?: number, recordLostPartitions?: (partitions: readonly PartitionId[]) => void) {
  const log = recordingLog();
  const store = await FsBlobStore.open({ dataDir, log, ...(blockBytes !== undefined ? { blockBytes } : {}), ...(recordLostPartitions ? { recordLostPartitions } : {}) });
  return { store, log };
}

/** put + commit one object; returns its version and bytes. */
async function putCommitted(store: FsBlobStore, bucket: string, key: string, bytes: Buffer, partition: PartitionId = partition7) {
  const header = headerOf(bucket, key, bytes.length);
  const put = await store.writePending(partition, header, streamOf(bytes), undefined);
  if (!put.ok) throw new Error(`put failed: ${put.error.kind} ${put.error.detail}`);
  const version = versionOf(header, put.value.checksum);
  const committed = await store.commit(partition, version, undefined);
  if (!committed.ok) throw new Error(`commit failed: ${committed.error.detail}`);
  return { header, version };
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, offset);
    one[0] = one[0]! ^ 0xff;
    await handle.write(one, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe("FsBlobStore", () => {
  it("round-trips put → commit → head → get for 0 B, 1 B, 3 MiB + 7 B, with ranges across blocks", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        for (const size of [0, 1, 3 * MiB + 7]) {
          const bytes = bytesOf(size);
          const header = headerOf("videos", `clip-${size}.mp4`, size);
          const put = await store.writePending(partition7, header, streamOf(bytes), undefined);
          expect(put).toEqual({ ok: true, value: { checksum: checksumOf(bytes), size } });
          const version = versionOf(header, checksumOf(bytes));
          expect(await store.commit(partition7, version, undefined)).toEqual({ ok: true, value: undefined });

          const head = await store.headCommitted("videos", `clip-${size}.mp4`);
          expect(head.ok && head.value).toMatchObject({ ...version, committed: true, partition: partition7 });

          const full = await store.readBody("videos", header.key, header.stamp);
          if (!full.ok) throw new Error(full.error.detail);
          expect((await collect(full.value.body)).equals(bytes)).toBe(true);
        }

        const bytes = bytesOf(3 * MiB + 7);
        const { header } = await putCommitted(store, "videos", "ranged.mp4", bytes);
        const ranges = [
          { start: 0, endInclusive: 0 },
          { start: MiB - 1, endInclusive: MiB }, // straddles blocks 0 and 1
          { start: 2 * MiB + 5, endInclusive: 3 * MiB + 6 }, // starts in block 2, ends at the last byte
          { start: 3 * MiB, endInclusive: 10 * MiB }, // end past the size: clamped, as HTTP does
        ];
        for (const range of ranges) {
          const read = await store.readBody("videos", "ranged.mp4", header.stamp, range);
          if (!read.ok) throw new Error(read.error.detail);
          const got = await collect(read.value.body);
          expect(got.equals(bytes.subarray(range.start, Math.min(bytes.length, range.endInclusive + 1)))).toBe(true);
        }
      } finally {
        await store.close();
      }
    });
  });

  it("never serves a pending version, and refuses a commit whose checksum differs from what it stored", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const bytes = bytesOf(100 * KiB);
        const header = headerOf("videos", "pending.mp4", bytes.length);
        const put = await store.writePending(partition7, header, streamOf(bytes), undefined);
        expect(put.ok).toBe(true);

        expect(await store.headCommitted("videos", "pending.mp4")).toEqual({ ok: true, value: null });
        const read = await store.readBody("videos", "pending.mp4", header.stamp);
        expect(read.ok ? "served" : read.error.kind).toBe("not-found");
        expect(await store.listBucket("videos", "", "", 10)).toEqual({ ok: true, value: [] });
        expect(await store.listPartition(partition7, undefined, 10)).toEqual({ ok: true, value: [] });

        const wrong = await store.commit(partition7, versionOf(header, "0000000000000000"), undefined);
        expect(wrong.ok ? "committed" : wrong.error.kind).toBe("corrupt");
        expect(wrong.ok ? "" : wrong.error.detail).toMatch(/^checksum-mismatch/);
        expect(await store.headCommitted("videos", "pending.mp4")).toEqual({ ok: true, value: null });

        const missing = await store.commit(partition7, versionOf(headerOf("videos", "never-put", 1), "0000000000000000"), undefined);
        expect(missing.ok ? "committed" : missing.error.kind).toBe("not-found");
      } finally {
        await store.close();
      }
    });
  });

  it("fails a read with corrupt before the response starts when the first block has a flipped byte", async () => {
    await withTempDir(async (dir) => {
      const { store, log } = await openStore(dir);
      try {
        const bytes = bytesOf(2 * MiB);
        const { header } = await putCommitted(store, "videos", "flip-first.mp4", bytes);
        await flipByte(store.blobFilePath("videos", "flip-first.mp4", header.stamp), 12345);
        const read = await store.readBody("videos", "flip-first.mp4", header.stamp);
        expect(read.ok ? "served" : read.error.kind).toBe("corrupt");
        // A range that starts past the bad block reads only good blocks.
        const tail = await store.readBody("videos", "flip-first.mp4", header.stamp, { start: MiB, endInclusive: 2 * MiB - 1 });
        if (!tail.ok) throw new Error(tail.error.detail);
        expect((await collect(tail.value.body)).equals(bytes.subarray(MiB))).toBe(true);
        expect(log.events("error")).toContain("store.blob-corrupt");
      } finally {
        await store.close();
      }
    });
  });

  it("destroys the body with CorruptBlobError before any byte of a bad later block leaves, and reports the copy for repair", async () => {
    await withTempDir(async (dir) => {
      const reported: string[] = [];
      const store = await FsBlobStore.open({ dataDir: dir, log: recordingLog(), onCorruptWhileStreaming: (v, detail) => reported.push(`${v.key}@${v.stamp} p${v.partition}: ${detail}`) });
      try {
        const bytes = bytesOf(4 * MiB);
        const { header } = await putCommitted(store, "videos", "flip-third.mp4", bytes);
        await flipByte(store.blobFilePath("videos", "flip-third.mp4", header.stamp), 2 * MiB + 77);
        const read = await store.readBody("videos", "flip-third.mp4", header.stamp);
        if (!read.ok) throw new Error(`the first block is good, the read must start: ${read.error.detail}`);
        let received = 0;
        const failure = await (async () => {
          try {
            for await (const chunk of read.value.body) received += (chunk as Buffer).length;
            return null;
          } catch (error) {
            return error;
          }
        })();
        expect(failure).toBeInstanceOf(CorruptBlobError);
        expect(received).toBe(2 * MiB); // blocks 0 and 1, not one byte of block 2
        expect(reported).toEqual([`flip-third.mp4@${header.stamp} p${partition7}: ${(failure as Error).message}`]);
      } finally {
        await store.close();
      }
    });
  });

  it("fails a read with corrupt when the blob file was truncated or removed", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const { header } = await putCommitted(store, "videos", "short.mp4", bytesOf(300 * KiB));
        await writeFile(store.blobFilePath("videos", "short.mp4", header.stamp), bytesOf(10));
        const read = await store.readBody("videos", "short.mp4", header.stamp);
        expect(read.ok ? "served" : read.error.kind).toBe("corrupt");
      } finally {
        await store.close();
      }
    });
  });

  it("leaves no temp file and no row when the body stream fails midway or ends short", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const bytes = bytesOf(2 * MiB);
        const header = headerOf("videos", "broken.mp4", bytes.length);
        const put = await store.writePending(partition7, header, failingStreamOf(bytes, MiB + 3), undefined);
        expect(put.ok ? "stored" : put.error.kind).toBe("io");
        expect(await readdir(store.tmpDir)).toEqual([]);
        expect(existsSync(store.blobFilePath("videos", "broken.mp4", header.stamp))).toBe(false);

        const short = await store.writePending(partition7, header, streamOf(bytes.subarray(0, MiB)), undefined);
        expect(short.ok ? "stored" : short.error.detail).toMatch(/header says/);
        const long = await store.writePending(partition7, header, streamOf(Buffer.concat([bytes, bytes])), undefined);
        expect(long.ok ? "stored" : long.error.detail).toMatch(/exceeds/);
        expect(await readdir(store.tmpDir)).toEqual([]);

        // Nothing was recorded, so a commit has nothing to commit.
        const commit = await store.commit(partition7, versionOf(header, checksumOf(bytes)), undefined);
        expect(commit.ok ? "committed" : commit.error.kind).toBe("not-found");
      } finally {
        await store.close();
      }
    });
  });

  it("stores a tombstone without a blob and serves it as the newest version", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const { header: live } = await putCommitted(store, "videos", "gone.mp4", bytesOf(10));
        const tombstoneHeader = headerOf("videos", "gone.mp4", 0, { deleted: true });
        const put = await store.writePending(partition7, tombstoneHeader, streamOf(Buffer.alloc(0)), undefined);
        if (!put.ok) throw new Error(put.error.detail);
        const tombstone = { ...versionOf(tombstoneHeader, put.value.checksum), etag: "" };
        expect((await store.commit(partition7, tombstone, undefined)).ok).toBe(true);
        const head = await store.headCommitted("videos", "gone.mp4");
        expect(head.ok && head.value?.deleted).toBe(true);
        expect(head.ok && head.value?.stamp).toBe(tombstoneHeader.stamp);
        expect(existsSync(store.blobFilePath("videos", "gone.mp4", tombstoneHeader.stamp))).toBe(false);
        expect(existsSync(store.blobFilePath("videos", "gone.mp4", live.stamp))).toBe(true);
      } finally {
        await store.close();
      }
    });
  });

  it("writeCommitted stores a verified copy in one step and refuses bytes that do not match the version", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const bytes = bytesOf(200 * KiB);
        const header = headerOf("videos", "repaired.mp4", bytes.length);
        const bad = await store.writeCommitted(partition7, versionOf(header, checksumOf(bytesOf(10))), streamOf(bytes), undefined);
        expect(bad.ok ? "stored" : bad.error.detail).toMatch(/^checksum-mismatch/);
        expect(await store.headCommitted("videos", "repaired.mp4")).toEqual({ ok: true, value: null });

        const version = versionOf(header, checksumOf(bytes));
        expect(await store.writeCommitted(partition7, version, streamOf(bytes), "node-9" as never)).toEqual({ ok: true, value: undefined });
        const head = await store.headCommitted("videos", "repaired.mp4");
        expect(head.ok && head.value).toMatchObject({ ...version, committed: true, hintFor: "node-9" });
        const read = await store.readBody("videos", "repaired.mp4", header.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expect((await collect(read.value.body)).equals(bytes)).toBe(true);
        expect(await readdir(store.tmpDir)).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });

  it("lists a bucket as the newest committed version per key, in key order, after a marker, with a prefix", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir, 64 * KiB);
      try {
        await putCommitted(store, "b", "a/1", bytesOf(1));
        await putCommitted(store, "b", "a/2", bytesOf(2));
        const { header: newer } = await putCommitted(store, "b", "a/2", bytesOf(3)); // newer version of a/2
        await putCommitted(store, "b", "a/3", bytesOf(4));
        await putCommitted(store, "b", "b/1", bytesOf(5));
        await putCommitted(store, "other", "a/1", bytesOf(6));
        await store.writePending(partition7, headerOf("b", "a/4", 1), streamOf(bytesOf(1)), undefined); // pending: hidden

        const page = await store.listBucket("b", "a/", "", 10);
        expect(page.ok && page.value.map((v) => [v.key, v.size])).toEqual([
          ["a/1", 1],
          ["a/2", 3],
          ["a/3", 4],
        ]);
        expect(page.ok && page.value[1]!.stamp).toBe(newer.stamp);
        const afterMarker = await store.listBucket("b", "", "a/2", 2);
        expect(afterMarker.ok && afterMarker.value.map((v) => v.key)).toEqual(["a/3", "b/1"]);
        const limited = await store.listBucket("b", "", "", 1);
        expect(limited.ok && limited.value.map((v) => v.key)).toEqual(["a/1"]);
      } finally {
        await store.close();
      }
    });
  });

  it("lists a partition after a cursor, reports partitions held, drops versions and collects stale pending ones", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      try {
        const p3 = 3 as PartitionId;
        const a = await putCommitted(store, "b", "k1", bytesOf(10), p3);
        const b = await putCommitted(store, "b", "k2", bytesOf(10), p3);
        await putCommitted(store, "b", "k3", bytesOf(10), partition7);
        const first = await store.listPartition(p3, undefined, 1);
        expect(first.ok && first.value.map((v) => v.key)).toEqual(["k1"]);
        const rest = await store.listPartition(p3, { kind: "after", bucket: "b", key: "k1", stamp: a.header.stamp }, 10);
        expect(rest.ok && rest.value.map((v) => v.key)).toEqual(["k2"]);
        const fromKey = await store.listPartition(p3, { kind: "key-start", bucket: "b", key: "k1" }, 10);
        expect(fromKey.ok && fromKey.value.map((v) => v.key)).toEqual(["k1", "k2"]);
        const fromLaterKey = await store.listPartition(p3, { kind: "key-start", bucket: "b", key: "k2" }, 10);
        expect(fromLaterKey.ok && fromLaterKey.value.map((v) => v.key)).toEqual(["k2"]);
        expect(await store.partitionsHeld()).toEqual({ ok: true, value: [3, 7] });

        expect(await store.drop("b", "k2", b.header.stamp)).toEqual({ ok: true, value: true });
        expect(await store.drop("b", "k2", b.header.stamp)).toEqual({ ok: true, value: false });
        expect(existsSync(store.blobFilePath("b", "k2", b.header.stamp))).toBe(false);

        const stale = headerOf("b", "stale", 5);
        await store.writePending(p3, stale, streamOf(bytesOf(5)), undefined);
        const fresh = { ...headerOf("b", "fresh", 5), stamp: nextStamp() };
        await store.writePending(p3, fresh, streamOf(bytesOf(5)), undefined);
        const cutoff = stampAtMs(Number.parseInt(fresh.stamp.slice(0, 12), 16)); // between stale and fresh
        expect(await store.dropPendingBefore(cutoff)).toEqual({ ok: true, value: 1 });
        expect(existsSync(store.blobFilePath("b", "stale", stale.stamp))).toBe(false);
        expect(existsSync(store.blobFilePath("b", "fresh", fresh.stamp))).toBe(true);
        // The committed versions older than the cut-off are untouched.
        expect((await store.headCommitted("b", "k1")).ok && existsSync(store.blobFilePath("b", "k1", a.header.stamp))).toBe(true);
      } finally {
        await store.close();
      }
    });
  });

  it("recovers on reopen: removes temp files, orphan blobs and rows whose blob is missing, logging lost committed copies", async () => {
    await withTempDir(async (dir) => {
      const first = await openStore(dir);
      const kept = await putCommitted(first.store, "b", "kept", bytesOf(1000));
      const lost = await putCommitted(first.store, "b", "lost", bytesOf(1000));
      const pendingHeader = headerOf("b", "pending-missing", 10);
      await first.store.writePending(partition7, pendingHeader, streamOf(bytesOf(10)), undefined);
      await first.store.close();

      // What a crash leaves behind, and a disk that lost files.
      await writeFile(join(dir, "tmp", "interrupted-write"), bytesOf(100));
      const orphanPath = join(dir, "blobs", blobRelativePath("b", "orphan", nextStamp()));
      await mkdir(dirname(orphanPath), { recursive: true });
      await writeFile(orphanPath, bytesOf(100));
      const { unlink } = await import("node:fs/promises");
      await unlink(first.store.blobFilePath("b", "lost", lost.header.stamp));
      await unlink(first.store.blobFilePath("b", "pending-missing", pendingHeader.stamp));

      // The partitions that lost committed rows are told before any row goes (the node records them durably).
      const told: { partitions: readonly PartitionId[]; lostRowStillThere: boolean }[] = [];
      const { MetadataIndex } = await import("../../runtime/node/metadata-index.ts");
      const second = await openStore(dir, undefined, (partitions) => {
        const peek = MetadataIndex.open(join(dir, "index.sqlite"));
        try {
          told.push({ partitions, lostRowStillThere: [...peek.allRows()].some((r) => r.key === "lost") });
        } finally {
          peek.close();
        }
      });
      try {
        expect(told).toEqual([{ partitions: [partition7], lostRowStillThere: true }]);
        expect(second.log.lines.find((l) => l.event === "store.partitions-lost-copies")).toMatchObject({ level: "error", fields: { partitions: [{ partition: partition7, rows: 1, bytes: lost.header.size }], rows: 1 } });
        expect(await readdir(join(dir, "tmp"))).toEqual([]);
        expect(existsSync(orphanPath)).toBe(false);
        expect(await second.store.headCommitted("b", "lost")).toEqual({ ok: true, value: null });
        const keptRead = await second.store.readBody("b", "kept", kept.header.stamp);
        expect(keptRead.ok).toBe(true);
        if (keptRead.ok) keptRead.value.body.destroy();
        const recovery = second.log.lines.find((l) => l.event === "store.startup-recovery");
        expect(recovery?.fields).toMatchObject({ tempFilesRemoved: 1, pendingRowsRemoved: 1, committedRowsLost: 1, orphanBlobsRemoved: 1, rowsKept: 1 });
        expect(second.log.lines.filter((l) => l.event === "store.blob-missing-on-start").map((l) => l.fields.key)).toEqual(["lost"]);
      } finally {
        await second.store.close();
      }
    });
  });

  it("answers disk-full, leaving no temp file and no row, when the disk fills during a write", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir);
      // Every FileHandle shares one prototype: make its writev fail the way a full disk does.
      const probe = await open(join(dir, "probe"), "w");
      const prototype = Object.getPrototypeOf(probe) as { writev: (...args: unknown[]) => Promise<unknown> };
      await probe.close();
      const writev = prototype.writev;
      prototype.writev = async () => {
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      };
      try {
        const header = headerOf("videos", "full.mp4", 3 * MiB);
        const put = await store.writePending(partition7, header, streamOf(bytesOf(3 * MiB)), undefined);
        expect(put.ok ? "stored" : put.error.kind).toBe("disk-full");
        expect(await readdir(store.tmpDir)).toEqual([]);
        const commit = await store.commit(partition7, versionOf(header, "0000000000000000"), undefined);
        expect(commit.ok ? "committed" : commit.error.kind).toBe("not-found");
      } finally {
        prototype.writev = writev;
        await store.close();
      }
    });
  });

  it("maps ENOSPC and SQLITE_FULL to disk-full", () => {
    expect(storeFailureOf(Object.assign(new Error("no space"), { code: "ENOSPC" })).kind).toBe("disk-full");
    expect(storeFailureOf(Object.assign(new Error("full"), { code: "SQLITE_FULL" })).kind).toBe("disk-full");
    expect(storeFailureOf(new Error("other")).kind).toBe("io");
  });
});

describe("FsBlobStore.replaceCommitted (a rotten copy replaced only by a good body)", () => {
  it("keeps the rotten copy when the new body breaks midway or does not match, and renames a good one over it", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir, 64 * KiB);
      try {
        const bytes = bytesOf(300 * KiB);
        const { header, version } = await putCommitted(store, "videos", "rotten.mp4", bytes);
        const path = store.blobFilePath("videos", "rotten.mp4", header.stamp);
        await flipByte(path, 250 * KiB);
        const rotten = await readFile(path);

        const broken = await store.replaceCommitted(partition7, version, failingStreamOf(bytes, 200 * KiB));
        expect(broken.ok ? "replaced" : broken.error.kind).toBe("io");
        const wrong = Buffer.from(bytes);
        wrong[5] = wrong[5]! ^ 1;
        const mismatched = await store.replaceCommitted(partition7, version, streamOf(wrong));
        expect(mismatched.ok ? "replaced" : mismatched.error.detail).toMatch(/^checksum-mismatch/);
        // Through both failures the rotten copy stayed, row and file, and no temp file is left.
        expect((await readFile(path)).equals(rotten)).toBe(true);
        expect((await store.headCommitted("videos", "rotten.mp4")).ok).toBe(true);
        expect(await readdir(store.tmpDir)).toEqual([]);

        expect(await store.replaceCommitted(partition7, version, streamOf(bytes))).toEqual({ ok: true, value: undefined });
        const read = await store.readBody("videos", "rotten.mp4", header.stamp);
        if (!read.ok) throw new Error(read.error.detail);
        expect((await collect(read.value.body)).equals(bytes)).toBe(true);
        const head = await store.headCommitted("videos", "rotten.mp4");
        expect(head.ok && head.value).toMatchObject({ ...version, committed: true, partition: partition7 });
        expect(await readdir(store.tmpDir)).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });

  it("a pulled body checked as it flows (verifyPulledBody) fails the store's write when its bytes do not match", async () => {
    await withTempDir(async (dir) => {
      const { store } = await openStore(dir, 64 * KiB);
      try {
        const bytes = bytesOf(200 * KiB);
        const { header, version } = await putCommitted(store, "videos", "checked.mp4", bytes);
        const path = store.blobFilePath("videos", "checked.mp4", header.stamp);
        await flipByte(path, 10);
        const rotten = await readFile(path);
        const wrong = Buffer.from(bytes);
        wrong[150 * KiB] = wrong[150 * KiB]! ^ 1;
        const checked = verifyPulledBody(streamOf(wrong), version, undefined);
        if (!checked.ok) throw new Error(checked.error.detail);
        const refused = await store.replaceCommitted(partition7, version, checked.value);
        expect(refused.ok ? "replaced" : refused.error.detail).toMatch(/CorruptBlobError|checksum-mismatch/);
        expect((await readFile(path)).equals(rotten)).toBe(true);
        const good = verifyPulledBody(streamOf(bytes), version, undefined);
        if (!good.ok) throw new Error(good.error.detail);
        expect(await store.replaceCommitted(partition7, version, good.value)).toEqual({ ok: true, value: undefined });
        expect((await readFile(path)).equals(bytes)).toBe(true);
      } finally {
        await store.close();
      }
    });
  });
});
