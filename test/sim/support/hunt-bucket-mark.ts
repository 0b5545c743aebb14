// Bug hunt for nodeIgnoresBucketMark: a bucket-heavy load (most operations create, fill, empty and delete the
// lifecycle buckets, sim/bucket-check.ts) through two routers, with one node crashed and restarted now and
// then, so PUTs race with DeleteBucket and reach routers whose table has not yet heard of a deletion.
import nodeFailure from "../../../scenarios/node-failure.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...nodeFailure,
  name: "hunt-bucket-mark",
  description: "Buckets created, filled, emptied and deleted while PUTs race with the deletions; one node crashes now and then.",
  workload: { keyCount: 100, opsPerSecond: 20, bucketShare: 0.7 },
  loadMs: 60_000,
  faultsEndMs: 60_000,
  settleMsMax: 120_000,
  ci: undefined,
  faults({ world, rng, at, faultsEndMs }) {
    for (let t = 10_000; t + 10_000 < faultsEndMs; t += 20_000) {
      const victim = rng.pick(world.nodeIds());
      at(t, () => world.crash(victim));
      at(t + 8_000, () => world.restart(victim));
    }
  },
});
