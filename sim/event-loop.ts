// The simulator's event loop: one virtual clock and a priority queue of events ordered by (time, sequence).
// Guarantees: events run in (atMs, seq) order, seq being the order in which they were scheduled, so two runs
// that schedule the same events run them in the same order; after each event every promise it resolved runs
// to completion (the microtask queue is empty) before the next event starts, so
// async/await over simulated ports is as deterministic as the events themselves.
// Assumes: nothing in the simulated world uses real timers, Date, Math.random or I/O; the only macrotask
// source while a run is active is this loop.

import { assert } from "../core/assert.ts";

export interface EventHandle {
  readonly atMs: number;
  readonly seq: number;
  cancelled: boolean;
  readonly fn: () => void;
}

/** Binary min-heap on (atMs, seq). Kept inline and allocation-light: it is the hottest structure of a run. */
class EventHeap {
  private readonly items: EventHandle[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): EventHandle | undefined {
    return this.items[0];
  }

  push(event: EventHandle): void {
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (before(p, event)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = event;
  }

  pop(): EventHandle | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (before(last, items[child]!)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

const before = (a: EventHandle, b: EventHandle): boolean => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);

export interface RunLimits {
  /** Stop once virtual time would pass this instant. */
  readonly untilMs: number;
  /** Stop early when this returns true; checked after every event. */
  readonly stop?: () => boolean;
}

export class EventLoop {
  private readonly heap = new EventHeap();
  private seq = 0;
  private now = 0;
  /** Events executed so far (cancelled ones not counted). */
  eventsRun = 0;
  /** The first exception thrown by an event or reported with fail(); a run stops on it. */
  failure: unknown = undefined;

  constructor(private readonly eventsMax: number) {
    assert(eventsMax > 0, "eventsMax must be positive");
  }

  get nowMs(): number {
    return this.now;
  }

  get pending(): number {
    return this.heap.size;
  }

  /** Run `fn` at virtual time now + delayMs (delayMs >= 0). */
  after(delayMs: number, fn: () => void): EventHandle {
    assert(delayMs >= 0 && Number.isFinite(delayMs), () => `delay ${delayMs} must be finite and >= 0`);
    return this.at(this.now + delayMs, fn);
  }

  at(atMs: number, fn: () => void): EventHandle {
    assert(atMs >= this.now, () => `cannot schedule at ${atMs}, before now ${this.now}`);
    const event: EventHandle = { atMs, seq: this.seq++, cancelled: false, fn };
    this.heap.push(event);
    return event;
  }

  /** Record a failure found by the world (an assertion in core, an oracle violation): the run stops. */
  fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error;
  }

  /**
   * Run events until limits.untilMs (or stop() or a failure). After each event, the next one starts only once
   * the microtask queue is empty: the event queues a microtask that queues a process.nextTick, and Node runs
   * ticks queued from microtasks only after the microtask queue has drained. Every YIELD_EVERY events the loop
   * yields one macrotask (setImmediate) so that I/O (a worker's IPC, a test runner) is not starved.
   */
  run(limits: RunLimits): Promise<void> {
    return new Promise((resolve) => {
      let sinceYield = 0;
      const finish = (): void => {
        if (this.now < limits.untilMs) this.now = limits.untilMs;
        resolve();
      };
      const afterDrain = (): void => {
        if (limits.stop?.()) return resolve();
        sinceYield += 1;
        if (sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          setImmediate(step);
        } else step();
      };
      const scheduleAfterDrain = (): void => {
        process.nextTick(afterDrain);
      };
      const step = (): void => {
        if (this.failure !== undefined) return resolve();
        let next = this.heap.peek();
        while (next !== undefined && next.cancelled && next.atMs <= limits.untilMs) {
          this.heap.pop();
          next = this.heap.peek();
        }
        if (next === undefined || next.atMs > limits.untilMs) return finish();
        this.heap.pop();
        this.now = next.atMs;
        this.eventsRun += 1;
        if (this.eventsRun > this.eventsMax) {
          this.fail(new Error(`event budget of ${this.eventsMax} exhausted at ${this.now} ms`));
          return resolve();
        }
        try {
          next.fn();
        } catch (error) {
          this.fail(error);
          return resolve();
        }
        queueMicrotask(scheduleAfterDrain);
      };
      step();
    });
  }
}

const YIELD_EVERY = 2_000;
