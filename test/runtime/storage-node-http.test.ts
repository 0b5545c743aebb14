// The core storage-node handler (core/storage-node.ts) behind the real HTTP server, over a real FsBlobStore.
import { describe, expect, it } from "vitest";
import { CatchUpState } from "../../core/catch-up.ts";
import { createClusterMap } from "../../core/cluster-map.ts";
import { type PartitionId, nodeId, zoneId } from "../../core/ids.ts";
import { Membership } from "../../core/membership.ts";
import { partitionOf } from "../../core/placement.ts";
import { type StorageNodeContext, handleReplicaRequest } from "../../core/storage-node.ts";
import type { Readable } from "node:stream";
import { FsBlobStore } from "../../runtime/node/fs-blob-store.ts";
import { startReplicaServer } from "../../runtime/transport/http-server.ts";
import { createHttpTransport } from "../../runtime/transport/http-transport.ts";
import { bytesOf, checksumOf, collect, headerOf, recordingLog, streamOf, versionOf, withTempDir } from "./support/storage.ts";

const SECRET = "storage-node-test-secret-0123";
const SELF = nodeId("node-a");

describe("core storage-node handler over HTTP and the file-system store", () => {
  it("serves put → commit → head → get → list → digest, heartbeats and the map, and refuses a put to the wrong partition", async () => {
    await withTempDir(async (dir) => {
      const log = recordingLog();
      const store = await FsBlobStore.open({ dataDir: dir, log });
      const map = createClusterMap({ partitionBits: 4, replicas: 1, nodes: [{ id: SELF, address: "127.0.0.1:0", zone: zoneId("z1") }] });
      const membership = new Membership(map, log);
      const context: StorageNodeContext<Readable> = { self: SELF, store, catchUp: new CatchUpState(SELF, membership.view, "new-cluster"), membership, log };
      const server = await startReplicaServer({
        host: "127.0.0.1",
        port: 0,
        secret: SECRET,
        log,
        handle: (request) => handleReplicaRequest(context, request),
        configure: (router) => {
          router.get("/-/health", (ctx) => {
            ctx.body = { status: "ok" };
          });
        },
      });
      const transport = createHttpTransport({ resolveAddress: () => `127.0.0.1:${server.port}`, secret: SECRET, timeoutMs: 5_000, log });
      try {
        const bytes = bytesOf(3 * 1024 * 1024 + 11);
        const header = headerOf("videos", "movie.mp4", bytes.length);
        const partition = partitionOf(membership.view.current, "videos", "movie.mp4");

        const wrong = await transport.send(SELF, { kind: "put", partition: ((partition + 1) % 16) as PartitionId, header, body: streamOf(bytes) });
        expect(wrong.ok ? "stored" : wrong.error.kind).toBe("remote");

        const put = await transport.send(SELF, { kind: "put", partition, header, body: streamOf(bytes) });
        expect(put).toEqual({ ok: true, value: { checksum: checksumOf(bytes), size: bytes.length } });
        const version = versionOf(header, checksumOf(bytes));
        expect(await transport.send(SELF, { kind: "commit", partition, version })).toEqual({ ok: true, value: { committed: true } });
        expect(await transport.send(SELF, { kind: "commit", partition, version })).toEqual({ ok: true, value: { committed: true } });

        const head = await transport.send(SELF, { kind: "head", partition, bucket: "videos", key: "movie.mp4" });
        expect(head).toEqual({ ok: true, value: { version } });
        const get = await transport.send(SELF, { kind: "get", partition, bucket: "videos", key: "movie.mp4", stamp: header.stamp, range: { start: 5, endInclusive: 2_000_000 } });
        if (!get.ok) throw new Error(get.error.detail);
        expect((await collect(get.value.body)).equals(bytes.subarray(5, 2_000_001))).toBe(true);

        const listed = await transport.send(SELF, { kind: "list-bucket", bucket: "videos", prefix: "", after: "", limit: 10 });
        expect(listed).toEqual({ ok: true, value: { versions: [version], done: true } });
        const entries = await transport.send(SELF, { kind: "list-partition", partition, limit: 10 });
        expect(entries.ok && entries.value.entries.map((e) => e.key)).toEqual(["movie.mp4"]);
        const digest = await transport.send(SELF, { kind: "digest", partition });
        expect(digest.ok && digest.value.count).toBe(1);

        const beat = await transport.send(SELF, { kind: "heartbeat", from: nodeId("node-b"), epoch: map.epoch, mapHash: membership.hash, syncedEpoch: map.epoch });
        expect(beat.ok && beat.value.epoch).toBe(map.epoch);
        const fetched = await transport.send(SELF, { kind: "get-map" });
        expect(fetched).toEqual({ ok: true, value: { map } });

        // Routes the host adds are served by the same server, without a signature.
        const health = await fetch(`http://127.0.0.1:${server.port}/-/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ status: "ok" });
      } finally {
        await transport.close(1_000);
        await server.close(1_000);
        await store.close();
      }
    });
  });
});
