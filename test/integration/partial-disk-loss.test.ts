// Partial disk loss on real processes (issue 9 item 8): a stopped node loses some blob files; its start-up
// drops their rows and says so, one line with counts per partition; it treats those partitions as behind, not
// intact (core/catch-up.ts lostCopies), until repair syncs them from copies that hold what they acknowledged;
// and a read at R=2 while another primary is down never returns an older version.
// The history is finding F5's, with a partial loss for the replaced disk: primaries A, B, C of key k; C misses
// v2 while it counts as live (SIGSTOPped during the PUT, longer than the router's request timeout, so no hint
// exists and its put is never committed); A loses v2's blob file while stopped; B is killed. Before the rule, A
// restarted "intact", caught up from C alone, and A and C served v1 at R=2.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { blobsOfSize } from "./support/blobs.ts";
import { type TestCluster, eventually, exited, startTestCluster } from "./support/cluster.ts";
import { presignV4 } from "./support/raw-s3.ts";

const BASE_PORT = 30600;
const BUCKET = "disks";
/** Sizes no other object has, to find the blob files on disk. */
const V1_BYTES = 60_001;
const V2_BYTES = 60_003;
const OTHER_BYTES = 60_007;
/** The router's wait for a replica's answer (runtime/router/main.ts), and some margin. */
const ROUTER_REQUEST_TIMEOUT_MS = 10_000;

let cluster: TestCluster;
let s3: S3Client;
const started: ChildProcess[] = [];
let stopped: number | undefined;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 5, routers: 1, partitionBits: 6 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 60_000);

