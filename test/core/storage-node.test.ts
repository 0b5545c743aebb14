import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CatchUpState, type NodeStart } from "../../core/catch-up.ts";
import { type PartitionId, nodeId } from "../../core/ids.ts";
import { Membership } from "../../core/membership.ts";
import { afterVersion, keyStart } from "../../core/partition-cursor.ts";
import type { PartitionCursor, PartitionEntry } from "../../core/ports.ts";
import { handleReplicaRequest, partitionDigest, type StorageNodeContext } from "../../core/storage-node.ts";
import { TestCluster, bodyOf, silentLog, stampFor, verifyMemBody, versionOf } from "./support/cluster.ts";
import { type MemBody, MemoryStore } from "./support/memory-store.ts";

const RUNS = 200;
const P = 0 as PartitionId;

const rows = fc.array(
  fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e", "f"), ms: fc.integer({ min: 1, max: 30 }), committed: fc.boolean(), tombstone: fc.boolean() }),
  { maxLength: 40 },
);

function storeWith(entries: { key: string; ms: number; committed: boolean; tombstone: boolean }[]): MemoryStore {
  const store = new MemoryStore();
  for (const e of entries) {
    const content = e.tombstone ? null : `${e.key}${e.ms}`;
    const v = versionOf("b", e.key, stampFor(e.ms, e.tombstone ? "t" : "v"), content);
    store.put(P, v, content === null ? { size: 0, checksum: v.checksum } : bodyOf(content), e.committed);
  }
  return store;
}

function contextFor(store: MemoryStore, caughtUp = true, start: NodeStart = caughtUp ? "new-cluster" : "restart-with-data", lostCopies: PartitionId[] = []): StorageNodeContext<MemBody> {
  const cluster = new TestCluster({ nodes: 1, partitionBits: 1, replicas: 1 });
  const membership = new Membership(cluster.map);
  return { self: nodeId("n0"), store, catchUp: new CatchUpState(nodeId("n0"), membership.view, start, lostCopies), membership, verifyBody: (b, v) => verifyMemBody(b, v), log: silentLog };
}

