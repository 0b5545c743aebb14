// Repair of one node's partitions, in bounded rounds that the host loop calls (runRepairRound).
// Guarantees:
//   - Anti-entropy (pull): a primary compares its partition digest with every other live primary (both rings
//     during a transition) and pulls each key whose newest version there is newer than its own. Pull only:
//     every primary runs it, so content flows both ways.
//   - Catch-up: a partition this node is behind on (core/catch-up.ts) is marked caught up only once a full pass
//     against every live peer (primaries of both rings, plus the first live handoffs of the current ring, where
//     writes go while primaries are down) finished without a failure, all in the same catch-up generation,
//     and core/catch-up.ts catchUpComplete accepts what those passes showed: with strict quorums, N-W+1
//     primary copies per ring that hold what they acknowledged (this node's counted only if intact), or
//     every primary of every ring. A caught-up peer alone vouches for no one: it may have missed writes.
//     Each round first counts every behind partition's peers whose digest matches (one `digests` request per
//     peer for all of them), so a node restarted with nothing changed is caught up after its first round.
//   - Handoff and out-of-place data (partitions this node is a primary of in no ring): each key's newest
//     version is pushed to every current primary lacking it, and the local copy is dropped only once EVERY
//     current primary has confirmed it holds that version or a newer one (a head answer, or its commit).
//   - Re-replication: when a primary has been down longer than reReplicateAfterMs, the first live primary
//     copies the partition to the live handoff that stands in for it, as hinted data; that copy is then handoff
//     data like any other and goes away by the rule above once the primary returns (or the ring changes).
//   - Stand-ins: a handoff with a stand-in session on a partition (core/stand-in.ts) also pulls from every
//     live primary of it, as a primary catching up does, and reports each clean pass to its stand-in state,
//     which decides when it may count in place of the down primary (core/quorum.ts).
//   - Tombstones are collected only by the first live primary, outside transitions, with every primary live,
//     after tombstoneGraceMs, and only when every primary holds the tombstone as its newest version; older
//     versions are dropped before the tombstone, so no node is ever left with an older version and no tombstone.
//     Every other node of the ring must be live too and report holding nothing of the partition as a non-primary
//     (core/foreign-holdings.ts): a handoff down for longer than the grace would otherwise bring a stale copy
//     back after the tombstone is gone.
//   - Superseded versions of a key are dropped locally once a newer committed version is held locally.
//   - Work is bounded: pages per task, copies per partition per round, copies in flight, partitions per round.
// Assumes: the store lists in (bucket, key, stamp) order from a PartitionCursor (core/ports.ts), "key-start"
// included; tombstoneGraceMs exceeds the time any hinted copy can wait for delivery.

import { assert } from "./assert.ts";
import { catchUpComplete, primaryPartitions, type CatchUpState } from "./catch-up.ts";
import type { StandInState } from "./stand-in.ts";
import { type ForeignHoldings, type ForeignReport, mayHoldForeign } from "./foreign-holdings.ts";
import { putAndCommit } from "./coordinator.ts";
import type { NodeId, PartitionId } from "./ids.ts";
import { type RingView, ringsOf } from "./membership.ts";
import type { ObjectVersion, VersionStamp } from "./object-version.ts";
import { handoffsOf, isPrimary, livePlacement, preferenceList, primariesOf } from "./placement.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import { type FailuresByCause, type RepairFailure, addFailures, noteFailure } from "./repair-failures.ts";
import { ReReplicationProgress } from "./re-replication.ts";
import { afterVersion, keyStart } from "./partition-cursor.ts";
import type { BlobStore, ByteRange, DigestAnswer, Log, PartitionCursor, PartitionEntry, Transport, TransportFailure } from "./ports.ts";
import { mapLimit, safeSend, writeQuorumNeeded } from "./quorum.ts";
import type { Result } from "./result.ts";
import type { Ring } from "./ring.ts";
import type { RepairSettings } from "./settings.ts";
import { DIGESTS_PER_REQUEST_MAX, listPartitionCommitted, partitionDigest, toObjectVersion } from "./storage-node.ts";
import { stampAtMs } from "./version.ts";

export interface RepairContext<Body> {
  readonly self: NodeId;
  readonly store: BlobStore<Body>;
  readonly transport: Transport<Body>;
  readonly catchUp: CatchUpState;
  /** Partitions this node holds for a down primary (core/stand-in.ts); absent: it never stands in. */
  readonly standIns?: StandInState;
  rings(): RingView;
  /** This node's liveness view; the node itself need not be in it. */
  isLive(node: NodeId): boolean;
  /** This node's own record of data it holds as a non-primary: each round's census refreshes it. */
  readonly foreign?: ForeignHoldings;
  /** The newest foreign-holdings report heard from `node` (Membership.foreignReportOf). */
  foreignReportOf(node: NodeId): ForeignReport | undefined;
  /** When this node's view began to consider `node` down; null while live. */
  downSinceMs(node: NodeId): number | null;
  nowMs(): number;
  /** A fresh empty body, for pushing tombstones. */
  emptyBody(): Body;
  /**
   * Reads a stored body to its end: ok when its bytes match the version's checksum. The re-check of a copy
   * reported corrupt (the report may be stale); unlike verifyBody, it must not return before the last byte.
   */
  checkStoredBody(body: Body, version: ObjectVersion): Promise<Result<true, string>>;
  /**
   * Check of a pulled body against its version (the serving node checked it already). A streaming body may be
   * checked as it flows: the store's write then fails if it does not match, and nothing is installed.
   */
  verifyBody?(body: Body, version: ObjectVersion, range: ByteRange | undefined): Result<Body, TransportFailure> | Promise<Result<Body, TransportFailure>>;
  readonly settings: RepairSettings;
  readonly log: Log;
  readonly faults?: PlantedBugs;
}

interface TaskProgress {
  after: PartitionCursor | undefined;
  /** Something failed since this pass began: the pass does not count as a clean sync. */
  failed: boolean;
  /** Re-replication passes only: keys confirmed on (or pushed to) the stand-in so far, and their body bytes. */
  covered?: { objects: number; bytes: number };
  /** Pull passes only: what the peer's copy could vouch for when the pass began (its digest answer said so). */
  vouch?: Vouch;
}

