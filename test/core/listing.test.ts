import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys } from "../../core/key-order.ts";
import { mergeListingPages } from "../../core/listing.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";

const RUNS = { numRuns: 300 };
const keyArb = fc.string({ unit: "binary", maxLength: 6 });

function version(key: string, stamp: number, deleted = false): ObjectVersion {
  return { bucket: "b", key, stamp: String(stamp).padStart(8, "0") as VersionStamp, size: 0, etag: "", checksum: "", contentType: "", userMeta: {}, deleted };
}

describe("key order", () => {
  it("compareKeys is UTF-8 byte order", () => {
    fc.assert(
      fc.property(keyArb, keyArb, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      RUNS,
    );
  });
});

describe("listing merge", () => {
  it("a merged page holds, up to its cut, the newest version of every key any node reported, in order, hiding nothing", () => {
    // Each node holds some versions of some keys; each returns its first `limit` keys after the marker.
    const nodeArb = fc.array(fc.record({ key: keyArb, stamp: fc.nat(50), deleted: fc.boolean() }), { maxLength: 20 });
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 8 }), (nodes, limit) => {
        const perNode = nodes.map((entries) => {
          const newest = new Map<string, ObjectVersion>();
          for (const e of entries) {
            const seen = newest.get(e.key);
            const v = version(e.key, e.stamp, e.deleted);
            if (!seen || v.stamp > seen.stamp) newest.set(e.key, v);
          }
          return [...newest.values()].sort((x, y) => compareKeys(x.key, y.key));
        });
        const pages = perNode.map((all) => ({ versions: all.slice(0, limit), done: all.length <= limit }));
        const merged = mergeListingPages(pages, limit);
        // Truth: newest version per key over all nodes.
        const truth = new Map<string, ObjectVersion>();
        for (const all of perNode) for (const v of all) if (!truth.has(v.key) || v.stamp > truth.get(v.key)!.stamp) truth.set(v.key, v);
        const truthKeys = [...truth.keys()].sort(compareKeys);
        const got = merged.versions.map((v) => v.key);
        expect(got).toEqual(truthKeys.slice(0, got.length));
        for (const v of merged.versions) expect(v.stamp).toBe(truth.get(v.key)!.stamp);
        expect(got.length).toBeLessThanOrEqual(limit);
        if (!merged.truncated) expect(got).toEqual(truthKeys);
      }),
      RUNS,
    );
  });
});
