// A storage node whose disk is replaced (stopped, data folder wiped, restarted with the restart command from
// cluster.json) catches up on every partition it is a primary of, over real processes and the real wire.
// Why this test exists (issue 9): repair resumes a partition listing from "the start of a key", and the wire
// codec once refused that cursor, so every pull needing a second page failed on real processes, every round,
// while the simulator (which did not run the codec then) stayed green. With 16 partitions and a few thousand
// objects (about 125 per partition), each partition needs more than one round of copies (copiesPerRoundMax = 64),
// so a resumed pull is certain.
import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeId, type PartitionId, nodeId } from "../../core/ids.ts";
import { partitionOf, primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { type TestCluster, eventually, exited, startTestCluster } from "./support/cluster.ts";

const PARTITION_BITS = 4;
const OBJECT_COUNT = 2000;
const WRITERS = 32;
const CATCH_UP_DEADLINE_MS = 60_000;
const VICTIM = nodeId("node-2");

let cluster: TestCluster;
let s3: S3Client;
const restarted: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 24600, nodes: 5, routers: 1, partitionBits: PARTITION_BITS });
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "media" }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await Promise.all(restarted.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

/** Small bodies of 1-2 KiB, each different, written WRITERS at a time. */
async function writeObjects(keys: readonly string[]): Promise<void> {
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const size = 1024 + ((next * 7919) % 1024);
      await s3.send(new PutObjectCommand({ Bucket: "media", Key: key, Body: Buffer.alloc(size, key) }));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

/** True once `node` is behind on no partition; throws with the count until then (eventually reports the last). */
async function caughtUp(node: NodeId): Promise<true> {
  const address = cluster.map().nodes.find((n) => n.id === node)!.address;
  const reply = await fetch(`http://${address}/-/health`);
  if (!reply.ok) throw new Error(`health answered ${reply.status}`);
  const behind = ((await reply.json()) as { behindPartitions: number }).behindPartitions;
  if (behind !== 0) throw new Error(`still behind on ${behind} partitions`);
  return true;
}

describe("a node on a replaced disk", () => {
  it("catches up on every partition it is a primary of, and holds the same copies as the other primaries", async () => {
    const keys = Array.from({ length: OBJECT_COUNT }, (_, i) => `small/${i}.bin`);
    const wroteStarted = Date.now();
    await writeObjects(keys);
    const writeMs = Date.now() - wroteStarted;

    const ring = buildRing(cluster.map());
    const mine: PartitionId[] = [];
    for (let p = 0; p < ring.partitionCount; p++) if (primariesOf(ring, p as PartitionId).includes(VICTIM)) mine.push(p as PartitionId);
    const keysOfMine = keys.filter((k) => mine.includes(partitionOf(ring, "media", k))).length;

    const record = cluster.process(VICTIM);
    process.kill(record.pid!, "SIGTERM");
    await exited(record.pid!);
    rmSync(join(cluster.dataDir, VICTIM), { recursive: true, force: true });
    const replacedAt = Date.now();
    restarted.push(startChild(record.command, record.log).child);

    const transport = cluster.internalTransport();
    try {
      await eventually(() => caughtUp(VICTIM), { timeoutMs: CATCH_UP_DEADLINE_MS, what: `${VICTIM} caught up on all ${mine.length} of its partitions`, intervalMs: 250 }).catch((error: unknown) => {
        // What the restarted node said last is what a diagnosis needs (info lines included: its repair rounds).
        console.error(readFileSync(record.log, "utf8").split("\n").slice(-40).join("\n"));
        throw error;
      });
      const caughtUpMs = Date.now() - replacedAt;
      // Caught up must mean holding the data: its digest of each partition equals every other primary's.
      let held = 0;
      const victimDigests = await transport.send(VICTIM, { kind: "digests", partitions: mine });
      expect(victimDigests.ok).toBe(true);
      for (const d of victimDigests.ok ? victimDigests.value.digests : []) {
        held += d.count;
        for (const peer of primariesOf(ring, d.partition).filter((n) => n !== VICTIM)) {
          const there = await transport.send(peer, { kind: "digest", partition: d.partition });
          expect(there.ok && { hash: there.value.hash, count: there.value.count }).toEqual({ hash: d.hash, count: d.count });
        }
      }
      expect(held).toBeGreaterThanOrEqual(keysOfMine);
      console.log(`replaced-disk test: ${OBJECT_COUNT} objects written in ${writeMs} ms; ${VICTIM} caught up on ${mine.length} partitions (${keysOfMine} objects) ${caughtUpMs} ms after its restart`);
    } finally {
      await transport.close();
    }
  });
});
