// Joins under load: a 4-node cluster grows by one or two nodes while clients read and write; sometimes a node
// crashes during the transition. Checks read-after-write across the ring change (old and new rings both
// consulted until the transition retires), nothing lost, and afterwards every object on exactly its new primaries.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "join",
  description: "One or two nodes join a 4-node cluster under load; a crash during the transition now and then.",
  cluster: { nodes: 4, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 6 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 200_000 },
  faults({ world, rng, at, faultsEndMs }) {
    const joins = 1 + rng.nextInt(2);
    let t = rng.between(0.15, 0.3) * faultsEndMs;
    for (let i = 0; i < joins && t < 0.8 * faultsEndMs; i++) {
      at(t, () => {
        world.join();
      });
      if (rng.chance(0.3)) {
        const crashAt = t + rng.between(1_000, 10_000);
        const downMs = rng.between(2_000, 15_000);
        at(crashAt, () => {
          const victim = rng.pick(world.upNodeIds());
          world.crash(victim);
          at(crashAt + downMs, () => world.restart(victim));
        });
      }
      t += rng.between(0.2, 0.35) * faultsEndMs;
    }
  },
});
