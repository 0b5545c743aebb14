// Overlapping writes: a few hot keys written over and over through two routers, bodies from bytes to 16 MiB,
// so long uploads of a key overlap short ones begun after them; a node crashes and restarts now and then.
// Checks, besides the usual invariants: last writer wins by completion (S3's rule): a put acknowledged before
// another put's body reached any replica must lose to it (sim/oracle.ts, completion order).

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "overlapping-writes",
  description: "Hot keys written concurrently with long and short bodies: the PUT that completes last wins.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 4, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 6, opsPerSecond: 12, inFlightMax: 24, putShare: 0.6, deleteShare: 0.05, smallBytesMax: 64 * 1024, sizeBytesMax: 16 * 1024 * 1024, bigShare: 0.25 },
  loadMs: 4 * 60_000,
  faultsEndMs: 4 * 60_000,
  settleMsMax: 3 * 60_000,
  ci: { loadMs: 60_000, faultsEndMs: 60_000, settleMsMax: 120_000 },
  faults({ world, rng, at, faultsEndMs }) {
    let t = rng.between(0.1, 0.3) * faultsEndMs;
    while (t < 0.8 * faultsEndMs) {
      const victim = rng.pick(world.nodeIds());
      const downMs = rng.between(2_000, 10_000);
      at(t, () => world.crash(victim));
      at(t + downMs, () => world.restart(victim));
      t += downMs + rng.between(10_000, 40_000);
    }
  },
});
