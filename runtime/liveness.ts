// Liveness of peers as one real process sees it: core's failure detector, fed with the AwakeClock so that
// this process's own stalls do not count as its peers' silence.
// Settings: a heartbeat a second to every node, a node counted down after 4 s of silence. The simulator keeps
// core's faster defaults; real clusters trade a few seconds of detection for an idle cluster that costs
// almost nothing (heartbeats are signed HTTP requests).
import { FailureDetector, type FailureDetectorSettings } from "../core/failure-detector.ts";
import type { NodeId } from "../core/ids.ts";
import { AwakeClock } from "./awake-clock.ts";

export const runtimeFailureDetectorSettings: FailureDetectorSettings = Object.freeze({
  heartbeatIntervalMs: Number(process.env.RINGSTORE_HEARTBEAT_INTERVAL_MS ?? 1000),
  downAfterMs: Number(process.env.RINGSTORE_DOWN_AFTER_MS ?? 4000),
});

export class PeerLiveness {
  private readonly clock = new AwakeClock();
  private readonly detector: FailureDetector;

  constructor(readonly settings: FailureDetectorSettings = runtimeFailureDetectorSettings) {
    this.detector = new FailureDetector(settings, this.clock.now());
  }

  /** An answer (or a heartbeat) came from `node` just now. */
  heard(node: NodeId): void {
    this.detector.heard(node, this.clock.now());
  }

  isLive(node: NodeId): boolean {
    return this.detector.isLive(node, this.clock.now());
  }

  /** Silence of `node` as this process could observe it (its own stalls excluded). */
  silentMs(node: NodeId): number {
    return this.clock.now() - this.detector.lastHeard(node);
  }

  /** Wall-clock time (Date.now() scale) since which `node` counts as down; null while live. */
  downSinceWallMs(node: NodeId): number | null {
    const now = this.clock.now();
    if (this.detector.isLive(node, now)) return null;
    return Date.now() - this.detector.downForMs(node, now);
  }

  stop(): void {
    this.clock.stop();
  }
}
