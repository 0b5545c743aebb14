// Decommissions under load: a 6-node cluster loses one or two nodes by operator action; each keeps serving
// until repair has moved its data to the new primaries, then it is retired (its disk no longer counts).
// Checks read-after-write across the ring change, nothing lost, and nothing left on the departed nodes.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "decommission",
  description: "One or two nodes of a 6-node cluster are decommissioned under load and retired once drained.",
  cluster: { nodes: 6, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 6 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 200_000 },
  faults({ world, rng, at, faultsEndMs }) {
    const count = 1 + rng.nextInt(2);
    let t = rng.between(0.15, 0.3) * faultsEndMs;
    for (let i = 0; i < count && t < 0.8 * faultsEndMs; i++) {
      at(t, () => {
        const active = world.adminMap.nodes.filter((n) => n.state === "active").map((n) => n.id);
        world.decommission(rng.pick(active));
      });
      if (rng.chance(0.3)) {
        const crashAt = t + rng.between(1_000, 10_000);
        at(crashAt, () => {
          const victim = rng.pick(world.upNodeIds());
          world.crash(victim);
          at(crashAt + rng.between(2_000, 15_000), () => world.restart(victim));
        });
      }
      t += rng.between(0.2, 0.35) * faultsEndMs;
    }
  },
});