/** What a peer's copy of a partition can vouch for (core/storage-node.ts, from its catch-up state). */
type Vouch = Pick<DigestAnswer, "caughtUpPrimary" | "intactPrimary">;

/** A pass over one peer's copy that finished without a failure. */
interface CleanSync {
  readonly vouch: Vouch;
}

/** Per-node repair memory between rounds: cursors of unfinished passes, peers synced since a partition fell behind. */
export class RepairState {
  readonly tasks = new Map<string, TaskProgress>();
  /** Peers' digests fetched in one batch at the start of a round, by `${peer} ${partition}`; cleared after it. */
  readonly prefetchedDigests = new Map<string, DigestAnswer>();
  /** Per behind partition: peers synced cleanly in this catch-up generation, and whether one was a caught-up primary. */
  readonly syncedPeers = new Map<PartitionId, { generation: number; peers: Set<NodeId>; fromCaughtUpPrimary: boolean; intactPrimaries: Set<NodeId> }>();
  /** This node's share of re-replicating each down node, for the operator's start and finish lines. */
  readonly reReplication = new ReReplicationProgress();
  nextPartitionIndex = 0;
}

export interface RepairReport {
  partitions: number;
  pulled: number;
  pushed: number;
  /** Body bytes of the versions pushed. */
  pushedBytes: number;
  handoffDropped: number;
  /** Copies dropped unpushed by a node that is in no ring of its view (see writeOffCopies). */
  writtenOff: number;
  supersededDropped: number;
  tombstonesCollected: number;
  pendingDropped: number;
  caughtUp: PartitionId[];
  failures: number;
  /** The same failures by cause, each with its latest occurrence (core/repair-failures.ts). */
  failuresByCause: FailuresByCause;
}

export const emptyRepairReport = (): RepairReport => ({
  partitions: 0,
  pulled: 0,
  pushed: 0,
  pushedBytes: 0,
  handoffDropped: 0,
  writtenOff: 0,
  supersededDropped: 0,
  tombstonesCollected: 0,
  pendingDropped: 0,
  caughtUp: [],
  failures: 0,
  failuresByCause: {},
});

interface Budget {
  copiesLeft: number;
}

const tombstoneListLimit = 8;

/** One round: up to partitionsPerRoundMax partitions (behind ones first), then pending GC. */
export async function runRepairRound<Body>(ctx: RepairContext<Body>, state: RepairState): Promise<RepairReport> {
  const report = emptyRepairReport();
  const view = ctx.rings();
  reviewReReplication(ctx, state, view.current);
  const census = ctx.foreign?.beginCensus();
  const held = await ctx.store.partitionsHeld();
  if (!held.ok) noteFailure(report, { step: "partitions-held", kind: held.error.kind, detail: held.error.detail });
  const primaryOf = new Set(primaryPartitions(view, ctx.self));
  const all = [...new Set([...primaryOf, ...(held.ok ? held.value : [])])].sort((a, b) => a - b);
  const behind = ctx.catchUp.behindPartitions();
  // Partitions this node stands in on: syncing them is what lets it count, so they go first with catch-up.
  const standingIn = ctx.standIns?.refresh(view, ctx.settings.reReplicateAfterMs) ?? [];
  // Handoff and out-of-place data comes right after catch-up in every round: it is what brings a returning
  // primary its missed writes, and it is rare, so visiting it often costs little.
  const outOfPlace = all.filter((p) => !primaryOf.has(p));
  if (census !== undefined && held.ok && ctx.rings() === view) ctx.foreign!.endCensus(census, outOfPlace);
  const urgent = new Set([...behind, ...standingIn, ...outOfPlace]);
  const rest = all.filter((p) => !urgent.has(p));
  const start = rest.length === 0 ? 0 : state.nextPartitionIndex % rest.length;
  const rotated = [...rest.slice(start), ...rest.slice(0, start)];
  const chosen = [...urgent, ...rotated].slice(0, ctx.settings.partitionsPerRoundMax);
  state.nextPartitionIndex = start + Math.max(0, chosen.length - urgent.size);
  // Digests of every behind partition too, not only of this round's: the fast catch-up below needs them all.
  await prefetchDigests(ctx, state, view, [...new Set([...chosen, ...behind])]);
  try {
    await catchUpWhereDigestsMatch(ctx, state, view, behind, report);
    for (const partition of chosen) {
      const one = await repairPartition(ctx, state, partition);
      addReport(report, one);
    }
  } finally {
    state.prefetchedDigests.clear();
  }
  report.pendingDropped += await collectPending(ctx);
  return report;
}

/**
 * One `digests` request per live peer for all of this round's partitions (in batches of
 * DIGESTS_PER_REQUEST_MAX), instead of one `digest` request per partition and peer: an idle sweep then costs a
 * handful of requests per round. A peer that fails to answer is simply asked partition by partition later.
 */
async function prefetchDigests<Body>(ctx: RepairContext<Body>, state: RepairState, view: RingView, partitions: readonly PartitionId[]): Promise<void> {
  if (partitions.length === 0) return;
  const peers = new Set<NodeId>();
  for (const ring of ringsOf(view)) for (const node of ring.nodes) if (node.id !== ctx.self && ctx.isLive(node.id)) peers.add(node.id);
  const batches: PartitionId[][] = [];
  for (let i = 0; i < partitions.length; i += DIGESTS_PER_REQUEST_MAX) batches.push(partitions.slice(i, i + DIGESTS_PER_REQUEST_MAX));
  const asks = [...peers].flatMap((peer) => batches.map((batch) => ({ peer, batch })));
  await mapLimit(asks, ctx.settings.concurrentCopiesMax, async ({ peer, batch }) => {
    const answer = await safeSend(ctx.transport, peer, { kind: "digests", partitions: batch });
    if (!answer.ok) return;
    for (const d of answer.value.digests) state.prefetchedDigests.set(`${peer} ${d.partition}`, { hash: d.hash, count: d.count, caughtUpPrimary: d.caughtUpPrimary, intactPrimary: d.intactPrimary });
  });
}

