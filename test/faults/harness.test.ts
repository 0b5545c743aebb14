// The fault suite's harness itself (test/faults/support/netns-cluster.ts): each cut does what it says, seen
// as TCP connections between the namespaces, heals leave nothing behind, and a killed node restarts on its
// old disk with what it held. Every other fault case relies on this.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../integration/support/cluster.ts";
import { md5Of } from "./support/workload.ts";
import { CUTS, type Cut, type NetnsCluster, namespacesAvailable, startNetnsCluster } from "./support/netns-cluster.ts";

const runnable = namespacesAvailable("the fault suite's harness test");
let cluster: NetnsCluster;
let s3: S3Client;

/** Which way connections open under each cut of a node: router → node, node → router. */
const EXPECTED: Record<Cut, { toNode: boolean; fromNode: boolean }> = {
  link: { toNode: false, fromNode: false },
  both: { toNode: false, fromNode: false },
  inbound: { toNode: false, fromNode: true },
  outbound: { toNode: true, fromNode: false },
};

describe.runIf(runnable)("netns harness", () => {
  beforeAll(async () => {
    cluster = await startNetnsCluster({ nodes: 3, routers: 1, partitionBits: 4 });
    s3 = cluster.client();
  });

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.stop(suite);
  });

  it("cuts connections the way each cut says, and heals them", () => {
    const [node] = cluster.nodes;
    const [router] = cluster.routers;
    expect({ toNode: cluster.canConnect(router!, node!), fromNode: cluster.canConnect(node!, router!) }).toEqual({ toNode: true, fromNode: true });
    for (const how of CUTS) {
      cluster.cut(node!, how);
      const seen = { toNode: cluster.canConnect(router!, node!), fromNode: cluster.canConnect(node!, router!) };
      cluster.heal(node!);
      expect(seen, `cut ${how}`).toEqual(EXPECTED[how]);
      expect({ toNode: cluster.canConnect(router!, node!), fromNode: cluster.canConnect(node!, router!) }, `after healing ${how}`).toEqual({ toNode: true, fromNode: true });
    }
  });

  it("serves S3 through HAProxy, and a node killed and restarted on its old disk still holds its copies", async () => {
    await eventually(async () => s3.send(new CreateBucketCommand({ Bucket: "harness" })).then(() => true), { timeoutMs: 30_000, what: "CreateBucket" });
    await s3.send(new PutObjectCommand({ Bucket: "harness", Key: "a", Body: "kept" }));
    const victim = cluster.nodes[0]!;
    await cluster.kill(victim);
    expect(cluster.isRunning(victim)).toBe(false);
    cluster.restart(victim);
    await cluster.waitSettled(60_000);
    // With 3 nodes every node is a primary of every partition: the restarted one must hold "a" itself.
    expect(await cluster.keysShortOfCopies("harness", new Map([["a", md5Of(Buffer.from("kept"))]]))).toEqual([]);
    expect(await cluster.keysShortOfCopies("harness", new Map([["a", md5Of(Buffer.from("other"))]]))).toHaveLength(1);
    const got = await s3.send(new GetObjectCommand({ Bucket: "harness", Key: "a" }));
    expect(await got.Body!.transformToString()).toBe("kept");
  });
});
