// Buckets that do not single out a partition (issue 10 item 5), over real processes:
//   - every node of the partition holding a bucket's record killed, a router restarted (so it never saw the
//     bucket) still serves PUT and GET to it: it learns the bucket table from the surviving nodes;
//   - DeleteBucket racing PUTs whose bodies are in flight: either the delete succeeds and no PUT is
//     acknowledged, or it answers BucketNotEmpty and every acknowledged PUT reads back;
//   - a bucket's CORS rules set through one router reach the other by gossip (the time is printed).
// Ports: 28500-28505 and 28550-28555, 28652 (the second router sits at base + 101 + 1).
import type { ChildProcess } from "node:child_process";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BucketEntry } from "../../core/bucket-table.ts";
import { type NodeId, type PartitionId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

async function exited(pid: number): Promise<void> {
  await eventually(
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 15_000, what: `process ${pid} exited` },
  );
}

/** The bucket's entry on every node, as each node's table holds it (null: a node that did not answer). */
async function entriesOnNodes(cluster: TestCluster, bucket: string): Promise<(BucketEntry | undefined | null)[]> {
  const transport = cluster.internalTransport();
  try {
    const answers = await Promise.all(cluster.map().nodes.map((n) => transport.send(n.id, { kind: "buckets", entries: [] })));
    return answers.map((a) => (a.ok ? a.value.entries.find((e) => e.name === bucket) : null));
  } finally {
    await transport.close();
  }
}

const statusOf = (error: unknown): number | undefined => (error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined);

describe("a bucket whose record's partition lost all its nodes", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const restarted: ChildProcess[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 28500, nodes: 5, routers: 1, partitionBits: 4 });
    s3 = cluster.client({ maxAttempts: 1 });
  }, 90_000);

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await Promise.all(restarted.map((child) => stopChild(child)));
    await cluster?.cleanup(suite);
  });

  it("a router restarted after those nodes died still serves PUT and GET to the bucket", async () => {
    const bucket = "media";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The create reaches every node's table (the router pushes it; heartbeats would carry it anyway).
    await eventually(async () => (await entriesOnNodes(cluster, bucket)).every((e) => e?.state === "live"), { timeoutMs: 20_000, what: "every node's table holds the bucket" });

    const ring = buildRing(cluster.map());
    const recordPartition = partitionOf(ring, "-system", `buckets/${bucket}`);
    const doomed = new Set(primariesOf(ring, recordPartition));
    const survivors = cluster.map().nodes.map((n) => n.id).filter((id) => !doomed.has(id));
    // An object key whose own primaries include both survivors: with strict quorums (W = R = 2) it stays
    // writable and readable on them alone, so only the bucket's record stands in the way.
    let key = "";
    for (let i = 0; key === ""; i++) {
      assert(i < 10_000, "no key placed on the survivors");
      const candidate = `clip-${i}.mp4`;
      const primaries = primariesOf(ring, partitionOf(ring, bucket, candidate) as PartitionId);
      if (survivors.every((s) => primaries.includes(s as NodeId))) key = candidate;
    }
    console.log(`record of ${bucket} in partition ${recordPartition} on ${[...doomed].join(", ")}; survivors ${survivors.join(", ")}; key ${key}`);

    for (const id of doomed) process.kill(cluster.process(id).pid!, "SIGKILL");
    const router = cluster.process("router-1");
    process.kill(router.pid!, "SIGTERM");
    await Promise.all([...doomed].map((id) => exited(cluster.process(id).pid!)));
    await exited(router.pid!);
    restarted.push(startChild(router.command, router.log, { ...process.env, RINGSTORE_ACCESS_KEY: cluster.accessKeyId, RINGSTORE_SECRET_KEY: cluster.secretAccessKey }).child);

    // The fresh router needs its first heartbeats (and the dead nodes counted out) before it serves at all.
    const body = Buffer.from("served without the record's partition");
    const firstPutMs = Date.now();
    await eventually(
      async () => {
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          return true;
        } catch (error) {
          if (statusOf(error) === undefined && !(error instanceof Error && /ECONNREFUSED|socket/i.test(error.message))) throw error;
          return false;
        }
      },
      { timeoutMs: 30_000, what: `PUT ${bucket}/${key} through the restarted router`, intervalMs: 250 },
    );
    console.log(`restarted router accepted the PUT ${((Date.now() - firstPutMs) / 1000).toFixed(1)} s after its start`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).toString()).toBe(body.toString());
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  }, 120_000);
});

