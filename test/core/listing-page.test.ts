// The S3 page cut (core/listing.ts listPage) against a model of S3's listing: sorted live keys, folded into
// common prefixes, paged by max-keys, with the page whose last entry is a prefix among the cases.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys } from "../../core/key-order.ts";
import { type ListCursor, type ListEntry, type MergedListingRead, cursorOfMarker, foldedPrefix, listPage, listingComplete, mergeListingPages, nodeListingPage } from "../../core/listing.ts";
import { ok } from "../../core/result.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";

const RUNS = { numRuns: 400 };
// Few characters, so that keys share prefixes and delimiters often; U+10FFFF is the jump's own sentinel.
const keyArb = fc.array(fc.constantFrom("a", "b", "/", "-", "é", "\u{10FFFF}", "😀"), { minLength: 1, maxLength: 5 }).map((cs) => cs.join(""));
const bucketArb = fc.uniqueArray(fc.record({ key: keyArb, deleted: fc.boolean() }), { selector: (e) => e.key, maxLength: 40 });
const prefixArb = fc.constantFrom("", "a", "a/", "b-", "\u{10FFFF}");
const delimiterArb = fc.constantFrom(undefined, "/", "-", "a/", "\u{10FFFF}");

function version(key: string, deleted: boolean): ObjectVersion {
  return { bucket: "b", key, stamp: "00000001" as VersionStamp, size: 1, etag: "e", checksum: "c", contentType: "", userMeta: {}, deleted };
}

/**
 * The merged listing as the router sees it: newest versions after `after`, at most `limit`, sometimes fewer
 * (a node page that was cut short cuts the merge) with `truncated` set whenever keys remain.
 */
function fetchOver(versions: readonly ObjectVersion[], prefix: string, shortBy: () => number, calls: { count: number }): MergedListingRead {
  const sorted = versions.filter((v) => v.key.startsWith(prefix)).sort((x, y) => compareKeys(x.key, y.key));
  return async (after, limit) => {
    calls.count += 1;
    const rest = sorted.filter((v) => compareKeys(v.key, after) > 0);
    const take = Math.max(1, limit - shortBy());
    return { versions: rest.slice(0, take), truncated: rest.length > take };
  };
}

type ModelEntry = { kind: "key"; key: string } | { kind: "prefix"; prefix: string };

/** S3's listing, whole: live keys in byte order, each folded into its common prefix, each prefix once. */
function modelListing(versions: readonly ObjectVersion[], prefix: string, delimiter: string | undefined): ModelEntry[] {
  const live = versions.filter((v) => !v.deleted && v.key.startsWith(prefix)).map((v) => v.key).sort(compareKeys);
  const out: ModelEntry[] = [];
  for (const key of live) {
    const folded = foldedPrefix(key, prefix, delimiter);
    if (folded === undefined) out.push({ kind: "key", key });
    else if (!out.some((e) => e.kind === "prefix" && e.prefix === folded)) out.push({ kind: "prefix", prefix: folded });
  }
  return out;
}

const simple = (e: ListEntry): ModelEntry => (e.kind === "key" ? { kind: "key", key: e.version.key } : { kind: "prefix", prefix: e.prefix });
const markerOf = (c: ListCursor): string => (c.kind === "after-key" ? c.key : c.kind === "after-prefix" ? c.prefix : "");

