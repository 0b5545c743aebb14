// Failure detector: one process's own view of which nodes are live, from the heartbeats it received.
// Guarantees: pure (time comes in as `nowMs`); a node is live while it was heard from within `downAfterMs`,
// and is never marked down before `downAfterMs` has passed since it was last heard (or since the detector
// started watching it); a single heartbeat makes it live again. downSinceMs says when this view started
// to consider it down, which repair compares with reReplicateAfterMs.
// Assumes: heartbeats are sent every heartbeatIntervalMs, comfortably below downAfterMs (3x or more);
// views of different processes may disagree, and nothing in core needs them to agree.

import { assert } from "./assert.ts";
import type { NodeId } from "./ids.ts";

export interface FailureDetectorSettings {
  /** Silence after which a node is considered down. */
  readonly downAfterMs: number;
  /** How often heartbeats are sent (a hint for the host loop; the detector only uses downAfterMs). */
  readonly heartbeatIntervalMs: number;
}

export const defaultFailureDetectorSettings: FailureDetectorSettings = Object.freeze({ downAfterMs: 3_000, heartbeatIntervalMs: 500 });

export class FailureDetector {
  private readonly lastHeardMs = new Map<NodeId, number>();

  /** @param startMs when this process started watching; unknown nodes count as heard at that moment. */
  constructor(
    readonly settings: FailureDetectorSettings,
    private readonly startMs: number,
  ) {
    assert(settings.downAfterMs > 0, "downAfterMs must be positive");
  }

  /** A heartbeat (or any answer) arrived from `node` at `nowMs`. */
  heard(node: NodeId, nowMs: number): void {
    const before = this.lastHeardMs.get(node);
    if (before === undefined || nowMs > before) this.lastHeardMs.set(node, nowMs);
  }

  /** When `node` was last heard from (the detector's start for a node never heard). */
  lastHeard(node: NodeId): number {
    return this.lastHeardMs.get(node) ?? this.startMs;
  }

  isLive(node: NodeId, nowMs: number): boolean {
    return nowMs - this.lastHeard(node) <= this.settings.downAfterMs;
  }

  /** The moment this view began to consider `node` down, or null while it is live. */
  downSinceMs(node: NodeId, nowMs: number): number | null {
    if (this.isLive(node, nowMs)) return null;
    return this.lastHeard(node) + this.settings.downAfterMs;
  }

  /** How long `node` has been down in this view (0 while live). */
  downForMs(node: NodeId, nowMs: number): number {
    const since = this.downSinceMs(node, nowMs);
    return since === null ? 0 : nowMs - since;
  }
}
