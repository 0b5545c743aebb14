// Bug hunt for forgetTombstones: one node crashes again and again, missing deletes while it is down; the
// tombstone grace (5 s) is shorter than its outages, so the first live primary may consider a tombstone for
// collection while that node, back but not yet synced, still holds the older version. Only that node ever
// crashes, so no handoff holding an older copy is ever down longer than the grace (core/repair.ts assumes so).
// The returning node catches up slowly (a round every 6 s) while the others repair every 2 s, which widens the
// window in which the bug collects a tombstone the returning node has not pulled yet.
import nodeFailure from "../../../scenarios/node-failure.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...nodeFailure,
  name: "hunt-tombstones",
  description: "Deletes while one node is down, again and again, with a 5 s tombstone grace.",
  workload: { keyCount: 150, opsPerSecond: 10, putShare: 0.3, deleteShare: 0.3 },
  timing: { tombstoneGraceMs: 5_000, repairIntervalMs: 2_000, repairQuietIntervalMs: 2_000, catchUpIntervalMs: 6_000 },
  loadMs: 120_000,
  faultsEndMs: 120_000,
  settleMsMax: 180_000,
  ci: undefined,
  faults({ world, rng, at, faultsEndMs }) {
    const victim = rng.pick(world.nodeIds());
    for (let t = 15_000; t + 20_000 < faultsEndMs; t += 25_000 + rng.between(0, 5_000)) {
      at(t, () => world.crash(victim));
      at(t + 15_000, () => world.restart(victim));
    }
  },
});
