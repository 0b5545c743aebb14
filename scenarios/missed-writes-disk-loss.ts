// A primary that missed writes cannot vouch for an empty disk (issue 10, the stale read). A, B and X are the
// primaries of a partition. X stays up and keeps counting itself caught up, but for a few seconds, less than
// the failure timeout, it misses writes: its disk is full, or the routers' requests to it are lost, or its
// answers are. No router sees X down, so no write goes to a handoff (no hint exists anywhere): A and B alone
// acknowledge those writes. Right after, A's disk is lost (replaced empty, A restarts) and B crashes with its
// data intact, staying down until faults end. One lost disk and one node down is within what N=3, W=2 must
// survive. X holds every write it acknowledged, but not the ones it missed: if A catches up from X alone,
// A and X make a read quorum of R=2 that serves the versions X missed as they were before.
// Checks, besides the usual invariants: no read returns a version older than one acknowledged before it began
// (the oracle's stale-read check); reads of the partition may be refused while B is down, never stale.

import { primariesOf } from "../core/placement.ts";
import type { NodeId, PartitionId } from "../core/ids.ts";
import { defineScenario } from "../sim/scenario.ts";

/** How long X misses writes: under the failure timeout (6 s) minus a heartbeat interval (2 s) and a margin. */
const MISS_MS_MIN = 2_000;
const MISS_MS_MAX = 3_500;

export default defineScenario({
  name: "missed-writes-disk-loss",
  description: "A primary misses writes for seconds without being seen down; then a second primary's disk is lost and the third crashes.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  // Few keys and a brisk rate: the writes X misses land on keys that are read again while B is down.
  workload: { keyCount: 200, opsPerSecond: 20, putShare: 0.4, deleteShare: 0.02 },
  loadMs: 90_000,
  faultsEndMs: 90_000,
  settleMsMax: 180_000,
  // B stays down for 30-40 s instead of 60-70 s.
  ci: { opsPerSecond: 15, loadMs: 60_000, faultsEndMs: 60_000, settleMsMax: 180_000 },
  faults({ world, rng, at }) {
    const ring = world.ring();
    const partition = rng.nextInt(ring.partitionCount) as PartitionId;
    const [a, b, x] = rng.shuffled([...primariesOf(ring, partition)]) as [NodeId, NodeId, NodeId];
    const routers = world.routerIds();
    // Every key is written once by 14 s (200 keys at 15-20 operations a second); then X starts missing writes.
    const missFromMs = rng.between(15_000, 25_000);
    const missUntilMs = missFromMs + rng.between(MISS_MS_MIN, MISS_MS_MAX);
    const how = rng.nextInt(3);
    if (how === 0) {
      at(missFromMs, () => world.fillDisk(x));
      at(missUntilMs, () => world.freeDisk(x));
    } else {
      // Requests to X lost (how 1), or its answers (how 2): its heartbeats to the nodes still flow.
      at(missFromMs, () => (how === 1 ? world.oneWay(routers, [x]) : world.oneWay([x], routers)));
      at(missUntilMs, () => world.heal());
    }
    // Before X's next anti-entropy round can pull what it missed.
    const lossMs = missUntilMs + rng.between(0, 1_000);
    at(lossMs, () => world.wipeDisk(a));
    at(lossMs, () => world.crash(b));
    at(lossMs + rng.between(1_000, 3_000), () => world.restart(a));
    // B returns when faults end (the final heal).
  },
});
