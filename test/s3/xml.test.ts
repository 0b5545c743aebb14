// Response renderers (shape, escaping, EncodingType=url) and the two request-body parsers (limits,
// MalformedXML, InvalidPartOrder), checked by parsing the rendered XML back with fast-xml-parser.

import { XMLParser } from "fast-xml-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { S3Error, renderErrorXml } from "../../runtime/s3/errors.ts";
import {
  decodeXmlEntities,
  parseCompleteMultipartUpload,
  parseDeleteObjects,
  renderCopyObjectResult,
  renderDeleteResult,
  renderInitiateMultipartUpload,
  renderListAllMyBuckets,
  renderListMultipartUploads,
  renderListObjectsV1,
  renderListObjectsV2,
  renderListParts,
  renderLocationConstraint,
  urlEncodeKey,
} from "../../runtime/s3/xml.ts";
import { escapeXmlText } from "../../runtime/s3/xml-escape.ts";

const reader = new XMLParser({ ignoreAttributes: false, parseTagValue: false, trimValues: false, isArray: (name) => ["Contents", "CommonPrefixes", "Bucket", "Part", "Upload", "Deleted", "Error"].includes(name) });
const read = (xml: string) => reader.parse(xml) as Record<string, any>;
const T = Date.UTC(2026, 10, 25, 9, 0, 0, 123);

