// S3 operations over real processes with the real AWS SDK v3 (default settings): round trips checked by
// hash, bucket operations, and every error the router promises.
import { request as httpRequest } from "node:http";
import { createHash } from "node:crypto";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestOf, generatedBodyWithDigest } from "./support/data.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { signedRawRequest } from "./support/raw-s3.ts";
import { s3ErrorOf } from "./support/s3-errors.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 20000 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "videos" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

/** A raw HTTP request, for what no SDK would send. */
function rawRequest(options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; endEarly?: boolean }): Promise<{ status: number; body: string }> {
  const url = new URL(cluster.endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (options.body) req.write(options.body);
    if (options.endEarly) setTimeout(() => req.destroy(), 200);
    else req.end();
  });
}

describe("object round trips through the AWS SDK v3", () => {
  for (const size of [0, 1, 5 * 1024 * 1024]) {
    it(`a ${size}-byte object comes back byte for byte (Buffer body)`, async () => {
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4096) body[i] = (i / 4096) & 255;
      const put = await s3.send(new PutObjectCommand({ Bucket: "videos", Key: `small/${size}.bin`, Body: body, ContentType: "video/mp4", Metadata: { title: "clip" } }));
      const md5 = createHash("md5").update(body).digest("hex");
      expect(put.ETag).toBe(`"${md5}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: `small/${size}.bin` }));
      expect(got.ContentLength).toBe(size);
      expect(got.ContentType).toBe("video/mp4");
      expect(got.Metadata).toEqual({ title: "clip" });
      expect(await digestOf(got.Body as AsyncIterable<Uint8Array>)).toBe(md5);
    });
  }

  it("a 300 MiB object streamed up (aws-chunked) and down comes back with the same hash", async () => {
    const size = 300 * 1024 * 1024;
    const { body, md5 } = generatedBodyWithDigest(size);
    const started = Date.now();
    const put = await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "big/300MiB.mp4", Body: body(), ContentLength: size }));
    const putMs = Date.now() - started;
    expect(put.ETag).toBe(`"${await md5}"`);
    const t1 = Date.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "big/300MiB.mp4" }));
    expect(got.ContentLength).toBe(size);
    expect(await digestOf(got.Body as AsyncIterable<Uint8Array>)).toBe(await md5);
    const getMs = Date.now() - t1;
    console.log(`300 MiB round trip: PUT ${putMs} ms (${(300 / (putMs / 1000)).toFixed(1)} MiB/s), GET ${getMs} ms (${(300 / (getMs / 1000)).toFixed(1)} MiB/s)`);
  });

  it("a ranged GET returns exactly the bytes asked for, with 206 and Content-Range", async () => {
    const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i & 255));
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "range.bin", Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "range.bin", Range: "bytes=1000-1999" }));
    expect(got.ContentRange).toBe("bytes 1000-1999/10000");
    const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    expect(bytes.equals(body.subarray(1000, 2000))).toBe(true);
    const tail = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "range.bin", Range: "bytes=-10" }));
    expect(Buffer.from(await (tail.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(body.subarray(9990))).toBe(true);
    expect(await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "range.bin", Range: "bytes=20000-" })))).toEqual({ code: "InvalidRange", status: 416 });
  });

  it("HeadObject reports size, ETag and metadata; DeleteObject makes it NoSuchKey", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "gone.txt", Body: "hello", Metadata: { a: "b" } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "gone.txt" }));
    expect(head.ContentLength).toBe(5);
    expect(head.ETag).toBe('"5d41402abc4b2a76b9719d911017c592"');
    expect(head.Metadata).toEqual({ a: "b" });
    await s3.send(new DeleteObjectCommand({ Bucket: "videos", Key: "gone.txt" }));
    expect(await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "gone.txt" })))).toEqual({ code: "NoSuchKey", status: 404 });
    expect((await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "gone.txt" })))).status).toBe(404);
  });

  it("conditional GETs answer 304 Not Modified and 412 PreconditionFailed as S3 does", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "cond.txt", Body: "segment" }));
    expect((await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "cond.txt", IfNoneMatch: put.ETag })))).status).toBe(304);
    expect((await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "cond.txt", IfModifiedSince: new Date(Date.now() + 60_000) })))).status).toBe(304);
    expect(await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "cond.txt", IfMatch: '"0123"' })))).toEqual({ code: "PreconditionFailed", status: 412 });
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "cond.txt", IfMatch: put.ETag, IfModifiedSince: new Date(Date.now() - 3_600_000) }));
    expect(await got.Body!.transformToString()).toBe("segment");
  });

  it("an overwrite is read back as the newest version", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "v.txt", Body: "one" }));
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "v.txt", Body: "two" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "v.txt" }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe("two");
  });

  it("PutObject with requestChecksumCalculation WHEN_REQUIRED (UNSIGNED-PAYLOAD) round-trips", async () => {
    const client = cluster.client({ requestChecksumCalculation: "WHEN_REQUIRED" });
    await client.send(new PutObjectCommand({ Bucket: "videos", Key: "unsigned.txt", Body: "unsigned payload" }));
    const got = await client.send(new GetObjectCommand({ Bucket: "videos", Key: "unsigned.txt" }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe("unsigned payload");
    client.destroy();
  });
});

describe("multipart uploads", () => {
  it("an upload in parts (lib-storage, 5 MiB parts) reads back whole and in ranges that cross parts", async () => {
    const size = 23 * 1024 * 1024 + 3;
    const { body, md5 } = generatedBodyWithDigest(size);
    const upload = new Upload({ client: s3, params: { Bucket: "videos", Key: "multi/movie.mp4", Body: body(), ContentType: "video/mp4" }, partSize: 5 * 1024 * 1024, queueSize: 2 });
    const done = await upload.done();
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-5"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "multi/movie.mp4" }));
    expect(head.ContentLength).toBe(size);
    expect(head.ContentType).toBe("video/mp4");
    expect(head.ETag).toBe(done.ETag);
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "multi/movie.mp4" }));
    expect(await digestOf(got.Body as AsyncIterable<Uint8Array>)).toBe(await md5);
    // A range that starts in part 1 and ends in part 3, compared with the same bytes of a whole read.
    const whole = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "multi/movie.mp4" }))).Body!.transformToByteArray());
    const start = 5 * 1024 * 1024 - 10;
    const end = 10 * 1024 * 1024 + 10;
    const ranged = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "multi/movie.mp4", Range: `bytes=${start}-${end}` }));
    expect(ranged.ContentRange).toBe(`bytes ${start}-${end}/${size}`);
    expect(Buffer.from(await ranged.Body!.transformToByteArray()).equals(whole.subarray(start, end + 1))).toBe(true);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: "multi/" }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([["multi/movie.mp4", size]]);
  });

  it("ListParts, AbortMultipartUpload, and Complete with a wrong ETag (InvalidPart) or a small middle part (EntityTooSmall)", async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: "videos", Key: "multi/aborted" }));
    const uploadId = created.UploadId!;
    const small = await s3.send(new UploadPartCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
    await s3.send(new UploadPartCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId, PartNumber: 2, Body: Buffer.alloc(1024, 2) }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 1024], [2, 1024]]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: "videos" }));
    expect(uploads.Uploads?.map((u) => u.UploadId)).toContain(uploadId);
    expect(await s3ErrorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }] } })))).toEqual({ code: "InvalidPart", status: 400 });
    expect(await s3ErrorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: small.ETag }, { PartNumber: 2, ETag: small.ETag }] } })))).toMatchObject({ status: 400 });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId }));
    expect(await s3ErrorOf(s3.send(new ListPartsCommand({ Bucket: "videos", Key: "multi/aborted", UploadId: uploadId })))).toEqual({ code: "NoSuchUpload", status: 404 });
    expect(await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "multi/aborted" })))).toMatchObject({ status: 404 });
  });
});

describe("CopyObject", () => {
  it("copies a plain object and a multipart object byte for byte, keeping or replacing metadata", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "copy/source.txt", Body: "copy me", ContentType: "text/plain", Metadata: { origin: "a" } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: "videos", Key: "copy/kept.txt", CopySource: "videos/copy/source.txt" }));
    expect(copied.CopyObjectResult?.ETag).toBe(`"${createHash("md5").update("copy me").digest("hex")}"`);
    const kept = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "copy/kept.txt" }));
    expect(await kept.Body!.transformToString()).toBe("copy me");
    expect(kept.Metadata).toEqual({ origin: "a" });
    expect(kept.ContentType).toBe("text/plain");
    await s3.send(new CopyObjectCommand({ Bucket: "videos", Key: "copy/replaced.txt", CopySource: "videos/copy/source.txt", MetadataDirective: "REPLACE", Metadata: { origin: "b" }, ContentType: "text/x-new" }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "copy/replaced.txt" }));
    expect(replaced.Metadata).toEqual({ origin: "b" });
    expect(replaced.ContentType).toBe("text/x-new");
    expect(await s3ErrorOf(s3.send(new CopyObjectCommand({ Bucket: "videos", Key: "copy/x", CopySource: "videos/copy/missing" })))).toEqual({ code: "NoSuchKey", status: 404 });

    const size = 11 * 1024 * 1024;
    const { body, md5 } = generatedBodyWithDigest(size);
    await new Upload({ client: s3, params: { Bucket: "videos", Key: "copy/multi.mp4", Body: body() }, partSize: 5 * 1024 * 1024 }).done();
    await s3.send(new CopyObjectCommand({ Bucket: "videos", Key: "copy/multi-copy.mp4", CopySource: "videos/copy/multi.mp4" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "copy/multi-copy.mp4" }));
    expect(got.ContentLength).toBe(size);
    expect(await digestOf(got.Body as AsyncIterable<Uint8Array>)).toBe(await md5);
  });

  it("UploadPartCopy builds an object from ranges of a plain and a multipart object; a malformed range gets InvalidArgument, one outside the source InvalidRange", async () => {
    const plain = Buffer.alloc(6 * 1024 * 1024 + 5);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 31) % 251;
    await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "upc/plain.bin", Body: plain }));
    const multi = Buffer.concat([Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(3 * 1024 * 1024, 2)]);
    await new Upload({ client: s3, params: { Bucket: "videos", Key: "upc/multi.bin", Body: multi }, partSize: 5 * 1024 * 1024 }).done();

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "videos", Key: "upc/joined.bin" }));
    const part1 = await s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, PartNumber: 1, CopySource: "videos/upc/plain.bin" }));
    // A range that crosses the multipart source's part boundary.
    const [from, to] = [5 * 1024 * 1024 - 100, 5 * 1024 * 1024 + 99];
    const part2 = await s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, PartNumber: 2, CopySource: "videos/upc/multi.bin", CopySourceRange: `bytes=${from}-${to}` }));
    expect(part1.CopyPartResult?.ETag).toBe(`"${createHash("md5").update(plain).digest("hex")}"`);
    expect(part2.CopyPartResult?.ETag).toBe(`"${createHash("md5").update(multi.subarray(from, to + 1)).digest("hex")}"`);
    expect(await s3ErrorOf(s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, PartNumber: 3, CopySource: "videos/upc/plain.bin", CopySourceRange: "bytes=10-" })))).toEqual({ code: "InvalidArgument", status: 400 });
    expect(await s3ErrorOf(s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, PartNumber: 3, CopySource: "videos/upc/plain.bin", CopySourceRange: `bytes=0-${plain.length}` })))).toEqual({ code: "InvalidRange", status: 416 });
    expect(await s3ErrorOf(s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId: "no-such-upload", PartNumber: 1, CopySource: "videos/upc/plain.bin" })))).toEqual({ code: "NoSuchUpload", status: 404 });
    expect(await s3ErrorOf(s3.send(new UploadPartCopyCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, PartNumber: 3, CopySource: "videos/upc/missing.bin" })))).toEqual({ code: "NoSuchKey", status: 404 });

    await s3.send(new CompleteMultipartUploadCommand({ Bucket: "videos", Key: "upc/joined.bin", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: part2.CopyPartResult!.ETag }] } }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "upc/joined.bin" }))).Body!.transformToByteArray());
    expect(got.equals(Buffer.concat([plain, multi.subarray(from, to + 1)]))).toBe(true);
  });

  it("the parts of a multipart object go once it is overwritten by a PUT, replaced by a copy, or deleted", async () => {
    const part = Buffer.alloc(5 * 1024 * 1024, 7);
    /** A two-part object at `key`; returns its upload id. */
    const uploadTwoParts = async (key: string): Promise<string> => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "videos", Key: key }));
      const etags = [];
      for (const PartNumber of [1, 2]) etags.push((await s3.send(new UploadPartCommand({ Bucket: "videos", Key: key, UploadId, PartNumber, Body: part }))).ETag);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: "videos", Key: key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
      return UploadId!;
    };
    const transport = cluster.internalTransport();
    /** Live (not deleted) parts of an upload, over every node. */
    const liveParts = async (uploadId: string): Promise<number> => {
      let live = 0;
      for (const node of cluster.map().nodes) {
        const listed = await transport.send(node.id, { kind: "list-bucket", bucket: "-parts", prefix: `${uploadId}/`, after: "", limit: 100 });
        if (!listed.ok) throw new Error(`${node.id}: ${listed.error.kind} ${listed.error.detail}`);
        live += listed.value.versions.filter((v) => !v.deleted).length;
      }
      return live;
    };
    try {
      const overwritten = await uploadTwoParts("gc/overwritten.mp4");
      const copiedOver = await uploadTwoParts("gc/copied-over.mp4");
      const deleted = await uploadTwoParts("gc/deleted.mp4");
      expect(await liveParts(overwritten)).toBe(2 * 3); // two parts, three replicas each

      await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "gc/overwritten.mp4", Body: "small now" }));
      await s3.send(new PutObjectCommand({ Bucket: "videos", Key: "gc/source.txt", Body: "copied" }));
      await s3.send(new CopyObjectCommand({ Bucket: "videos", Key: "gc/copied-over.mp4", CopySource: "videos/gc/source.txt" }));
      await s3.send(new DeleteObjectCommand({ Bucket: "videos", Key: "gc/deleted.mp4" }));
      for (const uploadId of [overwritten, copiedOver, deleted]) {
        await eventually(async () => (await liveParts(uploadId)) === 0, { timeoutMs: 30_000, what: `parts of upload ${uploadId} collected` });
      }
      expect(await (await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "gc/overwritten.mp4" }))).Body!.transformToString()).toBe("small now");
      expect(await (await s3.send(new GetObjectCommand({ Bucket: "videos", Key: "gc/copied-over.mp4" }))).Body!.transformToString()).toBe("copied");
    } finally {
      await transport.close();
    }
  });
});

describe("bucket operations", () => {
  it("CreateBucket, HeadBucket, ListBuckets, ListObjectsV2, DeleteBucket (BucketNotEmpty while not empty)", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "scratch" }));
    await s3.send(new HeadBucketCommand({ Bucket: "scratch" }));
    expect(await s3ErrorOf(s3.send(new CreateBucketCommand({ Bucket: "scratch" })))).toEqual({ code: "BucketAlreadyOwnedByYou", status: 409 });
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toEqual(expect.arrayContaining(["scratch", "videos"]));
    await s3.send(new PutObjectCommand({ Bucket: "scratch", Key: "a/1", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "scratch", Key: "a/2", Body: "y" }));
    await s3.send(new PutObjectCommand({ Bucket: "scratch", Key: "b", Body: "z" }));
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: "scratch", Delimiter: "/" }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual(["b"]);
    expect(objects.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["a/"]);
    expect(await s3ErrorOf(s3.send(new DeleteBucketCommand({ Bucket: "scratch" })))).toEqual({ code: "BucketNotEmpty", status: 409 });
    for (const key of ["a/1", "a/2", "b"]) await s3.send(new DeleteObjectCommand({ Bucket: "scratch", Key: key }));
    await s3.send(new DeleteBucketCommand({ Bucket: "scratch" }));
    expect(await s3ErrorOf(s3.send(new HeadBucketCommand({ Bucket: "scratch" })))).toMatchObject({ status: 404 });
  });
});

describe("S3 errors", () => {
  it("a wrong secret gets SignatureDoesNotMatch", async () => {
    const client = cluster.client({ credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: "wrong-secret" } });
    expect(await s3ErrorOf(client.send(new ListBucketsCommand({})))).toEqual({ code: "SignatureDoesNotMatch", status: 403 });
    client.destroy();
  });

  it("an unknown access key gets InvalidAccessKeyId", async () => {
    const client = cluster.client({ credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" } });
    expect(await s3ErrorOf(client.send(new ListBucketsCommand({})))).toEqual({ code: "InvalidAccessKeyId", status: 403 });
    client.destroy();
  });

  it("a request without a signature gets AccessDenied", async () => {
    const answer = await rawRequest({ method: "GET", path: "/videos/small/1.bin" });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("<Code>AccessDenied</Code>");
  });

  it("a clock 20 minutes off gets RequestTimeTooSkewed", async () => {
    const client = cluster.client({ systemClockOffset: 20 * 60 * 1000, maxAttempts: 1 });
    expect(await s3ErrorOf(client.send(new ListBucketsCommand({})))).toEqual({ code: "RequestTimeTooSkewed", status: 403 });
    client.destroy();
  });

  it("bad bucket names, missing buckets and keys, and keys over 1024 bytes get their codes", async () => {
    expect(await s3ErrorOf(s3.send(new CreateBucketCommand({ Bucket: "Bad_Name" })))).toEqual({ code: "InvalidBucketName", status: 400 });
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: "no-such-bucket", Key: "k", Body: "x" })))).toEqual({ code: "NoSuchBucket", status: 404 });
    expect(await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: "videos", Key: "never/written" })))).toEqual({ code: "NoSuchKey", status: 404 });
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: "videos", Key: "k".repeat(1025), Body: "x" })))).toEqual({ code: "KeyTooLongError", status: 400 });
  });

  it("a Content-MD5 that does not match the body gets BadDigest and stores nothing", async () => {
    const client = cluster.client({ requestChecksumCalculation: "WHEN_REQUIRED" });
    const wrongMd5 = createHash("md5").update("something else").digest("base64");
    expect(await s3ErrorOf(client.send(new PutObjectCommand({ Bucket: "videos", Key: "bad-md5", Body: "the body", ContentMD5: wrongMd5 })))).toEqual({ code: "BadDigest", status: 400 });
    expect(await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "bad-md5" })))).toMatchObject({ status: 404 });
    client.destroy();
  });

  it("unsupported methods get MethodNotAllowed", async () => {
    const client = cluster.client();
    // Change the method before signing (the build step runs before the SDK signs), so only the method is wrong.
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { method: string }).method = "PATCH";
        return next(args);
      },
      { step: "build" },
    );
    expect(await s3ErrorOf(client.send(new GetObjectCommand({ Bucket: "videos", Key: "small/1.bin" })))).toEqual({ code: "MethodNotAllowed", status: 405 });
    client.destroy();
  });

  it("a body that stops before its Content-Length stores nothing, whether the client waits or hangs up", async () => {
    const target = { endpoint: cluster.endpoint, accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey };
    // The client hangs up half way: nothing may be stored.
    const hungUp = await signedRawRequest(target, { method: "PUT", path: "/videos/incomplete", body: Buffer.alloc(1000, 7), declaredLength: 2_000_000, abortAfterMs: 300 });
    expect(hungUp).toEqual({ aborted: true });
    expect(await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: "videos", Key: "incomplete" })))).toMatchObject({ status: 404 });
  });

  it("a declared size over 5 GiB gets EntityTooLarge before any byte is stored", async () => {
    const client = cluster.client({ requestChecksumCalculation: "WHEN_REQUIRED", maxAttempts: 1 });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers["content-length"] = String(5 * 1024 ** 3 + 1);
        return next(args);
      },
      { step: "build" },
    );
    const error = await s3ErrorOf(client.send(new PutObjectCommand({ Bucket: "videos", Key: "huge", Body: "tiny" })));
    expect(error).toEqual({ code: "EntityTooLarge", status: 400 });
    client.destroy();
  });
});
