// Crashes in the middle of a PUT, the 503 below write quorum, and the router's memory while 1 GiB streams.
import type { ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { digestOf, generatedBodyWithDigest } from "./support/data.ts";
import { type TestCluster, eventually, residentBytes, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;
const restarted: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 20800, nodes: 3, routers: 1 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await Promise.all(restarted.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

function restart(id: string): void {
  const record = cluster.process(id);
  restarted.push(startChild(record.command, record.log).child);
}

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe("crashes and limits", () => {
  it("a node killed in the middle of a PUT shows no partial object after it restarts", async () => {
    const map = cluster.map();
    const ring = buildRing(map);
    const victim = "node-1";
    const key = "interrupted.mp4";
    expect(primariesOf(ring, partitionOf(ring, "media", key))).toContain(nodeId(victim));
    const size = 200 * 1024 * 1024;
    const { body } = generatedBodyWithDigest(size);
    const upload = s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: body(), ContentLength: size }));
    // Kill the node once its temp file shows bytes arriving.
    const nodeDir = join(cluster.dataDir, victim);
    await eventually(async () => filesUnder(join(nodeDir, "tmp")).length > 0, { timeoutMs: 30_000, what: "the upload reaching the node", intervalMs: 10 });
    process.kill(cluster.process(victim).pid!, "SIGKILL");
    const outcome = await upload.then(
      () => "acknowledged",
      (error: unknown) => (error instanceof S3ServiceException ? error.name : String(error)),
    );
    restart(victim);
    const transport = cluster.internalTransport();
    try {
      // Once the node answers again, its temp folder is clean and it serves no partial version: either
      // nothing (it lost the write, which repair will fix if the write was acknowledged) or the whole object.
      const answer = await eventually(
        async () => {
          const head = await transport.send(nodeId(victim), { kind: "head", partition: partitionOf(ring, "media", key), bucket: "media", key });
          return head.ok ? head : head.error.kind === "not-caught-up" ? head : null;
        },
        { timeoutMs: 60_000, what: `${victim} answering again` },
      );
      expect(filesUnder(join(nodeDir, "tmp"))).toEqual([]);
      if (answer.ok && answer.value.version) expect(answer.value.version.size).toBe(size);
    } finally {
      await transport.close();
    }
    if (outcome === "acknowledged") {
      const head = await s3.send(new HeadObjectCommand({ Bucket: "media", Key: key }));
      expect(head.ContentLength).toBe(size);
    }
  });

  it("with fewer than W nodes up, a PUT gets 503 and nothing becomes visible", async () => {
    // Wait for the cluster to be whole again after the previous test.
    await eventually(async () => (await fetch(`${cluster.endpoint}/-/health`)).status === 200, { timeoutMs: 60_000, what: "health" });
    const down = ["node-2", "node-3"];
    for (const id of down) process.kill(cluster.process(id).pid!, "SIGKILL");
    // The router notices within its failure detector's window; until then writes fail on the dead nodes.
    let status: number | undefined;
    await eventually(
      async () => {
        try {
          await s3.send(new PutObjectCommand({ Bucket: "media", Key: "no-quorum", Body: "x" }));
          return false;
        } catch (error) {
          status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
          return status === 503;
        }
      },
      { timeoutMs: 20_000, what: "a 503 once two of three nodes are down" },
    );
    expect(status).toBe(503);
    for (const id of down) restart(id);
    await eventually(async () => (await fetch(`${cluster.endpoint}/-/health`)).status === 200, { timeoutMs: 60_000, what: "health after restart" });
    await eventually(
      async () => {
        try {
          await s3.send(new HeadObjectCommand({ Bucket: "media", Key: "no-quorum" }));
          throw new Error("the failed write became visible");
        } catch (error) {
          if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return true;
          throw error;
        }
      },
      { timeoutMs: 30_000, what: "a clean 404 for the write that failed" },
    );
  });

  it("while 1 GiB is uploaded and downloaded, the router's resident memory grows by less than 100 MiB", async () => {
    await eventually(async () => (await fetch(`${cluster.endpoint}/-/health`)).status === 200, { timeoutMs: 60_000, what: "health" });
    const routerPid = cluster.process("router-1").pid!;
    const before = residentBytes(routerPid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentBytes(routerPid));
    }, 50);
    try {
      const size = 1024 * 1024 * 1024;
      const { body, md5 } = generatedBodyWithDigest(size);
      const t0 = Date.now();
      const put = await s3.send(new PutObjectCommand({ Bucket: "media", Key: "one-gib.mp4", Body: body(), ContentLength: size }));
      const putMs = Date.now() - t0;
      expect(put.ETag).toBe(`"${await md5}"`);
      const t1 = Date.now();
      const got = await s3.send(new GetObjectCommand({ Bucket: "media", Key: "one-gib.mp4" }));
      expect(await digestOf(got.Body as AsyncIterable<Uint8Array>)).toBe(await md5);
      const getMs = Date.now() - t1;
      console.log(`1 GiB: PUT ${(1024 / (putMs / 1000)).toFixed(1)} MiB/s, GET ${(1024 / (getMs / 1000)).toFixed(1)} MiB/s; router RSS ${(before / 2 ** 20).toFixed(1)} MiB before, peak ${(peak / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
  });
});
