// The real AWS SDK v3 against verifySigV4 + decodePayload: every body form the SDK sends is accepted and
// decoded to the exact bytes; wrong keys, skewed clocks, corrupted and truncated bodies get the S3 error
// AWS would send, and the SDK reads our error XML back as that code.

import { createHash, createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { Readable, Transform } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CompleteMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { SignatureV4 } from "@smithy/signature-v4";
import { contentRange, parseRange } from "../../runtime/s3/range.ts";
import { parseCompleteMultipartUpload, parseDeleteObjects, renderCompleteMultipartUpload, renderInitiateMultipartUpload, renderDeleteResult, renderListObjectsV2 } from "../../runtime/s3/xml.ts";
import { ACCESS_KEY, SECRET_KEY, s3Client, startS3Server, type Exchange, type TestS3Server } from "./harness.ts";

let server: TestS3Server;

beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

function pattern(bytes: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");

function payloadOf(exchange: Exchange) {
  expect(exchange.payload?.ok, JSON.stringify(exchange.payload)).toBe(true);
  if (exchange.payload?.ok !== true) throw new Error("unreachable");
  return exchange.payload.value;
}

/** An SDK request handler that lets a test rewrite the signed request just before it goes on the wire. */
function tamperingHandler(tamper: (request: { headers: Record<string, string>; body: unknown }) => void) {
  const inner = new NodeHttpHandler();
  return {
    handle: (request: { headers: Record<string, string>; body: unknown }, options?: unknown) => {
      tamper(request);
      return inner.handle(request as never, options as never);
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
}

/** A Transform that flips one byte at a given offset of the stream. */
function flipByteAt(offset: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (seen <= offset && offset < seen + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[offset - seen] = chunk[offset - seen]! ^ 0xff;
      }
      seen += chunk.length;
      callback(null, chunk);
    },
  });
}

/** A Transform that passes only the first `bytes` bytes of the stream. */
function truncateTo(bytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const room = Math.max(0, bytes - seen);
      seen += chunk.length;
      callback(null, chunk.subarray(0, room));
    },
  });
}

