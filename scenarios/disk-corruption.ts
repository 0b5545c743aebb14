// Disk faults: bit flips in stored bodies (found by reads and by the scrubber, replaced from a good replica),
// a slow disk, a full disk, and bodies damaged on the wire (the receiver's checksum refuses them).
// Checks: no corrupt byte ever reaches a client, nothing acknowledged is lost, every primary ends with a good copy.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "disk-corruption",
  description: "Bit flips in stored bodies, a slow disk, a full disk and damaged transfers, under load.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12, putShare: 0.15 },
  network: { bodyCorruptProbability: 0.002 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 5 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 70_000, faultsEndMs: 70_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs }) {
    let t = rng.between(0.1, 0.2) * faultsEndMs;
    while (t < 0.85 * faultsEndMs) {
      const node = rng.pick(world.nodeIds());
      const what = rng.nextInt(4);
      if (what <= 1) {
        const count = 1 + rng.nextInt(5);
        at(t, () => world.flipBits(node, count));
      } else if (what === 2) {
        const lastMs = rng.between(5_000, 30_000);
        at(t, () => world.slowDisk(node, 20 + rng.nextInt(80)));
        at(Math.min(t + lastMs, 0.95 * faultsEndMs), () => world.slowDisk(node, 1));
      } else {
        at(t, () => world.fillDisk(node));
      }
      t += rng.between(5_000, 20_000);
    }
  },
});
