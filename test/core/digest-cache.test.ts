import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DigestCachingStore } from "../../core/digest-cache.ts";
import { partitionOfKey } from "../../core/hash.ts";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { computeDigestSum, emptyDigestSum, renderDigest, withKeyChanged } from "../../core/partition-digest.ts";
import type { VersionHeader } from "../../core/ports.ts";
import { partitionDigest } from "../../core/storage-node.ts";
import { type MemBody, MemoryStore } from "./support/memory-store.ts";
import { stampFor, versionOf } from "./support/cluster.ts";

const BITS = 2;
const KEYS = ["a", "b", "c", "d", "e"] as const;
const opArb = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), key: fc.constantFrom(...KEYS), at: fc.nat(1000), deleted: fc.boolean() }),
  fc.record({ kind: fc.constant("drop" as const), key: fc.constantFrom(...KEYS), at: fc.nat(1000) }),
  fc.record({ kind: fc.constant("digest" as const), partition: fc.nat(3) }),
);

async function expectAllCurrent(store: DigestCachingStore<MemBody>, inner: MemoryStore): Promise<void> {
  for (let p = 0; p < 4; p++) expect(await partitionDigest(store, p as PartitionId)).toEqual(await partitionDigest(inner, p as PartitionId));
}

/**
 * A MemoryStore whose mutations wait until the test releases them, in any order: what concurrent requests
 * on a node look like to the digest cache. A pending write of a stamp held committed replaces the committed
 * copy (a store that writes to a temporary name and renames over), which MemoryStore itself never does.
 */
class HeldStore extends MemoryStore {
  readonly held: (() => void)[] = [];

  private hold<T>(apply: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => this.held.push(() => void apply().then(resolve, reject)));
  }

  release(index: number): void {
    const [run] = this.held.splice(index % this.held.length, 1);
    run!();
  }

  override writePending(partition: PartitionId, header: VersionHeader, body: MemBody, hintFor: NodeId | undefined) {
    return this.hold(async () => {
      const existing = this.committed(header.bucket, header.key).find((v) => v.stamp === header.stamp);
      if (existing) this.put(partition, existing, body, false);
      return super.writePending(partition, header, body, hintFor);
    });
  }
  override commit(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written?: VersionStamp) {
    return this.hold(() => super.commit(partition, version, hintFor, written));
  }
  override writeCommitted(partition: PartitionId, version: ObjectVersion, body: MemBody, hintFor: NodeId | undefined) {
    return this.hold(() => super.writeCommitted(partition, version, body, hintFor));
  }
  override drop(bucket: string, key: string, stamp: VersionStamp) {
    return this.hold(() => super.drop(bucket, key, stamp));
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("partition digest", () => {
  it("updating a digest key by key gives the digest computed afresh", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom(...KEYS), at: fc.nat(50), deleted: fc.boolean(), drop: fc.boolean() }), { maxLength: 30 }), async (changes) => {
        const store = new MemoryStore();
        const p = 0 as PartitionId;
        let running = emptyDigestSum;
        for (const c of changes) {
          const before = store.newestCommitted("bucket", c.key);
          if (c.drop) await store.drop("bucket", c.key, stampFor(c.at));
          else store.put(p, versionOf("bucket", c.key, stampFor(c.at), c.deleted ? null : `body ${c.at}`), { size: 1, checksum: "x" }, true);
          running = withKeyChanged(running, before, store.newestCommitted("bucket", c.key));
          const fresh = await computeDigestSum(store, p, 3);
          expect(fresh.ok && renderDigest(fresh.value)).toEqual(renderDigest(running));
        }
      }),
      { numRuns: 300 },
    );
  });
});

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
        await expectAllCurrent(store, inner);
      }),
      { numRuns: 300 },
    );
  });

  it("stays current when a pending write replaces a committed copy of the same stamp and a commit restores it", async () => {
    const inner = new HeldStore();
    const store = new DigestCachingStore(inner, BITS);
    const version = versionOf("bucket", "a", stampFor(7), "body 7");
    const partition = partitionOfKey("bucket", "a", BITS);
    const body = { size: version.size, checksum: version.checksum };
    const written = store.writeCommitted(partition, version, body, undefined);
    await settle();
    inner.release(0);
    await written;
    await partitionDigest(store, partition); // cached with the committed copy
    const pending = store.writePending(partition, version, body, undefined);
    await settle();
    inner.release(0);
    await pending;
    await expectAllCurrent(store, inner); // the copy is pending now: the partition looks empty
    const committed = store.commit(partition, version, undefined);
    await settle();
    inner.release(0);
    await committed;
    await expectAllCurrent(store, inner);
  });

  it("stays current when mutations of one partition overlap and complete in any order, with digests asked meanwhile", async () => {
    const concurrentOp = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), key: fc.constantFrom(...KEYS), at: fc.nat(20), deleted: fc.boolean() }),
      fc.record({ kind: fc.constant("pending-then-commit" as const), key: fc.constantFrom(...KEYS), at: fc.nat(20) }),
      fc.record({ kind: fc.constant("drop" as const), key: fc.constantFrom(...KEYS), at: fc.nat(20) }),
      fc.record({ kind: fc.constant("digest" as const), partition: fc.nat(3) }),
      fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(concurrentOp, { maxLength: 60 }), async (ops) => {
        const inner = new HeldStore();
        const store = new DigestCachingStore(inner, BITS);
        const running: Promise<unknown>[] = [];
        for (const op of ops) {
          if (op.kind === "write") {
            const version = versionOf("bucket", op.key, stampFor(op.at), op.deleted ? null : `body ${op.at}`);
            running.push(store.writeCommitted(partitionOfKey("bucket", op.key, BITS), version, { size: version.size, checksum: version.checksum }, undefined));
          } else if (op.kind === "pending-then-commit") {
            const version = versionOf("bucket", op.key, stampFor(op.at), `body ${op.at}`);
            const partition = partitionOfKey("bucket", op.key, BITS);
            running.push(store.writePending(partition, version, { size: version.size, checksum: version.checksum }, undefined).then(() => store.commit(partition, version, undefined)));
          } else if (op.kind === "drop") {
            running.push(store.drop("bucket", op.key, stampFor(op.at)));
          } else if (op.kind === "digest") {
            running.push(partitionDigest(store, op.partition as PartitionId));
          } else if (inner.held.length > 0) {
            inner.release(op.pick);
          }
          await settle();
          if (inner.held.length === 0) await expectAllCurrent(store, inner);
        }
        while (inner.held.length > 0) {
          inner.release(0);
          await settle();
        }
        await Promise.all(running);
        await expectAllCurrent(store, inner);
      }),
      { numRuns: 300 },
    );
  });
});
