// The router's S3 surface as a table: every sub-resource of the S3 API reference, on a bucket and on an
// object, with every method, either reaches the operation the table names or answers 501 NotImplemented
// and touches nothing. Before the table, `PUT ?tagging` overwrote the object with the Tagging XML.
import { spawnSync } from "node:child_process";
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
  GetObjectTaggingCommand,
  DeleteObjectTaggingCommand,
  S3Client,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  UploadPartCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  AbortMultipartUploadCommand,
  CopyObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUBRESOURCES, servedOperations } from "../../runtime/s3/operations.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { presignV4 as presignTo, signedHeadersOf, signedRawRequest } from "./support/raw-s3.ts";
import { Agent, type OutgoingHttpHeaders, request as httpRequest } from "node:http";
import { lookup as dnsLookup } from "node:dns";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { requireProgram } from "./support/system-programs.ts";
import { awsCliEnv } from "./support/aws-cli.ts";
import { s3ErrorOf } from "./support/s3-errors.ts";
import { redactedUrl } from "../../runtime/router/app.ts";

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

  it("put-object-tagging and delete-object-tagging change the tags, never the object (they used to overwrite and delete it)", async () => {
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: [{ Key: "k", Value: "v" }] } }));
    await expectVictimIntact("after PutObjectTagging");
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM }))).TagSet).toEqual([{ Key: "k", Value: "v" }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM }));
    await expectVictimIntact("after DeleteObjectTagging");
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM }))).TagSet ?? []).toEqual([]);
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

const presignV4 = (method: string, path: string, payloadHash?: string) => presignTo(cluster, method, path, payloadHash === undefined ? {} : { payloadHash });

