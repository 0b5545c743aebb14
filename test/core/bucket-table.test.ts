import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BucketTable, type BucketEntry, entriesNewerThan, markHeldWidely, mergeEntries, tableHash, takesWrites } from "../../core/bucket-table.ts";
import { BucketWriteGate } from "../../core/bucket-write-gate.ts";
import type { VersionStamp } from "../../core/object-version.ts";
import { formatStamp } from "../../core/version.ts";

const RUNS = 300;

// Few names and few stamps, so that entries of one bucket compete (and stamps tie) often.
const name = fc.constantFrom("videos", "photos", "logs");
const stamp = fc.record({ physicalMs: fc.integer({ min: 0, max: 5 }), logical: fc.integer({ min: 0, max: 2 }), writer: fc.constantFrom("r1", "r2") }).map(formatStamp);
const entry: fc.Arbitrary<BucketEntry> = fc.record({
  name,
  stamp,
  state: fc.constantFrom("live" as const, "deleting" as const, "deleted" as const),
  createdMs: fc.integer({ min: 0, max: 3 }),
  settings: fc.constantFrom("", '{"cors":[]}'),
});
const table = fc.array(entry, { maxLength: 8 });

const viaTable = (...parts: readonly (readonly BucketEntry[])[]): BucketEntry[] => {
  const t = new BucketTable();
  for (const p of parts) t.merge(p);
  return t.entries();
};

describe("bucket table merge", () => {
  it("is commutative: a ∪ b = b ∪ a", () => {
    fc.assert(fc.property(table, table, (a, b) => {
          expect(mergeEntries(a, b)).toEqual(mergeEntries(b, a));
        }), { numRuns: RUNS });
  });

  it("is associative: (a ∪ b) ∪ c = a ∪ (b ∪ c)", () => {
    fc.assert(fc.property(table, table, table, (a, b, c) => {
          expect(mergeEntries(mergeEntries(a, b), c)).toEqual(mergeEntries(a, mergeEntries(b, c)));
        }), { numRuns: RUNS });
  });

  it("is idempotent: a ∪ a = a ∪ [] and merging again changes nothing", () => {
    fc.assert(
      fc.property(table, (a) => {
        expect(mergeEntries(a, a)).toEqual(mergeEntries(a, []));
        const t = new BucketTable(a);
        expect(t.merge(a)).toEqual([]);
        expect(t.merge(t.entries())).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it("a table that received the same entries in any order, in any batches, equals the pure merge and hashes the same", () => {
    fc.assert(
      fc.property(table, table, table, (a, b, c) => {
        const one = viaTable(a, b, c);
        const other = viaTable(c, a, b, a);
        expect(one).toEqual(other);
        expect(one).toEqual(mergeEntries(mergeEntries(a, b), c));
        expect(tableHash(one)).toBe(tableHash(other));
        expect(new BucketTable(one).hash).toBe(new BucketTable(other).hash);
      }),
      { numRuns: RUNS },
    );
  });

  it("a delete wins over an older create, and a create after a delete wins over it", () => {
    fc.assert(
      fc.property(name, fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (bucket, t1, gap) => {
        const created: BucketEntry = { name: bucket, stamp: formatStamp({ physicalMs: t1, logical: 0, writer: "r1" }), state: "live", createdMs: t1, settings: "" };
        const deleted: BucketEntry = { name: bucket, stamp: formatStamp({ physicalMs: t1 + gap, logical: 0, writer: "r2" }), state: "deleted", createdMs: t1, settings: "" };
        const again: BucketEntry = { name: bucket, stamp: formatStamp({ physicalMs: t1 + 2 * gap, logical: 0, writer: "r1" }), state: "live", createdMs: t1 + 2 * gap, settings: "" };
        expect(viaTable([created], [deleted])).toEqual([deleted]);
        expect(viaTable([deleted], [created])).toEqual([deleted]);
        expect(viaTable([deleted], [again], [created])).toEqual([again]);
        expect(viaTable([again], [deleted])).toEqual([again]);
        expect(takesWrites(viaTable([created], [deleted])[0])).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("entriesNewerThan gives exactly what brings the other side up to the merge", () => {
    fc.assert(
      fc.property(table, table, (ours, theirs) => {
        const mine = mergeEntries(ours, []);
        const other = mergeEntries(theirs, []);
        const delta = entriesNewerThan(mine, other);
        expect(mergeEntries(other, delta)).toEqual(mergeEntries(mine, other));
        // Nothing that the other side already has, or has newer, is sent.
        for (const e of delta) expect(mergeEntries(other, [e])).not.toEqual(other);
      }),
      { numRuns: RUNS },
    );
  });

  it("DeleteBucket lists only when fewer than W nodes lack its mark", () => {
    expect(markHeldWidely(0, 2)).toBe(true);
    expect(markHeldWidely(1, 2)).toBe(true);
    expect(markHeldWidely(2, 2)).toBe(false);
    expect(markHeldWidely(0, 1)).toBe(true);
    expect(markHeldWidely(1, 1)).toBe(false);
  });
});

describe("bucket write gate", () => {
  const s = (ms: number) => formatStamp({ physicalMs: ms, logical: 0, writer: "r1" }) as VersionStamp;

  it("a marked bucket admits no commit, and the mark's answer waits for the commits admitted before it", async () => {
    const t = new BucketTable([{ name: "videos", stamp: s(1), state: "live", createdMs: 1, settings: "" }]);
    const gate = new BucketWriteGate(t);
    expect(gate.admit("videos")).toBe(true);
    t.merge([{ name: "videos", stamp: s(2), state: "deleting", createdMs: 1, settings: "" }]);
    expect(gate.admit("videos")).toBe(false);
    expect(gate.admit("-system")).toBe(true);
    gate.done("-system");
    let settled = false;
    const waiting = gate.settled("videos").then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    gate.done("videos");
    await waiting;
    expect(settled).toBe(true);
    // A bucket never heard of is not refused: the simulator, and a node that has not yet learned a new bucket.
    expect(gate.admit("unknown")).toBe(true);
  });
});
