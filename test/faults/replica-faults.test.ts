// Replicas that die, hang or drop off the network in the middle of a request (issue 10, items 6 and 7; fault
// case 9d and 9g), on the fault suite's hosts (test/faults/support/netns-cluster.ts: a namespace per process,
// HAProxy in front):
// - two of the three receivers of a PUT SIGKILLed mid-body: the client has its answer within 10 s, and the
//   surviving receiver keeps no temp file of the abandoned write;
// - one receiver SIGSTOPped mid-PUT: the other two acknowledge it (the hung one is cut by the progress timeout);
// - one receiver's host cut off the network mid-PUT (its veth down: no reset, its packets vanish): the same;
// - a byte flipped in the middle of stored copies: every whole GET still returns the right bytes, resumed
//   from another replica at the byte where the bad block began, and later GETs start on the good copy;
// - the serving replicas SIGSTOPped or SIGKILLed mid-GET: the GET completes from the remaining replica.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeId, nodeId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { REPLICA_PROGRESS_TIMEOUT_MS } from "../../runtime/transport/progress-deadline.ts";
import { blobsOfSize } from "../integration/support/blobs.ts";
import { eventually } from "../integration/support/cluster.ts";
import { generatedBodyWithDigest } from "../integration/support/data.ts";
import { signedHeadersOf } from "../integration/support/raw-s3.ts";
import { type NetnsCluster, namespacesAvailable, startWithBucket } from "./support/netns-cluster.ts";

const BUCKET = "faults";
const runnable = namespacesAvailable("replicas that die, hang or drop off mid-request");
let cluster: NetnsCluster;
let s3: S3Client;
/** Nodes killed, hung or cut by an earlier test: they may still be catching up, so later keys avoid them. */
const restartedIds: string[] = [];

beforeAll(async () => {
  if (!runnable) return;
  ({ cluster, s3 } = await startWithBucket({ nodes: 5, routers: 1, partitionBits: 8 }, BUCKET));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.stop(suite);
});

