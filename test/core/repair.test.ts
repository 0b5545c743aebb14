import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deleteObject, readObject, writeVersion } from "../../core/coordinator.ts";
import type { NodeId } from "../../core/ids.ts";
import { isPrimary, primariesOf } from "../../core/placement.ts";
import { ok } from "../../core/result.ts";
import type { RepairSettings } from "../../core/settings.ts";
import { TestCluster, bodyOf, stampFor, versionOf } from "./support/cluster.ts";
import type { MemBody } from "./support/memory-store.ts";
import { recordingLog } from "../runtime/support/storage.ts";

// Searches that must find a planted bug's failing case start from a fixed seed, so that they
// find it on every run rather than on most.
const SEARCH_SEED = 20261125;
const RUNS = 200;
const KEYS = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];

/** Versions of a few keys scattered over random nodes, some as hinted handoff copies. */
const scatter = fc.record({
  nodes: fc.integer({ min: 3, max: 6 }),
  copies: fc.array(
    fc.record({ node: fc.nat(5), key: fc.constantFrom(...KEYS), ms: fc.integer({ min: 1, max: 40 }), tombstone: fc.boolean(), hinted: fc.boolean() }),
    { maxLength: 30 },
  ),
  behind: fc.array(fc.nat(5), { maxLength: 3 }),
});
type Scatter = typeof scatter extends fc.Arbitrary<infer T> ? T : never;

function scattered(s: Scatter): TestCluster {
  const cluster = new TestCluster({ nodes: s.nodes, partitionBits: 2 });
  for (const c of s.copies) {
    if (c.node >= s.nodes) continue;
    const p = cluster.partitionOf("b", c.key);
    const content = c.tombstone ? null : `${c.key}@${c.ms}/${c.node}`;
    const v = versionOf("b", c.key, stampFor(c.ms, `w${c.node}${c.tombstone ? "t" : "v"}`), content);
    const self = `n${c.node}` as NodeId;
    const hintFor = c.hinted && !isPrimary(cluster.view().current, p, self) ? primariesOf(cluster.view().current, p)[0] : undefined;
    cluster.node(self).store.put(p, v, content === null ? { size: 0, checksum: v.checksum } : bodyOf(content), true, hintFor);
  }
  for (const b of s.behind) if (b < s.nodes) cluster.node(`n${b}`).catchUp.markAllBehind();
  return cluster;
}

/** Newest stamp of each key over every node. */
function newestEverywhere(cluster: TestCluster): Map<string, string> {
  const newest = new Map<string, string>();
  for (const id of cluster.ids) {
    for (const v of cluster.node(id).store.allCommitted()) {
      const before = newest.get(v.key);
      if (!before || v.stamp > before) newest.set(v.key, v.stamp);
    }
  }
  return newest;
}

function expectConverged(cluster: TestCluster, newest: Map<string, string>): void {
  for (const [key, stamp] of newest) {
    const primaries = new Set(cluster.primaries("b", key));
    for (const id of cluster.ids) {
      const held = cluster.node(id).store.committed("b", key);
      if (primaries.has(id)) {
        expect(held.map((v) => v.stamp), `${id} is a primary of ${key}`).toEqual([stamp]);
      } else {
        expect(held, `${id} is not a primary of ${key}`).toEqual([]);
      }
    }
  }
  for (const id of cluster.ids) expect(cluster.node(id).catchUp.behindPartitions()).toEqual([]);
}