/** Runs a boto3 snippet with the cluster's endpoint and credentials in scope; returns its stdout. */
function boto3(script: string): string {
  const prelude = `import boto3, sys\ns3 = boto3.client("s3", endpoint_url=${JSON.stringify(cluster.endpoint)}, aws_access_key_id=${JSON.stringify(cluster.accessKeyId)}, aws_secret_access_key=${JSON.stringify(cluster.secretAccessKey)}, region_name="us-east-1")\n`;
  const run = spawnSync(PYTHON!, ["-c", prelude + script], { encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** A python interpreter that has boto3: the one on PATH, else Debian's (python3-boto3), else none. */
function pythonWithBoto3(): string | undefined {
  for (const python of ["python3", "/usr/bin/python3"]) if (spawnSync(python, ["-c", "import boto3"], { stdio: "ignore" }).status === 0) return python;
  return undefined;
}
const PYTHON = pythonWithBoto3();

function hasBoto3(): boolean {
  if (PYTHON === undefined && process.env.CI === "true") throw new Error("CI=true and no python3 has boto3 (apt-get install python3-boto3)");
  if (PYTHON === undefined) console.warn("SKIP: boto3 is not installed: skipping the boto3 tests (apt-get install python3-boto3)");
  return PYTHON !== undefined;
}

describe("presigned URLs", () => {
  it("SigV2 query auth from aws cli v1 `s3 presign` reads the object", async () => {
    if (!requireProgram("aws", "aws s3 presign")) return;
    const run = spawnSync("aws", ["--endpoint-url", cluster.endpoint, "s3", "presign", `s3://${BUCKET}/${VICTIM}`], {
      encoding: "utf8",
      env: awsCliEnv(cluster),
    });
    const url = run.stdout.trim();
    expect(url).toContain("AWSAccessKeyId=");
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(createHash("md5").update(Buffer.from(await got.arrayBuffer())).digest("hex")).toBe(victimMd5);
  });

  it.runIf(hasBoto3())("boto3's default presigned GET and PUT (SigV2) work; a tampered or expired one is 403", async () => {
    const getUrl = boto3(`print(s3.generate_presigned_url("get_object", Params={"Bucket": ${JSON.stringify(BUCKET)}, "Key": ${JSON.stringify(VICTIM)}}, ExpiresIn=300))`);
    const putUrl = boto3(`print(s3.generate_presigned_url("put_object", Params={"Bucket": ${JSON.stringify(BUCKET)}, "Key": "presigned/boto3.txt"}, ExpiresIn=300))`);
    const expiredUrl = boto3(`print(s3.generate_presigned_url("get_object", Params={"Bucket": ${JSON.stringify(BUCKET)}, "Key": ${JSON.stringify(VICTIM)}}, ExpiresIn=-10))`);
    expect(getUrl).toContain("Signature=");
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(createHash("md5").update(Buffer.from(await got.arrayBuffer())).digest("hex")).toBe(victimMd5);
    // A byte body, so that fetch adds no Content-Type: SigV2 signs it, and this URL was signed without one.
    expect((await fetch(putUrl, { method: "PUT", body: Buffer.from("from a browser") })).status).toBe(200);
    const back = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "presigned/boto3.txt" }));
    expect(await (back.Body as { transformToString(): Promise<string> }).transformToString()).toBe("from a browser");
    const expired = await fetch(expiredUrl);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain("Request has expired");
    const tampered = await fetch(getUrl.replace(encodeURIComponent(VICTIM).replace(/%2F/g, "/"), "victim/other.mp4"));
    expect(tampered.status).toBe(403);
  });

  it("a presigned PUT cannot add an unsigned x-amz-copy-source to copy another object into its key", async () => {
    const url = await presignV4("PUT", `/${BUCKET}/presigned/target.bin`);
    const answer = await fetch(url, { method: "PUT", headers: { "x-amz-copy-source": `/${BUCKET}/${VICTIM}` } });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain("<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>");
    expect((await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "presigned/target.bin" })))).status).toBe(404);
  });

  it("a presigned URL's signed X-Amz-Content-Sha256 is enforced on the body", async () => {
    const body = Buffer.from("the only body this URL may carry");
    const hash = createHash("sha256").update(body).digest("hex");
    const url = await presignV4("PUT", `/${BUCKET}/presigned/hashed.bin`, hash);
    const wrong = await fetch(url, { method: "PUT", body: Buffer.from("some other body") });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("XAmzContentSHA256Mismatch");
    expect((await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "presigned/hashed.bin" })))).status).toBe(404);
    expect((await fetch(url, { method: "PUT", body })).status).toBe(200);
  });

  it("X-Amz-Expires beyond a week is AuthorizationQueryParametersError, as AWS answers", async () => {
    const url = (await presignV4("GET", `/${BUCKET}/${VICTIM}`)).replace(/X-Amz-Expires=\d+/, "X-Amz-Expires=604801");
    const answer = await fetch(url);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain("AuthorizationQueryParametersError");
  });

  it("no signature reaches a log line: presigned query signatures are redacted", () => {
    expect(redactedUrl("/b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=abcdef&x-id=GetObject")).toBe("/b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=REDACTED&x-id=GetObject");
    expect(redactedUrl("/b/k?AWSAccessKeyId=AK&Signature=c2ln%3D&Expires=1")).toBe("/b/k?AWSAccessKeyId=AK&Signature=REDACTED&Expires=1");
  });
});

describe("DeleteObjects", () => {
  it("requires Content-MD5 or an x-amz-checksum-*, as AWS does", async () => {
    const body = Buffer.from(`<Delete><Object><Key>${VICTIM}</Key></Object></Delete>`);
    const answer = await raw("POST", `/${BUCKET}?delete=`, body);
    expect("status" in answer && answer.status).toBe(400);
    expect("body" in answer && answer.body).toContain("InvalidRequest");
    await expectVictimIntact("after a DeleteObjects without an integrity check");
  });
});

