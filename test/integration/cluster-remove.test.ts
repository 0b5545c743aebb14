// `ringstore cluster remove` for a node that will never return: refused while the node still answers (it must
// be decommissioned, handing its data over); once it is dead, it leaves the ring, the new primaries copy from
// the copies that remain, `--wait` follows it until the cluster has settled, and then N copies sit on live
// nodes again: a second node lost afterwards leaves every object readable.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterCli } from "./support/cluster-cli.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;
const KEYS = Array.from({ length: 60 }, (_, i) => `clips/${i}.mp4`);

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 27700, nodes: 5, routers: 1, partitionBits: 6 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: `body of ${key}` }));
}, 120_000);

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

const admin = (args: string[]) => clusterCli(cluster, args);

async function everyKeyReadable(): Promise<void> {
  for (const key of KEYS) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "media", Key: key }));
    expect(await got.Body!.transformToString()).toBe(`body of ${key}`);
  }
}

describe("cluster remove", () => {
  it("refuses a node that still answers: that one is decommissioned, so that it hands its data over", () => {
    const refused = admin(["remove", "--id", "node-2"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("node-2 still answers: decommission it instead");
    expect(JSON.parse(admin(["status", "--json"]).stdout)).toMatchObject({ epoch: 1 });
  });

  it("takes a dead node out; once settled, every object has its copies on live nodes, so a second loss loses nothing", async () => {
    process.kill(cluster.process("node-2").pid!, "SIGKILL");
    const out = admin(["remove", "--id", "node-2", "--wait", "--json", "--timeout", "120"]);
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("map epoch 2 installed on node-1, node-3, node-4, node-5");
    expect(out.stdout).toContain("  not reached: node-2");
    expect(out.status).toBe(0);
    const looks = out.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { settled: boolean; epoch: number; partitionsBehind: number; copiedSinceWait: number });
    expect(looks[looks.length - 1]).toMatchObject({ settled: true, epoch: 2, partitionsBehind: 0 });
    await everyKeyReadable();
    // With N=3 and R=2, a second node lost leaves every object readable only if its third copy was re-made.
    process.kill(cluster.process("node-3").pid!, "SIGKILL");
    await everyKeyReadable();
  });
});
