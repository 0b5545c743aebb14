import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readObject, writeVersion } from "../../core/coordinator.ts";
import type { NodeId } from "../../core/ids.ts";
import { ok } from "../../core/result.ts";
import { TestCluster, bodyOf } from "./support/cluster.ts";
import type { MemBody } from "./support/memory-store.ts";

const RUNS = 200;
const KEYS = Array.from({ length: 12 }, (_, i) => `key${i}`);

async function put(cluster: TestCluster, key: string, content: string): Promise<string | null> {
  const body = bodyOf(content);
  const w = await writeVersion<MemBody>(cluster.coordinator(), { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
  await w.background;
  return w.ok ? w.value.version.stamp : null;
}

describe("ring transitions", () => {
  it("through a join or a decommission, every acknowledged write stays readable, and the old ring retires once data has moved", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 5 }),
        fc.boolean(),
        fc.array(fc.record({ key: fc.constantFrom(...KEYS), phase: fc.constantFrom("before", "during") }), { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 0, max: 3 }),
        fc.nat(5),
        async (nodes, join, writes, roundsBeforeReads, lossyIndex) => {
          const cluster = new TestCluster({ nodes: join ? nodes : nodes + 1, partitionBits: 3 });
          const latest = new Map<string, string>();
          let n = 0;
          // One node misses every write before the change (its puts are lost), so those writes sit on W copies only.
          const lossy = cluster.ids[lossyIndex % cluster.ids.length]!;
          cluster.faultFor = (to, request) => (to === lossy && request.kind === "put" ? "lose-request" : "deliver");
          for (const w of writes.filter((x) => x.phase === "before")) {
            const stamp = await put(cluster, w.key, `${w.key}#${n++}`);
            if (stamp) latest.set(w.key, stamp);
          }
          cluster.faultFor = () => "deliver";
          if (join) cluster.join("joiner");
          else cluster.decommission("n0" as NodeId);
          expect(cluster.view().previous).toBeDefined();
          for (const w of writes.filter((x) => x.phase === "during")) {
            const stamp = await put(cluster, w.key, `${w.key}#${n++}`);
            expect(stamp).not.toBeNull();
            if (stamp) latest.set(w.key, stamp);
          }
          // Reads in the middle of the move (after a few repair rounds, or none) see every acknowledged write.
          for (let r = 0; r < roundsBeforeReads; r++) {
            await cluster.repairRound();
            cluster.gossip();
          }
          for (const [key, stamp] of latest) {
            const read = await readObject(cluster.coordinator({ readRepair: false }), "b", key);
            expect(read.ok).toBe(true);
            if (read.ok) expect(read.value.version?.stamp).toBe(stamp);
          }
          for (let r = 0; r < 20 && cluster.view().previous; r++) {
            await cluster.repairRound();
            cluster.gossip();
          }
          expect(cluster.view().previous).toBeUndefined();
          await cluster.repairUntilQuiet();
          for (const [key, stamp] of latest) {
            const primaries = new Set(cluster.primaries("b", key));
            for (const id of cluster.ids) {
              const held = cluster.node(id).store.committed("b", key).map((v) => v.stamp);
              expect(held, `${id} ${primaries.has(id) ? "primary" : "other"} of ${key}`).toEqual(primaries.has(id) ? [stamp] : []);
            }
            const read = await readObject(cluster.coordinator(), "b", key);
            expect(read.ok && read.value.version?.stamp).toBe(stamp);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
