// Bit rot: a stored copy whose bytes change on disk is found by the node's scrubber, with no client reading
// it, and replaced from a good replica (core/scrub.ts, core/repair.ts repairCorruptCopy).
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobsOfSize as blobFilesOfSize } from "./support/blobs.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  // Child processes inherit these: walk again soon after each pass, repair soon after a copy is queued.
  process.env.RINGSTORE_SCRUB_PASS_PAUSE_MS = "300";
  process.env.RINGSTORE_REPAIR_INTERVAL_MS = "300";
  cluster = await startTestCluster({ basePort: 22000, nodes: 3, routers: 1 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

/** Files of exactly `size` bytes under a node's blob folder. */
const blobsOfSize = (node: string, size: number): string[] => blobFilesOfSize(cluster.dataDir, node, size);

const md5 = (bytes: Buffer): string => createHash("md5").update(bytes).digest("hex");

describe("scrubber", () => {
  it("replaces a copy whose bytes rotted on disk, without any read of it", async () => {
    const body = randomBytes(1024 * 1024 + 4321);
    await s3.send(new PutObjectCommand({ Bucket: "media", Key: "rotting.mp4", Body: body }));
    const victim = "node-2";
    const [path] = await eventually(async () => {
      const files = blobsOfSize(victim, body.length);
      return files.length === 1 ? files : undefined;
    }, { timeoutMs: 10_000, what: `one blob of ${body.length} B on ${victim}` });
    const rotten = Buffer.from(readFileSync(path!));
    rotten[777_777] = rotten[777_777]! ^ 0x10;
    writeFileSync(path!, rotten);

    const started = Date.now();
    await eventually(async () => {
      const files = blobsOfSize(victim, body.length);
      return files.length === 1 && md5(readFileSync(files[0]!)) === md5(body);
    }, { timeoutMs: 30_000, what: `${victim}'s copy replaced with good bytes` });
    // A node's log reaches its file through the launcher's pipe, a moment after the rename it follows.
    const log = await eventually(async () => {
      const text = readFileSync(join(cluster.dataDir, "logs", `${victim}.log`), "utf8");
      return text.includes("repair.corrupt-copy-replaced") ? text : undefined;
    }, { timeoutMs: 5_000, what: `${victim} logs the replacement` });
    expect(log).toContain("scrub.corrupt-copy");
    console.log(`scrub test: the rotten copy was replaced ${Date.now() - started} ms after the flip`);
  });
});
