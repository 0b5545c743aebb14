// Repair pacing (core/repair-loop.ts): failing rounds back off, bounded and jittered; failures are logged by
// cause at a bounded rate with the peer, partition and error of their latest occurrence.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PartitionId, nodeId } from "../../core/ids.ts";
import type { Rng } from "../../core/ports.ts";
import { noteFailure } from "../../core/repair-failures.ts";
import { type Backoff, type RepairPacing, RepairFailureLog, madeProgress, movedCopies, pauseAfterRound, roundIsBusy } from "../../core/repair-loop.ts";
import { type RepairReport, emptyRepairReport } from "../../core/repair.ts";
import { recordingLog } from "../runtime/support/storage.ts";

const pacing: RepairPacing = { catchUpIntervalMs: 10, busyIntervalMs: 10, idleIntervalMs: 2000, failureBackoffMsMin: 500, failureBackoffMsMax: 30_000, logIntervalMs: 60_000 };
const fixedRng = (value: number): Rng => ({ nextFloat: () => value, nextInt: (max) => Math.floor(value * max) });

function failingReport(count = 20, progress = false): RepairReport {
  const report = emptyRepairReport();
  for (let i = 0; i < count; i++) noteFailure(report, { step: "list-peer", partition: (i % 10) as PartitionId, peer: nodeId("node-3"), kind: "remote", detail: "malformed list-partition request" });
  if (progress) report.pulled = 5;
  return report;
}

