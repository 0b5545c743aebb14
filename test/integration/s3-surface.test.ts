// The router's S3 surface as a table: every sub-resource of the S3 API reference, on a bucket and on an
// object, with every method, either reaches the operation the table names or answers 501 NotImplemented
// and touches nothing. Before the table, `PUT ?tagging` overwrote the object with the Tagging XML.
import { createHash, randomBytes } from "node:crypto";
import {
  DeleteObjectsCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  DeleteObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  CreateBucketCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUBRESOURCES, servedOperations } from "../../runtime/s3/operations.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { signedRawRequest } from "./support/raw-s3.ts";

let cluster: TestCluster;
let s3: S3Client;
const BUCKET = "surface";
const VICTIM = "victim/clip.mp4";
const victimBody = randomBytes(64 * 1024);
const victimMd5 = createHash("md5").update(victimBody).digest("hex");

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 23000, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await putVictim();
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

async function putVictim(): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: VICTIM, Body: victimBody, ContentType: "video/mp4", Metadata: { title: "clip" } }));
}

/** The victim is exactly as written: bytes, type, metadata. */
async function expectVictimIntact(context: string): Promise<void> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: VICTIM }));
  const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  expect(createHash("md5").update(bytes).digest("hex"), context).toBe(victimMd5);
  expect(got.ETag, context).toBe(`"${victimMd5}"`);
  expect(got.ContentType, context).toBe("video/mp4");
  expect(got.Metadata, context).toEqual({ title: "clip" });
}

async function s3ErrorOf(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return { code: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error("expected an S3 error, got success");
}

const raw = (method: string, path: string, body?: Buffer, headers?: Record<string, string>) =>
  signedRawRequest({ endpoint: cluster.endpoint, accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey }, { method, path, ...(body ? { body } : {}), ...(headers ? { headers } : {}) });

describe("explicit dispatch", () => {
  const served = servedOperations();
  const isServed = (scope: string, method: string, sub: string) => served.some((r) => r.scope === scope && r.method === method && r.subresource === sub);
  const tagging = Buffer.from('<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>');

  it("every sub-resource on a bucket and on an object, with every method, is served by its operation or answers 501 and changes nothing", async () => {
    const seen: string[] = [];
    for (const scope of ["bucket", "object"] as const) {
      const path = scope === "bucket" ? `/${BUCKET}` : `/${BUCKET}/${VICTIM}`;
      for (const method of ["GET", "HEAD", "PUT", "POST", "DELETE"]) {
        for (const sub of SUBRESOURCES) {
          // A made-up upload id: the multipart rows must refuse it, never touch the object.
          const query = sub === "uploadId" ? "uploadId=nosuchupload&partNumber=1" : `${sub}=`;
          const body = method === "PUT" || method === "POST" ? tagging : undefined;
          const answer = await raw(method, `${path}?${query}`, body);
          if (!("status" in answer)) throw new Error("aborted");
          if (isServed(scope, method, sub)) {
            seen.push(`${method} ${scope} ?${sub} → ${answer.status}`);
          } else {
            expect(answer.status, `${method} ${path}?${sub}`).toBe(501);
            if (method !== "HEAD") expect(answer.body, `${method} ${path}?${sub}`).toContain("<Code>NotImplemented</Code>");
          }
        }
        await expectVictimIntact(`after ${method} on the ${scope}`);
      }
    }
    // The served rows answered something (a refusal of the made-up upload, an empty ACL, …) without harm.
    expect(seen.length).toBeGreaterThan(10);
  });

  it("two sub-resources in one request name no operation: 501", async () => {
    const answer = await raw("PUT", `/${BUCKET}/${VICTIM}?acl=&tagging=`, Buffer.from("x"));
    expect("status" in answer && answer.status).toBe(501);
    await expectVictimIntact("after ?acl&tagging");
  });

  it("a method S3 does not have is 405 MethodNotAllowed", async () => {
    const answer = await raw("PATCH", `/${BUCKET}/${VICTIM}`, Buffer.from("x"));
    expect("status" in answer && answer.status).toBe(405);
    await expectVictimIntact("after PATCH");
  });

  it("aws s3api put-object-tagging and delete-object-tagging are refused and the object stays", async () => {
    expect(await s3ErrorOf(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: [{ Key: "k", Value: "v" }] } })))).toEqual({ code: "NotImplemented", status: 501 });
    expect(await s3ErrorOf(s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM })))).toEqual({ code: "NotImplemented", status: 501 });
    await expectVictimIntact("after tagging calls");
  });
});

