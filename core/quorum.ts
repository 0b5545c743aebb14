// Quorums: their sizes, which replies count toward them (the stand-in rule below), waiting on concurrent
// requests, and a bounded-concurrency map. Shared by the coordinator's write and read paths and by repair.
// Guarantees: quorum sizes are never above the ring's primary count nor below 1 (0 only with a planted
// bug); countTowardQuorum never counts more replies than the ring has primaries, nor two for one primary;
// `Gate.until` resolves once its predicate holds or nothing is outstanding, never earlier.
// Assumes: tasks handed to `Gate.track` settle (the transport turns lost messages into "timeout"); a
// handoff claims to stand in for a primary only as core/stand-in.ts allows.

import type { PlantedBugs } from "./planted-bugs.ts";
import type { CancelSignal, Transport, RequestKind, RequestOf, ReplicaResponse, TransportFailure } from "./ports.ts";
import { assert } from "./assert.ts";
import type { NodeId } from "./ids.ts";
import type { RingView } from "./membership.ts";
import { type Result, err } from "./result.ts";
import type { Ring } from "./ring.ts";

/** W for one ring: min(W, primaries), so a cluster smaller than N still accepts writes. */
export function writeQuorumNeeded(ring: Ring, writeQuorum: number, faults: PlantedBugs | undefined): number {
  const needed = Math.min(writeQuorum, ring.replicaCount);
  // PLANTED BUG ackAtWMinusOne: acknowledge (and commit) at one fewer than W.
  if (faults?.ackAtWMinusOne) return Math.max(1, needed - 1);
  return needed;
}

/** R for one ring: min(R, primaries). */
export function readQuorumNeeded(ring: Ring, readQuorum: number): number {
  return Math.min(readQuorum, ring.replicaCount);
}

// ---------------------------------------------------------------------------------------------------------
// Copies that count: the stand-in rule (issue 10, "copies that count")
//
// With strict quorums only primaries count toward W and R (core/settings.ts sloppyQuorum explains why:
// finding F1, a handoff counted without knowing what it missed lets a read miss an acknowledged write). That
// leaves a partition unavailable once two of its three primaries are gone for good, although re-replication
// put a third copy on a handoff. So, stated once here and used by writeVersion and readObject alike:
//
//   A reply from a handoff H counts toward W or R in place of primary P when
//     1. H's reply says it stands in for P, caught up (core/stand-in.ts: H has seen P down for longer than
//        reReplicateAfter, is one of the handoffs the partition's writes go to, and has since then pulled
//        everything EVERY other primary of the partition holds, in a clean pass over each that began after
//        that moment while that primary was itself caught up);
//     2. P is down for this request, and P did not reply itself;
//     3. every primary that is not down for this request replied too (stand-ins only fill the gap left by
//        down primaries; they never replace a live one); and
//     4. no other stand-in already counts for P, and no ring transition is open (both rings are strict).
//   "Down for this request" is the coordinator's own view: down in its failure detector, or it refused this
//   request's connection ("unreachable": connection refused or reset, the process is gone). The detector
//   needs seconds to agree with a refused connection; in between, a partition whose third copy sits on a
//   stand-in would refuse every request for a reason the coordinator already knows. Treating the refusal as
//   down is what the detector will conclude a moment later, for this one request only; the argument below
//   already lets two coordinators see a primary differently (one of them may have detected it, the other
//   not), so it holds unchanged. A timeout is not a refusal (the node may be slow and still act on the
//   request), so it does not make a primary down.
//
// Why this keeps read-your-writes where F1 broke it:
//   - (1) is the catch-up a restarted primary meets (core/catch-up.ts), made stricter: a restarted primary has
//     its own acknowledged writes and may catch up from one caught-up peer; a stand-in had none of P's, so it
//     must have pulled from every other primary after it began standing in. A write acknowledged before then
//     is on a quorum that holds another primary than P (or a stand-in that a caught-up primary has since
//     pulled from, core/repair.ts): the pull brought it. Writes made after then reach H itself, since H is
//     where writes go while P is down. A handoff that has not synced since it began standing in does not
//     know what it missed and never claims (F1 stays fixed).
//   - (3) makes every quorum that uses a stand-in contain every primary its coordinator can reach. So a
//     write acknowledged with a stand-in is on each primary that a reader may see live, and a read that uses
//     a stand-in asks each primary that a writer may have used, unless the two coordinators disagree about two
//     primaries at once. With one primary down (or cut off) nothing changes: two primaries are live, so the
//     primaries alone decide, exactly as before.
//   - (2) and (4): a primary counts at most once, through itself or through one stand-in, so a quorum of W
//     still means W distinct copies of the ring's N, and R + W > N keeps its meaning.
// What it does not cover: a primary that is alive and writable for one coordinator while another coordinator
// and its stand-in have seen it down for longer than reReplicateAfter, together with a second such primary
// (condition 1 then needs the stand-in to have synced with it). Down that long is treated as gone; the
// setting is the knob (10 minutes by default, far above any failure detector's disagreement).

