// Finding F3 (fixed; see test/sim/findings.test.ts): a tombstone used to be collected once every primary held
// it, while a handoff that was down longer than the tombstone grace still held an older hinted version and
// pushed it back when it returned: the deleted object came back. Now every node reports in its heartbeats the
// partitions it holds as a non-primary (core/foreign-holdings.ts), and a tombstone is collected only while no
// live node may hold such data of its partition and every node is live (core/repair.ts collectTombstones).
// The sequence uses a 3 s grace and a 40 s outage, which a 24 h grace and a handoff down for a day reproduce
// the same way.
import nodeFailure from "../../../scenarios/node-failure.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...nodeFailure,
  name: "finding-tombstone-handoff",
  description: "A primary down while a handoff takes its writes; the handoff goes down before delivering them; the keys are deleted and their tombstones collected; the handoff returns.",
  workload: { keyCount: 60, opsPerSecond: 10, putShare: 0.4, deleteShare: 0.4 },
  timing: { tombstoneGraceMs: 3_000, repairIntervalMs: 3_000, repairQuietIntervalMs: 3_000 },
  loadMs: 100_000,
  faultsEndMs: 100_000,
  settleMsMax: 180_000,
  ci: undefined,
  faults({ world, rng, at }) {
    const nodes = rng.shuffled(world.nodeIds());
    const [primary, handoff] = [nodes[0]!, nodes[1]!];
    at(10_000, () => world.crash(primary));
    at(30_000, () => world.crash(handoff));
    at(31_000, () => world.restart(primary));
    at(80_000, () => world.restart(handoff));
  },
});
