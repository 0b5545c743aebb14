import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FailureDetector } from "../../core/failure-detector.ts";
import { nodeId } from "../../core/ids.ts";

const RUNS = 300;
const a = nodeId("a");

describe("failure detector", () => {
  it("marks a node down only after its timeout, and live again on one heartbeat", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.record({ heartbeat: fc.boolean(), advanceMs: fc.integer({ min: 0, max: 5_000 }) }), { maxLength: 40 }),
        (downAfterMs, steps) => {
          const startMs = 1_000;
          const detector = new FailureDetector({ downAfterMs, heartbeatIntervalMs: 1 }, startMs);
          let now = startMs;
          let lastHeard = startMs;
          for (const step of steps) {
            now += step.advanceMs;
            if (step.heartbeat) {
              detector.heard(a, now);
              lastHeard = now;
            }
            const silentMs = now - lastHeard;
            expect(detector.isLive(a, now)).toBe(silentMs <= downAfterMs);
            const since = detector.downSinceMs(a, now);
            if (silentMs <= downAfterMs) expect(since).toBeNull();
            else {
              expect(since).toBe(lastHeard + downAfterMs);
              expect(since!).toBeLessThan(now);
              expect(detector.downForMs(a, now)).toBe(now - since!);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a late (reordered) heartbeat never moves last-heard backwards", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 30 }), (times) => {
        const detector = new FailureDetector({ downAfterMs: 1000, heartbeatIntervalMs: 100 }, 0);
        for (const t of times) detector.heard(a, t);
        expect(detector.lastHeard(a)).toBe(Math.max(0, ...times));
      }),
      { numRuns: RUNS },
    );
  });

  it("a node never heard from counts as heard at the detector's start", () => {
    const detector = new FailureDetector({ downAfterMs: 100, heartbeatIntervalMs: 10 }, 500);
    expect(detector.isLive(a, 600)).toBe(true);
    expect(detector.isLive(a, 601)).toBe(false);
    expect(detector.downSinceMs(a, 700)).toBe(600);
  });
});