/**
 * Fast catch-up (issue 10): a behind partition whose local digest equals a live peer's (or whose copy there
 * is empty) is synced with that peer already, since a pass over it would pull nothing; so each such peer counts
 * as a clean sync at once, from the digests prefetched in one round trip per peer, and a partition whose
 * evidence then satisfies catchUpComplete is caught up before repair visits any partition. A node restarted with nothing changed thus counts toward
 * quorums again after one round, however many partitions it holds; partitions whose copies differ are left
 * to the full pass (pullFromPeers), which starts from the peers matched here.
 */
async function catchUpWhereDigestsMatch<Body>(ctx: RepairContext<Body>, state: RepairState, view: RingView, behind: readonly PartitionId[], report: RepairReport): Promise<void> {
  for (const partition of behind) {
    if (ctx.catchUp.isCaughtUp(partition)) continue;
    const live = catchUpPeers(ctx, view, partition, true);
    const generation = ctx.catchUp.generation;
    const matching = live.filter((peer) => state.prefetchedDigests.has(`${peer} ${partition}`));
    if (matching.length === 0) continue;
    const local = await partitionDigest(ctx.store, partition);
    if (!local.ok) continue; // the full pass reports it
    const synced = syncedPeersOf(state, partition, generation);
    for (const peer of matching) {
      const remote = state.prefetchedDigests.get(`${peer} ${partition}`)!;
      if (!nothingToPull(local.value, remote)) continue;
      // The copies are equal now: a pass in progress over this peer has nothing left to bring.
      state.tasks.delete(`pull:${partition}:${peer}`);
      noteCleanSync(synced, peer, remote);
    }
    markIfCaughtUp(ctx, state, view, partition, live, generation, report);
  }
}

async function remoteDigest<Body>(ctx: RepairContext<Body>, state: RepairState, peer: NodeId, partition: PartitionId): Promise<Result<DigestAnswer, TransportFailure>> {
  const prefetched = state.prefetchedDigests.get(`${peer} ${partition}`);
  if (prefetched) return { ok: true, value: prefetched };
  return safeSend(ctx.transport, peer, { kind: "digest", partition });
}

/** Every repair task for one partition, as this node's role in it calls for. */
export async function repairPartition<Body>(ctx: RepairContext<Body>, state: RepairState, partition: PartitionId): Promise<RepairReport> {
  const report = emptyRepairReport();
  report.partitions = 1;
  const view = ctx.rings();
  const budget: Budget = { copiesLeft: ctx.settings.copiesPerRoundMax };
  const primaryAnywhere = ringsOf(view).some((ring) => isPrimary(ring, partition, ctx.self));
  if (primaryAnywhere) {
    await pullFromPeers(ctx, state, view, partition, budget, report);
    const tombstones = await dropSupersededLocally(ctx, state, partition, report);
    if (firstLivePrimary(ctx, view.current, partition) === ctx.self) {
      await reReplicate(ctx, state, view.current, partition, budget, report);
      if (!view.previous) await collectTombstones(ctx, view.current, partition, tombstones, report);
    }
  } else if (ctx.settings.strictQuorum && !ringsOf(view).some((ring) => ring.indexOf.has(ctx.self))) {
    await writeOffCopies(ctx, partition, report);
  } else {
    if (ctx.standIns?.hasSession(partition)) await syncAsStandIn(ctx, state, view.current, partition, budget, report);
    await pushOutOfPlace(ctx, state, view.current, partition, budget, report);
  }
  return report;
}

/**
 * A node that is in no ring of its view (decommissioned or removed, its ring change retired) drops what it
 * holds without pushing it anywhere. The transition retired only once every new primary had caught up
 * (core/catch-up.ts): with strict quorums, from copies that together hold every acknowledged write, so
 * nothing this node holds is needed. What it holds may be stale: a node removed while dead, started again
 * on its old disk, would otherwise push versions whose tombstones were collected while it was away, and
 * deleted objects would come back (scenario remove, first version: 9 of 20 seeds). With sloppy quorums an
 * acknowledged write may live on handoffs only, so there the node hands its copies off as before.
 */
async function writeOffCopies<Body>(ctx: RepairContext<Body>, partition: PartitionId, report: RepairReport): Promise<void> {
  for (let page = 0; page < ctx.settings.pagesPerTaskMax; page++) {
    const listed = await listPartitionCommitted(ctx.store, partition, undefined, ctx.settings.listPageSize);
    if (!listed.ok) {
      noteFailure(report, { step: "list-local", partition, kind: listed.error.kind, detail: listed.error.detail });
      return;
    }
    for (const entry of listed.value.entries) {
      const dropped = await ctx.store.drop(entry.bucket, entry.key, entry.stamp);
      if (dropped.ok && dropped.value) report.writtenOff++;
      else if (!dropped.ok) {
        noteFailure(report, { step: "drop-local", partition, kind: dropped.error.kind, detail: dropped.error.detail });
        return;
      }
    }
    if (listed.value.done) return;
  }
}

/**
 * A stand-in's pull: one step of a pass over every live primary's copy, each pass reported to the stand-in
 * state (it counts only passes that began after the session did, over a caught-up primary's copy).
 */
async function syncAsStandIn<Body>(ctx: RepairContext<Body>, state: RepairState, ring: Ring, partition: PartitionId, budget: Budget, report: RepairReport): Promise<void> {
  const standIns = ctx.standIns!;
  // What it pulls is data of a partition it is not a primary of: no heartbeat may report the partition clean.
  ctx.foreign?.noteForeignWrite(partition);
  let localDigest: ReturnType<typeof partitionDigest<Body>> | undefined;
  const digestHere = () => (localDigest ??= partitionDigest(ctx.store, partition));
  for (const peer of primariesOf(ring, partition)) {
    if (!ctx.isLive(peer)) continue;
    const taskKey = `standin:${partition}:${peer}`;
    if (!state.tasks.has(taskKey)) standIns.passStarted(partition, peer);
    const clean = await syncWithPeer(ctx, state, partition, peer, digestHere, budget, report, taskKey);
    if (clean) standIns.passFinished(partition, peer, true, clean.vouch.caughtUpPrimary);
    else if (!state.tasks.has(taskKey)) standIns.passFinished(partition, peer, false, false);
  }
}

const liveInView = <Body>(ctx: RepairContext<Body>, node: NodeId): boolean => node === ctx.self || ctx.isLive(node);

