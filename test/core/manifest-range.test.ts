// A range read of a multipart object (core/manifest.ts partsInRange, what runtime/router/manifest-reader.ts
// streams): the pieces it names are exactly the range's bytes, in order, each inside its part.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ManifestPart, partsInRange } from "../../core/manifest.ts";
import type { VersionStamp } from "../../core/object-version.ts";

const partsOf = (sizes: readonly number[]): ManifestPart[] =>
  sizes.map((size, i) => ({ partNumber: i + 1, key: `u/${i + 1}`, stamp: `s${i}` as VersionStamp, size, etag: `e${i}`, checksum: `c${i}` }));

/** The model: every byte of the object as (part index, offset in that part), in object order. */
function bytesOf(parts: readonly ManifestPart[]): [number, number][] {
  return parts.flatMap((p, i) => Array.from({ length: p.size }, (_, o) => [i, o] as [number, number]));
}

const objects = fc
  .array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 })
  .filter((sizes) => sizes.some((s) => s > 0))
  .chain((sizes) => {
    const total = sizes.reduce((a, b) => a + b, 0);
    return fc.tuple(fc.constant(sizes), fc.integer({ min: 0, max: total - 1 }), fc.integer({ min: 0, max: total - 1 })).map(([s, a, b]) => ({ sizes: s, start: Math.min(a, b), end: Math.max(a, b) }));
  });

describe("partsInRange", () => {
  it("names exactly the range's bytes, in order, each piece inside its part and no part empty", () => {
    fc.assert(
      fc.property(objects, ({ sizes, start, end }) => {
        const parts = partsOf(sizes);
        const pieces = partsInRange(parts, start, end);
        const named = pieces.flatMap((piece) => {
          expect(piece.start).toBeGreaterThanOrEqual(0);
          expect(piece.endInclusive).toBeGreaterThanOrEqual(piece.start);
          expect(piece.endInclusive).toBeLessThan(piece.part.size);
          const index = parts.indexOf(piece.part);
          return Array.from({ length: piece.endInclusive - piece.start + 1 }, (_, o) => [index, piece.start + o] as [number, number]);
        });
        expect(named).toEqual(bytesOf(parts).slice(start, end + 1));
        // Each part at most once, in part order.
        const indexes = pieces.map((p) => parts.indexOf(p.part));
        expect(indexes).toEqual([...new Set(indexes)].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });

  it("a whole-object range names every non-empty part whole", () => {
    const parts = partsOf([5, 0, 3, 7]);
    expect(partsInRange(parts, 0, 14).map((p) => [p.part.partNumber, p.start, p.endInclusive])).toEqual([
      [1, 0, 4],
      [3, 0, 2],
      [4, 0, 6],
    ]);
  });
});
