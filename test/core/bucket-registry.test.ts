// DeleteBucket against concurrent changes of the same bucket (core/bucket-registry.ts, finding F8): over records
// kept in memory and five nodes' bucket tables, with another router's change arriving at the worst moment.
import { describe, expect, it } from "vitest";
import { type BucketRecordObjects, BucketRegistry, BUCKET_RECORD_PREFIX, type PushOutcome } from "../../core/bucket-registry.ts";
import { type BucketEntry, BucketTable } from "../../core/bucket-table.ts";
import { type NodeId, nodeId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { formatStamp } from "../../core/version.ts";

interface Cluster {
  readonly records: Map<string, ObjectVersion>;
  readonly nodes: Map<NodeId, BucketTable>;
  readonly unreachable: Set<NodeId>;
  /** Live keys per bucket, as the merged listing shows them. */
  readonly objects: Map<string, string[]>;
  stamp(): VersionStamp;
  /** Runs once, at the start of the next listing of a bucket (another router acting meanwhile). */
  onList?: () => void;
  /** Runs once, after the next push (another router acting meanwhile). */
  afterPush?: () => void;
}

function cluster(): Cluster {
  let clock = 1000;
  const c: Cluster = {
    records: new Map(),
    nodes: new Map(["n1", "n2", "n3", "n4", "n5"].map((n) => [nodeId(n), new BucketTable()])),
    unreachable: new Set(),
    objects: new Map(),
    stamp: () => formatStamp({ physicalMs: clock++, logical: 0, writer: "r1" }) as VersionStamp,
  };
  return c;
}

const version = (c: Cluster, key: string, deleted: boolean, userMeta: Record<string, string> = {}): ObjectVersion => ({ bucket: "-system", key, stamp: c.stamp(), size: 0, etag: "", checksum: "", contentType: "", userMeta, deleted });

function recordObjects(c: Cluster): BucketRecordObjects {
  return {
    head: async (_bucket, key) => c.records.get(key) ?? null,
    remove: async (_bucket, key) => {
      const v = version(c, key, true);
      c.records.set(key, v);
      return v;
    },
    list: async (bucket) => {
      const hook = c.onList;
      c.onList = undefined;
      hook?.();
      const keys = c.objects.get(bucket) ?? [];
      return { versions: keys.map((key) => ({ ...version(c, key, false), bucket })), truncated: false };
    },
    writeText: async (target) => {
      const v = version(c, target.key, false, target.metadata);
      c.records.set(target.key, v);
      return v;
    },
    readText: async () => "",
  };
}

/** What pushBucketEntries does, over the in-memory nodes. */
async function push(c: Cluster, entries: readonly BucketEntry[]): Promise<PushOutcome> {
  const held: NodeId[] = [];
  const learned: BucketEntry[] = [];
  for (const [node, table] of c.nodes) {
    if (c.unreachable.has(node)) continue;
    table.merge(entries);
    if (entries.every((e) => table.get(e.name)?.stamp === e.stamp)) held.push(node);
    learned.push(...entries.flatMap((e) => (table.get(e.name) ? [table.get(e.name)!] : [])));
  }
  const hook = c.afterPush;
  c.afterPush = undefined;
  hook?.();
  return { held, missing: [...c.nodes.keys()].filter((n) => !held.includes(n)), learned };
}

function registry(c: Cluster, table = new BucketTable()): BucketRegistry {
  return new BucketRegistry({ objects: recordObjects(c), table, push: (entries) => push(c, entries), writeQuorum: 2, nowMs: () => 5000 });
}

/** Another router's change of `name`: a new record version, then its entry on every reachable node. */
function otherRouterWrites(c: Cluster, name: string, state: "live" | "deleted"): BucketEntry {
  const key = BUCKET_RECORD_PREFIX + name;
  const v = version(c, key, state === "deleted");
  c.records.set(key, v);
  const entry: BucketEntry = { name, stamp: v.stamp, state, createdMs: 5000, settings: "" };
  for (const [node, table] of c.nodes) if (!c.unreachable.has(node)) table.merge([entry]);
  return entry;
}

const stateOnNodes = (c: Cluster, name: string): string[] => [...c.nodes.values()].map((t) => t.get(name)?.state ?? "none");

describe("DeleteBucket against concurrent changes of the bucket", () => {
  it("a mark replaced during the listing (another delete that failed lifted it) fails the delete: no tombstone over PUTs that may have landed", async () => {
    const c = cluster();
    const r = registry(c);
    expect(await r.create("clips")).toBe("created");
    c.onList = () => otherRouterWrites(c, "clips", "live");
    const outcome = await r.remove("clips");
    expect(outcome).toEqual({ ok: false, error: { kind: "mark-not-held", missing: ["n1", "n2", "n3", "n4", "n5"] } });
    expect(c.records.get("buckets/clips")!.deleted).toBe(false);
    expect(stateOnNodes(c, "clips")).toEqual(["live", "live", "live", "live", "live"]);
  });

  it("a failed delete does not lift its mark over a newer tombstone another router wrote meanwhile", async () => {
    const c = cluster();
    const r = registry(c);
    await r.create("clips");
    c.unreachable.add(nodeId("n4")).add(nodeId("n5")); // the mark cannot be held widely: the delete fails
    c.afterPush = () => otherRouterWrites(c, "clips", "deleted");
    const outcome = await r.remove("clips");
    expect(outcome.ok).toBe(false);
    expect(c.records.get("buckets/clips")!.deleted).toBe(true);
    expect(stateOnNodes(c, "clips").slice(0, 3)).toEqual(["deleted", "deleted", "deleted"]);
    expect(await r.find("clips")).toBeNull();
  });

  it("a delete through a router whose table still has a bucket deleted elsewhere answers no-such-bucket and writes nothing", async () => {
    const c = cluster();
    const stale = new BucketTable();
    const r = registry(c, stale);
    await r.create("clips");
    const tombstone = otherRouterWrites(c, "clips", "deleted");
    expect(stale.get("clips")?.state).toBe("live"); // this router has not heard of it
    expect(await r.remove("clips")).toEqual({ ok: false, error: { kind: "no-such-bucket" } });
    expect(c.records.get("buckets/clips")!.stamp).toBe(tombstone.stamp);
    expect(stateOnNodes(c, "clips")).toEqual(["deleted", "deleted", "deleted", "deleted", "deleted"]);
  });

  it("a create through a router whose table still has a bucket deleted elsewhere creates it again (not 'exists')", async () => {
    const c = cluster();
    const stale = new BucketTable();
    const r = registry(c, stale);
    await r.create("clips");
    otherRouterWrites(c, "clips", "deleted");
    expect(stale.get("clips")?.state).toBe("live");
    expect(await r.create("clips")).toBe("created");
    expect(c.records.get("buckets/clips")!.deleted).toBe(false);
  });

  it("an empty bucket whose mark holds throughout is deleted, everywhere", async () => {
    const c = cluster();
    const r = registry(c);
    await r.create("clips");
    expect(await r.remove("clips")).toEqual({ ok: true, value: undefined });
    expect(stateOnNodes(c, "clips")).toEqual(["deleted", "deleted", "deleted", "deleted", "deleted"]);
  });

  it("a bucket with a live key is not deleted, and is live again on every node", async () => {
    const c = cluster();
    const r = registry(c);
    await r.create("clips");
    c.objects.set("clips", ["e0"]);
    expect(await r.remove("clips")).toEqual({ ok: false, error: { kind: "not-empty" } });
    expect(stateOnNodes(c, "clips")).toEqual(["live", "live", "live", "live", "live"]);
  });
});