describe("listing pages", () => {
  it("paging through a listing yields S3's entries exactly once each, in order, at most max-keys a page, truncated exactly when more remain", async () => {
    await fc.assert(
      fc.asyncProperty(bucketArb, prefixArb, delimiterArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), async (entries, prefix, delimiter, maxKeys, short, byMarker) => {
        const versions = entries.map((e) => version(e.key, e.deleted));
        const want = modelListing(versions, prefix, delimiter);
        const calls = { count: 0 };
        const fetch = fetchOver(versions, prefix, () => short, calls);
        const got: ModelEntry[] = [];
        let start: ListCursor = { kind: "start" };
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThanOrEqual(want.length + 1);
          const page = await listPage(fetch, { prefix, delimiter, start, maxKeys });
          expect(page.entries.length).toBeLessThanOrEqual(maxKeys);
          got.push(...page.entries.map(simple));
          expect(page.truncated).toBe(got.length < want.length);
          if (!page.truncated) break;
          // A v1 client pages by NextMarker, which is the marker text of the cursor: both must continue alike.
          start = byMarker ? cursorOfMarker(markerOf(page.next!), prefix, delimiter) : page.next!;
        }
        expect(got).toEqual(want);
      }),
      RUNS,
    );
  });

  it("a page ending on a common prefix answers (the next fetch past the prefix is empty)", async () => {
    const versions = ["a", "b/1", "b/2"].map((k) => version(k, false));
    const calls = { count: 0 };
    const page = await listPage(fetchOver(versions, "", () => 0, calls), { prefix: "", delimiter: "/", start: { kind: "start" }, maxKeys: 1000 });
    expect(page.entries.map(simple)).toEqual([{ kind: "key", key: "a" }, { kind: "prefix", prefix: "b/" }]);
    expect(page.truncated).toBe(false);
    expect(calls.count).toBeLessThanOrEqual(2);
  });

  it("a marker equal to a common prefix skips everything under it", async () => {
    const versions = ["a/1", "a/2", "b"].map((k) => version(k, false));
    const start = cursorOfMarker("a/", "", "/");
    const page = await listPage(fetchOver(versions, "", () => 0, { count: 0 }), { prefix: "", delimiter: "/", start, maxKeys: 10 });
    expect(page.entries.map(simple)).toEqual([{ kind: "key", key: "b" }]);
  });

  it("a delimiter listing fetches at most once per common prefix on the page, never once per key", async () => {
    const versions: ObjectVersion[] = [];
    for (let d = 0; d < 20; d++) for (let f = 0; f < 50; f++) versions.push(version(`d${String(d).padStart(2, "0")}/f${f}`, false));
    const calls = { count: 0 };
    const page = await listPage(fetchOver(versions, "", () => 0, calls), { prefix: "", delimiter: "/", start: { kind: "start" }, maxKeys: 1000 });
    expect(page.entries.length).toBe(20);
    expect(calls.count).toBeLessThanOrEqual(21);
  });

  it("an abandoned listing stops between fetches", async () => {
    const versions = Array.from({ length: 50 }, (_, i) => version(`p${String(i).padStart(2, "0")}/x`, false));
    const controller = new AbortController();
    const calls = { count: 0 };
    const inner = fetchOver(versions, "", () => 10_000, calls); // one key a batch: many fetches
    const fetch: MergedListingRead = async (after, limit) => {
      if (calls.count === 3) controller.abort(new Error("client gone"));
      return inner(after, limit);
    };
    await expect(listPage(fetch, { prefix: "", delimiter: "/", start: { kind: "start" }, maxKeys: 1000 }, controller.signal)).rejects.toThrow("client gone");
    expect(calls.count).toBe(4);
  });

  it("a fetch that makes no progress is an assertion, never a loop", async () => {
    const stuck: MergedListingRead = async () => ({ versions: [], truncated: true });
    await expect(listPage(stuck, { prefix: "", start: { kind: "start" }, maxKeys: 10 })).rejects.toThrow("no progress");
  });
});

describe("listing completeness", () => {
  it("a listing tolerates W-1 missing nodes: an acknowledged object is on W of them", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.nat(9), (asked, writeQuorum, missing) => {
        fc.pre(missing <= asked);
        expect(listingComplete(asked - missing, asked, writeQuorum)).toBe(missing < writeQuorum || missing === 0);
      }),
      RUNS,
    );
  });
});


/** One node's index as nodeListingPage reads it: its newest versions, sorted. */
function indexRead(node: readonly ObjectVersion[]) {
  return async (from: string, n: number) => {
    const rest = node.filter((v) => compareKeys(v.key, from) > 0);
    const taken = rest.slice(0, n);
    return ok({ versions: taken, exhausted: rest.length <= n, lastKey: taken[taken.length - 1]?.key });
  };
}

/** The router's merged read over nodes that each answer with nodeListingPage. */
function mergedOverNodes(nodes: readonly (readonly ObjectVersion[])[], prefix: string, delimiter: string | undefined, nodeLimit = Infinity): MergedListingRead {
  return async (after, limit) => {
    const pages = [];
    for (const node of nodes) {
      const page = await nodeListingPage(indexRead(node), { prefix, after, limit: Math.min(limit, nodeLimit), ...(delimiter ? { delimiter } : {}) });
      if (!page.ok) throw new Error("read failed");
      pages.push(page.value);
    }
    return mergeListingPages(pages, limit, delimiter ? { prefix, delimiter } : undefined);
  };
}

