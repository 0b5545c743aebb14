// The catch-up rule (core/catch-up.ts catchUpComplete): a partition behind on a node counts as caught up only
// once the copies it synced from hold every acknowledged write, within what N and W must survive.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CatchUpEvidence, type CatchUpQuestion, catchUpComplete } from "../../core/catch-up.ts";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import { buildRing } from "../../core/ring.ts";
import { primariesOf } from "../../core/placement.ts";
import { mapOf, newNodes } from "./support/maps.ts";
import { readObject, writeVersion } from "../../core/coordinator.ts";
import { ok } from "../../core/result.ts";
import { runRepairRound } from "../../core/repair.ts";
import { DIGESTS_PER_REQUEST_MAX } from "../../core/storage-node.ts";
import { TestCluster, bodyOf } from "./support/cluster.ts";
import type { MemBody } from "./support/memory-store.ts";

const partition = 0 as PartitionId;

/** Every subset of `items` of exactly `size` elements. */
function subsetsOf<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsetsOf(rest, size - 1).map((s) => [first, ...s]), ...subsetsOf(rest, size)];
}

/** How one primary's copy stands: it holds what it acknowledged (caught up or intact), or lost it (replaced disk). */
type CopyState = "holding" | "lost";

const caseArb = fc.record({
  replicas: fc.integer({ min: 1, max: 5 }),
  writeQuorum: fc.integer({ min: 1, max: 5 }),
  selfIndex: fc.nat(),
  states: fc.array(fc.constantFrom<CopyState>("holding", "lost"), { minLength: 5, maxLength: 5 }),
  live: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  synced: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
});

interface Case {
  readonly replicas: number;
  readonly writeQuorum: number;
  readonly selfIndex: number;
  /** Per primary, by index in the preference list: its copy's state, whether it is live, whether it was synced. */
  readonly states: readonly CopyState[];
  readonly live: readonly boolean[];
  readonly synced: readonly boolean[];
}

function setUp(c: Case) {
  const ring = buildRing(mapOf(newNodes(5, { zones: 5 }), 2, c.replicas));
  const primaries = primariesOf(ring, partition);
  const self = primaries[c.selfIndex % primaries.length]!;
  const others = primaries.filter((n) => n !== self);
  const state = (n: NodeId): CopyState => c.states[primaries.indexOf(n)]!;
  const live = others.filter((n) => c.live[primaries.indexOf(n)]);
  const synced = new Set(live.filter((n) => c.synced[primaries.indexOf(n)]));
  const evidence: CatchUpEvidence = {
    syncedPeers: synced,
    holdingPrimaries: new Set([...synced].filter((n) => state(n) === "holding")),
    fromCaughtUpPrimary: [...synced].some((n) => state(n) === "holding"),
  };
  const question: CatchUpQuestion = { self, view: { current: ring }, partition, livePeers: live, selfIntact: state(self) === "holding", writeQuorum: c.writeQuorum, strictQuorum: true };
  return { ring, primaries, self, synced, state, evidence, question };
}

