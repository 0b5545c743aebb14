// An object version: what every replica stores about one write (or delete) of one key.
// Guarantees: stamps are totally ordered strings (compare with <), so "newest" is well defined everywhere,
// in SQL indexes too; a tombstone is a version with deleted = true and size 0.
// Assumes: stamps are minted by core/version.ts (hybrid logical clock + writer id).

export type VersionStamp = string & { readonly __versionStamp: true };

export interface ObjectVersion {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: VersionStamp;
  readonly size: number;
  /** S3 ETag without quotes: the MD5 of the body, or the multipart form "md5-parts". Empty on tombstones. */
  readonly etag: string;
  /** xxhash64 of the stored bytes as 16 hex digits; replicas verify it on every read. */
  readonly checksum: string;
  readonly contentType: string;
  readonly userMeta: Readonly<Record<string, string>>;
  readonly deleted: boolean;
}

export const newerThan = (a: ObjectVersion, b: ObjectVersion | null | undefined): boolean => !b || a.stamp > b.stamp;

export function newest<T extends { readonly stamp: VersionStamp }>(versions: readonly (T | null | undefined)[]): T | null {
  let best: T | null = null;
  for (const v of versions) if (v && (!best || v.stamp > best.stamp)) best = v;
  return best;
}
