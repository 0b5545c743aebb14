// Bucket-table gossip in the heartbeat driver (core/heartbeats.ts), as routers and nodes run it: a process
// whose heartbeat answer names another table hash reads that peer's table, merges it and sends back what the
// peer lacks; one round leaves both sides of each exchange with the merge of the two, a second carries what one
// peer taught the beating process to the peers whose hash had matched its own.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BucketTable, type BucketEntry, mergeEntries } from "../../core/bucket-table.ts";
import { Heartbeats, bucketBatches } from "../../core/heartbeats.ts";
import { Membership } from "../../core/membership.ts";
import type { Log, Transport } from "../../core/ports.ts";
import type { NodeId } from "../../core/ids.ts";
import { ok, err } from "../../core/result.ts";
import { formatStamp } from "../../core/version.ts";
import { mapOf, newNodes } from "./support/maps.ts";

const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
const settle = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

const entry: fc.Arbitrary<BucketEntry> = fc.record({
  name: fc.constantFrom("videos", "photos", "logs", "music"),
  stamp: fc.record({ physicalMs: fc.integer({ min: 1, max: 9 }), logical: fc.constant(0), writer: fc.constantFrom("r1", "r2", "r3") }).map(formatStamp),
  state: fc.constantFrom("live" as const, "deleting" as const, "deleted" as const),
  createdMs: fc.constant(1),
  settings: fc.constant(""),
});

describe("bucket gossip on heartbeats", () => {
  it("after two heartbeat rounds the beating process and every peer it reached hold the merge of all their tables", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 6 }), fc.array(fc.array(entry, { maxLength: 6 }), { minLength: 2, maxLength: 2 }), async (own, others) => {
        const map = mapOf(newNodes(3));
        const self = map.nodes[0]!.id;
        const membership = new Membership(map);
        const peerTables = new Map<NodeId, BucketTable>(map.nodes.slice(1).map((n, i) => [n.id, new BucketTable(others[i]!)]));
        const transport = {
          async send(to: NodeId, request: { kind: string; entries?: readonly BucketEntry[] }) {
            const table = peerTables.get(to)!;
            if (request.kind === "heartbeat") return ok({ epoch: membership.epoch, mapHash: membership.hash, bucketsHash: table.hash });
            if (request.kind === "buckets") {
              table.merge(request.entries!);
              return ok({ entries: table.entries() });
            }
            return err({ kind: "remote", detail: "not scripted" });
          },
        } as unknown as Transport<never>;
        const table = new BucketTable(own);
        let wake = () => {};
        const heartbeats = new Heartbeats<never>({
          self,
          transport,
          membership,
          clock: { nowMs: () => 0, sleep: () => new Promise<void>((resolve) => (wake = resolve)) },
          settings: { heartbeatIntervalMs: 100, downAfterMs: 300 },
          log: silentLog,
          buckets: { table },
        });
        heartbeats.start();
        await settle();
        // The second round: a peer whose hash matched the beating process's before it learned from another.
        wake();
        await settle();
        heartbeats.stop();
        wake();
        const expected = mergeEntries(own, others.flat());
        expect(table.entries()).toEqual(expected);
        // Each peer was sent what it lacked of the merge: it holds the merge too.
        for (const peer of peerTables.values()) expect(peer.entries()).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it("a large delta goes in batches well under the wire's request bound, none empty, none lost", () => {
    const big = "x".repeat(100_000);
    const entries: BucketEntry[] = Array.from({ length: 9 }, (_, i) => ({ name: `b${i}`, stamp: formatStamp({ physicalMs: 1, logical: 0, writer: "r1" }), state: "live", createdMs: 1, settings: big }));
    const batches = bucketBatches(entries);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(entries);
    for (const batch of batches) expect(JSON.stringify(batch).length).toBeLessThan(1024 * 1024);
  });
});
