import { request as httpRequest } from "node:http";
import { readdir } from "node:fs/promises";
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { Log } from "../../core/ports.ts";
import { FsBlobStore } from "../../runtime/node/fs-blob-store.ts";
import { REQUEST_META_HEADER, UNSIGNED_PAYLOAD, sha256Hex, signingHeaders } from "../../runtime/transport/hmac.ts";
import { type ReplicaHandler, startReplicaServer } from "../../runtime/transport/http-server.ts";
import { createHttpTransport } from "../../runtime/transport/http-transport.ts";
import { encodeMeta } from "../../runtime/transport/wire.ts";
import { bytesOf, checksumOf, collect, eventually, failingStreamOf, headerOf, partition7, recordingLog, streamOf, versionOf, withTempDir } from "./support/storage.ts";
import { storeHandler } from "./support/store-handler.ts";

const MiB = 1024 * 1024;
const SECRET = "test-cluster-secret-0123456789";
const NODE = nodeId("node-a");
/** A port of our range where nothing listens. */
const DEAD_PORT = 19499;

interface Node {
  readonly store: FsBlobStore;
  readonly handler: ReturnType<typeof storeHandler>;
  readonly port: number;
  readonly log: ReturnType<typeof recordingLog>;
}

/** Starts a node (store + server on a free port) and a transport to it; tears both down after `run`. */
async function withNode(run: (node: Node, transport: ReturnType<typeof createHttpTransport>) => Promise<void>, transportSecret = SECRET): Promise<void> {
  await withTempDir(async (dir) => {
    const log = recordingLog();
    const store = await FsBlobStore.open({ dataDir: dir, log });
    const handler = storeHandler(store);
    const server = await startReplicaServer({ host: "127.0.0.1", port: 0, secret: SECRET, handle: handler.handle, log });
    const transport = createHttpTransport({ resolveAddress: (id) => (id === NODE ? `127.0.0.1:${server.port}` : undefined), secret: transportSecret, timeoutMs: 5_000, log });
    try {
      await run({ store, handler, port: server.port, log }, transport);
    } finally {
      await transport.close(1_000);
      await server.close(1_000);
      await store.close();
    }
  });
}

async function putAndCommit(transport: ReturnType<typeof createHttpTransport>, key: string, bytes: Buffer): Promise<ObjectVersion> {
  const header = headerOf("videos", key, bytes.length);
  const put = await transport.send(NODE, { kind: "put", partition: partition7, header, body: streamOf(bytes) });
  if (!put.ok) throw new Error(`put: ${put.error.kind} ${put.error.detail}`);
  expect(put.value).toEqual({ checksum: checksumOf(bytes), size: bytes.length });
  const version = versionOf(header, put.value.checksum);
  const commit = await transport.send(NODE, { kind: "commit", partition: partition7, version });
  if (!commit.ok) throw new Error(`commit: ${commit.error.kind} ${commit.error.detail}`);
  return version;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, offset);
    one[0] = one[0]! ^ 0x01;
    await handle.write(one, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** Consumes a body, returning the bytes that arrived and the error it ended with (null if it ended cleanly). */
async function drain(body: Readable): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of body) bytes += (chunk as Buffer).length;
    return { bytes, error: null };
  } catch (error) {
    return { bytes, error };
  }
}

