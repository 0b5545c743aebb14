// Every scenario over 100 seeds (the CI profile of each, on a worker pool of one process per core): no seed
// may violate an invariant, except by an instance of a known core finding (sim/oracle.ts KNOWN_FINDINGS),
// which is counted and printed but pinned separately in test/sim/findings.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedPool, type SeedSummary } from "../../sim/pool.ts";

const SEEDS = Number(process.env.SIM_SEEDS ?? 100);
const scenarios = ["node-failure", "partition", "join", "decommission", "rolling-restart", "disk-corruption", "chaos", "second-loss", "missed-writes-disk-loss", "missed-writes-partial-loss", "remove", "overlapping-writes", "stalls", "router-faults"];

/** What a scenario's runs must show besides passing: that they reached the state the scenario is about. */
const reached: Record<string, (r: SeedSummary) => string | null> = {
  // Routers crashed (armed to crash mid-request) and a join and a decommission spread from one router.
  "router-faults": (r) => {
    const labels = r.faultMarks.map((m) => m.label);
    if (!labels.some((l) => /^crash r\d/.test(l))) return "no router crashed";
    for (const kind of ["join", "decommission"]) if (!labels.some((l) => l.startsWith(kind))) return `no ${kind}`;
    return null;
  },
  // A node paused past the failure timeout, a hung disk, I/O errors and damaged replies all happened.
  stalls: (r) => {
    const labels = new Set(r.faultMarks.map((m) => m.label.split(" ")[0]));
    const missing = ["pause", "hang-disk", "unhang-disk", "io-errors", "corrupt-replies"].filter((kind) => !labels.has(kind));
    return missing.length === 0 ? null : `no ${missing.join(", ")} fault`;
  },
  // Re-replication had restored 3 live copies of every acknowledged object, at some moment between the two
  // deaths (not necessarily the last one: a write acknowledged a moment before the second may still have 2).
  "second-loss": (r) => {
    const crashes = r.faultMarks.filter((m) => m.label.startsWith("crash "));
    if (crashes.length !== 2) return `${crashes.length} crashes`;
    const between = r.series.filter((s) => s.atMs > crashes[0]!.atMs && s.atMs < crashes[1]!.atMs);
    return between.some((s) => s.minReplicas >= 3) ? null : `min live copies never 3 between the crashes (${between.map((s) => s.minReplicas).join(",")})`;
  },
  // X missed writes, then A lost its disk and B crashed; reads of the partitions A shares with B were refused.
  "missed-writes-disk-loss": (r) => {
    const labels = r.faultMarks.map((m) => m.label.split(" ")[0]);
    for (const kind of ["wipe-disk", "crash", "restart"]) if (!labels.includes(kind)) return `no ${kind} fault`;
    if (!labels.includes("full-disk") && !labels.includes("one-way")) return "X never missed writes";
    return r.figures.readsFailed > 0 ? null : "no read was refused while B was down";
  },
  // X missed writes, then A lost some blob files and restarted on the rest of its disk, and B crashed.
  "missed-writes-partial-loss": (r) => {
    const labels = r.faultMarks.map((m) => m.label.split(" ")[0]);
    for (const kind of ["lose-blobs", "crash", "restart"]) if (!labels.includes(kind)) return `no ${kind} fault`;
    if (!labels.includes("full-disk") && !labels.includes("one-way")) return "X never missed writes";
    const lost = r.faultMarks.find((m) => m.label.startsWith("lose-blobs "))!.label;
    return /\((\d+) versions lost/.exec(lost)?.[1] !== "0" ? null : `nothing lost: ${lost}`;
  },
};

describe(`scenarios over ${SEEDS} seeds`, () => {
  // One pool for the whole sweep: each worker starts (and warms its JIT) once, not once per scenario.
  let pool: SeedPool;
  beforeAll(() => {
    pool = new SeedPool();
  });
  afterAll(() => pool.close());

  for (const name of scenarios) {
    it(`${name}: no invariant violated in seeds 1..${SEEDS}, other than known core findings`, async () => {
      const seeds = Array.from({ length: SEEDS }, (_, i) => i + 1);
      const results = await pool.run({ scenarioPath: `scenarios/${name}.ts`, seeds, logic: "core", profile: "ci" });
      expect(results).toHaveLength(SEEDS);
      const unknown = results.filter((r) => r.violations.some((v) => v.known === undefined));
      const known = results.filter((r) => !r.ok && !unknown.includes(r));
      if (known.length > 0) console.log(`${name}: ${known.length} seed(s) hit known findings: ${known.map((r) => `${r.seed} (${r.violations[0]!.known})`).join(", ")}`);
      expect(unknown.map((r) => `seed ${r.seed}: ${r.violations.find((v) => v.known === undefined)!.what.split("\n")[0]}`)).toEqual([]);
      // The runs did real work: writes were acknowledged and reads checked in every seed.
      expect(results.every((r) => r.figures.writesAcknowledged > 50 && r.figures.readsChecked > 50)).toBe(true);
      const check = reached[name];
      if (check) expect(results.flatMap((r) => (check(r) === null ? [] : [`seed ${r.seed}: ${check(r)}`]))).toEqual([]);
    }, 600_000);
  }
});
