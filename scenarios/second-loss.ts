// A second permanent loss after re-replication: 5 nodes in 3 zones under load; one node is killed for good;
// once it has been down long enough for re-replication to copy its partitions to handoffs (reReplicateAfter
// 30 s, then repair rounds) a second node is killed for good. Both return only when faults end.
// Checks, besides the usual invariants: availability (sim/availability.ts). With one node down, every request
// that starts 10 s or more after the kill (the failure detector's 6 s and a heartbeat to spare) must succeed;
// after the second kill, the same from 10 s on, and every key written is read once then: every acknowledged
// object readable at its newest version, every write accepted. Strict quorums alone cannot do the second part
// (the re-replicated copies sit on handoffs); stand-ins that caught up (core/quorum.ts) must.

import { defineScenario } from "../sim/scenario.ts";

/** Failure detection settles within this long after a kill (failureTimeoutMs 6 s, heartbeats every 2 s). */
const DETECTION_MS = 10_000;
/** When the first node dies. */
const FIRST_KILL_MS = 10_000;
/**
 * From the first kill to the second: detection (6 s) + reReplicateAfter (30 s) + a quiet repair pause (up to
 * 60 s) before the round that copies the partitions and syncs the stand-ins, with rounds to spare (150 s was
 * one round short on seed 15 once the workload also wrote multipart parts and upload records: more to copy).
 */
const REREPLICATION_MS = 180_000;

export default defineScenario({
  name: "second-loss",
  description: "One node killed for good; after re-replication a second one: every acknowledged object stays readable and writes are accepted.",
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 12 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 5 * 60_000,
  availability: { detectionMs: DETECTION_MS, nodesDownMax: 1 },
  ci: { keyCount: 200, opsPerSecond: 8, loadMs: 220_000, faultsEndMs: 220_000, settleMsMax: 180_000 },
  faults({ world, rng, at, faultsEndMs, expectAvailable }) {
    // The two share partitions only when they sit in different zones (primaries are spread over zones).
    const zoneOf = (id: string) => world.adminMap.nodes.find((n) => n.id === id)!.zone;
    const first = rng.pick(world.nodeIds());
    const second = rng.pick(world.nodeIds().filter((n) => zoneOf(n) !== zoneOf(first)));
    const secondKillMs = FIRST_KILL_MS + REREPLICATION_MS;
    at(FIRST_KILL_MS, () => world.crash(first));
    at(secondKillMs, () => world.crash(second));
    expectAvailable(secondKillMs + DETECTION_MS, faultsEndMs, "second permanent loss after re-replication", { readEveryKey: true });
  },
});
