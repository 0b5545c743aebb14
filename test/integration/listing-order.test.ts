// S3 lists keys in UTF-8 binary order (ListObjectsV2). Over real processes: keys spread over many partitions
// and nodes, each node's index in SQLite's byte order, the router merging the nodes' pages (core/listing.ts).
// The keys are chosen where JavaScript's string order (UTF-16 code units) disagrees with byte order: a key
// with a supplementary character (U+1F600, surrogates D83D DE00) sorts before U+E000..U+FFFD in JS, after them
// in bytes. Pages of two keys make every continuation token and every node page cut between such keys.
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";

const KEYS = ["\u{1F600}", "\u{10000}", "\uFFFD", "\uE000", "\uFF21", "z", "\u00E9", "a", "a/\u{1F600}", "a/\uFF21", "a/z", "\uD7FF"];
const byBytes = [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 26000, nodes: 3, routers: 1, partitionBits: 4 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "order" }));
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: "order", Key: key, Body: Buffer.from(key, "utf8") }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

async function listAll(request: { Prefix?: string; StartAfter?: string; MaxKeys: number }): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: "order", ...request, ...(token ? { ContinuationToken: token } : {}) }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    if (!page.IsTruncated) return keys;
    token = page.NextContinuationToken;
  }
  throw new Error("listing did not end in 100 pages");
}

describe("ListObjectsV2 order over real processes", () => {
  it("lists keys in UTF-8 byte order, whole and in pages of two, where JS string order differs", async () => {
    expect(byBytes).not.toEqual([...KEYS].sort());
    expect(await listAll({ MaxKeys: 1000 })).toEqual(byBytes);
    expect(await listAll({ MaxKeys: 2 })).toEqual(byBytes);
  });

  it("StartAfter and a prefix are byte order too", async () => {
    expect(await listAll({ StartAfter: "\uFFFD", MaxKeys: 1000 })).toEqual(["\u{10000}", "\u{1F600}"]);
    expect(await listAll({ StartAfter: "\uE000", MaxKeys: 1 })).toEqual(["\uFF21", "\uFFFD", "\u{10000}", "\u{1F600}"]);
    expect(await listAll({ Prefix: "a/", MaxKeys: 1 })).toEqual(["a/z", "a/\uFF21", "a/\u{1F600}"]);
  });
});