const md5 = (bytes: Buffer): string => createHash("md5").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A key of BUCKET whose primaries avoid `avoid`, with its primaries in ring order. */
function keyWithPrimaries(prefix: string, avoid: readonly string[] = []): { key: string; primaries: readonly NodeId[] } {
  const ring = buildRing(cluster.map());
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}-${i}.bin`;
    const primaries = primariesOf(ring, partitionOf(ring, BUCKET, key));
    if (!primaries.some((p) => avoid.includes(p))) return { key, primaries };
  }
  throw new Error(`no key avoiding ${avoid.join(",")}`);
}

const tempFilesOf = (node: string): string[] => readdirSync(join(cluster.dataDirOf(node), "tmp"));

/** Restarts a killed node on its old disk, and waits until it answers again. */
async function restartNode(id: string): Promise<void> {
  cluster.restart(id);
  const transport = cluster.internalTransport();
  try {
    await eventually(async () => (await transport.send(nodeId(id), { kind: "list-bucket", bucket: BUCKET, prefix: "", after: "", limit: 1 })).ok, { timeoutMs: 20_000, what: `${id} answers again` });
  } finally {
    await transport.close();
  }
}

/**
 * A PUT whose body is sent at a pace this test controls: `onProgress` hears how many bytes went out, so a fault
 * can be injected mid-body. Resolves with the status and the seconds from the first byte to the answer.
 */
async function pacedPut(key: string, size: number, chunkBytes: number, pauseMs: number, onProgress: (sentBytes: number) => void): Promise<{ status: number; body: string; seconds: number }> {
  const url = new URL(cluster.endpoint);
  const path = `/${BUCKET}/${key}`;
  const headers = await signedHeadersOf({ endpoint: cluster.endpoint, ...cluster.credentials }, { method: "PUT", path, declaredLength: size });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ host: url.hostname, port: url.port, method: "PUT", path, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), seconds: (Date.now() - started) / 1000 }));
    });
    // The router may answer (503) and close while the body is still going out: that answer is what counts.
    req.on("error", (error) => (answered ? undefined : reject(error)));
    const chunk = randomBytes(chunkBytes);
    let sent = 0;
    const pump = async () => {
      while (sent < size && !answered && !req.destroyed) {
        const n = Math.min(chunkBytes, size - sent);
        const ok = req.write(chunk.subarray(0, n));
        sent += n;
        onProgress(sent);
        if (!ok) await new Promise((done) => req.once("drain", done));
        await sleep(pauseMs);
      }
      if (!answered && !req.destroyed) req.end();
    };
    void pump();
  });
}

async function getWhole(key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Waits until every node in `nodes` holds `key`'s newest version committed (the third commit is background). */
async function heldBy(key: string, nodes: readonly NodeId[]): Promise<void> {
  const ring = buildRing(cluster.map());
  const transport = cluster.internalTransport();
  try {
    await eventually(
      async () => {
        for (const node of nodes) {
          const answer = await transport.send(node, { kind: "head", partition: partitionOf(ring, BUCKET, key), bucket: BUCKET, key });
          if (!answer.ok || answer.value.version === null) return false;
        }
        return true;
      },
      { timeoutMs: 15_000, what: `${key} held by ${nodes.join(",")}` },
    );
  } finally {
    await transport.close();
  }
}

/** The one blob file of exactly `size` bytes under a node's blob folder. */
function blobOfSize(node: string, size: number): string {
  const found = blobsOfSize(dirname(cluster.dataDirOf(node)), node, size);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const routerLog = (): string => readFileSync(cluster.logOf("router-1"), "utf8");

describe.runIf(runnable)("receivers that die, hang or drop off mid-PUT", () => {
  it("two receivers killed 150 ms apart: the client has its answer within 10 s, no temp file left on the survivor", async () => {
    const { key, primaries } = keyWithPrimaries("killed");
    const [first, second, survivor] = primaries as [NodeId, NodeId, NodeId];
    const size = 100 * 1024 * 1024;
    let killedAt = 0;
    const answer = await pacedPut(key, size, 256 * 1024, 2, (sent) => {
      if (killedAt === 0 && sent >= 24 * 1024 * 1024) {
        killedAt = Date.now();
        void cluster.kill(first);
        setTimeout(() => void cluster.kill(second), 150);
      }
    });
    const secondsAfterKill = (Date.now() - killedAt) / 1000;
    console.log(`faults killed receivers: answer ${answer.status} ${secondsAfterKill.toFixed(2)} s after the first kill (${answer.seconds.toFixed(2)} s in all)`);
    expect(killedAt).toBeGreaterThan(0);
    expect(secondsAfterKill).toBeLessThan(10);
    expect([200, 503]).toContain(answer.status);
    // The survivor's temp file goes when the router abandons its request, at once (not at the next start).
    const cleanedAfter = Date.now();
    await eventually(async () => tempFilesOf(survivor).length === 0, { timeoutMs: 3000, what: `no temp file left on ${survivor}` });
    console.log(`killed receivers: ${survivor}'s temp folder empty ${Date.now() - cleanedAfter} ms after the answer`);
    restartedIds.push(first, second);
    await restartNode(first);
    await restartNode(second);
  }, 60_000);

  it("one receiver SIGSTOPped mid-PUT: the other two acknowledge it", async () => {
    const { key, primaries } = keyWithPrimaries("hung", restartedIds);
    const hung = primaries[1]!;
    const size = 64 * 1024 * 1024;
    let stoppedAt = 0;
    const answer = await pacedPut(key, size, 256 * 1024, 2, (sent) => {
      if (stoppedAt === 0 && sent >= 8 * 1024 * 1024) {
        stoppedAt = Date.now();
        cluster.pause(hung);
      }
    });
    const secondsAfterStop = (Date.now() - stoppedAt) / 1000;
    cluster.resume(hung);
    console.log(`faults hung receiver: answer ${answer.status} ${secondsAfterStop.toFixed(2)} s after SIGSTOP (${answer.seconds.toFixed(2)} s in all)`);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(answer.status, answer.body).toBe(200);
    expect(secondsAfterStop).toBeLessThan(20);
    // The hung node, once running again, drops the temp file of the write it was cut from.
    await eventually(async () => tempFilesOf(hung).length === 0, { timeoutMs: 5000, what: `no temp file left on ${hung}` });
  }, 60_000);

  it("one receiver's host cut off the network mid-PUT (its veth down): the other two acknowledge it", async () => {
    const { key, primaries } = keyWithPrimaries("cut", restartedIds);
    const lost = primaries[1]!;
    const size = 64 * 1024 * 1024;
    let cutAt = 0;
    const answer = await pacedPut(key, size, 256 * 1024, 2, (sent) => {
      if (cutAt === 0 && sent >= 8 * 1024 * 1024) {
        cutAt = Date.now();
        cluster.cut(lost, "link");
      }
    });
    const secondsAfterCut = (Date.now() - cutAt) / 1000;
    cluster.heal(lost);
    console.log(`faults cut receiver: answer ${answer.status} ${secondsAfterCut.toFixed(2)} s after its link went down (${answer.seconds.toFixed(2)} s in all)`);
    expect(cutAt).toBeGreaterThan(0);
    expect(answer.status, answer.body).toBe(200);
    expect(secondsAfterCut).toBeLessThan(20);
    // The cut bit: with no reset from the lost host, the router waited for its progress deadline to drop it.
    expect(secondsAfterCut).toBeGreaterThanOrEqual(REPLICA_PROGRESS_TIMEOUT_MS / 1000 - 0.5);
  }, 60_000);
});

