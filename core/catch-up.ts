// Catch-up state of one storage node: for which partitions its answers may count toward a read quorum.
// Guarantees:
//   - A node is "behind" on a partition it is a primary of (in the current ring or, during a transition, the
//     previous one) from the moment it (re)starts without `initiallyCaughtUp`, or becomes a primary of it by a
//     ring change, until repair has synced that partition (core/repair.ts calls markCaughtUp). While behind,
//     the node answers `head` with "not-caught-up" and the read walks on (core/storage-node.ts).
//   - Partitions the node is not a primary of are never behind: it answers there as a handoff, with what it holds.
//   - syncedEpoch is the newest epoch at which the node had no partition behind; heartbeats carry it so that
//     membership can retire a ring transition (core/membership.ts).
//   - A behind partition is "intact" when the node restarted with its own data and was already a primary of
//     it: its copy holds every write it ever acknowledged there, it only lacks what it missed while down. With
//     strict quorums, N-W+1 intact copies together hold every acknowledged write (core/repair.ts relies on it);
//     a replaced (empty) disk or a partition gained by a ring change is never intact, and neither is a partition
//     whose copy lost committed versions on this disk (start-up recovery dropped rows whose blob file was gone:
//     `lostCopies`): it is behind, as on a replaced disk, until catch-up completes, however intact the rest is.
//     The host keeps that set durable until then (lostBehind), since the next start no longer sees the loss.
//   - A behind partition is marked caught up only as catchUpComplete (below) allows: its copy then holds every
//     write acknowledged in the partition before the passes it synced from began (the rule says why).
// Assumes: the host calls onRingChange after every Membership.adopt and retireIfComplete that changed the view.

/** How a node starts: the nodes of a brand-new cluster, a restart on its own data, or an empty disk (joined or replaced). */
export type NodeStart = "new-cluster" | "restart-with-data" | "empty";

import { assert } from "./assert.ts";
import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import type { RingView } from "./membership.ts";
import { ringsOf } from "./membership.ts";
import { isPrimary, primariesOf } from "./placement.ts";
import { writeQuorumNeeded } from "./quorum.ts";
import { type PlantedBugs, noPlantedBugs } from "./planted-bugs.ts";
import type { Ring } from "./ring.ts";

export class CatchUpState {
  private readonly behind = new Set<PartitionId>();
  private readonly intact = new Set<PartitionId>();
  /** Behind partitions whose copy lost acknowledged versions on this disk: never intact (see the header). */
  private readonly lost = new Set<PartitionId>();
  private view: RingView;
  private synced: Epoch | undefined;
  private generationValue = 0;

  /**
   * @param start "new-cluster" only for a node of a brand-new cluster (nothing can have been missed).
   * @param lostCopies partitions whose copy on this disk lost committed versions (rows dropped for missing blob
   *   files, at this start or one before it that did not catch up): behind and not intact, whatever `start` says.
   */
  constructor(
    readonly self: NodeId,
    view: RingView,
    start: NodeStart,
    lostCopies: Iterable<PartitionId> = [],
    bugs: PlantedBugs = noPlantedBugs,
  ) {
    this.view = view;
    const lost = new Set(lostCopies);
    for (const p of primaryPartitions(view, self)) {
      if (lost.has(p)) {
        this.behind.add(p);
        this.lost.add(p);
      } else if (start !== "new-cluster") {
        this.behind.add(p);
        if (start === "restart-with-data" || (bugs.emptyDiskCountedIntact && start === "empty")) this.intact.add(p);
      }
    }
    assert(![...this.lost].some((p) => this.intact.has(p)), "a copy that lost versions is never intact");
    this.updateSynced();
  }

  /** Partitions still behind whose copy lost versions on this disk: what the host must remember across a restart. */
  lostBehind(): PartitionId[] {
    return [...this.lost].sort((a, b) => a - b);
  }

  isCaughtUp(partition: PartitionId): boolean {
    return !this.behind.has(partition);
  }

  /** Caught up, or behind on a copy that lost nothing it acknowledged (see the header). */
  isCaughtUpOrIntact(partition: PartitionId): boolean {
    return !this.behind.has(partition) || this.intact.has(partition);
  }

  /**
   * Whether this node's disk still holds every version it acknowledged, on every partition it is a primary of:
   * each is caught up or behind on an intact copy. A node for which this is false (a replaced disk, rows lost
   * for missing blob files) would answer a bucket listing without keys it acknowledged, so it must not answer one.
   */
  holdsAllItAcknowledged(): boolean {
    return [...this.behind].every((p) => this.intact.has(p));
  }

  /** Partitions still behind, in ascending order. */
  behindPartitions(): PartitionId[] {
    return [...this.behind].sort((a, b) => a - b);
  }

  markCaughtUp(partition: PartitionId): void {
    this.behind.delete(partition);
    this.intact.delete(partition);
    this.lost.delete(partition);
    this.updateSynced();
  }

  /** After a crash-restart that kept the state object (the simulator may do that): everything is behind again. */
  markAllBehind(): void {
    this.generationValue++;
    for (const p of primaryPartitions(this.view, this.self)) {
      if (!this.behind.has(p)) this.intact.add(p); // it had everything, and the disk kept it
      this.behind.add(p);
    }
    this.updateSynced();
  }

