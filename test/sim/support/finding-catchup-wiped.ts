// Finding F2 (fixed; see test/sim/findings.test.ts): a primary is down while the other two acknowledge writes;
// then those two lose their disks (replaced empty) and restart. Catch-up used to mark a partition synced after
// a clean pass over the *live* peers only, so the two replaced nodes caught up from each other (and the
// handoffs) while the only full copy of older writes sat on the down primary; they then counted toward R and a
// read returned 404 for an acknowledged write instead of being refused. Now a pass must include a caught-up
// primary, or every primary (core/repair.ts pullFromPeers). Writes acknowledged in the seconds before the
// first crash was detected live only on the two wiped disks: those are destroyed by the faults, beyond what
// N=3, W=2 can survive, and the oracle counts them instead of flagging reads of older versions.
import nodeFailure from "../../../scenarios/node-failure.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...nodeFailure,
  name: "finding-catchup-wiped",
  description: "One primary down; the two others lose their disks and catch up from each other.",
  workload: { keyCount: 150, opsPerSecond: 15, putShare: 0.6, deleteShare: 0 },
  timing: { repairIntervalMs: 3_000, repairQuietIntervalMs: 3_000 },
  loadMs: 100_000,
  faultsEndMs: 100_000,
  settleMsMax: 180_000,
  ci: undefined,
  faults({ world, rng, at }) {
    const nodes = rng.shuffled(world.nodeIds());
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];
    at(20_000, () => world.crash(a));
    at(50_000, () => world.wipeDisk(b));
    at(50_000, () => world.wipeDisk(c));
    at(51_000, () => world.restart(b));
    at(51_000, () => world.restart(c));
    at(60_000, () => world.restart(a));
  },
});