describe("what S3 does, exactly", () => {
  it("a repeated header is stored in S3's form: Content-Encoding deflate,gzip", async () => {
    const url = new URL(cluster.endpoint);
    const body = Buffer.from("compressed twice");
    const headers = await signedHeadersOf(cluster, { method: "PUT", path: `/${BUCKET}/encoded.bin`, body });
    // Sent as two header lines, after signing (Content-Encoding is not signed here).
    const sent: OutgoingHttpHeaders = { ...headers };
    (sent as Record<string, string | string[]>)["content-encoding"] = ["deflate", "gzip"];
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: "PUT", path: `/${BUCKET}/encoded.bin`, headers: sent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "encoded.bin" }))).ContentEncoding).toBe("deflate,gzip");
  });

  it("ListMultipartUploads pages by key-marker and upload-id-marker", async () => {
    const created: { key: string; id: string }[] = [];
    for (const key of ["mpu/a", "mpu/b", "mpu/b", "mpu/c"]) {
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      created.push({ key, id: upload.UploadId! });
    }
    const want = created.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.id < y.id ? -1 : 1)).map((u) => `${u.key} ${u.id}`);
    const got: string[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (let page = 0; page < 10; page++) {
      const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "mpu/", MaxUploads: 1, ...markers }));
      got.push(...(listed.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`));
      if (!listed.IsTruncated) break;
      markers = { KeyMarker: listed.NextKeyMarker, UploadIdMarker: listed.NextUploadIdMarker };
    }
    expect(got).toEqual(want);
    const afterB = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "mpu/", KeyMarker: "mpu/b" }));
    expect((afterB.Uploads ?? []).map((u) => u.Key)).toEqual(["mpu/c"]);
    for (const u of created) await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: u.key, UploadId: u.id }));
  });
});

/** An agent that resolves every *.localhost name to 127.0.0.1, as a resolver for virtual-hosted clients. */
const localhostAgent = new Agent({
  lookup: ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    if (hostname.endsWith(".localhost")) {
      const all = (options as { all?: boolean }).all;
      return all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4);
    }
    return dnsLookup(hostname, options, callback as never);
  }) as never,
});

describe("virtual-hosted style", () => {
  it("the SDK in virtual-host mode (bucket.localhost) puts, gets and lists", async () => {
    const port = new URL(cluster.endpoint).port;
    const virtual = cluster.client({ endpoint: `http://localhost:${port}`, forcePathStyle: false, requestHandler: new NodeHttpHandler({ httpAgent: localhostAgent }) });
    try {
      await virtual.send(new PutObjectCommand({ Bucket: BUCKET, Key: "vhost/a b.txt", Body: "virtual" }));
      const got = await virtual.send(new GetObjectCommand({ Bucket: BUCKET, Key: "vhost/a b.txt" }));
      expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe("virtual");
      const listed = await virtual.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "vhost/" }));
      expect(listed.Versions?.map((v) => v.Key)).toEqual(["vhost/a b.txt"]);
      // Path style on the same endpoint still works: localhost itself names no bucket.
      const pathStyle = cluster.client({ endpoint: `http://localhost:${port}` });
      expect((await pathStyle.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "vhost/a b.txt" }))).ContentLength).toBe(7);
      pathStyle.destroy();
    } finally {
      virtual.destroy();
    }
  });

  it("boto3 in virtual-host mode, with a SigV2 presigned GET (the bucket is in the Host)", async () => {
    const resolvable = spawnSync("getent", ["hosts", `${BUCKET}.localhost`], { stdio: "ignore" }).status === 0;
    if (!resolvable) {
      if (process.env.CI === "true") throw new Error(`CI=true and ${BUCKET}.localhost does not resolve (.ci/run adds it to /etc/hosts)`);
      console.warn(`SKIP: ${BUCKET}.localhost does not resolve: add "127.0.0.1 ${BUCKET}.localhost" to /etc/hosts for the boto3 virtual-host test`);
      return;
    }
    if (!hasBoto3()) return;
    const port = new URL(cluster.endpoint).port;
    const out = spawnSync(PYTHON!, ["-c", `
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="http://localhost:${port}", aws_access_key_id="${cluster.accessKeyId}", aws_secret_access_key="${cluster.secretAccessKey}", region_name="us-east-1", config=Config(s3={"addressing_style": "virtual"}))
s3.put_object(Bucket="${BUCKET}", Key="vhost/boto3.txt", Body=b"boto3 virtual")
print(s3.get_object(Bucket="${BUCKET}", Key="vhost/boto3.txt")["Body"].read().decode())
print(s3.generate_presigned_url("get_object", Params={"Bucket": "${BUCKET}", "Key": "vhost/boto3.txt"}, ExpiresIn=300))
`], { encoding: "utf8", timeout: 60_000 });
    expect(out.stderr).toBe("");
    const [body, url] = out.stdout.trim().split("\n");
    expect(body).toBe("boto3 virtual");
    expect(url).toContain(`//${BUCKET}.localhost:`);
    const fetched = spawnSync(PYTHON!, ["-c", `import urllib.request; print(urllib.request.urlopen(${JSON.stringify(url)}).read().decode())`], { encoding: "utf8" });
    expect(fetched.stdout.trim()).toBe("boto3 virtual");
  });
});