function firstLivePrimary<Body>(ctx: RepairContext<Body>, ring: Ring, partition: PartitionId): NodeId | undefined {
  return primariesOf(ring, partition).find((n) => liveInView(ctx, n));
}

// ---- pull: anti-entropy and catch-up ---------------------------------------------------------------------

/** The peers a pass over `partition` covers, live ones only: its primaries in every ring and, while behind, the first live handoffs. */
function catchUpPeers<Body>(ctx: RepairContext<Body>, view: RingView, partition: PartitionId, behind: boolean): NodeId[] {
  const peers = new Set<NodeId>();
  for (const ring of ringsOf(view)) for (const n of primariesOf(ring, partition)) peers.add(n);
  if (behind) {
    // Writes made while primaries were down sit on the first live handoffs: a node catching up asks them too.
    let taken = 0;
    for (const n of handoffsOf(view.current, partition)) {
      if (taken >= view.current.replicaCount) break;
      if (ctx.isLive(n)) {
        peers.add(n);
        taken++;
      }
    }
  }
  peers.delete(ctx.self);
  return [...peers].filter((n) => ctx.isLive(n));
}

type SyncedPeers = RepairState["syncedPeers"] extends Map<PartitionId, infer S> ? S : never;

/** The peers synced with since `partition` fell behind, in this catch-up generation (a new one starts over). */
function syncedPeersOf(state: RepairState, partition: PartitionId, generation: number): SyncedPeers {
  let synced = state.syncedPeers.get(partition);
  if (!synced || synced.generation !== generation) {
    synced = { generation, peers: new Set(), fromCaughtUpPrimary: false, intactPrimaries: new Set() };
    state.syncedPeers.set(partition, synced);
  }
  return synced;
}

function noteCleanSync(synced: SyncedPeers, peer: NodeId, vouch: Vouch): void {
  synced.peers.add(peer);
  if (vouch.caughtUpPrimary) synced.fromCaughtUpPrimary = true;
  if (vouch.intactPrimary) synced.intactPrimaries.add(peer);
}

/**
 * Marks a behind partition caught up when core/catch-up.ts catchUpComplete accepts what the passes showed: a
 * caught-up peer alone never vouches for a copy that lost what it acknowledged (a replaced disk), since it may
 * itself have missed writes the others acknowledged.
 */
function markIfCaughtUp<Body>(ctx: RepairContext<Body>, state: RepairState, view: RingView, partition: PartitionId, live: readonly NodeId[], generation: number, report: RepairReport): void {
  const synced = state.syncedPeers.get(partition);
  if (ctx.catchUp.isCaughtUp(partition) || ctx.catchUp.generation !== generation || synced?.generation !== generation) return;
  const complete = catchUpComplete(
    { self: ctx.self, view, partition, livePeers: live, selfIntact: ctx.catchUp.isCaughtUpOrIntact(partition), writeQuorum: ctx.settings.writeQuorum, strictQuorum: ctx.settings.strictQuorum },
    { syncedPeers: synced.peers, holdingPrimaries: synced.intactPrimaries, fromCaughtUpPrimary: synced.fromCaughtUpPrimary },
  );
  if (!complete) return;
  ctx.catchUp.markCaughtUp(partition);
  state.syncedPeers.delete(partition);
  report.caughtUp.push(partition);
  ctx.log.debug("repair.caught-up", { node: ctx.self, partition, peers: live });
}

async function pullFromPeers<Body>(ctx: RepairContext<Body>, state: RepairState, view: RingView, partition: PartitionId, budget: Budget, report: RepairReport): Promise<void> {
  const behind = !ctx.catchUp.isCaughtUp(partition);
  const live = catchUpPeers(ctx, view, partition, behind);
  const generation = ctx.catchUp.generation;
  const synced = behind ? syncedPeersOf(state, partition, generation) : undefined;
  let localDigest: ReturnType<typeof partitionDigest<Body>> | undefined;
  const digestHere = () => (localDigest ??= partitionDigest(ctx.store, partition));
  for (const peer of live) {
    // A peer already synced in this generation (its digest matched, or an earlier round) needs no new pass.
    if (synced?.peers.has(peer)) continue;
    const clean = await syncWithPeer(ctx, state, partition, peer, digestHere, budget, report);
    if (clean && synced) noteCleanSync(synced, peer, clean.vouch);
  }
  if (behind) markIfCaughtUp(ctx, state, view, partition, live, generation, report);
}

/** A pass over a peer's copy would pull nothing: it equals this one, or it is empty (a handoff holding nothing of it). */
function nothingToPull(local: Pick<DigestAnswer, "hash">, remote: Pick<DigestAnswer, "hash" | "count">): boolean {
  return remote.count === 0 || remote.hash === local.hash;
}

