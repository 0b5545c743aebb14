// verifySigV4 against AWS's published examples (header and presigned), the canonicalisation rules S3
// uses, and the error code for each way a request can be wrong.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  EMPTY_SHA256_HEX,
  canonicalQuery,
  canonicalUri,
  chunkSignature,
  formatAmzDate,
  hmacSha256,
  parseAmzDate,
  sha256Hex,
  signingKeyFor,
  splitRequestUrl,
  trailerSignature,
  verifySigV4,
  type SigV4Request,
} from "../../runtime/s3/sigv4.ts";

const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_MS = Date.UTC(2013, 4, 24, 0, 0, 0);
const lookupSecret = (accessKey: string) => (accessKey === ACCESS_KEY ? SECRET : undefined);

function authorization(signedHeaders: string, signature: string, credentialScope = "20130524/us-east-1/s3/aws4_request"): string {
  return `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${credentialScope},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

// "Example: GET Object" from "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk".
const getObject: SigV4Request = {
  method: "GET",
  rawPath: "/test.txt",
  rawQuery: "",
  headers: {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_SHA256_HEX,
    "x-amz-date": "20130524T000000Z",
    authorization: authorization("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
  },
};

describe("AWS's published SigV4 examples", () => {
  it("accepts GET Object (Range header signed)", async () => {
    const result = await verifySigV4(getObject, { lookupSecret, nowMs: EXAMPLE_MS });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      accessKey: ACCESS_KEY,
      scope: "20130524/us-east-1/s3/aws4_request",
      region: "us-east-1",
      amzDate: "20130524T000000Z",
      signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      payloadHash: EMPTY_SHA256_HEX,
      presigned: false,
    });
  });

  it("accepts PUT Object with a '$' in the key, whether the client escaped it or not, and a Date header signed", async () => {
    for (const rawPath of ["/test%24file.text", "/test$file.text"]) {
      const result = await verifySigV4(
        {
          method: "PUT",
          rawPath,
          rawQuery: "",
          headers: {
            host: "examplebucket.s3.amazonaws.com",
            date: "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            authorization: authorization(
              "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            ),
          },
        },
        { lookupSecret, nowMs: EXAMPLE_MS },
      );
      expect(result.ok, rawPath).toBe(true);
    }
  });

  it("accepts GET Bucket lifecycle (a query parameter without a value) and list objects (query sorted)", async () => {
    const headers = { host: "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": EMPTY_SHA256_HEX, "x-amz-date": "20130524T000000Z" };
    const lifecycle = await verifySigV4(
      {
        method: "GET",
        rawPath: "/",
        rawQuery: "lifecycle",
        headers: { ...headers, authorization: authorization("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") },
      },
      { lookupSecret, nowMs: EXAMPLE_MS },
    );
    expect(lifecycle.ok).toBe(true);
    const list = await verifySigV4(
      {
        method: "GET",
        rawPath: "/",
        rawQuery: "prefix=J&max-keys=2",
        headers: { ...headers, authorization: authorization("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") },
      },
      { lookupSecret, nowMs: EXAMPLE_MS },
    );
    expect(list.ok).toBe(true);
  });

  it("accepts the seed request of the chunked upload example", async () => {
    const result = await verifySigV4(
      {
        method: "PUT",
        rawPath: "/examplebucket/chunkObject.txt",
        rawQuery: "",
        headers: {
          host: "s3.amazonaws.com",
          "x-amz-date": "20130524T000000Z",
          "x-amz-storage-class": "REDUCED_REDUNDANCY",
          "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
          "content-encoding": "aws-chunked",
          "x-amz-decoded-content-length": "66560",
          "content-length": "66824",
          authorization: authorization(
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
          ),
        },
      },
      { lookupSecret, nowMs: EXAMPLE_MS },
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.payloadHash).toBe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  });

  it("accepts the presigned GET example within its 86400 s and refuses it after", async () => {
    const rawQuery =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const request = { method: "GET", rawPath: "/test.txt", rawQuery, headers: { host: "examplebucket.s3.amazonaws.com" } };
    const fresh = await verifySigV4(request, { lookupSecret, nowMs: EXAMPLE_MS + 86_399_000 });
    expect(fresh.ok).toBe(true);
    if (fresh.ok) expect(fresh.value).toMatchObject({ presigned: true, payloadHash: "UNSIGNED-PAYLOAD" });
    const expired = await verifySigV4(request, { lookupSecret, nowMs: EXAMPLE_MS + 86_401_000 });
    expect(expired).toMatchObject({ ok: false, error: { code: "AccessDenied", message: "Request has expired" } });
    const tampered = await verifySigV4({ ...request, rawPath: "/test2.txt" }, { lookupSecret, nowMs: EXAMPLE_MS });
    expect(tampered).toMatchObject({ ok: false, error: { code: "SignatureDoesNotMatch" } });
  });

  it("derives the documented trailer signature", () => {
    const auth = { signingKey: signingKeyFor(SECRET, "20130524", "us-east-1"), amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request" };
    expect(trailerSignature(auth, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992", "x-amz-checksum-crc32c:sOO8/Q==\n")).toBe(
      "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
    );
    expect(chunkSignature(auth, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", sha256Hex(Buffer.alloc(65536, "a")))).toBe(
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    );
  });
});

describe("errors", () => {
  const verify = (request: SigV4Request, nowMs = EXAMPLE_MS) => verifySigV4(request, { lookupSecret, nowMs });
  const withHeaders = (headers: Record<string, string | undefined>): SigV4Request => ({ ...getObject, headers: { ...getObject.headers, ...headers } });

  it("AccessDenied without any authentication", async () => {
    expect(await verify(withHeaders({ authorization: undefined }))).toMatchObject({ ok: false, error: { code: "AccessDenied", status: 403 } });
  });

  it("SignatureDoesNotMatch for a wrong signature, a changed signed header, method, path or query", async () => {
    const wrongSignature = withHeaders({ authorization: authorization("host;range;x-amz-content-sha256;x-amz-date", "0".repeat(64)) });
    for (const request of [
      wrongSignature,
      withHeaders({ range: "bytes=0-10" }),
      { ...getObject, method: "HEAD" },
      { ...getObject, rawPath: "/test.txt2" },
      { ...getObject, rawQuery: "x=1" },
      withHeaders({ authorization: authorization("host;range;x-amz-content-sha256;x-amz-date", "F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41") }),
    ]) {
      expect(await verify(request)).toMatchObject({ ok: false, error: { code: "SignatureDoesNotMatch", status: 403 } });
    }
  });

  it("accepts changes to headers that were not signed and to whitespace inside signed values", async () => {
    expect((await verify(withHeaders({ "user-agent": "anything", range: "  bytes=0-9 " }))).ok).toBe(true);
  });

  it("InvalidAccessKeyId for an unknown access key", async () => {
    const request = withHeaders({ authorization: getObject.headers.authorization!.toString().replace(ACCESS_KEY, "AKIDNOBODY") });
    expect(await verify(request)).toMatchObject({ ok: false, error: { code: "InvalidAccessKeyId" } });
  });

  it("RequestTimeTooSkewed beyond 15 minutes either way, accepted within", async () => {
    const minute = 60_000;
    expect((await verify(getObject, EXAMPLE_MS + 15 * minute)).ok).toBe(true);
    expect((await verify(getObject, EXAMPLE_MS - 15 * minute)).ok).toBe(true);
    expect(await verify(getObject, EXAMPLE_MS + 15 * minute + 1000)).toMatchObject({ ok: false, error: { code: "RequestTimeTooSkewed", status: 403 } });
    expect(await verify(getObject, EXAMPLE_MS - 16 * minute)).toMatchObject({ ok: false, error: { code: "RequestTimeTooSkewed" } });
  });

  it("AuthorizationHeaderMalformed for a bad credential scope, a scope date that is not the request date, a region not allowed", async () => {
    const signed = "host;range;x-amz-content-sha256;x-amz-date";
    const signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    for (const scope of ["20130524/us-east-1/s3", "20130524/us-east-1/ec2/aws4_request", "20130524/us-east-1/s3/aws5_request", "20130525/us-east-1/s3/aws4_request"]) {
      expect(await verify(withHeaders({ authorization: authorization(signed, signature, scope) })), scope).toMatchObject({
        ok: false,
        error: { code: "AuthorizationHeaderMalformed", status: 400 },
      });
    }
    expect(await verify(withHeaders({ authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20130524/us-east-1/s3/aws4_request` }))).toMatchObject({
      ok: false,
      error: { code: "AuthorizationHeaderMalformed" },
    });
    const regionCheck = await verifySigV4(getObject, { lookupSecret, nowMs: EXAMPLE_MS, regionsAllowed: ["eu-west-1"] });
    expect(regionCheck).toMatchObject({ ok: false, error: { code: "AuthorizationHeaderMalformed", extra: { Region: "eu-west-1" } } });
  });

  it("InvalidRequest for SigV2 and for a missing x-amz-content-sha256; InvalidArgument for a bad one", async () => {
    expect(await verify(withHeaders({ authorization: "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=" }))).toMatchObject({ ok: false, error: { code: "InvalidRequest" } });
    expect(await verify(withHeaders({ "x-amz-content-sha256": undefined }))).toMatchObject({ ok: false, error: { code: "InvalidRequest" } });
    expect(await verify(withHeaders({ "x-amz-content-sha256": "nope" }))).toMatchObject({ ok: false, error: { code: "InvalidArgument" } });
  });

  it("InvalidArgument when both a header and a query signature are present", async () => {
    expect(await verify({ ...getObject, rawQuery: "X-Amz-Algorithm=AWS4-HMAC-SHA256" })).toMatchObject({ ok: false, error: { code: "InvalidArgument" } });
  });

  it("AuthorizationQueryParametersError for incomplete or out-of-range presigned parameters", async () => {
    const base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0".repeat(64);
    for (const rawQuery of [base, `${base}&X-Amz-Expires=604801`, `${base}&X-Amz-Expires=abc`]) {
      expect(await verify({ method: "GET", rawPath: "/x", rawQuery, headers: { host: "h" } }), rawQuery).toMatchObject({
        ok: false,
        error: { code: "AuthorizationQueryParametersError" },
      });
    }
  });
});

