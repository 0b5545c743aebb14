// Stalls and errors under load: processes paused (SIGSTOP) for less and for more than the failure timeout,
// disks that hang (operations wait, none fails) and then recover, bursts of I/O errors, get replies damaged on
// the wire, and crashes among them. Nothing acknowledged may be lost or read stale, no damaged byte may reach a
// client, and once every fault is over the cluster must reach full replication.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "stalls",
  description: "Paused processes, hung disks, I/O errors and damaged read replies, with crashes, under load.",
  cluster: { nodes: 5, zones: 1, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 6 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 80_000, faultsEndMs: 80_000, settleMsMax: 240_000 },
  faults({ world, rng, at, faultsEndMs }) {
    let t = rng.between(0.03, 0.08) * faultsEndMs;
    // The first four faults are one of each kind of stall, in that order, so every seed meets each of them;
    // after them the kinds come at random, crashes among them.
    for (let n = 0; t < 0.85 * faultsEndMs; n++) {
      const kinds = [4, 1, 2, 3];
      // The first four are kept short enough to all fit in the CI profile's 80 s of faults.
      const lastMs = Math.min(rng.between(1_000, 25_000), 0.93 * faultsEndMs - t, n < kinds.length ? 0.12 * faultsEndMs : Infinity);
      const node = rng.pick(world.nodeIds());
      switch (n < kinds.length ? kinds[n] : rng.nextInt(6)) {
        case 0:
          // Paused for lastMs: short pauses go unnoticed, long ones look like a crash until the node wakes up
          // and answers, its clock having jumped, with everything queued while it slept.
          at(t, () => world.pause(node, lastMs));
          break;
        case 1:
          at(t, () => world.hangDisk(node));
          at(t + lastMs, () => world.unhangDisk(node));
          break;
        case 2:
          at(t, () => world.ioErrors(node, rng.between(0.05, 0.3)));
          at(t + lastMs, () => world.ioErrors(node, 0));
          break;
        case 3:
          at(t, () => world.corruptReplies(rng.between(0.01, 0.05)));
          at(t + lastMs, () => world.corruptReplies(0));
          break;
        case 4:
          // A long pause, past the failure timeout: the node is taken for dead, then comes back without a restart.
          at(t, () => world.pause(node, rng.between(8_000, 30_000)));
          break;
        default:
          at(t, () => world.crash(node));
          at(t + lastMs, () => world.restart(node));
      }
      t += lastMs + (n < 4 ? rng.between(500, 2_000) : rng.between(1_000, 10_000));
    }
  },
});
