// Bug hunt for ackAtWMinusOne: a write acknowledged after one commit is on one replica only when the other
// commits are lost; crashes and partitions then leave reads and repair without that replica.
import chaos from "../../../scenarios/chaos.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...chaos,
  name: "hunt-ack-quorum",
  description: "All faults with 3% message loss throughout, on a small, write-heavy key space.",
  workload: { keyCount: 100, opsPerSecond: 15, putShare: 0.4, deleteShare: 0.05 },
  network: { lossProbability: 0.03 },
  loadMs: 120_000,
  faultsEndMs: 120_000,
  settleMsMax: 240_000,
  ci: undefined,
});