describe("canonical forms", () => {
  it("encodes each path segment once, keeping '/' separators and an encoded slash inside a segment", () => {
    expect(canonicalUri("/bucket/a%20b/c~d")).toBe("/bucket/a%20b/c~d");
    expect(canonicalUri("/bucket/a b/$(x)")).toBe("/bucket/a%20b/%24%28x%29");
    expect(canonicalUri("/bucket/a%2Fb")).toBe("/bucket/a%2Fb");
    expect(canonicalUri("/bucket/%e2%82%ac")).toBe("/bucket/%E2%82%AC");
    expect(canonicalUri("/bucket/€")).toBe("/bucket/%E2%82%AC");
    expect(canonicalUri("/bucket//double/./dot/../")).toBe("/bucket//double/./dot/../");
    expect(canonicalUri("/bucket/100%")).toBe("/bucket/100%25");
    expect(canonicalUri("")).toBe("/");
  });

  it("sorts query parameters by name then value, re-encodes them and gives valueless ones '='", () => {
    expect(canonicalQuery("uploads")).toBe("uploads=");
    expect(canonicalQuery("b=2&a=1&a=0&x-id=PutObject")).toBe("a=0&a=1&b=2&x-id=PutObject");
    expect(canonicalQuery("prefix=a b&delimiter=%2F&marker=%7e")).toBe("delimiter=%2F&marker=~&prefix=a%20b");
    expect(canonicalQuery("X-Amz-Signature=abc&a=1", "X-Amz-Signature")).toBe("a=1");
  });

  it("canonicalises any path the same whether the client escaped safe characters or not", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (key) => {
        const minimal = key.split("/").map((segment) => encodeURIComponent(segment)).join("/");
        const everything = [...Buffer.from(key, "utf8")].map((byte) => (byte === 0x2f ? "/" : "%" + byte.toString(16).padStart(2, "0"))).join("");
        expect(canonicalUri(`/b/${minimal}`)).toBe(canonicalUri(`/b/${everything}`));
      }),
    );
  });

  it("parses and formats x-amz-date", () => {
    expect(parseAmzDate("20130524T000000Z")).toBe(EXAMPLE_MS);
    expect(parseAmzDate("20130532T000000Z")).toBeUndefined();
    expect(parseAmzDate("2013-05-24T00:00:00Z")).toBeUndefined();
    expect(formatAmzDate(EXAMPLE_MS)).toBe("20130524T000000Z");
  });

  it("derives the signing key of the AWS example (cached)", () => {
    const key = signingKeyFor(SECRET, "20130524", "us-east-1");
    const manual = hmacSha256(hmacSha256(hmacSha256(hmacSha256(`AWS4${SECRET}`, "20130524"), "us-east-1"), "s3"), "aws4_request");
    expect(key.equals(manual)).toBe(true);
    expect(signingKeyFor(SECRET, "20130524", "us-east-1")).toBe(key);
    expect(signingKeyFor(SECRET + "x", "20130524", "us-east-1").equals(key)).toBe(false);
  });

  it("splits a request URL into raw path and raw query", () => {
    expect(splitRequestUrl("/b/k%20x?uploads&x-id=A")).toEqual({ rawPath: "/b/k%20x", rawQuery: "uploads&x-id=A" });
    expect(splitRequestUrl("/b")).toEqual({ rawPath: "/b", rawQuery: "" });
  });
});