describe("response renderers", () => {
  it("ListAllMyBucketsResult", () => {
    const xml = renderListAllMyBuckets({ owner: { id: "owner-id", displayName: "me" }, buckets: [{ name: "videos", creationDateMs: T }] });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')).toBe(true);
    const root = read(xml).ListAllMyBucketsResult;
    expect(root.Owner).toEqual({ ID: "owner-id", DisplayName: "me" });
    expect(root.Buckets.Bucket).toEqual([{ Name: "videos", CreationDate: "2026-11-25T09:00:00.123Z" }]);
  });

  it("ListBucketResult v2 with CommonPrefixes, tokens and KeyCount", () => {
    const xml = renderListObjectsV2({
      bucket: "b",
      prefix: "p/",
      maxKeys: 2,
      delimiter: "/",
      isTruncated: true,
      nextContinuationToken: "next",
      contents: [{ key: "p/a<&>.mp4", lastModifiedMs: T, etag: "abc", size: 5 }],
      commonPrefixes: ["p/sub/"],
    });
    const root = read(xml).ListBucketResult;
    expect(root).toMatchObject({ Name: "b", Prefix: "p/", KeyCount: "2", MaxKeys: "2", Delimiter: "/", IsTruncated: "true", NextContinuationToken: "next" });
    expect(root.Contents[0]).toEqual({ Key: "p/a<&>.mp4", LastModified: "2026-11-25T09:00:00.123Z", ETag: '"abc"', Size: "5", StorageClass: "STANDARD" });
    expect(root.CommonPrefixes).toEqual([{ Prefix: "p/sub/" }]);
    expect(root.ContinuationToken).toBeUndefined();
  });

  it("ListBucketResult v2 with EncodingType=url encodes keys, prefixes and the delimiter, not tokens", () => {
    const root = read(
      renderListObjectsV2({
        bucket: "b",
        prefix: "a b",
        maxKeys: 1000,
        delimiter: "/",
        isTruncated: false,
        startAfter: "x\u0001",
        continuationToken: "t+/=",
        contents: [{ key: "a b/\u0001€+", lastModifiedMs: T, etag: '"q"', size: 1 }],
        commonPrefixes: ["a b/c d/"],
        encodingType: "url",
      }),
    ).ListBucketResult;
    expect(root).toMatchObject({ Prefix: "a%20b", EncodingType: "url", StartAfter: "x%01", ContinuationToken: "t+/=" });
    expect(root.Contents[0].Key).toBe("a%20b/%01%E2%82%AC%2B");
    expect(decodeURIComponent(root.Contents[0].Key)).toBe("a b/\u0001€+");
    expect(root.CommonPrefixes[0].Prefix).toBe("a%20b/c%20d/");
  });

  it("ListBucketResult v1 with Marker, NextMarker and Owner", () => {
    const root = read(
      renderListObjectsV1({
        bucket: "b",
        prefix: "",
        marker: "m",
        maxKeys: 1,
        delimiter: "/",
        isTruncated: true,
        nextMarker: "n",
        contents: [{ key: "k", lastModifiedMs: T, etag: "e", size: 0, owner: { id: "o" } }],
        commonPrefixes: [],
      }),
    ).ListBucketResult;
    expect(root).toMatchObject({ Marker: "m", NextMarker: "n", IsTruncated: "true" });
    expect(root.Contents[0].Owner).toEqual({ ID: "o" });
    expect(root.KeyCount).toBeUndefined();
  });

  it("multipart results", () => {
    expect(read(renderInitiateMultipartUpload({ bucket: "b", key: "k&", uploadId: "u1" })).InitiateMultipartUploadResult).toMatchObject({ Key: "k&", UploadId: "u1" });
    const parts = read(
      renderListParts({
        bucket: "b",
        key: "k",
        uploadId: "u",
        partNumberMarker: 0,
        nextPartNumberMarker: 2,
        maxParts: 2,
        isTruncated: true,
        parts: [{ partNumber: 1, lastModifiedMs: T, etag: "e1", size: 5, checksums: { CRC32: "AAAAAA==" } }],
        initiator: { id: "i" },
        owner: { id: "o" },
      }),
    ).ListPartsResult;
    expect(parts.Part[0]).toEqual({ PartNumber: "1", LastModified: "2026-11-25T09:00:00.123Z", ETag: '"e1"', Size: "5", ChecksumCRC32: "AAAAAA==" });
    expect(parts).toMatchObject({ NextPartNumberMarker: "2", IsTruncated: "true", StorageClass: "STANDARD" });
    const uploads = read(
      renderListMultipartUploads({
        bucket: "b",
        keyMarker: "",
        uploadIdMarker: "",
        prefix: "",
        maxUploads: 1000,
        isTruncated: false,
        uploads: [{ key: "k", uploadId: "u", initiatedMs: T, initiator: { id: "i" }, owner: { id: "o" } }],
        commonPrefixes: [],
      }),
    ).ListMultipartUploadsResult;
    expect(uploads.Upload[0]).toMatchObject({ Key: "k", UploadId: "u", Initiated: "2026-11-25T09:00:00.123Z" });
  });

  it("CopyObjectResult, DeleteResult and LocationConstraint", () => {
    expect(read(renderCopyObjectResult({ lastModifiedMs: T, etag: "e" })).CopyObjectResult).toEqual({
      "@_xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
      LastModified: "2026-11-25T09:00:00.123Z",
      ETag: '"e"',
    });
    const deleted = read(renderDeleteResult({ deleted: [{ key: "a" }], errors: [{ key: "b", code: "AccessDenied", message: "Access Denied" }] })).DeleteResult;
    expect(deleted.Deleted).toEqual([{ Key: "a" }]);
    expect(deleted.Error).toEqual([{ Key: "b", Code: "AccessDenied", Message: "Access Denied" }]);
    expect(renderLocationConstraint("us-east-1")).toContain('<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>');
  });

  it("escapes any key so that an XML parser reads back the same text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (key) => {
        const escaped = escapeXmlText(key);
        expect(escaped).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|apos|#x[0-9A-F]+);)/);
        expect(decodeXmlEntities(escaped)).toBe(key);
      }),
    );
    expect(escapeXmlText("a\rb\u0001")).toBe("a&#xD;b&#x1;");
  });

  it("url-encodes keys so that decodeURIComponent gives them back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (key) => {
        expect(decodeURIComponent(urlEncodeKey(key))).toBe(key);
      }),
    );
  });
});

