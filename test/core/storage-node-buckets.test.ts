// The storage node's half of DeleteBucket (core/storage-node.ts with core/bucket-write-gate.ts): a bucket marked
// deleting takes no new version, and the node answers the mark only once the commits it let in before have
// finished, so the listing that follows sees them.
import { describe, expect, it } from "vitest";
import { BucketTable, type BucketEntry } from "../../core/bucket-table.ts";
import { BucketWriteGate } from "../../core/bucket-write-gate.ts";
import { CatchUpState } from "../../core/catch-up.ts";
import { nodeId } from "../../core/ids.ts";
import { Membership } from "../../core/membership.ts";
import { partitionOf } from "../../core/placement.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { handleReplicaRequest, type StorageNodeContext } from "../../core/storage-node.ts";
import { formatStamp } from "../../core/version.ts";
import { TestCluster, bodyOf, silentLog, stampFor, versionOf } from "./support/cluster.ts";
import { type MemBody, MemoryStore } from "./support/memory-store.ts";

const stampAt = (ms: number) => formatStamp({ physicalMs: ms, logical: 0, writer: "r1" }) as VersionStamp;
const entry = (state: BucketEntry["state"], ms: number): BucketEntry => ({ name: "videos", stamp: stampAt(ms), state, createdMs: 1, settings: "" });

/** A store whose commits wait until the test lets them through. */
class HeldCommits extends MemoryStore {
  release: () => void = () => {};
  private held = new Promise<void>((resolve) => (this.release = resolve));
  override async commit(...args: Parameters<MemoryStore["commit"]>): ReturnType<MemoryStore["commit"]> {
    await this.held;
    return super.commit(...args);
  }
}

function node(store: MemoryStore) {
  const cluster = new TestCluster({ nodes: 1, partitionBits: 1, replicas: 1 });
  const membership = new Membership(cluster.map);
  const table = new BucketTable([entry("live", 1)]);
  const persisted: BucketEntry[] = [];
  const ctx: StorageNodeContext<MemBody> = {
    self: nodeId("n0"),
    store,
    catchUp: new CatchUpState(nodeId("n0"), membership.view, "new-cluster"),
    membership,
    log: silentLog,
    buckets: { table, gate: new BucketWriteGate(table), persist: async (changed) => void persisted.push(...changed) },
  };
  const partition = partitionOf(membership.view.current, "videos", "a.mp4");
  return { ctx, table, persisted, partition };
}

const headerOf = ({ etag: _e, checksum: _c, ...header }: ObjectVersion) => header;

describe("storage node and the bucket table", () => {
  it("a node answers a bucket's deleting mark only after the commit it admitted before, and admits none after", async () => {
    const store = new HeldCommits();
    const { ctx, persisted, partition } = node(store);
    const first = versionOf("videos", "a.mp4", stampFor(5), "first");
    expect((await handleReplicaRequest(ctx, { kind: "put", partition, header: headerOf(first), body: bodyOf("first") })).ok).toBe(true);
    const committing = handleReplicaRequest(ctx, { kind: "commit", partition, version: first });
    await Promise.resolve();

    let marked = false;
    const marking = handleReplicaRequest(ctx, { kind: "buckets", entries: [entry("deleting", 2)] }).then((answer) => {
      marked = true;
      return answer;
    });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(marked).toBe(false);
    expect(persisted.map((e) => e.state)).toEqual(["deleting"]);

    const second = versionOf("videos", "b.mp4", stampFor(6), "second");
    const refusedPut = await handleReplicaRequest(ctx, { kind: "put", partition: partitionOf(ctx.membership.view.current, "videos", "b.mp4"), header: headerOf(second), body: bodyOf("second") });
    expect(refusedPut.ok ? "accepted" : refusedPut.error.detail).toMatch(/deleting/);
    const refusedCommit = await handleReplicaRequest(ctx, { kind: "commit", partition, version: versionOf("videos", "a.mp4", stampFor(7), "late") });
    expect(refusedCommit.ok ? "accepted" : refusedCommit.error.detail).toMatch(/deleting/);

    store.release();
    expect((await committing).ok).toBe(true);
    const answer = await marking;
    expect(answer.ok && answer.value.entries.map((e) => e.state)).toEqual(["deleting"]);
    // Sent again (it may have come by gossip first), the mark is answered at once: nothing is running.
    expect((await handleReplicaRequest(ctx, { kind: "buckets", entries: [entry("deleting", 2)] })).ok).toBe(true);
  });

  it("a bucket created after its delete takes writes again, and tombstones of keys pass a marked bucket", async () => {
    const { ctx, table, partition } = node(new MemoryStore());
    await handleReplicaRequest(ctx, { kind: "buckets", entries: [entry("deleted", 3)] });
    const tombstone = versionOf("videos", "a.mp4", stampFor(8, "t"), null);
    expect((await handleReplicaRequest(ctx, { kind: "put", partition, header: headerOf(tombstone), body: { size: 0, checksum: tombstone.checksum } })).ok).toBe(true);
    await handleReplicaRequest(ctx, { kind: "buckets", entries: [entry("live", 4)] });
    expect(table.get("videos")?.state).toBe("live");
    const again = versionOf("videos", "a.mp4", stampFor(9), "again");
    expect((await handleReplicaRequest(ctx, { kind: "put", partition, header: headerOf(again), body: bodyOf("again") })).ok).toBe(true);
    expect((await handleReplicaRequest(ctx, { kind: "commit", partition, version: again })).ok).toBe(true);
  });
});
