// Building partition-listing cursors (core/ports.ts PartitionCursor) and reading them back.
// Guarantees: a cursor built here names a real key (and, for "after", a real stamp), so it passes the wire
// codec's checks; "key-start" lists every version of its key, "after" none at or before its version.
import { assert } from "./assert.ts";
import { type VersionPlace, compareVersionPlaces } from "./key-order.ts";
import type { VersionStamp } from "./object-version.ts";
import type { PartitionCursor } from "./ports.ts";
import { isStamp } from "./version.ts";

/** From the first version of (bucket, key): a key whose versions a page may have cut is read again whole. */
export function keyStart(bucket: string, key: string): PartitionCursor {
  return { kind: "key-start", bucket, key };
}

/** Just after one version: the next page begins with the version that follows it. */
export function afterVersion(version: { readonly bucket: string; readonly key: string; readonly stamp: VersionStamp }): PartitionCursor {
  assert(isStamp(version.stamp), () => `cursor after ${version.bucket}/${version.key} needs a real stamp, not ${JSON.stringify(version.stamp)}`);
  return { kind: "after", bucket: version.bucket, key: version.key, stamp: version.stamp };
}

/**
 * The place a listing resumes after: every version past it is on the listing that resumes from the cursor. A
 * "key-start" cursor stands just before its key's first version (the empty stamp sorts before every real one).
 */
export function cursorPlace(cursor: PartitionCursor): VersionPlace {
  return { bucket: cursor.bucket, key: cursor.key, stamp: cursor.kind === "key-start" ? "" : cursor.stamp };
}

/**
 * Is the version (bucket, key, stamp) past the cursor, that is, on a listing that resumes from it? In the
 * listing's order (core/key-order.ts compareVersionPlaces: UTF-8 byte order), the order every store keeps.
 */
export function isPastCursor(cursor: PartitionCursor, bucket: string, key: string, stamp: VersionStamp): boolean {
  return compareVersionPlaces({ bucket, key, stamp }, cursorPlace(cursor)) > 0;
}
