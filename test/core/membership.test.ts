import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CatchUpState, primaryPartitions } from "../../core/catch-up.ts";
import { type ClusterMap, createClusterMap, decommissionNode, joinNode, readdressNode } from "../../core/cluster-map.ts";
import { type Epoch, type NodeId, nodeId, zoneId } from "../../core/ids.ts";
import { Membership, mapHash, samePlacement } from "../../core/membership.ts";
import { buildRing } from "../../core/ring.ts";

const RUNS = 200;

function clusterOf(count: number): ClusterMap {
  return createClusterMap({
    partitionBits: 4,
    replicas: 3,
    nodes: Array.from({ length: count }, (_, i) => ({ id: nodeId(`n${i}`), address: `a${i}`, zone: zoneId(`z${i % 3}`) })),
  });
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe("membership", () => {
  it("mapHash does not depend on the order of nodes, and changes with any field", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.infiniteStream(fc.nat()), (count, noise) => {
        const map = clusterOf(count);
        const shuffled = { ...map, nodes: [...map.nodes].sort(() => (noise.next().value % 3) - 1) };
        expect(mapHash(shuffled)).toBe(mapHash(map));
        const readdressed = must(readdressNode(map, map.nodes[0]!.id, "elsewhere"));
        expect(mapHash(readdressed)).not.toBe(mapHash(map));
      }),
      { numRuns: RUNS },
    );
  });

  it("a process only moves forward: older maps are ignored, newer ones adopted, conflicts converge on the larger hash", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 6 }), fc.array(fc.nat(3), { minLength: 1, maxLength: 6 }), (count, order) => {
        let map = clusterOf(count);
        const maps = [map];
        for (let i = 0; i < 3; i++) {
          map = must(joinNode(map, { id: nodeId(`j${i}`), address: `j${i}`, zone: zoneId("zj") }));
          maps.push(map);
        }
        const m = new Membership(maps[0]!);
        let highest = maps[0]!.epoch;
        for (const i of order) {
          const outcome = must(m.adopt(maps[i]!));
          if (maps[i]!.epoch > highest) {
            expect(outcome).not.toBe("ignored-not-newer");
            highest = maps[i]!.epoch;
          } else expect(outcome).toBe("ignored-not-newer");
          expect(m.epoch).toBe(highest);
        }
        // Two different maps at the same epoch: both sides end on the one with the larger hash.
        const base = clusterOf(count);
        const left = must(readdressNode(base, base.nodes[0]!.id, "left"));
        const right = must(readdressNode(base, base.nodes[0]!.id, "right"));
        const x = new Membership(left);
        const y = new Membership(right);
        const ex = x.observe(nodeId("peer"), { epoch: y.epoch, mapHash: y.hash });
        const ey = y.observe(nodeId("peer"), { epoch: x.epoch, mapHash: x.hash });
        if (ex) must(x.adopt(right));
        if (ey) must(y.adopt(left));
        expect(x.hash).toBe(y.hash);
      }),
      { numRuns: RUNS },
    );
  });

  it("a heartbeat from a newer epoch asks for that node's map", () => {
    const map = clusterOf(3);
    const m = new Membership(map);
    expect(m.observe(nodeId("n1"), { epoch: map.epoch, mapHash: m.hash })).toBeNull();
    expect(m.observe(nodeId("n1"), { epoch: (map.epoch + 1) as Epoch, mapHash: "x" })).toEqual({ kind: "fetch-map", from: "n1", epoch: map.epoch + 1 });
  });

  it("a join or decommission opens a transition that retires only when every active node reports synced at the new epoch", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 7 }), fc.boolean(), fc.array(fc.record({ node: fc.nat(7), synced: fc.boolean() }), { maxLength: 20 }), (count, join, reports) => {
        const before = clusterOf(count);
        const after = join ? must(joinNode(before, { id: nodeId("new"), address: "new", zone: zoneId("z0") })) : must(decommissionNode(before, before.nodes[0]!.id));
        const m = new Membership(before);
        expect(must(m.adopt(after))).toBe("adopted-with-transition");
        expect(m.view.previous?.epoch).toBe(before.epoch);
        const active = after.nodes.filter((n) => n.state === "active").map((n) => n.id);
        const synced = new Set<NodeId>();
        for (const r of reports) {
          const node = active[r.node % active.length]!;
          m.observe(node, { epoch: after.epoch, mapHash: m.hash, ...(r.synced ? { syncedEpoch: after.epoch } : { syncedEpoch: before.epoch }) });
          if (r.synced) synced.add(node);
          const retired = m.retireIfComplete();
          const allSynced = active.every((n) => synced.has(n));
          if (retired) expect(allSynced).toBe(true);
          if (allSynced) expect(m.inTransition).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a map change that moves nothing opens no transition", () => {
    const map = clusterOf(4);
    const m = new Membership(map);
    expect(must(m.adopt(must(readdressNode(map, map.nodes[1]!.id, "moved"))))).toBe("adopted");
    expect(m.inTransition).toBe(false);
  });

  it("during back-to-back changes the oldest unretired ring stays the previous one", () => {
    const a = clusterOf(4);
    const b = must(joinNode(a, { id: nodeId("x"), address: "x", zone: zoneId("z1") }));
    const c = must(joinNode(b, { id: nodeId("y"), address: "y", zone: zoneId("z2") }));
    const m = new Membership(a);
    must(m.adopt(b));
    must(m.adopt(c));
    expect(m.view.previous?.epoch).toBe(a.epoch);
    expect(m.view.current.epoch).toBe(c.epoch);
    expect(samePlacement(m.view.current, buildRing(c))).toBe(true);
  });
});

describe("catch-up state", () => {
  it("a restarted node is behind on exactly its primary partitions; a join puts it behind on the partitions it gains", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 7 }), fc.nat(6), (count, who) => {
        const map = clusterOf(count);
        const self = map.nodes[who % count]!.id;
        const membership = new Membership(map);
        const restarted = new CatchUpState(self, membership.view, "restart-with-data");
        expect(restarted.behindPartitions()).toEqual(primaryPartitions(membership.view, self));
        expect(restarted.syncedEpoch).toBeUndefined();
        const fresh = new CatchUpState(self, membership.view, "new-cluster");
        expect(fresh.behindPartitions()).toEqual([]);
        expect(fresh.syncedEpoch).toBe(map.epoch);

        const next = must(joinNode(map, { id: nodeId("joiner"), address: "j", zone: zoneId("z9") }));
        must(membership.adopt(next));
        fresh.onRingChange(membership.view);
        // An existing node gains nothing on a join (it only gives slots away), so it stays synced.
        expect(fresh.behindPartitions()).toEqual([]);
        expect(fresh.syncedEpoch).toBe(next.epoch);
        const joiner = new CatchUpState(nodeId("joiner"), membership.view, "empty");
        const gained = primaryPartitions({ current: membership.view.current }, nodeId("joiner"));
        expect(joiner.behindPartitions()).toEqual(gained);
        for (const p of gained) joiner.markCaughtUp(p);
        expect(joiner.syncedEpoch).toBe(next.epoch);
      }),
      { numRuns: RUNS },
    );
  });
});
