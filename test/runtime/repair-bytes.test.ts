// The bytes repair moves, counted where they move: pulled copies as the store commits them, pushed copies as a
// primary acknowledges the put; failures count nothing, and every other call is the store's own.
import type { Readable } from "node:stream";
import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { ReplicaRequest, Transport } from "../../core/ports.ts";
import { err, ok } from "../../core/result.ts";
import { FsBlobStore } from "../../runtime/node/fs-blob-store.ts";
import { countingPulls, countingPushes } from "../../runtime/node/repair-bytes.ts";
import { bytesOf, checksumOf, headerOf, partition7, recordingLog, streamOf, versionOf, withTempDir } from "./support/storage.ts";

function counter(): Counter<"direction"> {
  return new Counter({ name: "repair_bytes", help: "test", labelNames: ["direction"], registers: [new Registry()] });
}
const valueOf = async (c: Counter<"direction">, direction: string): Promise<number> => (await c.get()).values.find((v) => v.labels.direction === direction)?.value ?? 0;

describe("repair byte counts", () => {
  it("a pulled copy counts its size once committed; a refused one counts nothing", async () => {
    await withTempDir(async (dir) => {
      const inner = await FsBlobStore.open({ dataDir: dir, log: recordingLog() });
      try {
        const bytes = counter();
        const store = countingPulls(inner, bytes);
        const body = bytesOf(12_345);
        const header = headerOf("media", "pulled.mp4", body.length);
        const refused = await store.writeCommitted(partition7, versionOf(header, checksumOf(bytesOf(10))), streamOf(body), undefined);
        expect(refused.ok).toBe(false);
        expect(await valueOf(bytes, "pulled")).toBe(0);
        expect((await store.writeCommitted(partition7, versionOf(header, checksumOf(body)), streamOf(body), undefined)).ok).toBe(true);
        expect(await valueOf(bytes, "pulled")).toBe(12_345);
        // Every other method is the store's own.
        const head = await store.headCommitted("media", "pulled.mp4");
        expect(head.ok && head.value?.size).toBe(12_345);
      } finally {
        await inner.close();
      }
    });
  });

  it("a pushed copy counts its size once the primary acknowledges the put; other requests count nothing", async () => {
    const seen: string[] = [];
    const inner: Transport<Readable> = {
      send: async (to, request) => {
        seen.push(`${to}:${request.kind}`);
        return (to === "down" ? err({ kind: "unreachable", detail: "refused" }) : ok({})) as never;
      },
    };
    const bytes = counter();
    const transport = countingPushes(inner, bytes);
    const put = (size: number): ReplicaRequest<Readable> => ({ kind: "put", partition: partition7, header: headerOf("media", "pushed.mp4", size), body: streamOf(bytesOf(size)) });
    await transport.send("node-2" as never, put(1000) as never);
    await transport.send("down" as never, put(5000) as never);
    await transport.send("node-2" as never, { kind: "head", partition: partition7, bucket: "media", key: "pushed.mp4" } as never);
    expect(seen).toEqual(["node-2:put", "down:put", "node-2:head"]);
    expect(await valueOf(bytes, "pushed")).toBe(1000);
  });
});
