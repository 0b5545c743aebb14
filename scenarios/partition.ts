// Network partitions: symmetric splits (a minority of nodes cut off from the rest and from some routers),
// one-way partitions (a node that can send but not receive, and the reverse), and message loss, under load.
// Checks: nothing acknowledged is lost, no stale or corrupt read, full replication after the network heals.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "partition",
  description: "Symmetric and one-way partitions between nodes and routers, plus message loss, under load.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 5 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs }) {
    let t = rng.between(0.03, 0.1) * faultsEndMs;
    while (t < 0.85 * faultsEndMs) {
      const nodes = world.nodeIds();
      const routers = world.routerIds();
      const lastMs = Math.min(rng.between(3_000, 40_000), 0.95 * faultsEndMs - t);
      const kind = rng.nextInt(4);
      const shuffled = rng.shuffled(nodes);
      if (kind === 0) {
        // A minority of nodes (and maybe a router) on one side.
        const minority = shuffled.slice(0, 1 + rng.nextInt(2));
        const withRouter = rng.chance(0.5) ? [rng.pick(routers)] : [];
        const sideA = [...minority, ...withRouter];
        const sideB = [...nodes.filter((n) => !minority.includes(n)), ...routers.filter((r) => !withRouter.includes(r))];
        at(t, () => world.partition(sideA, sideB));
      } else if (kind === 1) {
        // A node that cannot hear anyone (its sends still go out).
        const deaf = shuffled[0]!;
        at(t, () => world.oneWay([...nodes, ...routers].filter((n) => n !== deaf), [deaf]));
      } else if (kind === 2) {
        // A node whose messages never arrive (it still hears everyone).
        const mute = shuffled[0]!;
        at(t, () => world.oneWay([mute], [...nodes, ...routers].filter((n) => n !== mute)));
      } else {
        at(t, () => world.setLoss(rng.between(0.01, 0.1)));
        at(t + lastMs, () => world.setLoss(0));
      }
      at(t + lastMs, () => world.heal());
      t += lastMs + rng.between(5_000, 25_000);
    }
  },
});