describe("AWS SDK v3 PutObject through verifySigV4 and decodePayload", () => {
  let client: S3Client;
  beforeAll(() => {
    client = s3Client(server);
  });

  it("accepts a Buffer body sent with a signed payload hash and a CRC32 header", async () => {
    const data = pattern(300_000);
    const output = await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "dir/a b+c~!.bin", Body: data }));
    const exchange = await server.nextExchange();
    expect(exchange.headers["x-amz-content-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(exchange.rawPath).toBe("/bucket/dir/a%20b%2Bc~%21.bin");
    const summary = payloadOf(exchange);
    expect(summary.form).toBe("signed");
    expect(exchange.bytes!.equals(data)).toBe(true);
    expect(summary.md5Hex).toBe(md5(data));
    expect(summary.checksumAlgorithm).toBe("CRC32");
    expect(summary.checksumVerified).toBe(true);
    expect(summary.crc32Base64).toBe(exchange.headers["x-amz-checksum-crc32"]);
    expect(output.ETag).toBe(`"${md5(data)}"`);
  });

  it("accepts a stream body with ContentLength as aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer", async () => {
    const data = pattern(3 * 65536 + 123, 7);
    const pieces = [data.subarray(0, 65536), data.subarray(65536, 100_000), data.subarray(100_000)];
    await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "video.mp4", Body: Readable.from(pieces), ContentLength: data.length }));
    const exchange = await server.nextExchange();
    expect(exchange.headers["x-amz-content-sha256"]).toBe("STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    expect(exchange.headers["content-encoding"]).toContain("aws-chunked");
    expect(exchange.headers["content-length"]).toBeUndefined();
    const summary = payloadOf(exchange);
    expect(summary.form).toBe("streaming-unsigned-trailer");
    expect(exchange.bytes!.equals(data)).toBe(true);
    expect(summary.md5Hex).toBe(md5(data));
    expect(summary.trailers["x-amz-checksum-crc32"]).toBe(summary.crc32Base64);
    expect(summary.checksumVerified).toBe(true);
  });

  it("accepts UNSIGNED-PAYLOAD when the client computes checksums only when required", async () => {
    const unsignedClient = s3Client(server, { requestChecksumCalculation: "WHEN_REQUIRED" });
    const data = pattern(70_000, 3);
    await unsignedClient.send(new PutObjectCommand({ Bucket: "bucket", Key: "u", Body: Readable.from([data]), ContentLength: data.length }));
    const exchange = await server.nextExchange();
    expect(exchange.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    const summary = payloadOf(exchange);
    expect(summary.form).toBe("unsigned");
    expect(summary.checksumAlgorithm).toBeUndefined();
    expect(exchange.bytes!.equals(data)).toBe(true);
    expect(summary.md5Hex).toBe(md5(data));
  });

  it("accepts an empty object", async () => {
    await client.send(new PutObjectCommand({ Bucket: "bucket", Key: "empty", Body: Buffer.alloc(0) }));
    const summary = payloadOf(await server.nextExchange());
    expect(summary.bytesTotal).toBe(0);
    expect(summary.md5Hex).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });

  it("answers SignatureDoesNotMatch to a client with the wrong secret", async () => {
    const wrong = s3Client(server, { credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY + "x" } });
    await expect(wrong.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "hello" }))).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
      $metadata: { httpStatusCode: 403 },
    });
    const exchange = await server.nextExchange();
    expect(exchange.error?.code).toBe("SignatureDoesNotMatch");
    expect(exchange.payload).toBeUndefined();
  });

  it("answers InvalidAccessKeyId to an unknown access key", async () => {
    const unknown = s3Client(server, { credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: SECRET_KEY } });
    await expect(unknown.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "hello" }))).rejects.toMatchObject({
      name: "InvalidAccessKeyId",
    });
    expect((await server.nextExchange()).error?.code).toBe("InvalidAccessKeyId");
  });

  it("answers RequestTimeTooSkewed to a client whose clock is 20 minutes fast", async () => {
    const skewed = s3Client(server, { systemClockOffset: 20 * 60 * 1000 });
    await expect(skewed.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "hello" }))).rejects.toMatchObject({
      name: "RequestTimeTooSkewed",
      $metadata: { httpStatusCode: 403 },
    });
    expect((await server.nextExchange()).error?.code).toBe("RequestTimeTooSkewed");
  });

  it("accepts a client whose clock is 10 minutes slow", async () => {
    const skewed = s3Client(server, { systemClockOffset: -10 * 60 * 1000 });
    await skewed.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: "hello" }));
    expect(payloadOf(await server.nextExchange()).bytesTotal).toBe(5);
  });

  it("answers XAmzContentSHA256Mismatch when a signed body is corrupted on the way", async () => {
    const data = pattern(50_000, 11);
    const corrupting = s3Client(server, {
      requestHandler: tamperingHandler((request) => {
        const body = Buffer.from(request.body as Uint8Array);
        body[1234] = body[1234]! ^ 0x01;
        request.body = body;
      }) as never,
    });
    await expect(corrupting.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: data }))).rejects.toMatchObject({
      name: "XAmzContentSHA256Mismatch",
      $metadata: { httpStatusCode: 400 },
    });
    const exchange = await server.nextExchange();
    expect(exchange.payload?.ok).toBe(false);
    expect(exchange.streamError).toBeDefined(); // the decoded stream never ended normally
  });

  it("answers BadDigest when an aws-chunked body is corrupted so its CRC32 trailer does not match", async () => {
    const data = pattern(40_000, 13);
    const corrupting = s3Client(server, {
      requestHandler: tamperingHandler((request) => {
        request.body = (request.body as Readable).pipe(flipByteAt(30_000));
      }) as never,
    });
    await expect(
      corrupting.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: Readable.from([data]), ContentLength: data.length })),
    ).rejects.toMatchObject({ name: "BadDigest" });
    const exchange = await server.nextExchange();
    expect(exchange.error?.code).toBe("BadDigest");
    expect(exchange.streamError).toBeDefined();
  });

  it("answers IncompleteBody when an aws-chunked body stops before its declared length", async () => {
    const data = pattern(40_000, 17);
    const truncating = s3Client(server, {
      requestHandler: tamperingHandler((request) => {
        request.body = (request.body as Readable).pipe(truncateTo(20_000));
      }) as never,
    });
    await expect(
      truncating.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: Readable.from([data]), ContentLength: data.length })),
    ).rejects.toMatchObject({ name: "IncompleteBody" });
    const exchange = await server.nextExchange();
    expect(exchange.error?.code).toBe("IncompleteBody");
    expect(exchange.bytes!.length).toBeLessThan(20_000);
  });

  it("reports IncompleteBody when the connection closes before Content-Length bytes of a signed body", async () => {
    // Capture what the SDK would send, then replay it by hand with half the body and a closed socket.
    let captured: { method: string; path: string; headers: Record<string, string>; body: Buffer } | undefined;
    const capturing = s3Client(server, {
      requestHandler: {
        handle: async (request: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: unknown }) => {
          const query = Object.entries(request.query)
            .map(([name, value]) => (value === null ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`))
            .join("&");
          const path = query === "" ? request.path : `${request.path}?${query}`;
          captured = { method: request.method, path, headers: request.headers, body: Buffer.from(request.body as Uint8Array) };
          throw new Error("captured");
        },
        updateHttpClientConfig: () => undefined,
        httpHandlerConfigs: () => ({}),
      } as never,
    });
    const data = pattern(10_000, 19);
    await expect(capturing.send(new PutObjectCommand({ Bucket: "bucket", Key: "cut", Body: data }))).rejects.toThrow("captured");
    const request = captured!;
    const head = [`${request.method} ${request.path} HTTP/1.1`, ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`), "", ""].join("\r\n");
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(head);
    socket.end(request.body.subarray(0, 4000));
    const exchange = await server.nextExchange();
    socket.destroy();
    expect(exchange.error?.code).toBe("IncompleteBody");
    expect(exchange.payload?.ok).toBe(false);
    expect(exchange.bytes!.length).toBe(4000);
  });
});

describe("AWS's worked example of STREAMING-AWS4-HMAC-SHA256-PAYLOAD, sent over HTTP", () => {
  const data = Buffer.alloc(66560, "a");
  const signatures = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  ];
  const body = Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
    data.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
    data.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n\r\n`),
  ]);

  function send(payload: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: "127.0.0.1",
          port: server.port,
          method: "PUT",
          path: "/examplebucket/chunkObject.txt",
          headers: {
            Host: "s3.amazonaws.com",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            Authorization:
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
              "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
              "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": "66560",
            "Content-Length": "66824",
          },
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on("data", (part: Buffer) => parts.push(part));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  }

  it("accepts the documented request and decodes 66560 bytes of 'a'", async () => {
    server.nowMs = () => Date.UTC(2013, 4, 24, 0, 5, 0);
    try {
      const response = await send(body);
      expect(response.status).toBe(200);
      const exchange = await server.nextExchange();
      expect(payloadOf(exchange).form).toBe("streaming-signed");
      expect(exchange.bytes!.equals(data)).toBe(true);
    } finally {
      server.nowMs = () => Date.now();
    }
  });

  it("answers SignatureDoesNotMatch with AWS's error XML when a chunk was altered", async () => {
    server.nowMs = () => Date.UTC(2013, 4, 24, 0, 5, 0);
    try {
      const altered = Buffer.from(body);
      altered[1000] = "b".charCodeAt(0);
      const response = await send(altered);
      expect(response.status).toBe(403);
      expect(response.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SignatureDoesNotMatch<\/Code><Message>[^<]+<\/Message><Resource>\/examplebucket\/chunkObject.txt<\/Resource><RequestId>TESTREQUESTID<\/RequestId><\/Error>$/);
      expect((await server.nextExchange()).error?.code).toBe("SignatureDoesNotMatch");
    } finally {
      server.nowMs = () => Date.now();
    }
  });

  it("answers RequestTimeTooSkewed to the documented request today", async () => {
    const response = await send(body);
    expect(response.status).toBe(403);
    expect(response.body).toContain("<Code>RequestTimeTooSkewed</Code>");
    expect(response.body).toContain("<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>");
    await server.nextExchange();
  });
});

describe("AWS SDK v3 GetObject", () => {
  it("signs a GET with a Range that verifies, and reads our 206 answer", async () => {
    const client = s3Client(server);
    const object = Buffer.from("0123456789abcdef");
    server.respond = (exchange) => {
      const range = parseRange(exchange.headers.range as string | undefined, object.length);
      if (range.kind !== "range") return { status: 200, body: object.toString() };
      return {
        status: 206,
        headers: { "Content-Range": contentRange(range.start, range.endInclusive, object.length), ETag: '"e"' },
        body: object.subarray(range.start, range.endInclusive + 1).toString(),
      };
    };
    const output = await client.send(new GetObjectCommand({ Bucket: "bucket", Key: "k", Range: "bytes=-4" }));
    expect(await output.Body?.transformToString()).toBe("cdef");
    expect(output.ContentRange).toBe("bytes 12-15/16");
    const exchange = await server.nextExchange();
    expect(exchange.method).toBe("GET");
    expect(payloadOf(exchange).bytesTotal).toBe(0);
  });

  it("answers AccessDenied to a request without any signature", async () => {
    const response = await fetch(`${server.endpoint}/bucket/k`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("<Code>AccessDenied</Code>");
    expect((await server.nextExchange()).error?.code).toBe("AccessDenied");
  });
});

describe("presigned URLs", () => {
  const signer = new SignatureV4({
    service: "s3",
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    sha256: class {
      private readonly hash;
      constructor(secret?: Uint8Array | string) {
        this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", secret);
      }
      update(data: Uint8Array | string) {
        this.hash.update(data);
      }
      async digest() {
        return new Uint8Array(this.hash.digest());
      }
    } as never,
    uriEscapePath: false,
    applyChecksum: false,
  });

  async function presignedGet(path: string, expiresIn: number, signingDate?: Date): Promise<number> {
    const presigned = await signer.presign(
      {
        method: "GET",
        protocol: "http:",
        hostname: "127.0.0.1",
        port: server.port,
        path,
        // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, and that header is neither
        // signed nor moved into the query.
        headers: { host: `127.0.0.1:${server.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
        query: {},
      } as never,
      {
        expiresIn,
        unsignableHeaders: new Set(["x-amz-content-sha256"]),
        unhoistableHeaders: new Set(["x-amz-content-sha256"]),
        ...(signingDate === undefined ? {} : { signingDate }),
      },
    );
    const query = Object.entries(presigned.query as Record<string, string>)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      .join("&");
    const response = await fetch(`${server.endpoint}${path}?${query}`);
    await response.arrayBuffer();
    return response.status;
  }

  it("accepts a presigned GET and refuses it once expired", async () => {
    const status = await presignedGet("/bucket/some%20key", 60);
    const ok = await server.nextExchange();
    expect(status, JSON.stringify(ok.error?.extra ?? ok.error?.message)).toBe(200);
    expect(ok.auth?.presigned).toBe(true);

    expect(await presignedGet("/bucket/some%20key", 60, new Date(Date.now() - 120_000))).toBe(403);
    const expired = await server.nextExchange();
    expect(expired.error?.code).toBe("AccessDenied");
    expect(expired.error?.message).toBe("Request has expired");
  });
});

