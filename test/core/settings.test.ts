// Replication settings cannot lie: whatever N a cluster has, the W and R every process derives intersect.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replicationSettings, validateReplicationSettings } from "../../core/settings.ts";

describe("replication settings", () => {
  it("for any N, the derived W and R are within 1..N and R + W > N", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), (replicas) => {
        const s = replicationSettings({ replicas });
        expect(s.writeQuorum).toBeGreaterThanOrEqual(1);
        expect(s.readQuorum).toBeGreaterThanOrEqual(1);
        expect(s.writeQuorum).toBeLessThanOrEqual(replicas);
        expect(s.readQuorum + s.writeQuorum).toBeGreaterThan(replicas);
      }),
    );
    expect(replicationSettings({ replicas: 3 })).toMatchObject({ writeQuorum: 2, readQuorum: 2 });
    expect(replicationSettings({ replicas: 5 })).toMatchObject({ writeQuorum: 3, readQuorum: 3 });
  });

  it("strict quorums that do not intersect are refused; sloppy ones only when asked for", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), (replicas, writeQuorum, readQuorum, sloppyQuorum) => {
        fc.pre(writeQuorum <= replicas && readQuorum <= replicas);
        const base = replicationSettings({ replicas });
        const verdict = validateReplicationSettings({ ...base, writeQuorum, readQuorum, readWalkMax: Math.max(base.readWalkMax, readQuorum), sloppyQuorum });
        expect(verdict.ok).toBe(sloppyQuorum || readQuorum + writeQuorum > replicas);
        if (!verdict.ok) expect(() => replicationSettings({ replicas, writeQuorum, readQuorum, sloppyQuorum })).toThrow("must exceed");
      }),
    );
  });
});