/** A whole GET of a fresh object of `size` bytes, with `fault` applied to its primaries once 4 MiB have arrived. */
async function readWithFaultMidBody(prefix: string, size: number, fault: (primaries: readonly NodeId[]) => Promise<void>): Promise<{ size: number; received: number; md5: string; expectedMd5: string; secondsAfterFault: number }> {
  const { key, primaries } = keyWithPrimaries(prefix, restartedIds);
  const data = generatedBodyWithDigest(size);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data.body(), ContentLength: size }));
  await heldBy(key, primaries);
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const hash = createHash("md5");
  let received = 0;
  let faultAt = 0;
  for await (const chunk of got.Body as Readable) {
    hash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
    if (faultAt === 0 && received >= 4 * 1024 * 1024) {
      faultAt = Date.now();
      await fault(primaries);
    }
  }
  return { size, received, md5: hash.digest("hex"), expectedMd5: await data.md5, secondsAfterFault: (Date.now() - faultAt) / 1000 };
}

describe.runIf(runnable)("GET failover", () => {
  it("a byte flipped in the middle of one copy: 20 of 20 whole GETs return the right bytes", async () => {
    const { key, primaries } = keyWithPrimaries("rotten", restartedIds);
    const body = randomBytes(8 * 1024 * 1024 + 12_345);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    await heldBy(key, primaries);
    // The first primary is one of the two a read asks first, so GETs start on the rotten copy now and then.
    // (Only one copy rots: two copies repaired at once each answer "no such key" while their replacement is
    // written, which a quorum of those two reads as a 404; a repair matter, reported, not this test's.)
    const path = blobOfSize(primaries[0]!, body.length);
    const rotten = Buffer.from(readFileSync(path));
    const offset = 4 * 1024 * 1024 + 777;
    rotten[offset] = rotten[offset]! ^ 0x10;
    writeFileSync(path, rotten);
    const resumesBefore = routerLog().split("read.body-resumed").length - 1;
    let good = 0;
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        if (md5(await getWhole(key)) === md5(body)) good += 1;
        else failures.push(`GET ${i}: wrong bytes`);
      } catch (error) {
        failures.push(`GET ${i}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const resumes = routerLog().split("read.body-resumed").length - 1 - resumesBefore;
    console.log(`faults rotten copies: ${good} of 20 whole GETs correct, ${resumes} resumes from another replica; ${failures.slice(0, 3).join(" | ")}`);
    expect(failures).toEqual([]);
    expect(good).toBe(20);
    expect(resumes).toBeGreaterThan(0);
    // The router remembers the replica that failed the body and asks it last: one GET resumes, the next ones
    // start on a good copy.
    expect(resumes).toBeLessThanOrEqual(2);
  }, 60_000);

  it("the replicas serving a GET SIGSTOPped mid-body: the GET completes from the remaining one in seconds", async () => {
    const hung: NodeId[] = [];
    try {
      // The body comes from one of the two primaries a read asks first: stop both.
      const read = await readWithFaultMidBody("stalled", 32 * 1024 * 1024, async (primaries) => {
        hung.push(primaries[0]!, primaries[1]!);
        for (const node of hung) cluster.pause(node);
      });
      console.log(`faults serving replicas hung: ${read.received} of ${read.size} B received, completed ${read.secondsAfterFault.toFixed(2)} s after SIGSTOP`);
      expect(read.received).toBe(read.size);
      expect(read.md5).toBe(read.expectedMd5);
      expect(read.secondsAfterFault).toBeLessThan(15);
    } finally {
      for (const node of hung) cluster.resume(node);
    }
  }, 60_000);

  it("the replicas serving a GET killed mid-body: the GET completes from the remaining one", async () => {
    // A read's body comes from one of the two primaries it asked first: kill both.
    const read = await readWithFaultMidBody("served", 64 * 1024 * 1024, (primaries) => Promise.all([cluster.kill(primaries[0]!), cluster.kill(primaries[1]!)]).then(() => undefined));
    console.log(`faults serving replicas killed: ${read.received} of ${read.size} B received, completed ${read.secondsAfterFault.toFixed(2)} s after the kill`);
    expect(read.received).toBe(read.size);
    expect(read.md5).toBe(read.expectedMd5);
  }, 60_000);
});
