// core/body-resume.ts: the rest of a broken body starts exactly at the first byte not delivered.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planResume, requestedBytes } from "../../core/body-resume.ts";
import { nodeId } from "../../core/ids.ts";

describe("planResume", () => {
  it("the remaining range covers exactly the bytes of the request not yet delivered", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 30 }).chain((size) =>
          fc.record({
            size: fc.constant(size),
            range: fc.option(
              fc.tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: size - 1 })).map(([a, b]) => ({ start: Math.min(a, b), endInclusive: Math.max(a, b) })),
              { nil: undefined },
            ),
            deliveredShare: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
        ),
        ({ size, range, deliveredShare }) => {
          const wanted = requestedBytes(size, range);
          const deliveredBytes = Math.min(wanted, Math.floor(wanted * deliveredShare));
          const plan = planResume({ sizeBytes: size, range, deliveredBytes, failedNodes: [nodeId("a"), nodeId("a")], resumesDone: 0, resumesMax: 4 });
          if (deliveredBytes === wanted) {
            expect(plan.ok).toBe(false);
            return;
          }
          if (!plan.ok) throw new Error(plan.error);
          expect(plan.value.range.start).toBe((range?.start ?? 0) + deliveredBytes);
          expect(plan.value.range.endInclusive).toBe(range?.endInclusive ?? size - 1);
          expect(plan.value.exclude).toEqual([nodeId("a")]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("gives up after resumesMax resumes", () => {
    const plan = planResume({ sizeBytes: 100, range: undefined, deliveredBytes: 10, failedNodes: [], resumesDone: 4, resumesMax: 4 });
    expect(plan.ok).toBe(false);
  });
});
