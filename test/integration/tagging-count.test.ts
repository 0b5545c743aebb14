// x-amz-tagging-count on GetObject and HeadObject, as S3 sends it: the number of tags of the version read,
// whether they were written with it (x-amz-tagging) or set later (PutObjectTagging), no header without tags;
// and a GET of an untagged object in a bucket where no tags were ever set later costs no tag-record read.
import { CreateBucketCommand, DeleteObjectTaggingCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { sample, scrapeRouter } from "./support/metrics.ts";

// Ports: 30200 (S3) and up; routers at 30301 and up.
const BASE_PORT = 30200;
let cluster: TestCluster;
let s3: S3Client;
/** The raw headers of the last response the client read. */
let lastHeaders: Record<string, string> = {};

/** The router's requests to the nodes so far, by kind: "read" (metadata and, for a GET, the body) and "head" read metadata. */
const requests = async () => {
  const text = await scrapeRouter(cluster);
  const of = (kind: string) => sample(text, "ringstore_replica_requests_total", { kind });
  return { metadata: of("head") + of("read"), get: of("get") };
};

async function tagCountOnGet(bucket: string, key: string): Promise<number | undefined> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await got.Body!.transformToByteArray();
  return got.TagCount;
}

/** HeadObject's model has no TagCount: read the header itself. */
async function tagCountOnHead(bucket: string, key: string): Promise<string | undefined> {
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return lastHeaders["x-amz-tagging-count"];
}

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 3, routers: 1 });
  s3 = cluster.client();
  s3.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      lastHeaders = (out.response as { headers: Record<string, string> }).headers;
      return out;
    },
    { step: "deserialize", name: "captureHeaders" },
  );
  for (const bucket of ["plain", "retagged"]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}, 60_000);

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

describe("x-amz-tagging-count", () => {
  it("counts the tags written with the object, on GET and HEAD; none without tags", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "plain", Key: "tagged.mp4", Body: "v", Tagging: "show=news&season=3" }));
    await s3.send(new PutObjectCommand({ Bucket: "plain", Key: "untagged.mp4", Body: "v" }));
    expect(await tagCountOnGet("plain", "tagged.mp4")).toBe(2);
    expect(await tagCountOnHead("plain", "tagged.mp4")).toBe("2");
    expect(await tagCountOnGet("plain", "untagged.mp4")).toBeUndefined();
    expect(await tagCountOnHead("plain", "untagged.mp4")).toBeUndefined();
  });

  it("counts tags set later, for the version they were set on only", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "retagged", Key: "clip.mp4", Body: "v1", Tagging: "a=1&b=2" }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: "retagged", Key: "clip.mp4", Tagging: { TagSet: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }, { Key: "c", Value: "3" }] } }));
    expect(await tagCountOnGet("retagged", "clip.mp4")).toBe(3);
    expect(await tagCountOnHead("retagged", "clip.mp4")).toBe("3");
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: "retagged", Key: "clip.mp4" }));
    expect(await tagCountOnGet("retagged", "clip.mp4")).toBeUndefined();
    // A new version starts with its own tags; the record names the old one.
    await s3.send(new PutObjectTaggingCommand({ Bucket: "retagged", Key: "clip.mp4", Tagging: { TagSet: [{ Key: "x", Value: "1" }] } }));
    await s3.send(new PutObjectCommand({ Bucket: "retagged", Key: "clip.mp4", Body: "v2", Tagging: "a=1&b=2" }));
    expect(await tagCountOnGet("retagged", "clip.mp4")).toBe(2);
  });

  it("a GET in a bucket where no tags were set later reads no tag record; in one where some were, it does", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "retagged", Key: "untagged.mp4", Body: "v" }));
    const cost = async (bucket: string) => {
      // The bucket's record is cached for 2 s: read now, so that the GET measured reads objects only.
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "untagged.mp4" }));
      const before = await requests();
      await tagCountOnGet(bucket, "untagged.mp4");
      const after = await requests();
      return { metadata: after.metadata - before.metadata, get: after.get - before.get };
    };
    const plain = await cost("plain");
    const retagged = await cost("retagged");
    console.log(`metadata requests for one GET of an untagged object: ${plain.metadata} in a bucket without tags set later, ${retagged.metadata} in one with`);
    // The version's metadata takes a read quorum (R = 2); the tag record as many again.
    expect(plain.metadata).toBe(2);
    expect(retagged.metadata).toBe(2 * plain.metadata);
    // A small object's body came with the first node's metadata answer: no separate body request.
    expect(plain.get).toBe(0);
    expect(retagged.get).toBe(0);
  });
});
