// One node down for good, then re-replication, then a second node down for good (issue 10 item 9b): with
// N=3 and R=2 every object must stay readable, which holds only if the third copies re-made on handoffs count
// toward the quorum in place of the dead primary, also in the seconds before the failure detector notices the
// second loss (a refused connection makes the primary down for that request, core/quorum.ts). The
// re-replicate delay is shortened (RE_REPLICATE_AFTER_MS); the figures printed: how long until every object had N live copies again, and reads after each loss.
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../integration/support/cluster.ts";
import { type NetnsCluster, namespacesAvailable, startWithBucket } from "./support/netns-cluster.ts";
import { unreadableKeys, writeObjects } from "./support/workload.ts";

const BUCKET = "loss";
const OBJECTS = 150;
const RE_REPLICATE_AFTER_MS = 5_000;
/** The failure detector's default (runtime/liveness.ts RINGSTORE_DOWN_AFTER_MS) plus a heartbeat. */
const DETECTION_MS = 5_000;
const REPLICAS = 3;

const runnable = namespacesAvailable("the permanent-loss fault case");
let cluster: NetnsCluster;
let s3: S3Client;

describe.runIf(runnable)("two permanent losses, re-replication between them", () => {
  beforeAll(async () => {
    ({ cluster, s3 } = await startWithBucket({ nodes: 5, routers: 1, env: { RINGSTORE_RE_REPLICATE_AFTER_MS: String(RE_REPLICATE_AFTER_MS) } }, BUCKET));
  });

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.stop(suite);
  });

  it("every object stays readable after the second loss", async () => {
    const etags = await writeObjects(s3, BUCKET, { prefix: "clip-", count: OBJECTS, sizeMax: 64 * 1024, concurrency: 4 });
    const [first, second] = [cluster.nodes[0]!, cluster.nodes[2]!];
    await cluster.kill(first);
    const killedAt = Date.now();
    const live = cluster.nodes.filter((n) => n !== first);
    let fewest = 0;
    await eventually(async () => (fewest = Math.min(...(await cluster.copiesOn(BUCKET, etags, live)).values())) >= REPLICAS, { timeoutMs: 120_000, what: `${REPLICAS} live copies of every object after ${first} died`, intervalMs: 2000 });
    const reReplicatedS = (Date.now() - killedAt) / 1000;
    const afterFirst = await unreadableKeys(s3, BUCKET, etags);

    await cluster.kill(second);
    const secondAt = Date.now();
    const duringDetection = await unreadableKeys(s3, BUCKET, etags);
    const left = DETECTION_MS - (Date.now() - secondAt);
    if (left > 0) await new Promise((done) => setTimeout(done, left));
    const afterSecond = await unreadableKeys(s3, BUCKET, etags);
    const stillLive = live.filter((n) => n !== second);
    const copies = [...(await cluster.copiesOn(BUCKET, etags, stillLive)).values()];
    console.log(
      `faults permanent loss: ${OBJECTS} objects; ${first} killed, ${REPLICAS} live copies of each ${reReplicatedS.toFixed(1)} s later (re-replicate after ${RE_REPLICATE_AFTER_MS / 1000} s); ` +
        `unreadable after the first loss ${afterFirst.length}; ${second} killed: unreadable within detection ${duringDetection.length}, after ${DETECTION_MS / 1000} s ${afterSecond.length} ` +
        `(${(100 * (OBJECTS - afterSecond.length) / OBJECTS).toFixed(1)} % readable); live copies per object now ${Math.min(...copies)}..${Math.max(...copies)}; within detection: ${duringDetection.slice(0, 3).join(" | ")}`,
    );
    expect(fewest).toBeGreaterThanOrEqual(REPLICAS);
    expect(afterFirst).toEqual([]);
    // Before the detector notices, the dead node refuses connections: that is enough to count the stand-in.
    expect(duringDetection).toEqual([]);
    expect(afterSecond).toEqual([]);
  }, 240_000);
});
