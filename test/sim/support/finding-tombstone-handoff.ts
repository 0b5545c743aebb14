// Finding F3 (see test/sim/findings.test.ts): a tombstone is collected once every primary holds it, but a
// handoff that was down longer than the tombstone grace still holds an older hinted version and pushes it
// back when it returns: the deleted object comes back. core/repair.ts states the assumption this breaks
// ("tombstoneGraceMs exceeds the time any hinted copy can wait for delivery"); the sequence here uses a 3 s
// grace and a 40 s outage, which a 24 h grace and a handoff down for a day reproduce the same way.
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
    const nodes = [...world.nodeIds()].map((n) => ({ n, k: rng.nextFloat() })).sort((x, y) => x.k - y.k).map((x) => x.n);
    const [primary, handoff] = [nodes[0]!, nodes[1]!];
    at(10_000, () => world.crash(primary));
    at(30_000, () => world.crash(handoff));
    at(31_000, () => world.restart(primary));
    at(80_000, () => world.restart(handoff));
  },
});
