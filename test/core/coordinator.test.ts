import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ReadAnswer, deleteObject, openAnswerBody, openBody, readObject, writeVersion, type WriteOutcome } from "../../core/coordinator.ts";
import type { NodeId } from "../../core/ids.ts";
import { ok } from "../../core/result.ts";
import { primariesOf } from "../../core/placement.ts";
import { type Fault, TestCluster, bodyOf, stampFor, versionOf } from "./support/cluster.ts";
import type { MemBody } from "./support/memory-store.ts";

// Searches that must find a failing case (a planted bug, finding F1) start from a fixed seed, so that they
// find it on every run rather than on most.
const SEARCH_SEED = 20261125;
const RUNS = 200;

function write(cluster: TestCluster, deps: ReturnType<TestCluster["coordinator"]>, key: string, content: string): Promise<WriteOutcome> {
  const body = bodyOf(content);
  return writeVersion<MemBody>(deps, {
    bucket: "b",
    key,
    size: body.size,
    contentType: "video/mp4",
    userMeta: {},
    body,
    finish: async () => ok({ etag: "etag", checksum: body.checksum, size: body.size }),
  });
}

/** Random cluster shape, W, down nodes and a fault plan consumed request by request. */
const scenario = fc.record({
  nodes: fc.integer({ min: 3, max: 6 }),
  writeQuorum: fc.integer({ min: 1, max: 3 }),
  down: fc.array(fc.nat(5), { maxLength: 3 }),
  faults: fc.array(fc.constantFrom<Fault>("deliver", "deliver", "deliver", "lose-request", "lose-response"), { maxLength: 12 }),
  key: fc.string({ minLength: 1, maxLength: 6 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function setUp(s: { nodes: number; down: number[]; faults: Fault[] }, bugs = {}): TestCluster {
  const cluster = new TestCluster({ nodes: s.nodes, bugs });
  for (const d of s.down) if (d < s.nodes) cluster.crash(`n${d}`);
  let i = 0;
  cluster.faultFor = (_to, request) => (request.kind === "put" || request.kind === "commit" ? (s.faults[i++] ?? "deliver") : "deliver");
  return cluster;
}

const committedOn = (cluster: TestCluster, key: string, stamp: string): NodeId[] => cluster.ids.filter((id) => cluster.node(id).store.hasCommitted("b", key, stamp));

async function ackedWritesAreOnW(s: Scenario, bugs = {}): Promise<boolean> {
  const cluster = setUp(s, bugs);
  const outcome = await write(cluster, cluster.coordinator({ writeQuorum: s.writeQuorum }), s.key, "v1");
  await outcome.background;
  if (!outcome.ok) return true;
  return committedOn(cluster, s.key, outcome.value.version.stamp).length >= s.writeQuorum;
}

describe("coordinator write path", () => {
  it("a write acknowledged at W is committed on at least W replicas", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        expect(await ackedWritesAreOnW(s)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("with the planted bug ackAtWMinusOne, some acknowledged write sits on fewer than W replicas", async () => {
    const found = await fc.check(
      fc.asyncProperty(scenario, async (s) => ackedWritesAreOnW(s, { ackAtWMinusOne: true })),
      { numRuns: RUNS, seed: SEARCH_SEED },
    );
    expect(found.failed).toBe(true);
  });

  it("a write that fails before W durable copies leaves nothing committed anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const cluster = setUp(s);
        const outcome = await write(cluster, cluster.coordinator({ writeQuorum: s.writeQuorum }), s.key, "v1");
        await outcome.background;
        if (outcome.ok || outcome.error.kind !== "quorum-failed" || outcome.error.phase === "commit") return;
        const anyCommitted = cluster.ids.some((id) => cluster.node(id).store.committed("b", s.key).length > 0);
        expect(anyCommitted).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("a write goes to the first N live nodes of the preference list, handoffs carrying the down primary as hint", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 7 }), fc.nat(6), fc.string({ minLength: 1, maxLength: 5 }), async (nodes, downIndex, key) => {
        const cluster = new TestCluster({ nodes });
        const primaries = cluster.primaries("b", key);
        const down = primaries[downIndex % primaries.length]!;
        cluster.crash(down);
        const outcome = await write(cluster, cluster.coordinator(), key, "x");
        await outcome.background;
        expect(outcome.ok).toBe(true);
        if (!outcome.ok) return;
        const holders = cluster.ids.filter((id) => cluster.node(id).store.hasCommitted("b", key, outcome.value.version.stamp));
        expect(holders.length).toBe(3);
        const handoffs = holders.filter((h) => !primaries.includes(h));
        expect(handoffs.length).toBe(1);
        const stored = cluster.node(handoffs[0]!).store.newestCommitted("b", key);
        expect(stored?.hintFor).toBe(down);
      }),
      { numRuns: RUNS },
    );
  });

  it("a write with fewer live placements than W is refused without sending anything", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    cluster.crash("n0");
    cluster.crash("n1");
    const outcome = await write(cluster, cluster.coordinator(), "k", "x");
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatchObject({ kind: "quorum-failed", phase: "placement" });
    if (outcome.ok || outcome.error.kind !== "quorum-failed") return;
    expect(outcome.error.missed.map((m) => m.node).sort()).toEqual(["n0", "n1"]);
    expect(outcome.error.missed.every((m) => m.why.startsWith("down"))).toBe(true);
    expect(cluster.delivered.get("put") ?? 0).toBe(0);
  });

  it("a body whose digests the caller refuses is not committed", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    const body = bodyOf("abc");
    const outcome = await writeVersion<MemBody>(cluster.coordinator(), {
      bucket: "b",
      key: "k",
      size: 3,
      contentType: "",
      userMeta: {},
      body,
      finish: async () => ({ ok: false, error: "Content-MD5 mismatch" }),
    });
    await outcome.background;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.kind).toBe("body-rejected");
    expect(cluster.ids.every((id) => cluster.node(id).store.committed("b", "k").length === 0)).toBe(true);
  });

  it("copies whose checksum differs from the caller's do not count toward W", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    const body = bodyOf("abc");
    const outcome = await writeVersion<MemBody>(cluster.coordinator(), {
      bucket: "b",
      key: "k",
      size: 3,
      contentType: "",
      userMeta: {},
      body,
      finish: async () => ok({ etag: "e", checksum: "0123456789abcdef", size: 3 }),
    });
    await outcome.background;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatchObject({ kind: "quorum-failed", phase: "put" });
  });

  it("during a ring transition an acknowledged write is on W primaries-or-handoffs of both rings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: 5 }), fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }), async (nodes, keys) => {
        const cluster = new TestCluster({ nodes });
        cluster.join("joiner");
        const view = cluster.view();
        expect(view.previous).toBeDefined();
        const deps = cluster.coordinator();
        for (const key of keys) {
          const outcome = await write(cluster, deps, key, `v-${key}`);
          await outcome.background;
          expect(outcome.ok).toBe(true);
          if (!outcome.ok) continue;
          const on = new Set(committedOn(cluster, key, outcome.value.version.stamp));
          const p = cluster.partitionOf("b", key);
          for (const ring of [view.current, view.previous!]) {
            const hits = primariesOf(ring, p).filter((n) => on.has(n)).length;
            expect(hits).toBeGreaterThanOrEqual(2);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("coordinator read path", () => {
  /** Random versions of one key scattered over the replicas, some nodes down or behind. */
  const layout = fc.record({
    nodes: fc.integer({ min: 3, max: 6 }),
    copies: fc.array(fc.record({ node: fc.nat(5), ms: fc.integer({ min: 1, max: 50 }), tombstone: fc.boolean() }), { maxLength: 10 }),
    down: fc.array(fc.nat(5), { maxLength: 2 }),
    behind: fc.array(fc.nat(5), { maxLength: 2 }),
    readQuorum: fc.integer({ min: 1, max: 3 }),
  });

  type Layout = typeof layout extends fc.Arbitrary<infer T> ? T : never;

  function place(l: Layout): TestCluster {
    const cluster = new TestCluster({ nodes: l.nodes });
    const p = cluster.partitionOf("b", "k");
    for (const c of l.copies) {
      if (c.node >= l.nodes) continue;
      const v = versionOf("b", "k", stampFor(c.ms, `w${c.node}`), c.tombstone ? null : `body${c.ms}`);
      cluster.node(`n${c.node}`).store.put(p, v, c.tombstone ? { size: 0, checksum: v.checksum } : bodyOf(`body${c.ms}`), true);
    }
    for (const d of l.down) if (d < l.nodes) cluster.crash(`n${d}`);
    for (const b of l.behind) if (b < l.nodes) cluster.node(`n${b}`).catchUp.markAllBehind();
    return cluster;
  }

  it("a read returns the newest of at least R answers, and its holders hold exactly that version", async () => {
    await fc.assert(
      fc.asyncProperty(layout, async (l) => {
        const cluster = place(l);
        const read = await readObject(cluster.coordinator({ readQuorum: l.readQuorum, readRepair: false }), "b", "k");
        if (!read.ok) {
          // Handoffs are asked too when fewer than R primaries are live; none of them is a caught-up stand-in here.
          const primaries = cluster.primaries("b", "k");
          if (read.error.kind !== "quorum-failed") throw new Error("no signal: a failed read is a quorum failure");
          expect(read.error.answered.filter((n) => primaries.includes(n)).length).toBeLessThan(l.readQuorum);
          // What the client is told ("Only c of R replicas answered") counts primaries, never a handoff's answer.
          expect(read.error.counted).toBe(read.error.answered.filter((n) => primaries.includes(n)).length);
          expect(read.error.counted).toBeLessThan(read.error.needed);
          return;
        }
        expect(read.value.answers.size).toBeGreaterThanOrEqual(l.readQuorum);
        let newest: string | null = null;
        for (const [node, v] of read.value.answers) {
          expect(cluster.node(node).up).toBe(true);
          expect(cluster.node(node).catchUp.isCaughtUp(read.value.partition)).toBe(true);
          if (v && (newest === null || v.stamp > newest)) newest = v.stamp;
        }
        expect(read.value.version?.stamp ?? null).toBe(newest);
        for (const h of read.value.holders) expect(cluster.node(h).store.newestCommitted("b", "k")?.stamp).toBe(newest);
      }),
      { numRuns: RUNS },
    );
  });

  it("read after an acknowledged write returns it or newer when R + W > N", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 3 }), async (s, readQuorum) => {
        fc.pre(readQuorum + s.writeQuorum > 3);
        const cluster = setUp(s);
        const deps = cluster.coordinator({ writeQuorum: s.writeQuorum, readQuorum });
        const first = await write(cluster, deps, s.key, "one");
        const outcome = await write(cluster, deps, s.key, "two");
        await Promise.all([first.background, outcome.background]);
        if (!outcome.ok) return;
        cluster.faultFor = () => "deliver";
        const read = await readObject(deps, "b", s.key);
        if (!read.ok) return; // unavailable is allowed, stale is not
        expect(read.value.version?.stamp).toBe(outcome.value.version.stamp);
      }),
      { numRuns: RUNS },
    );
  });

  it("a node that is not caught up never counts toward R: strict reads fail, sloppy reads walk on to handoffs", async () => {
    const cluster = new TestCluster({ nodes: 5 });
    const w = await write(cluster, cluster.coordinator(), "k", "x");
    await w.background;
    const primaries = cluster.primaries("b", "k");
    cluster.node(primaries[0]!).catchUp.markAllBehind();
    cluster.node(primaries[1]!).catchUp.markAllBehind();
    const strict = await readObject(cluster.coordinator(), "b", "k");
    expect(strict.ok).toBe(false);
    expect(strict.ok || strict.error.kind).toBe("quorum-failed");
    if (!strict.ok && strict.error.kind === "quorum-failed") {
      expect(strict.error.failures.filter((f) => f.failure.kind === "not-caught-up").length).toBe(2);
      // The operator's line names the primaries it went without, and why.
      expect(strict.error.missed.map((m) => [m.node, m.why.startsWith("head: not-caught-up")])).toEqual([[primaries[0], true], [primaries[1], true]]);
    }
    const sloppy = await readObject(cluster.coordinator({ sloppyQuorum: true }), "b", "k");
    expect(sloppy.ok).toBe(true);
    if (!sloppy.ok) return;
    expect([...sloppy.value.answers.keys()]).not.toContain(primaries[0]);
    expect([...sloppy.value.answers.keys()]).not.toContain(primaries[1]);
    expect(sloppy.value.answers.size).toBe(2);
  });

  /** The writer and the reader each see a different set of nodes as unreachable (a network partition). */
  const partitioned = fc.record({
    nodes: fc.integer({ min: 3, max: 6 }),
    hiddenFromWriter: fc.uniqueArray(fc.nat(5), { maxLength: 2 }),
    hiddenFromReader: fc.uniqueArray(fc.nat(5), { maxLength: 2 }),
    key: fc.string({ minLength: 1, maxLength: 5 }),
  });
  type Partitioned = typeof partitioned extends fc.Arbitrary<infer T> ? T : never;

  async function readSeesWriteAcrossPartition(p: Partitioned, sloppyQuorum: boolean): Promise<boolean> {
    const cluster = new TestCluster({ nodes: p.nodes });
    const hidden = (list: number[]) => new Set(list.filter((i) => i < p.nodes).map((i) => `n${i}`));
    const fromWriter = hidden(p.hiddenFromWriter);
    const fromReader = hidden(p.hiddenFromReader);
    const writer = cluster.coordinator({ sloppyQuorum }, (n) => !fromWriter.has(n), "writer");
    const reader = cluster.coordinator({ sloppyQuorum, readRepair: false }, (n) => !fromReader.has(n), "reader");
    const w = await write(cluster, writer, p.key, "new");
    await w.background;
    if (!w.ok) return true;
    const r = await readObject(reader, "b", p.key);
    return !r.ok || r.value.version?.stamp === w.value.version.stamp;
  }

  it("with strict quorums, a read sees every acknowledged write even when writer and reader are partitioned differently", async () => {
    await fc.assert(
      fc.asyncProperty(partitioned, async (p) => {
        expect(await readSeesWriteAcrossPartition(p, false)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("with sloppy quorums, such a partition can hide an acknowledged write from a read (the simulator's finding F1)", async () => {
    // More runs than the other searches: with 200 random ones, 1 run in about 6 found no such partition.
    const found = await fc.check(
      fc.asyncProperty(partitioned, async (p) => readSeesWriteAcrossPartition(p, true)),
      { numRuns: 1_000, seed: SEARCH_SEED },
    );
    expect(found.failed).toBe(true);
  });

  /** The coordinator of `cluster`, counting the bodies read answers carry and those core discards. */
  function countingBodies(cluster: TestCluster, settings: Parameters<TestCluster["coordinator"]>[0]) {
    // No verifyBody, as the router's (it checks bytes end to end, after): a wrong body must be refused by what
    // the read answers said, not only by a check of the bytes.
    const { verifyBody: _unchecked, ...deps } = cluster.coordinator(settings);
    const tally = { carried: 0, discarded: 0 };
    const inner = deps.transport;
    return {
      tally,
      deps: {
        ...deps,
        discardBody: () => void (tally.discarded += 1),
        transport: {
          send: async (to, request, signal) => {
            const result = await inner.send(to, request, signal);
            if (request.kind === "read" && result.ok && (result.value as { body?: unknown }).body !== undefined) tally.carried += 1;
            return result;
          },
        } as typeof inner,
      },
    };
  }

  it("a read with a prefetch serves the winning version's bytes, and every body a replica sent is handed on or discarded, never dropped", async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.option(fc.record({ start: fc.nat(8), length: fc.integer({ min: 1, max: 12 }) }), { nil: undefined }), async (l, r) => {
        const cluster = place(l);
        const { deps, tally } = countingBodies(cluster, { readQuorum: l.readQuorum, readRepair: false });
        const range = r === undefined ? undefined : { start: r.start, endInclusive: r.start + r.length - 1 };
        const read = await readObject(deps, "b", "k", undefined, range ? { range } : {});
        let handedOn = 0;
        if (read.ok && read.value.version !== null && !read.value.version.deleted) {
          const version = read.value.version;
          // Ask for the bytes as the router does once it knows the size: the range cut to the body.
          const wanted = range === undefined ? undefined : range.start >= version.size ? null : { start: range.start, endInclusive: Math.min(range.endInclusive, version.size - 1) };
          if (wanted === null) {
            expect(read.value.body).toBeUndefined(); // a range past the end: the node sends nothing
          } else {
            const gets = cluster.delivered.get("get") ?? 0;
            const prefetched = read.value.body !== undefined;
            const body = await openAnswerBody(deps, read.value, wanted);
            if (body.ok) {
              handedOn += prefetched ? 1 : 0;
              // Only the bytes of the winning version, and no second round trip when they came with the answer.
              expect(body.value.version.stamp).toBe(version.stamp);
              if (wanted === undefined) expect(body.value.body.checksum).toBe(version.checksum);
              if (prefetched) expect(cluster.delivered.get("get") ?? 0).toBe(gets);
            }
          }
        } else if (read.ok) {
          expect(read.value.body).toBeUndefined();
        }
        expect(tally.carried).toBe(handedOn + tally.discarded);
      }),
      { numRuns: RUNS },
    );
  });

  it("a GET of an object every replica holds is one request per replica: one read (with the body) and R − 1 heads", async () => {
    const cluster = new TestCluster({ nodes: 5 });
    const deps = cluster.coordinator();
    const w = await write(cluster, deps, "k", "payload");
    await w.background;
    cluster.delivered.clear();
    const read = await readObject(deps, "b", "k", undefined, {});
    if (!read.ok) throw new Error("read failed");
    const body = await openAnswerBody(deps, read.value as ReadAnswer<MemBody>);
    expect(body.ok && body.value.body.checksum).toBe(w.ok && w.value.version.checksum);
    expect(Object.fromEntries(cluster.delivered)).toEqual({ read: 1, head: deps.settings.readQuorum - 1 });
  });

  it("read repair brings every answering primary up to the newest version", async () => {
    await fc.assert(
      fc.asyncProperty(layout, async (l) => {
        const cluster = place(l);
        const read = await readObject(cluster.coordinator({ readQuorum: l.readQuorum }), "b", "k");
        if (!read.ok || !read.value.version) return;
        await read.value.background;
        const primaries = new Set(cluster.primaries("b", "k"));
        for (const node of read.value.answers.keys()) {
          if (!primaries.has(node)) continue;
          expect(cluster.node(node).store.newestCommitted("b", "k")?.stamp).toBe(read.value.version.stamp);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("coordinator body path", () => {
  const corruption = fc.record({
    nodes: fc.integer({ min: 3, max: 6 }),
    corrupt: fc.array(fc.nat(2), { maxLength: 3 }),
    unreachable: fc.array(fc.nat(2), { maxLength: 2 }),
  });

  type Corruption = typeof corruption extends fc.Arbitrary<infer T> ? T : never;

  async function readBack(c: Corruption, bugs = {}): Promise<{ served: boolean; clean: boolean }> {
    const cluster = new TestCluster({ nodes: c.nodes, bugs });
    const deps = cluster.coordinator();
    const w = await write(cluster, deps, "k", "payload");
    await w.background;
    if (!w.ok) throw new Error("write failed");
    const read = await readObject(deps, "b", "k");
    if (!read.ok) throw new Error("read failed");
    const primaries = cluster.primaries("b", "k");
    for (const i of c.corrupt) cluster.node(primaries[i]!).store.corrupt("b", "k", w.value.version.stamp);
    for (const i of c.unreachable) cluster.crash(primaries[i]!);
    const body = await openBody(deps, read.value);
    if (!body.ok) return { served: false, clean: true };
    return { served: true, clean: body.value.body.checksum === w.value.version.checksum };
  }

  it("openBody never returns bytes that fail the checksum, and serves whenever a good replica is reachable", async () => {
    await fc.assert(
      fc.asyncProperty(corruption, async (c) => {
        const result = await readBack(c);
        expect(result.clean).toBe(true);
        const bad = new Set([...c.corrupt, ...c.unreachable]);
        if (bad.size < 3) expect(result.served).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("with the planted bug skipReadChecksum, corrupt bytes can reach the client", async () => {
    const found = await fc.check(
      fc.asyncProperty(corruption, async (c) => (await readBack(c, { skipReadChecksum: true })).clean),
      { numRuns: RUNS, seed: SEARCH_SEED },
    );
    expect(found.failed).toBe(true);
  });

  it("a delete writes a tombstone that reads return as the newest version", async () => {
    const cluster = new TestCluster({ nodes: 4 });
    const deps = cluster.coordinator();
    const w = await write(cluster, deps, "k", "x");
    await w.background;
    const d = await deleteObject(deps, "b", "k");
    await d.background;
    expect(d.ok).toBe(true);
    const read = await readObject(deps, "b", "k");
    expect(read.ok && read.value.version?.deleted).toBe(true);
  });
});

describe("a read whose reader goes away (CancelSignal)", () => {
  /** The test cluster's transport, honouring the signal as the runtime's does: cancelled at once, in flight or before. */
  function cancellable(deps: ReturnType<TestCluster["coordinator"]>, held: { release?: () => void }): ReturnType<TestCluster["coordinator"]> & { sent: string[] } {
    const sent: string[] = [];
    const inner = deps.transport;
    return {
      ...deps,
      sent,
      transport: {
        send: (to, request, signal) => {
          if (signal?.aborted) return Promise.resolve({ ok: false, error: { kind: "cancelled", detail: "before sending" } });
          sent.push(`${request.kind} ${to}`);
          return new Promise((resolve) => {
            const onAbort = () => resolve({ ok: false, error: { kind: "cancelled", detail: "in flight" } });
            signal?.addEventListener("abort", onAbort, { once: true });
            // Heads wait until the test releases them (or the signal cuts them).
            const go = () => void inner.send(to, request, signal).then(resolve);
            if (request.kind === "head" && held.release === undefined) held.release = go;
            else go();
          });
        },
      } as typeof inner,
      onQuorumFailed: () => sent.push("quorum-failed"),
    };
  }

  it("a signal aborted before the read: no node is asked, the answer is cancelled (not a quorum failure)", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    await write(cluster, cluster.coordinator(), "k", "hello");
    const deps = cancellable(cluster.coordinator(), { release: () => {} });
    const controller = new AbortController();
    controller.abort();
    const read = await readObject(deps, "b", "k", controller.signal);
    expect(read.ok ? "ok" : read.error.kind).toBe("cancelled");
    expect(deps.sent).toEqual([]);
  });

  it("a signal aborted while a head is in flight: the read answers cancelled at once, never a quorum failure", async () => {
    const cluster = new TestCluster({ nodes: 3 });
    await write(cluster, cluster.coordinator(), "k", "hello");
    const held: { release?: () => void } = {};
    const deps = cancellable(cluster.coordinator(), held);
    const controller = new AbortController();
    const reading = readObject(deps, "b", "k", controller.signal);
    await new Promise((done) => setImmediate(done));
    expect(held.release).toBeDefined(); // one head is held in flight
    controller.abort();
    const read = await reading;
    expect(read.ok ? "ok" : read.error.kind).toBe("cancelled");
    expect(deps.sent).not.toContain("quorum-failed");
    // Without a signal the same read succeeds.
    const plain = await readObject(cluster.coordinator(), "b", "k");
    expect(plain.ok).toBe(true);
  });
});
