// Chaos: every fault at once under load: crashes and restarts, symmetric and one-way partitions, message loss,
// clock skew and drift, bit flips, slow and full disks, damaged transfers, and a join and a decommission.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "chaos",
  description: "All faults mixed under load: crashes, partitions, loss, skew, corruption, slow/full disks, a join and a decommission.",
  cluster: { nodes: 6, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  network: { bodyCorruptProbability: 0.001 },
  loadMs: 8 * 60_000,
  faultsEndMs: 8 * 60_000,
  settleMsMax: 6 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 80_000, faultsEndMs: 80_000, settleMsMax: 240_000 },
  faults({ world, rng, at, faultsEndMs }) {
    // Clock skew on some processes from the start.
    for (const id of [...world.nodeIds(), ...world.routerIds()]) {
      if (rng.chance(0.4)) {
        const skew = rng.between(-2_000, 2_000);
        const drift = rng.between(-5, 5);
        at(rng.between(0, 0.5) * faultsEndMs, () => world.setSkew(id, skew, drift));
      }
    }
    let joined = false;
    let decommissioned = false;
    let t = rng.between(0.03, 0.08) * faultsEndMs;
    while (t < 0.85 * faultsEndMs) {
      const lastMs = Math.min(rng.between(2_000, 30_000), 0.93 * faultsEndMs - t);
      const pick = rng.nextInt(9);
      const node = rng.pick(world.nodeIds());
      switch (pick) {
        case 0:
        case 1:
          at(t, () => world.crash(node));
          at(t + lastMs, () => world.restart(node));
          break;
        case 2: {
          const others = [...world.nodeIds().filter((n) => n !== node), ...world.routerIds()];
          at(t, () => world.partition([node], others));
          at(t + lastMs, () => world.heal());
          break;
        }
        case 3: {
          const others = [...world.nodeIds().filter((n) => n !== node), ...world.routerIds()];
          if (rng.chance(0.5)) at(t, () => world.oneWay(others, [node]));
          else at(t, () => world.oneWay([node], others));
          at(t + lastMs, () => world.heal());
          break;
        }
        case 4:
          at(t, () => world.setLoss(rng.between(0.01, 0.05)));
          at(t + lastMs, () => world.setLoss(0));
          break;
        case 5:
          at(t, () => world.flipBits(node, 1 + rng.nextInt(3)));
          break;
        case 6:
          at(t, () => world.slowDisk(node, 10 + rng.nextInt(50)));
          at(t + lastMs, () => world.slowDisk(node, 1));
          break;
        case 7:
          at(t, () => world.fillDisk(node));
          break;
        default:
          if (!joined) {
            joined = true;
            at(t, () => {
              world.join();
            });
          } else if (!decommissioned) {
            decommissioned = true;
            at(t, () => {
              const active = world.adminMap.nodes.filter((n) => n.state === "active").map((n) => n.id);
              if (active.length > 4) world.decommission(rng.pick(active));
            });
          }
      }
      t += lastMs + rng.between(2_000, 15_000);
    }
  },
});
