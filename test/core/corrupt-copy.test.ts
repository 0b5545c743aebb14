// core/repair.ts repairCorruptCopy: a rotten copy is replaced only once a good body is in hand, and never
// dropped first. The nodes here serve stored bodies unchecked (TestCluster.servesUnchecked), as the runtime's
// do (its store checks blocks while streaming, so a rotten copy starts to stream and breaks midway): a rotten
// holder hands out a bad body, and only the reader's own checks stand between it and the local copy.
import { describe, expect, it } from "vitest";
import { writeVersion } from "../../core/coordinator.ts";
import type { NodeId } from "../../core/ids.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { CorruptCopyQueue, corruptQueueLimits } from "../../core/corrupt-copies.ts";
import { repairCorruptCopy, runRepairRound } from "../../core/repair.ts";
import { ok } from "../../core/result.ts";
import { recordingLog } from "../runtime/support/storage.ts";
import { TestCluster, bodyOf } from "./support/cluster.ts";
import type { MemBody } from "./support/memory-store.ts";

async function clusterWithOneObject(): Promise<{ cluster: TestCluster; version: ObjectVersion; primaries: readonly NodeId[]; drops: string[] }> {
  const cluster = new TestCluster({ nodes: 3 });
  const body = bodyOf("an acknowledged write");
  const w = await writeVersion<MemBody>(cluster.coordinator(), { bucket: "b", key: "k", size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
  if (!w.ok) throw new Error("write failed");
  await w.background;
  const primaries = cluster.primaries("b", "k");
  // Every drop of the object's copy on any node, from here on: there must be none.
  const drops: string[] = [];
  for (const id of primaries) cluster.node(id).store.onDrop = (v) => void (v.key === "k" && drops.push(`${id} dropped ${v.key}@${v.stamp}`));
  cluster.servesUnchecked = true;
  return { cluster, version: w.value.version, primaries, drops };
}

/** Every primary holds a committed copy of the version (good or rotten): none is ever missing. */
function expectEveryCopyHeld(cluster: TestCluster, primaries: readonly NodeId[], version: ObjectVersion, when: string): void {
  const missing = primaries.filter((id) => !cluster.node(id).store.hasCommitted("b", "k", version.stamp));
  expect(missing, `nodes without a copy ${when}`).toEqual([]);
}

async function goodCopies(cluster: TestCluster, primaries: readonly NodeId[], version: ObjectVersion): Promise<NodeId[]> {
  const good: NodeId[] = [];
  for (const id of primaries) {
    const read = await cluster.node(id).store.readBody("b", "k", version.stamp);
    if (read.ok && read.value.body.checksum === version.checksum) good.push(id);
  }
  return good;
}

describe("repairCorruptCopy", () => {
  // With verifyBody (the simulator's, the runtime's) and without (the store's check in replaceCommitted alone).
  for (const verifying of [true, false]) {
    it(`two rotten copies and one good: repair ends with three good copies, and no copy is ever missing (${verifying ? "with" : "without"} verifyBody)`, async () => {
      const { cluster, version, primaries, drops } = await clusterWithOneObject();
      const partition = cluster.partitionOf("b", "k");
      // The first two in ring order: each asks the other, rotten too, first.
      const [first, second, good] = primaries as [NodeId, NodeId, NodeId];
      cluster.node(first).store.corrupt("b", "k", version.stamp);
      cluster.node(second).store.corrupt("b", "k", version.stamp);
      const contextOf = (id: NodeId) => {
        const { verifyBody: _verify, ...unverified } = cluster.repairContext(cluster.node(id));
        return verifying ? cluster.repairContext(cluster.node(id)) : unverified;
      };
      expectEveryCopyHeld(cluster, primaries, version, "after the flips");

      expect(await repairCorruptCopy(contextOf(first), partition, version)).toBe("replaced");
      expectEveryCopyHeld(cluster, primaries, version, `after ${first}'s repair`);
      expect(await goodCopies(cluster, primaries, version)).toEqual([first, good]);

      expect(await repairCorruptCopy(contextOf(second), partition, version)).toBe("replaced");
      expectEveryCopyHeld(cluster, primaries, version, `after ${second}'s repair`);
      expect(await goodCopies(cluster, primaries, version)).toEqual([first, second, good]);

      // Whole repair rounds after it change nothing: anti-entropy sees equal versions everywhere.
      for (let round = 0; round < 3; round++) {
        for (const id of primaries) await runRepairRound(contextOf(id), cluster.node(id).repair);
        expectEveryCopyHeld(cluster, primaries, version, `after repair round ${round}`);
      }
      expect(await goodCopies(cluster, primaries, version)).toEqual([first, second, good]);
      expect(drops).toEqual([]);
      expect(cluster.node(first).store.replaced + cluster.node(second).store.replaced).toBe(2);
    });
  }

  it("with every other copy rotten, the local rotten copy stays in place and the holders tried are logged", async () => {
    const { cluster, version, primaries, drops } = await clusterWithOneObject();
    const partition = cluster.partitionOf("b", "k");
    for (const id of primaries) cluster.node(id).store.corrupt("b", "k", version.stamp);
    const [victim, ...others] = primaries as [NodeId, NodeId, NodeId];
    const log = recordingLog();
    const { verifyBody: _verify, ...unverified } = cluster.repairContext(cluster.node(victim));

    expect(await repairCorruptCopy({ ...unverified, log }, partition, version)).toBe("unrepaired");
    expectEveryCopyHeld(cluster, primaries, version, "after a repair that found no good body");
    expect(drops).toEqual([]);
    const unrepaired = log.lines.find((l) => l.event === "repair.corrupt-copy-unrepaired");
    expect(unrepaired?.level).toBe("error");
    expect((unrepaired?.fields.tried as { peer: NodeId }[]).map((t) => t.peer)).toEqual(others);

    // A later attempt, once one holder has a good body again, replaces it.
    const good = bodyOf("an acknowledged write");
    cluster.node(others[1]!).store.put(partition, version, good, true);
    expect(await repairCorruptCopy(cluster.repairContext(cluster.node(victim)), partition, version)).toBe("replaced");
    expect((await goodCopies(cluster, primaries, version)).includes(victim)).toBe(true);
  });

  it("a stale report (the copy reads whole and matches) leaves the copy alone", async () => {
    const { cluster, version, primaries } = await clusterWithOneObject();
    const victim = primaries[0]!;
    expect(await repairCorruptCopy(cluster.repairContext(cluster.node(victim)), cluster.partitionOf("b", "k"), version)).toBe("intact");
    expect(cluster.node(victim).store.replaced).toBe(0);
  });
});

describe("CorruptCopyQueue (the one corrupt-copy driver of runtime and simulator)", () => {
  it("queues a copy once, retries an unrepaired one after a growing pause, and replaces it once a good body exists", async () => {
    const { cluster, version, primaries, drops } = await clusterWithOneObject();
    const partition = cluster.partitionOf("b", "k");
    for (const id of primaries) cluster.node(id).store.corrupt("b", "k", version.stamp);
    const victim = primaries[0]!;
    const ctx = { ...cluster.repairContext(cluster.node(victim)), log: recordingLog() };
    const queue = new CorruptCopyQueue();
    expect(queue.add(partition, version, cluster.nowMs)).toBe(true);
    expect(queue.add(partition, version, cluster.nowMs)).toBe(false); // reported twice, queued once
    expect(queue.length).toBe(1);

    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 1, replaced: 0 });
    expect(queue.length).toBe(1); // kept for a later attempt, and so is the rotten copy
    expectEveryCopyHeld(cluster, primaries, version, "after an unrepaired attempt");
    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 0 }); // not due yet
    cluster.nowMs += corruptQueueLimits.retryAfterMsMin;
    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 1 });
    cluster.nowMs += corruptQueueLimits.retryAfterMsMin; // the pause doubled: still not due
    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 0 });

    cluster.node(primaries[1]!).store.put(partition, version, bodyOf("an acknowledged write"), true);
    cluster.nowMs += corruptQueueLimits.retryAfterMsMin;
    expect(await queue.drain(ctx)).toMatchObject({ replaced: 1 });
    expect(queue.length).toBe(0);
    expect((await goodCopies(cluster, primaries, version)).includes(victim)).toBe(true);
    expect(drops).toEqual([]);
  });

  it("holds at most lengthMax copies and leaves a copy to the scrubber after attemptsMax attempts", async () => {
    const { cluster, version, primaries } = await clusterWithOneObject();
    const partition = cluster.partitionOf("b", "k");
    for (const id of primaries) cluster.node(id).store.corrupt("b", "k", version.stamp);
    const queue = new CorruptCopyQueue({ lengthMax: 2, drainMax: 10, retryAfterMsMin: 1, retryAfterMsMax: 1, attemptsMax: 2 });
    expect(queue.add(partition, version, 0)).toBe(true);
    expect(queue.add(partition, { ...version, key: "other" }, 0)).toBe(true);
    expect(queue.add(partition, { ...version, key: "third" }, 0)).toBe(false);
    expect(queue.droppedTotal).toBe(1);
    const ctx = cluster.repairContext(cluster.node(primaries[0]!));
    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 1, gone: 1 }); // "other" is not held at all
    cluster.nowMs += 1;
    expect(await queue.drain(ctx)).toMatchObject({ unrepaired: 1, givenUp: 1 });
    expect(queue.length).toBe(0);
    expectEveryCopyHeld(cluster, primaries, version, "after the queue gave up on it");
  });
});
