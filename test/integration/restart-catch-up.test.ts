// A storage node restarted on its own data, with nothing written while it was down, counts toward quorums
// again within seconds (issue 10, item 4: fast catch-up after a restart), for 16 and for 64 partitions. It
// compares its digests with its peers' first (one `digests` round trip per peer for all its partitions) and
// marks every partition whose copies all match caught up at once, before any per-partition repair work.
// Measured: from the restart (spawn) and from its first health answer to "behind on no partition".
import type { ChildProcess } from "node:child_process";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeId, type PartitionId, nodeId } from "../../core/ids.ts";
import { primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import { startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { type TestCluster, eventually, exited, startTestCluster } from "./support/cluster.ts";

/** Issue 10's target: a restarted node counts toward quorums again within this long when nothing changed. */
const CAUGHT_UP_TARGET_MS = 5_000;
const OBJECT_COUNT = 600;
const WRITERS = 16;
const VICTIM = nodeId("node-2");

interface Health {
  readonly behindPartitions: number;
}

async function healthOf(cluster: TestCluster, node: NodeId): Promise<Health | null> {
  const address = cluster.map().nodes.find((n) => n.id === node)!.address;
  try {
    const reply = await fetch(`http://${address}/-/health`);
    return reply.ok ? ((await reply.json()) as Health) : null;
  } catch {
    return null; // not listening yet
  }
}

for (const [partitionBits, basePort] of [[4, 26500], [6, 26600]] as const) {
  describe(`a node restarted with nothing changed, ${2 ** partitionBits} partitions`, () => {
    let cluster: TestCluster;
    let s3: S3Client;
    const restarted: ChildProcess[] = [];

    beforeAll(async () => {
      cluster = await startTestCluster({ basePort, nodes: 5, routers: 1, partitionBits });
      s3 = cluster.client();
      await s3.send(new CreateBucketCommand({ Bucket: "media" }));
    }, 60_000);

    afterAll(async ({}, suite) => {
      s3?.destroy();
      await Promise.all(restarted.map((child) => stopChild(child)));
      await cluster?.cleanup(suite);
    });

    it(`counts toward quorums on every partition it is a primary of within ${CAUGHT_UP_TARGET_MS / 1000} s`, async () => {
      let next = 0;
      const writer = async (): Promise<void> => {
        while (next < OBJECT_COUNT) {
          const i = next++;
          await s3.send(new PutObjectCommand({ Bucket: "media", Key: `clip/${i}.bin`, Body: Buffer.alloc(512 + (i % 512), i % 251) }));
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, writer));
      const ring = buildRing(cluster.map());
      const mine = Array.from({ length: ring.partitionCount }, (_, p) => p as PartitionId).filter((p) => primariesOf(ring, p).includes(VICTIM));
      // Every primary holds every write before the restart (the third copies may still be on their way).
      const transport = cluster.internalTransport();
      try {
        await eventually(
          async () => {
            const answers = await Promise.all(cluster.map().nodes.map((n) => transport.send(n.id, { kind: "digests", partitions: mine })));
            const byPartition = new Map<PartitionId, Set<string>>();
            for (const [i, answer] of answers.entries()) {
              if (!answer.ok) return false;
              for (const d of answer.value.digests) if (primariesOf(ring, d.partition).includes(cluster.map().nodes[i]!.id)) byPartition.set(d.partition, (byPartition.get(d.partition) ?? new Set()).add(d.hash));
            }
            return mine.every((p) => byPartition.get(p)?.size === 1);
          },
          { timeoutMs: 60_000, what: "every primary holds the same copy of the victim's partitions" },
        );
      } finally {
        await transport.close();
      }

      const record = cluster.process(VICTIM);
      process.kill(record.pid!, "SIGTERM");
      await exited(record.pid!);
      const restartedAt = performance.now();
      restarted.push(startChild(record.command, record.log).child);
      let answeringAt: number | undefined;
      let behindFirst: number | undefined;
      await eventually(
        async () => {
          const health = await healthOf(cluster, VICTIM);
          if (health === null) return false;
          answeringAt ??= performance.now();
          behindFirst ??= health.behindPartitions;
          return health.behindPartitions === 0;
        },
        { timeoutMs: 60_000, what: `${VICTIM} caught up on its ${mine.length} partitions`, intervalMs: 25 },
      );
      const caughtUpAt = performance.now();
      const sinceSpawnMs = caughtUpAt - restartedAt;
      const sinceAnsweringMs = caughtUpAt - answeringAt!;
      console.log(
        `restart catch-up, ${ring.partitionCount} partitions (${mine.length} on ${VICTIM}, ${OBJECT_COUNT} objects): behind on ${behindFirst} at its first health answer, ` +
          `caught up ${(sinceAnsweringMs / 1000).toFixed(2)} s after it, ${(sinceSpawnMs / 1000).toFixed(2)} s after the spawn`,
      );
      expect(behindFirst).toBeGreaterThan(0); // it did start behind: the figure measures a catch-up
      expect(sinceAnsweringMs).toBeLessThanOrEqual(CAUGHT_UP_TARGET_MS);
    }, 180_000);
  });
}
