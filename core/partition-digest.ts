// The digest of a partition that repair compares between replicas: which keys the partition holds and the
// newest committed version of each (tombstones included).
// Guarantees: two stores whose partitions hold the same newest committed (bucket, key, stamp, deleted) per
// key give the same digest; any difference changes it except with probability about 2^-64.
// Why a sum: the digest is the sum (mod 2^64) of one xxhash64 term per key, not a hash of the sorted listing,
// so a store can keep it current as single keys change (core/digest-cache.ts) instead of re-reading the whole
// partition after every write. DESIGN.md's "sorted hash of (key, version) pairs" is the same set, hashed
// in an order that does not matter.
import { checksumHex, xxhash64 } from "./hash.ts";
import type { PartitionId } from "./ids.ts";
import type { VersionStamp } from "./object-version.ts";
import type { BlobStore, StoreFailure } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";

export interface PartitionDigest {
  readonly hash: string;
  readonly count: number;
}

/** The digest before it is rendered: the sum of the terms, and how many keys contributed one. */
export interface DigestSum {
  readonly sum: bigint;
  readonly count: number;
}

/** What a key contributes: its newest committed version. */
export interface NewestVersion {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: VersionStamp;
  readonly deleted: boolean;
}

const MOD_MASK = (1n << 64n) - 1n;

export const emptyDigestSum: DigestSum = { sum: 0n, count: 0 };

export function digestTerm(v: NewestVersion): bigint {
  return xxhash64(`${v.bucket}\n${v.key}\n${v.stamp}\n${v.deleted ? 1 : 0}\n`);
}

/** The digest after one key's newest committed version went from `before` to `after` (null: none). */
export function withKeyChanged(d: DigestSum, before: NewestVersion | null, after: NewestVersion | null): DigestSum {
  if (before !== null && after !== null && before.stamp === after.stamp && before.deleted === after.deleted) return d;
  let sum = d.sum;
  let count = d.count;
  if (before !== null) {
    sum = (sum - digestTerm(before)) & MOD_MASK;
    count -= 1;
  }
  if (after !== null) {
    sum = (sum + digestTerm(after)) & MOD_MASK;
    count += 1;
  }
  return { sum, count };
}

export function renderDigest(d: DigestSum): PartitionDigest {
  return { hash: checksumHex(d.sum), count: d.count };
}

/** The digest of a partition, read afresh from a store, a page at a time. */
export async function computeDigestSum<Body>(store: BlobStore<Body>, partition: PartitionId, pageSize: number): Promise<Result<DigestSum, StoreFailure>> {
  let sum = 0n;
  let count = 0;
  // The listing is in (bucket, key, stamp) order: a key's versions are adjacent and its newest comes last.
  let group: NewestVersion | undefined;
  const close = (): void => {
    if (group === undefined) return;
    sum = (sum + digestTerm(group)) & MOD_MASK;
    count += 1;
  };
  let cursor: { bucket: string; key: string; stamp: VersionStamp } | undefined;
  for (;;) {
    const page = await store.listPartition(partition, cursor, pageSize);
    if (!page.ok) return err(page.error);
    for (const v of page.value) {
      if (!v.committed) continue;
      if (group !== undefined && (group.bucket !== v.bucket || group.key !== v.key)) close();
      if (group === undefined || group.bucket !== v.bucket || group.key !== v.key || v.stamp > group.stamp) group = v;
    }
    if (page.value.length < pageSize) break;
    const last = page.value[page.value.length - 1]!;
    cursor = { bucket: last.bucket, key: last.key, stamp: last.stamp };
  }
  close();
  return ok({ sum, count });
}
