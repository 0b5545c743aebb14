// The client workload: PUT, GET and DELETE over many keys, sizes from bytes to many MiB (size + content hash).
// Guarantees: operations arrive as a Poisson process at opsPerSecond, never more than inFlightMax at once; the
// first writes go to keys not written yet, so every key exists early; every operation and its outcome goes
// through the oracle; all draws come from the workload's own RNG stream.
// Assumes: routers are the only entry point (a router per client request, chosen at random among those up).

import { assert } from "../core/assert.ts";
import { clientBody } from "./body.ts";
import type { EventLoop } from "./event-loop.ts";
import type { RouterInstance } from "./logic.ts";
import type { Oracle } from "./oracle.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

export interface WorkloadSettings {
  readonly keyCount: number;
  readonly opsPerSecond: number;
  readonly inFlightMax: number;
  /** Shares of operations once every key has been written once; the rest are GETs. */
  readonly putShare: number;
  readonly deleteShare: number;
  /** Sizes: mostly small (log-uniform in [sizeBytesMin, smallBytesMax]), bigShare of them large (up to sizeBytesMax). */
  readonly sizeBytesMin: number;
  readonly smallBytesMax: number;
  readonly sizeBytesMax: number;
  readonly bigShare: number;
}

export const defaultWorkload: WorkloadSettings = {
  keyCount: 2_000,
  opsPerSecond: 20,
  inFlightMax: 32,
  putShare: 0.3,
  deleteShare: 0.05,
  sizeBytesMin: 1,
  smallBytesMax: 256 * 1024,
  sizeBytesMax: 64 * 1024 * 1024,
  bigShare: 0.02,
};

export const BUCKET = "videos";

export class Workload {
  private inFlight = 0;
  private written = 0;
  private writeSeq = 0;
  private stopped = false;
  opsStarted = 0;

  constructor(
    private readonly settings: WorkloadSettings,
    private readonly loop: EventLoop,
    private readonly rng: SimRng,
    private readonly oracle: Oracle,
    private readonly trace: Trace,
    private readonly routers: () => RouterInstance[],
  ) {
    assert(settings.keyCount > 0 && settings.opsPerSecond > 0 && settings.inFlightMax > 0, "workload settings must be positive");
  }

  start(untilMs: number): void {
    const tick = (): void => {
      if (this.stopped || this.loop.nowMs >= untilMs) return;
      if (this.inFlight < this.settings.inFlightMax) this.startOne();
      this.loop.after(this.rng.exponential(1000 / this.settings.opsPerSecond), tick);
    };
    this.loop.after(0, tick);
  }

  stop(): void {
    this.stopped = true;
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  keyName(index: number): string {
    return `k${index.toString().padStart(5, "0")}`;
  }

  private size(): number {
    const s = this.settings;
    const [lo, hi] = this.rng.chance(s.bigShare) ? [s.smallBytesMax, s.sizeBytesMax] : [s.sizeBytesMin, s.smallBytesMax];
    return Math.round(Math.exp(this.rng.between(Math.log(lo), Math.log(hi))));
  }

  private startOne(): void {
    const routers = this.routers();
    if (routers.length === 0) return;
    const router = this.rng.pick(routers);
    let op: "put" | "get" | "delete";
    let index: number;
    if (this.written < this.settings.keyCount) {
      op = "put";
      index = this.written++;
    } else {
      const draw = this.rng.nextFloat();
      op = draw < this.settings.putShare ? "put" : draw < this.settings.putShare + this.settings.deleteShare ? "delete" : "get";
      index = this.rng.nextInt(this.settings.keyCount);
    }
    this.opsStarted += 1;
    this.run(router, op, this.keyName(index));
  }

  /** One client operation against one router, checked by the oracle. */
  async run(router: RouterInstance, op: "put" | "get" | "delete", key: string): Promise<void> {
    this.inFlight += 1;
    try {
      if (op === "put") {
        const body = clientBody(key, this.writeSeq++, this.size());
        const record = this.oracle.writeStarted(key, "put", body, router);
        const outcome = await router.put(BUCKET, key, body);
        this.trace.add(`client put ${key} ${body.size}B ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        this.oracle.writeEnded(record, outcome);
      } else if (op === "delete") {
        const record = this.oracle.writeStarted(key, "delete", null);
        const outcome = await router.delete(BUCKET, key);
        this.trace.add(`client delete ${key} ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        this.oracle.writeEnded(record, outcome);
      } else {
        const token = this.oracle.readStarted(key);
        const outcome = await router.get(BUCKET, key);
        this.trace.add(`client get ${key} ${!outcome.ok ? `failed ${outcome.reason}` : outcome.found ? `found ${outcome.version.stamp}` : "not-found"}`);
        this.oracle.readEnded(token, outcome);
      }
    } catch (error) {
      this.loop.fail(error);
    } finally {
      this.inFlight -= 1;
    }
  }
}
