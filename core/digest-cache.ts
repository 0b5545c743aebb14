// Partition digests, kept current per partition as keys change.
// Repair compares digests of every partition with every peer in every sweep; without a cache each
// comparison re-reads the whole partition on both sides, and a busy cluster, where every partition changes
// between two sweeps, would re-hash all of its data each sweep.
// Guarantees: a digest handed out equals the one computed afresh from the inner store at some instant during
// the call or after the last mutation that completed before it. A mutation of one key (through this store:
// writePending, commit, writeCommitted, replaceCommitted, drop) takes its partition's digest out of the cache while it runs;
// if no other mutation of that partition overlapped it, the digest goes back updated by the key's change
// (its newest committed version read before and after, core/partition-digest.ts withKeyChanged), otherwise
// it is dropped and recomputed on the next request. A computation that a mutation overlapped is not cached.
// Assumes: nothing mutates the inner store's committed content except through this wrapper (dropPendingBefore
// touches pending versions only).
import { partitionOfKey } from "./hash.ts";
import type { PartitionId } from "./ids.ts";
import { type DigestSum, type PartitionDigest, renderDigest, withKeyChanged } from "./partition-digest.ts";
import type { BlobStore, StoreFailure } from "./ports.ts";
import type { Result } from "./result.ts";

type Compute = (partition: PartitionId) => Promise<Result<DigestSum, StoreFailure>>;

/** Mutations of one partition in flight, and whether two of them ever overlapped since the first began. */
interface InFlight {
  count: number;
  overlapped: boolean;
}

export class DigestCache {
  private readonly cached = new Map<PartitionId, DigestSum>();
  private readonly generations = new Map<PartitionId, number>();
  private readonly inFlight = new Map<PartitionId, InFlight>();

  constructor(private readonly entriesMax = 1 << 16) {}

  /**
   * A mutation of `partition` begins: its digest leaves the cache. Returns it when this mutation runs alone
   * (the caller may hand it back updated to end()), undefined otherwise.
   */
  begin(partition: PartitionId): DigestSum | undefined {
    this.bump(partition);
    const base = this.cached.get(partition);
    this.cached.delete(partition);
    const flight = this.inFlight.get(partition);
    if (flight !== undefined) {
      flight.count += 1;
      flight.overlapped = true;
      return undefined;
    }
    this.inFlight.set(partition, { count: 1, overlapped: false });
    return base;
  }

  /** The mutation begun with begin() is over; `updated` is its base digest with the mutation applied, if known. */
  end(partition: PartitionId, updated: DigestSum | undefined): void {
    this.bump(partition);
    const flight = this.inFlight.get(partition);
    const alone = flight !== undefined && !flight.overlapped;
    if (flight !== undefined && --flight.count === 0) this.inFlight.delete(partition);
    // A digest computed while this mutation ran may predate its effect: drop it either way.
    this.cached.delete(partition);
    if (alone && updated !== undefined) this.keep(partition, updated);
  }

  async get(partition: PartitionId, compute: Compute): Promise<Result<PartitionDigest, StoreFailure>> {
    const hit = this.cached.get(partition);
    if (hit) return { ok: true, value: renderDigest(hit) };
    const generation = this.generations.get(partition) ?? 0;
    const computed = await compute(partition);
    if (!computed.ok) return computed;
    if ((this.generations.get(partition) ?? 0) === generation) this.keep(partition, computed.value);
    return { ok: true, value: renderDigest(computed.value) };
  }

  private keep(partition: PartitionId, digest: DigestSum): void {
    if (!this.cached.has(partition) && this.cached.size >= this.entriesMax) this.cached.delete(this.cached.keys().next().value!);
    this.cached.set(partition, digest);
  }

  private bump(partition: PartitionId): void {
    this.generations.set(partition, (this.generations.get(partition) ?? 0) + 1);
  }
}

/** A BlobStore that keeps its partitions' digests current through a DigestCache. */
export class DigestCachingStore<Body> implements BlobStore<Body> {
  readonly digestCache = new DigestCache();

  constructor(
    private readonly inner: BlobStore<Body>,
    private readonly partitionBits: number,
  ) {}

  /** Run a mutation of one key, and keep its partition's digest current if it ran alone. */
  private async mutation<T>(partition: PartitionId, bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    const base = this.digestCache.begin(partition);
    let updated: DigestSum | undefined;
    try {
      if (base === undefined) return await run();
      const before = await this.inner.headCommitted(bucket, key);
      const result = await run();
      const after = await this.inner.headCommitted(bucket, key);
      if (before.ok && after.ok) updated = withKeyChanged(base, before.value, after.value);
      return result;
    } finally {
      this.digestCache.end(partition, updated);
    }
  }

  // A pending write may replace a committed copy of the same stamp (a store that writes to a temporary name
  // and renames over), so it counts as a mutation too.
  writePending: BlobStore<Body>["writePending"] = (partition, header, body, hintFor) => this.mutation(partition, header.bucket, header.key, () => this.inner.writePending(partition, header, body, hintFor));
  commit: BlobStore<Body>["commit"] = (partition, version, hintFor, written) => this.mutation(partition, version.bucket, version.key, () => this.inner.commit(partition, version, hintFor, written));
  writeCommitted: BlobStore<Body>["writeCommitted"] = (partition, version, body, hintFor) => this.mutation(partition, version.bucket, version.key, () => this.inner.writeCommitted(partition, version, body, hintFor));
  // Same stamp and checksum before and after, so the digest does not change; wrapped all the same, because
  // with no committed copy held it stores one, as writeCommitted does.
  replaceCommitted: BlobStore<Body>["replaceCommitted"] = (partition, version, body) => this.mutation(partition, version.bucket, version.key, () => this.inner.replaceCommitted(partition, version, body));
  drop: BlobStore<Body>["drop"] = (bucket, key, stamp) => this.mutation(partitionOfKey(bucket, key, this.partitionBits), bucket, key, () => this.inner.drop(bucket, key, stamp));
  headCommitted: BlobStore<Body>["headCommitted"] = (bucket, key) => this.inner.headCommitted(bucket, key);
  readBody: BlobStore<Body>["readBody"] = (bucket, key, stamp, range) => this.inner.readBody(bucket, key, stamp, range);
  listPartition: BlobStore<Body>["listPartition"] = (partition, from, limit) => this.inner.listPartition(partition, from, limit);
  partitionsHeld: BlobStore<Body>["partitionsHeld"] = () => this.inner.partitionsHeld();
  listBucket: BlobStore<Body>["listBucket"] = (bucket, prefix, after, limit) => this.inner.listBucket(bucket, prefix, after, limit);
  dropPendingBefore: BlobStore<Body>["dropPendingBefore"] = (cutoff) => this.inner.dropPendingBefore(cutoff);
}