describe("catch-up rule (core/catch-up.ts)", () => {
  it("with strict quorums, a partition is caught up only when the copies it synced from (and its own, if intact) meet every write quorum, or every primary was synced", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { ring, primaries, self, synced, state, evidence, question } = setUp(c);
        if (!catchUpComplete(question, evidence)) return;
        if (primaries.every((n) => n === self || synced.has(n))) return; // all there is
        // The copies that hold what they acknowledged, as the node now holds them.
        const covering = new Set(primaries.filter((n) => (n === self ? state(n) === "holding" : synced.has(n) && state(n) === "holding")));
        const w = Math.min(c.writeQuorum, ring.replicaCount);
        for (const quorum of subsetsOf(primaries, w)) expect(quorum.some((n) => covering.has(n)), `write quorum ${quorum.join(",")} missed by ${[...covering].join(",")}`).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("a replaced disk does not catch up from one caught-up primary while the third is down (N=3, W=2): the stale read of issue 10", () => {
    // Primaries [self, x, b]: self lost its disk, x stayed up (caught up, but may have missed writes), b is down.
    const { question, evidence } = setUp({ replicas: 3, writeQuorum: 2, selfIndex: 0, states: ["lost", "holding", "holding", "holding", "holding"], live: [true, true, false, true, true], synced: [true, true, true, true, true] });
    expect(question.livePeers).toHaveLength(1);
    expect(evidence.fromCaughtUpPrimary).toBe(true);
    expect(catchUpComplete(question, evidence)).toBe(false);
    // Once b is back and synced too, it has caught up.
    const back = setUp({ replicas: 3, writeQuorum: 2, selfIndex: 0, states: ["lost", "holding", "holding", "holding", "holding"], live: [true, true, true, true, true], synced: [true, true, true, true, true] });
    expect(catchUpComplete(back.question, back.evidence)).toBe(true);
  });

  it("a node restarted on its own data catches up from one caught-up primary while the third is down (N=3, W=2)", () => {
    const { question, evidence } = setUp({ replicas: 3, writeQuorum: 2, selfIndex: 0, states: ["holding", "holding", "holding", "holding", "holding"], live: [true, true, false, true, true], synced: [true, true, true, true, true] });
    expect(catchUpComplete(question, evidence)).toBe(true);
  });

  it("a live peer not yet synced keeps the partition behind, whatever else was synced", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { question, evidence, synced } = setUp(c);
        if (question.livePeers.every((n) => synced.has(n))) return;
        expect(catchUpComplete(question, evidence)).toBe(false);
        expect(catchUpComplete({ ...question, strictQuorum: false }, evidence)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe("fast catch-up after a restart (core/repair.ts catchUpWhereDigestsMatch)", () => {
  for (const partitionBits of [4, 6, 8]) {
    it(`a node restarted with nothing changed is caught up on all its partitions after one round, from digests alone (${2 ** partitionBits} partitions)`, async () => {
      const cluster = new TestCluster({ nodes: 5, partitionBits });
      const deps = cluster.coordinator();
      for (let i = 0; i < 200; i++) {
        const body = bodyOf(`body ${i}`);
        const w = await writeVersion<MemBody>(deps, { bucket: "b", key: `k${i}`, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
        await w.background;
        expect(w.ok).toBe(true);
      }
      await cluster.repairUntilQuiet();
      cluster.crash("n1");
      cluster.restart("n1");
      const node = cluster.node("n1");
      const behind = node.catchUp.behindPartitions();
      // More partitions than one round visits (partitionsPerRoundMax 64) at 256: only the digests make it one round.
      expect(behind.length).toBeGreaterThan(0);
      cluster.delivered.clear();
      const report = await runRepairRound(cluster.repairContext(node), node.repair);
      expect(node.catchUp.behindPartitions()).toEqual([]);
      expect(report.caughtUp.sort((a, b) => a - b)).toEqual(behind);
      // One digests request per peer and batch of partitions; no per-partition digest, no listing of a peer.
      const peers = cluster.ids.length - 1;
      const asked = new Set([...behind, ...Array.from({ length: Math.min(64, 2 ** partitionBits) }, (_, p) => p)]).size;
      expect(cluster.delivered.get("digests")).toBeLessThanOrEqual(peers * Math.ceil(asked / DIGESTS_PER_REQUEST_MAX));
      expect(cluster.delivered.get("digest") ?? 0).toBe(0);
      expect(cluster.delivered.get("list-partition") ?? 0).toBe(0);
    });
  }
});

describe("partial disk loss (issue 9 item 8): a copy that lost some versions vouches for nothing until caught up", () => {
  /**
   * F5's history with a partial loss instead of a replaced disk: primaries [a, b, c] of k; c misses v2 while it
   * counts as live (its put is lost, so no hint exists); a loses v2's blob file while down and restarts on the
   * rest of its disk; b is down. `rule` false starts a as the old runtime did, as if its copy were intact.
   */
  async function history(rule: boolean) {
    const cluster = new TestCluster({ nodes: 5, partitionBits: 2 });
    const deps = cluster.coordinator();
    const [a, b, c] = cluster.primaries("b", "k") as [NodeId, NodeId, NodeId];
    const put = async (content: string) => {
      const body = bodyOf(content);
      const w = await writeVersion<MemBody>(deps, { bucket: "b", key: "k", size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
      await w.background;
      expect(w.ok).toBe(true);
      return w.ok ? w.value.version.stamp : "";
    };
    await put("v1");
    cluster.faultFor = (to, request) => (to === c && request.kind === "put" ? "lose-request" : "deliver");
    const v2 = await put("v2");
    cluster.faultFor = () => "deliver";
    expect(cluster.node(c).store.hasCommitted("b", "k", v2)).toBe(false);
    cluster.crash(a);
    cluster.restartAfterLosing(a, [{ bucket: "b", key: "k", stamp: v2 }], rule);
    cluster.crash(b);
    await cluster.repairUntilQuiet();
    const read = await readObject(cluster.coordinator(), "b", "k");
    return { cluster, a, b, v2, read, partition: cluster.partitionOf("b", "k") };
  }

  it("with one other primary down, the partition stays behind and a read at R=2 is refused, never older; once it is back, it catches up and serves the newest", async () => {
    const { cluster, a, b, v2, read, partition } = await history(true);
    expect(cluster.node(a).catchUp.isCaughtUp(partition)).toBe(false);
    expect(cluster.node(a).catchUp.lostBehind()).toEqual([partition]);
    expect(read.ok).toBe(false);
    cluster.restart(b);
    await cluster.repairUntilQuiet();
    expect(cluster.node(a).catchUp.isCaughtUp(partition)).toBe(true);
    expect(cluster.node(a).catchUp.lostBehind()).toEqual([]);
    const after = await readObject(cluster.coordinator(), "b", "k");
    expect(after.ok && after.value.version?.stamp).toBe(v2);
  });

  it("the same history without the rule serves the older version at R=2 (the scenario has teeth)", async () => {
    const { v2, read } = await history(false);
    expect(read.ok).toBe(true);
    expect(read.ok && read.value.version?.stamp).not.toBe(v2);
  });
});
