// The figures the status page and the metrics show of a ring: primary slots per node, and the partitions a
// transition moves.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PartitionId } from "../../core/ids.ts";
import { partitionsInTransition } from "../../core/membership.ts";
import { primariesOf, primaryCounts } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { mapOf, mustDecommission, mustJoin, newNodes, saltArb } from "./support/maps.ts";

const RUNS = { numRuns: 100 };

describe("ring figures", () => {
  it("primaryCounts gives each node the partitions it is a primary of, summing to partitions x N", () => {
    fc.assert(
      fc.property(saltArb, fc.integer({ min: 1, max: 12 }), (salt, count) => {
        const ring = buildRing(mapOf(newNodes(count, { prefix: salt }), 6));
        const counts = primaryCounts(ring);
        expect([...counts.keys()].sort()).toEqual(ring.nodes.map((n) => n.id).sort());
        for (const node of ring.nodes) {
          let mine = 0;
          for (let p = 0; p < ring.partitionCount; p++) if (primariesOf(ring, p as PartitionId).includes(node.id)) mine++;
          expect(counts.get(node.id)).toBe(mine);
        }
      }),
      RUNS,
    );
  });

  it("partitionsInTransition counts the partitions whose primary set changed: 0 without a previous ring, > 0 after a join or leave", () => {
    fc.assert(
      fc.property(saltArb, fc.integer({ min: 3, max: 10 }), fc.boolean(), (salt, count, join) => {
        const before = mapOf(newNodes(count, { prefix: salt }), 6);
        const after = join ? mustJoin(before, newNodes(1, { prefix: `${salt}new` })[0]!) : mustDecommission(before, before.nodes[0]!.id);
        const [old, current] = [buildRing(before), buildRing(after)];
        expect(partitionsInTransition({ current })).toBe(0);
        let changed = 0;
        for (let p = 0; p < current.partitionCount; p++) {
          const a = [...primariesOf(old, p as PartitionId)].sort();
          const b = [...primariesOf(current, p as PartitionId)].sort();
          if (a.join() !== b.join()) changed++;
        }
        expect(partitionsInTransition({ current, previous: old })).toBe(changed);
        expect(changed).toBeGreaterThan(0);
        expect(partitionsInTransition({ current: old, previous: old })).toBe(0);
      }),
      RUNS,
    );
  });
});