describe("XML bodies through the SDK's own parsers", () => {
  let client: S3Client;
  beforeAll(() => {
    client = s3Client(server);
  });

  it("parses the SDK's CompleteMultipartUpload body and the SDK reads our result", async () => {
    server.respond = (exchange) => {
      const parsed = parseCompleteMultipartUpload(exchange.bytes!);
      if (!parsed.ok) return { status: 400, body: parsed.error.code };
      expect(parsed.value.parts.map((part) => [part.partNumber, part.etag, part.checksums.CRC32])).toEqual([
        [1, "etag-1", "AAAAAA=="],
        [2, "etag-2", undefined],
      ]);
      return {
        status: 200,
        body: renderCompleteMultipartUpload({ location: "http://x/bucket/k", bucket: "bucket", key: "k & <v>", etag: "abc-2", checksums: { CRC32: "AAAAAA==" } }),
      };
    };
    {
      const output = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "bucket",
          Key: "k",
          UploadId: "upload-1",
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"etag-1"', ChecksumCRC32: "AAAAAA==" }, { PartNumber: 2, ETag: '"etag-2"' }] },
        }),
      );
      expect(output.Key).toBe("k & <v>");
      expect(output.ETag).toBe('"abc-2"');
      expect(output.ChecksumCRC32).toBe("AAAAAA==");
    }
    await server.nextExchange();
  });

  it("parses the SDK's DeleteObjects body (keys with markup characters and spaces survive) and the SDK reads DeleteResult", async () => {
    const keys = ["plain", " leading and trailing ", "a&b<c>\"d'", "ünïcödé/€", "0123"];
    server.respond = (exchange) => {
      const parsed = parseDeleteObjects(exchange.bytes!);
      if (!parsed.ok) return { status: 400, body: parsed.error.code };
      expect(parsed.value.objects.map((object) => object.key)).toEqual(keys);
      expect(parsed.value.quiet).toBe(false);
      return {
        status: 200,
        body: renderDeleteResult({
          deleted: parsed.value.objects.slice(1).map((object) => ({ key: object.key })),
          errors: [{ key: keys[0]!, code: "AccessDenied", message: "Access Denied" }],
        }),
      };
    };
    {
      const output = await client.send(new DeleteObjectsCommand({ Bucket: "bucket", Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      expect(output.Deleted?.map((entry) => entry.Key)).toEqual(keys.slice(1));
      expect(output.Errors?.[0]).toMatchObject({ Key: "plain", Code: "AccessDenied" });
    }
    await server.nextExchange();
  });

  it("renders ListObjectsV2 that the SDK parses back to the same keys, prefixes and tokens", async () => {
    const keys = ["a/b c.mp4", "x&y<z>.txt", "ünï/€"];
    server.respond = () => ({
      status: 200,
      body: renderListObjectsV2({
        bucket: "bucket",
        prefix: "",
        maxKeys: 3,
        delimiter: "/",
        isTruncated: true,
        continuationToken: "tok-1",
        nextContinuationToken: "tok/2+=",
        contents: keys.map((key, index) => ({ key, lastModifiedMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6), etag: `etag${index}`, size: index * 1000 })),
        commonPrefixes: ["dir & more/"],
      }),
    });
    {
      const output = await client.send(new ListObjectsV2Command({ Bucket: "bucket", Delimiter: "/", ContinuationToken: "tok-1" }));
      expect(output.Contents?.map((entry) => entry.Key)).toEqual(keys);
      expect(output.Contents?.[1]).toMatchObject({ ETag: '"etag1"', Size: 1000, StorageClass: "STANDARD" });
      expect(output.Contents?.[0]?.LastModified?.toISOString()).toBe("2026-01-02T03:04:05.006Z");
      expect(output.CommonPrefixes?.map((entry) => entry.Prefix)).toEqual(["dir & more/"]);
      expect(output.IsTruncated).toBe(true);
      expect(output.KeyCount).toBe(4);
      expect(output.NextContinuationToken).toBe("tok/2+=");
    }
    const exchange = await server.nextExchange();
    expect(exchange.rawQuery).toContain("continuation-token=tok-1");
  });
});

