// The simulated network honours a request's cancellation as the HTTP transport does: a request whose signal
// aborts settles "cancelled" at once; one still on the way is never delivered; one being handled has its reply
// dropped. Without a signal nothing changes.
import { describe, expect, it } from "vitest";
import { nodeId, partitionId } from "../../core/ids.ts";
import { ok } from "../../core/result.ts";
import { EventLoop } from "../../sim/event-loop.ts";
import { SimNetwork, defaultNetwork } from "../../sim/network.ts";
import { SimProcess } from "../../sim/process.ts";
import { SimRng } from "../../sim/rng.ts";
import { Trace } from "../../sim/trace.ts";

const HANDLING_MS = 50;

/** The failure kind a send settled with, "ok", or "pending" if it has not settled (never awaits a lost answer). */
async function outcomeOf(answer: Promise<{ ok: true } | { ok: false; error: { kind: string } }>): Promise<string> {
  const got = await Promise.race([answer, new Promise<"pending">((done) => setImmediate(() => done("pending")))]);
  return got === "pending" ? got : got.ok ? "ok" : got.error.kind;
}

function world() {
  const loop = new EventLoop(10_000);
  const network = new SimNetwork(loop, new SimRng("cancel"), new Trace(() => loop.nowMs, false), { ...defaultNetwork, tailProbability: 0 });
  const router = new SimProcess(nodeId("router-1"), "router", loop);
  const node = new SimProcess(nodeId("node-1"), "node", loop);
  for (const p of [router, node]) {
    network.attach(p);
    p.start();
  }
  const handled: number[] = [];
  network.serve(node.id, async () => {
    handled.push(loop.nowMs);
    await node.sleep(HANDLING_MS);
    return ok({ version: null });
  });
  const transport = network.transportFor(router);
  const head = (signal?: AbortSignal) => transport.send(node.id, { kind: "head", partition: partitionId(0, 16), bucket: "b", key: "k" }, signal);
  return { loop, network, handled, head };
}

describe("cancelling a request in the simulated network", () => {
  it("without a signal the answer comes", async () => {
    const w = world();
    const answer = w.head();
    await w.loop.run({ untilMs: 1_000 });
    expect(await outcomeOf(answer)).toBe("ok");
    expect(w.handled.length).toBe(1);
    expect(w.network.counters.cancelled).toBe(0);
  });

  it("a signal aborted before the send: cancelled, never delivered", async () => {
    const w = world();
    const controller = new AbortController();
    controller.abort();
    const answer = w.head(controller.signal);
    await w.loop.run({ untilMs: 1_000 });
    expect(await outcomeOf(answer)).toBe("cancelled");
    expect(w.handled).toEqual([]);
  });

  it("aborted on the way: cancelled at once, and the receiver never sees it", async () => {
    const w = world();
    const controller = new AbortController();
    const answer = w.head(controller.signal);
    controller.abort();
    expect(await outcomeOf(answer)).toBe("cancelled");
    await w.loop.run({ untilMs: 1_000 });
    expect(w.handled).toEqual([]);
    expect(w.network.counters.cancelled).toBe(1);
  });

  it("aborted while the receiver works: cancelled then, not when the answer would have come", async () => {
    const w = world();
    const controller = new AbortController();
    const answer = w.head(controller.signal);
    let settledAtMs: number | undefined;
    void answer.then(() => (settledAtMs = w.loop.nowMs));
    w.loop.after(HANDLING_MS / 2, () => controller.abort());
    await w.loop.run({ untilMs: 1_000 });
    expect(await outcomeOf(answer)).toBe("cancelled");
    expect(w.handled.length).toBe(1);
    expect(settledAtMs).toBe(HANDLING_MS / 2);
  });
});