/** One step of a pass over `peer`'s copy of the partition; a CleanSync when a whole pass finished without a failure. */
async function syncWithPeer<Body>(
  ctx: RepairContext<Body>,
  state: RepairState,
  partition: PartitionId,
  peer: NodeId,
  digestHere: () => ReturnType<typeof partitionDigest<Body>>,
  budget: Budget,
  report: RepairReport,
  taskKey = `pull:${partition}:${peer}`,
): Promise<CleanSync | null> {
  let progress = state.tasks.get(taskKey);
  if (!progress) {
    const [local, remote] = await Promise.all([digestHere(), remoteDigest(ctx, state, peer, partition)]);
    if (!local.ok || !remote.ok) {
      // The peer is named either way; a kind starting "local-" says the local digest is the one that failed.
      const failure = !local.ok ? { kind: `local-${local.error.kind}`, detail: local.error.detail } : remote.ok ? undefined : remote.error;
      noteFailure(report, { step: "digest", partition, peer, kind: failure!.kind, detail: failure!.detail });
      return null;
    }
    const vouch: Vouch = { caughtUpPrimary: remote.value.caughtUpPrimary, intactPrimary: remote.value.intactPrimary };
    if (nothingToPull(local.value, remote.value)) return { vouch };
    progress = { after: undefined, failed: false, vouch };
    state.tasks.set(taskKey, progress);
  }
  for (let page = 0; page < ctx.settings.pagesPerTaskMax; page++) {
    const listed = await safeSend(ctx.transport, peer, { kind: "list-partition", partition, ...(progress.after ? { from: progress.after } : {}), limit: ctx.settings.listPageSize });
    if (!listed.ok) {
      noteFailure(report, { step: "list-peer", partition, peer, kind: listed.error.kind, detail: listed.error.detail });
      progress.failed = true;
      return null;
    }
    const { groups, next } = keyGroups(listed.value.entries, listed.value.done, progress.after);
    const wanted: PartitionEntry[] = [];
    let stoppedAt: number | undefined;
    for (let i = 0; i < groups.length; i++) {
      const newestThere = groups[i]![groups[i]!.length - 1]!;
      const here = await ctx.store.headCommitted(newestThere.bucket, newestThere.key);
      if (!here.ok) {
        noteFailure(report, { step: "head-local", partition, kind: here.error.kind, detail: here.error.detail });
        progress.failed = true;
        continue;
      }
      if (here.value && here.value.stamp >= newestThere.stamp) continue;
      if (wanted.length >= budget.copiesLeft) {
        stoppedAt = i;
        break;
      }
      wanted.push(newestThere);
    }
    budget.copiesLeft -= wanted.length;
    const results = await mapLimit(wanted, ctx.settings.concurrentCopiesMax, (entry) => pullOne(ctx, partition, peer, entry));
    for (const failure of results) {
      if (failure === null) report.pulled++;
      else {
        noteFailure(report, failure);
        progress.failed = true;
      }
    }
    if (stoppedAt !== undefined) {
      const first = groups[stoppedAt]![0]!;
      progress.after = keyStart(first.bucket, first.key);
      return null;
    }
    if (next === undefined) {
      state.tasks.delete(taskKey);
      return progress.failed ? null : { vouch: progress.vouch ?? { caughtUpPrimary: false, intactPrimary: false } };
    }
    progress.after = next;
  }
  return null;
}

/** Pulls one entry from `peer` into the local store; null once stored, else what failed. */
async function pullOne<Body>(ctx: RepairContext<Body>, partition: PartitionId, peer: NodeId, entry: PartitionEntry): Promise<RepairFailure | null> {
  const fetched = await fetchVerified(ctx, partition, peer, entry);
  if (!fetched.ok) return fetched.error;
  const written = await ctx.store.writeCommitted(partition, fetched.value.version, fetched.value.body, undefined);
  if (!written.ok) return { step: "write-local", partition, peer, kind: written.error.kind, detail: `${entry.bucket}/${entry.key}@${entry.stamp}: ${written.error.detail}` };
  return null;
}

/**
 * The body of exactly `entry` from `peer`, checked against its metadata (and verifyBody when given). Failures
 * are returned, not logged: the repair loop logs them by cause at a bounded rate.
 */
async function fetchVerified<Body>(ctx: RepairContext<Body>, partition: PartitionId, peer: NodeId, entry: PartitionEntry): Promise<Result<{ version: ObjectVersion; body: Body }, RepairFailure>> {
  const what = `${entry.bucket}/${entry.key}@${entry.stamp}`;
  const got = await safeSend(ctx.transport, peer, { kind: "get", partition, bucket: entry.bucket, key: entry.key, stamp: entry.stamp });
  if (!got.ok) return { ok: false, error: { step: "pull", partition, peer, kind: got.error.kind, detail: `${what}: ${got.error.detail}` } };
  const version = toObjectVersion(got.value.version);
  if (version.stamp !== entry.stamp || version.checksum !== entry.checksum) {
    return { ok: false, error: { step: "pull", partition, peer, kind: "mismatch", detail: `${what}: served ${version.stamp} with checksum ${version.checksum}` } };
  }
  let body = got.value.body;
  if (ctx.verifyBody) {
    const verified = await ctx.verifyBody(body, version, undefined);
    if (!verified.ok) return { ok: false, error: { step: "pull", partition, peer, kind: "corrupt", detail: `${what}: ${verified.error.detail}` } };
    body = verified.value;
  }
  return { ok: true, value: { version, body } };
}

/**
 * Groups a page's entries by key. When more pages follow, the last key's group may continue on the next
 * page, so it is left for the next page (unless it is the only group, which then must be taken as it is).
 * `next` is the cursor for the following page, undefined when the listing is done.
 */
function keyGroups(entries: readonly PartitionEntry[], done: boolean, after: PartitionCursor | undefined): { groups: PartitionEntry[][]; next: PartitionCursor | undefined } {
  const groups: PartitionEntry[][] = [];
  for (const e of entries) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.bucket === e.bucket && last[0]!.key === e.key) last.push(e);
    else groups.push([e]);
  }
  if (done) return { groups, next: undefined };
  if (groups.length > 1) {
    const held = groups.pop()!;
    return { groups, next: keyStart(held[0]!.bucket, held[0]!.key) };
  }
  const last = entries[entries.length - 1];
  if (!last) return { groups, next: after };
  return { groups, next: afterVersion(last) };
}

// ---- local clean-up ----------------------------------------------------------------------------------------

/**
 * One step of a pass over the local partition: drop superseded versions (a newer committed one is held),
 * and return the tombstones seen that are old enough to be considered for collection.
 */
async function dropSupersededLocally<Body>(ctx: RepairContext<Body>, state: RepairState, partition: PartitionId, report: RepairReport): Promise<PartitionEntry[]> {
  const taskKey = `local:${partition}`;
  const progress = state.tasks.get(taskKey) ?? { after: undefined, failed: false };
  state.tasks.set(taskKey, progress);
  const cutoff = stampAtMs(ctx.nowMs() - ctx.settings.tombstoneGraceMs);
  const tombstones: PartitionEntry[] = [];
  for (let page = 0; page < ctx.settings.pagesPerTaskMax; page++) {
    const listed = await listPartitionCommitted(ctx.store, partition, progress.after, ctx.settings.listPageSize);
    if (!listed.ok) {
      noteFailure(report, { step: "list-local", partition, kind: listed.error.kind, detail: listed.error.detail });
      return tombstones;
    }
    const { groups, next } = keyGroups(listed.value.entries, listed.value.done, progress.after);
    for (const group of groups) {
      const newest = group[group.length - 1]!;
      for (const old of group.slice(0, -1)) {
        const dropped = await ctx.store.drop(old.bucket, old.key, old.stamp);
        if (dropped.ok && dropped.value) report.supersededDropped++;
        else if (!dropped.ok) noteFailure(report, { step: "drop-local", partition, kind: dropped.error.kind, detail: dropped.error.detail });
      }
      if (newest.deleted && newest.stamp < cutoff && tombstones.length < ctx.settings.tombstonesPerRoundMax) tombstones.push(newest);
    }
    if (next === undefined) {
      state.tasks.delete(taskKey);
      return tombstones;
    }
    progress.after = next;
  }
  return tombstones;
}

