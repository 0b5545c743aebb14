// Two rotten copies of one object, one good one: the good copy must win. A node replaces its rotten copy only
// once a good body is in hand (core/repair.ts repairCorruptCopy, BlobStore.replaceCommitted), so no node is
// ever without a copy, whole GETs keep returning the right bytes, and repair ends with three good copies.
// The flips sit in the last block, so a rotten copy starts streaming and fails midway: the case where a
// replacement fetched from the other rotten copy broke after the local copy had been dropped.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeId } from "../../core/ids.ts";
import type { VersionStamp } from "../../core/object-version.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { blobsOfSize } from "./support/blobs.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  // Child processes inherit these: scrub again soon after each pass, repair soon after a copy is queued.
  process.env.RINGSTORE_SCRUB_PASS_PAUSE_MS = "300";
  process.env.RINGSTORE_REPAIR_INTERVAL_MS = "300";
  cluster = await startTestCluster({ basePort: 24650, nodes: 3, routers: 1 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

const md5 = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex");

/** Reads a stream to its end; null when it fails (a node destroys a body whose block fails its check). */
async function bytesOrNull(body: Readable): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch {
    return null;
  }
}

describe("two of three copies rot", () => {
  it("whole GETs return the right bytes, no node is ever without its copy, and repair ends with three good copies", async () => {
    const key = "twice-rotten.mp4";
    // Three 1 MiB blocks and a bit: a flip in the last block fails a read only after two blocks streamed.
    const body = randomBytes(3 * 1024 * 1024 + 4321);
    const flipAt = body.length - 1000;
    await s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: body }));
    const ring = buildRing(cluster.map());
    const partition = partitionOf(ring, "media", key);
    const primaries = primariesOf(ring, partition);
    expect(primaries).toHaveLength(3);
    // The first two in ring order: each asks the other first for its replacement.
    const rotten = primaries.slice(0, 2);
    const paths = await eventually(async () => {
      const found = primaries.map((node) => blobsOfSize(cluster.dataDir, node, body.length));
      return found.every((files) => files.length === 1) ? found.map((files) => files[0]!) : undefined;
    }, { timeoutMs: 10_000, what: `one blob of ${body.length} B on each primary` });

    const transport = cluster.internalTransport();
    // Every few ms, every node is asked whether it still holds the version: a node that dropped its copy
    // before the replacement arrived shows up here even if anti-entropy fills the hole a moment later.
    const missing: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const node of primaries) {
          const head = await transport.send(node, { kind: "head", partition, bucket: "media", key });
          if (head.ok && head.value.version === null) missing.push(`${node} at ${new Date().toISOString()}`);
        }
        await new Promise((done) => setTimeout(done, 5));
      }
    })();
    try {
      for (const node of rotten) {
        const path = paths[primaries.indexOf(node)]!;
        const bytes = Buffer.from(readFileSync(path));
        bytes[flipAt] = bytes[flipAt]! ^ 0x40;
        writeFileSync(path, bytes);
      }

      const answers: string[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          const got = await s3.send(new GetObjectCommand({ Bucket: "media", Key: key }));
          const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
          answers.push(md5(bytes) === md5(body) ? "right" : `wrong bytes (${bytes.length} B)`);
        } catch (error) {
          answers.push(`failed: ${(error as Error).name}`);
        }
      }
      expect(answers).toEqual(Array.from({ length: 20 }, () => "right"));

      const stampOf = async (node: NodeId): Promise<VersionStamp | undefined> => {
        const head = await transport.send(node, { kind: "head", partition, bucket: "media", key });
        return head.ok ? head.value.version?.stamp : undefined;
      };
      await eventually(async () => {
        for (const node of primaries) {
          const stamp = await stampOf(node);
          if (stamp === undefined) return false;
          const got = await transport.send(node, { kind: "get", partition, bucket: "media", key, stamp });
          if (!got.ok) return false;
          const bytes = await bytesOrNull(got.value.body);
          if (bytes === null || md5(bytes) !== md5(body)) return false;
        }
        return true;
      }, { timeoutMs: 60_000, what: "three good copies, each read whole through the internal API" });
    } finally {
      watching = false;
      await watcher;
      await transport.close();
    }
    expect(missing).toEqual([]);
    for (const node of rotten) {
      const lines = readFileSync(join(cluster.dataDir, "logs", `${node}.log`), "utf8").split("\n").filter((l) => l.includes('"repair.corrupt-copy-replaced"'));
      expect(lines.length, `${node} replaced its rotten copy in place`).toBeGreaterThan(0);
      const replaced = JSON.parse(lines[0]!) as { peer: string; tried: { peer: string; failure: string }[] };
      console.log(`corrupt-copies test: ${node} replaced its copy from ${replaced.peer} after trying ${JSON.stringify(replaced.tried)}`);
    }
  });
});