describe("@aws-sdk/lib-storage Upload (multipart) through the same decoder", () => {
  it("uploads a 12 MiB stream as three parts whose bytes, ETags and CRC32s the server verifies, then completes", async () => {
    const data = pattern(12 * 1024 * 1024 + 5, 23);
    const parts = new Map<number, Buffer>();
    const firstExchange = server.exchanges.length;
    server.respond = (exchange) => {
      const query = new URLSearchParams(exchange.rawQuery);
      if (exchange.method === "POST" && query.has("uploads")) {
        return { status: 200, body: renderInitiateMultipartUpload({ bucket: "bucket", key: "big.mp4", uploadId: "upload-7", checksumAlgorithm: "CRC32" }) };
      }
      if (exchange.method === "PUT" && query.get("uploadId") === "upload-7") {
        const summary = payloadOf(exchange);
        parts.set(Number(query.get("partNumber")), exchange.bytes!);
        return { status: 200, headers: { ETag: `"${summary.md5Hex}"`, "x-amz-checksum-crc32": summary.crc32Base64! } };
      }
      if (exchange.method === "POST" && query.get("uploadId") === "upload-7") {
        const parsed = parseCompleteMultipartUpload(exchange.bytes!);
        if (!parsed.ok) return { status: 400, body: parsed.error.code };
        const ordered = parsed.value.parts.map((part) => parts.get(part.partNumber)!);
        expect(parsed.value.parts.map((part) => part.etag)).toEqual(ordered.map((part) => md5(part)));
        expect(Buffer.concat(ordered).equals(data)).toBe(true);
        return { status: 200, body: renderCompleteMultipartUpload({ location: `${server.endpoint}/bucket/big.mp4`, bucket: "bucket", key: "big.mp4", etag: "multi-3" }) };
      }
      return { status: 500, body: "unexpected" };
    };
    const upload = new Upload({
      client: s3Client(server),
      params: { Bucket: "bucket", Key: "big.mp4", Body: Readable.from([data.subarray(0, 7_000_000), data.subarray(7_000_000)]) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const output = await upload.done();
    expect(output.ETag).toBe('"multi-3"');
    expect(parts.size).toBe(3);
    const partExchanges = server.exchanges.slice(firstExchange).filter((exchange) => exchange.method === "PUT");
    expect(partExchanges.map((exchange) => payloadOf(exchange).form)).toEqual(["signed", "signed", "signed"]);
    expect(partExchanges.every((exchange) => payloadOf(exchange).checksumVerified)).toBe(true);
  });
});
