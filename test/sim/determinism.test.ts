// The simulator is deterministic: the same seed gives the same trace hash, in this process and in a worker
// process; a different seed gives a different trace. Plus the small pieces the whole rests on.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EventLoop } from "../../sim/event-loop.ts";
import { coreLogic } from "../../sim/core-logic.ts";
import { runPool } from "../../sim/pool.ts";
import { runSeed } from "../../sim/run.ts";
import { withProfile } from "../../sim/scenario.ts";
import { SimDisk } from "../../sim/disk.ts";
import { SimProcess } from "../../sim/process.ts";
import { SimRng } from "../../sim/rng.ts";
import { Trace } from "../../sim/trace.ts";
import { defaultDisk } from "../../sim/disk.ts";
import { nodeId } from "../../core/ids.ts";
import type { PartitionId } from "../../core/ids.ts";
import type { VersionStamp } from "../../core/object-version.ts";
import chaos from "../../scenarios/chaos.ts";

const scenario = withProfile(chaos, "ci");

describe("determinism", () => {
  it("the same seed gives the same trace hash, twice in one process", async () => {
    const a = await runSeed(scenario, 11, { logic: coreLogic });
    const b = await runSeed(scenario, 11, { logic: coreLogic });
    expect(a.figures.events).toBeGreaterThan(1_000);
    expect(a.figures.writesAcknowledged).toBeGreaterThan(100);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.figures.events).toBe(a.figures.events);
    expect(b.series).toEqual(a.series);
  }, 120_000);

  it("a different seed gives a different trace", async () => {
    const a = await runSeed(scenario, 11, { logic: coreLogic });
    const c = await runSeed(scenario, 12, { logic: coreLogic });
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 120_000);

  it("a worker process computes the same trace hash as this process", async () => {
    const here = await runSeed(scenario, 5, { logic: coreLogic });
    const [there] = await runPool({ scenarioPath: "scenarios/chaos.ts", seeds: [5], logic: "core", profile: "ci", workers: 1 });
    expect(there?.traceHash).toBe(here.traceHash);
  }, 120_000);
});

describe("event loop", () => {
  it("runs events in (time, scheduling order), whatever order they were scheduled in", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), async (times) => {
        const loop = new EventLoop(10_000);
        const ran: [number, number][] = [];
        times.forEach((t, i) => loop.at(t, () => ran.push([loop.nowMs, i])));
        await loop.run({ untilMs: 100 });
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        expect(ran).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("lets every promise an event resolved run to completion before the next event", async () => {
    const loop = new EventLoop(100);
    const log: string[] = [];
    loop.at(1, () => {
      void (async () => {
        await null;
        await null;
        await Promise.resolve();
        log.push("chain of event 1 done");
      })();
    });
    loop.at(1, () => log.push("event 2"));
    await loop.run({ untilMs: 10 });
    expect(log).toEqual(["chain of event 1 done", "event 2"]);
  });
});

describe("simulated disk", () => {
  const setup = () => {
    const loop = new EventLoop(10_000);
    const process = new SimProcess(nodeId("n1"), "node", loop);
    process.start();
    const disk = new SimDisk(nodeId("n1"), process, loop, new SimRng("t"), new Trace(() => loop.nowMs, false), defaultDisk, undefined);
    return { loop, process, disk };
  };
  const header = { bucket: "b", key: "k", stamp: "00000000000a000000.r1" as VersionStamp, size: 10, contentType: "", userMeta: {}, deleted: false };
  const body = { size: 10, contentHash: "00000000000000aa" };
  const p = 3 as PartitionId;

  it("a committed copy written over a pending one of the same stamp is held and listed", async () => {
    const { loop, disk } = setup();
    let done = false;
    void (async () => {
      await disk.writePending(p, header, body, undefined);
      await disk.writeCommitted(p, { ...header, etag: "e", checksum: body.contentHash }, body, undefined);
      const head = await disk.headCommitted("b", "k");
      expect(head.ok && head.value?.stamp).toBe(header.stamp);
      const listed = await disk.listPartition(p, undefined, 10);
      expect(listed.ok && listed.value.length).toBe(1);
      done = true;
    })();
    await loop.run({ untilMs: 1_000 });
    expect(done).toBe(true);
  });

  it("a write in flight at a crash is never answered, and survives or not by the disk's coin", async () => {
    const { loop, process, disk } = setup();
    let answered = false;
    void disk.writePending(p, header, body, undefined).then(() => (answered = true));
    loop.at(0, () => {
      process.crash();
      disk.crash();
    });
    await loop.run({ untilMs: 1_000 });
    expect(answered).toBe(false);
    expect([...disk.records()].length).toBeLessThanOrEqual(1);
  });

  it("a bit flip leaves a body whose hash no longer matches its checksum", async () => {
    const { loop, disk } = setup();
    void (async () => {
      await disk.writeCommitted(p, { ...header, etag: "e", checksum: body.contentHash }, body, undefined);
    })();
    await loop.run({ untilMs: 1_000 });
    expect(disk.flipRandomBody()).not.toBeNull();
    const [record] = [...disk.records()];
    expect(record?.body.contentHash).not.toBe(record?.version.checksum);
  });
});
