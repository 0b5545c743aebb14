// The simulated disk as a store under the BlobStore contract (blob-store-contract.ts): a disk of one simulated
// node, its calls driven through the event loop until they are answered; a crash is the process's crash
// (sim/process.ts) and the disk's (sim/disk.ts: operations in flight applied or lost by the disk's coin).
import { nodeId } from "../../../core/ids.ts";
import type { BlobStore } from "../../../core/ports.ts";
import type { StoreFactory } from "../blob-store-contract.ts";
import { checksumOf } from "./versions.ts";
import type { SimBody } from "../../../sim/body.ts";
import { SimDisk, defaultDisk } from "../../../sim/disk.ts";
import { EventLoop } from "../../../sim/event-loop.ts";
import { SimProcess } from "../../../sim/process.ts";
import { SimRng } from "../../../sim/rng.ts";
import { Trace } from "../../../sim/trace.ts";

/** One event loop run at a time, each until the call it was started for is answered. */
class Driver {
  private running: Promise<void> | null = null;

  constructor(private readonly loop: EventLoop) {}

  async drive<T>(call: Promise<T>): Promise<T> {
    let settled = false;
    call.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let idle = 0; !settled; ) {
      if (this.running !== null) {
        await this.running;
        continue;
      }
      if (this.loop.pending === 0) {
        // Index reads answer without an event: give their promise a turn before calling the call lost.
        await new Promise((resolve) => setImmediate(resolve));
        if (!settled && ++idle > 3) throw new Error("a simulated disk call was never answered");
        continue;
      }
      this.running = this.loop.run({ untilMs: this.loop.nowMs + 60_000, stop: () => settled }).finally(() => (this.running = null));
      await this.running;
    }
    if (this.loop.failure !== undefined) throw this.loop.failure;
    return call;
  }
}

let seed = 0;
export const simDiskFactory: StoreFactory<SimBody> = {
  name: "simulated disk (sim/disk.ts)",
  crashesMidWrite: true,
  losesBytes: true,
  async open() {
    const loop = new EventLoop(10_000_000);
    const process = new SimProcess(nodeId("n1"), "node", loop);
    process.start();
    seed += 1;
    const disk = new SimDisk(nodeId("n1"), process, loop, new SimRng(`contract-${seed}`), new Trace(() => loop.nowMs, false), defaultDisk, undefined);
    const driver = new Driver(loop);
    // Each call of the port goes through the event loop until it is answered.
    const store = new Proxy(disk, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => driver.drive((value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    }) as BlobStore<SimBody>;
    const restart = (): void => {
      process.crash();
      disk.crash();
      process.start();
    };
    return {
      store,
      bodyOf: (bytes) => ({ size: bytes.length, contentHash: checksumOf(bytes) }),
      readBack: async (body) => ({ size: body.size }),
      async crashAndRestart() {
        restart();
      },
      async crashDuring(start) {
        start(disk);
        // Every operation started is in flight: a disk operation takes at least its base latency.
        restart();
        await loop.run({ untilMs: loop.nowMs + 1_000 });
      },
      async loseBytesAndRestart(version) {
        process.crash();
        disk.crash();
        if (!disk.loseBytes(version.bucket, version.key, version.stamp)) throw new Error(`no bytes of ${version.key}@${version.stamp} to lose`);
        process.start();
        return [...disk.lostPartitions];
      },
      async close() {},
    };
  },
};
