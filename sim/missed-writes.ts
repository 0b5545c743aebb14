// The fault pattern of finding F5 (issue 10's stale read), shared by the scenarios that lose data on it
// (scenarios/missed-writes-disk-loss.ts: a whole disk; scenarios/missed-writes-partial-loss.ts: some blob files).
// A, B and X are the primaries of a random partition. X stays up and keeps counting itself caught up, but for a
// few seconds, less than the failure timeout, it misses writes: its disk is full, or the routers' requests to it
// are lost, or its answers are. No router sees X down, so no write goes to a handoff (no hint exists anywhere):
// A and B alone acknowledge those writes. Right after, A loses data (the caller says how) and B crashes with
// its data intact, staying down until faults end; A restarts a few seconds later. One loss and one node down
// is within what N=3, W=2 must survive: reads of the partition may be refused while B is down, never stale.
// Draws from the scenario's RNG in a fixed order, so a scenario's seeds mean the same runs as before it used this.
import type { NodeId, PartitionId } from "../core/ids.ts";
import { primariesOf } from "../core/placement.ts";
import type { FaultProgram } from "./scenario.ts";

/** The cluster, load and timing of these scenarios: few keys and a brisk rate, so that the writes X misses land on
 * keys that are read again while B is down; in the CI profile B stays down for 30-40 s instead of 60-70 s. */
export const MISSED_WRITES_SETUP = {
  cluster: { nodes: 5, zones: 3, routers: 2, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 200, opsPerSecond: 20, putShare: 0.4, deleteShare: 0.02 },
  loadMs: 90_000,
  faultsEndMs: 90_000,
  settleMsMax: 180_000,
  ci: { opsPerSecond: 15, loadMs: 60_000, faultsEndMs: 60_000, settleMsMax: 180_000 },
} as const;

/** How long X misses writes: under the failure timeout (6 s) minus a heartbeat interval (2 s) and a margin. */
const MISS_MS_MIN = 2_000;
const MISS_MS_MAX = 3_500;

export interface MissedWrites {
  readonly partition: PartitionId;
  /** Loses data at lossMs, then restarts. */
  readonly a: NodeId;
  /** Crashes at lossMs, back when faults end. */
  readonly b: NodeId;
  /** Misses writes in [missFromMs, missUntilMs]. */
  readonly x: NodeId;
  readonly missFromMs: number;
  readonly missUntilMs: number;
  readonly lossMs: number;
}

/** Schedules the pattern; `loseOnA` schedules A's loss (at `lossMs`: A is still up then, the action crashes it). */
export function missWritesThenLose({ world, rng, at }: FaultProgram, loseOnA: (pattern: MissedWrites) => void): void {
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
  loseOnA({ partition, a, b, x, missFromMs, missUntilMs, lossMs });
  at(lossMs, () => world.crash(b));
  at(lossMs + rng.between(1_000, 3_000), () => world.restart(a));
  // B returns when faults end (the final heal).
}
