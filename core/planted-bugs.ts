// Planted bugs: deliberate, switchable mistakes that the simulator turns on to prove its oracle catches them.
// Guarantees: every switch defaults to off; each is read at exactly one spot in core, named below, so the
// bug is the smallest possible change to the correct code.
// Assumes: production code never sets any of them (the runtime never passes a PlantedBugs value).

export interface PlantedBugs {
  /**
   * core/coordinator.ts, writeQuorumNeeded: a write (and its commit) needs W-1 acknowledgements instead of W,
   * so an acknowledged write may sit on W-1 replicas only.
   */
  readonly ackAtWMinusOne?: boolean;
  /**
   * core/repair.ts, pushOutOfPlace: a handoff (or out-of-place) copy is dropped after the push attempts,
   * whether or not every primary confirmed it holds the version.
   */
  readonly dropHandoffBeforeConfirm?: boolean;
  /**
   * core/coordinator.ts openBody and core/storage-node.ts get: the body is not checked against the version's
   * checksum (verifyBody is skipped), so corrupt bytes can reach a client.
   */
  readonly skipReadChecksum?: boolean;
  /**
   * core/repair.ts, collectTombstones: a tombstone past its grace period is collected without checking that
   * every primary holds it, so a replica that missed the delete can resurrect the old version.
   */
  readonly forgetTombstones?: boolean;
  /**
   * core/coordinator.ts, writeStamped: the version keeps the stamp minted when the PUT began instead of one
   * minted when its body is durable, so a long upload begun first beats a short one begun after it and done first.
   */
  readonly stampAtStart?: boolean;
  /**
   * core/membership.ts, retireIfComplete: a ring change is never retired, so every process keeps writing to
   * both rings and the departed node's copies are never let go.
   */
  readonly neverRetireTransition?: boolean;
  /**
   * core/listing.ts, listPage: the last page of a listing that a client pages through (one begun from a
   * continuation cursor or marker, not truncated) comes back empty, so the keys on it never show.
   */
  readonly listingDropsLastPage?: boolean;
  /**
   * core/listing.ts, listPage: a truncated page's continuation cursor points past the first key that did not
   * fit instead of past the last key shown, so that key is on no page.
   */
  readonly cursorSkipsKey?: boolean;
  /**
   * core/multipart.ts, completeUpload: the last part the manifest names is dropped with the unnamed ones after
   * a Complete, so the completed object loses its tail.
   */
  readonly completeLosesPart?: boolean;
  /**
   * core/heartbeats.ts, Heartbeats.retireIfComplete: the driver never asks Membership whether the ring change
   * is complete (Membership's rule is right, nobody calls it), so no process ever retires the transition.
   */
  readonly driverForgetsRetire?: boolean;
  /**
   * core/ring.ts, buildRing: the ring is built for one replica fewer than the cluster map asks, so every
   * partition has N-1 primaries (and every process, routers and nodes alike, agrees on it).
   */
  readonly ringOnePrimaryFewer?: boolean;
  /**
   * core/storage-node.ts, writeGuard: a node checks new versions against no bucket table, so it commits into a
   * bucket that DeleteBucket has marked or deleted (its mark holds back nothing).
   */
  readonly nodeIgnoresBucketMark?: boolean;
  /**
   * core/catch-up.ts, CatchUpState: a node started on an empty (replaced) disk counts its copies intact, as if it
   * had restarted on its own data, so it may vouch for versions it never held.
   */
  readonly emptyDiskCountedIntact?: boolean;
  /**
   * core/coordinator.ts, readRepair: a read that found a primary behind reports the copy to it made, and never
   * sends it, so the primary stays behind until the repair loop comes round.
   */
  readonly readRepairNeverWritesBack?: boolean;
  /**
   * core/coordinator.ts, writeStamped: during a ring change a write goes to the new ring's placement only, not
   * to both rings, so the old ring's primaries (whom reads still ask) may not hold it.
   */
  readonly writesOnlyToNewRing?: boolean;
}

export const noPlantedBugs: PlantedBugs = Object.freeze({});

export const plantedBugNames = ["ackAtWMinusOne", "dropHandoffBeforeConfirm", "skipReadChecksum", "forgetTombstones", "stampAtStart", "neverRetireTransition", "listingDropsLastPage", "cursorSkipsKey", "completeLosesPart", "driverForgetsRetire", "ringOnePrimaryFewer", "nodeIgnoresBucketMark", "emptyDiskCountedIntact", "readRepairNeverWritesBack", "writesOnlyToNewRing"] as const satisfies readonly (keyof PlantedBugs)[];
