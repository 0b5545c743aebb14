// Bug hunt for dropHandoffBeforeConfirm: a primary is down while writes are acknowledged by the other two
// and hinted copies go to a handoff; then both of those primaries lose their disks (replaced empty). The
// hinted copies on the handoff (and the down primary's own disk, for older writes) are then all that is left,
// so dropping them before every primary has confirmed loses acknowledged writes. With correct repair, nothing
// is lost. Writes only until the end (then reads): what this hunt checks is durability, and reads while two
// replaced nodes and a down primary hold a partition are mostly refused (finding F2's fix), adding nothing.
import nodeFailure from "../../../scenarios/node-failure.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...nodeFailure,
  name: "hunt-handoff",
  description: "One primary down while writes go to the others and a handoff; then the two others lose their disks.",
  workload: { keyCount: 150, opsPerSecond: 15, putShare: 1, deleteShare: 0 },
  timing: { repairIntervalMs: 3_000, repairQuietIntervalMs: 3_000 },
  loadMs: 100_000,
  faultsEndMs: 100_000,
  settleMsMax: 180_000,
  ci: undefined,
  faults({ world, rng, at }) {
    const nodes = [...world.nodeIds()].map((n) => ({ n, k: rng.nextFloat() })).sort((x, y) => x.k - y.k).map((x) => x.n);
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];
    at(20_000, () => world.crash(a));
    at(50_000, () => world.wipeDisk(b));
    at(50_000, () => world.wipeDisk(c));
    at(51_000, () => world.restart(b));
    at(51_000, () => world.restart(c));
    at(60_000, () => world.restart(a));
  },
});