/** Drop pending (never committed) versions older than pendingMaxAgeMs. */
export async function collectPending<Body>(ctx: Pick<RepairContext<Body>, "store" | "nowMs" | "settings" | "log" | "self">): Promise<number> {
  const dropped = await ctx.store.dropPendingBefore(stampAtMs(ctx.nowMs() - ctx.settings.pendingMaxAgeMs));
  if (!dropped.ok) {
    ctx.log.error("repair.pending-gc-failed", { node: ctx.self, failure: dropped.error });
    return 0;
  }
  return dropped.value;
}

// ---- push: handoff and out-of-place data -----------------------------------------------------------------

async function pushOutOfPlace<Body>(ctx: RepairContext<Body>, state: RepairState, ring: Ring, partition: PartitionId, budget: Budget, report: RepairReport): Promise<void> {
  const taskKey = `push:${partition}`;
  const progress = state.tasks.get(taskKey) ?? { after: undefined, failed: false };
  state.tasks.set(taskKey, progress);
  const primaries = primariesOf(ring, partition);
  for (let page = 0; page < ctx.settings.pagesPerTaskMax; page++) {
    const listed = await listPartitionCommitted(ctx.store, partition, progress.after, ctx.settings.listPageSize);
    if (!listed.ok) {
      noteFailure(report, { step: "list-local", partition, kind: listed.error.kind, detail: listed.error.detail });
      return;
    }
    const { groups, next } = keyGroups(listed.value.entries, listed.value.done, progress.after);
    for (let i = 0; i < groups.length; i++) {
      if (budget.copiesLeft <= 0) {
        const first = groups[i]![0]!;
        progress.after = keyStart(first.bucket, first.key);
        return;
      }
      const group = groups[i]!;
      const newest = group[group.length - 1]!;
      for (const old of group.slice(0, -1)) {
        const dropped = await ctx.store.drop(old.bucket, old.key, old.stamp);
        if (dropped.ok && dropped.value) report.supersededDropped++;
      }
      const confirmed = await mapLimit(primaries, ctx.settings.concurrentCopiesMax, (primary) => confirmOrPush(ctx, partition, primary, newest, budget, report));
      const allConfirmed = confirmed.every((c) => c !== null);
      // PLANTED BUG dropHandoffBeforeConfirm: drop once the pushes were attempted, confirmed or not.
      if (allConfirmed || ctx.faults?.dropHandoffBeforeConfirm) {
        const dropped = await ctx.store.drop(newest.bucket, newest.key, newest.stamp);
        if (dropped.ok && dropped.value) {
          report.handoffDropped++;
          ctx.log.debug("repair.handoff-dropped", { node: ctx.self, partition, bucket: newest.bucket, key: newest.key, stamp: newest.stamp, primaries });
        } else if (!dropped.ok) noteFailure(report, { step: "drop-local", partition, kind: dropped.error.kind, detail: dropped.error.detail });
      }
    }
    if (next === undefined) {
      state.tasks.delete(taskKey);
      return;
    }
    progress.after = next;
  }
}

/** A version confirmed on a node: the body bytes of what it holds (0 for a tombstone, or when that is this node). */
type Confirmed = { readonly bytes: number } | null;

/** Does `primary` hold `entry` (or newer)? If it does not, push it there; null until confirmed. */
async function confirmOrPush<Body>(ctx: RepairContext<Body>, partition: PartitionId, primary: NodeId, entry: PartitionEntry, budget: Budget, report: RepairReport, hintFor?: NodeId): Promise<Confirmed> {
  if (primary === ctx.self) return { bytes: 0 };
  if (!ctx.isLive(primary)) return null;
  const there = await safeSend(ctx.transport, primary, { kind: "head", partition, bucket: entry.bucket, key: entry.key });
  if (there.ok && there.value.version && there.value.version.stamp >= entry.stamp) return { bytes: there.value.version.deleted ? 0 : there.value.version.size };
  // A node still catching up cannot answer head; pushing to it is safe (the commit confirms) and speeds it up.
  if (!there.ok && there.error.kind !== "not-caught-up") {
    noteFailure(report, { step: "head-peer", partition, peer: primary, kind: there.error.kind, detail: there.error.detail });
    return null;
  }
  if (budget.copiesLeft <= 0) return null;
  budget.copiesLeft--;
  const pushed = await pushLocalCopy(ctx, partition, primary, entry, hintFor);
  if ("bytes" in pushed) {
    report.pushed++;
    report.pushedBytes += pushed.bytes;
    return pushed;
  }
  noteFailure(report, pushed);
  return null;
}

/** Pushes one local copy to `to`; its body's size once it is committed there, else what failed. */
async function pushLocalCopy<Body>(ctx: RepairContext<Body>, partition: PartitionId, to: NodeId, entry: PartitionEntry, hintFor: NodeId | undefined): Promise<RepairFailure | { readonly bytes: number }> {
  const what = `${entry.bucket}/${entry.key}@${entry.stamp}`;
  const read = await ctx.store.readBody(entry.bucket, entry.key, entry.stamp);
  if (!read.ok) return { step: "push", partition, peer: to, kind: `read-${read.error.kind}`, detail: `${what}: ${read.error.detail}` };
  const version = toObjectVersion(read.value.version);
  const body = version.deleted ? ctx.emptyBody() : read.value.body;
  const pushed = await putAndCommit(ctx.transport, to, partition, version, body, hintFor);
  if (!pushed.ok) return { step: "push", partition, peer: to, kind: pushed.error.kind, detail: `${what}: ${pushed.error.detail}` };
  return { bytes: version.deleted ? 0 : version.size };
}

