// Re-replication of a down node, as one storage node sees its share of it: the operator's start and finish lines
// (issue 10 item 10). core/repair.ts does the copying; this module only keeps score and says when.
// Guarantees:
//   - A node's share of the re-replication of `down` is the partitions of the current ring of which `down` is a
//     primary, down longer than reReplicateAfterMs, and this node the first live primary (the one that copies,
//     core/repair.ts reReplicate). "rereplication.started" is logged once when that share first is not empty.
//   - "rereplication.finished" is logged once every partition of the share has had a copy pass to its stand-in
//     handoff that went to the end of the partition with every key confirmed or pushed, all since the start,
//     with the seconds since the start, the objects and bytes the stand-ins hold for `down` (of each partition's
//     last clean pass: a stand-in also pulls by itself, core/stand-in.ts), and the copies this node pushed. A partition with no live handoff to copy
//     to cannot finish: the line waits, and the started line's `withoutHandoff` says how many there are.
//   - "rereplication.stopped" is logged when the share empties before it finished (the node is live again, or it
//     left the ring), with what was copied so far.
//   - Partitions that join the share after the finished line (another node went down) are copied by repair as
//     always but reported by no new line: the session ends when `down` leaves the share.
// Assumes: review() runs at the start of every repair round, before any copy of the round (core/repair.ts
// runRepairRound does), so that a session exists before its first copy and a finish is seen a round later.
import { assert } from "./assert.ts";
import type { NodeId, PartitionId } from "./ids.ts";
import type { Log } from "./ports.ts";

/** One step of a copy pass of `partition` to the handoff standing in for `down`. */
export interface ReReplicationStep {
  readonly down: NodeId;
  readonly partition: PartitionId;
  /** Copies this step pushed, and their body bytes. */
  readonly pushed: number;
  readonly pushedBytes: number;
  /** Set when the pass reached the end of the partition with every key confirmed or pushed: what it covered. */
  readonly clean?: { readonly objects: number; readonly bytes: number };
}

interface Session {
  readonly startedMs: number;
  /** Partitions with a clean pass since the start, with what their last one covered. */
  readonly done: Map<PartitionId, { readonly objects: number; readonly bytes: number }>;
  pushed: number;
  pushedBytes: number;
  finished: boolean;
}

export class ReReplicationProgress {
  private readonly sessions = new Map<NodeId, Session>();

  /** A step counts toward `down`'s session only once it has started (review saw the share). */
  noteStep(step: ReReplicationStep): void {
    assert(step.pushed >= 0 && step.pushedBytes >= 0, "a step pushes a non-negative amount");
    const session = this.sessions.get(step.down);
    if (session === undefined || session.finished) return;
    session.pushed += step.pushed;
    session.pushedBytes += step.pushedBytes;
    if (step.clean) session.done.set(step.partition, step.clean);
  }

  /** Is a session open (started, not finished) for `down`? */
  inProgress(down: NodeId): boolean {
    const session = this.sessions.get(down);
    return session !== undefined && !session.finished;
  }

  /**
   * At the start of a round: `share` is this node's share by down node, `withoutHandoff` the partitions of it that have no
   * live handoff to copy to. Starts, finishes and stops sessions, one log line each.
   */
  review(self: NodeId, nowMs: number, share: ReadonlyMap<NodeId, ReadonlySet<PartitionId>>, withoutHandoff: ReadonlyMap<NodeId, number>, log: Log): void {
    for (const [down, session] of this.sessions) {
      if (share.has(down) && (share.get(down)?.size ?? 0) > 0) continue;
      if (!session.finished) log.warn("rereplication.stopped", { node: self, down, partitionsDone: session.done.size, pushed: session.pushed, pushedBytes: session.pushedBytes, seconds: secondsSince(session.startedMs, nowMs) });
      this.sessions.delete(down);
    }
    for (const [down, partitions] of share) {
      if (partitions.size === 0) continue;
      let session = this.sessions.get(down);
      if (session === undefined) {
        session = { startedMs: nowMs, done: new Map(), pushed: 0, pushedBytes: 0, finished: false };
        this.sessions.set(down, session);
        log.info("rereplication.started", { node: self, down, partitions: partitions.size, withoutHandoff: withoutHandoff.get(down) ?? 0 });
      }
      if (session.finished) continue;
      if (![...partitions].every((p) => session.done.has(p))) continue;
      session.finished = true;
      let [objects, bytes] = [0, 0];
      for (const p of partitions) [objects, bytes] = [objects + session.done.get(p)!.objects, bytes + session.done.get(p)!.bytes];
      log.info("rereplication.finished", { node: self, down, partitions: partitions.size, objects, bytes, pushed: session.pushed, pushedBytes: session.pushedBytes, seconds: secondsSince(session.startedMs, nowMs) });
    }
  }
}

const secondsSince = (startedMs: number, nowMs: number): number => Math.round((nowMs - startedMs) / 100) / 10;
