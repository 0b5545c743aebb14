// A bucket whose record cannot be read for a while is still served from the last read; a bucket never read
// is not invented; one record read serves the requests that arrive while it runs.
import { describe, expect, it } from "vitest";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { BucketRegistry } from "../../runtime/router/buckets.ts";
import type { ObjectService } from "../../runtime/router/object-service.ts";

function fakeObjects(state: { failing: boolean; heads: number }): ObjectService {
  const record: ObjectVersion = { bucket: "-system", key: "buckets/videos", stamp: "01a2000000000000.r" as VersionStamp, size: 0, etag: "e", checksum: "c", contentType: "", userMeta: { "x-ringstore-created-ms": "1000" }, deleted: false };
  return {
    head: async (_bucket: string, key: string) => {
      state.heads += 1;
      await new Promise((r) => setTimeout(r, 5));
      if (state.failing) throw new Error("Only 1 of 2 replicas answered");
      return key === "buckets/videos" ? record : null;
    },
  } as unknown as ObjectService;
}

describe("bucket registry", () => {
  it("serves a known bucket while its record is unreadable, for a bounded time, and says so", async () => {
    let now = 0;
    const state = { failing: false, heads: 0 };
    const stale: string[] = [];
    const registry = new BucketRegistry(fakeObjects(state), () => now, (name) => stale.push(name));
    expect((await registry.find("videos"))?.createdMs).toBe(1000);
    state.failing = true;
    now += 5_000;
    expect((await registry.find("videos"))?.name).toBe("videos");
    expect(stale).toEqual(["videos"]);
    // Within the next 2 s it does not ask again.
    const heads = state.heads;
    now += 1_000;
    await registry.find("videos");
    expect(state.heads).toBe(heads);
    now += 11 * 60_000;
    await expect(registry.find("videos")).rejects.toThrow("replicas answered");
    await expect(registry.find("photos")).rejects.toThrow("replicas answered");
  });

  it("requests that arrive during a record read share it", async () => {
    const state = { failing: false, heads: 0 };
    const registry = new BucketRegistry(fakeObjects(state), () => 0);
    const answers = await Promise.all(Array.from({ length: 20 }, () => registry.find("videos")));
    expect(answers.every((a) => a?.name === "videos")).toBe(true);
    expect(state.heads).toBe(1);
  });
});
