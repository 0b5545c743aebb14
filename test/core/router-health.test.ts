// core/router-health.ts: a router is healthy when it can reach W nodes for most partitions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeId, zoneId } from "../../core/ids.ts";
import { buildRing } from "../../core/ring.ts";
import { routerHealth } from "../../core/router-health.ts";
import { defaultReplicationSettings } from "../../core/settings.ts";
import { mapOf, mustJoin, newNodes } from "./support/maps.ts";

const settings = defaultReplicationSettings;

describe("router health", () => {
  it("with at most one node down of four or more, a join of a node not heard from yet never turns a healthy router unhealthy", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 9 }), fc.integer({ min: 0, max: 1 }), (count, downCount) => {
        const map = mapOf(newNodes(count), 8);
        const down = new Set(map.nodes.slice(0, downCount).map((n) => n.id));
        const isLive = (n: ReturnType<typeof nodeId>) => map.nodes.some((m) => m.id === n) && !down.has(n);
        const before = routerHealth({ current: buildRing(map) }, isLive, settings);
        const joined = mustJoin(map, { id: nodeId("joiner"), address: "a", zone: zoneId("zone-0") });
        // During the transition both rings are in force; the joiner is not live in this router's view.
        const during = routerHealth({ current: buildRing(joined), previous: buildRing(map) }, isLive, settings);
        expect(before.healthy, before.reason).toBe(true);
        expect(during.healthy, during.reason).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("is unhealthy, with a reason, when too few nodes are live for most partitions", () => {
    const map = mapOf(newNodes(5), 8);
    const ring = buildRing(map);
    const live = new Set([map.nodes[0]!.id, map.nodes[1]!.id]);
    const health = routerHealth({ current: ring }, (n) => live.has(n), settings);
    expect(health.healthy).toBe(false);
    expect(health.reason).toContain("2 of 5 nodes live");
    expect(health.downNodes).toEqual(map.nodes.slice(2).map((n) => n.id).sort()); // the operator's line names them
    expect(routerHealth({ current: ring }, () => true, settings).healthy).toBe(true);
    expect(routerHealth({ current: ring }, () => false, settings).servablePartitions).toBe(0);
  });

  it("one node down of five keeps every partition servable", () => {
    const map = mapOf(newNodes(5), 8);
    const down = map.nodes[2]!.id;
    const health = routerHealth({ current: buildRing(map) }, (n) => n !== down, settings);
    expect(health).toMatchObject({ healthy: true, servablePartitions: 256, partitionCount: 256, liveNodes: 4, downNodes: [down] });
  });
});
