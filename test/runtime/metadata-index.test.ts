import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PartitionId } from "../../core/ids.ts";
import { type IndexedVersion, MetadataIndex } from "../../runtime/node/metadata-index.ts";
import { blobRelativePath } from "../../runtime/node/fs-blob-store.ts";
import { nextStamp, withTempDir } from "./support/storage.ts";

function row(bucket: string, key: string, committed: boolean, overrides: Partial<IndexedVersion> = {}): IndexedVersion {
  const stamp = nextStamp();
  return {
    bucket,
    key,
    stamp,
    partition: 1 as PartitionId,
    size: 3,
    etag: "e",
    checksum: "0000000000000003",
    contentType: "text/plain",
    userMeta: { a: "b" },
    deleted: false,
    committed,
    blockBytes: 1024 * 1024,
    blockChecksums: Buffer.alloc(8),
    blobPath: blobRelativePath(bucket, key, stamp),
    ...overrides,
  };
}

async function withIndex(run: (index: MetadataIndex) => void): Promise<void> {
  await withTempDir(async (dir) => {
    const index = MetadataIndex.open(join(dir, "index.sqlite"));
    try {
      run(index);
    } finally {
      index.close();
    }
  });
}

describe("MetadataIndex", () => {
  it("answers head with the newest committed version, never a newer pending one", async () => {
    await withIndex((index) => {
      const older = row("b", "k", true);
      const newerPending = row("b", "k", false);
      index.upsert(older);
      index.upsert(newerPending);
      expect(index.headCommitted("b", "k")?.stamp).toBe(older.stamp);
      expect(index.getCommitted("b", "k", newerPending.stamp)).toBeNull();
      expect(index.listBucket("b", "", "", 10).map((v) => v.stamp)).toEqual([older.stamp]);
      expect(index.listPartition(1 as PartitionId, undefined, 10).map((v) => v.stamp)).toEqual([older.stamp]);
    });
  });

  it("never replaces a committed row, but lets a retried put replace a pending one", async () => {
    await withIndex((index) => {
      const committed = row("b", "k", true);
      expect(index.upsert(committed)).toBe(true);
      expect(index.upsert({ ...committed, committed: false, checksum: "ffffffffffffffff" })).toBe(false);
      expect(index.get("b", "k", committed.stamp)?.checksum).toBe(committed.checksum);
      const pending = row("b", "p", false);
      index.upsert(pending);
      expect(index.upsert({ ...pending, checksum: "1111111111111111" })).toBe(true);
      expect(index.get("b", "p", pending.stamp)?.checksum).toBe("1111111111111111");
    });
  });

  it("lists keys in UTF-8 byte order and stops at the end of the prefix", async () => {
    await withIndex((index) => {
      // "\uFF21" (3 UTF-8 bytes, EF BC A1) sorts before "\u{1F600}" (4 bytes, F0 ...) in byte order,
      // though after it in UTF-16 code units: S3 lists in byte order.
      for (const key of ["a/\u{1F600}", "a/\uFF21", "a/z", "a", "ab", "b"]) index.upsert(row("b", key, true));
      expect(index.listBucket("b", "a/", "", 10).map((v) => v.key)).toEqual(["a/z", "a/\uFF21", "a/\u{1F600}"]);
      expect(index.listBucket("b", "", "a/z", 2).map((v) => v.key)).toEqual(["a/\uFF21", "a/\u{1F600}"]);
      expect(index.listBucket("b", "a", "", 10).map((v) => v.key)).toEqual(["a", "a/z", "a/\uFF21", "a/\u{1F600}", "ab"]);
    });
  });

  it("reports partitions held and pending rows before a cut-off, oldest first", async () => {
    await withIndex((index) => {
      index.upsert(row("b", "x", true, { partition: 9 as PartitionId }));
      const first = row("b", "y", false, { partition: 2 as PartitionId });
      const second = row("b", "z", false, { partition: 2 as PartitionId });
      index.upsert(second);
      index.upsert(first);
      expect(index.partitionsHeld()).toEqual([2, 9]);
      expect(index.pendingBefore(nextStamp(), 10).map((v) => v.key)).toEqual(["y", "z"]);
      expect(index.pendingBefore(second.stamp, 10).map((v) => v.key)).toEqual(["y"]);
    });
  });
});
