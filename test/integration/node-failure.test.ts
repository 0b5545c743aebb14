// A storage node killed with SIGKILL: PUT and GET still succeed; after it restarts, the writes it missed
// come back to it (hinted handoff delivered), and nothing acknowledged is lost.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { primariesOf, partitionOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 20400 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

function killNode(id: string): void {
  process.kill(cluster.process(id).pid!, "SIGKILL");
}

/** Restarts a node with the command cluster.json gives for it. */
function restartNode(id: string): void {
  const record = cluster.process(id);
  restarted.push(startChild(record.command, record.log).child);
}
const restarted: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(restarted.map((child) => stopChild(child)));
});

describe("a storage node dies", () => {
  it("PUT and GET succeed while it is down, and it gets the writes it missed after it restarts", async () => {
    const map = cluster.map();
    const ring = buildRing(map);
    const victim = "node-2";
    killNode(victim);

    // Keys whose primaries include the victim: their third copy must go to a handoff, then come back.
    const keys: string[] = [];
    for (let i = 0; keys.length < 20 && i < 10_000; i++) {
      const key = `clip-${i}.mp4`;
      if (primariesOf(ring, partitionOf(ring, "media", key)).includes(nodeId(victim))) keys.push(key);
    }
    const bodies = new Map(keys.map((k) => [k, Buffer.from(`body of ${k} `.repeat(1000))]));
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: bodies.get(key) }));
    for (const key of keys) {
      const got = await s3.send(new GetObjectCommand({ Bucket: "media", Key: key }));
      const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      expect(createHash("md5").update(bytes).digest("hex")).toBe(createHash("md5").update(bodies.get(key)!).digest("hex"));
    }

    restartNode(victim);
    const transport = cluster.internalTransport();
    try {
      await eventually(
        async () => {
          for (const key of keys) {
            const answer = await transport.send(nodeId(victim), { kind: "head", partition: partitionOf(ring, "media", key), bucket: "media", key });
            if (!answer.ok || answer.value.version === null) return false;
          }
          return true;
        },
        { timeoutMs: 90_000, what: `${victim} holds every key written while it was down` },
      );
    } finally {
      await transport.close();
    }
  });
});
