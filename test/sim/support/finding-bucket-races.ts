// Findings in DeleteBucket's protocol (core/bucket-registry.ts), found by this scenario on 10 of 64 seeds before
// they were fixed: joins under a write-heavy load on a lossy network (2% of messages lost), so bucket changes reach
// some nodes late or not at all and routers' tables lag. (1) Two DeleteBuckets of one bucket: the one that failed
// lifted the mark the other had listed under, PUTs committed, the other wrote its tombstone over them. (2) A
// failed DeleteBucket lifted its mark blindly over another router's newer tombstone: the bucket came back.
// (3) A DeleteBucket started from a stale table entry of a deleted bucket: its mark, then its unmark, brought the
// bucket back. Pinned in test/sim/findings.test.ts.
import join from "../../../scenarios/join.ts";
import { defineScenario } from "../../../sim/scenario.ts";

export default defineScenario({
  ...join,
  name: "finding-bucket-races",
  description: "Joins under a write-heavy load on a lossy network, with buckets created and deleted concurrently.",
  workload: { keyCount: 150, opsPerSecond: 30, putShare: 0.5, deleteShare: 0.05 },
  network: { lossProbability: 0.02 },
  loadMs: 90_000,
  faultsEndMs: 90_000,
  settleMsMax: 240_000,
  ci: undefined,
  faults({ world, at }) {
    for (const t of [15_000, 45_000, 70_000]) at(t, () => world.join());
  },
});
