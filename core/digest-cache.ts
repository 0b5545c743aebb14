// Partition digests, cached per partition until the partition's committed content changes.
// Repair compares digests of every partition with every peer in every sweep; without a cache each
// comparison re-reads the whole partition on both sides, and an idle cluster spends its CPU re-hashing
// data that has not changed.
// Guarantees: a cached digest is returned only if no change to its partition began after the computation
// that produced it started (a per-partition generation, bumped before and after every mutation); every
// mutation of committed content through this store (commit, writeCommitted, drop) invalidates its
// partition. Pending writes do not touch digests, which cover committed versions only.
// Assumes: nothing mutates the inner store except through this wrapper.
import type { PartitionId } from "./ids.ts";
import { partitionOfKey } from "./hash.ts";
import type { BlobStore, StoreFailure } from "./ports.ts";
import type { Result } from "./result.ts";

export interface PartitionDigest {
  readonly hash: string;
  readonly count: number;
}

type Compute = (partition: PartitionId) => Promise<Result<PartitionDigest, StoreFailure>>;

export class DigestCache {
  private readonly cached = new Map<PartitionId, PartitionDigest>();
  private readonly generations = new Map<PartitionId, number>();

  constructor(private readonly entriesMax = 1 << 16) {}

  invalidate(partition: PartitionId): void {
    this.generations.set(partition, (this.generations.get(partition) ?? 0) + 1);
    this.cached.delete(partition);
  }

  async get(partition: PartitionId, compute: Compute): Promise<Result<PartitionDigest, StoreFailure>> {
    const hit = this.cached.get(partition);
    if (hit) return { ok: true, value: hit };
    const generation = this.generations.get(partition) ?? 0;
    const computed = await compute(partition);
    if (computed.ok && (this.generations.get(partition) ?? 0) === generation) {
      if (this.cached.size >= this.entriesMax) this.cached.delete(this.cached.keys().next().value!);
      this.cached.set(partition, computed.value);
    }
    return computed;
  }
}

/** A BlobStore whose committed-content mutations keep a DigestCache honest. */
export class DigestCachingStore<Body> implements BlobStore<Body> {
  readonly digestCache = new DigestCache();

  constructor(
    private readonly inner: BlobStore<Body>,
    private readonly partitionBits: number,
  ) {}

  private async around<T>(partition: PartitionId, mutation: () => Promise<T>): Promise<T> {
    this.digestCache.invalidate(partition);
    try {
      return await mutation();
    } finally {
      this.digestCache.invalidate(partition);
    }
  }

  writePending: BlobStore<Body>["writePending"] = (partition, header, body, hintFor) => this.inner.writePending(partition, header, body, hintFor);
  commit: BlobStore<Body>["commit"] = (partition, version, hintFor) => this.around(partition, () => this.inner.commit(partition, version, hintFor));
  writeCommitted: BlobStore<Body>["writeCommitted"] = (partition, version, body, hintFor) => this.around(partition, () => this.inner.writeCommitted(partition, version, body, hintFor));
  drop: BlobStore<Body>["drop"] = (bucket, key, stamp) => this.around(partitionOfKey(bucket, key, this.partitionBits), () => this.inner.drop(bucket, key, stamp));
  headCommitted: BlobStore<Body>["headCommitted"] = (bucket, key) => this.inner.headCommitted(bucket, key);
  readBody: BlobStore<Body>["readBody"] = (bucket, key, stamp, range) => this.inner.readBody(bucket, key, stamp, range);
  listPartition: BlobStore<Body>["listPartition"] = (partition, after, limit) => this.inner.listPartition(partition, after, limit);
  partitionsHeld: BlobStore<Body>["partitionsHeld"] = () => this.inner.partitionsHeld();
  listBucket: BlobStore<Body>["listBucket"] = (bucket, prefix, after, limit) => this.inner.listBucket(bucket, prefix, after, limit);
  dropPendingBefore: BlobStore<Body>["dropPendingBefore"] = (cutoff) => this.inner.dropPendingBefore(cutoff);
}
