// Rolling restart: every node in turn is stopped (crash: in-flight writes applied or lost) and started again,
// with a pause between nodes, twice over, under load; restarted nodes must catch up before they count toward R.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "rolling-restart",
  description: "Every node restarted in turn, twice, under load; a restarted node must catch up before counting toward R.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 5 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs }) {
    const nodes = world.nodeIds();
    const steps = nodes.length * 2;
    const slotMs = (0.85 * faultsEndMs) / steps;
    for (let i = 0; i < steps; i++) {
      const node = nodes[i % nodes.length]!;
      const t = 0.05 * faultsEndMs + i * slotMs;
      at(t, () => world.crash(node));
      at(t + rng.between(0.1, 0.4) * slotMs, () => world.restart(node));
    }
  },
});
