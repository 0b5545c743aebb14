// What an operator reads when something goes wrong (issue 10 item 10), from the real log lines of real processes:
// `cluster join` prints a start command that runs as printed; a repair failure names the peer, partition and
// error; a quorum failure names the primaries it went without (the S3 client gets AWS's 503 body, without node
// names); a router says when it turns unhealthy and why, and when it is healthy again; re-replication of a dead
// node is logged when it starts and when it finishes, with objects, bytes and seconds.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeId, type PartitionId, nodeId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { repoRoot, startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { PARENT_PID_ENV } from "../../runtime/parent-watch.ts";
import { clusterCli } from "./support/cluster-cli.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { presignV4 } from "./support/raw-s3.ts";

const BASE_PORT = 28700;
const NEW_NODE_PORT = BASE_PORT + 50;
const RE_REPLICATE_AFTER_MS = 8000;
const BUCKET = "signals";
const KEYS = Array.from({ length: 60 }, (_, i) => `clips/${i}.bin`);
const sizeOf = (key: string) => 1024 + (KEYS.indexOf(key) * 37) % 2048;

let cluster: TestCluster;
let s3: S3Client;
const started: ChildProcess[] = [];
/** node-5, started through `sh -c` with the printed command: its own process group, so that all of it stops. */
let joined: ChildProcess | undefined;

beforeAll(async () => {
  // Kept for the whole file: nodes this test restarts, and node-5, read it too (deleted in afterAll).
  process.env.RINGSTORE_RE_REPLICATE_AFTER_MS = String(RE_REPLICATE_AFTER_MS);
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 4, routers: 1, partitionBits: 6 });
  s3 = cluster.client({ maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(sizeOf(key), key) }));
}, 60_000);

afterAll(async ({}, suite) => {
  delete process.env.RINGSTORE_RE_REPLICATE_AFTER_MS;
  s3?.destroy();
  for (const child of started) for (const signal of ["SIGCONT", "SIGTERM"] as const) child.kill(signal);
  await Promise.all(started.map((child) => stopChild(child)));
  if (joined?.pid !== undefined && joined.exitCode === null) {
    const exited = new Promise((done) => joined!.once("exit", done));
    process.kill(-joined.pid, "SIGTERM");
    await exited;
  }
  await cluster?.cleanup(suite);
});

type Line = Record<string, unknown> & { event: string; time: string };

/** The JSON lines of one process's log written at or after `sinceMs`. */
function logOf(id: string, sinceMs = 0): Line[] {
  return readFileSync(join(cluster.dataDir, "logs", `${id}.log`), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => Date.parse(l.time) >= sinceMs);
}

const nodeIds = () => cluster.map().nodes.filter((n) => n.state === "active").map((n) => n.id as string);
const ring = () => buildRing(cluster.map());
const primariesOfKey = (bucket: string, key: string) => primariesOf(ring(), partitionOf(ring(), bucket, key));
/**
 * Signals a node the launcher started, or its restart by this test (never node-5, which runs under `sh -c`); the
 * launcher's pid of a node restarted here is stale, and must not be signalled.
 */
function kill(id: string, signal: NodeJS.Signals): void {
  assert(id !== "node-5", "node-5 is stopped only with its process group");
  const restarted = started.filter((child) => child.spawnargs.includes(id) && child.exitCode === null && child.signalCode === null).at(-1);
  if (restarted) restarted.kill(signal);
  else process.kill(cluster.process(id).pid!, signal);
}

async function caughtUp(id: string): Promise<boolean> {
  const address = cluster.map().nodes.find((n) => n.id === id)!.address;
  const reply = await fetch(`http://${address}/-/health`);
  return reply.ok && ((await reply.json()) as { behindPartitions: number }).behindPartitions === 0;
}