  /** Partitions gained become behind; partitions no longer held as primary are forgotten. */
  onRingChange(view: RingView): void {
    const before = new Set(primaryPartitions(this.view, this.self));
    const after = primaryPartitions(view, this.self);
    const afterSet = new Set(after);
    this.generationValue++;
    for (const p of after) if (!before.has(p)) this.behind.add(p);
    for (const p of [...this.behind]) if (!afterSet.has(p)) this.behind.delete(p);
    for (const p of [...this.intact]) if (!afterSet.has(p)) this.intact.delete(p);
    for (const p of [...this.lost]) if (!afterSet.has(p)) this.lost.delete(p);
    this.view = view;
    this.updateSynced();
  }

  /** Changes whenever partitions may have become behind: progress towards catching up is void across it. */
  get generation(): number {
    return this.generationValue;
  }

  /** The newest epoch at which no partition was behind; undefined if never. */
  get syncedEpoch(): Epoch | undefined {
    return this.synced;
  }

  private updateSynced(): void {
    if (this.behind.size === 0) this.synced = this.view.current.epoch;
  }
}

/** Partitions `node` is a primary of in any ring of the view. */
export function primaryPartitions(view: RingView, node: NodeId): PartitionId[] {
  const out = new Set<PartitionId>();
  for (const ring of ringsOf(view)) for (const p of primaryPartitionsOf(ring, node)) out.add(p);
  return [...out].sort((a, b) => a - b);
}

function primaryPartitionsOf(ring: Ring, node: NodeId): PartitionId[] {
  const out: PartitionId[] = [];
  if (!ring.indexOf.has(node)) return out;
  for (let p = 0; p < ring.partitionCount; p++) if (isPrimary(ring, p as PartitionId, node)) out.push(p as PartitionId);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The catch-up rule: when a partition this node is behind on may count toward quorums again.
//
// A copy "holds what it acknowledged" when it is a primary's own disk that has lost nothing since it
// acknowledged: the copy of a caught-up primary, or of a behind one restarted on its own data ("intact").
// That is all such a copy can promise. In particular, a caught-up primary does NOT hold every acknowledged
// write: one that stayed up may have failed writes (its disk full, the routers' requests to it or its answers
// lost for less than the failure timeout) that the two others acknowledged, with no hint anywhere since no
// router saw it down; and it cannot know what it missed, so it cannot vouch for anyone else's copy
// (scenarios/missed-writes-disk-loss.ts: an empty disk that caught up from such a peer alone served, with it,
// the versions it missed, at R=2).
//
// With strict quorums every acknowledged write sits on W primaries of each ring it was written in, so any
// N-W+1 copies that hold what they acknowledged meet every write quorum (W + N-W+1 > N) and between them hold
// every acknowledged write. Hence, per ring of the view:
//   caught up  <=>  every live peer synced cleanly in this catch-up generation, and among the ring's primaries
//                   N-W+1 copies that hold what they acknowledged: peers whose digest answer said so when the
//                   pass over them began, plus this node itself only if its own copy is intact;
//                   or else every primary of every ring synced (all there is: a partition that lost more disks
//                   than N-W recovers whatever survives, and nothing better can be had).
// With N=3, W=2: a node restarted on its own data needs one other such primary (as before); a replaced disk,
// or a partition gained by a ring change, needs both others, and while one of them is down it stays behind
// and reads of the partition are refused, never served older. The pass also covers the first live handoffs,
// where writes go while primaries are down (and where a stand-in's writes sit, core/quorum.ts).
// With sloppy quorums a write may sit on handoffs only, so primaries prove nothing; a pass that included a
// caught-up primary is taken as it was before, and sloppy quorums promise no read-your-writes anyway (F1).

/** What the passes over a behind partition's peers showed, in one catch-up generation. */
export interface CatchUpEvidence {
  /** Peers whose whole copy was synced cleanly. */
  readonly syncedPeers: ReadonlySet<NodeId>;
  /** Of those, the primaries whose copy held what it acknowledged (caught up, or intact) when the pass began. */
  readonly holdingPrimaries: ReadonlySet<NodeId>;
  /** One of the synced peers was a caught-up primary (used with sloppy quorums only). */
  readonly fromCaughtUpPrimary: boolean;
}

export interface CatchUpQuestion {
  readonly self: NodeId;
  readonly view: RingView;
  readonly partition: PartitionId;
  /** The peers the pass had to cover: live primaries of every ring and the first live handoffs. */
  readonly livePeers: readonly NodeId[];
  /** This node's own copy holds what it acknowledged (CatchUpState.isCaughtUpOrIntact). */
  readonly selfIntact: boolean;
  readonly writeQuorum: number;
  readonly strictQuorum: boolean;
}

/** May `partition` be marked caught up on this evidence? The rule above. */
export function catchUpComplete(q: CatchUpQuestion, evidence: CatchUpEvidence): boolean {
  const rings = ringsOf(q.view);
  assert(rings.some((ring) => isPrimary(ring, q.partition, q.self)), () => `${q.self} catches up on partition ${q.partition} it is no primary of`);
  assert(!evidence.syncedPeers.has(q.self) && !evidence.holdingPrimaries.has(q.self), "a node never syncs with itself");
  if (!q.livePeers.every((n) => evidence.syncedPeers.has(n))) return false;
  const everyPrimarySynced = rings.every((ring) => primariesOf(ring, q.partition).every((n) => n === q.self || evidence.syncedPeers.has(n)));
  if (everyPrimarySynced) return true;
  if (!q.strictQuorum) return evidence.fromCaughtUpPrimary;
  return rings.every((ring) => {
    const holding = primariesOf(ring, q.partition).filter((n) => (n === q.self ? q.selfIntact : evidence.holdingPrimaries.has(n))).length;
    return holding >= ring.replicaCount - writeQuorumNeeded(ring, q.writeQuorum, undefined) + 1;
  });
}
