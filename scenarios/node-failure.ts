// Node failure: 5 nodes in 3 zones, 2,000 objects under load for 10 simulated minutes; nodes crash (losing
// or keeping in-flight writes at random) and restart, one at a time and sometimes two at once, some down long
// enough for re-replication to a handoff to start. Checks: no acknowledged write lost, reads never stale or
// corrupt, full replication on the primaries once the last node is back.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "node-failure",
  description: "Crash and restart nodes under load, one or two at a time, some for longer than reReplicateAfter.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 2_000, opsPerSecond: 12 },
  loadMs: 10 * 60_000,
  faultsEndMs: 10 * 60_000,
  settleMsMax: 5 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs }) {
    let t = rng.between(0.03, 0.1) * faultsEndMs;
    while (t < 0.9 * faultsEndMs) {
      const nodes = world.nodeIds();
      const victim = rng.pick(nodes);
      const downMs = Math.min(rng.chance(0.25) ? rng.between(35_000, 90_000) : rng.between(2_000, 20_000), 0.95 * faultsEndMs - t);
      at(t, () => world.crash(victim));
      at(t + downMs, () => world.restart(victim));
      if (rng.chance(0.3)) {
        const second = rng.pick(nodes.filter((n) => n !== victim));
        const t2 = t + rng.between(0, downMs);
        at(t2, () => world.crash(second));
        at(Math.min(t2 + rng.between(2_000, 15_000), 0.97 * faultsEndMs), () => world.restart(second));
      }
      t += downMs + rng.between(5_000, 30_000);
    }
  },
});