describe("operator signals", () => {
  it("`cluster join` prints a start command that runs as printed, and the node serves its share", async () => {
    const out = clusterCli(cluster, ["join", "--id", "node-5", "--address", `127.0.0.1:${NEW_NODE_PORT}`]);
    expect(out.stderr).toBe("");
    const line = /^start it \(if not running yet\): (npx ringstore node .*)$/m.exec(out.stdout)?.[1];
    expect(line, out.stdout).toBeDefined();
    expect(line).not.toMatch(/[<>]/);
    // Exactly the printed line, in a shell, from the checkout (where `npx ringstore` resolves), as an operator runs it.
    const logPath = join(cluster.dataDir, "logs", "node-5.log");
    // Not the launcher's parent watch (node-5's parent is npx, not this process): afterAll stops its process group.
    const { [PARENT_PID_ENV]: _parent, ...env } = process.env;
    joined = spawn("sh", ["-c", `${line} >> '${logPath}' 2>&1`], { cwd: repoRoot, detached: true, stdio: "ignore", env });
    await eventually(async () => logOf("node-5").some((l) => l.event === "node.started"), { timeoutMs: 30_000, what: "node-5 started from the printed command" });
    await eventually(async () => clusterCli(cluster, ["status"]).status === 0, { timeoutMs: 90_000, what: "the cluster settles after the join", intervalMs: 1000 });
    const mine = KEYS.filter((key) => primariesOfKey(BUCKET, key).includes(nodeId("node-5")));
    expect(mine.length).toBeGreaterThan(0);
    const transport = cluster.internalTransport();
    try {
      for (const key of mine) {
        const answer = await transport.send(nodeId("node-5"), { kind: "head", partition: partitionOf(ring(), BUCKET, key), bucket: BUCKET, key });
        expect(answer.ok && answer.value.version?.size).toBe(sizeOf(key));
      }
    } finally {
      await transport.close();
    }
    console.log(`operator signals: node-5 joined with the printed command (${line}) and holds its ${mine.length} keys`);
  }, 150_000);

  it("a repair failure is logged with the peer, the partition and the error", async () => {
    // Killed: it refuses connections at once, and counts as live for the failure timeout (4 s), in which the
    // others' repair rounds (every 2 s when idle) ask it for digests.
    const victim = "node-3";
    const since = Date.now();
    kill(victim, "SIGKILL");
    const found = await eventually(
      async () => nodeIds().filter((id) => id !== victim).flatMap((id) => logOf(id, since).filter((l) => l.event === "repair.failure" && l.peer === victim)).at(0),
      { timeoutMs: 20_000, what: `a repair.failure line naming ${victim}`, intervalMs: 250 },
    );
    console.log(`operator signals: ${JSON.stringify(found)}`);
    expect(found).toMatchObject({ level: 40, peer: victim, partition: expect.any(Number) as unknown, cause: expect.stringMatching(/^[a-z-]+:[a-z-]+$/) as unknown, count: expect.any(Number) as unknown, detail: expect.stringMatching(/ECONNREFUSED/) as unknown });
    started.push(startChild(cluster.process(victim).command, cluster.process(victim).log).child);
    await eventually(() => caughtUp(victim), { timeoutMs: 60_000, what: `${victim} caught up after its restart`, intervalMs: 500 });
  }, 90_000);

  let quorumVictims: NodeId[] = [];

  it("a quorum failure names the primaries it missed in the router's log; the client gets AWS's 503 body without node names", async () => {
    // A key two of whose primaries die, while the bucket's record keeps two live primaries.
    const bucketPrimaries = primariesOfKey("-system", `buckets/${BUCKET}`);
    const victimsOf = (k: string) => primariesOfKey(BUCKET, k).filter((n) => n !== "node-5").slice(0, 2);
    const key = KEYS.find((k) => victimsOf(k).length === 2 && victimsOf(k).filter((n) => bucketPrimaries.includes(n)).length <= 1)!;
    expect(key).toBeDefined();
    quorumVictims = victimsOf(key);
    const since = Date.now();
    for (const victim of quorumVictims) kill(victim, "SIGKILL");

    const answer = await eventually(async () => {
      const got = await fetch(await presignV4(cluster, "GET", `/${BUCKET}/${key}`));
      return got.status === 503 ? await got.text() : undefined;
    }, { timeoutMs: 15_000, what: `GET ${key} answers 503` });
    expect(answer).toMatch(/<Code>ServiceUnavailable<\/Code>/);
    expect(answer).not.toMatch(/node-\d/);
    const read = await eventually(async () => logOf("router-1", since).find((l) => l.event === "read.quorum-failed" && l.key === key), { timeoutMs: 5_000, what: "the router's read.quorum-failed line" });
    console.log(`operator signals: client got ${answer.replace(/\s+/g, " ")}; router logged ${JSON.stringify(read)}`);
    expect((read.missed as { node: string; why: string }[]).map((m) => m.node).sort()).toEqual([...quorumVictims].sort());
    expect((read.missed as { node: string; why: string }[]).every((m) => m.why.length > 0)).toBe(true);

    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "newer" })).then(() => undefined, (error: unknown) => error as { name: string; message: string; $metadata: { httpStatusCode?: number } });
    expect(put?.$metadata.httpStatusCode).toBe(503);
    expect(put?.name).toBe("ServiceUnavailable");
    expect(put?.message).not.toMatch(/node-\d/);
    const write = await eventually(async () => logOf("router-1", since).find((l) => l.event === "write.quorum-failed" && l.key === key), { timeoutMs: 5_000, what: "the router's write.quorum-failed line" });
    console.log(`operator signals: PUT refused with "${put?.message}"; router logged ${JSON.stringify(write)}`);
    expect((write.missed as { node: string }[]).map((m) => m.node).sort()).toEqual([...quorumVictims].sort());
  }, 60_000);

  it("a router logs when it turns unhealthy, naming the nodes it lacks, and when it is healthy again", async () => {
    const third = nodeIds().find((id) => !quorumVictims.includes(nodeId(id)) && id !== "node-5")!;
    const down = [...quorumVictims, nodeId(third)].sort();
    const since = Date.now();
    kill(third, "SIGKILL");
    const unhealthy = await eventually(async () => logOf("router-1", since).find((l) => l.event === "router.unhealthy"), { timeoutMs: 20_000, what: "router.unhealthy" });
    expect(unhealthy).toMatchObject({ level: 40, downNodes: down, liveNodes: 2, activeNodes: 5, reason: expect.stringContaining("2 of 5 nodes live") as unknown });
    for (const id of down) started.push(startChild(cluster.process(id).command, cluster.process(id).log).child);
    const healthy = await eventually(async () => logOf("router-1", Date.parse(unhealthy.time)).find((l) => l.event === "router.healthy"), { timeoutMs: 30_000, what: "router.healthy after the restarts" });
    console.log(`operator signals: ${JSON.stringify(unhealthy)} then ${JSON.stringify(healthy)}`);
    expect(healthy.level).toBe(30);
    expect((healthy.downNodes as string[]).length).toBeLessThan(down.length);
    expect((await fetch(`${cluster.endpoint}/-/health`)).status).toBe(200);
    for (const id of down) await eventually(() => caughtUp(id), { timeoutMs: 60_000, what: `${id} caught up after its restart`, intervalMs: 500 });
  }, 150_000);

  it("re-replication of a dead node is logged where it starts and where it finishes, with objects, bytes and seconds", async () => {
    const dead = "node-2";
    const since = Date.now();
    kill(dead, "SIGKILL");
    const others = nodeIds().filter((id) => id !== dead);
    // The nodes with a share: the first live primary of each partition the dead node is a primary of.
    const sharers = new Set<string>();
    for (let p = 0; p < ring().partitionCount; p++) {
      const primaries = primariesOf(ring(), p as PartitionId);
      if (primaries.includes(nodeId(dead))) sharers.add(primaries.find((n) => n !== dead)!);
    }
    const linesOf = (event: string) => others.flatMap((id) => logOf(id, since).filter((l) => l.event === event && l.down === dead));
    const done = await eventually(async () => {
      const begun = linesOf("rereplication.started");
      const finished = linesOf("rereplication.finished");
      return finished.length === sharers.size ? { begun, finished } : undefined;
    }, { timeoutMs: 90_000, what: `a rereplication.finished line of ${dead} from each of ${[...sharers].join(", ")}`, intervalMs: 500 }).catch((error: unknown) => {
      const lines = others.flatMap((id) => logOf(id, since).filter((l) => l.event.startsWith("rereplication.") || l.event === "repair.round"));
      console.error(lines.map((l) => JSON.stringify(l)).join("\n"));
      throw error;
    });
    console.log(`operator signals: ${done.begun.length} nodes re-replicated ${dead}: ${done.finished.map((l) => JSON.stringify(l)).join(" ")}`);
    expect(done.begun.map((l) => l.node).sort()).toEqual([...sharers].sort());
    expect(done.finished.map((l) => l.node).sort()).toEqual([...sharers].sort());
    expect(done.finished.every((l) => typeof l.seconds === "number" && typeof l.objects === "number" && typeof l.bytes === "number" && l.level === 30)).toBe(true);
    // Every object of the dead node's partitions (this test's keys, and the bucket's record) is counted once.
    const ofDead = KEYS.filter((key) => primariesOfKey(BUCKET, key).includes(nodeId(dead)));
    const objects = done.finished.reduce((sum, l) => sum + (l.objects as number), 0);
    const bytes = done.finished.reduce((sum, l) => sum + (l.bytes as number), 0);
    expect(objects).toBeGreaterThanOrEqual(ofDead.length);
    expect(bytes).toBeGreaterThanOrEqual(ofDead.reduce((sum, key) => sum + sizeOf(key), 0));
    expect(objects).toBeLessThan(ofDead.length + 10);
  }, 150_000);
});