describe("storage node", () => {
  it("list-partition pages, followed by their cursors, give every committed version once, in order, and no pending one", async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 7 }), async (entries, limit) => {
        const store = storeWith(entries);
        const ctx = contextFor(store);
        const seen: PartitionEntry[] = [];
        let from: PartitionCursor | undefined;
        for (let i = 0; i < 100; i++) {
          const page = await handleReplicaRequest(ctx, { kind: "list-partition", partition: P, ...(from ? { from } : {}), limit });
          if (!page.ok) throw new Error(page.error.detail);
          expect(page.value.entries.length).toBeLessThanOrEqual(limit);
          seen.push(...page.value.entries);
          if (page.value.done) break;
          expect(page.value.entries.length).toBe(limit);
          from = afterVersion(page.value.entries[page.value.entries.length - 1]!);
        }
        const expected = store.allCommitted().map((v) => `${v.key}/${v.stamp}`).sort();
        expect(seen.map((e) => `${e.key}/${e.stamp}`)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("a key-start cursor lists every committed version of its key first, and nothing of the keys before it", async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.constantFrom("a", "b", "c", "d", "e", "f", "cc"), async (entries, key) => {
        const store = storeWith(entries);
        const page = await handleReplicaRequest(contextFor(store), { kind: "list-partition", partition: P, from: keyStart("b", key), limit: 100 });
        if (!page.ok) throw new Error(page.error.detail);
        const expected = store.allCommitted().filter((v) => v.key >= key).map((v) => `${v.key}/${v.stamp}`).sort();
        expect(page.value.entries.map((e) => `${e.key}/${e.stamp}`)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("two replicas have the same digest exactly when they hold the same newest version of every key", async () => {
    await fc.assert(
      fc.asyncProperty(rows, rows, async (x, y) => {
        const a = storeWith(x);
        const b = storeWith(y);
        const newest = (s: MemoryStore) => {
          const m = new Map<string, string>();
          for (const v of s.allCommitted()) if (!m.has(v.key) || v.stamp > m.get(v.key)!) m.set(v.key, v.stamp);
          return JSON.stringify([...m].sort());
        };
        const da = await partitionDigest(a, P, 3);
        const db = await partitionDigest(b, P, 3);
        if (!da.ok || !db.ok) throw new Error("digest failed");
        expect(da.value.hash === db.value.hash).toBe(newest(a) === newest(b));
      }),
      { numRuns: RUNS },
    );
  });

  it("head answers not-caught-up while the partition is behind, and the newest committed version (tombstones too) once synced", async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.constantFrom("a", "b", "c"), async (entries, key) => {
        const store = storeWith(entries);
        const behind = contextFor(store, false);
        const r1 = await handleReplicaRequest(behind, { kind: "head", partition: P, bucket: "b", key });
        const cluster = new TestCluster({ nodes: 1, partitionBits: 1, replicas: 1 });
        const p = cluster.partitionOf("b", key);
        if (behind.catchUp.isCaughtUp(p)) return;
        expect(r1.ok).toBe(false);
        if (!r1.ok) expect(r1.error.kind).toBe("not-caught-up");
        behind.catchUp.markCaughtUp(P);
        const r2 = await handleReplicaRequest(behind, { kind: "head", partition: P, bucket: "b", key });
        expect(r2.ok && (r2.value.version?.stamp ?? null)).toBe(store.newestCommitted("b", key)?.stamp ?? null);
      }),
      { numRuns: RUNS },
    );
  });

  it("list-bucket answers not-caught-up while the disk lacks versions it acknowledged (replaced, or rows lost), and lists once caught up", async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.constantFrom<"empty" | "lost" | "restart-with-data" | "new-cluster">("empty", "lost", "restart-with-data", "new-cluster"), async (entries, how) => {
        const store = storeWith(entries);
        const ctx = how === "lost" ? contextFor(store, false, "restart-with-data", [P]) : contextFor(store, false, how);
        const list = () => handleReplicaRequest(ctx, { kind: "list-bucket", bucket: "b", prefix: "", after: "", limit: 100 });
        const live = () => [...new Set(store.allCommitted().map((v) => v.key))].sort();
        const first = await list();
        if (how === "empty" || how === "lost") {
          // Finding F7: such a node answered as if complete, so a listing could miss acknowledged keys.
          expect(first.ok).toBe(false);
          if (!first.ok) expect(first.error.kind).toBe("not-caught-up");
          for (const p of ctx.catchUp.behindPartitions()) ctx.catchUp.markCaughtUp(p);
        } else {
          // An intact disk holds every version it acknowledged, behind or not: it may answer at once.
          expect(first.ok && first.value.versions.map((v) => v.key)).toEqual(live());
        }
        const after = await list();
        expect(after.ok && after.value.versions.map((v) => v.key)).toEqual(live());
      }),
      { numRuns: RUNS },
    );
  });

  it("read answers what head answers, with get's bytes of the live version it found (the range clamped), none otherwise", async () => {
    const range = fc.option(fc.record({ start: fc.integer({ min: 0, max: 6 }), length: fc.integer({ min: 1, max: 6 }) }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(rows, fc.constantFrom("a", "b", "c", "zz"), range, async (entries, key, asked) => {
        const ctx = contextFor(storeWith(entries));
        const wanted = asked === undefined ? undefined : { start: asked.start, endInclusive: asked.start + asked.length - 1 };
        const head = await handleReplicaRequest(ctx, { kind: "head", partition: P, bucket: "b", key });
        const read = await handleReplicaRequest(ctx, { kind: "read", partition: P, bucket: "b", key, ...(wanted ? { range: wanted } : {}) });
        if (!head.ok || !read.ok) throw new Error("a caught-up node answers");
        expect(read.value.version).toEqual(head.value.version);
        const version = head.value.version;
        if (version === null || version.deleted || (wanted !== undefined && wanted.start >= version.size)) {
          expect(read.value.body).toBeUndefined();
          return;
        }
        const served = wanted === undefined ? undefined : { start: wanted.start, endInclusive: Math.min(wanted.endInclusive, version.size - 1) };
        const got = await handleReplicaRequest(ctx, { kind: "get", partition: P, bucket: "b", key, stamp: version.stamp, ...(served ? { range: served } : {}) });
        if (!got.ok) throw new Error(got.error.detail);
        expect(read.value.body).toEqual({ bytes: got.value.body, ...(served ? { range: served } : {}) });
      }),
      { numRuns: RUNS },
    );
  });

  it("read of a copy that fails its checksum still answers the head (it counts toward a quorum), without the bytes, and reports it", async () => {
    const store = new MemoryStore();
    const v = versionOf("b", "k", stampFor(5), "data");
    store.put(P, v, bodyOf("data"), true);
    store.corrupt("b", "k", v.stamp);
    const reported: string[] = [];
    const ctx = { ...contextFor(store), onCorrupt: (_p: PartitionId, version: { stamp: string }) => void reported.push(version.stamp) };
    const read = await handleReplicaRequest(ctx, { kind: "read", partition: P, bucket: "b", key: "k" });
    expect(read.ok && read.value.version?.stamp).toBe(v.stamp);
    expect(read.ok && read.value.body).toBeUndefined();
    expect(reported).toEqual([v.stamp]);
  });

  it("get refuses a copy that fails its checksum and reports it; a pending version is not served", async () => {
    const store = new MemoryStore();
    const v = versionOf("b", "k", stampFor(5), "data");
    store.put(P, v, bodyOf("data"), true);
    const reported: string[] = [];
    const ctx = { ...contextFor(store), onCorrupt: (_p: PartitionId, version: { stamp: string }) => void reported.push(version.stamp) };
    const good = await handleReplicaRequest(ctx, { kind: "get", partition: P, bucket: "b", key: "k", stamp: v.stamp });
    expect(good.ok).toBe(true);
    store.corrupt("b", "k", v.stamp);
    const bad = await handleReplicaRequest(ctx, { kind: "get", partition: P, bucket: "b", key: "k", stamp: v.stamp });
    expect(!bad.ok && bad.error.kind).toBe("corrupt");
    expect(reported).toEqual([v.stamp]);
    const skipped = await handleReplicaRequest({ ...ctx, faults: { skipReadChecksum: true } }, { kind: "get", partition: P, bucket: "b", key: "k", stamp: v.stamp });
    expect(skipped.ok).toBe(true);
    const pending = versionOf("b", "p", stampFor(6), "x");
    store.put(P, pending, bodyOf("x"), false);
    const notYet = await handleReplicaRequest(ctx, { kind: "get", partition: P, bucket: "b", key: "p", stamp: pending.stamp });
    expect(!notYet.ok && notYet.error.kind).toBe("not-found");
  });

  it("put refuses a partition that is not the key's; commit is idempotent", async () => {
    const cluster = new TestCluster({ nodes: 3, partitionBits: 4 });
    const node = cluster.node("n0");
    const ctx = cluster.storageContext(node);
    const right = cluster.partitionOf("b", "k");
    const wrong = ((right + 1) % 16) as PartitionId;
    const v = versionOf("b", "k", stampFor(9), "data");
    const { etag: _e, checksum: _c, ...header } = v;
    const refused = await handleReplicaRequest(ctx, { kind: "put", partition: wrong, header, body: bodyOf("data") });
    expect(refused.ok).toBe(false);
    const put = await handleReplicaRequest(ctx, { kind: "put", partition: right, header, body: bodyOf("data") });
    expect(put.ok && put.value.checksum).toBe(v.checksum);
    for (let i = 0; i < 2; i++) {
      const c = await handleReplicaRequest(ctx, { kind: "commit", partition: right, version: v });
      expect(c.ok).toBe(true);
    }
  });

  it("heartbeats feed the host and answer with this node's epoch, map hash and synced epoch", async () => {
    const store = new MemoryStore();
    const heard: string[] = [];
    const ctx = { ...contextFor(store), onHeartbeat: (from: string) => void heard.push(from) };
    const r = await handleReplicaRequest(ctx, { kind: "heartbeat", from: nodeId("n1"), epoch: ctx.membership.epoch, mapHash: ctx.membership.hash });
    expect(r.ok && r.value).toEqual({ epoch: ctx.membership.epoch, mapHash: ctx.membership.hash, syncedEpoch: ctx.membership.epoch });
    expect(heard).toEqual(["n1"]);
  });
});
