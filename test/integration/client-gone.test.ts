// Work stops when the client goes away: a listing, a GET and a PUT whose client closes its socket while the
// router waits on the nodes give up their requests to the nodes at once (the client's AbortSignal reaches
// the transport, which cuts them), instead of waiting for the nodes' answers or the 10 s transport timeout.
// One node is frozen (SIGSTOP) so that the request to it hangs in flight while the others answer: without the
// signal the router's request to it would end only when the node wakes or the timeout strikes.
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { sample, scrapeRouter } from "./support/metrics.ts";
import { signedRawRequest } from "./support/raw-s3.ts";

// Ports: 30000 (S3) and up; router at 30101.
const BASE_PORT = 30000;
const BUCKET = "gone";
const NODE_IDS = ["node-1", "node-2", "node-3"];
/** The client gives up this long after sending its request. */
const CLIENT_PATIENCE_MS = 300;
/** The router must have given up every request to the nodes within this much more (the transport timeout is 10 s). */
const GIVE_UP_BOUND_MS = 2_000;
let cluster: TestCluster;
let s3: S3Client;

const signalNodes = (ids: readonly string[], signal: "SIGSTOP" | "SIGCONT") => {
  for (const id of ids) process.kill(cluster.process(id).pid!, signal);
};

/** The router's requests to the nodes of the given kinds that have ended, by outcome. */
async function ended(kinds: readonly string[]): Promise<{ cancelled: number; all: number }> {
  const text = await scrapeRouter(cluster);
  let cancelled = 0;
  let all = 0;
  for (const kind of kinds) {
    cancelled += sample(text, "ringstore_replica_requests_total", { kind, outcome: "cancelled" });
    all += sample(text, "ringstore_replica_requests_total", { kind });
  }
  return { cancelled, all };
}

/**
 * Freezes `frozen`, sends `request` and closes the socket after CLIENT_PATIENCE_MS; returns how many requests of
 * `kinds` the router ended (and how many as cancelled) from then until `enough` holds or GIVE_UP_BOUND_MS passed.
 * Thaws the nodes and waits until the cluster answers again.
 */
async function abandon(kinds: readonly string[], frozen: readonly string[], request: Parameters<typeof signedRawRequest>[1], enough: (cut: { cancelled: number; all: number }) => boolean): Promise<{ cancelled: number; all: number; ms: number }> {
  const before = await ended(kinds);
  // The bucket's record is read through a cache shared by every request (not this client's work): fresh now.
  await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
  signalNodes(frozen, "SIGSTOP");
  try {
    const sent = Date.now();
    const answer = await signedRawRequest(cluster, { ...request, abortAfterMs: CLIENT_PATIENCE_MS });
    expect(answer).toEqual({ aborted: true });
    let cut = { cancelled: 0, all: 0 };
    while (Date.now() - sent < CLIENT_PATIENCE_MS + GIVE_UP_BOUND_MS && !enough(cut)) {
      await new Promise((done) => setTimeout(done, 100));
      const after = await ended(kinds);
      cut = { cancelled: after.cancelled - before.cancelled, all: after.all - before.all };
    }
    return { ...cut, ms: Date.now() - sent };
  } finally {
    signalNodes(frozen, "SIGCONT");
    await eventually(async () => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "small" }))).ETag, { timeoutMs: 30_000, what: "the cluster to answer again" });
  }
}

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "small", Body: "small" }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "video.mp4", Body: Buffer.alloc(4 * 1024 * 1024, 7) }));
}, 60_000);

afterAll(async ({}, suite) => {
  if (cluster) signalNodes(NODE_IDS, "SIGCONT");
  s3?.destroy();
  await cluster?.cleanup(suite);
});

describe("work stops when the client goes away", () => {
  it("a listing: its request to a node that does not answer is cut, not left to the timeout", async () => {
    const cut = await abandon(["list-bucket"], ["node-3"], { method: "GET", path: `/${BUCKET}?list-type=2` }, (c) => c.cancelled >= 1);
    console.log(`abandoned listing: ${cut.all} list-bucket requests ended (${cut.cancelled} cancelled) ${cut.ms} ms after the request`);
    expect(cut.cancelled).toBe(1);
  }, 60_000);

  it("a GET: its metadata read from a node that does not answer is cut", async () => {
    // The first primary of the key: one of the two read lanes asks it first. Its metadata read is a "read"
    // (metadata and, for a small object, the body in one round trip) when it is the first node asked, else a "head".
    const ring = buildRing(cluster.map());
    const first = primariesOf(ring, partitionOf(ring, BUCKET, "video.mp4"))[0]!;
    const cut = await abandon(["head", "read"], [first], { method: "GET", path: `/${BUCKET}/video.mp4` }, (c) => c.cancelled >= 1);
    console.log(`abandoned GET: ${cut.all} head/read requests ended (${cut.cancelled} cancelled) ${cut.ms} ms after the request`);
    expect(cut.cancelled).toBe(1);
  }, 60_000);

  it("a PUT: its replica writes end when the client's body breaks", async () => {
    const body = Buffer.alloc(256 * 1024, 1);
    const cut = await abandon(["put"], ["node-3"], { method: "PUT", path: `/${BUCKET}/upload.bin`, body, declaredLength: 8 * 1024 * 1024 }, (c) => c.all >= 3);
    console.log(`abandoned PUT: ${cut.all} put requests ended (${cut.cancelled} cancelled) ${cut.ms} ms after the request`);
    expect(cut.all).toBe(3);
  }, 60_000);
});
