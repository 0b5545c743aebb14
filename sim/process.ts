// A simulated process (storage node or router): up or down, with an incarnation number that changes on every
// crash, and its own clock skew. Guarantees: a promise handed out by a port of this process (a timer, a disk
// operation, a network reply) resolves only if the same incarnation is still up when the event fires, so code
// of a crashed incarnation never runs again and never touches the world; a crash forgets all volatile state.
// A paused process (SIGSTOP) runs nothing until it resumes: its timers, disk completions and the messages
// that reach it wait, then run in order at the moment it resumes, its clock having jumped.
// Assumes: every port of the process routes its completions through `deliver` or checks `isCurrent`.

import type { NodeId } from "../core/ids.ts";
import type { Clock } from "../core/ports.ts";
import type { EventLoop } from "./event-loop.ts";

export type ProcessRole = "node" | "router";

export class SimProcess {
  up = false;
  incarnation = 0;
  /** Constant offset of this process's wall clock from virtual time, in ms (clock skew). */
  skewMs = 0;
  /** Drift of this process's clock, in ms per simulated second (may be negative, never below -500). */
  driftMsPerSecond = 0;
  readonly clock: Clock;

  constructor(
    readonly id: NodeId,
    readonly role: ProcessRole,
    private readonly loop: EventLoop,
  ) {
    const self = this;
    this.clock = {
      nowMs: () => self.localNowMs(),
      sleep: (ms: number) => self.sleep(ms),
    };
  }

  /** This process's wall clock: virtual time, skewed and drifting. Never negative. */
  localNowMs(): number {
    const t = this.loop.nowMs;
    return Math.max(0, t + this.skewMs + (this.driftMsPerSecond * t) / 1000);
  }

  /** A timer of this incarnation: resolves after ms of virtual time, or never if the process crashes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deliver(Math.max(0, ms), () => resolve()));
  }

  /** Schedule fn after delayMs, to run only if this incarnation is still up then (and once it is awake). */
  deliver(delayMs: number, fn: () => void): void {
    if (!this.up) return;
    const incarnation = this.incarnation;
    this.loop.after(delayMs, () => this.whenAwake(incarnation, fn));
  }

  /** Virtual time until which the process is paused; 0 when it runs. */
  private pausedUntilMs = 0;

  /** SIGSTOP until `untilMs` of virtual time (a later pause extends it); a crash or restart ends it. */
  pause(untilMs: number): void {
    if (this.up) this.pausedUntilMs = Math.max(this.pausedUntilMs, untilMs);
  }

  get paused(): boolean {
    return this.up && this.loop.nowMs < this.pausedUntilMs;
  }

  /** Run fn now if this incarnation is current and running; once it resumes if it is paused; never if it crashed. */
  whenAwake(incarnation: number, fn: () => void): void {
    if (!this.isCurrent(incarnation)) return;
    if (this.loop.nowMs < this.pausedUntilMs) {
      this.loop.after(this.pausedUntilMs - this.loop.nowMs, () => this.whenAwake(incarnation, fn));
      return;
    }
    fn();
  }

  isCurrent(incarnation: number): boolean {
    return this.up && this.incarnation === incarnation;
  }

  start(): void {
    this.up = true;
    this.incarnation += 1;
    this.pausedUntilMs = 0;
  }

  crash(): void {
    this.up = false;
    this.incarnation += 1;
    this.pausedUntilMs = 0;
    const listeners = [...this.crashListeners];
    this.crashListeners.clear();
    for (const listener of listeners) listener();
  }

  private readonly crashListeners = new Set<() => void>();

  /**
   * `listener` is called once if the current incarnation crashes (what a client sees as its connection
   * reset); the returned function takes it back.
   */
  onCrash(listener: () => void): () => void {
    if (!this.up) return () => {};
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }
}
