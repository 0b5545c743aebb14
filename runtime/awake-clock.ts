// A clock of the time this process was awake to hear from its peers, for the failure detector.
// Silence is only evidence that a peer is down if this process was running and able to hear it: after this
// process's own event loop was blocked (a long GC, a starved CPU, a suspended VM), every peer's heartbeat
// answers are still queued unread, and wall-clock silence would mark them all down at once. This clock
// advances with wall time in small steps and counts at most `stepMaxMs` for any one step, so a stall of the
// observer adds almost nothing to the silence it measures.
// Guarantees: monotonic; never ahead of performance.now() since construction.

export class AwakeClock {
  private awakeMs = 0;
  private lastWallMs = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly stepMaxMs = 500, tickMs = 100) {
    this.timer = setInterval(() => this.advance(), tickMs);
    this.timer.unref();
  }

  now(): number {
    return this.awakeMs + Math.min(performance.now() - this.lastWallMs, this.stepMaxMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private advance(): void {
    const wall = performance.now();
    this.awakeMs += Math.min(wall - this.lastWallMs, this.stepMaxMs);
    this.lastWallMs = wall;
  }
}
