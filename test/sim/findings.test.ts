// Core findings of the simulator, pinned by scenario and seeds. A finding not yet fixed in core is an
// `it.fails`: the test states the invariant over a few seeds and fails today; once core is fixed it passes,
// `it.fails` turns red, and the marker must go. The seeds that failed when the finding was written down are
// in each test's name; replay one with `npx tsx sim/cli.ts <scenario> --seed N --trace out.txt`.
import { describe, expect, it } from "vitest";
import { runPool } from "../../sim/pool.ts";

const seeds = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

async function violationsOf(scenarioPath: string, count: number): Promise<{ seed: number; known: string | undefined; what: string }[]> {
  const results = await runPool({ scenarioPath, seeds: seeds(count), logic: "core", workers: 2 });
  expect(results).toHaveLength(count);
  return results.flatMap((r) => r.violations.map((v) => ({ seed: r.seed, known: v.known, what: v.what.split("\n")[0]! })));
}

describe("core findings", () => {
  it("F1 (by design since sloppyQuorum became opt-in): with sloppy quorums, reads miss acknowledged writes, and only through handoff-made read quorums (seeds 2, 10 of test/sim/support/sloppy-partition.ts)", async () => {
    const found = await violationsOf("test/sim/support/sloppy-partition.ts", 10);
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((v) => v.known !== "sloppy-read-quorum")).toEqual([]);
  }, 240_000);

});

describe("pinned seeds of fixed findings", () => {
  it("F3: a deleted object never comes back, even from a handoff down longer than the tombstone grace (failed before the fix: seeds 2, 3, 10, 21, 24 of test/sim/support/finding-tombstone-handoff.ts)", async () => {
    expect(await violationsOf("test/sim/support/finding-tombstone-handoff.ts", 24)).toEqual([]);
  }, 240_000);

  it("F2: after two disks are replaced while the third primary is down, no read misses an acknowledged write that still exists somewhere (failed before the fix: seeds 5, 20 of test/sim/support/finding-catchup-wiped.ts)", async () => {
    expect(await violationsOf("test/sim/support/finding-catchup-wiped.ts", 24)).toEqual([]);
  }, 240_000);

  it("F5: a replaced disk does not catch up from a primary that missed writes: no read returns an older version than one acknowledged (issue 10's stale read; failed before the fix: 179 of 200 seeds of scenarios/missed-writes-disk-loss.ts, seeds 1, 2, 3 among them)", async () => {
    const results = await runPool({ scenarioPath: "scenarios/missed-writes-disk-loss.ts", seeds: [1, 2, 3], logic: "core", workers: 2 });
    expect(results.flatMap((r) => r.violations.map((v) => `seed ${r.seed}: ${v.what.split("\n")[0]}`))).toEqual([]);
  }, 120_000);

  it("F6: a node that lost some blob files does not vouch for the partitions it lost copies of (issue 9 item 8; without core/catch-up.ts lostCopies: stale reads in seeds 3, 4, 6 of the first 6 CI seeds of scenarios/missed-writes-partial-loss.ts)", async () => {
    const results = await runPool({ scenarioPath: "scenarios/missed-writes-partial-loss.ts", seeds: [3, 4, 6], logic: "core", workers: 2, profile: "ci" });
    expect(results.flatMap((r) => r.violations.map((v) => `seed ${r.seed}: ${v.what.split("\n")[0]}`))).toEqual([]);
  }, 120_000);

  it("F8: DeleteBucket races (a failed delete lifting another's mark or a newer tombstone, a delete started from a stale table) bring back no bucket and pass over no live object (failed before the fix: seeds 1, 3, 4, 5, 6, 7, 10, 12, 35, 49 of test/sim/support/finding-bucket-races.ts; stalls 622, 665, 1733 and router-faults 419, 469, 1075, 1810, 1875 of the 2,000-seed soak)", async () => {
    const results = await runPool({ scenarioPath: "test/sim/support/finding-bucket-races.ts", seeds: [1, 3, 4, 5, 6, 7, 10, 12, 35, 49], logic: "core", workers: 2 });
    expect(results.flatMap((r) => r.violations.map((v) => `seed ${r.seed}: ${v.what.split("\n")[0]}`))).toEqual([]);
    expect(results.reduce((n, r) => n + r.figures.bucketsDeleted, 0)).toBeGreaterThan(50);
  }, 240_000);

  it("F4: a decommissioned node is stopped only once no process routes by a ring that still places data on it (decommission seed 1563 of the 2,000-seed soak)", async () => {
    const results = await runPool({ scenarioPath: "scenarios/decommission.ts", seeds: [1563], logic: "core", workers: 1, profile: "ci" });
    expect(results.flatMap((r) => r.violations.map((v) => v.what.split("\n")[0]))).toEqual([]);
  }, 120_000);
});
