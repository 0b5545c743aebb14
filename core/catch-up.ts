// Catch-up state of one storage node: for which partitions its answers may count toward a read quorum.
// Guarantees:
//   - A node is "behind" on a partition it is a primary of (in the current ring or, during a transition, the
//     previous one) from the moment it (re)starts without `initiallyCaughtUp`, or becomes a primary of it by a
//     ring change, until repair has synced that partition (core/repair.ts calls markCaughtUp). While behind,
//     the node answers `head` with "not-caught-up" and the read walks on (core/storage-node.ts).
//   - Partitions the node is not a primary of are never behind: it answers there as a handoff, with what it holds.
//   - syncedEpoch is the newest epoch at which the node had no partition behind; heartbeats carry it so that
//     membership can retire a ring transition (core/membership.ts).
// Assumes: the host calls onRingChange after every Membership.adopt and retireIfComplete that changed the view.

import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import type { RingView } from "./membership.ts";
import { ringsOf } from "./membership.ts";
import { isPrimary } from "./placement.ts";
import type { Ring } from "./ring.ts";

export class CatchUpState {
  private readonly behind = new Set<PartitionId>();
  private view: RingView;
  private synced: Epoch | undefined;
  private generationValue = 0;

  /**
   * @param initiallyCaughtUp true only for a node of a brand-new cluster (nothing can have been missed);
   *   false for every restart, return and join.
   */
  constructor(
    readonly self: NodeId,
    view: RingView,
    initiallyCaughtUp: boolean,
  ) {
    this.view = view;
    if (!initiallyCaughtUp) for (const p of primaryPartitions(view, self)) this.behind.add(p);
    this.updateSynced();
  }

  isCaughtUp(partition: PartitionId): boolean {
    return !this.behind.has(partition);
  }

  /** Partitions still behind, in ascending order. */
  behindPartitions(): PartitionId[] {
    return [...this.behind].sort((a, b) => a - b);
  }

  markCaughtUp(partition: PartitionId): void {
    this.behind.delete(partition);
    this.updateSynced();
  }

  /** After a crash-restart that kept the state object (the simulator may do that): everything is behind again. */
  markAllBehind(): void {
    this.generationValue++;
    for (const p of primaryPartitions(this.view, this.self)) this.behind.add(p);
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
