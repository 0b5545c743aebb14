// Replication and repair settings, with the defaults DESIGN.md gives (N=3, W=2, R=2).
// Guarantees: replicationSettings never returns settings validateReplicationSettings refuses: W and R in
// 1..N, and R + W > N unless sloppy quorums were asked for explicitly (strict quorums must intersect, or a
// read can miss an acknowledged write); W and R not given follow N (a majority W, R = N − W + 1), so
// `--replicas 5` gets W=3, R=3, not the N=3 defaults. Every limit has a finite default.
// Assumes: N here equals the cluster map's `replicas`; when fewer than N nodes are active, the ring has
// fewer primaries and the quorums shrink to min(W, primaries) and min(R, primaries) (core/quorum.ts).

import { assert } from "./assert.ts";
import { type Result, err, ok } from "./result.ts";

export interface ReplicationSettings {
  /** N: copies of every object (the cluster map's `replicas`). */
  readonly replicas: number;
  /** W: acknowledgements a write needs, on each ring of a transition. */
  readonly writeQuorum: number;
  /** R: metadata answers a read needs, on each ring of a transition. */
  readonly readQuorum: number;
  /** How many nodes of a preference list a read may ask before giving up (primaries first, then handoffs). */
  readonly readWalkMax: number;
  /** How many replicas openBody tries before giving up. */
  readonly bodyAttemptsMax: number;
  /** Read repair of replicas that answered with an older version (background, from the coordinator). */
  readonly readRepair: boolean;
  /**
   * Sloppy quorums (Dynamo): handoffs' acknowledgements count toward W and their answers toward R, so writes
   * and reads stay available with most primaries down, at the price of read-your-writes under network
   * partitions (a primary cut off from the writer never learns it missed a write; the simulator's finding F1).
   * Off (the default): W and R count primaries only; handoffs still take hinted copies for durability, and
   * R + W > N then guarantees that a read sees every write acknowledged before it began.
   */
  readonly sloppyQuorum: boolean;
}

export const defaultReplicationSettings: ReplicationSettings = Object.freeze({
  replicas: 3,
  writeQuorum: 2,
  readQuorum: 2,
  readWalkMax: 6,
  bodyAttemptsMax: 4,
  readRepair: true,
  sloppyQuorum: false,
});

/** W for N copies when none is given: a majority, so that two writes always share a replica. */
export const majorityOf = (replicas: number): number => Math.floor(replicas / 2) + 1;

/**
 * The settings every process derives from N (the cluster map's `replicas`) and what it was told. The one
 * place W and R are decided, for routers, nodes (catch-up relies on W) and the simulator alike.
 */
export function replicationSettings(overrides: Partial<ReplicationSettings> = {}): ReplicationSettings {
  const replicas = overrides.replicas ?? defaultReplicationSettings.replicas;
  const writeQuorum = overrides.writeQuorum ?? majorityOf(replicas);
  const readQuorum = overrides.readQuorum ?? replicas - writeQuorum + 1;
  const settings: ReplicationSettings = { ...defaultReplicationSettings, readWalkMax: 2 * replicas, ...overrides, replicas, writeQuorum, readQuorum };
  const valid = validateReplicationSettings(settings);
  assert(valid.ok, () => `replication settings: ${valid.ok ? "" : valid.error}`);
  return settings;
}

export function validateReplicationSettings(s: ReplicationSettings): Result<ReplicationSettings, string> {
  if (!Number.isInteger(s.replicas) || s.replicas < 1 || s.replicas > 7) return err(`replicas ${s.replicas} must be in 1..7`);
  if (!Number.isInteger(s.writeQuorum) || s.writeQuorum < 1 || s.writeQuorum > s.replicas) return err(`writeQuorum ${s.writeQuorum} must be in 1..${s.replicas}`);
  if (!Number.isInteger(s.readQuorum) || s.readQuorum < 1 || s.readQuorum > s.replicas) return err(`readQuorum ${s.readQuorum} must be in 1..${s.replicas}`);
  if (!s.sloppyQuorum && s.readQuorum + s.writeQuorum <= s.replicas) {
    return err(`readQuorum ${s.readQuorum} + writeQuorum ${s.writeQuorum} must exceed replicas ${s.replicas} with strict quorums (else a read can miss an acknowledged write)`);
  }
  if (!Number.isInteger(s.readWalkMax) || s.readWalkMax < s.readQuorum) return err(`readWalkMax ${s.readWalkMax} must be an integer >= readQuorum`);
  if (!Number.isInteger(s.bodyAttemptsMax) || s.bodyAttemptsMax < 1) return err(`bodyAttemptsMax ${s.bodyAttemptsMax} must be >= 1`);
  return ok(s);
}

export interface RepairSettings {
  /** A primary down longer than this gets its partitions re-replicated to a handoff. */
  readonly reReplicateAfterMs: number;
  /** Tombstones younger than this are never collected (covers hints still in flight). */
  readonly tombstoneGraceMs: number;
  /** Pending (never committed) versions older than this are dropped. */
  readonly pendingMaxAgeMs: number;
  /** Entries per list-partition request. */
  readonly listPageSize: number;
  /** Pages one task may read from one peer in one round. */
  readonly pagesPerTaskMax: number;
  /** Bodies copied (pulled or pushed) per partition per round. */
  readonly copiesPerRoundMax: number;
  /** Bodies in flight at once. */
  readonly concurrentCopiesMax: number;
  /** Partitions visited per round (not-caught-up ones first). */
  readonly partitionsPerRoundMax: number;
  /** Tombstones examined for collection per partition per round. */
  readonly tombstonesPerRoundMax: number;
  /** The routers' W and whether their quorums are strict: catch-up relies on quorum intersection only then. */
  readonly writeQuorum: number;
  readonly strictQuorum: boolean;
}

export const defaultRepairSettings: RepairSettings = Object.freeze({
  reReplicateAfterMs: 10 * 60_000,
  tombstoneGraceMs: 24 * 3600_000,
  pendingMaxAgeMs: 3600_000,
  listPageSize: 256,
  pagesPerTaskMax: 8,
  copiesPerRoundMax: 64,
  concurrentCopiesMax: 4,
  partitionsPerRoundMax: 64,
  tombstonesPerRoundMax: 64,
  writeQuorum: defaultReplicationSettings.writeQuorum,
  strictQuorum: !defaultReplicationSettings.sloppyQuorum,
});

export function repairSettings(overrides: Partial<RepairSettings> = {}): RepairSettings {
  return { ...defaultRepairSettings, ...overrides };
}
