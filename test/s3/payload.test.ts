// decodePayload: every body form decodes to the exact object bytes, every check fails with the S3 code AWS
// uses, the decoded stream never 'end's after a failed check, and the aws-chunked parser works for any
// chunking and any way the framed bytes arrive.

import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHECKSUM_ALGORITHMS } from "../../runtime/s3/checksums.ts";
import { CHUNK_LINE_BYTES_MAX, decodePayload, stripAwsChunked } from "../../runtime/s3/payload.ts";
import { chunkSignature, sha256Hex, signingKeyFor, type SigV4Auth } from "../../runtime/s3/sigv4.ts";
import { checksumOf, chunksOf, decodePieces, frameSigned, frameUnsigned, splitAt, unsignedTrailerHeaders } from "./framing.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

function authFor(seedSignature: string, payloadHash: string): SigV4Auth {
  return {
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    signingKey: signingKeyFor(SECRET, "20130524", "us-east-1"),
    scope: "20130524/us-east-1/s3/aws4_request",
    region: "us-east-1",
    amzDate: "20130524T000000Z",
    signature: seedSignature,
    payloadHash,
    presigned: false,
    signedHeaders: ["host"],
  };
}

function errorCode(run: { result: { ok: boolean; error?: { code: string } } }): string | undefined {
  return run.result.ok ? undefined : run.result.error?.code;
}

const md5Base64 = (data: Buffer) => createHash("md5").update(data).digest("base64");

