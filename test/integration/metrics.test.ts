// Prometheus metrics on a router (S3 port, bearer token from the data folder) and on a node (its internal
// port), moving with traffic: requests, the store's timings, scrub and corrupt copies, a join's transition and
// the bytes repair pulls, quorum failures once too few nodes are left.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinNode } from "../../core/cluster-map.ts";
import { nodeId, zoneId } from "../../core/ids.ts";
import { changeCluster } from "../../runtime/cluster-admin.ts";
import { ringstoreCommand, startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { blobsOfSize } from "./support/blobs.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { sample } from "./support/metrics.ts";

// Ports: 25700 (S3), 25701-25703 (nodes), 25710 (the joining node), 25801 (the router).
const BASE_PORT = 25700;
const JOINING_PORT = BASE_PORT + 10;
let cluster: TestCluster;
let s3: S3Client;
const started: ChildProcess[] = [];
let restartedNode3: ChildProcess | undefined;

beforeAll(async () => {
  // Child processes inherit these: the scrubber walks again soon after each pass, repair runs soon after.
  process.env.RINGSTORE_SCRUB_PASS_PAUSE_MS = "300";
  process.env.RINGSTORE_REPAIR_INTERVAL_MS = "300";
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 3, routers: 1 });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "metrics" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await Promise.all(started.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

/** With RINGSTORE_METRICS_DUMP=<dir>, scrapes worth reading are kept there (the README's samples come from them). */
function keep(name: string, text: string): void {
  const dir = process.env.RINGSTORE_METRICS_DUMP;
  if (dir) writeFileSync(join(dir, `${name}.prom`), text);
}

async function scrapeRouter(): Promise<string> {
  const token = readFileSync(join(cluster.dataDir, "metrics-token"), "utf8").trim();
  const answer = await fetch(`${cluster.endpoint}/-/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  expect(answer.status).toBe(200);
  return answer.text();
}

async function scrapeNode(id: string): Promise<string> {
  const port = id === "node-4" ? JOINING_PORT : cluster.process(id).port;
  const answer = await fetch(`http://127.0.0.1:${port}/-/metrics`);
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
    expect(sample(after, "ringstore_ring_epoch")).toBe(1);
    expect(after).toContain("ringstore_ring_in_transition{");
    expect(sample(after, "ringstore_ring_in_transition")).toBe(0);
    expect(sample(after, "ringstore_partitions_in_transition")).toBe(0);
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

  it("a node's store timings, stored totals and disk move with writes", async () => {
    const nodes = ["node-1", "node-2", "node-3"];
    const totals = async (name: string, labels: Record<string, string> = {}) => (await Promise.all(nodes.map(scrapeNode))).reduce((sum, t) => sum + sample(t, name, labels), 0);
    const before = {
      statements: await totals("ringstore_sqlite_statement_duration_seconds_count", { statement: "upsert" }),
      fileSyncs: await totals("ringstore_fsync_duration_seconds_count", { target: "file" }),
      directorySyncs: await totals("ringstore_fsync_duration_seconds_count", { target: "directory" }),
      versions: await totals("ringstore_stored_versions"),
    };
    for (let i = 0; i < 8; i++) await s3.send(new PutObjectCommand({ Bucket: "metrics", Key: `timed-${i}`, Body: Buffer.alloc(2000, i) }));
    // Every replica of every write: one upsert (pending row) and one fsync of its body file, one of its directory.
    expect((await totals("ringstore_sqlite_statement_duration_seconds_count", { statement: "upsert" })) - before.statements).toBeGreaterThanOrEqual(16);
    expect((await totals("ringstore_fsync_duration_seconds_count", { target: "file" })) - before.fileSyncs).toBeGreaterThanOrEqual(16);
    expect((await totals("ringstore_fsync_duration_seconds_count", { target: "directory" })) - before.directorySyncs).toBeGreaterThanOrEqual(16);
    expect(await totals("ringstore_sqlite_statement_duration_seconds_count", { statement: "markCommitted" })).toBeGreaterThan(0);
    // The index's totals are cached for 5 s.
    await eventually(async () => (await totals("ringstore_stored_versions")) - before.versions >= 24, { timeoutMs: 10_000, what: "stored versions up by 3 x 8" });
    // Each node's totals are read again at most every 5 s, on a scrape: wait for node-1's own refresh too.
    await eventually(async () => sample(await scrapeNode("node-1"), "ringstore_stored_bytes") > 0, { timeoutMs: 10_000, what: "node-1's stored bytes above 0" });
    const node1 = await scrapeNode("node-1");
    expect(sample(node1, "ringstore_disk_used_bytes")).toBeGreaterThan(0);
    expect(sample(node1, "ringstore_disk_used_bytes")).toBeLessThanOrEqual(sample(node1, "ringstore_disk_total_bytes"));
    expect(sample(node1, "ringstore_process_nodejs_eventloop_lag_seconds")).toBeGreaterThan(0);
  });

  it("the scrubber's progress and a rotten copy found and replaced", async () => {
    const victim = "node-2";
    const checkedBefore = sample(await scrapeNode(victim), "ringstore_scrub_versions_checked_total");
    await eventually(async () => {
      const text = await scrapeNode(victim);
      return sample(text, "ringstore_scrub_versions_checked_total") > checkedBefore && sample(text, "ringstore_scrub_passes_total") > 0 && sample(text, "ringstore_scrub_read_bytes_total") > 0;
    }, { timeoutMs: 20_000, what: `${victim}'s scrubber checks versions and completes passes` });
    const body = randomBytes(300_000 + 17);
    await s3.send(new PutObjectCommand({ Bucket: "metrics", Key: "rotting", Body: body }));
    const [path] = await eventually(async () => {
      const files = blobsOfSize(cluster.dataDir, victim, body.length);
      return files.length === 1 ? files : undefined;
    }, { timeoutMs: 10_000, what: `one blob of ${body.length} B on ${victim}` });
    const rotten = Buffer.from(readFileSync(path!));
    rotten[123_456] = rotten[123_456]! ^ 0x01;
    writeFileSync(path!, rotten);
    const text = await eventually(async () => {
      const t = await scrapeNode(victim);
      return sample(t, "ringstore_corrupt_copies_found_total", { source: "scrub" }) >= 1 && sample(t, "ringstore_corrupt_copies_repaired_total", { outcome: "replaced" }) >= 1 ? t : undefined;
    }, { timeoutMs: 30_000, what: `${victim} counts the rotten copy found by the scrubber and replaced` });
    keep("node-after-corrupt-copy", text);
    expect(text).toContain("ringstore_corrupt_queue_length");
    expect(text).toContain("ringstore_corrupt_queue_dropped");
    expect(text).toContain("ringstore_scrub_pass_versions_checked");
  });

  it("a join: the transition and its moving partitions, then the bytes the new node pulls", async () => {
    const changed = await changeCluster({
      mapFile: join(cluster.dataDir, "cluster-map.json"),
      secret: readFileSync(join(cluster.dataDir, "cluster-secret"), "utf8").trim(),
      change: (map) => joinNode(map, { id: nodeId("node-4"), address: `127.0.0.1:${JOINING_PORT}`, zone: zoneId("local") }),
    });
    expect(changed.map.epoch).toBe(2);
    // Until node-4 runs, the transition stays open on the router (by gossip) and on the nodes.
    const routerText = await eventually(async () => {
      const t = await scrapeRouter();
      return sample(t, "ringstore_ring_epoch") === 2 && sample(t, "ringstore_ring_in_transition") === 1 ? t : undefined;
    }, { timeoutMs: 15_000, what: "the router follows epoch 2 with a transition open" });
    keep("router-in-transition", routerText);
    keep("node-in-transition", await scrapeNode("node-1"));
    expect(sample(routerText, "ringstore_partitions_in_transition")).toBeGreaterThan(0);
    expect(sample(routerText, "ringstore_partitions_in_transition")).toBeLessThanOrEqual(256);
    expect(sample(await scrapeNode("node-1"), "ringstore_partitions_in_transition")).toBe(sample(routerText, "ringstore_partitions_in_transition"));

    const args = ["node", "--id", "node-4", "--data-dir", join(cluster.dataDir, "node-4"), "--port", String(JOINING_PORT), "--host", "127.0.0.1", "--cluster-map", join(cluster.dataDir, "cluster-map.json"), "--secret-file", join(cluster.dataDir, "cluster-secret")];
    started.push(startChild(ringstoreCommand(args), join(cluster.dataDir, "logs", "node-4.log")).child);
    const joined = await eventually(async () => {
      const t = await scrapeNode("node-4");
      // Bytes count as each copy lands, copies when the repair round that pulled them ends.
      return sample(t, "ringstore_repair_copied_bytes_total", { direction: "pulled" }) > 0 && sample(t, "ringstore_repair_objects_copied", { direction: "pulled" }) > 0 ? t : undefined;
    }, { timeoutMs: 60_000, what: "node-4 pulls its share", intervalMs: 500 });
    keep("node-joined", joined);
    expect(joined).toContain("ringstore_repair_tasks_open");
    await eventually(async () => sample(await scrapeRouter(), "ringstore_ring_in_transition") === 0, { timeoutMs: 90_000, what: "the transition closes", intervalMs: 1000 });
    expect(sample(await scrapeRouter(), "ringstore_partitions_in_transition")).toBe(0);
  }, 180_000);

  it("a node back from a crash: the copies written meanwhile reach it (pushed back by the handoffs or pulled), and are counted", async () => {
    const pushed = async () => (await Promise.all(["node-1", "node-2", "node-4"].map(scrapeNode))).reduce((sum, t) => sum + sample(t, "ringstore_repair_copied_bytes_total", { direction: "pushed" }), 0);
    const before = await pushed();
    process.kill(cluster.process("node-3").pid!, "SIGKILL");
    await eventually(async () => sample(await scrapeRouter(), "ringstore_node_live", { node: "node-3" }) === 0, { timeoutMs: 15_000, what: "the router counts node-3 down" });
    // With node-3 down, writes of its partitions also leave a copy on the next node of the ring (a handoff).
    for (let i = 0; i < 12; i++) await s3.send(new PutObjectCommand({ Bucket: "metrics", Key: `while-down-${i}`, Body: Buffer.alloc(3000, i) }));
    restartedNode3 = startChild(cluster.process("node-3").command, join(cluster.dataDir, "logs", "node-3.log")).child;
    started.push(restartedNode3);
    // The copies reach node-3 by whichever repair moves first: a handoff holder pushes them, or node-3's own
    // catch-up pulls them from the other primaries (then the holder finds nothing to push). Both are counted:
    // pushed on the holders, pulled on node-3 (a new process, its counters start at 0).
    const copied = await eventually(async () => {
      const out = (await pushed()) - before;
      const pulled = sample(await scrapeNode("node-3"), "ringstore_repair_copied_bytes_total", { direction: "pulled" });
      return out + pulled >= 3000 ? { pushed: out, pulled } : undefined;
    }, { timeoutMs: 60_000, what: "the copies written while node-3 was down reach it, counted", intervalMs: 500 });
    console.log(`node-3 back: ${copied.pushed} bytes pushed to it by handoff holders, ${copied.pulled} pulled by it`);
  }, 90_000);

  it("quorum failures, by operation, once too few nodes are left", async () => {
    process.kill(cluster.process("node-2").pid!, "SIGKILL");
    await stopChild(restartedNode3!);
    await stopChild(started[0]!);
    await eventually(async () => sample(await scrapeRouter(), "ringstore_node_live") === 1, { timeoutMs: 15_000, what: "the router counts one node live" });
    const before = await scrapeRouter();
    const once = cluster.client({ maxAttempts: 1 });
    try {
      await expect(once.send(new PutObjectCommand({ Bucket: "metrics", Key: "lost", Body: "x" }))).rejects.toThrow();
      await expect(once.send(new GetObjectCommand({ Bucket: "metrics", Key: "k1" }))).rejects.toThrow();
    } finally {
      once.destroy();
    }
    const after = await scrapeRouter();
    keep("router-after-quorum-failures", after);
    expect(sample(after, "ringstore_quorum_failures_total", { operation: "write" }) - sample(before, "ringstore_quorum_failures_total", { operation: "write" })).toBeGreaterThanOrEqual(1);
    expect(sample(after, "ringstore_quorum_failures_total", { operation: "read", phase: "answers" }) - sample(before, "ringstore_quorum_failures_total", { operation: "read" })).toBeGreaterThanOrEqual(1);
    expect(sample(after, "ringstore_s3_requests_total", { status: "503" })).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
