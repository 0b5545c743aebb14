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
