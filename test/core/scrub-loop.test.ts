// The scrub loop's pacing (core/scrub-loop.ts), the one both worlds run: the rate, the floor, the rest after a
// walk, and the corrupt-copy queue drained while the scrubber rests.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CorruptCopyQueue } from "../../core/corrupt-copies.ts";
import type { PartitionId } from "../../core/ids.ts";
import type { Log } from "../../core/ports.ts";
import type { RepairContext } from "../../core/repair.ts";
import { err, ok } from "../../core/result.ts";
import { type ScrubPacing, pauseAfterStep, runScrubLoop } from "../../core/scrub-loop.ts";
import { type MemBody, MemoryStore } from "./support/memory-store.ts";
import { stampFor, versionOf } from "./support/cluster.ts";

const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
const pacingArb = fc.record({
  limits: fc.constant({ versionsMax: 4, bytesMax: 1 << 20 }),
  bytesPerSecond: fc.integer({ min: 1, max: 1 << 30 }),
  stepPauseMsMin: fc.integer({ min: 0, max: 10_000 }),
  passPauseMs: fc.integer({ min: 0, max: 1_000_000 }),
  failurePauseMs: fc.integer({ min: 0, max: 10_000 }),
  drainIntervalMs: fc.integer({ min: 1, max: 10_000 }),
});

describe("scrub loop", () => {
  it("a step's pause keeps reads at bytesPerSecond, never below the floor, and rests passPauseMs after a walk", () => {
    fc.assert(
      fc.property(pacingArb, fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 0, max: 100_000 }), fc.boolean(), (pacing: ScrubPacing, bytes, elapsedMs, walkEnded) => {
        const pause = pauseAfterStep(pacing, { bytes, elapsedMs, walkEnded });
        expect(pause).toBeGreaterThanOrEqual(pacing.stepPauseMsMin);
        // Step time plus pause is at least the time the bytes take at the rate.
        expect(elapsedMs + pause).toBeGreaterThanOrEqual((bytes / pacing.bytesPerSecond) * 1000 - 1e-6);
        if (walkEnded) expect(pause).toBeGreaterThanOrEqual(pacing.passPauseMs);
        else expect(pause).toBe(Math.max(pacing.stepPauseMsMin, (bytes / pacing.bytesPerSecond) * 1000 - elapsedMs));
      }),
      { numRuns: 500 },
    );
  });

  it("walks, queues what it finds corrupt, and drains the queue every drainIntervalMs while it rests", async () => {
    const store = new MemoryStore();
    for (const key of ["a", "b", "c"]) {
      const v = versionOf("bucket", key, stampFor(1), `body ${key}`);
      store.put(0 as PartitionId, v, { size: v.size, checksum: v.checksum }, true);
    }
    store.corrupt("bucket", "b", stampFor(1));
    let nowMs = 0;
    const sleeps: number[] = [];
    const drainsAtMs: number[] = [];
    const queued: string[] = [];
    const steps: unknown[] = [];
    let drainsReported = 0;
    const queue = {
      add: (_p: PartitionId, v: { key: string }) => queued.push(v.key) > 0,
      drain: async () => {
        drainsAtMs.push(nowMs);
        return { replaced: 0, intact: 0, gone: 0, unrepaired: 0, givenUp: 0 };
      },
    } as unknown as CorruptCopyQueue;
    const pacing: ScrubPacing = { limits: { versionsMax: 2, bytesMax: 1 << 20 }, bytesPerSecond: 1 << 30, stepPauseMsMin: 10, passPauseMs: 5000, failurePauseMs: 100, drainIntervalMs: 1000 };
    await runScrubLoop<MemBody>(
      {
        scrub: { store, checkBody: async (body, version) => (body.checksum === version.checksum ? ok(true) : err("bad")) },
        repair: { self: "n1", nowMs: () => nowMs } as unknown as RepairContext<MemBody>,
        queue,
        pacing,
        log: silentLog,
        sleep: async (ms) => {
          sleeps.push(ms);
          nowMs += ms;
        },
        running: () => nowMs < 7000,
        onThrow: (error) => {
          throw error;
        },
        onStep: (step) => steps.push(step),
        onDrained: () => drainsReported++,
      },
      0,
    );
    // The host's metrics hooks see every step and every drain.
    expect(steps.slice(0, 4)).toEqual([
      { checked: 2, bytes: expect.any(Number), corruptQueued: 1, passChecked: 2, walkEnded: false },
      { checked: 1, bytes: expect.any(Number), corruptQueued: 0, passChecked: 3, walkEnded: true },
      { checked: 2, bytes: expect.any(Number), corruptQueued: 1, passChecked: 2, walkEnded: false },
      { checked: 1, bytes: expect.any(Number), corruptQueued: 0, passChecked: 3, walkEnded: true },
    ]);
    expect(drainsReported).toBe(drainsAtMs.length);
    expect(queued).toEqual(["b", "b"]); // once a walk: the fake queue never repairs it
    // A walk is two steps (2 + 1 versions), 10 ms apart; its 5 s rest is cut into drains a second apart. A step
    // that found a copy drains again at once.
    expect(sleeps.slice(0, 8)).toEqual([0, 10, 1000, 1000, 1000, 1000, 1000, 10]);
    expect(drainsAtMs.filter((t) => t <= 5010)).toEqual([0, 0, 10, 1010, 2010, 3010, 4010, 5010, 5010]);
  });
});
