// Stand-in state of one storage node: the partitions it holds for a down primary, and whether it has caught up
// there, i.e. whether its replies may say "caught up as stand-in for P" (core/quorum.ts countTowardQuorum
// states what such a reply counts for, and why).
// Guarantees:
//   - A session (partition p, primary P) exists only while this node is not a primary of p, no ring transition
//     is open, this node is one of p's live handoffs in its own view (where writes go while primaries are
//     down: core/placement.ts livePlacement), and P has been down in its own view for at least
//     reReplicateAfterMs (so P is being re-replicated here, core/repair.ts). It ends as soon as one of those
//     stops holding, on every ring change, and with the process (nothing is persisted: a restarted stand-in
//     starts over).
//   - claim(p) names P only when, for every other primary Q of p, a pass over Q's copy that began after the
//     session started, while Q was itself caught up (Q's digest answer said so), finished cleanly; and only
//     while P is still down in this node's view. A session that has not synced knows nothing of what it
//     missed and claims nothing.
//   - At most one primary is claimed per partition.
// Assumes: core/repair.ts calls refresh at the start of every round, passStarted when a pass over a primary's
// copy begins and passFinished when it ends; liveness is this node's own failure detector. A new view (a ring
// change) is noticed by identity: refresh starts over and claim refuses until it has.

import { assert } from "./assert.ts";
import type { NodeId, PartitionId } from "./ids.ts";
import type { RingView } from "./membership.ts";
import { isPrimary, livePlacement, primariesOf } from "./placement.ts";

export interface StandInLiveness {
  isLive(node: NodeId): boolean;
  /** When this node's view began to consider `node` down; null while live. */
  downSinceMs(node: NodeId): number | null;
  nowMs(): number;
}

interface Session {
  readonly primary: NodeId;
  /** Passes that count for this session began after it: their start sequence is greater. */
  readonly startSeq: number;
}

interface PartitionSessions {
  readonly sessions: Map<NodeId, Session>;
  /** Per peer, the start sequence of the pass in progress over its copy. */
  readonly passStart: Map<NodeId, number>;
  /** Per peer, the start sequence of the newest pass that finished cleanly while the peer was caught up. */
  readonly synced: Map<NodeId, number>;
}

export class StandInState {
  private readonly partitions = new Map<PartitionId, PartitionSessions>();
  private view: RingView | undefined;
  /** One sequence orders session starts and pass starts. */
  private seq = 0;

  constructor(
    readonly self: NodeId,
    private readonly liveness: StandInLiveness,
  ) {}

  /**
   * Start and end sessions from this node's view; returns the partitions with a session, ascending.
   * reReplicateAfterMs is repair's own setting: a session starts when re-replication here does.
   */
  refresh(view: RingView, reReplicateAfterMs: number): PartitionId[] {
    assert(reReplicateAfterMs >= 0, "reReplicateAfterMs must not be negative");
    if (view !== this.view) this.onRingChange(view);
    if (view.previous !== undefined) return [];
    const ring = view.current;
    if (!ring.indexOf.has(this.self)) return [];
    const live = (node: NodeId): boolean => node === this.self || this.liveness.isLive(node);
    const now = this.liveness.nowMs();
    const out: PartitionId[] = [];
    for (let p = 0 as PartitionId; p < ring.partitionCount; p = (p + 1) as PartitionId) {
      const entry = this.partitions.get(p);
      const placed = !isPrimary(ring, p, this.self) && livePlacement(ring, p, live).some((x) => x.node === this.self);
      if (!placed) {
        if (entry) this.partitions.delete(p);
        continue;
      }
      for (const primary of primariesOf(ring, p)) {
        const since = this.liveness.downSinceMs(primary);
        const downLong = !this.liveness.isLive(primary) && since !== null && now - since >= reReplicateAfterMs;
        const sessions = entry?.sessions;
        if (!downLong) {
          sessions?.delete(primary);
          continue;
        }
        if (sessions?.has(primary)) continue;
        const created = entry ?? { sessions: new Map(), passStart: new Map(), synced: new Map() };
        created.sessions.set(primary, { primary, startSeq: ++this.seq });
        this.partitions.set(p, created);
      }
      const after = this.partitions.get(p);
      if (after && after.sessions.size === 0) this.partitions.delete(p);
      else if (after) out.push(p);
    }
    return out;
  }

  hasSession(partition: PartitionId): boolean {
    return this.partitions.has(partition);
  }

  /** A pass over `peer`'s copy of the partition begins (a pass still in progress is superseded). */
  passStarted(partition: PartitionId, peer: NodeId): void {
    this.partitions.get(partition)?.passStart.set(peer, ++this.seq);
  }

  /** The pass over `peer`'s copy ended: cleanly or not, and whether the peer was a caught-up primary when it began. */
  passFinished(partition: PartitionId, peer: NodeId, clean: boolean, peerCaughtUp: boolean): void {
    const entry = this.partitions.get(partition);
    if (!entry) return;
    const start = entry.passStart.get(peer);
    entry.passStart.delete(peer);
    if (start !== undefined && clean && peerCaughtUp) entry.synced.set(peer, start);
  }

  /**
   * The primary this node stands in for on `partition`, caught up, or undefined. `view` is the node's view now:
   * a claim made under another view than the sessions were built in would be about another placement.
   */
  claim(partition: PartitionId, view: RingView): NodeId | undefined {
    const entry = this.partitions.get(partition);
    if (!entry || view !== this.view || view.previous !== undefined) return undefined;
    const primaries = primariesOf(view.current, partition);
    assert(!primaries.includes(this.self), "a primary has no stand-in session for its own partition");
    for (const session of entry.sessions.values()) {
      if (this.liveness.isLive(session.primary)) continue;
      const caughtUp = primaries.every((q) => q === session.primary || (entry.synced.get(q) ?? 0) > session.startSeq);
      if (caughtUp) return session.primary;
    }
    return undefined;
  }

  /** The view changed: every session is void (placements may have moved). */
  onRingChange(view: RingView): void {
    this.partitions.clear();
    this.view = view;
  }
}
