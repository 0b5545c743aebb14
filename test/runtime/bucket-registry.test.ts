// The router's bucket registry over its bucket table: a known bucket costs no record read, a miss costs one
// (shared by the requests that arrive meanwhile), and DeleteBucket lists only once its mark is held widely.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BucketTable, type BucketEntry } from "../../core/bucket-table.ts";
import type { NodeId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { formatStamp } from "../../core/version.ts";
import { BucketRegistry, type PushOutcome } from "../../runtime/router/buckets.ts";
import type { ObjectService, PutInput } from "../../runtime/router/object-service.ts";

interface FakeState {
  failing: boolean;
  heads: number;
  lists: number;
  records: Map<string, ObjectVersion>;
  objectsIn: Map<string, string[]>;
}

function fakeObjects(state: FakeState): ObjectService {
  let clock = 1000;
  const stamp = () => formatStamp({ physicalMs: clock++, logical: 0, writer: "r1" }) as VersionStamp;
  return {
    head: async (_bucket: string, key: string) => {
      state.heads += 1;
      await new Promise((r) => setTimeout(r, 5));
      if (state.failing) throw new Error("Only 1 of 2 replicas answered");
      return state.records.get(key) ?? null;
    },
    put: async (input: PutInput) => {
      for await (const _ of input.body);
      const digests = await input.digests;
      const version: ObjectVersion = { bucket: input.bucket, key: input.key, stamp: stamp(), size: digests.size, etag: digests.md5Hex, checksum: digests.checksum, contentType: input.contentType, userMeta: input.metadata, deleted: false };
      state.records.set(input.key, version);
      return version;
    },
    remove: async (bucket: string, key: string) => {
      const version: ObjectVersion = { bucket, key, stamp: stamp(), size: 0, etag: "", checksum: "", contentType: "", userMeta: {}, deleted: true };
      state.records.set(key, version);
      return version;
    },
    open: async () => Readable.from([Buffer.alloc(0)]),
    list: async (bucket: string) => {
      state.lists += 1;
      const keys = state.objectsIn.get(bucket) ?? [];
      return { versions: keys.map((key) => ({ bucket, key, stamp: stamp(), size: 1, etag: "e", checksum: "c", contentType: "", userMeta: {}, deleted: false })), truncated: false };
    },
  } as unknown as ObjectService;
}

const newState = (): FakeState => ({ failing: false, heads: 0, lists: 0, records: new Map(), objectsIn: new Map() });
const live = (name: string): BucketEntry => ({ name, stamp: formatStamp({ physicalMs: 10, logical: 0, writer: "r0" }), state: "live", createdMs: 10, settings: "" });
const everyNode = async (): Promise<PushOutcome> => ({ held: ["n1", "n2", "n3"] as NodeId[], missing: [] });

describe("bucket registry", () => {
  it("a bucket the table knows is served without a record read, also while records cannot be read", async () => {
    const state = newState();
    state.failing = true;
    const registry = new BucketRegistry({ objects: fakeObjects(state), table: new BucketTable([live("videos")]), push: everyNode, writeQuorum: 2 });
    expect((await registry.find("videos"))?.createdMs).toBe(10);
    expect(state.heads).toBe(0);
    await expect(registry.find("photos")).rejects.toThrow("replicas answered");
  });

  it("a miss reads the record once for the requests that arrive meanwhile, and the table learns it", async () => {
    const state = newState();
    const writer = new BucketRegistry({ objects: fakeObjects(state), table: new BucketTable(), push: everyNode, writeQuorum: 2 });
    expect(await writer.create("videos")).toBe("created");
    state.heads = 0;
    const table = new BucketTable();
    const reader = new BucketRegistry({ objects: fakeObjects(state), table, push: everyNode, writeQuorum: 2 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => reader.find("videos")));
    expect(answers.every((a) => a?.name === "videos")).toBe(true);
    expect(state.heads).toBe(1);
    expect(table.get("videos")?.state).toBe("live");
    state.failing = true;
    expect((await reader.find("videos"))?.name).toBe("videos");
  });

  it("DeleteBucket lists only once fewer than W nodes lack its mark; otherwise the bucket is live again and the client gets 503", async () => {
    const state = newState();
    const pushed: BucketEntry[] = [];
    let missing = ["n2", "n3"] as NodeId[];
    const push = async (entries: readonly BucketEntry[]): Promise<PushOutcome> => {
      pushed.push(...entries);
      return { held: [], missing };
    };
    const table = new BucketTable();
    const registry = new BucketRegistry({ objects: fakeObjects(state), table, push, writeQuorum: 2 });
    await registry.create("videos");
    await expect(registry.remove("videos")).rejects.toMatchObject({ code: "ServiceUnavailable" });
    expect(state.lists).toBe(0);
    expect(pushed.map((e) => e.state)).toEqual(["live", "deleting", "live"]);
    expect(table.get("videos")?.state).toBe("live");

    missing = ["n3"] as NodeId[];
    state.objectsIn.set("videos", ["a.mp4"]);
    await expect(registry.remove("videos")).rejects.toMatchObject({ code: "BucketNotEmpty" });
    expect(table.get("videos")?.state).toBe("live");

    state.objectsIn.set("videos", []);
    await registry.remove("videos");
    expect(table.get("videos")?.state).toBe("deleted");
    expect(state.records.get("buckets/videos")?.deleted).toBe(true);
    expect(await registry.find("videos")).toBeNull();
    // A tombstone answers by itself when the record cannot be read.
    state.failing = true;
    expect(await registry.find("videos")).toBeNull();
  });
});
