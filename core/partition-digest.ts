// The digest of a partition that repair compares between replicas: which keys the partition holds and the
// newest committed version of each (tombstones included).
// Guarantees: two stores whose partitions hold the same newest committed (bucket, key, stamp, deleted) per
// key give the same digest; a difference goes unseen only if two 64-bit sums of well-mixed terms collide
// (odds of the order of 2^-64 per comparison).
// Why a sum: the digest is the sum of one 64-bit term per key (two 32-bit lanes, each mod 2^32), not a hash of
// the sorted listing, so a store can keep it current as single keys change (core/digest-cache.ts) instead of
// re-reading the whole partition after every write. DESIGN.md's "sorted hash of (key, version) pairs" is the
// same set, hashed in an order that does not matter.
// Why not xxhash64 for the terms: every write computes two terms, and a trip into wasm plus BigInt arithmetic
// cost more than the short string being hashed; the terms need to be well mixed, not cryptographic.
// A node running an older release computes other digests: during a rolling upgrade its partitions are
// compared entry by entry (more work, the same result).
import type { PartitionId } from "./ids.ts";
import type { VersionStamp } from "./object-version.ts";
import { afterVersion } from "./partition-cursor.ts";
import type { BlobStore, PartitionCursor, StoreFailure } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";

export interface PartitionDigest {
  readonly hash: string;
  readonly count: number;
}

/** The digest before it is rendered: the two lanes of the sum of the terms, and how many keys contributed one. */
export interface DigestSum {
  readonly hi: number;
  readonly lo: number;
  readonly count: number;
}

/** What a key contributes: its newest committed version. */
export interface NewestVersion {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: VersionStamp;
  readonly deleted: boolean;
}

export const emptyDigestSum: DigestSum = { hi: 0, lo: 0, count: 0 };

/** A key's term, as two 32-bit lanes (cyrb53-style multiply-xorshift over the UTF-16 code units). */
function term(v: NewestVersion, sign: 1 | -1, into: { hi: number; lo: number }): void {
  const text = `${v.bucket}\n${v.key}\n${v.stamp}\n${v.deleted ? 1 : 0}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  into.hi = (into.hi + sign * (h1 >>> 0)) >>> 0;
  into.lo = (into.lo + sign * (h2 >>> 0)) >>> 0;
}

/** The digest after one key's newest committed version went from `before` to `after` (null: none). */
export function withKeyChanged(d: DigestSum, before: NewestVersion | null, after: NewestVersion | null): DigestSum {
  if (before !== null && after !== null && before.stamp === after.stamp && before.deleted === after.deleted) return d;
  const lanes = { hi: d.hi, lo: d.lo };
  let count = d.count;
  if (before !== null) {
    term(before, -1, lanes);
    count -= 1;
  }
  if (after !== null) {
    term(after, 1, lanes);
    count += 1;
  }
  return { hi: lanes.hi, lo: lanes.lo, count };
}

export function renderDigest(d: DigestSum): PartitionDigest {
  return { hash: d.hi.toString(16).padStart(8, "0") + d.lo.toString(16).padStart(8, "0"), count: d.count };
}

/** The digest of a partition, read afresh from a store, a page at a time. */
export async function computeDigestSum<Body>(store: BlobStore<Body>, partition: PartitionId, pageSize: number): Promise<Result<DigestSum, StoreFailure>> {
  const lanes = { hi: 0, lo: 0 };
  let count = 0;
  // The listing is in (bucket, key, stamp) order: a key's versions are adjacent and its newest comes last.
  let group: NewestVersion | undefined;
  const close = (): void => {
    if (group === undefined) return;
    term(group, 1, lanes);
    count += 1;
  };
  let cursor: PartitionCursor | undefined;
  for (;;) {
    const page = await store.listPartition(partition, cursor, pageSize);
    if (!page.ok) return err(page.error);
    for (const v of page.value) {
      if (!v.committed) continue;
      if (group !== undefined && (group.bucket !== v.bucket || group.key !== v.key)) close();
      if (group === undefined || group.bucket !== v.bucket || group.key !== v.key || v.stamp > group.stamp) group = v;
    }
    if (page.value.length < pageSize) break;
    cursor = afterVersion(page.value[page.value.length - 1]!);
  }
  close();
  return ok({ hi: lanes.hi, lo: lanes.lo, count });
}
