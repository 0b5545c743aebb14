// Incomplete multipart uploads expire (the cluster default, shortened here to 3 s) and their parts are
// freed; the bucket lifecycle rule that sets it per bucket round-trips through the SDK.
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { PARTS_BUCKET } from "../../core/manifest.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;
const BUCKET = "uploads";

beforeAll(async () => {
  process.env.RINGSTORE_MULTIPART_UPLOAD_AGE_MAX_MS = "3000";
  process.env.RINGSTORE_MULTIPART_SWEEP_INTERVAL_MS = "500";
  try {
    cluster = await startTestCluster({ basePort: 23500, nodes: 3, routers: 1 });
  } finally {
    delete process.env.RINGSTORE_MULTIPART_UPLOAD_AGE_MAX_MS;
    delete process.env.RINGSTORE_MULTIPART_SWEEP_INTERVAL_MS;
  }
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error.name;
    throw error;
  }
  return "no error";
}

describe("multipart upload expiry", () => {
  it("an AbortIncompleteMultipartUpload rule round-trips; other lifecycle actions are NotImplemented", async () => {
    const rules = [{ ID: "abort-stale", Filter: { Prefix: "raw/" }, Status: "Enabled" as const, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: rules } }));
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }))).Rules).toEqual(rules);
    expect(await errorName(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: [{ ID: "x", Filter: { Prefix: "" }, Status: "Enabled", Expiration: { Days: 1 } }] } })))).toBe("NotImplemented");
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
    expect(await errorName(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).toBe("NoSuchLifecycleConfiguration");
  });

  it("an upload older than the cluster default is aborted and its parts are freed", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "raw/abandoned.mp4" }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "raw/abandoned.mp4", UploadId, PartNumber: 1, Body: Buffer.alloc(64 * 1024, 7) }));
    const started = Date.now();
    await eventually(async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).length === 0, { timeoutMs: 20_000, what: "the upload to expire" });
    console.log(`upload expired ${Date.now() - started} ms after its part was written (age limit 3 s, sweep every 0.5 s)`);
    expect(await errorName(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: "raw/abandoned.mp4", UploadId })))).toBe("NoSuchUpload");
    // No node holds a live copy of the part any more.
    const transport = cluster.internalTransport();
    try {
      for (const node of cluster.map().nodes) {
        const listed = await transport.send(nodeId(node.id), { kind: "list-bucket", bucket: PARTS_BUCKET, prefix: `${UploadId}/`, after: "", limit: 100 });
        expect(listed.ok && listed.value.versions.filter((v) => !v.deleted)).toEqual([]);
      }
    } finally {
      await transport.close();
    }
  });
});