describe("two routers and DeleteBucket racing PUTs", () => {
  let cluster: TestCluster;
  let s3: S3Client;
  const DELETE_DELAYS_MS = [20, 60, 150, 400, 1000, 3000];
  const ROUNDS = DELETE_DELAYS_MS.length;
  const PUTS_PER_ROUND = 4;
  const BODY_BYTES = 8 * 1024 * 1024;

  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 28550, nodes: 5, routers: 2, partitionBits: 4 });
    s3 = cluster.client({ maxAttempts: 1 });
  }, 90_000);

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.cleanup(suite);
  });

  it("CORS rules set through one router reach the other within 2 s, and so does the bucket's deletion", async () => {
    const other = cluster.client({ maxAttempts: 1, endpoint: `http://127.0.0.1:${cluster.process("router-2").port}` });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "shared" }));
      await other.send(new HeadBucketCommand({ Bucket: "shared" })); // router-2 knows the bucket and has no rules
      await expect(other.send(new GetBucketCorsCommand({ Bucket: "shared" }))).rejects.toMatchObject({ name: "NoSuchCORSConfiguration" });
      const rules = [{ AllowedOrigins: ["http://example.test"], AllowedMethods: ["GET"] }];
      await s3.send(new PutBucketCorsCommand({ Bucket: "shared", CORSConfiguration: { CORSRules: rules } }));
      const setMs = Date.now();
      await eventually(async () => (await other.send(new GetBucketCorsCommand({ Bucket: "shared" })).catch(() => null))?.CORSRules?.length === 1, { timeoutMs: 2000, what: "router-2 serves the new rules", intervalMs: 20 });
      const rulesMs = Date.now() - setMs;
      await s3.send(new DeleteBucketCommand({ Bucket: "shared" }));
      const deletedMs = Date.now();
      await eventually(async () => statusOf(await other.send(new HeadBucketCommand({ Bucket: "shared" })).catch((e: unknown) => e)) === 404, { timeoutMs: 2000, what: "router-2 answers 404 for the deleted bucket", intervalMs: 20 });
      console.log(`router-2 served the new CORS rules ${rulesMs} ms after PutBucketCors on router-1, and 404 ${Date.now() - deletedMs} ms after DeleteBucket`);
    } finally {
      other.destroy();
    }
  }, 60_000);

  it("a PUT in flight when DeleteBucket starts either lands in its listing (BucketNotEmpty) or is refused", async () => {
    const figures = { deleted: 0, notEmpty: 0, putsAcknowledged: 0, putsRefused: 0, inFlightAtDelete: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const bucket = `race-${round}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const outcomes: { key: string; ok: boolean; endedMs: number }[] = [];
      const puts = Array.from({ length: PUTS_PER_ROUND }, async (_, i) => {
        const key = `clip-${i}.mp4`;
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(BODY_BYTES, round + i), ContentLength: BODY_BYTES }));
          outcomes.push({ key, ok: true, endedMs: Date.now() });
        } catch (error) {
          if (statusOf(error) === undefined) throw error;
          outcomes.push({ key, ok: false, endedMs: Date.now() });
        }
      });
      // Later rounds start the delete later, so that some rounds catch the bodies mid-stream and some after commits.
      await new Promise((r) => setTimeout(r, DELETE_DELAYS_MS[round]));
      const deleteStartedMs = Date.now();
      const stillRunning = PUTS_PER_ROUND - outcomes.length;
      let deleted: boolean;
      try {
        await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        deleted = true;
      } catch (error) {
        expect(error instanceof S3ServiceException ? error.name : String(error)).toBe("BucketNotEmpty");
        deleted = false;
      }
      await Promise.all(puts);
      const acknowledged = outcomes.filter((o) => o.ok);
      figures.inFlightAtDelete += stillRunning;
      figures.putsAcknowledged += acknowledged.length;
      figures.putsRefused += outcomes.length - acknowledged.length;
      if (deleted) {
        figures.deleted += 1;
        // The rule: no PUT is acknowledged into a bucket that DeleteBucket removed.
        expect(acknowledged.map((o) => o.key), `round ${round}: PUTs acknowledged although DeleteBucket succeeded (started ${deleteStartedMs})`).toEqual([]);
        await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      } else {
        figures.notEmpty += 1;
        for (const o of acknowledged) {
          const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
          expect(Number(got.ContentLength)).toBe(BODY_BYTES);
          await got.Body!.transformToByteArray();
        }
      }
    }
    console.log(`DeleteBucket racing PUTs, ${ROUNDS} rounds × ${PUTS_PER_ROUND} PUTs of ${BODY_BYTES / 2 ** 20} MiB: ${JSON.stringify(figures)}`);
    // The race was run: some deletes found PUTs still streaming.
    expect(figures.inFlightAtDelete).toBeGreaterThan(0);
    expect(figures.deleted).toBeGreaterThan(0);
  }, 240_000);
});

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