describe("DeleteBucket", () => {
  it("is BucketNotEmpty while one live key remains behind more than a page of deleted ones", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "tombstones" }));
    const keys = Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((key) => s3.send(new PutObjectCommand({ Bucket: "tombstones", Key: key, Body: key }))));
    await Promise.all(keys.slice(0, 59).map((key) => s3.send(new DeleteObjectCommand({ Bucket: "tombstones", Key: key }))));
    expect(await s3ErrorOf(s3.send(new DeleteBucketCommand({ Bucket: "tombstones" })))).toEqual({ code: "BucketNotEmpty", status: 409 });
    const last = await s3.send(new GetObjectCommand({ Bucket: "tombstones", Key: "k59" }));
    expect(await (last.Body as { transformToString(): Promise<string> }).transformToString()).toBe("k59");
    await s3.send(new DeleteObjectCommand({ Bucket: "tombstones", Key: "k59" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "tombstones" }));
  });
});

describe("conditional writes and retried Completes", () => {
  it("If-None-Match: * refuses to overwrite a live key; If-Match needs the current ETag", async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/put.txt", Body: "one", IfNoneMatch: "*" }));
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/put.txt", Body: "two", IfNoneMatch: "*" })))).toEqual({ code: "PreconditionFailed", status: 412 });
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/put.txt", Body: "two", IfMatch: '"00000000000000000000000000000000"' })))).toEqual({ code: "PreconditionFailed", status: 412 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/put.txt", Body: "three", IfMatch: first.ETag }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "cond/put.txt" }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe("three");
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/none.txt", Body: "x", IfMatch: first.ETag })))).toEqual({ code: "NoSuchKey", status: 404 });
  });

  it("a Complete retried after it succeeded answers with the object it made; If-None-Match guards a Complete too", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "cond/mpu.bin" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "cond/mpu.bin", UploadId, PartNumber: 1, Body: Buffer.from("only part") }));
    const complete = () => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "cond/mpu.bin", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    const done = await complete();
    const again = await complete();
    expect(again.ETag).toBe(done.ETag);
    const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "cond/mpu.bin" }));
    const part2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "cond/mpu.bin", UploadId: second.UploadId, PartNumber: 1, Body: Buffer.from("other") }));
    expect(
      await s3ErrorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "cond/mpu.bin", UploadId: second.UploadId, IfNoneMatch: "*", MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part2.ETag }] } }))),
    ).toEqual({ code: "PreconditionFailed", status: 412 });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "cond/mpu.bin" }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe("only part");
  });
});

