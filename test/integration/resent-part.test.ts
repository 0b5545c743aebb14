// A part re-sent while its first upload is still running, the re-send finishing first (issue 8 §3): S3 keeps
// the upload of the part that completed last, and CompleteMultipartUpload with that upload's ETag makes the
// object of its bytes. Both orders of bytes (the same, or different) are tried.
import { PassThrough } from "node:stream";
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, type S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";

// Ports: 30400 (S3) and up; routers at 30501 and up.
const BASE_PORT = 30400;
const BUCKET = "parts";
const PART_BYTES = 64 * 1024;
let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 60_000);

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

/**
 * Part 1 uploaded twice at once: the first upload sends half its bytes, then waits until the second (sent
 * whole) has been answered, then sends the rest. Returns both ETags, the slow one's last (it completed last).
 */
async function raceOnePart(key: string, firstBytes: Buffer, secondBytes: Buffer): Promise<{ uploadId: string; firstEtag: string; secondEtag: string }> {
  const uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!;
  const slow = new PassThrough();
  slow.write(firstBytes.subarray(0, PART_BYTES / 2));
  const first = s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: slow, ContentLength: PART_BYTES }));
  // Give the first upload time to reach the router and start its replica writes.
  await new Promise((done) => setTimeout(done, 300));
  const second = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: secondBytes }));
  slow.end(firstBytes.subarray(PART_BYTES / 2));
  const firstDone = await first;
  return { uploadId, firstEtag: firstDone.ETag!, secondEtag: second.ETag! };
}

async function completeWith(key: string, uploadId: string, etag: string): Promise<Buffer> {
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe("a part re-sent while its first upload still runs, the re-send finishing first", () => {
  it("with the same bytes: Complete with the ETag (both are the same) makes the object", async () => {
    const bytes = Buffer.alloc(PART_BYTES, 5);
    const raced = await raceOnePart("same.bin", bytes, bytes);
    expect(raced.firstEtag).toBe(raced.secondEtag);
    expect((await completeWith("same.bin", raced.uploadId, raced.firstEtag)).equals(bytes)).toBe(true);
  }, 60_000);

  // The part's versions are stamped when each upload completes (last writer wins by completion,
  // core/coordinator.ts), so the first upload, which completed last, is the part that stays; stamped at the start,
  // the re-send would win and Complete with the first upload's ETag would answer InvalidPart (seen before the change).
  it("with different bytes: Complete with the ETag of the upload that completed last makes the object of its bytes", async () => {
    const first = Buffer.alloc(PART_BYTES, 1);
    const second = Buffer.alloc(PART_BYTES, 2);
    const raced = await raceOnePart("different.bin", first, second);
    expect(raced.firstEtag).not.toBe(raced.secondEtag);
    expect((await completeWith("different.bin", raced.uploadId, raced.firstEtag)).equals(first)).toBe(true);
  }, 60_000);
});
