// Availability as an invariant (issue 10): where a scenario asks for it, the oracle flags a read or a write that
// failed although the cluster had to serve it (sim/oracle.ts availabilityRequired).
// Guarantees: an operation is required to succeed only when
//   - the scenario opted in (Scenario.availability) and, over the whole operation, at most nodesDownMax nodes
//     were down, no link was cut and no message was being lost, no fault had happened for detectionMs before
//     it began (failure detection has settled) nor happened while it ran, and it ended before faultsEndMs
//     (the final heal restarts every node at once, which is no longer "one at a time"), and it began after the
//     first heartbeat round (startUpMs): a process counts a peer live only once it has answered
//     (core/heartbeats.ts; a fresh runtime router answers 503 until then); or
//   - it started and ended inside a window the fault program declared with expectAvailable: states the
//     scenario knows must be survivable whatever is down (one more permanent loss once re-replication has
//     completed, say). A window may ask for a read of every key written so far when it opens.
// Assumes: every fault goes through World.fault (faultMarks are in time order); crashed nodes are the only
// "down" ones the opt-in rule counts, partitions and loss simply suspend it.

import { assert } from "../core/assert.ts";
import type { World } from "./world.ts";

export interface AvailabilitySettings {
  /** How long after a fault failure detection may take to settle: requests that start later must succeed. */
  readonly detectionMs: number;
  /** The rule holds while at most this many nodes are down (crashed). */
  readonly nodesDownMax: number;
}

export interface AvailabilityWindow {
  readonly fromMs: number;
  readonly untilMs: number;
  /** What the window stands for, for the violation's text. */
  readonly label: string;
}

export class AvailabilityRule {
  readonly windows: AvailabilityWindow[] = [];

  constructor(
    private readonly world: World,
    private readonly settings: AvailabilitySettings | undefined,
    private readonly faultsEndMs: number,
    private readonly startUpMs = 0,
  ) {
    assert(settings === undefined || (settings.detectionMs >= 0 && settings.nodesDownMax >= 0), "availability settings must not be negative");
    assert(startUpMs >= 0, "the start-up time must not be negative");
  }

  declare(window: AvailabilityWindow): void {
    assert(window.fromMs <= window.untilMs, () => `availability window ${window.label} ends before it starts`);
    this.windows.push(window);
  }

  /** Why an operation over [startMs, endMs] had to succeed, or undefined. */
  required(startMs: number, endMs: number): string | undefined {
    for (const w of this.windows) if (startMs >= w.fromMs && endMs <= w.untilMs) return `it ran within "${w.label}" (${w.fromMs}..${w.untilMs} ms)`;
    const s = this.settings;
    if (s === undefined || endMs > this.faultsEndMs || startMs < this.startUpMs) return undefined;
    const marks = this.world.faultMarks;
    for (let i = marks.length - 1; i >= 0 && marks[i]!.atMs > startMs - s.detectionMs; i--) if (marks[i]!.atMs <= endMs) return undefined;
    if (this.world.network.blockedLinks > 0 || this.world.network.settings.lossProbability > 0) return undefined;
    const down = this.world.nodeIds().length - this.world.upNodeIds().length;
    if (down > s.nodesDownMax) return undefined;
    return `${down} node(s) down (at most ${s.nodesDownMax}) and no fault within ${s.detectionMs} ms before or during it`;
  }
}
