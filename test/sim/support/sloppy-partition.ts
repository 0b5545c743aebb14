// The partition scenario with sloppy quorums switched on (core/settings.ts sloppyQuorum): handoffs count
// toward W and R, which buys availability during partitions and gives up read-after-write (finding F1).
import partition from "../../../scenarios/partition.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...partition,
  ...partition.ci,
  workload: { ...partition.workload, keyCount: partition.ci?.keyCount ?? 300, opsPerSecond: partition.ci?.opsPerSecond ?? 8 },
  loadMs: partition.ci?.loadMs ?? partition.loadMs,
  faultsEndMs: partition.ci?.faultsEndMs ?? partition.faultsEndMs,
  settleMsMax: partition.ci?.settleMsMax ?? partition.settleMsMax,
  name: "sloppy-partition",
  description: "Partitions with sloppy quorums.",
  cluster: { ...partition.cluster, quorum: { ...partition.cluster.quorum, sloppyQuorum: true } },
  ci: undefined,
});
