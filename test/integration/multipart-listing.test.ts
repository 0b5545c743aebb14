// ListMultipartUploads pages as S3 does (key order, then initiation order; key-marker and upload-id-marker;
// prefix, delimiter and encoding-type=url), and a page costs one listing fan-out however many uploads are in
// progress in the bucket: upload records are named by (key, upload id), so a page reads from its markers on.
import { CreateBucketCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, type ListMultipartUploadsCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareKeys } from "../../core/key-order.ts";
import { mapLimit } from "../../core/quorum.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { sample, scrapeRouter } from "./support/metrics.ts";
import { signedRawRequest } from "./support/raw-s3.ts";

// Ports: 28900 (S3) and up.
const BASE_PORT = 28900;
const BUCKET = "uploads";
const NODES = 5;
let cluster: TestCluster;
let s3: S3Client;
/** Every upload in progress in BUCKET, in the order S3 lists them. */
let expected: { key: string; uploadId: string }[] = [];

const byListingOrder = (a: { key: string; uploadId: string }, b: { key: string; uploadId: string }) => compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0);

async function createUploads(keys: readonly string[]): Promise<{ key: string; uploadId: string }[]> {
  return mapLimit(keys, 16, async (key) => ({ key, uploadId: (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId! }));
}

/** Pages through with the SDK, following NextKeyMarker / NextUploadIdMarker. */
async function listAll(input: Omit<ListMultipartUploadsCommandInput, "Bucket">): Promise<{ uploads: string[]; prefixes: string[]; pages: number }> {
  const uploads: string[] = [];
  const prefixes: string[] = [];
  let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
  for (let pages = 1; pages <= 100; pages++) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, ...input, ...markers }));
    uploads.push(...(page.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`));
    prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
    if (input.MaxUploads !== undefined) expect((page.Uploads ?? []).length + (page.CommonPrefixes ?? []).length).toBeLessThanOrEqual(input.MaxUploads);
    if (!page.IsTruncated) return { uploads, prefixes, pages };
    markers = { KeyMarker: page.NextKeyMarker, ...(page.NextUploadIdMarker ? { UploadIdMarker: page.NextUploadIdMarker } : {}) };
  }
  throw new Error("more than 100 pages");
}

/** The key of a `key uploadId` line (keys may hold spaces, upload ids never do). */
const keyOf = (line: string) => line.slice(0, line.lastIndexOf(" "));

const listRequests = async () => sample(await scrapeRouter(cluster), "ringstore_replica_requests_total", { kind: "list-bucket" });

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: NODES, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // 7 shows × 4 episodes, one episode uploaded three times at once, two top-level files, a key to url-encode.
  const keys: string[] = ["a poster.jpg", "trailer.mp4", "shows/show-2/ep-1", "shows/show-2/ep-1", "shows/résumé é.txt"];
  for (let show = 0; show < 7; show++) for (let ep = 0; ep < 4; ep++) keys.push(`shows/show-${show}/ep-${ep}`);
  expected = (await createUploads(keys)).sort(byListingOrder);
}, 120_000);

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

describe("ListMultipartUploads", () => {
  it("pages of 10 by key-marker and upload-id-marker list every upload once, in key then initiation order", async () => {
    const listed = await listAll({ MaxUploads: 10 });
    expect(listed.uploads).toEqual(expected.map((u) => `${u.key} ${u.uploadId}`));
    expect(listed.pages).toBe(Math.ceil(expected.length / 10));
    expect(listed.pages).toBeGreaterThanOrEqual(3);
    // The three uploads of one key come in the order they were initiated: their ids sort so.
    const ids = expected.filter((u) => u.key === "shows/show-2/ep-1").map((u) => u.uploadId);
    expect(ids.length).toBe(3);
  });

  it("key-marker alone starts after every upload of that key; with upload-id-marker, after that upload", async () => {
    const afterKey = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: "shows/show-2/ep-1", MaxUploads: 2 }));
    expect((afterKey.Uploads ?? []).map((u) => u.Key)).toEqual(["shows/show-2/ep-2", "shows/show-2/ep-3"]);
    const three = expected.filter((u) => u.key === "shows/show-2/ep-1");
    const afterFirst = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: "shows/show-2/ep-1", UploadIdMarker: three[0]!.uploadId, MaxUploads: 3 }));
    expect((afterFirst.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`)).toEqual([`${three[1]!.key} ${three[1]!.uploadId}`, `${three[2]!.key} ${three[2]!.uploadId}`, "shows/show-2/ep-2 " + expected.find((u) => u.key === "shows/show-2/ep-2")!.uploadId]);
    expect(afterFirst.IsTruncated).toBe(true);
    expect(afterFirst.NextKeyMarker).toBe("shows/show-2/ep-2");
  });

  it("prefix and delimiter fold keys into CommonPrefixes, paged by a NextKeyMarker that is a prefix", async () => {
    const top = await listAll({ Delimiter: "/" });
    expect(top.prefixes).toEqual(["shows/"]);
    expect(top.uploads.map(keyOf)).toEqual(["a poster.jpg", "trailer.mp4"]);
    const shows = await listAll({ Prefix: "shows/", Delimiter: "/", MaxUploads: 3 });
    expect(shows.prefixes).toEqual(Array.from({ length: 7 }, (_, i) => `shows/show-${i}/`));
    expect(shows.uploads.map(keyOf)).toEqual(["shows/résumé é.txt"]);
    expect(shows.pages).toBe(3);
    // A delimiter that also occurs in upload ids ("-", "0"…) folds by the key only.
    const dashed = await listAll({ Prefix: "shows/show-3/", Delimiter: "-" });
    expect(dashed.prefixes).toEqual(["shows/show-3/ep-"]);
    expect(dashed.uploads).toEqual([]);
  });

  it("encoding-type=url encodes keys, prefixes and markers, and only when asked", async () => {
    const raw = await signedRawRequest(cluster, { method: "GET", path: `/${BUCKET}?uploads&prefix=shows%2Fr&encoding-type=url&key-marker=shows%2Fa%20b` });
    expect("status" in raw && raw.status).toBe(200);
    const body = "body" in raw ? raw.body : "";
    expect(body).toContain("<EncodingType>url</EncodingType>");
    expect(body).toContain("<Key>shows/r%C3%A9sum%C3%A9%20%C3%A9.txt</Key>");
    expect(body).toContain("<KeyMarker>shows/a%20b</KeyMarker>");
    const plain = await signedRawRequest(cluster, { method: "GET", path: `/${BUCKET}?uploads&prefix=shows%2Fr` });
    expect("body" in plain && plain.body).toContain("<Key>shows/résumé é.txt</Key>");
    expect("body" in plain && plain.body).not.toContain("EncodingType");
  });

  it("a page costs one fan-out to the nodes, with 33 uploads in progress as with 1,033", async () => {
    const middle = { KeyMarker: "shows/show-1/ep-0", MaxUploads: 10 };
    const cost = async () => {
      const before = await listRequests();
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, ...middle }));
      expect(page.Uploads?.length).toBe(10);
      return (await listRequests()) - before;
    };
    const few = await cost();
    const started = Date.now();
    const more = await createUploads(Array.from({ length: 1000 }, (_, i) => `zz/many-${String(i).padStart(4, "0")}`));
    console.log(`1,000 CreateMultipartUpload: ${Date.now() - started} ms`);
    const many = await cost();
    console.log(`list-bucket requests for one page of 10: ${few} with ${expected.length} uploads in progress, ${many} with ${expected.length + more.length}`);
    expect(few).toBeLessThanOrEqual(NODES);
    expect(many).toBe(few);
    // The last page, past the 1,000 new ones, costs no more either.
    const before = await listRequests();
    const last = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: "zz/many-0990", MaxUploads: 10 }));
    expect(last.Uploads?.length).toBe(9);
    expect(last.IsTruncated).toBe(false);
    expect((await listRequests()) - before).toBeLessThanOrEqual(NODES);
  }, 300_000);
});
