// The oracle has teeth: each planted bug (core/planted-bugs.ts), switched on alone, is found within a bounded
// number of seeds, and the seed that finds it passes with the bug switched off (so the bug, not the scenario,
// is what the oracle caught).
import { describe, expect, it } from "vitest";
import type { PlantedBugs } from "../../core/planted-bugs.ts";
import { runPool } from "../../sim/pool.ts";

const SEEDS_MAX = 8;

const hunts: { bug: keyof PlantedBugs; scenarioPath: string; expect: RegExp; profile?: "ci" }[] = [
  { bug: "ackAtWMinusOne", scenarioPath: "test/sim/support/hunt-ack-quorum.ts", expect: /lost|stale read|read found nothing|acknowledged before the listing began|acknowledged while committed on 1 of ring/ },
  { bug: "dropHandoffBeforeConfirm", scenarioPath: "test/sim/support/hunt-handoff.ts", expect: /lost|dropped its out-of-place copy .* while primaries .* did not hold it/ },
  { bug: "skipReadChecksum", scenarioPath: "test/sim/support/hunt-read-checksum.ts", expect: /corrupt bytes returned/ },
  { bug: "forgetTombstones", scenarioPath: "test/sim/support/hunt-tombstones.ts", expect: /delete .*(lost|acknowledged before the (read|listing))|collected the tombstone .* while primaries .* did not hold it/ },
  { bug: "stampAtStart", scenarioPath: "scenarios/overlapping-writes.ts", expect: /completion order/ },
  { bug: "neverRetireTransition", scenarioPath: "scenarios/join.ts", expect: /ring change still open|not fully replicated/ },
  { bug: "listingDropsLastPage", scenarioPath: "scenarios/node-failure.ts", expect: /listing .*: misses (key|common prefix)/, profile: "ci" },
  { bug: "cursorSkipsKey", scenarioPath: "scenarios/node-failure.ts", expect: /listing .*: misses key/, profile: "ci" },
  { bug: "driverForgetsRetire", scenarioPath: "scenarios/join.ts", expect: /ring change still open|not fully replicated/, profile: "ci" },
  { bug: "ringOnePrimaryFewer", scenarioPath: "scenarios/node-failure.ts", expect: /the ring names 2 distinct primaries .* the settings ask for 3/, profile: "ci" },
  { bug: "nodeIgnoresBucketMark", scenarioPath: "test/sim/support/hunt-bucket-mark.ts", expect: /into bucket .* whose deletion was acknowledged|DeleteBucket .* acknowledged .* while .* was live/ },
  { bug: "emptyDiskCountedIntact", scenarioPath: "scenarios/missed-writes-disk-loss.ts", expect: /stale read|listing .* acknowledged before the listing began/, profile: "ci" },
  { bug: "readRepairNeverWritesBack", scenarioPath: "scenarios/partition.ts", expect: /read repair reported .* copied to n\d+, which holds neither it nor a newer version/, profile: "ci" },
  { bug: "writesOnlyToNewRing", scenarioPath: "scenarios/decommission.ts", expect: /acknowledged while committed on \d+ of ring epoch \d+'s primaries/, profile: "ci" },
  { bug: "completeLosesPart", scenarioPath: "scenarios/node-failure.ts", expect: /completed multipart object .* is not whole/, profile: "ci" },
];

describe("planted bugs are found", () => {
  for (const hunt of hunts) {
    it(`${hunt.bug} is found within ${SEEDS_MAX} seeds of ${hunt.scenarioPath}`, async () => {
      const seeds = Array.from({ length: SEEDS_MAX }, (_, i) => i + 1);
      const profile = hunt.profile ? { profile: hunt.profile } : {};
      const withBug = await runPool({ scenarioPath: hunt.scenarioPath, seeds, logic: "core", bugs: { [hunt.bug]: true }, stopOnFailure: true, workers: 2, ...profile });
      const found = withBug.find((s) => !s.ok);
      expect(found, `no seed in 1..${SEEDS_MAX} found ${hunt.bug}`).toBeDefined();
      expect(found!.violations[0]!.what).toMatch(hunt.expect);
      const [clean] = await runPool({ scenarioPath: hunt.scenarioPath, seeds: [found!.seed], logic: "core", workers: 1, ...profile });
      expect(clean?.ok, `seed ${found!.seed} also fails without the bug: ${clean?.violations[0]?.what}`).toBe(true);
    }, 240_000);
  }
});

describe("the replication check has teeth", () => {
  it("a cluster whose nodes never repair (sim/naive-node.ts) fails full replication after faults, on every seed", async () => {
    const results = await runPool({ scenarioPath: "scenarios/node-failure.ts", seeds: [1, 2, 3], logic: "naive", profile: "ci", workers: 2 });
    expect(results).toHaveLength(3);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.violations.map((v) => v.what).join("\n")).toMatch(/not fully replicated|stale read|read found nothing|lost/);
    }
  }, 240_000);
});
