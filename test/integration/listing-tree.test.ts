// Listing a 5,000-key tree with the aws cli at every level, each under a deadline: the delimiter listing
// whose last entry is a common prefix used to loop forever (and kept querying every node after the cli
// gave up). Prints the time per level.
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapLimit } from "../../core/quorum.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { requireProgram } from "./support/system-programs.ts";
import { awsCliEnv } from "./support/aws-cli.ts";
import { runProgram } from "./support/run-program.ts";

const runnable = requireProgram("aws", "the listing tree tests");
let cluster: TestCluster;
let s3: S3Client;
const BUCKET = "tree";
const DEADLINE_MS = 10_000;
// 10 folders × 10 subfolders × 49 files, plus a file at each of the two upper levels: 5,000 keys + 110.
const FOLDERS = Array.from({ length: 10 }, (_, i) => `show-${i}/`);
const SUBFOLDERS = Array.from({ length: 10 }, (_, i) => `season-${i}/`);
const FILES = Array.from({ length: 49 }, (_, i) => `episode-${String(i).padStart(2, "0")}.mp4`);

const aws = (args: string[], timeoutMs: number) => runProgram("aws", ["--endpoint-url", cluster.endpoint, ...args], { env: awsCliEnv(cluster), timeoutMs });

describe.runIf(runnable)("listing a 5,000-key tree with aws s3 ls", () => {
  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 23100, nodes: 5, routers: 1 });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const keys: string[] = ["readme.txt"];
    for (const f of FOLDERS) {
      keys.push(`${f}poster.jpg`);
      for (const s of SUBFOLDERS) for (const e of FILES) keys.push(`${f}${s}${e}`);
    }
    await mapLimit(keys, 32, (key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key })));
  }, 300_000);

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.cleanup(suite);
  });

  const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

  it("the top level: the folders and the one file, in time", async () => {
    const ls = await aws(["s3", "ls", `s3://${BUCKET}/`], DEADLINE_MS);
    console.log(`aws s3 ls s3://${BUCKET}/: ${ls.ms} ms`);
    expect(ls.stderr).toBe("");
    expect(ls.status).toBe(0);
    expect(lines(ls.stdout).map((l) => l.trim().split(/\s+/).pop())).toEqual([...FOLDERS, "readme.txt"]);
  });

  it("a folder: its subfolders (the page ends on a prefix) and its file", async () => {
    const ls = await aws(["s3", "ls", `s3://${BUCKET}/show-3/`], DEADLINE_MS);
    console.log(`aws s3 ls s3://${BUCKET}/show-3/: ${ls.ms} ms`);
    expect(ls.status).toBe(0);
    expect(lines(ls.stdout).map((l) => l.trim().split(/\s+/).pop())).toEqual([...SUBFOLDERS, "poster.jpg"]); // the cli prints a page's prefixes before its keys
  });

  it("a subfolder: its 49 files", async () => {
    const ls = await aws(["s3", "ls", `s3://${BUCKET}/show-3/season-9/`], DEADLINE_MS);
    console.log(`aws s3 ls s3://${BUCKET}/show-3/season-9/: ${ls.ms} ms`);
    expect(ls.status).toBe(0);
    expect(lines(ls.stdout).map((l) => l.trim().split(/\s+/).pop())).toEqual(FILES);
  });

  it("recursively: all 5,111 keys, over six pages", async () => {
    const ls = await aws(["s3", "ls", "--recursive", `s3://${BUCKET}/`], 3 * DEADLINE_MS);
    console.log(`aws s3 ls --recursive s3://${BUCKET}/: ${ls.ms} ms`);
    expect(ls.status).toBe(0);
    expect(lines(ls.stdout).length).toBe(1 + FOLDERS.length * (1 + SUBFOLDERS.length * FILES.length));
  });

  it("s3api list-objects (v1) with a delimiter and max-keys 3 pages by NextMarker through the prefixes", async () => {
    const ls = await aws(["s3api", "list-objects", "--bucket", BUCKET, "--delimiter", "/", "--page-size", "3", "--output", "json"], DEADLINE_MS);
    expect(ls.status).toBe(0);
    const parsed = JSON.parse(ls.stdout) as { CommonPrefixes?: { Prefix: string }[]; Contents?: { Key: string }[] };
    expect(parsed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(FOLDERS);
    expect(parsed.Contents?.map((c) => c.Key)).toEqual(["readme.txt"]);
  });
});
