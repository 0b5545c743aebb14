// Timing of the background work each simulated process runs (heartbeats, failure detection, repair), scaled
// so that interesting things happen within minutes of simulated time.
// Guarantees: every period and timeout is positive and finite.

export interface TimingSettings {
  readonly heartbeatIntervalMs: number;
  /** A peer silent for this long is considered down. */
  readonly failureTimeoutMs: number;
  /** Pause between two repair rounds of a node. */
  readonly repairIntervalMs: number;
  /** Pause between two scrubber passes (each re-reads a bounded number of stored bodies). */
  readonly scrubIntervalMs: number;
  /** Pause between rounds while the node is behind on some partition (just restarted or joined). */
  readonly catchUpIntervalMs: number;
  /** Pause after a round that found nothing to do (the host backs off while all is quiet). */
  readonly repairQuietIntervalMs: number;
  /** A primary down longer than this gets its partitions re-replicated to a handoff. */
  readonly reReplicateAfterMs: number;
  /** Tombstones younger than this are never collected. */
  readonly tombstoneGraceMs: number;
  /** Pending versions older than this are dropped. */
  readonly pendingMaxAgeMs: number;
}

export const defaultTiming: TimingSettings = {
  heartbeatIntervalMs: 2_000,
  failureTimeoutMs: 6_000,
  repairIntervalMs: 10_000,
  repairQuietIntervalMs: 60_000,
  catchUpIntervalMs: 1_000,
  scrubIntervalMs: 5_000,
  reReplicateAfterMs: 30_000,
  tombstoneGraceMs: 60_000,
  pendingMaxAgeMs: 60_000,
};