/** A reply toward one ring's quorum: from which node, and the primary it claims to stand in for (handoffs only). */
export interface QuorumReply {
  readonly node: NodeId;
  readonly standInFor?: NodeId | undefined;
}

export interface QuorumCount {
  readonly met: boolean;
  /** Replies counted: primaries plus stand-ins. */
  readonly counted: number;
  /** The stand-ins counted, each with the down primary it counted for. */
  readonly standIns: ReadonlyMap<NodeId, NodeId>;
}

/**
 * Does this set of replies make a quorum of `needed` on a ring whose primaries are `primaries`? The rule
 * above; `isDown` is the coordinator's own view; `standInsAllowed` is false with sloppy quorums (every
 * handoff counts there anyway) and during ring transitions (see standInsApply).
 */
export function countTowardQuorum(
  primaries: readonly NodeId[],
  needed: number,
  isDown: (node: NodeId) => boolean,
  replies: Iterable<QuorumReply>,
  standInsAllowed: boolean,
): QuorumCount {
  assert(needed <= primaries.length, () => `quorum of ${needed} on ${primaries.length} primaries`);
  const primarySet = new Set(primaries);
  const repliedPrimaries = new Set<NodeId>();
  const claims: QuorumReply[] = [];
  for (const reply of replies) {
    if (primarySet.has(reply.node)) repliedPrimaries.add(reply.node);
    else if (reply.standInFor !== undefined) claims.push(reply);
  }
  const standIns = new Map<NodeId, NodeId>();
  const everyLivePrimaryReplied = primaries.every((p) => repliedPrimaries.has(p) || isDown(p));
  if (standInsAllowed && repliedPrimaries.size < needed && everyLivePrimaryReplied) {
    // By node id, so the same replies count the same way whatever order they arrived in.
    claims.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const covered = new Set<NodeId>();
    for (const { node, standInFor } of claims) {
      const primary = standInFor!;
      if (!primarySet.has(primary) || repliedPrimaries.has(primary) || !isDown(primary) || covered.has(primary) || standIns.has(node)) continue;
      covered.add(primary);
      standIns.set(node, primary);
    }
  }
  const counted = repliedPrimaries.size + standIns.size;
  assert(counted <= primaries.length, "a quorum counted more replies than the ring has primaries");
  return { met: counted >= needed, counted, standIns };
}

/** Stand-ins count only with strict quorums and outside ring transitions. */
export function standInsApply(view: RingView, sloppyQuorum: boolean): boolean {
  return !sloppyQuorum && view.previous === undefined;
}

/**
 * Tracks concurrent tasks and lets a caller wait until a condition over their results holds, or until
 * nothing is outstanding any more (then the condition can no longer change by itself).
 */
export class Gate {
  private outstanding = 0;
  private waiters: (() => void)[] = [];
  private readonly all: Promise<unknown>[] = [];
  /** Exceptions thrown by tracked tasks (a bug in a port implementation). */
  readonly errors: unknown[] = [];

  track<T>(task: Promise<T>, onSettled: (value: T) => void): void {
    this.outstanding += 1;
    const done = task.then(
      (value) => {
        this.outstanding -= 1;
        onSettled(value);
        this.wake();
      },
      (error: unknown) => {
        // Tasks are meant to return failures as values (safeSend); an exception is kept, not rethrown,
        // so one broken task cannot leave the others unobserved.
        this.outstanding -= 1;
        this.errors.push(error);
        this.wake();
      },
    );
    this.all.push(done);
  }

  get pending(): number {
    return this.outstanding;
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition() && this.outstanding > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves when every task tracked so far (and any tracked while waiting) has settled. */
  async settled(): Promise<void> {
    let seen = 0;
    while (seen < this.all.length) {
      const batch = this.all.slice(seen);
      seen = this.all.length;
      await Promise.allSettled(batch);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** transport.send that never throws: an exception from a transport becomes a "remote" failure. */
export async function safeSend<Body, K extends RequestKind>(
  transport: Transport<Body>,
  to: NodeId,
  request: RequestOf<K, Body>,
  signal?: CancelSignal,
): Promise<Result<ReplicaResponse<Body>[K], TransportFailure>> {
  try {
    return await transport.send(to, request, signal);
  } catch (error) {
    return err({ kind: "remote", detail: `transport threw: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, U>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<U>): Promise<U[]> {
  const results = new Array<U>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
