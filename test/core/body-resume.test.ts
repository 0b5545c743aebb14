// core/body-resume.ts: the rest of a broken body starts exactly at the first byte not delivered; and the order
// in which core/coordinator.ts bodyCandidates asks replicas for a body.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planResume, requestedBytes } from "../../core/body-resume.ts";
import { bodyCandidates } from "../../core/coordinator.ts";
import { type NodeId, nodeId, partitionId } from "../../core/ids.ts";
import { primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { defaultReplicationSettings } from "../../core/settings.ts";
import { mapOf, newNodes } from "./support/maps.ts";

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

describe("bodyCandidates", () => {
  it("asks live holders first, then the other live nodes, and replicas that failed lately or are down last", () => {
    const map = mapOf(newNodes(5), 4);
    const ring = buildRing(map);
    const partition = partitionId(3, ring.partitionCount);
    const [a, b, c] = primariesOf(ring, partition) as [NodeId, NodeId, NodeId];
    const down = new Set<NodeId>([b]);
    const deps = { rings: () => ({ current: ring }), isLive: (n: NodeId) => !down.has(n), settings: { ...defaultReplicationSettings, bodyAttemptsMax: 5 } };
    const order = bodyCandidates(deps, { partition, holders: [a, b, c] }, { last: [a] });
    expect(order.slice(0, 1)).toEqual([c]);
    expect(order.slice(-2)).toEqual([a, b]);
    expect(bodyCandidates(deps, { partition, holders: [a, b, c] }, { exclude: [c], last: [a] })).not.toContain(c);
  });
});
