// Prometheus metrics on a router (S3 port, bearer token from the data folder) and on a node (its internal
// port), moving with traffic.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 23800, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "metrics" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

/** The value of one series in Prometheus' text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

async function scrapeRouter(): Promise<string> {
  const token = readFileSync(join(cluster.dataDir, "metrics-token"), "utf8").trim();
  const answer = await fetch(`${cluster.endpoint}/-/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  expect(answer.status).toBe(200);
  return answer.text();
}

async function scrapeNode(id: string): Promise<string> {
  const answer = await fetch(`http://127.0.0.1:${cluster.process(id).port}/-/metrics`);
  expect(answer.status).toBe(200);
  return answer.text();
}

describe("metrics", () => {
  it("the router's figures move with traffic; without the token the endpoint is 403", async () => {
    expect((await fetch(`${cluster.endpoint}/-/metrics`)).status).toBe(403);
    expect((await fetch(`${cluster.endpoint}/-/metrics`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(403);
    const before = await scrapeRouter();
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: "metrics", Key: `k${i}`, Body: Buffer.alloc(1000, i) }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "metrics", Key: "k0" }));
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    await s3.send(new GetObjectCommand({ Bucket: "metrics", Key: "missing" })).catch(() => undefined);
    const after = await scrapeRouter();
    expect(sample(after, "ringstore_s3_requests_total", { operation: "PutObject", status: "200" }) - sample(before, "ringstore_s3_requests_total", { operation: "PutObject", status: "200" })).toBe(5);
    expect(sample(after, "ringstore_s3_requests_total", { operation: "GetObject", status: "404" })).toBe(1);
    expect(sample(after, "ringstore_s3_request_duration_seconds_count", { operation: "PutObject" })).toBeGreaterThanOrEqual(5);
    expect(sample(after, "ringstore_s3_received_bytes_total") - sample(before, "ringstore_s3_received_bytes_total")).toBeGreaterThanOrEqual(5000);
    expect(sample(after, "ringstore_s3_sent_bytes_total") - sample(before, "ringstore_s3_sent_bytes_total")).toBeGreaterThanOrEqual(1000);
    expect(sample(after, "ringstore_replica_requests_total", { kind: "put", outcome: "ok" }) - sample(before, "ringstore_replica_requests_total", { kind: "put", outcome: "ok" })).toBeGreaterThanOrEqual(10);
    expect(sample(after, "ringstore_node_live")).toBe(3);
    expect(sample(after, "ringstore_process_nodejs_eventloop_lag_seconds")).toBeGreaterThan(0);
    // Scrapes are not S3 requests.
    expect(after).not.toContain('operation="Unresolved"');
  });

  it("a node's figures: requests served, disk, partitions behind", async () => {
    const text = await scrapeNode("node-1");
    expect(sample(text, "ringstore_replica_requests_served_total", { kind: "heartbeat", outcome: "ok" })).toBeGreaterThan(0);
    expect(sample(text, "ringstore_disk_free_bytes")).toBeGreaterThan(0);
    expect(sample(text, "ringstore_disk_total_bytes")).toBeGreaterThanOrEqual(sample(text, "ringstore_disk_free_bytes"));
    expect(text).toContain("ringstore_partitions_behind");
    const before = sample(text, "ringstore_replica_requests_served_total", { kind: "put" });
    for (let i = 0; i < 6; i++) await s3.send(new PutObjectCommand({ Bucket: "metrics", Key: `n${i}`, Body: "x" }));
    const total = async () => (await Promise.all(["node-1", "node-2", "node-3"].map(scrapeNode))).reduce((sum, t) => sum + sample(t, "ringstore_replica_requests_served_total", { kind: "put" }), 0);
    expect(await total()).toBeGreaterThanOrEqual(before + 12);
  });
});
