// Slow and idle clients cannot take the router: 1,000 sockets that never finish their headers and a body
// that trickles in leave the endpoint answering, and the router closes them itself.
import { connect, type Socket } from "node:net";
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { signedHeadersOf } from "./support/raw-s3.ts";

let cluster: TestCluster;
let s3: S3Client;
const SOCKETS = 1000;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 23300, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "slow" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

function openSocket(port: number, first: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.write(first);
      resolve({ socket, closed: new Promise((done) => socket.once("close", () => done(Date.now() - opened))) });
    });
    socket.resume(); // read what the router answers (its 408), or "close" never fires
    socket.on("error", () => {}); // the router resetting it is the point
    socket.once("error", reject);
  });
}

describe("slow clients", () => {
  it("1,000 idle sockets with unfinished headers and a trickling body leave the endpoint answering; the router drops them", async () => {
    const port = Number(new URL(cluster.endpoint).port);
    const idle: { socket: Socket; closed: Promise<number> }[] = [];
    for (let i = 0; i < SOCKETS; i += 50) {
      idle.push(...(await Promise.all(Array.from({ length: 50 }, () => openSocket(port, "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")))));
    }
    // A signed PUT that promises 1 MiB and sends 10 bytes a second.
    const headers = await signedHeadersOf(cluster, { method: "PUT", path: "/slow/trickle", declaredLength: 1024 * 1024 });
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
    const trickle = await openSocket(port, `PUT /slow/trickle HTTP/1.1\r\n${head}\r\n`);
    const drip = setInterval(() => trickle.socket.writable && trickle.socket.write("0123456789"), 1000);
    try {
      const started = Date.now();
      await s3.send(new HeadBucketCommand({ Bucket: "slow" }));
      const answeredMs = Date.now() - started;
      console.log(`with ${SOCKETS} idle sockets open: HeadBucket answered in ${answeredMs} ms`);
      expect(answeredMs).toBeLessThan(2000);
      const closedMs = await Promise.all(idle.map((s) => s.closed));
      closedMs.sort((a, b) => a - b);
      console.log(`idle sockets closed by the router after ${closedMs[0]}–${closedMs[closedMs.length - 1]} ms (headers timeout 20 s)`);
      expect(closedMs[closedMs.length - 1]).toBeLessThan(40_000);
      const trickleMs = await trickle.closed;
      console.log(`trickling body (10 B/s) dropped after ${trickleMs} ms`);
      expect(trickleMs).toBeLessThan(40_000);
    } finally {
      clearInterval(drip);
      for (const s of idle) s.socket.destroy();
      trickle.socket.destroy();
    }
    await eventually(async () => (await s3.send(new HeadBucketCommand({ Bucket: "slow" }))).$metadata.httpStatusCode === 200, { timeoutMs: 5000, what: "the endpoint answering" });
  }, 90_000);
});
