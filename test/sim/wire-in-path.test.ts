// The simulated network carries every message through the runtime's wire codec (sim/network.ts), so a message
// core builds and real processes would refuse fails the simulation too. Pinned (issue 9): before the repair
// cursor said what it meant, node-failure seed 1 at full size failed 240.8 s in with "the wire codec refused
// n3>n2 list-partition p21: malformed list-partition request" (tombstone collection's key-start cursor).
import { describe, expect, it } from "vitest";
import { coreLogic } from "../../sim/core-logic.ts";
import { runSeed } from "../../sim/run.ts";
import { withProfile } from "../../sim/scenario.ts";
import nodeFailure from "../../scenarios/node-failure.ts";

describe("the wire codec in the simulator's path", () => {
  it("node-failure seed 1 at full size (it reached tombstone collection's cursor, which the codec once refused) passes with every message decoded", async () => {
    const result = await runSeed(withProfile(nodeFailure, "full"), 1, { logic: coreLogic });
    expect(result.violations.map((v) => v.what.split("\n")[0])).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.requestsByKind["list-partition"]).toBeGreaterThan(0);
  }, 120_000);
});
