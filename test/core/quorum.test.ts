// The stand-in rule of core/quorum.ts, over random replies and liveness views.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type NodeId, nodeId } from "../../core/ids.ts";
import { type QuorumReply, countTowardQuorum } from "../../core/quorum.ts";

const RUNS = 2_000;

const primaryIds = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => nodeId(`p${i}`));

/** A ring's primaries, which of them are down in the coordinator's view, and replies from primaries and handoffs with random claims. */
const situation = fc
  .integer({ min: 1, max: 5 })
  .chain((n) =>
    fc.record({
      primaryCount: fc.constant(n),
      needed: fc.integer({ min: 1, max: n }),
      down: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      replies: fc.array(
        fc.record({
          // 0..n-1: a primary; n..n+3: a handoff.
          node: fc.integer({ min: 0, max: n + 3 }),
          // undefined: no claim; 0..n-1: a primary; n: a node that is no primary of this ring.
          claim: fc.option(fc.integer({ min: 0, max: n }), { nil: undefined }),
        }),
        { maxLength: 10 },
      ),
      standInsAllowed: fc.boolean(),
    }),
  );
type Situation = typeof situation extends fc.Arbitrary<infer T> ? T : never;

function decode(s: Situation): { primaries: NodeId[]; isDown: (n: NodeId) => boolean; replies: QuorumReply[] } {
  const primaries = primaryIds(s.primaryCount);
  const name = (i: number): NodeId => (i < s.primaryCount ? primaries[i]! : nodeId(`h${i - s.primaryCount}`));
  const downSet = new Set(primaries.filter((_, i) => s.down[i]));
  // One reply per node, as a quorum gets them (a later reply from the same node is ignored).
  const seen = new Set<number>();
  const replies = s.replies
    .filter((r) => !seen.has(r.node) && seen.add(r.node))
    .map((r) => ({ node: name(r.node), standInFor: r.claim === undefined ? undefined : r.claim < s.primaryCount ? primaries[r.claim]! : nodeId("elsewhere") }));
  return { primaries, isDown: (n) => downSet.has(n), replies };
}

describe("the stand-in rule (core/quorum.ts countTowardQuorum)", () => {
  it("a stand-in counts only for a down primary that did not reply, only once every live primary replied, never two for one primary, never more than the primaries", () => {
    fc.assert(
      fc.property(situation, (s) => {
        const { primaries, isDown, replies } = decode(s);
        const count = countTowardQuorum(primaries, s.needed, isDown, replies, s.standInsAllowed);
        const repliedPrimaries = new Set(replies.filter((r) => primaries.includes(r.node)).map((r) => r.node));
        expect(count.counted).toBe(repliedPrimaries.size + count.standIns.size);
        expect(count.counted).toBeLessThanOrEqual(primaries.length);
        expect(count.met).toBe(count.counted >= s.needed);
        const standingFor = [...count.standIns.values()];
        expect(new Set(standingFor).size).toBe(standingFor.length);
        for (const [node, primary] of count.standIns) {
          expect(primaries).not.toContain(node);
          expect(primaries).toContain(primary);
          expect(isDown(primary)).toBe(true);
          expect(repliedPrimaries.has(primary)).toBe(false);
          // The node did claim that primary in one of its replies.
          expect(replies.some((r) => r.node === node && r.standInFor === primary)).toBe(true);
        }
        if (count.standIns.size > 0) {
          expect(s.standInsAllowed).toBe(true);
          expect(primaries.every((p) => isDown(p) || repliedPrimaries.has(p))).toBe(true);
          // Stand-ins only fill a gap: the primaries alone fell short.
          expect(repliedPrimaries.size).toBeLessThan(s.needed);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("without claims (or with stand-ins off) only primaries count: the strict rule is unchanged", () => {
    fc.assert(
      fc.property(situation, (s) => {
        const { primaries, isDown, replies } = decode(s);
        const repliedPrimaries = new Set(replies.filter((r) => primaries.includes(r.node)).map((r) => r.node));
        const off = countTowardQuorum(primaries, s.needed, isDown, replies, false);
        const unclaimed = countTowardQuorum(primaries, s.needed, isDown, replies.map((r) => ({ node: r.node })), true);
        for (const count of [off, unclaimed]) {
          expect(count.standIns.size).toBe(0);
          expect(count.counted).toBe(repliedPrimaries.size);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("the count does not depend on the order replies arrived in, and gives a stand-in to every down primary that some handoff eligibly claims", () => {
    fc.assert(
      fc.property(situation, fc.infiniteStream(fc.nat()), (s, draws) => {
        const { primaries, isDown, replies } = decode(s);
        const shuffled = [...replies];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = draws.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const a = countTowardQuorum(primaries, s.needed, isDown, replies, s.standInsAllowed);
        const b = countTowardQuorum(primaries, s.needed, isDown, shuffled, s.standInsAllowed);
        expect(b.counted).toBe(a.counted);
        expect([...b.standIns].sort()).toEqual([...a.standIns].sort());
        if (a.standIns.size > 0) {
          // Every down primary that some handoff eligibly claims gets one stand-in.
          const replied = new Set(replies.map((r) => r.node));
          const eligible = new Set(replies.filter((r) => !primaries.includes(r.node) && r.standInFor !== undefined && primaries.includes(r.standInFor) && isDown(r.standInFor) && !replied.has(r.standInFor)).map((r) => r.standInFor));
          expect(a.standIns.size).toBe(eligible.size);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