// ---- re-replication --------------------------------------------------------------------------------------

/** Primaries of `partition` down in this node's view for longer than reReplicateAfterMs. */
function primariesDownLong<Body>(ctx: RepairContext<Body>, ring: Ring, partition: PartitionId, nowMs: number): Set<NodeId> {
  return new Set(
    primariesOf(ring, partition).filter((n) => {
      if (liveInView(ctx, n)) return false;
      const since = ctx.downSinceMs(n);
      return since !== null && nowMs - since >= ctx.settings.reReplicateAfterMs;
    }),
  );
}

/** The live placements re-replication copies to: down-long primaries replaced by their live stand-in handoffs. */
function reReplicationPlacements<Body>(ctx: RepairContext<Body>, ring: Ring, partition: PartitionId, downLong: ReadonlySet<NodeId>) {
  const primaries = primariesOf(ring, partition);
  return livePlacement(ring, partition, (n) => (primaries.includes(n) ? !downLong.has(n) : ctx.isLive(n)));
}

/**
 * This node's share of re-replication (the partitions reReplicate copies: this node is their first live
 * primary), by down node, handed to core/re-replication.ts for the operator's start and finish lines.
 */
function reviewReReplication<Body>(ctx: RepairContext<Body>, state: RepairState, ring: Ring): void {
  const nowMs = ctx.nowMs();
  const share = new Map<NodeId, Set<PartitionId>>();
  const withoutHandoff = new Map<NodeId, number>();
  for (const partition of primaryPartitions({ current: ring }, ctx.self)) {
    if (firstLivePrimary(ctx, ring, partition) !== ctx.self) continue;
    const downLong = primariesDownLong(ctx, ring, partition, nowMs);
    if (downLong.size === 0) continue;
    const covered = new Set(reReplicationPlacements(ctx, ring, partition, downLong).flatMap((p) => (p.role === "handoff" ? [p.hintFor] : [])));
    for (const down of downLong) {
      if (!share.has(down)) share.set(down, new Set());
      share.get(down)!.add(partition);
      if (!covered.has(down)) withoutHandoff.set(down, (withoutHandoff.get(down) ?? 0) + 1);
    }
  }
  state.reReplication.review(ctx.self, nowMs, share, withoutHandoff, ctx.log);
}

async function reReplicate<Body>(ctx: RepairContext<Body>, state: RepairState, ring: Ring, partition: PartitionId, budget: Budget, report: RepairReport): Promise<void> {
  const downLong = primariesDownLong(ctx, ring, partition, ctx.nowMs());
  if (downLong.size === 0) return;
  for (const placement of reReplicationPlacements(ctx, ring, partition, downLong)) {
    if (placement.role !== "handoff") continue;
    await copyPartitionTo(ctx, state, partition, placement.node, placement.hintFor, budget, report);
  }
}

/** One step of a pass copying the local partition to `to` as hinted data for `hintFor`. */
async function copyPartitionTo<Body>(ctx: RepairContext<Body>, state: RepairState, partition: PartitionId, to: NodeId, hintFor: NodeId, budget: Budget, report: RepairReport): Promise<void> {
  const taskKey = `rereplicate:${partition}:${to}:${hintFor}`;
  const progress = state.tasks.get(taskKey) ?? { after: undefined, failed: false, covered: { objects: 0, bytes: 0 } };
  state.tasks.set(taskKey, progress);
  const covered = progress.covered!;
  const [pushedBefore, bytesBefore] = [report.pushed, report.pushedBytes];
  const noteStep = (completeAndClean: boolean): void =>
    state.reReplication.noteStep({ down: hintFor, partition, pushed: report.pushed - pushedBefore, pushedBytes: report.pushedBytes - bytesBefore, ...(completeAndClean ? { clean: { ...covered } } : {}) });
  for (let page = 0; page < ctx.settings.pagesPerTaskMax; page++) {
    const listed = await listPartitionCommitted(ctx.store, partition, progress.after, ctx.settings.listPageSize);
    if (!listed.ok) {
      noteFailure(report, { step: "list-local", partition, kind: listed.error.kind, detail: listed.error.detail });
      progress.failed = true;
      return noteStep(false);
    }
    const { groups, next } = keyGroups(listed.value.entries, listed.value.done, progress.after);
    for (const group of groups) {
      if (budget.copiesLeft <= 0) {
        progress.after = keyStart(group[0]!.bucket, group[0]!.key);
        return noteStep(false);
      }
      // A key neither confirmed nor pushed (a failure, or the budget ran out midway) leaves the pass unclean.
      const confirmed = await confirmOrPush(ctx, partition, to, group[group.length - 1]!, budget, report, hintFor);
      if (confirmed === null) progress.failed = true;
      else [covered.objects, covered.bytes] = [covered.objects + 1, covered.bytes + confirmed.bytes];
    }
    if (next === undefined) {
      state.tasks.delete(taskKey);
      return noteStep(!progress.failed);
    }
    progress.after = next;
  }
  noteStep(false);
}

// ---- tombstone collection --------------------------------------------------------------------------------