describe("HTTP transport and replica server over a FsBlobStore", () => {
  it("round-trips put → commit → head → get (whole and ranged) for 0 B, 1 B and a few MiB, and lists and drops", async () => {
    await withNode(async (_node, transport) => {
      for (const size of [0, 1, 5 * MiB + 3]) {
        const bytes = bytesOf(size);
        const version = await putAndCommit(transport, `clip-${size}`, bytes);
        const head = await transport.send(NODE, { kind: "head", partition: partition7, bucket: "videos", key: `clip-${size}` });
        expect(head.ok && head.value.version).toMatchObject(version);
        const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: `clip-${size}`, stamp: version.stamp });
        if (!get.ok) throw new Error(get.error.detail);
        expect(get.value.version).toMatchObject(version);
        expect((await collect(get.value.body)).equals(bytes)).toBe(true);
        if (size > 2 * MiB) {
          const range = { start: MiB - 10, endInclusive: 4 * MiB + 10 };
          const ranged = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: `clip-${size}`, stamp: version.stamp, range });
          if (!ranged.ok) throw new Error(ranged.error.detail);
          expect((await collect(ranged.value.body)).equals(bytes.subarray(range.start, range.endInclusive + 1))).toBe(true);
        }
      }
      const listed = await transport.send(NODE, { kind: "list-bucket", bucket: "videos", prefix: "clip-", after: "clip-0", limit: 10 });
      expect(listed.ok && listed.value.versions.map((v) => v.key)).toEqual(["clip-1", "clip-5242883"]);
      const part = await transport.send(NODE, { kind: "list-partition", partition: partition7, limit: 2 });
      expect(part.ok && part.value.entries.length).toBe(2);
      expect(part.ok && part.value.done).toBe(false);

      const head = await transport.send(NODE, { kind: "head", partition: partition7, bucket: "videos", key: "clip-1" });
      const stamp = head.ok && head.value.version ? head.value.version.stamp : undefined;
      if (!stamp) throw new Error("clip-1 must be there");
      expect(await transport.send(NODE, { kind: "drop", partition: partition7, bucket: "videos", key: "clip-1", stamp })).toEqual({ ok: true, value: { dropped: true } });
      const after = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "clip-1", stamp });
      expect(after.ok ? "served" : after.error.kind).toBe("not-found");
    });
  });

  it("a get body that errors or is discarded unread never takes the process down (the transport listens)", async () => {
    await withNode(async (_node, transport) => {
      const version = await putAndCommit(transport, "discarded", bytesOf(2 * MiB));
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on("uncaughtException", onUncaught);
      try {
        for (const discard of [(b: Readable) => b.destroy(), (b: Readable) => b.destroy(new Error("the reader gave up"))]) {
          const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "discarded", stamp: version.stamp });
          if (!get.ok) throw new Error(`get failed: ${get.error.kind}`);
          // The contract: an 'error' listener is on the body before anyone else sees it. (The crash it prevents,
          // seen once in CI, came from timing this test cannot force; the discard below is its path.)
          expect(get.value.body.listenerCount("error")).toBeGreaterThan(0);
          discard(get.value.body); // what FsBlobStore.writeBlob does with a body it will not store
          await new Promise((done) => setTimeout(done, 50));
        }
      } finally {
        process.off("uncaughtException", onUncaught);
      }
      expect(uncaught).toEqual([]);
    });
  });

  it("never serves a pending version and refuses a commit whose checksum differs", async () => {
    await withNode(async (_node, transport) => {
      const bytes = bytesOf(MiB);
      const header = headerOf("videos", "pending", bytes.length);
      const put = await transport.send(NODE, { kind: "put", partition: partition7, header, body: streamOf(bytes) });
      expect(put.ok).toBe(true);
      const head = await transport.send(NODE, { kind: "head", partition: partition7, bucket: "videos", key: "pending" });
      expect(head).toEqual({ ok: true, value: { version: null } });
      const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "pending", stamp: header.stamp });
      expect(get.ok ? "served" : get.error.kind).toBe("not-found");
      const commit = await transport.send(NODE, { kind: "commit", partition: partition7, version: versionOf(header, checksumOf(bytesOf(5))) });
      expect(commit.ok ? "committed" : commit.error.kind).toBe("checksum-mismatch");
    });
  });

  it("answers corrupt before the response starts when the first block fails its checksum", async () => {
    await withNode(async (node, transport) => {
      const version = await putAndCommit(transport, "flip-first", bytesOf(3 * MiB));
      await flipByte(node.store.blobFilePath("videos", "flip-first", version.stamp), 100);
      const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "flip-first", stamp: version.stamp });
      expect(get.ok ? "served" : get.error.kind).toBe("corrupt");
    });
  });

  it("errors the body stream, without a byte of the bad block, when a later block fails its checksum", async () => {
    await withNode(async (node, transport) => {
      const bytes = bytesOf(4 * MiB);
      const version = await putAndCommit(transport, "flip-third", bytes);
      await flipByte(node.store.blobFilePath("videos", "flip-third", version.stamp), 2 * MiB + 1);
      const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "flip-third", stamp: version.stamp });
      if (!get.ok) throw new Error(`the first block is good, the reply must start: ${get.error.detail}`);
      const { bytes: received, error } = await drain(get.value.body);
      expect(error).not.toBeNull();
      expect(received).toBeLessThanOrEqual(2 * MiB);
    });
  });

  it("refuses with 403 forbidden a request without a signature, with a wrong secret, or with a stale timestamp, before the handler runs", async () => {
    await withNode(async (node) => {
      const headAt = (secret: string, nowMs: () => number) =>
        createHttpTransport({ resolveAddress: () => `127.0.0.1:${node.port}`, secret, timeoutMs: 5_000, log: node.log, nowMs });
      const wrong = headAt("another-secret-of-enough-bytes", Date.now);
      const stale = headAt(SECRET, () => Date.now() - 6 * 60 * 1000);
      const good = headAt(SECRET, Date.now);
      try {
        const head = { kind: "head", partition: partition7, bucket: "videos", key: "x" } as const;
        expect(await wrong.send(NODE, head)).toMatchObject({ ok: false, error: { kind: "forbidden" } });
        expect(await stale.send(NODE, head)).toMatchObject({ ok: false, error: { kind: "forbidden" } });
        const bytes = bytesOf(2 * MiB);
        const put = await wrong.send(NODE, { kind: "put", partition: partition7, header: headerOf("videos", "x", bytes.length), body: streamOf(bytes) });
        expect(put.ok ? "stored" : put.error.kind).toBe("forbidden");
        expect(node.handler.calls).toEqual([]);

        // A raw request with no signature at all.
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port: node.port, method: "POST", path: "/v1/head", headers: { "content-type": "application/json" } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end(JSON.stringify({ partition: 7, bucket: "videos", key: "x" }));
        });
        expect(status).toBe(403);
        expect(node.handler.calls).toEqual([]);

        // The same request signed with the cluster secret is served.
        expect(await good.send(NODE, head)).toEqual({ ok: true, value: { version: null } });
        expect(node.handler.calls).toEqual(["head"]);
      } finally {
        await Promise.all([wrong.close(), stale.close(), good.close()]);
      }
    });
  });

  it("leaves no temp file and no row when the connection is killed mid-put", async () => {
    await withNode(async (node) => {
      const header = headerOf("videos", "killed", 8 * MiB);
      const meta = encodeMeta({ partition: partition7, header });
      const signed = signingHeaders(SECRET, { method: "PUT", pathAndQuery: "/v1/objects", timestampMs: Date.now(), contentSha256: UNSIGNED_PAYLOAD, requestMeta: meta });
      const req = httpRequest({
        host: "127.0.0.1",
        port: node.port,
        method: "PUT",
        path: "/v1/objects",
        headers: { ...signed, [REQUEST_META_HEADER]: meta, "content-length": String(header.size) },
      });
      req.on("error", () => {}); // we kill it on purpose
      req.write(bytesOf(MiB));
      await eventually("the node writes a temp file", async () => (await readdir(node.store.tmpDir)).length === 1);
      req.destroy();
      await eventually("the node's put finishes", () => node.handler.putsFinished.length === 1);
      expect(node.handler.putsFinished[0]!.ok).toBe(false);
      expect(await readdir(node.store.tmpDir)).toEqual([]);
      expect(await node.store.headCommitted("videos", "killed")).toEqual({ ok: true, value: null });
      const commit = await node.store.commit(partition7, versionOf(header, "0000000000000000"), undefined);
      expect(commit.ok ? "committed" : commit.error.kind).toBe("not-found");
    });
  });

  it("fails a put whose body breaks on the sending side, and the node keeps nothing of it", async () => {
    await withNode(async (node, transport) => {
      const bytes = bytesOf(4 * MiB);
      const header = headerOf("videos", "sender-broke", bytes.length);
      const put = await transport.send(NODE, { kind: "put", partition: partition7, header, body: failingStreamOf(bytes, MiB + 3) });
      expect(put.ok ? "stored" : put.error.kind).toBe("remote");
      await eventually("the node's put finishes", () => node.handler.putsFinished.length === 1);
      expect(node.handler.putsFinished[0]!.ok).toBe(false);
      expect(await readdir(node.store.tmpDir)).toEqual([]);
      expect(await node.store.headCommitted("videos", "sender-broke")).toEqual({ ok: true, value: null });

      const destroyed = streamOf(bytes);
      destroyed.destroy();
      const early = await transport.send(NODE, { kind: "put", partition: partition7, header, body: destroyed });
      expect(early.ok ? "stored" : early.error.kind).toBe("remote");
    });
  });

  it("answers a retried put of a version already committed here from the committed copy, and stores tombstones", async () => {
    await withNode(async (node, transport) => {
      const bytes = bytesOf(4 * MiB);
      const version = await putAndCommit(transport, "retried", bytes);
      const header = { bucket: version.bucket, key: version.key, stamp: version.stamp, size: version.size, contentType: version.contentType, userMeta: version.userMeta, deleted: false };
      const retry = await transport.send(NODE, { kind: "put", partition: partition7, header, body: streamOf(bytes) });
      expect(retry).toEqual({ ok: true, value: { checksum: checksumOf(bytes), size: bytes.length } });
      // The connection the retry left unread is not reused in a broken state: the next request works.
      const head = await transport.send(NODE, { kind: "head", partition: partition7, bucket: "videos", key: "retried" });
      expect(head.ok && head.value.version?.stamp).toBe(version.stamp);

      const tombstoneHeader = headerOf("videos", "retried", 0, { deleted: true });
      const put = await transport.send(NODE, { kind: "put", partition: partition7, header: tombstoneHeader, body: streamOf(Buffer.alloc(0)) });
      if (!put.ok) throw new Error(put.error.detail);
      const tombstone = { ...versionOf(tombstoneHeader, put.value.checksum), etag: "" };
      expect((await transport.send(NODE, { kind: "commit", partition: partition7, version: tombstone })).ok).toBe(true);
      const after = await transport.send(NODE, { kind: "head", partition: partition7, bucket: "videos", key: "retried" });
      expect(after.ok && after.value.version).toMatchObject(tombstone);
      expect(node.handler.calls.filter((k) => k === "put")).toHaveLength(3);
    });
  });

  it("refuses a JSON request body over 1 MiB with 413, and a malformed request with 400", async () => {
    await withNode(async (node) => {
      const send = (path: string, json: string) => {
        const signed = signingHeaders(SECRET, { method: "POST", pathAndQuery: path, timestampMs: Date.now(), contentSha256: sha256Hex(json), requestMeta: "" });
        return new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port: node.port, method: "POST", path, headers: { ...signed, "content-type": "application/json" } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          });
          req.on("error", reject);
          req.end(json);
        });
      };
      const huge = JSON.stringify({ partition: 7, bucket: "videos", key: "x".repeat(1024 * 1024 + 1) });
      expect((await send("/v1/head", huge)).status).toBe(413);
      const malformed = await send("/v1/head", JSON.stringify({ partition: -1, bucket: "videos", key: "x" }));
      expect(malformed.status).toBe(400);
      expect(JSON.parse(malformed.body)).toMatchObject({ kind: "remote" });
      expect(node.handler.calls).toEqual([]);
    });
  });

  it("never times out a body that keeps flowing, slower than timeoutMs overall, either way", async () => {
    await withNode(async (node) => {
      const transport = createHttpTransport({ resolveAddress: () => `127.0.0.1:${node.port}`, secret: SECRET, timeoutMs: 300, log: node.log });
      try {
        const chunk = bytesOf(256 * 1024);
        const chunks = 24; // 6 MiB, one chunk every 40 ms: about 1 s, three times timeoutMs
        let sent = 0;
        const slowBody = new Readable({
          read() {
            if (sent === chunks) return void this.push(null);
            sent += 1;
            setTimeout(() => this.push(chunk), 40);
          },
        });
        const header = headerOf("videos", "slow", chunk.length * chunks);
        const started = Date.now();
        const put = await transport.send(NODE, { kind: "put", partition: partition7, header, body: slowBody });
        expect(put.ok ? "stored" : `${put.error.kind}: ${put.error.detail}`).toBe("stored");
        expect(Date.now() - started).toBeGreaterThan(600);
        if (!put.ok) return;
        expect((await transport.send(NODE, { kind: "commit", partition: partition7, version: versionOf(header, put.value.checksum) })).ok).toBe(true);

        const get = await transport.send(NODE, { kind: "get", partition: partition7, bucket: "videos", key: "slow", stamp: header.stamp });
        if (!get.ok) throw new Error(get.error.detail);
        const readStarted = Date.now();
        let received = 0;
        for await (const piece of get.value.body) {
          received += (piece as Buffer).length;
          // A slow reader, 80 ms per MiB (about 0.5 s in all): backpressure reaches the node.
          await new Promise((resolve) => setTimeout(resolve, ((piece as Buffer).length / MiB) * 80));
        }
        expect(received).toBe(header.size);
        expect(Date.now() - readStarted).toBeGreaterThan(300);
      } finally {
        await transport.close(1_000);
      }
    });
  });

  it("reports unreachable for a node that is down or unknown, and timeout for one that never answers", async () => {
    const log: Log = recordingLog();
    const transport = createHttpTransport({
      resolveAddress: (id) => (id === NODE ? `127.0.0.1:${DEAD_PORT}` : undefined),
      secret: SECRET,
      timeoutMs: 300,
      log,
    });
    const hang: ReplicaHandler = () => new Promise(() => {});
    const server = await startReplicaServer({ host: "127.0.0.1", port: 0, secret: SECRET, handle: hang, log });
    const slow = createHttpTransport({ resolveAddress: () => `127.0.0.1:${server.port}`, secret: SECRET, timeoutMs: 300, log });
    try {
      const head = { kind: "head", partition: partition7, bucket: "b", key: "k" } as const;
      expect(await transport.send(NODE, head)).toMatchObject({ ok: false, error: { kind: "unreachable" } });
      expect(await transport.send(nodeId("node-z"), head)).toMatchObject({ ok: false, error: { kind: "unreachable" } });
      const started = Date.now();
      expect(await slow.send(NODE, head)).toMatchObject({ ok: false, error: { kind: "timeout" } });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await Promise.all([transport.close(), slow.close()]);
      await server.close(0);
    }
  });
});
