// The order of object keys: S3 lists keys in UTF-8 byte order, and so does every node's index (SQLite's
// BINARY collation over UTF-8). JavaScript's `<` compares UTF-16 code units, which disagrees for keys
// that mix supplementary characters (emoji) with U+E000..U+FFFF. compareKeys is byte order, with no copies.

/** Maps a UTF-16 code unit so that code-unit order becomes code-point (= UTF-8 byte) order. */
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

export const keyBefore = (a: string, b: string): boolean => compareKeys(a, b) < 0;

/** Where a version sits in a store's listing: a partition listing is in (bucket, key, stamp) order. */
export interface VersionPlace {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: string;
}

/**
 * (bucket, key, stamp) order, each field in UTF-8 byte order: the order of the file-system store's index
 * (SQLite's BINARY collation), and so the order every store lists a partition in. A tuple, not a joined string:
 * a key may hold any character, U+0000 included, and a separator would then break the order.
 */
export function compareVersionPlaces(a: VersionPlace, b: VersionPlace): number {
  if (a.bucket !== b.bucket) return compareKeys(a.bucket, b.bucket);
  if (a.key !== b.key) return compareKeys(a.key, b.key);
  return a.stamp === b.stamp ? 0 : compareKeys(a.stamp, b.stamp);
}
