// A storage node's disk fills up (issue 10 item 9f): its data folder is a small tmpfs, and writes keep coming
// until it is full. A write then goes to the other replicas (W=2 of N=3, a handoff for the full one) or fails
// with an S3 error (never a dropped connection), and every acknowledged object reads back with its bytes.
import { PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { type NetnsCluster, namespacesAvailable, primariesOfKey, startWithBucket } from "./support/netns-cluster.ts";
import { bodyOf, md5Of, refusalName, unreadableKeys } from "./support/workload.ts";

const BUCKET = "full";
const DISK_BYTES = 24 * 1024 * 1024;
const OBJECT_BYTES = 768 * 1024;
/** Enough that the full node's share (3 of 5 nodes hold each object) is about three times its disk. */
const OBJECTS = 160;

const runnable = namespacesAvailable("the disk-full fault case");
let cluster: NetnsCluster;
let s3: S3Client;

describe.runIf(runnable)("a node's disk full", () => {
  beforeAll(async () => {
    ({ cluster, s3 } = await startWithBucket({ nodes: 5, routers: 1, tmpfsBytes: { 1: DISK_BYTES } }, BUCKET));
  });

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.stop(suite);
  });

  it("writes go elsewhere or fail with an S3 error, and nothing acknowledged is lost", async () => {
    const full = cluster.nodes[0]!;
    const acked = new Map<string, string>();
    const refused = new Map<string, number>();
    const notS3: string[] = [];
    const started = Date.now();
    for (let i = 0; i < OBJECTS; i++) {
      const key = `clip-${i}.mp4`;
      const body = bodyOf(key, 1, OBJECT_BYTES);
      try {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        acked.set(key, md5Of(body));
      } catch (error) {
        const name = refusalName(error);
        refused.set(name, (refused.get(name) ?? 0) + 1);
        if (!(error instanceof S3ServiceException)) notS3.push(name);
      }
    }
    const writeSeconds = (Date.now() - started) / 1000;
    const status = JSON.parse((await cluster.clusterCli(["status", "--json"])).stdout) as { nodes: { node: string; health: { disk?: { usedBytes: number; totalBytes: number } } | null }[] };
    const disk = status.nodes.find((n) => n.node === full)?.health?.disk;
    const lost = await unreadableKeys(s3, BUCKET, acked);
    // Acknowledged objects the full node is a primary of, and how many of them it does not hold: those went elsewhere.
    const ofFull = new Map([...acked].filter(([key]) => primariesOfKey(cluster.map(), BUCKET, key).includes(nodeId(full))));
    const elsewhere = [...(await cluster.copiesOn(BUCKET, ofFull, [full])).values()].filter((n) => n === 0).length;
    console.log(
      `faults disk full: ${full} on a ${DISK_BYTES / 1024 / 1024} MiB tmpfs, ${disk ? `${Math.round((100 * disk.usedBytes) / disk.totalBytes)} % used` : "no disk figure"} after ${OBJECTS} PUTs of ${OBJECT_BYTES / 1024} KiB in ${writeSeconds.toFixed(1)} s: ` +
        `${acked.size} acknowledged (${ofFull.size} of ${full}'s partitions, ${elsewhere} of them not on ${full}: written elsewhere), refused ${[...refused].map(([n, c]) => `${n} x${c}`).join(", ") || "none"}; ` +
        `not an S3 error ${notS3.length}; acknowledged but unreadable ${lost.length} ${lost.slice(0, 3).join(" | ")}`,
    );
    expect(disk && disk.usedBytes / disk.totalBytes).toBeGreaterThan(0.9); // the disk did fill up
    expect(notS3).toEqual([]);
    expect(lost).toEqual([]);
    expect(acked.size).toBeGreaterThan(OBJECTS / 2);
  }, 240_000);
});