describe("listing across nodes that jump past prefixes", () => {
  // Every key has up to three versions (stamps 1..3), each live or a tombstone; each node holds, of each key,
  // the newest of some subset of them (a node that missed writes, or holds stale copies).
  const historyArb = fc.uniqueArray(fc.record({ key: keyArb, deleted: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) }), { selector: (e) => e.key, maxLength: 30 });
  const holdingsArb = fc.array(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 30, maxLength: 30 }), { minLength: 1, maxLength: 4 });

  function versionOf(key: string, stamp: number, deleted: boolean): ObjectVersion {
    return { bucket: "b", key, stamp: String(stamp).padStart(8, "0") as VersionStamp, size: 1, etag: "e", checksum: "c", contentType: "", userMeta: {}, deleted };
  }

  it("a listing over node pages that skip past common prefixes equals S3's listing of the newest versions", async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, holdingsArb, prefixArb, delimiterArb, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), async (history, holdings, prefix, delimiter, maxKeys, nodeLimit) => {
        // Node n holds, of key i, the newest stamp whose bit is set in holdings[n][i].
        const nodes = holdings.map((bits) =>
          history
            .map((h, i) => {
              const mask = bits[i]!;
              const stamp = mask & 4 ? 3 : mask & 2 ? 2 : mask & 1 ? 1 : 0;
              return stamp === 0 ? undefined : versionOf(h.key, stamp, h.deleted[stamp - 1]!);
            })
            .filter((v): v is ObjectVersion => v !== undefined && v.key.startsWith(prefix))
            .sort((x, y) => compareKeys(x.key, y.key)),
        );
        const newest = new Map<string, ObjectVersion>();
        for (const node of nodes) for (const v of node) if (!newest.has(v.key) || v.stamp > newest.get(v.key)!.stamp) newest.set(v.key, v);
        const want = modelListing([...newest.values()], prefix, delimiter);
        const fetch = mergedOverNodes(nodes, prefix, delimiter, nodeLimit);
        const got: ModelEntry[] = [];
        let start: ListCursor = { kind: "start" };
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThanOrEqual(want.length + 1);
          const page = await listPage(fetch, { prefix, delimiter, start, maxKeys });
          got.push(...page.entries.map(simple));
          if (!page.truncated) break;
          start = page.next!;
        }
        expect(got).toEqual(want);
      }),
      RUNS,
    );
  });

  it("a key one node holds live but another holds newer as a tombstone does not hide the prefix's other keys", async () => {
    // Node A: a/1 live (stale) and a/2 live; it jumps past a/ after a/1. Node B: a/1 deleted later, no a/2.
    const nodes = [
      [versionOf("a/1", 1, false), versionOf("a/2", 1, false)],
      [versionOf("a/1", 2, true)],
    ];
    const fetch = mergedOverNodes(nodes, "", "/");
    const page = await listPage(fetch, { prefix: "", delimiter: "/", start: { kind: "start" }, maxKeys: 10 });
    expect(page.entries.map(simple)).toEqual([{ kind: "prefix", prefix: "a/" }]);
  });

  it("a node page returns one key per common prefix, not every key under it", async () => {
    const node: ObjectVersion[] = [];
    for (let d = 0; d < 20; d++) for (let f = 0; f < 50; f++) node.push(versionOf(`d${String(d).padStart(2, "0")}/f${String(f).padStart(2, "0")}`, 1, false));
    let reads = 0;
    const read = async (from: string, n: number) => {
      reads += 1;
      const rest = node.filter((v) => compareKeys(v.key, from) > 0);
      const taken = rest.slice(0, n);
      return ok({ versions: taken, exhausted: rest.length <= n, lastKey: taken[taken.length - 1]?.key });
    };
    const page = await nodeListingPage(read, { prefix: "", delimiter: "/", after: "", limit: 1000 });
    expect(page.ok && page.value.versions.map((v) => v.key)).toEqual(Array.from({ length: 20 }, (_, d) => `d${String(d).padStart(2, "0")}/f00`));
    expect(page.ok && page.value.done).toBe(true);
    expect(reads).toBe(21);
    // The router's page over such nodes: one fan-out for all 20 prefixes.
    let fetches = 0;
    const fetch: MergedListingRead = async (after, limit) => {
      fetches += 1;
      const answer = await nodeListingPage(read, { prefix: "", delimiter: "/", after, limit });
      return mergeListingPages([answer.ok ? answer.value : { versions: [], done: true }], limit, { prefix: "", delimiter: "/" });
    };
    const listed = await listPage(fetch, { prefix: "", delimiter: "/", start: { kind: "start" }, maxKeys: 1000 });
    expect(listed.entries.length).toBe(20);
    expect(fetches).toBe(1);
  });
});

describe("listPage over records named by a name and a suffix (upload records: key, NUL, upload id)", () => {
  it("with nameEnd only the name folds under the delimiter, whatever the suffix holds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ key: keyArb, suffix: fc.array(fc.constantFrom("a", "-", "/", "0"), { minLength: 1, maxLength: 4 }).map((cs) => cs.join("")) }), { selector: (r) => `${r.key}\0${r.suffix}`, maxLength: 30 }),
        prefixArb,
        delimiterArb,
        fc.integer({ min: 1, max: 7 }),
        async (records, prefix, delimiter, maxKeys) => {
          const versions = records.map((r) => version(`${r.key}\0${r.suffix}`, false));
          const nameEnd = (key: string) => key.lastIndexOf("\0");
          const got: ListEntry[] = [];
          let start: ListCursor = { kind: "start" };
          for (let pages = 0; pages < 100; pages++) {
            const page = await listPage(fetchOver(versions, prefix, () => 0, { count: 0 }), { prefix, ...(delimiter ? { delimiter } : {}), start, maxKeys, nameEnd });
            got.push(...page.entries);
            if (!page.truncated) break;
            start = page.next!;
          }
          // The model: every record whose name does not fold, and each folded prefix of a name once.
          const expected: string[] = [];
          for (const v of [...versions].sort((x, y) => compareKeys(x.key, y.key))) {
            if (!v.key.startsWith(prefix)) continue;
            const folded = foldedPrefix(v.key.slice(0, nameEnd(v.key)), prefix, delimiter);
            const entry = folded === undefined ? `key ${v.key}` : `prefix ${folded}`;
            if (expected[expected.length - 1] !== entry) expected.push(entry);
          }
          expect(got.map((e) => (e.kind === "key" ? `key ${e.version.key}` : `prefix ${e.prefix}`))).toEqual(expected);
        },
      ),
      RUNS,
    );
  });
});
