// A dead node removed for good (`ringstore cluster remove`): 6 nodes in 3 zones under load; one node is killed
// and never comes back; 20 s later the operator removes it (the same epoch step as a decommission, with nobody
// to hand the data over: the new primaries copy from the two copies that remain). Once the ring change has had
// time to settle, a second node from another zone is killed for good.
// In half the seeds the removed node is started again on its old disk when faults end.
// Checks, besides the usual invariants (nothing acknowledged lost, no stale read): availability after the
// second loss (sim/availability.ts): every acknowledged object readable at its newest version, every write
// accepted, every key read once. That holds only if the removal re-made the third copy of every partition the
// first node held: with strict quorums and R=2, two losses of the old primaries would otherwise leave one.

import { defineScenario } from "../sim/scenario.ts";

/** Failure detection settles within this long after a kill (failureTimeoutMs 6 s, heartbeats every 2 s). */
const DETECTION_MS = 10_000;
const KILL_MS = 10_000;
/** The operator notices and removes the dead node. */
const REMOVE_MS = KILL_MS + 20_000;
/** From the removal to the second loss: the new primaries catch up (repair rounds), with rounds to spare. */
const SETTLE_MS = 120_000;

export default defineScenario({
  name: "remove",
  description: "A dead node is removed for good; after the ring change settles a second node dies: every acknowledged object stays readable.",
  cluster: { nodes: 6, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 5 * 60_000,
  availability: { detectionMs: DETECTION_MS, nodesDownMax: 1 },
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 200_000, faultsEndMs: 200_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs, expectAvailable }) {
    const zoneOf = (id: string) => world.adminMap.nodes.find((n) => n.id === id)!.zone;
    const dead = rng.pick(world.nodeIds());
    const second = rng.pick(world.nodeIds().filter((n) => zoneOf(n) !== zoneOf(dead)));
    const secondKillMs = REMOVE_MS + SETTLE_MS;
    at(KILL_MS, () => world.crash(dead));
    // Half the seeds: the machine is gone for good. The other half: the operator starts it again later on its
    // old disk (healEverything at faultsEnd restarts it), out of the ring by then: its copies, possibly older
    // than tombstones collected meanwhile, must not come back (core/repair.ts writeOffCopies).
    const startedAgainLater = rng.chance(0.5);
    at(REMOVE_MS, () => (startedAgainLater ? world.decommission(dead) : world.remove(dead)));
    at(secondKillMs, () => world.crash(second));
    expectAvailable(secondKillMs + DETECTION_MS, faultsEndMs, "second loss after a dead node was removed", { readEveryKey: true });
  },
});
