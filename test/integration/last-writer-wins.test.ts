// Last writer wins by completion, as S3 does it: of two overlapping writes of one key, the one that completes
// last is the one that stays, whichever began first. A long upload begun before a short PUT (or a DELETE) of
// the same key, and finished after it, is what a later GET returns (core/coordinator.ts stamps a version when
// its body is durable, not when its request arrived).
import { request as httpRequest } from "node:http";
import { createHash } from "node:crypto";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { signedHeadersOf } from "./support/raw-s3.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 29400 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "race" }));
}, 60_000);

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

/** A PUT whose body is sent in two halves: the second only when `finish` is called. Resolves with the status. */
async function slowPut(key: string, body: Buffer): Promise<{ finish: () => Promise<number> }> {
  const url = new URL(cluster.endpoint);
  const headers = await signedHeadersOf(cluster, { method: "PUT", path: `/race/${key}`, declaredLength: body.length });
  const req = httpRequest({ host: url.hostname, port: url.port, method: "PUT", path: `/race/${key}`, headers });
  const answered = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
  const half = Math.floor(body.length / 2);
  await new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
  // Long enough that the router has begun the write (and, stamped at the start, would have minted its stamp).
  await new Promise((r) => setTimeout(r, 300));
  return {
    finish: async () => {
      req.end(body.subarray(half));
      return answered;
    },
  };
}

const md5 = (b: Buffer): string => createHash("md5").update(b).digest("hex");

async function getBytes(key: string): Promise<Buffer | "NoSuchKey"> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: "race", Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return "NoSuchKey";
    throw error;
  }
}

describe("last writer wins by completion", () => {
  it("a long PUT begun first and finished last beats a short PUT begun after it and finished first", async () => {
    const long = Buffer.alloc(3 * 1024 * 1024, 0x4c);
    const upload = await slowPut("video.mp4", long);
    const short = Buffer.from("the short one, begun second and done first");
    await s3.send(new PutObjectCommand({ Bucket: "race", Key: "video.mp4", Body: short }));
    const meanwhile = await getBytes("video.mp4");
    expect(meanwhile === "NoSuchKey" ? meanwhile : md5(meanwhile), "the short PUT, while the long one is still uploading").toBe(md5(short));
    expect(await upload.finish()).toBe(200);
    const read = await getBytes("video.mp4");
    expect(read === "NoSuchKey" ? read : md5(read), "the PUT that completed last").toBe(md5(long));
  }, 60_000);

  it("a PUT finished after a DELETE begun later is what stays", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "race", Key: "clip.mp4", Body: Buffer.from("first") }));
    const long = Buffer.alloc(2 * 1024 * 1024, 0x33);
    const upload = await slowPut("clip.mp4", long);
    await s3.send(new DeleteObjectCommand({ Bucket: "race", Key: "clip.mp4" }));
    expect(await getBytes("clip.mp4")).toBe("NoSuchKey");
    expect(await upload.finish()).toBe(200);
    const read = await getBytes("clip.mp4");
    expect(read === "NoSuchKey" ? read : md5(read)).toBe(md5(long));
  }, 60_000);
});
