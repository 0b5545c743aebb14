// Ring changes on real processes, through the operator's command line: a node joins and receives its share
// of the data; a node is decommissioned, its data moves away, and once the cluster has settled it is
// stopped. Every object stays readable throughout, and writes keep working.
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { ringstoreCommand, startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { clusterCli } from "./support/cluster-cli.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

const BASE_PORT = 21600;
const NEW_NODE_PORT = BASE_PORT + 50;
const KEYS = Array.from({ length: 40 }, (_, i) => `ring/clip-${i}.mp4`);

let cluster: TestCluster;
let s3: S3Client;
const started: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 4, routers: 1 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: `body of ${key}` }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await Promise.all(started.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

const admin = (args: string[]) => clusterCli(cluster, args);

async function everyKeyReadable(): Promise<void> {
  for (const key of KEYS) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "media", Key: key }));
    expect(await got.Body!.transformToString()).toBe(`body of ${key}`);
  }
}

const settled = () => eventually(async () => admin(["status"]).status === 0, { timeoutMs: 90_000, what: "the cluster settles (ringstore cluster status)", intervalMs: 1000 });

describe("ring changes through `ringstore cluster`", () => {
  it("a joining node gets its share of the data while every object stays readable", async () => {
    const joined = admin(["join", "--id", "node-5", "--address", `127.0.0.1:${NEW_NODE_PORT}`]);
    expect(joined.stderr).toBe("");
    expect(joined.stdout).toContain("map epoch 2 installed on node-1, node-2, node-3, node-4");
    // The node is started with exactly the command join printed: no placeholder left to fill.
    const printed = /start it \(if not running yet\): npx ringstore (node .*)$/m.exec(joined.stdout)?.[1];
    expect(printed).toBeDefined();
    expect(printed).not.toMatch(/[<>]/);
    const args = printed!.split(" ");
    expect(args).toEqual(["node", "--id", "node-5", "--data-dir", join(cluster.dataDir, "node-5"), "--port", String(NEW_NODE_PORT), "--host", "127.0.0.1", "--cluster-map", join(cluster.dataDir, "cluster-map.json"), "--secret-file", join(cluster.dataDir, "cluster-secret")]);
    started.push(startChild(ringstoreCommand(args), join(cluster.dataDir, "logs", "node-5.log")).child);
    await everyKeyReadable();
    await settled();
    await everyKeyReadable();

    // node-5 holds every key it is now a primary of.
    const ring = buildRing(cluster.map());
    const mine = KEYS.filter((key) => primariesOf(ring, partitionOf(ring, "media", key)).includes(nodeId("node-5")));
    expect(mine.length).toBeGreaterThan(0);
    const transport = cluster.internalTransport();
    try {
      for (const key of mine) {
        const answer = await transport.send(nodeId("node-5"), { kind: "head", partition: partitionOf(ring, "media", key), bucket: "media", key });
        expect(answer.ok && answer.value.version?.key).toBe(key);
      }
    } finally {
      await transport.close();
    }
  });

  it("a decommissioned node hands its data over and can then be stopped without losing anything", async () => {
    // --wait --json: one line of figures per look, until the cluster has settled (exit 0).
    const out = admin(["decommission", "--id", "node-1", "--wait", "--json", "--timeout", "120"]);
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("map epoch 3 installed on");
    expect(out.status).toBe(0);
    const looks = out.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { settled: boolean; epoch: number; partitionsBehind: number; copiedSinceWait: number });
    expect(looks.length).toBeGreaterThan(0);
    expect(looks[looks.length - 1]).toMatchObject({ settled: true, epoch: 3, partitionsBehind: 0 });
    const status = admin(["status", "--json"]);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ epoch: 3, settled: true, pending: { partitionsBehind: 0, nodesNotAnswering: 0 } });
    await everyKeyReadable();
    process.kill(cluster.process("node-1").pid!, "SIGKILL");
    await everyKeyReadable();
    await s3.send(new PutObjectCommand({ Bucket: "media", Key: "ring/after.mp4", Body: "written after" }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "media", Key: "ring/after.mp4" }))).Body!.transformToString()).toBe("written after");
  });
});
