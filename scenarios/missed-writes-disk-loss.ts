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

import { defineScenario } from "../sim/scenario.ts";
import { MISSED_WRITES_SETUP, missWritesThenLose } from "../sim/missed-writes.ts";

export default defineScenario({
  name: "missed-writes-disk-loss",
  description: "A primary misses writes for seconds without being seen down; then a second primary's disk is lost and the third crashes.",
  ...MISSED_WRITES_SETUP,
  faults(program) {
    // A's disk is lost (replaced empty): the pattern of sim/missed-writes.ts.
    missWritesThenLose(program, ({ a, lossMs }) => program.at(lossMs, () => program.world.wipeDisk(a)));
  },
});