describe("repair pacing", () => {
  it("a round that fails without progress waits twice as long each time, between half and all of min(max, min * 2^(k-1)), never past the cap", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.boolean(), (draws, behind) => {
        const backoff: Backoff = { failedRounds: 0 };
        draws.forEach((draw, i) => {
          const pause = pauseAfterRound(pacing, backoff, fixedRng(draw), { report: failingReport(), behind, busy: true });
          const ceiling = Math.min(pacing.failureBackoffMsMax, pacing.failureBackoffMsMin * 2 ** i);
          expect(pause).toBeGreaterThanOrEqual(ceiling / 2);
          expect(pause).toBeLessThanOrEqual(ceiling);
          expect(pause).toBeCloseTo(ceiling / 2 + (ceiling / 2) * draw, 6);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("a round without failures resets the backoff and paces by what the node is doing", () => {
    const backoff: Backoff = { failedRounds: 0 };
    for (let i = 0; i < 10; i++) pauseAfterRound(pacing, backoff, fixedRng(0.5), { report: failingReport(), behind: true, busy: true });
    expect(backoff.failedRounds).toBe(10);
    expect(pauseAfterRound(pacing, backoff, fixedRng(0.5), { report: emptyRepairReport(), behind: true, busy: false })).toBe(pacing.catchUpIntervalMs);
    expect(backoff.failedRounds).toBe(0);
    expect(pauseAfterRound(pacing, backoff, fixedRng(0.5), { report: emptyRepairReport(), behind: false, busy: false })).toBe(pacing.idleIntervalMs);
    expect(pauseAfterRound(pacing, backoff, fixedRng(0.5), { report: emptyRepairReport(), behind: false, busy: true })).toBe(pacing.busyIntervalMs);
  });

  it("a round that fails but makes progress resets the backoff, yet still waits one jittered minimum step (one bad copy neither spins nor stalls catch-up)", () => {
    const backoff: Backoff = { failedRounds: 7 };
    const pause = pauseAfterRound(pacing, backoff, fixedRng(0), { report: failingReport(1, true), behind: true, busy: true });
    expect(backoff.failedRounds).toBe(0);
    expect(pause).toBe(pacing.failureBackoffMsMin / 2);
  });

  it("the spinning of issue 9 is gone: a minute of rounds that each fail 20 times is at most a dozen rounds, not thousands", () => {
    const backoff: Backoff = { failedRounds: 0 };
    let elapsedMs = 0;
    let rounds = 0;
    const rng = fixedRng(0); // the shortest pauses jitter can give
    while (elapsedMs < 60_000) {
      rounds++;
      elapsedMs += 30 + pauseAfterRound(pacing, backoff, rng, { report: failingReport(), behind: true, busy: true });
    }
    expect(rounds).toBeLessThanOrEqual(12);
  });
});

describe("what makes a round busy", () => {
  const counts = ["pulled", "pushed", "handoffDropped", "supersededDropped", "tombstonesCollected", "pendingDropped"] as const;
  const reportArb = fc.record({ ...Object.fromEntries(counts.map((name) => [name, fc.nat(3)])), caughtUp: fc.nat(2), failures: fc.nat(2) }).map((r) => {
    const report = emptyRepairReport();
    for (const name of counts) report[name] = (r as Record<string, number>)[name]!;
    report.caughtUp = Array.from({ length: r.caughtUp }, (_, i) => i as PartitionId);
    for (let i = 0; i < r.failures; i++) noteFailure(report, { step: "pull", partition: 0 as PartitionId, peer: nodeId("node-3"), kind: "timeout", detail: "late" });
    return report;
  });

  it("a round whose only work was local clean-up is idle: overwrites and deletes under load must not run a round after each", async () => {
    for (const name of ["supersededDropped", "tombstonesCollected", "pendingDropped"] as const) {
      const report = emptyRepairReport();
      report[name] = 3;
      expect(madeProgress(report)).toBe(true);
      expect(await roundIsBusy(report, false, async () => false)).toBe(false);
      expect(pauseAfterRound(pacing, { failedRounds: 0 }, fixedRng(0.5), { report, behind: false, busy: false })).toBe(pacing.idleIntervalMs);
    }
  });

  it("busy exactly when copies moved, a partition caught up, the round failed, or the node holds foreign data while not behind", async () => {
    await fc.assert(
      fc.asyncProperty(reportArb, fc.boolean(), fc.boolean(), async (report, behind, foreign) => {
        const expected = report.pulled + report.pushed + report.handoffDropped + report.caughtUp.length > 0 || report.failures > 0 || (!behind && foreign);
        expect(await roundIsBusy(report, behind, async () => foreign)).toBe(expected);
        expect(movedCopies(report)).toBe(report.pulled + report.pushed + report.handoffDropped + report.caughtUp.length > 0);
        if (movedCopies(report)) expect(madeProgress(report)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("repair failure log", () => {
  it("logs each cause at most once a minute, with the count since its last line, the total, and the latest peer, partition and error", () => {
    const log = recordingLog();
    const failures = new RepairFailureLog(log, "node-2", 60_000);
    for (let second = 0; second < 150; second++) failures.record(failingReport(20).failuresByCause, second * 1000);
    const lines = log.lines.filter((l) => l.event === "repair.failure");
    expect(lines.map((l) => l.fields.count)).toEqual([20, 60 * 20, 60 * 20]);
    expect(lines.map((l) => l.level)).toEqual(["warn", "warn", "warn"]);
    expect(lines[2]!.fields).toMatchObject({ node: "node-2", cause: "list-peer:remote", total: 121 * 20, peer: "node-3", partition: 9, kind: "remote", detail: "malformed list-partition request" });
    expect(failures.total("list-peer:remote")).toBe(150 * 20);
  });

  it("two causes are logged independently", () => {
    const log = recordingLog();
    const failures = new RepairFailureLog(log, "node-2", 60_000);
    const report = failingReport(3);
    noteFailure(report, { step: "pull", partition: 4 as PartitionId, peer: nodeId("node-5"), kind: "timeout", detail: "node-5 did not answer get" });
    failures.record(report.failuresByCause, 0);
    failures.record(report.failuresByCause, 1000);
    expect(log.lines.filter((l) => l.event === "repair.failure").map((l) => [l.fields.cause, l.fields.count])).toEqual([
      ["list-peer:remote", 3],
      ["pull:timeout", 1],
    ]);
  });
});
