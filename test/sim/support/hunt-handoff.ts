// Bug hunt for dropHandoffBeforeConfirm: a primary is down while writes are acknowledged by the other two
// and hinted copies go to a handoff; then both of those primaries lose their disks (replaced empty). The
// hinted copies on the handoff (and the down primary's own disk, for older writes) are then all that is left,
// so dropping them before every primary has confirmed loses acknowledged writes. With correct repair, nothing
// is lost. Writes only until the end (then reads): what this hunt checks is durability, and reads while two
// replaced nodes and a down primary hold a partition are mostly refused (finding F2's fix), adding nothing.
import catchupWiped from "./finding-catchup-wiped.ts";
import { defineScenario } from "../../../sim/scenario.ts";

// The faults, timing and cluster of finding F2's scenario; a workload of writes only.
export default defineScenario({
  ...catchupWiped,
  name: "hunt-handoff",
  description: "One primary down while writes go to the others and a handoff; then the two others lose their disks.",
  workload: { keyCount: 150, opsPerSecond: 15, putShare: 1, deleteShare: 0 },
});