describe("object tagging", () => {
  it("tags written with PutObject and CreateMultipartUpload are the version's; PutObjectTagging replaces them; a new version starts over", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tags/a.mp4", Body: "a", Tagging: "show=news&lang=en%20GB" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/a.mp4" }))).TagSet).toEqual([{ Key: "show", Value: "news" }, { Key: "lang", Value: "en GB" }]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/a.mp4", Tagging: { TagSet: [{ Key: "state", Value: "published" }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/a.mp4" }))).TagSet).toEqual([{ Key: "state", Value: "published" }]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tags/a.mp4", Body: "a2" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/a.mp4" }))).TagSet ?? []).toEqual([]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "tags/mpu.mp4", Tagging: "kind=raw" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "tags/mpu.mp4", UploadId, PartNumber: 1, Body: Buffer.from("p") }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "tags/mpu.mp4", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/mpu.mp4" }))).TagSet).toEqual([{ Key: "kind", Value: "raw" }]);
  });

  it("S3's limits: 10 tags, keys of 128 and values of 256 characters, unique keys; a missing object is NoSuchKey", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    expect(await s3ErrorOf(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: many } })))).toEqual({ code: "InvalidTag", status: 400 });
    expect(await s3ErrorOf(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: [{ Key: "k".repeat(129), Value: "v" }] } })))).toEqual({ code: "InvalidTag", status: 400 });
    expect(await s3ErrorOf(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: [{ Key: "k", Value: "v".repeat(257) }] } })))).toEqual({ code: "InvalidTag", status: 400 });
    expect(await s3ErrorOf(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: [{ Key: "k", Value: "1" }, { Key: "k", Value: "2" }] } })))).toEqual({ code: "InvalidTag", status: 400 });
    expect(await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tags/too-many.mp4", Body: "x", Tagging: many.map((t) => `${t.Key}=${t.Value}`).join("&") })))).toEqual({ code: "InvalidTag", status: 400 });
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: VICTIM, Tagging: { TagSet: Array.from({ length: 10 }, (_, i) => ({ Key: `${"k".repeat(126)}${i}`, Value: "v".repeat(256) })) } }));
    expect(await s3ErrorOf(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/none.mp4" })))).toEqual({ code: "NoSuchKey", status: 404 });
    await expectVictimIntact("after tagging limits");
  });

  it("CopyObject carries the source's tags (tagging directive COPY, the default), or the request's with REPLACE, whatever the metadata directive", async () => {
    const tagsOfKey = async (key: string) => (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet ?? [];
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tags/copy-src.mp4", Body: "src", Tagging: "show=news" }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tags/copy-1.mp4", CopySource: `${BUCKET}/tags/copy-src.mp4` }));
    expect(await tagsOfKey("tags/copy-1.mp4")).toEqual([{ Key: "show", Value: "news" }]);
    // Tags set after the write (a record beside the version) travel too; REPLACE of the metadata does not drop them.
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "tags/copy-src.mp4", Tagging: { TagSet: [{ Key: "state", Value: "published" }] } }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tags/copy-2.mp4", CopySource: `${BUCKET}/tags/copy-src.mp4`, MetadataDirective: "REPLACE", Metadata: { m: "1" } }));
    expect(await tagsOfKey("tags/copy-2.mp4")).toEqual([{ Key: "state", Value: "published" }]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tags/copy-3.mp4", CopySource: `${BUCKET}/tags/copy-src.mp4`, TaggingDirective: "REPLACE", Tagging: "lang=de" }));
    expect(await tagsOfKey("tags/copy-3.mp4")).toEqual([{ Key: "lang", Value: "de" }]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tags/copy-4.mp4", CopySource: `${BUCKET}/tags/copy-src.mp4`, TaggingDirective: "REPLACE" }));
    expect(await tagsOfKey("tags/copy-4.mp4")).toEqual([]);
    const many = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join("&");
    expect(await s3ErrorOf(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "tags/copy-5.mp4", CopySource: `${BUCKET}/tags/copy-src.mp4`, TaggingDirective: "REPLACE", Tagging: many })))).toEqual({ code: "InvalidTag", status: 400 });
    expect(await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tags/copy-5.mp4" })))).toMatchObject({ status: 404 });
  });
});

describe("plain HTTP chunking", () => {
  it("a PUT with Transfer-Encoding: chunked and no Content-Length is stored whole (spooled, then replicated)", async () => {
    const url = new URL(cluster.endpoint);
    const body = randomBytes(3 * 1024 * 1024 + 11);
    const headers = await signedHeadersOf(cluster, { method: "PUT", path: `/${BUCKET}/chunked/clip.mp4`, chunked: true });
    expect(headers["content-length"]).toBeUndefined();
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: "PUT", path: `/${BUCKET}/chunked/clip.mp4`, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      // Several chunks, written apart: Node sends each as one HTTP chunk.
      for (let at = 0; at < body.length; at += 1024 * 1024) req.write(body.subarray(at, at + 1024 * 1024));
      req.end();
    });
    expect(status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "chunked/clip.mp4" }));
    expect(got.ContentLength).toBe(body.length);
    const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    expect(createHash("md5").update(bytes).digest("hex")).toBe(createHash("md5").update(body).digest("hex"));
  });
});