afterAll(async ({}, suite) => {
  if (stopped !== undefined) process.kill(stopped, "SIGCONT");
  s3?.destroy();
  await Promise.all(started.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

type Line = Record<string, unknown> & { event: string; time: string };
const logOf = (id: string, sinceMs = 0): Line[] =>
  readFileSync(cluster.process(id).log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => Date.parse(l.time) >= sinceMs);

const ring = () => buildRing(cluster.map());
const partitionOfKey = (bucket: string, key: string) => partitionOf(ring(), bucket, key);
const primariesOfKey = (bucket: string, key: string) => primariesOf(ring(), partitionOfKey(bucket, key));

/** What `node` says of its copies of `partitions` (its digest answers): caught up, intact. */
async function copyStates(node: NodeId, partitions: readonly PartitionId[]): Promise<Map<PartitionId, { caughtUp: boolean; intact: boolean }>> {
  const transport = cluster.internalTransport();
  try {
    const answer = await transport.send(node, { kind: "digests", partitions });
    if (!answer.ok) throw new Error(`digests from ${node}: ${answer.error.kind} ${answer.error.detail}`);
    return new Map(answer.value.digests.map((d) => [d.partition, { caughtUp: d.caughtUpPrimary, intact: d.intactPrimary }]));
  } finally {
    await transport.close();
  }
}

/** GET through the router: the status and, when 200, the body's length (v1 and v2 differ in size). */
async function get(key: string): Promise<{ status: number; bytes?: number }> {
  const answer = await fetch(await presignV4(cluster, "GET", `/${BUCKET}/${key}`));
  const body = await answer.arrayBuffer();
  return answer.status === 200 ? { status: 200, bytes: body.byteLength } : { status: answer.status };
}

describe("a node that lost some blob files", () => {
  it("logs what it dropped per partition, stays behind on those partitions until repaired, and a read at R=2 with another primary down is never older", async () => {
    // k: its partition is not the bucket record's (that one must stay readable). other: a second lost
    // partition, with none of k's primaries but A, so that it can catch up while B is down.
    const bucketPartition = partitionOfKey("-system", `buckets/${BUCKET}`);
    const candidates = Array.from({ length: 400 }, (_, i) => `videos/${i}.mp4`);
    const key = candidates.find((k) => partitionOfKey(BUCKET, k) !== bucketPartition)!;
    const [a, b, c] = primariesOfKey(BUCKET, key) as [NodeId, NodeId, NodeId];
    const other = candidates.find((k) => k !== key && primariesOfKey(BUCKET, k).includes(a) && !primariesOfKey(BUCKET, k).includes(b) && !primariesOfKey(BUCKET, k).includes(c))!;
    expect(other).toBeDefined();
    const [pk, po] = [partitionOfKey(BUCKET, key), partitionOfKey(BUCKET, other)];
    console.log(`partial disk loss: ${key} on ${a} (loses files), ${b} (killed), ${c} (misses v2); ${other} in partition ${po}`);

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(V1_BYTES, 1) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: other, Body: Buffer.alloc(OTHER_BYTES, 3) }));

    // C misses v2: stopped while the router still counts it live, for longer than the router waits for it.
    stopped = cluster.process(c).pid!;
    process.kill(stopped, "SIGSTOP");
    const stoppedAt = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(V2_BYTES, 2) }));
    // A loses v2's blob file (and other's) while stopped; B dies.
    const recordA = cluster.process(a);
    process.kill(recordA.pid!, "SIGTERM");
    await exited(recordA.pid!);
    const lostFiles = [...blobsOfSize(cluster.dataDir, a, V2_BYTES), ...blobsOfSize(cluster.dataDir, a, OTHER_BYTES)];
    expect(lostFiles).toHaveLength(2);
    for (const file of lostFiles) rmSync(file);
    process.kill(cluster.process(b).pid!, "SIGKILL");
    await new Promise((done) => setTimeout(done, Math.max(0, stoppedAt + ROUTER_REQUEST_TIMEOUT_MS + 2000 - Date.now())));
    const since = Date.now();
    started.push(startChild(recordA.command, recordA.log).child);
    process.kill(stopped, "SIGCONT");
    stopped = undefined;

    // (a) One line with the counts per partition, before the rows go; the start says which copies are behind.
    const dropped = await eventually(async () => logOf(a, since).find((l) => l.event === "store.partitions-lost-copies"), { timeoutMs: 20_000, what: `${a} logs the partitions that lost copies` });
    console.log(`partial disk loss: ${JSON.stringify(dropped)}`);
    expect(dropped).toMatchObject({ level: 50, rows: 2, bytes: V2_BYTES + OTHER_BYTES });
    expect(dropped.partitions).toEqual([{ partition: pk, rows: 1, bytes: V2_BYTES }, { partition: po, rows: 1, bytes: OTHER_BYTES }].sort((x, y) => x.partition - y.partition));
    const behindLine = await eventually(async () => logOf(a, since).find((l) => l.event === "catch-up.lost-copies"), { timeoutMs: 10_000, what: `${a} logs the copies it starts behind on` });
    expect(behindLine).toMatchObject({ level: 40, partitions: [pk, po].sort((x, y) => x - y) });

    // (b) Behind, not intact, on both; other's partition catches up (its other primaries are live), k's does not.
    await eventually(async () => (await copyStates(a, [po])).get(po)?.caughtUp, { timeoutMs: 30_000, what: `${a} catches up on partition ${po}`, intervalMs: 250 });
    const states = await copyStates(a, [pk]);
    expect(states.get(pk)).toEqual({ caughtUp: false, intact: false });
    await eventually(async () => (await get(other)).bytes === OTHER_BYTES, { timeoutMs: 10_000, what: `${other} readable` });

    // (c) With B down, a read of k at R=2 is refused (A is behind, C missed v2), never v1.
    await eventually(async () => logOf("router-1", since).some((l) => l.event === "node.up" && l.node === c), { timeoutMs: 15_000, what: `the router hears ${c} again` });
    const reads: { status: number; bytes?: number }[] = [];
    for (let i = 0; i < 5; i++) reads.push(await get(key));
    console.log(`partial disk loss: reads of ${key} with ${b} down: ${JSON.stringify(reads)}`);
    expect(reads.filter((r) => r.status === 200 && r.bytes !== V2_BYTES)).toEqual([]);
    expect((await copyStates(a, [pk])).get(pk)).toEqual({ caughtUp: false, intact: false });
    expect(existsSync(join(cluster.dataDir, a, "lost-partitions.json"))).toBe(true);

    // Repaired once B is back: A catches up on k's partition, forgets the loss, and k reads as v2.
    const recordB = cluster.process(b);
    started.push(startChild(recordB.command, recordB.log).child);
    await eventually(async () => (await copyStates(a, [pk])).get(pk)?.caughtUp, { timeoutMs: 60_000, what: `${a} catches up on partition ${pk} once ${b} is back`, intervalMs: 500 });
    await eventually(async () => !existsSync(join(cluster.dataDir, a, "lost-partitions.json")), { timeoutMs: 10_000, what: `${a} forgets its lost partitions` });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect((await got.Body!.transformToByteArray()).length).toBe(V2_BYTES);
  }, 180_000);
});