describe("error XML", () => {
  it("has exactly AWS's shape, with extra fields between Message and Resource", () => {
    const error = new S3Error("NoSuchKey", undefined, { resource: "/b/k<1>", extra: { Key: "k<1>" } });
    expect(renderErrorXml(error, "REQ1")).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k&lt;1&gt;</Key><Resource>/b/k&lt;1&gt;</Resource><RequestId>REQ1</RequestId></Error>',
    );
    expect(error.status).toBe(404);
    expect(new S3Error("InvalidRange").status).toBe(416);
    expect(new S3Error("ServiceUnavailable").status).toBe(503);
    expect(new S3Error("MissingContentLength").status).toBe(411);
  });
});

describe("CompleteMultipartUpload parser", () => {
  const body = (parts: string) => `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`;

  it("reads parts in order, unquotes ETags and keeps checksums", () => {
    const parsed = parseCompleteMultipartUpload(
      body('<Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part>\n  <Part><ETag>&quot;b&quot;</ETag><PartNumber>3</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>'),
    );
    expect(parsed).toEqual({
      ok: true,
      value: { parts: [{ partNumber: 1, etag: "a", checksums: {} }, { partNumber: 3, etag: "b", checksums: { CRC32: "AAAAAA==" } }] },
    });
  });

  it("answers InvalidPartOrder, InvalidArgument and MalformedXML where AWS does", () => {
    expect(parseCompleteMultipartUpload(body("<Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part>"))).toMatchObject({ ok: false, error: { code: "InvalidPartOrder" } });
    expect(parseCompleteMultipartUpload(body("<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part>"))).toMatchObject({ ok: false, error: { code: "InvalidPartOrder" } });
    expect(parseCompleteMultipartUpload(body("<Part><PartNumber>0</PartNumber><ETag>a</ETag></Part>"))).toMatchObject({ ok: false, error: { code: "InvalidArgument" } });
    for (const bad of [
      body(""),
      body("<Part><ETag>a</ETag></Part>"),
      body("<Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"),
      "<CompleteMultipartUpload><Part>",
      "<Other/>",
      "",
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>',
    ]) {
      expect(parseCompleteMultipartUpload(bad), bad).toMatchObject({ ok: false, error: { code: "MalformedXML" } });
    }
  });

  it("refuses a body over the size limit", () => {
    const parts = Array.from({ length: 50 }, (_, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>e</ETag></Part>`).join("");
    expect(parseCompleteMultipartUpload(body(parts), 1000)).toMatchObject({ ok: false, error: { code: "MalformedXML" } });
    expect(parseCompleteMultipartUpload(body(parts)).ok).toBe(true);
  });
});

describe("Delete (multi-object) parser", () => {
  it("keeps keys exactly (spaces, entities, digits), reads Quiet and VersionId", () => {
    const parsed = parseDeleteObjects('<Delete><Quiet>true</Quiet><Object><Key> 007 </Key></Object><Object><Key>a&amp;b&#13;</Key><VersionId>v</VersionId></Object></Delete>');
    expect(parsed).toEqual({ ok: true, value: { quiet: true, objects: [{ key: " 007 " }, { key: "a&b\r", versionId: "v" }] } });
  });

  it("answers MalformedXML for no objects, more than 1000, an empty key, and a bad Quiet", () => {
    const many = `<Delete>${"<Object><Key>k</Key></Object>".repeat(1001)}</Delete>`;
    for (const bad of ["<Delete></Delete>", many, "<Delete><Object><Key></Key></Object></Delete>", "<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>"]) {
      expect(parseDeleteObjects(bad)).toMatchObject({ ok: false, error: { code: "MalformedXML" } });
    }
    expect(parseDeleteObjects(`<Delete>${"<Object><Key>k</Key></Object>".repeat(1000)}</Delete>`).ok).toBe(true);
  });

  it("round-trips any set of keys through renderDeleteResult-style escaping", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 10 }), (keys) => {
        const xml = `<Delete>${keys.map((key) => `<Object><Key>${escapeXmlText(key)}</Key></Object>`).join("")}</Delete>`;
        const parsed = parseDeleteObjects(xml);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.value.objects.map((object) => object.key)).toEqual(keys);
      }),
    );
  });
});