describe("the sub-resources clients commonly call", () => {
  it("GetBucketLocation, GetBucketVersioning (never enabled), GetBucketAcl", async () => {
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: BUCKET }))).LocationConstraint ?? "").toBe("");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).toBeUndefined();
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    expect(acl.Owner?.ID).toBe("ringstore");
    expect(acl.Grants).toEqual([{ Grantee: { ID: "ringstore", DisplayName: "ringstore", Type: "CanonicalUser" }, Permission: "FULL_CONTROL" }]);
  });

  it("GetObjectAcl answers the owner with FULL_CONTROL; PutObjectAcl takes private and refuses anything else", async () => {
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: VICTIM }));
    expect(acl.Grants?.map((g) => g.Permission)).toEqual(["FULL_CONTROL"]);
    await s3.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: VICTIM, ACL: "private" }));
    expect(await s3ErrorOf(s3.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: VICTIM, ACL: "public-read" })))).toEqual({ code: "NotImplemented", status: 501 });
    expect(await s3ErrorOf(s3.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: "no/such/key" })))).toEqual({ code: "NoSuchKey", status: 404 });
    await expectVictimIntact("after ACL calls");
  });

  it("ListObjectVersions lists current versions with VersionId null, and a bucket empties through it", async () => {
    for (const key of ["v/a", "v/b", "v/c/d"]) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/" }));
    expect(listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([["v/a", "null", true], ["v/b", "null", true], ["v/c/d", "null", true]]);
    const folded = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/", Delimiter: "/", MaxKeys: 2 }));
    expect(folded.Versions?.map((v) => v.Key)).toEqual(["v/a", "v/b"]);
    expect(folded.IsTruncated).toBe(true);
    const rest = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/", Delimiter: "/", KeyMarker: folded.NextKeyMarker, VersionIdMarker: folded.NextVersionIdMarker }));
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["v/c/"]);
    expect(rest.IsTruncated).toBe(false);
    const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: listed.Versions!.map((v) => ({ Key: v.Key!, VersionId: v.VersionId! })) } }));
    expect(deleted.Errors ?? []).toEqual([]);
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/" }))).Versions ?? []).toEqual([]);
  });

  it("versionId=null reads the object; any other version id is InvalidArgument", async () => {
    const got = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: VICTIM, VersionId: "null" }));
    expect(got.ETag).toBe(`"${victimMd5}"`);
    expect(await s3ErrorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: VICTIM, VersionId: "3HL4kqtJlcpXroDTDmJ" })))).toEqual({ code: "InvalidArgument", status: 400 });
  });

  it("response-* overrides on a signed GetObject set the response headers", async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: VICTIM, ResponseContentType: "application/x-test", ResponseContentDisposition: 'attachment; filename="a.mp4"', ResponseCacheControl: "no-cache" }));
    expect(got.ContentType).toBe("application/x-test");
    expect(got.ContentDisposition).toBe('attachment; filename="a.mp4"');
    expect(got.CacheControl).toBe("no-cache");
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  });
});

describe("headers that change what a PUT means are refused, and nothing is written", () => {
  const cases: [string, Partial<ConstructorParameters<typeof PutObjectCommand>[0]>, string][] = [
    ["SSE-C", { SSECustomerAlgorithm: "AES256", SSECustomerKey: "0".repeat(32) }, "NotImplemented"],
    ["SSE-S3", { ServerSideEncryption: "AES256" }, "NotImplemented"],
    ["object lock", { ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) }, "InvalidRequest"],
    ["a storage class it does not have", { StorageClass: "GLACIER" }, "NotImplemented"],
    ["tags", { Tagging: "k=v" }, "NotImplemented"],
    ["requester pays", { RequestPayer: "requester" }, "NotImplemented"],
    ["a public canned ACL", { ACL: "public-read" }, "NotImplemented"],
  ];
  for (const [label, extra, code] of cases) {
    it(`${label}: ${code}`, async () => {
      const key = `refused/${label.replace(/\W+/g, "-")}`;
      const error = await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x", ...extra })));
      expect(error.code).toBe(code);
      expect((await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).status).toBe(404);
    });
  }

  it("STANDARD storage class and the private canned ACL are what every object has: accepted", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "accepted/standard", Body: "x", StorageClass: "STANDARD", ACL: "private" }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "accepted/standard" }))).ContentLength).toBe(1);
  });
});
