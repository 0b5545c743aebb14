// Partial disk loss where it hurts (issue 9 item 8): scenarios/missed-writes-disk-loss.ts with some blob files
// lost instead of a whole disk. A, B and X are the primaries of a partition; X misses a few seconds of writes
// without being seen down (no hint exists anywhere), so A and B alone acknowledge them. Then A crashes and
// loses the blob files of exactly those versions (and of a few others elsewhere), restarts on the rest of its
// disk, and B crashes, staying down until faults end. A's start drops the lost versions' records: before the
// rule of core/catch-up.ts (lostCopies), A counted itself intact, caught up from X alone, and A and X made a read
// quorum of R=2 that served what X missed as it was before. The rule makes those partitions behind and not
// intact on A, as on a replaced disk: reads of them may be refused while B is down, never stale.
// Checks, besides the usual invariants: the oracle's stale-read check.

import { stampAtMs } from "../core/version.ts";
import { MISSED_WRITES_SETUP, missWritesThenLose } from "../sim/missed-writes.ts";
import { defineScenario } from "../sim/scenario.ts";

/** Share of A's other committed versions (other partitions) whose blob files are lost too. */
const OTHER_LOSS_SHARE = 0.05;

export default defineScenario({
  name: "missed-writes-partial-loss",
  description: "A primary misses writes for seconds without being seen down; a second primary loses those versions' blob files and restarts on the rest of its disk; the third crashes.",
  ...MISSED_WRITES_SETUP,
  faults(program) {
    missWritesThenLose(program, ({ a, partition, missFromMs, lossMs }) => {
      // A loses the blob files of what X missed. Stamps carry the writers' clocks, which may be skewed: a
      // second's margin before the miss began covers every version X can have missed.
      const missedFrom = stampAtMs(missFromMs - 1_000);
      const lossRng = program.rng.fork("lost-blobs");
      program.at(lossMs, () => program.world.loseBlobs(a, (v) => (v.partition === partition ? v.stamp >= missedFrom : lossRng.chance(OTHER_LOSS_SHARE))));
    });
  },
});
