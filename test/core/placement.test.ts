import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import { handoffsOf, livePlacement, preferenceList, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { mapOf, newNodes, saltArb } from "./support/maps.ts";

const RUNS = { numRuns: 200 };

describe("placement", () => {
  it("livePlacement returns the first N live nodes of the preference list, each handoff hinting a distinct down primary", () => {
    fc.assert(
      fc.property(saltArb, fc.integer({ min: 3, max: 20 }), fc.nat(255), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }), (salt, count, partition, liveFlags) => {
        const ring = buildRing(mapOf(newNodes(count, { prefix: salt }), 8));
        const p = partition as PartitionId;
        const live = new Set(ring.nodes.filter((_, i) => liveFlags[i]).map((n) => n.id));
        const isLive = (id: NodeId) => live.has(id);
        const placements = livePlacement(ring, p, isLive);
        const expected = preferenceList(ring, p).filter(isLive).slice(0, ring.replicaCount);
        expect(placements.map((x) => x.node)).toEqual(expected);
        const primaries = primariesOf(ring, p);
        const downPrimaries = primaries.filter((id) => !isLive(id));
        const hints = placements.flatMap((x) => (x.role === "handoff" ? [x.hintFor] : []));
        expect(new Set(hints).size).toBe(hints.length);
        for (const hint of hints) expect(downPrimaries).toContain(hint);
        for (const x of placements) expect(x.role === "primary").toBe(primaries.includes(x.node));
      }),
      RUNS,
    );
  });

  it("the preference list holds every active node once, primaries first", () => {
    fc.assert(
      fc.property(saltArb, fc.integer({ min: 1, max: 30 }), fc.nat(255), (salt, count, partition) => {
        const ring = buildRing(mapOf(newNodes(count, { prefix: salt }), 8));
        const list = preferenceList(ring, partition as PartitionId);
        expect(new Set(list).size).toBe(count);
        expect(list.slice(0, ring.replicaCount)).toEqual([...primariesOf(ring, partition as PartitionId)]);
        expect([...handoffsOf(ring, partition as PartitionId)]).toEqual(list.slice(ring.replicaCount));
      }),
      RUNS,
    );
  });

  it("when one node is down, its partitions' handoffs spread over several nodes", () => {
    const ring = buildRing(mapOf(newNodes(12), 10));
    const down = ring.nodes[0]!.id;
    const takers = new Map<NodeId, number>();
    for (let p = 0; p < ring.partitionCount; p++) {
      for (const x of livePlacement(ring, p as PartitionId, (id) => id !== down)) {
        if (x.role === "handoff") takers.set(x.node, (takers.get(x.node) ?? 0) + 1);
      }
    }
    const total = [...takers.values()].reduce((s, n) => s + n, 0);
    expect(total).toBeGreaterThan(0);
    // no single node takes more than half of the down node's load
    expect(Math.max(...takers.values())).toBeLessThan(total / 2);
  });
});
