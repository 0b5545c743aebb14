import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { partitionOfKey } from "../../core/hash.ts";
import type { PartitionId } from "../../core/ids.ts";
import { err, ok } from "../../core/result.ts";
import { type ScrubContext, type ScrubCursor, scrubStep } from "../../core/scrub.ts";
import { type MemBody, MemoryStore } from "./support/memory-store.ts";
import { stampFor, versionOf } from "./support/cluster.ts";

const BITS = 3;
const checkBody: ScrubContext<MemBody>["checkBody"] = async (body, version) => (body.checksum === version.checksum ? ok(true) : err(`checksum ${body.checksum} != ${version.checksum}`));

const versionArb = fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), at: fc.nat(20), deleted: fc.boolean(), committed: fc.boolean(), corrupt: fc.boolean() });

describe("scrub walk", () => {
  it("a walk of bounded steps checks every live committed version once and reports exactly the corrupt ones, its bodies read one by one or in one batch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(versionArb, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5000 }), fc.boolean(), async (rows, versionsMax, bytesMax, batched) => {
        const store = new MemoryStore();
        for (const r of rows) {
          const version = versionOf("bucket", r.key, stampFor(r.at), r.deleted ? null : `body ${r.key} ${r.at}`);
          store.put(partitionOfKey("bucket", r.key, BITS), version, { size: version.size, checksum: version.checksum }, r.committed);
          if (r.corrupt) store.corrupt("bucket", r.key, version.stamp);
        }
        const live = store.allCommitted().filter((v) => !v.deleted);
        const bad = live.filter((v) => store.entries.get(`bucket\u0000${v.key}\u0000${v.stamp}`)!.body.checksum !== v.checksum);
        const checked: string[] = [];
        const found: string[] = [];
        let cursor: ScrubCursor | undefined;
        for (let steps = 0; ; steps++) {
          expect(steps).toBeLessThanOrEqual(live.length + 1);
          const before = checked.length;
          const ctx: ScrubContext<MemBody> = {
            store,
            checkBody: async (body, version) => {
              checked.push(`${version.key}@${version.stamp}`);
              return checkBody(body, version);
            },
            ...(batched ? { readBodies: async (vs) => ok(await Promise.all(vs.map((v) => store.readBody(v.bucket, v.key, v.stamp)))) } : {}),
          };
          const step = await scrubStep(ctx, cursor, { versionsMax, bytesMax });
          if (!step.ok) throw new Error(step.error.detail);
          expect(step.value.checked).toBe(checked.length - before);
          expect(step.value.checked).toBeLessThanOrEqual(versionsMax);
          found.push(...step.value.corrupt.map((c) => `${c.version.key}@${c.version.stamp}`));
          for (const c of step.value.corrupt) expect(c.partition).toBe(partitionOfKey("bucket", c.version.key, BITS) as PartitionId);
          cursor = step.value.next;
          if (cursor === undefined) break;
        }
        expect([...checked].sort()).toEqual(live.map((v) => `${v.key}@${v.stamp}`).sort());
        expect([...found].sort()).toEqual(bad.map((v) => `${v.key}@${v.stamp}`).sort());
      }),
      { numRuns: 300 },
    );
  });

  it("a version dropped between two steps is neither checked nor reported, and the walk goes on past it", async () => {
    const store = new MemoryStore();
    const keys = ["a", "b", "c"];
    const versions = keys.map((k) => versionOf("bucket", k, stampFor(1), `body ${k}`));
    for (const v of versions) store.put(0 as PartitionId, v, { size: v.size, checksum: v.checksum }, true);
    const ctx: ScrubContext<MemBody> = { store, checkBody };
    const first = await scrubStep(ctx, undefined, { versionsMax: 1, bytesMax: 1 << 20 });
    expect(first.ok && first.value.checked).toBe(1);
    await store.drop("bucket", "b", stampFor(1));
    const second = await scrubStep(ctx, first.ok ? first.value.next : undefined, { versionsMax: 5, bytesMax: 1 << 20 });
    expect(second.ok && second.value.checked).toBe(1);
    expect(second.ok && second.value.next).toBeUndefined();
  });
});
