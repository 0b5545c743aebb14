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
//     a replaced (empty) disk or a partition gained by a ring change is never intact.
// Assumes: the host calls onRingChange after every Membership.adopt and retireIfComplete that changed the view.

/** How a node starts: the nodes of a brand-new cluster, a restart on its own data, or an empty disk (joined or replaced). */
export type NodeStart = "new-cluster" | "restart-with-data" | "empty";

import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import type { RingView } from "./membership.ts";
import { ringsOf } from "./membership.ts";
import { isPrimary } from "./placement.ts";
import type { Ring } from "./ring.ts";

export class CatchUpState {
  private readonly behind = new Set<PartitionId>();
  private readonly intact = new Set<PartitionId>();
  private view: RingView;
  private synced: Epoch | undefined;
  private generationValue = 0;

  /** @param start "new-cluster" only for a node of a brand-new cluster (nothing can have been missed). */
  constructor(
    readonly self: NodeId,
    view: RingView,
    start: NodeStart,
  ) {
    this.view = view;
    if (start !== "new-cluster") {
      for (const p of primaryPartitions(view, self)) {
        this.behind.add(p);
        if (start === "restart-with-data") this.intact.add(p);
      }
    }
    this.updateSynced();
  }

  isCaughtUp(partition: PartitionId): boolean {
    return !this.behind.has(partition);
  }

  /** Caught up, or behind on a copy that lost nothing it acknowledged (see the header). */
  isCaughtUpOrIntact(partition: PartitionId): boolean {
    return !this.behind.has(partition) || this.intact.has(partition);
  }

  /** Partitions still behind, in ascending order. */
  behindPartitions(): PartitionId[] {
    return [...this.behind].sort((a, b) => a - b);
  }

  markCaughtUp(partition: PartitionId): void {
    this.behind.delete(partition);
    this.intact.delete(partition);
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
