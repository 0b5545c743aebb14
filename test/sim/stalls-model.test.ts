// The simulator's stalls behave as their real counterparts do: a paused process (SIGSTOP) runs nothing until it
// resumes, then handles what reached it; a hung disk completes nothing until it recovers, then everything in
// order; an I/O error applies nothing; a get reply damaged on the way back fails the reader's checksum.
import { describe, expect, it } from "vitest";
import { nodeId, partitionId } from "../../core/ids.ts";
import { ok } from "../../core/result.ts";
import { clientBody } from "../../sim/body.ts";
import { SimDisk, defaultDisk } from "../../sim/disk.ts";
import { EventLoop } from "../../sim/event-loop.ts";
import { SimNetwork, defaultNetwork } from "../../sim/network.ts";
import { SimProcess } from "../../sim/process.ts";
import { SimRng } from "../../sim/rng.ts";
import { Trace } from "../../sim/trace.ts";

const P = partitionId(0, 16);

function setUp() {
  const loop = new EventLoop(10_000);
  const trace = new Trace(() => loop.nowMs, false);
  const network = new SimNetwork(loop, new SimRng("stalls"), trace, { ...defaultNetwork, tailProbability: 0 });
  const router = new SimProcess(nodeId("router-1"), "router", loop);
  const node = new SimProcess(nodeId("node-1"), "node", loop);
  for (const p of [router, node]) {
    network.attach(p);
    p.start();
  }
  const handledAt: number[] = [];
  network.serve(node.id, async () => {
    handledAt.push(loop.nowMs);
    return ok({ version: null });
  });
  const disk = new SimDisk(node.id, node, loop, new SimRng("disk"), trace, defaultDisk, undefined);
  const head = () => network.transportFor(router).send(node.id, { kind: "head", partition: P, bucket: "b", key: "k" });
  return { loop, network, router, node, disk, handledAt, head };
}

const header = (key: string, size: number) => ({ bucket: "b", key, stamp: "000000000001000000.r1" as never, size, contentType: "", userMeta: {}, deleted: false, partition: P });

describe("stalls in the simulator", () => {
  it("a paused process's timers fire only once it resumes", async () => {
    const t = setUp();
    const woke: number[] = [];
    void t.node.sleep(100).then(() => woke.push(t.loop.nowMs));
    t.node.pause(5_000);
    await t.loop.run({ untilMs: 10_000 });
    expect(woke).toEqual([5_000]);
  });

  it("a paused receiver handles a request when it resumes; a sender that waited longer than its timeout has given up", async () => {
    const t = setUp();
    t.node.pause(300);
    const answered = t.head();
    await t.loop.run({ untilMs: 10_000 });
    expect(t.handledAt).toEqual([300]);
    expect((await answered).ok).toBe(true);
    const late = setUp();
    late.node.pause(defaultNetwork.requestTimeoutMs + 1_000);
    const timedOut = late.head();
    await late.loop.run({ untilMs: 60_000 });
    expect(late.handledAt).toEqual([defaultNetwork.requestTimeoutMs + 1_000]);
    const result = await timedOut;
    expect(result.ok ? "ok" : result.error.kind).toBe("timeout");
  });

  it("a crash ends a pause: nothing of the paused incarnation runs again", async () => {
    const t = setUp();
    const woke: number[] = [];
    void t.node.sleep(100).then(() => woke.push(t.loop.nowMs));
    t.node.pause(5_000);
    t.loop.after(1_000, () => t.node.crash());
    await t.loop.run({ untilMs: 10_000 });
    expect(woke).toEqual([]);
    expect(t.node.paused).toBe(false);
  });

  it("a hung disk completes nothing until it recovers, then every operation, durably", async () => {
    const t = setUp();
    t.disk.hang();
    const body = clientBody("clip", 1, 1_000);
    const written = t.disk.writePending(P, header("clip", body.size), body, undefined);
    let settled = false;
    void written.then(() => (settled = true));
    await t.loop.run({ untilMs: 3_000 });
    expect(settled).toBe(false);
    t.loop.after(0, () => t.disk.unhang());
    await t.loop.run({ untilMs: 6_000 });
    expect((await written).ok).toBe(true);
    expect([...t.disk.records()].map((r) => r.version.key)).toEqual(["clip"]);
  });

  it("an I/O error applies nothing", async () => {
    const t = setUp();
    t.disk.ioErrorProbability = 1;
    const body = clientBody("clip", 1, 1_000);
    const written = t.disk.writePending(P, header("clip", body.size), body, undefined);
    await t.loop.run({ untilMs: 1_000 });
    const result = await written;
    expect(result.ok ? "ok" : result.error.kind).toBe("io");
    expect([...t.disk.records()]).toEqual([]);
  });
});
