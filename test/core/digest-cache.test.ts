import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DigestCachingStore } from "../../core/digest-cache.ts";
import { partitionOfKey } from "../../core/hash.ts";
import type { PartitionId } from "../../core/ids.ts";
import { partitionDigest } from "../../core/storage-node.ts";
import { MemoryStore } from "./support/memory-store.ts";
import { stampFor, versionOf } from "./support/cluster.ts";

const BITS = 2;
const opArb = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), key: fc.constantFrom("a", "b", "c", "d", "e"), at: fc.nat(1000), deleted: fc.boolean() }),
  fc.record({ kind: fc.constant("drop" as const), key: fc.constantFrom("a", "b", "c", "d", "e"), at: fc.nat(1000) }),
  fc.record({ kind: fc.constant("digest" as const), partition: fc.nat(3) }),
);

describe("digest cache", () => {
  it("a cached partition digest always equals one computed afresh, whatever the mutations in between", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const inner = new MemoryStore();
        const store = new DigestCachingStore(inner, BITS);
        for (const op of ops) {
          if (op.kind === "write") {
            const version = versionOf("bucket", op.key, stampFor(op.at), op.deleted ? null : `body ${op.at}`);
            const partition = partitionOfKey("bucket", op.key, BITS);
            await store.writeCommitted(partition, version, { size: version.size, checksum: version.checksum }, undefined);
          } else if (op.kind === "drop") {
            await store.drop("bucket", op.key, stampFor(op.at));
          } else {
            const p = op.partition as PartitionId;
            const cached = await partitionDigest(store, p);
            const fresh = await partitionDigest(inner, p);
            expect(cached).toEqual(fresh);
          }
        }
        for (let p = 0; p < 4; p++) expect(await partitionDigest(store, p as PartitionId)).toEqual(await partitionDigest(inner, p as PartitionId));
      }),
      { numRuns: 300 },
    );
  });
});