async function collectTombstones<Body>(ctx: RepairContext<Body>, ring: Ring, partition: PartitionId, tombstones: readonly PartitionEntry[], report: RepairReport): Promise<void> {
  if (tombstones.length === 0) return;
  const primaries = primariesOf(ring, partition);
  if (!primaries.every((n) => liveInView(ctx, n))) return;
  const others = ring.nodes.filter((n) => !primaries.includes(n.id));
  if (others.some((n) => !ctx.isLive(n.id) || mayHoldForeign(ctx.foreignReportOf(n.id), partition))) return;
  for (const tomb of tombstones) {
    const held = await Promise.all(primaries.map((n) => versionsOfKey(ctx, partition, n, tomb)));
    if (held.some((h) => h === null)) continue;
    const everyHasIt = held.every((versions) => versions!.some((v) => v.stamp === tomb.stamp) && versions!.every((v) => v.stamp <= tomb.stamp));
    const newerSomewhere = held.some((versions) => versions!.some((v) => v.stamp > tomb.stamp));
    if (newerSomewhere) continue;
    let drops: { node: NodeId; stamp: VersionStamp }[];
    if (everyHasIt) {
      // Older versions first, the tombstone last, so no node is ever left with an older version and no tombstone.
      drops = primaries.flatMap((node, i) => held[i]!.map((v) => ({ node, stamp: v.stamp })));
      drops.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
      // PLANTED BUG forgetTombstones: collect without checking that every primary holds the tombstone.
    } else if (ctx.faults?.forgetTombstones) {
      drops = primaries.map((node) => ({ node, stamp: tomb.stamp }));
    } else continue;
    let allDropped = true;
    for (const { node, stamp } of drops) {
      const done = node === ctx.self ? await ctx.store.drop(tomb.bucket, tomb.key, stamp) : await safeSend(ctx.transport, node, { kind: "drop", partition, bucket: tomb.bucket, key: tomb.key, stamp });
      if (!done.ok) {
        allDropped = false;
        noteFailure(report, { step: "drop-tombstone", partition, ...(node === ctx.self ? {} : { peer: node }), kind: done.error.kind, detail: done.error.detail });
        break;
      }
    }
    if (allDropped) {
      report.tombstonesCollected++;
      ctx.log.debug("repair.tombstone-collected", { node: ctx.self, partition, bucket: tomb.bucket, key: tomb.key, stamp: tomb.stamp });
    }
  }
}

/** The committed versions of one key on `node` (at most a few), or null when they cannot be listed. */
async function versionsOfKey<Body>(ctx: RepairContext<Body>, partition: PartitionId, node: NodeId, of: PartitionEntry): Promise<PartitionEntry[] | null> {
  const from = keyStart(of.bucket, of.key);
  const listed =
    node === ctx.self
      ? await listPartitionCommitted(ctx.store, partition, from, tombstoneListLimit)
      : await safeSend(ctx.transport, node, { kind: "list-partition", partition, from, limit: tombstoneListLimit });
  if (!listed.ok) return null;
  const same = listed.value.entries.filter((e) => e.bucket === of.bucket && e.key === of.key);
  // All versions of the key must be in view: if the page is full of this key, more may follow.
  if (same.length === listed.value.entries.length && !listed.value.done) return null;
  return same;
}

// ---- corrupt copies --------------------------------------------------------------------------------------

/** What became of one copy reported corrupt. */
export type CorruptCopyOutcome =
  | "replaced" // a good body from a holder took the rotten copy's place
  | "intact" // the copy reads whole and matches its checksum: the report was stale (replaced meanwhile)
  | "gone" // no committed copy of that stamp is held any more (superseded, collected), or it is a tombstone
  | "unrepaired"; // no holder gave a good body: the rotten copy is kept, and a later attempt may succeed

/**
 * Replace a local copy that failed its check with a good one from a peer (storage-node onCorrupt, or a
 * scrubber). The local copy is read again whole first (a report may be stale). Each holder in turn serves its
 * body, checked against the version (verifyBody, when given), and the store writes it alongside the rotten
 * copy, checks it against the version's checksum and only then renames it over (BlobStore.replaceCommitted):
 * a body that fails midway (a holder whose own copy rotted too) costs nothing but a try of the next holder.
 * The rotten copy is never dropped first: it may be the last copy of an acknowledged write that a good body
 * can still reach later, and it carries the version's metadata meanwhile.
 */
export async function repairCorruptCopy<Body>(ctx: RepairContext<Body>, partition: PartitionId, version: ObjectVersion): Promise<CorruptCopyOutcome> {
  const what = { node: ctx.self, partition, bucket: version.bucket, key: version.key, stamp: version.stamp };
  if (version.deleted) return "gone"; // a tombstone holds no bytes that could rot
  const local = await ctx.store.readBody(version.bucket, version.key, version.stamp);
  if (!local.ok && local.error.kind === "not-found") return "gone";
  if (local.ok) {
    const stored = toObjectVersion(local.value.version);
    // Read to its end whatever follows: a streaming body left unread would hold its file open.
    const verdict = await ctx.checkStoredBody(local.value.body, stored);
    if (stored.checksum !== version.checksum) return "gone"; // another body under the same stamp: not this report's copy
    if (verdict.ok) return "intact";
  }
  const view = ctx.rings();
  const holders = [...new Set(ringsOf(view).flatMap((ring) => preferenceList(ring, partition).slice(0, ring.replicaCount + 1)))].filter((n) => n !== ctx.self && ctx.isLive(n));
  assert(!holders.includes(ctx.self), "a node never asks itself for its replacement");
  const entry: PartitionEntry = { bucket: version.bucket, key: version.key, stamp: version.stamp, deleted: version.deleted, checksum: version.checksum };
  const tried: { peer: NodeId; failure: string }[] = [];
  for (const peer of holders) {
    const got = await fetchVerified(ctx, partition, peer, entry);
    if (!got.ok) {
      tried.push({ peer, failure: `${got.error.kind}: ${got.error.detail}` });
      continue;
    }
    const replaced = await ctx.store.replaceCommitted(partition, got.value.version, got.value.body);
    if (!replaced.ok) {
      // The store refused the body (it broke midway, or its bytes do not match): the rotten copy is as it was.
      if (replaced.error.kind === "not-found") return "gone";
      tried.push({ peer, failure: `${replaced.error.kind}: ${replaced.error.detail}` });
      continue;
    }
    ctx.log.info("repair.corrupt-copy-replaced", { ...what, peer, tried });
    return "replaced";
  }
  ctx.log.error("repair.corrupt-copy-unrepaired", { ...what, holders, tried, kept: "the rotten copy, until a good body can be had" });
  return "unrepaired";
}

function addReport(into: RepairReport, from: RepairReport): void {
  into.partitions += from.partitions;
  into.pulled += from.pulled;
  into.pushed += from.pushed;
  into.pushedBytes += from.pushedBytes;
  into.handoffDropped += from.handoffDropped;
  into.writtenOff += from.writtenOff;
  into.supersededDropped += from.supersededDropped;
  into.tombstonesCollected += from.tombstonesCollected;
  into.pendingDropped += from.pendingDropped;
  into.caughtUp.push(...from.caughtUp);
  addFailures(into, from);
}