describe("AWS's worked example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (66560 bytes of 'a' in 64 KiB + 1 KiB chunks)", () => {
  const data = Buffer.alloc(66560, "a");
  const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
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
  const headers = {
    "content-encoding": "aws-chunked",
    "content-length": "66824",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "x-amz-decoded-content-length": "66560",
  };
  const auth = authFor(seed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");

  it("computes the documented chunk signatures", () => {
    let previous = seed;
    const chunks = [data.subarray(0, 65536), data.subarray(65536), Buffer.alloc(0)];
    chunks.forEach((chunk, index) => {
      previous = chunkSignature(auth, previous, sha256Hex(chunk));
      expect(previous).toBe(signatures[index]);
    });
    expect(body.length).toBe(66824);
  });

  it("decodes the documented body, delivered in 1000-byte pieces", async () => {
    const run = await decodePieces(chunksOf(body, [1000]), { headers, auth });
    expect(run.result.ok).toBe(true);
    expect(run.ended).toBe(true);
    expect(run.bytes.equals(data)).toBe(true);
  });

  it("refuses the body with SignatureDoesNotMatch when one data byte changes", async () => {
    const corrupted = Buffer.from(body);
    corrupted[66_000] = "b".charCodeAt(0); // inside the second chunk's data
    const run = await decodePieces([corrupted], { headers, auth });
    expect(errorCode(run)).toBe("SignatureDoesNotMatch");
    expect(run.ended).toBe(false);
    expect(run.streamError).toMatchObject({ code: "SignatureDoesNotMatch" });
  });

  it("refuses the body when chained from a different seed signature", async () => {
    const run = await decodePieces([body], { headers, auth: authFor("0".repeat(64), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") });
    expect(errorCode(run)).toBe("SignatureDoesNotMatch");
  });

  it("refuses a body whose final zero-length chunk is missing", async () => {
    const run = await decodePieces([body.subarray(0, body.length - 90)], { headers, auth });
    expect(errorCode(run)).toBe("IncompleteBody");
  });
});

describe("AWS's worked example with a trailer: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER and x-amz-checksum-crc32c", () => {
  const data = Buffer.alloc(66560, "a");
  const body = Buffer.concat([
    Buffer.from("10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"),
    data.subarray(0, 65536),
    Buffer.from("\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"),
    data.subarray(65536),
    Buffer.from("\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"),
    Buffer.from("x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"),
  ]);
  const headers = {
    "content-encoding": "aws-chunked",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "x-amz-decoded-content-length": "66560",
    "x-amz-trailer": "x-amz-checksum-crc32c",
  };
  const auth = authFor("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");

  it("decodes the body and verifies the chunk signatures, the trailer signature and the CRC32C", async () => {
    const run = await decodePieces(chunksOf(body, [4096, 7, 1]), { headers, auth });
    expect(run.result).toMatchObject({ ok: true, value: { checksumAlgorithm: "CRC32C", checksumVerified: true, checksums: { CRC32C: "sOO8/Q==" } } });
    expect(run.bytes.equals(data)).toBe(true);
  });

  it("refuses a changed trailer value with SignatureDoesNotMatch (the trailer is signed)", async () => {
    const tampered = Buffer.from(body.toString("latin1").replace("sOO8/Q==", "AAAAAA=="), "latin1");
    const run = await decodePieces([tampered], { headers, auth });
    expect(errorCode(run)).toBe("SignatureDoesNotMatch");
  });

  it("accepts the variant with an empty line before the trailer and none after it", async () => {
    const variant = Buffer.from(
      body.toString("latin1").replace("f992\r\nx-amz-checksum", "f992\r\n\r\nx-amz-checksum").replace(/\r\n\r\n$/, "\r\n"),
      "latin1",
    );
    const run = await decodePieces([variant], { headers, auth });
    expect(run.result.ok).toBe(true);
    expect(run.bytes.equals(data)).toBe(true);
  });
});

describe("plain bodies", () => {
  const data = Buffer.from("Welcome to Amazon S3.");

  it("verifies a signed payload hash and refuses a different body with XAmzContentSHA256Mismatch", async () => {
    const headers = { "content-length": String(data.length), "x-amz-content-sha256": sha256Hex(data) };
    const good = await decodePieces([data.subarray(0, 5), data.subarray(5)], { headers });
    expect(good.result).toMatchObject({ ok: true, value: { form: "signed", bytesTotal: data.length } });
    const other = Buffer.from(data);
    other[0] = 0x77;
    const bad = await decodePieces([other], { headers });
    expect(errorCode(bad)).toBe("XAmzContentSHA256Mismatch");
    expect(bad.ended).toBe(false);
  });

  it("takes the payload hash from the verified signature rather than from the header", async () => {
    const auth = { ...authFor("0".repeat(64), sha256Hex("something else")), presigned: false };
    const run = await decodePieces([data], { headers: { "content-length": String(data.length), "x-amz-content-sha256": sha256Hex(data) }, auth });
    expect(errorCode(run)).toBe("XAmzContentSHA256Mismatch");
  });

  it("checks Content-MD5 (BadDigest on mismatch, InvalidDigest when malformed)", async () => {
    const ok = await decodePieces([data], { headers: { "content-length": String(data.length), "content-md5": md5Base64(data) } });
    expect(ok.result.ok).toBe(true);
    const mismatch = await decodePieces([data], { headers: { "content-length": String(data.length), "content-md5": md5Base64(Buffer.from("x")) } });
    expect(errorCode(mismatch)).toBe("BadDigest");
    const malformed = await decodePieces([data], { headers: { "content-length": String(data.length), "content-md5": "nope" } });
    expect(malformed.started).toBe(false);
    expect(errorCode(malformed)).toBe("InvalidDigest");
  });

  it("checks every x-amz-checksum-* header and reports the computed value", async () => {
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const good = await decodePieces([data], { headers: { "content-length": String(data.length), [name]: checksumOf(algorithm, data) } });
      expect(good.result, algorithm).toMatchObject({ ok: true, value: { checksumAlgorithm: algorithm, checksumVerified: true } });
      if (good.result.ok) expect(good.result.value.checksums[algorithm]).toBe(checksumOf(algorithm, data));
      const bad = await decodePieces([data], { headers: { "content-length": String(data.length), [name]: checksumOf(algorithm, Buffer.from("other")) } });
      expect(errorCode(bad), algorithm).toBe("BadDigest");
    }
  });

  it("refuses two checksum headers, and a checksum value of the wrong size", async () => {
    const two = await decodePieces([data], { headers: { "x-amz-checksum-crc32": checksumOf("CRC32", data), "x-amz-checksum-sha1": checksumOf("SHA1", data) } });
    expect(errorCode(two)).toBe("InvalidRequest");
    const wrongSize = await decodePieces([data], { headers: { "x-amz-checksum-crc32": checksumOf("SHA1", data) } });
    expect(errorCode(wrongSize)).toBe("InvalidRequest");
  });

  it("answers IncompleteBody when the body ends before Content-Length bytes", async () => {
    const run = await decodePieces([data.subarray(0, 10)], { headers: { "content-length": String(data.length) } });
    expect(errorCode(run)).toBe("IncompleteBody");
    expect(run.ended).toBe(false);
  });

  it("answers IncompleteBody when the source fails (the client went away)", async () => {
    const source = new PassThrough();
    const started = decodePayload(source, { headers: { "content-length": "100" } });
    if (!started.ok) throw new Error("did not start");
    started.value.body.resume();
    started.value.body.on("error", () => undefined);
    source.write(Buffer.alloc(10));
    source.destroy(new Error("socket hang up"));
    const result = await started.value.result;
    expect(result).toMatchObject({ ok: false, error: { code: "IncompleteBody" } });
  });

  it("answers EntityTooLarge before reading when the declared size is over the limit, and while reading when no size was declared", async () => {
    const declared = await decodePieces([data], { headers: { "content-length": "1001" }, bytesMax: 1000 });
    expect(declared.started).toBe(false);
    expect(errorCode(declared)).toBe("EntityTooLarge");
    const undeclared = await decodePieces([Buffer.alloc(600), Buffer.alloc(600)], { headers: {}, bytesMax: 1000 });
    expect(errorCode(undeclared)).toBe("EntityTooLarge");
    expect(undeclared.bytes.length).toBeLessThanOrEqual(1000);
    const chunked = await decodePieces([], { headers: { ...unsignedTrailerHeaders(6 * 1024 * 1024 * 1024) } });
    expect(errorCode(chunked)).toBe("EntityTooLarge");
  });

  it("answers MissingContentLength when a length is required and absent", async () => {
    const run = await decodePieces([data], { headers: {}, requireLength: true });
    expect(errorCode(run)).toBe("MissingContentLength");
    const chunked = await decodePieces([data], { headers: { "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER" } });
    expect(errorCode(chunked)).toBe("MissingContentLength");
  });

  it("refuses a signed aws-chunked body without a header signature", async () => {
    const run = await decodePieces([], { headers: { "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "0" } });
    expect(errorCode(run)).toBe("InvalidRequest");
  });
});

describe("STREAMING-UNSIGNED-PAYLOAD-TRAILER", () => {
  const data = Buffer.from("hello, aws-chunked world: ".repeat(100));

  it("verifies each trailer checksum algorithm and exposes its value", async () => {
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const framed = frameUnsigned(chunksOf(data, [1000]), { name, value: checksumOf(algorithm, data) });
      const run = await decodePieces([framed], { headers: unsignedTrailerHeaders(data.length, algorithm) });
      expect(run.result, algorithm).toMatchObject({ ok: true, value: { checksumAlgorithm: algorithm, checksumVerified: true } });
      expect(run.bytes.equals(data)).toBe(true);
    }
  });

  it("answers BadDigest when the trailer checksum does not match the bytes", async () => {
    const framed = frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", Buffer.from("x")) });
    const run = await decodePieces([framed], { headers: unsignedTrailerHeaders(data.length) });
    expect(errorCode(run)).toBe("BadDigest");
    expect(run.ended).toBe(false);
    expect(run.streamError).toMatchObject({ code: "BadDigest" });
  });

  it("checks a CRC32 trailer the client did not declare in x-amz-trailer", async () => {
    const headers = { ...unsignedTrailerHeaders(data.length) };
    delete (headers as Record<string, string>)["x-amz-trailer"];
    const good = await decodePieces([frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", data) })], { headers });
    expect(good.result.ok).toBe(true);
    const bad = await decodePieces([frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", Buffer.from("x")) })], { headers });
    expect(errorCode(bad)).toBe("BadDigest");
  });

  it("refuses a body whose declared trailer is missing", async () => {
    const run = await decodePieces([frameUnsigned([data])], { headers: unsignedTrailerHeaders(data.length) });
    expect(errorCode(run)).toBe("InvalidRequest");
  });

  it("answers IncompleteBody when the chunks carry fewer bytes than x-amz-decoded-content-length", async () => {
    const framed = frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", data) });
    const run = await decodePieces([framed], { headers: unsignedTrailerHeaders(data.length + 1) });
    expect(errorCode(run)).toBe("IncompleteBody");
  });

  it("refuses chunks that carry more bytes than declared, before passing the extra bytes on", async () => {
    const framed = frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", data) });
    const run = await decodePieces([framed], { headers: unsignedTrailerHeaders(data.length - 1) });
    expect(errorCode(run)).toBe("InvalidRequest");
    expect(run.bytes.length).toBe(0);
  });

  it("answers IncompleteBody when the framing stops in the middle of a chunk", async () => {
    const framed = frameUnsigned([data], { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", data) });
    const run = await decodePieces([framed.subarray(0, 100)], { headers: unsignedTrailerHeaders(data.length) });
    expect(errorCode(run)).toBe("IncompleteBody");
  });

  it("refuses a chunk size line longer than the limit without buffering the rest of the stream", async () => {
    const endless = Buffer.alloc(CHUNK_LINE_BYTES_MAX + 10, "f".charCodeAt(0));
    const run = await decodePieces([endless, Buffer.alloc(1024 * 1024, 0x41)], { headers: unsignedTrailerHeaders(10) });
    expect(errorCode(run)).toBe("InvalidRequest");
  });

  it("refuses framing errors: no CRLF after data, a size that is not hex, data after the end", async () => {
    const headers = unsignedTrailerHeaders(3, "CRC32");
    const trailer = `x-amz-checksum-crc32:${checksumOf("CRC32", Buffer.from("abc"))}\r\n\r\n`;
    for (const framed of [`3\r\nabcXY0\r\n${trailer}`, `z\r\nabc\r\n0\r\n${trailer}`, `3\r\nabc\r\n0\r\n${trailer}garbage`]) {
      const run = await decodePieces([Buffer.from(framed)], { headers });
      expect(errorCode(run), JSON.stringify(framed)).toBe("InvalidRequest");
    }
    const good = await decodePieces([Buffer.from(`3\r\nabc\r\n0\r\n${trailer}`)], { headers });
    expect(good.result.ok).toBe(true);
  });

  it("passes data on as it arrives, without waiting for the end of a chunk", async () => {
    const source = new PassThrough();
    const started = decodePayload(source, { headers: unsignedTrailerHeaders(1 << 20) });
    if (!started.ok) throw new Error("did not start");
    source.write(Buffer.from(`${(1 << 20).toString(16)}\r\n`));
    source.write(Buffer.alloc(1000, 0x61));
    const first = await new Promise<Buffer>((resolve) => started.value.body.once("data", resolve));
    expect(first.length).toBe(1000);
    started.value.body.destroy();
    source.destroy();
  });
});

describe("stripAwsChunked", () => {
  it("removes only aws-chunked", () => {
    expect(stripAwsChunked("aws-chunked")).toBeUndefined();
    expect(stripAwsChunked("gzip,aws-chunked")).toBe("gzip");
    expect(stripAwsChunked("aws-chunked, gzip")).toBe("gzip");
    expect(stripAwsChunked("gzip, br")).toBe("gzip,br");
    expect(stripAwsChunked(undefined)).toBeUndefined();
  });
});

describe("aws-chunked properties", () => {
  const bytesArbitrary = fc.uint8Array({ minLength: 0, maxLength: 3000 }).map((array) => Buffer.from(array));
  const chunkSizesArbitrary = fc.array(fc.integer({ min: 1, max: 1200 }), { minLength: 1, maxLength: 8 });
  const splitsArbitrary = fc.array(fc.nat({ max: 4000 }), { maxLength: 40 });
  const auth = authFor("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");

  it("decoding any chunking of any bytes, arriving split anywhere, returns the bytes (unsigned, CRC32 trailer)", async () => {
    await fc.assert(
      fc.asyncProperty(bytesArbitrary, chunkSizesArbitrary, splitsArbitrary, async (data, sizes, splits) => {
        const framed = frameUnsigned(chunksOf(data, sizes), { name: "x-amz-checksum-crc32", value: checksumOf("CRC32", data) });
        const run = await decodePieces(splitAt(framed, splits), { headers: unsignedTrailerHeaders(data.length) });
        expect(run.result.ok).toBe(true);
        expect(run.ended).toBe(true);
        expect(run.bytes.equals(data)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("decoding any chunking of any bytes, arriving split anywhere, returns the bytes (signed chunks, signed trailer)", async () => {
    await fc.assert(
      fc.asyncProperty(bytesArbitrary, chunkSizesArbitrary, splitsArbitrary, async (data, sizes, splits) => {
        const framed = frameSigned(chunksOf(data, sizes), auth, { name: "x-amz-checksum-sha256", value: checksumOf("SHA256", data) });
        const headers = {
          "content-encoding": "aws-chunked",
          "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
          "x-amz-decoded-content-length": String(data.length),
          "x-amz-trailer": "x-amz-checksum-sha256",
        };
        const run = await decodePieces(splitAt(framed, splits), { headers, auth });
        expect(run.result.ok).toBe(true);
        expect(run.bytes.equals(data)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("a signed stream with any one byte changed is never accepted with different bytes", async () => {
    await fc.assert(
      fc.asyncProperty(bytesArbitrary, chunkSizesArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), async (data, sizes, position, flip) => {
        const framed = frameSigned(chunksOf(data, sizes), { ...auth, signature: auth.signature });
        const corrupted = Buffer.from(framed);
        const index = position % corrupted.length;
        corrupted[index] = corrupted[index]! ^ flip;
        const headers = {
          "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
          "x-amz-decoded-content-length": String(data.length),
        };
        const run = await decodePieces([corrupted], { headers, auth: { ...auth, payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" } });
        if (run.result.ok) expect(run.bytes.equals(data)).toBe(true);
        else expect(run.ended).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("crc32Always", () => {
  it("skips CRC32 when turned off and the client asked for no checksum, computes it when asked", async () => {
    const data = Buffer.from("abc");
    const off = await decodePieces([data], { headers: { "content-length": "3" }, crc32Always: false });
    expect(off.result).toMatchObject({ ok: true, value: { crc32Base64: undefined, checksums: {} } });
    const asked = await decodePieces([data], { headers: { "content-length": "3", "x-amz-checksum-crc32": checksumOf("CRC32", data) }, crc32Always: false });
    expect(asked.result).toMatchObject({ ok: true, value: { crc32Base64: checksumOf("CRC32", data), checksumVerified: true } });
    const always = await decodePieces([data], { headers: { "content-length": "3" } });
    expect(always.result).toMatchObject({ ok: true, value: { crc32Base64: checksumOf("CRC32", data) } });
  });
});