/** One write of each key; the stamps of those acknowledged. */
async function writeEach(deps: ReturnType<TestCluster["coordinator"]>, keys: readonly string[]): Promise<Map<string, string>> {
  const stamps = new Map<string, string>();
  for (const key of keys) {
    const body = bodyOf(`${key}!`);
    const w = await writeVersion<MemBody>(deps, { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
    await w.background;
    if (w.ok) stamps.set(key, w.value.version.stamp);
  }
  return stamps;
}

describe("repair", () => {
  it("repair converges: after rounds with no faults every key has the newest version on all N primaries and nothing on handoffs", async () => {
    await fc.assert(
      fc.asyncProperty(scatter, async (s) => {
        const cluster = scattered(s);
        const newest = newestEverywhere(cluster);
        await cluster.repairUntilQuiet();
        expectConverged(cluster, newest);
      }),
      { numRuns: RUNS },
    );
  });

  it("repair converges under tight bounds (tiny pages, few copies per round), resuming from its cursors", async () => {
    const tight: Partial<RepairSettings> = { listPageSize: 2, pagesPerTaskMax: 1, copiesPerRoundMax: 1, concurrentCopiesMax: 1, partitionsPerRoundMax: 2 };
    await fc.assert(
      fc.asyncProperty(scatter, async (s) => {
        const cluster = scattered(s);
        const newest = newestEverywhere(cluster);
        let quiet = 0;
        // A pass may span several rounds under these bounds, so quiet means: nothing for a good while.
        for (let round = 0; round < 600 && quiet < 12; round++) {
          const reports = await cluster.repairRound(tight);
          for (const r of reports) expect(r.pulled + r.pushed).toBeLessThanOrEqual(r.partitions * tight.copiesPerRoundMax!);
          const busy = reports.some((r) => r.pulled + r.pushed + r.handoffDropped + r.supersededDropped + r.caughtUp.length > 0);
          quiet = busy ? 0 : quiet + 1;
        }
        expectConverged(cluster, newest);
      }),
      { numRuns: RUNS },
    );
  });

  async function handoffDropsAreConfirmed(s: Scatter, crashes: number[], bugs = {}): Promise<boolean> {
    const cluster = scattered(s);
    cluster.bugs = bugs;
    let violated = false;
    for (const id of cluster.ids) {
      const store = cluster.node(id).store;
      store.onDrop = (dropped) => {
        if (isPrimary(cluster.view().current, dropped.partition, id)) return;
        const newerHere = store.committed(dropped.bucket, dropped.key).some((v) => v.stamp > dropped.stamp);
        if (newerHere || !dropped.committed) return;
        for (const primary of primariesOf(cluster.view().current, dropped.partition)) {
          const there = cluster.node(primary).store.newestCommitted(dropped.bucket, dropped.key);
          if (!there || there.stamp < dropped.stamp) violated = true;
        }
      };
    }
    for (const c of crashes) if (c < s.nodes) cluster.crash(`n${c}`);
    await cluster.repairRound();
    await cluster.repairRound();
    for (const c of crashes) if (c < s.nodes) cluster.restart(`n${c}`);
    await cluster.repairUntilQuiet();
    return !violated;
  }

  it("a handoff copy is dropped only after all N primaries confirmed they hold it", async () => {
    await fc.assert(
      fc.asyncProperty(scatter, fc.array(fc.nat(5), { maxLength: 2 }), async (s, crashes) => {
        expect(await handoffDropsAreConfirmed(s, crashes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("with the planted bug dropHandoffBeforeConfirm, a handoff copy goes before every primary has it", async () => {
    const found = await fc.check(
      fc.asyncProperty(scatter, fc.array(fc.nat(5), { minLength: 1, maxLength: 2 }), async (s, crashes) => handoffDropsAreConfirmed(s, crashes, { dropHandoffBeforeConfirm: true })),
      { numRuns: RUNS, seed: SEARCH_SEED },
    );
    expect(found.failed).toBe(true);
  });

  it("a restarted node answers not-caught-up until repair synced it, then holds every write it missed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: 6 }), fc.nat(5), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), async (nodes, victimIndex, keys) => {
        const cluster = new TestCluster({ nodes, partitionBits: 2 });
        const victim = `n${victimIndex % nodes}` as NodeId;
        const deps = cluster.coordinator();
        cluster.crash(victim);
        const stamps = await writeEach(deps, keys);
        cluster.restart(victim);
        const node = cluster.node(victim);
        for (const key of keys) {
          if (!cluster.primaries("b", key).includes(victim)) continue;
          expect(node.catchUp.isCaughtUp(cluster.partitionOf("b", key))).toBe(false);
        }
        await cluster.repairUntilQuiet();
        expect(node.catchUp.behindPartitions()).toEqual([]);
        for (const [key, stamp] of stamps) {
          if (cluster.primaries("b", key).includes(victim)) expect(node.store.newestCommitted("b", key)?.stamp).toBe(stamp);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("after every node restarts and one never returns, intact copies vouch for each other; replaced disks do not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: 6 }), fc.nat(5), fc.boolean(), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), async (nodes, lostIndex, replaceTwo, keys) => {
        const cluster = new TestCluster({ nodes, partitionBits: 2 });
        const deps = cluster.coordinator();
        for (const key of keys) {
          const body = bodyOf(`${key}!`);
          const w = await writeVersion<MemBody>(deps, { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
          await w.background;
        }
        // A power cut: every node goes down; all come back but `lost`, and with replaceTwo, two of the
        // lost node's partners in some partition come back on empty disks.
        const lost = `n${lostIndex % nodes}` as NodeId;
        const probe = cluster.partitionOf("b", keys[0]!);
        const partners = cluster.primaries("b", keys[0]!).filter((n) => n !== lost);
        for (const id of cluster.ids) cluster.crash(id);
        for (const id of cluster.ids) {
          if (id === lost) continue;
          if (replaceTwo && cluster.primaries("b", keys[0]!).includes(lost) && partners.includes(id)) cluster.replaceDisk(id);
          else cluster.restart(id);
        }
        await cluster.repairUntilQuiet();
        const replaced = replaceTwo && cluster.primaries("b", keys[0]!).includes(lost);
        for (const id of cluster.ids) {
          if (id === lost) continue;
          const behind = cluster.node(id).catchUp.behindPartitions();
          if (!replaced) expect(behind).toEqual([]); // N-W+1 = 2 intact copies of every partition are live
          else if (partners.includes(id)) expect(behind).toContain(probe); // two empty disks vouch for nothing
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a primary down longer than reReplicateAfterMs is re-replicated to a handoff, and the surplus goes once it returns", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 6 }), fc.nat(5), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), async (nodes, victimIndex, keys) => {
        const cluster = new TestCluster({ nodes, partitionBits: 2 });
        const deps = cluster.coordinator();
        const stamps = new Map<string, string>();
        for (const key of keys) {
          const body = bodyOf(`${key}!`);
          const w = await writeVersion<MemBody>(deps, { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
          await w.background;
          expect(w.ok).toBe(true);
          if (w.ok) stamps.set(key, w.value.version.stamp);
        }
        const victim = `n${victimIndex % nodes}` as NodeId;
        cluster.crash(victim);
        const settings = { reReplicateAfterMs: 60_000 };
        await cluster.repairUntilQuiet(settings);
        // Not down long enough yet: nothing re-replicated.
        for (const id of cluster.ids) for (const key of keys) if (!cluster.primaries("b", key).includes(id)) expect(cluster.node(id).store.committed("b", key)).toEqual([]);
        cluster.nowMs += 61_000;
        await cluster.repairUntilQuiet(settings);
        for (const [key, stamp] of stamps) {
          const live = cluster.ids.filter((id) => cluster.node(id).up && cluster.node(id).store.newestCommitted("b", key)?.stamp === stamp);
          expect(live.length, `live copies of ${key}`).toBe(3);
        }
        cluster.restart(victim);
        await cluster.repairUntilQuiet(settings);
        expectConverged(cluster, stamps);
      }),
      { numRuns: RUNS },
    );
  });

  it("each node logs its share of a down node's re-replication once started and once finished, and the finished lines add up to every copy made for it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 6 }), fc.nat(5), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), async (nodes, victimIndex, keys) => {
        const cluster = new TestCluster({ nodes, partitionBits: 2 });
        const log = recordingLog();
        cluster.repairLog = log;
        const deps = cluster.coordinator();
        let bytesOfVictim = 0;
        let keysOfVictim = 0;
        const victim = `n${victimIndex % nodes}` as NodeId;
        for (const key of keys) {
          const body = bodyOf(`${key}! ${"x".repeat(keys.indexOf(key))}`);
          const w = await writeVersion<MemBody>(deps, { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
          await w.background;
          expect(w.ok).toBe(true);
          if (cluster.primaries("b", key).includes(victim)) [keysOfVictim, bytesOfVictim] = [keysOfVictim + 1, bytesOfVictim + body.size];
        }
        cluster.crash(victim);
        // One copy per round: a node's share takes several rounds, so a finish could come too early.
        const settings = { reReplicateAfterMs: 60_000, copiesPerRoundMax: 1 };
        await cluster.repairUntilQuiet(settings, 200);
        expect(log.events().filter((e) => e.startsWith("rereplication."))).toEqual([]); // not down long enough
        cluster.nowMs += 61_000;
        // Rounds that change nothing still advance the rotation: run a fixed number, not until quiet.
        for (let round = 0; round < 40; round++) await cluster.repairRound(settings);
        const lines = (event: string) => log.lines.filter((l) => l.event === event && l.fields.down === victim);
        const started = lines("rereplication.started");
        const finished = lines("rereplication.finished");
        // Every node with a share started and finished once; with 4 or more nodes every partition has a handoff.
        expect(started.map((l) => l.fields.node).sort()).toEqual(finished.map((l) => l.fields.node).sort());
        expect(new Set(started.map((l) => l.fields.node)).size).toBe(started.length);
        expect(started.every((l) => l.fields.withoutHandoff === 0)).toBe(true);
        expect(finished.reduce((sum, l) => sum + (l.fields.objects as number), 0)).toBe(keysOfVictim);
        expect(finished.reduce((sum, l) => sum + (l.fields.bytes as number), 0)).toBe(bytesOfVictim);
        expect(finished.every((l) => l.fields.seconds === 0 && (l.fields.partitions as number) > 0)).toBe(true); // no simulated time passed
        expect(finished.every((l) => (l.fields.pushed as number) <= (l.fields.objects as number))).toBe(true);
        expect(lines("rereplication.stopped")).toEqual([]);
        // Back before anything else: no new line; a second loss that never finishes would say "stopped".
        cluster.restart(victim);
        await cluster.repairUntilQuiet(settings);
        expect(lines("rereplication.started").length).toBe(started.length);
        expect(lines("rereplication.stopped")).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it("a re-replicated node removed for good (decommissioned while down): live copies never drop below N, and the surplus goes once the new ring's N primaries hold it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(4), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), fc.nat(4), async (victimIndex, keys, lossyIndex) => {
        const cluster = new TestCluster({ nodes: 5, partitionBits: 2 });
        const deps = cluster.coordinator();
        const victim = cluster.ids[victimIndex]!;
        // One node misses every first write (its puts are lost): those sit on W copies until repair.
        const lossy = cluster.ids[lossyIndex]!;
        cluster.faultFor = (to, request) => (to === lossy && request.kind === "put" ? "lose-request" : "deliver");
        const stamps = await writeEach(deps, keys);
        cluster.faultFor = () => "deliver";
        cluster.crash(victim);
        const settings = { reReplicateAfterMs: 60_000 };
        cluster.nowMs += 61_000;
        await cluster.repairUntilQuiet(settings);
        const liveCopies = (key: string, stamp: string) => cluster.ids.filter((id) => cluster.node(id).up && cluster.node(id).store.hasCommitted("b", key, stamp)).length;
        for (const [key, stamp] of stamps) expect(liveCopies(key, stamp), `live copies of ${key} after re-replication`).toBe(3);
        cluster.decommission(victim);
        for (let round = 0; round < 30; round++) {
          await cluster.repairRound(settings);
          cluster.gossip();
          for (const [key, stamp] of stamps) expect(liveCopies(key, stamp), `live copies of ${key} in round ${round}`).toBeGreaterThanOrEqual(3);
          if (!cluster.view().previous && (await cluster.repairUntilQuiet(settings)) === 1) break;
        }
        expect(cluster.view().previous).toBeUndefined();
        for (const [key, stamp] of stamps) {
          const primaries = new Set(cluster.primaries("b", key));
          expect(primaries.has(victim)).toBe(false);
          for (const id of cluster.ids) if (id !== victim) expect(cluster.node(id).store.committed("b", key).map((v) => v.stamp), `${id} of ${key}`).toEqual(primaries.has(id) ? [stamp] : []);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("a node removed while dead and started again on its old disk, after the tombstones of its deleted keys were collected, brings nothing back: it writes its copies off", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(4), fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }), async (victimIndex, keys) => {
        const cluster = new TestCluster({ nodes: 5, partitionBits: 2 });
        const deps = cluster.coordinator();
        const victim = cluster.ids[victimIndex]!;
        await writeEach(deps, keys);
        cluster.crash(victim);
        for (const key of keys) await (await deleteObject(deps, "b", key)).background;
        const settings = { tombstoneGraceMs: 1000 };
        cluster.decommission(victim); // `cluster remove`: it is dead, nobody waits for it
        for (let round = 0; round < 30 && cluster.view().previous; round++) {
          await cluster.repairRound(settings);
          cluster.gossip();
        }
        expect(cluster.view().previous).toBeUndefined();
        cluster.nowMs += 5000;
        // Tombstones go once every node of the ring has reported (by heartbeat) holding nothing out of place.
        for (let round = 0; round < 6; round++) {
          cluster.gossip();
          await cluster.repairRound(settings);
        }
        const others = cluster.ids.filter((id) => id !== victim);
        for (const key of keys) for (const id of others) expect(cluster.node(id).store.newestCommitted("b", key), `${key} on ${id} before the return`).toBeNull();
        const heldByVictim = keys.filter((key) => cluster.node(victim).store.newestCommitted("b", key) !== null);
        cluster.restart(victim);
        const reports = [];
        for (let round = 0; round < 10; round++) reports.push(...(await cluster.repairRound(settings)));
        for (const key of keys) for (const id of cluster.ids) expect(cluster.node(id).store.newestCommitted("b", key), `${key} on ${id} after the return`).toBeNull();
        expect(reports.reduce((sum, r) => sum + r.writtenOff, 0)).toBe(heldByVictim.length);
        expect(reports.reduce((sum, r) => sum + r.pushed, 0)).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  async function deleteWhileOneReplicaDown(keyIndex: number, bugs = {}): Promise<{ resurrected: boolean; collected: boolean }> {
    const cluster = new TestCluster({ nodes: 3, partitionBits: 2, bugs });
    const key = KEYS[keyIndex % KEYS.length]!;
    const deps = cluster.coordinator();
    const body = bodyOf("old");
    const w = await writeVersion<MemBody>(deps, { bucket: "b", key, size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
    await w.background;
    const lagging = cluster.primaries("b", key)[2]!;
    cluster.crash(lagging);
    const d = await deleteObject(deps, "b", key);
    await d.background;
    const grace = { tombstoneGraceMs: 1000 };
    cluster.nowMs += 5000;
    await cluster.repairUntilQuiet(grace);
    // While a primary is down, no tombstone may be collected.
    const held = cluster.ids.filter((id) => cluster.node(id).up).every((id) => cluster.node(id).store.newestCommitted("b", key)?.deleted === true);
    expect(held).toBe(true);
    cluster.node(lagging).up = true; // returns with its old copy; its catch-up state is kept so GC can race its pull
    await cluster.repairUntilQuiet(grace);
    const read = await readObject(deps, "b", key);
    const resurrected = read.ok && read.value.version !== null && !read.value.version.deleted;
    const collected = cluster.ids.every((id) => cluster.node(id).store.committed("b", key).length === 0);
    return { resurrected, collected };
  }

  it("tombstones are collected only once every primary holds them, and a deleted key never comes back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (keyIndex) => {
        const result = await deleteWhileOneReplicaDown(keyIndex);
        expect(result.resurrected).toBe(false);
        expect(result.collected).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("with the planted bug forgetTombstones, a deleted key can come back", async () => {
    const found = await fc.check(
      fc.asyncProperty(fc.nat(), async (keyIndex) => !(await deleteWhileOneReplicaDown(keyIndex, { forgetTombstones: true })).resurrected),
      { numRuns: RUNS, seed: SEARCH_SEED },
    );
    expect(found.failed).toBe(true);
  });

  it("pending versions older than pendingMaxAgeMs are dropped, committed ones never", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    const node = cluster.node("n0");
    const p = cluster.partitionOf("b", "k");
    node.store.put(p, versionOf("b", "k", stampFor(cluster.nowMs - 10_000), "a"), bodyOf("a"), false);
    node.store.put(p, versionOf("b", "k2", stampFor(cluster.nowMs - 10_000), "a"), bodyOf("a"), true);
    await cluster.repairRound({ pendingMaxAgeMs: 5_000 });
    expect([...node.store.entries.values()].filter((e) => !e.version.committed)).toEqual([]);
    expect(node.store.committed("b", "k2").length).toBe(1);
  });

  it("a corrupt copy is replaced from a good replica", async () => {
    const { repairCorruptCopy } = await import("../../core/repair.ts");
    const cluster = new TestCluster({ nodes: 3 });
    const deps = cluster.coordinator();
    const body = bodyOf("payload");
    const w = await writeVersion<MemBody>(deps, { bucket: "b", key: "k", size: body.size, contentType: "", userMeta: {}, body, finish: async () => ok({ etag: "e", checksum: body.checksum, size: body.size }) });
    await w.background;
    if (!w.ok) throw new Error("write failed");
    const victim = cluster.node(cluster.primaries("b", "k")[0]!);
    victim.store.corrupt("b", "k", w.value.version.stamp);
    const repaired = await repairCorruptCopy(cluster.repairContext(victim), cluster.partitionOf("b", "k"), w.value.version);
    expect(repaired).toBe("replaced");
    const read = await victim.store.readBody("b", "k", w.value.version.stamp);
    expect(read.ok && read.value.body.checksum).toBe(w.value.version.checksum);
  });
});
