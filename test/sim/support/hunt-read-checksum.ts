// Bug hunt for skipReadChecksum: many bit flips and a read-heavy load, so a client read meets a corrupt copy.
import diskCorruption from "../../../scenarios/disk-corruption.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...diskCorruption,
  name: "hunt-read-checksum",
  description: "Bit flips in many stored bodies under a read-heavy load.",
  workload: { keyCount: 100, opsPerSecond: 20, putShare: 0.05, deleteShare: 0 },
  network: {},
  loadMs: 60_000,
  faultsEndMs: 60_000,
  settleMsMax: 120_000,
  ci: undefined,
  faults({ world, rng, at, faultsEndMs }) {
    for (let t = 10_000; t < faultsEndMs; t += 5_000) at(t, () => world.flipBits(rng.pick(world.nodeIds()), 2));
  },
});
