// The coordinator: the write and read paths a router runs for one request, over the Transport port.
// Guarantees:
//   - writeVersion / deleteObject: the same Body value goes in one `put` to each of the first N live nodes of
//     the preference list (a live handoff carries `hintFor`, the down primary it stands in for); during a
//     ring transition, to the live placements of both rings. Commits are sent only once every ring has W
//     put acknowledgements whose checksum equals the caller's (`finish`), so below W nothing is committed
//     anywhere. Success needs W commit acknowledgements on every ring: an `ok` write is committed on at
//     least W replicas of each ring. Only primaries count toward W unless settings.sloppyQuorum (handoffs
//     still receive and commit their hinted copies), or a handoff counts in place of a down primary by the
//     stand-in rule of core/quorum.ts (countTowardQuorum, the one place that decides what counts). The put
//     phase ends as soon as the puts not yet failed could no longer make W, so a write whose receivers die
//     fails at once instead of after the survivors took the whole body. A failure is "quorum-failed" (the
//     router answers 503) or "body-rejected" (the caller's own digests refused the body: 400). After a
//     commit-phase failure some replicas may hold the version committed; it then behaves like any concurrent
//     write (last writer wins).
//   - readObject: asks live primaries (with settings.sloppyQuorum: the preference list, primaries first, then
//     handoffs; with fewer than R live primaries: the handoffs writes go to as well, for stand-ins), walking on
//     past any failure ("not-caught-up" included), until R answers per ring count (core/quorum.ts
//     countTowardQuorum); returns the newest version among all answers (tombstones
//     included: the caller maps a tombstone to 404) and the nodes that hold it. Read repair of answering
//     primaries that are behind runs in the background.
//   - openBody: fetches the body of exactly that version from one holder, checks its metadata and (via
//     verifyBody) its bytes, and switches to the next replica on any failure before returning a body.
//     resumeBody: the rest of a body that broke midway, from a replica that has not failed it yet.
// Assumes: the Transport turns lost messages into "timeout" (the coordinator has no timers); `finish`
// resolves once the body has streamed through the caller's hashers, which happens once any put has
// completed; the caller discards its body itself when the result is an error; stamps come from `hlc`.
//
// Body is opaque: the runtime passes a stream (its Transport tees it to every put), the simulator a value.

import { assert } from "./assert.ts";
import { type ResumeInput, planResume } from "./body-resume.ts";
import { checksumHex, xxhash64Bytes } from "./hash.ts";
import type { NodeId, PartitionId } from "./ids.ts";
import { type RingView, ringsOf } from "./membership.ts";
import type { ObjectVersion } from "./object-version.ts";
import { type Placement, isPrimary, livePlacement, partitionOf, preferenceList, primariesOf } from "./placement.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import type { ByteRange, CancelSignal, Log, ServedBody, Transport, TransportFailure, VersionHeader } from "./ports.ts";
import { Gate, type QuorumCount, countTowardQuorum, readQuorumNeeded, safeSend, standInsApply, writeQuorumNeeded } from "./quorum.ts";
import { type Result, err, ok } from "./result.ts";
import type { Ring } from "./ring.ts";
import type { ReplicationSettings } from "./settings.ts";
import type { HybridLogicalClock } from "./version.ts";

/** xxhash64 of zero bytes: the checksum of every tombstone (and of any empty object). */
export const EMPTY_BODY_CHECKSUM: string = checksumHex(xxhash64Bytes(new Uint8Array(0)));
/** MD5 of zero bytes: the S3 ETag of an empty object. */
export const EMPTY_BODY_ETAG = "d41d8cd98f00b204e9800998ecf8427e";

export interface CoordinatorDeps<Body> {
  readonly transport: Transport<Body>;
  /** The ring(s) in force now; called once per request. */
  rings(): RingView;
  /** This process's own liveness view (core/failure-detector.ts). */
  isLive(node: NodeId): boolean;
  readonly hlc: HybridLogicalClock;
  readonly log: Log;
  readonly settings: ReplicationSettings;
  /** A fresh empty body, for tombstones and read repair of tombstones. Its checksum must be EMPTY_BODY_CHECKSUM. */
  emptyBody(): Body;
  /**
   * Check a body received from a replica against its version (range: the part asked for). Returns the body to
   * hand on (the runtime may wrap a stream in a verifying one) or a failure, on which openBody switches
   * replica. Absent: bodies are trusted (the node verified them).
   */
  verifyBody?(body: Body, version: ObjectVersion, range: ByteRange | undefined): Result<Body, TransportFailure> | Promise<Result<Body, TransportFailure>>;
  /**
   * Let go of a body core received and will not hand on (a prefetched body of a version that lost the quorum, a
   * replica's body of the wrong version): the runtime cuts its stream, so the connection it holds is freed.
   * Absent: bodies are values, nothing to free.
   */
  discardBody?(body: Body): void;
  readonly faults?: PlantedBugs;
  /** Told of every quorum failure as it is decided (the runtime counts them for its metrics). */
  onQuorumFailed?(failure: QuorumFailure): void;
}

/** A write (put, delete, copy) or read that fell short of its quorum, and where. */
export type QuorumFailure = { readonly operation: "write"; readonly phase: "placement" | "put" | "commit" } | { readonly operation: "read" };

/** What the caller's hashers computed over the body it streamed. */
export interface BodyDigest {
  readonly etag: string;
  /** xxhash64, 16 hex digits: must equal what each replica computed. */
  readonly checksum: string;
  readonly size: number;
}

export interface WriteRequest<Body> {
  readonly bucket: string;
  readonly key: string;
  /** Declared size (Content-Length or x-amz-decoded-content-length). */
  readonly size: number;
  readonly contentType: string;
  readonly userMeta: Readonly<Record<string, string>>;
  readonly body: Body;
  /** Resolves when the body has fully streamed through the caller's hashers; an error refuses the body (e.g. Content-MD5 mismatch). */
  finish(): Promise<Result<BodyDigest, string>>;
}

export interface NodeFailure {
  readonly node: NodeId;
  readonly request: string;
  readonly failure: TransportFailure;
}

export interface WriteSuccess {
  readonly version: ObjectVersion;
  /** Nodes that committed the version by the time the write returned. */
  readonly acks: readonly NodeId[];
  /** Handoffs that claimed to stand in, caught up, for a down primary (core/stand-in.ts), with that primary. */
  readonly standIns: ReadonlyMap<NodeId, NodeId>;
}

export type WriteError =
  | {
      readonly kind: "quorum-failed";
      /** placement: too few live nodes to try; put: too few durable copies (nothing committed); commit: too few commits. */
      readonly phase: "placement" | "put" | "commit";
      readonly needed: number;
      readonly acks: readonly NodeId[];
      readonly failures: readonly NodeFailure[];
      /** The primaries whose copy the write lacks, and why (for the operator's log, never the client's answer). */
      readonly missed: readonly MissedNode[];
      readonly detail: string;
    }
  | { readonly kind: "body-rejected"; readonly detail: string };

/** The result, plus a promise that settles when every request this write sent has settled (for tests and the simulator). */
export type WriteOutcome = Result<WriteSuccess, WriteError> & { readonly background: Promise<void> };

export interface ReadAnswer<Body = unknown> {
  readonly partition: PartitionId;
  /** The newest version among the answers; a tombstone is returned as such; null when no answer had the key. */
  readonly version: ObjectVersion | null;
  /** Nodes that answered with exactly `version`. */
  readonly holders: readonly NodeId[];
  /** Every answer received, by node. */
  readonly answers: ReadonlyMap<NodeId, ObjectVersion | null>;
  /** Handoffs whose answers counted toward R in place of a down primary (core/quorum.ts), with that primary. */
  readonly standIns: ReadonlyMap<NodeId, NodeId>;
  readonly failures: readonly NodeFailure[];
  /** Read repair in flight; settles when it is done, with what each copy to a stale primary did. */
  readonly background: Promise<readonly RepairedCopy[]>;
  /**
   * With a prefetch: the body of `version` as the first replica asked sent it with its answer (checked as
   * openBody checks a body), when that replica holds the winning version; the caller owns it and hands it on
   * with openAnswerBody (or discards it). Absent when the prefetch found nothing to use: openBody then fetches it.
   */
  readonly body?: PrefetchedBody<Body>;
}

/** A body that came with a read answer (core/ports.ts "read"): from which node, and which bytes (range absent: whole). */
export interface PrefetchedBody<Body> extends ServedBody<Body> {
  readonly from: NodeId;
}

/** What a read asks the first replica for besides its answer: the body, whole or a range (core/ports.ts "read"). */
export interface BodyPrefetch {
  readonly range?: ByteRange;
}

/** One read repair copy: the stale primary it went to, and whether it was stored and committed there. */
export interface RepairedCopy {
  readonly node: NodeId;
  readonly ok: boolean;
}

export type ReadError =
  | {
      readonly kind: "quorum-failed";
      readonly needed: number;
      /** Answers that counted toward R on the ring that fell short (a handoff's answer may not count). */
      readonly counted: number;
      /** Every node that answered, counted or not. */
      readonly answered: readonly NodeId[];
      readonly failures: readonly NodeFailure[];
      /** The primaries that gave no answer, and why (for the operator's log, never the client's answer). */
      readonly missed: readonly MissedNode[];
    }
  /** The reader gave up (its client went away): what the nodes answered until then proves nothing. */
  | { readonly kind: "cancelled" };

/** A primary a failed quorum went without: down in the coordinator's view, or what its request answered. */
export interface MissedNode {
  readonly node: NodeId;
  readonly why: string;
}

/**
 * The primaries (of every ring, each once) not `counted` that are down in the coordinator's view or whose request
 * failed, each with why, for a quorum failure's log line. A live primary still answering when the quorum was
 * given up (the others made it impossible) was not missed: it is not named.
 */
export function missedPrimaries(primaries: readonly NodeId[], counted: (node: NodeId) => boolean, isLive: (node: NodeId) => boolean, failures: readonly NodeFailure[]): MissedNode[] {
  const missed: MissedNode[] = [];
  for (const node of new Set(primaries)) {
    if (counted(node)) continue;
    const failed = failures.filter((f) => f.node === node);
    if (failed.length > 0) missed.push({ node, why: failed.map((f) => `${f.request}: ${f.failure.kind} ${f.failure.detail}`).join("; ") });
    else if (!isLive(node)) missed.push({ node, why: "down (no heartbeat within the failure timeout)" });
  }
  return missed;
}

export interface BodyAnswer<Body> {
  readonly version: ObjectVersion;
  readonly body: Body;
  readonly from: NodeId;
  /** Replicas tried before `from` and why they failed (corrupt ones are worth a log line). */
  readonly failures: readonly NodeFailure[];
}

export type BodyError = { readonly kind: "unavailable"; readonly failures: readonly NodeFailure[] } | { readonly kind: "cancelled" };

const noBackground = Promise.resolve();

// ---------------------------------------------------------------------------------------------------------
// Write path

/** Write a new version of an object. Its stamp is minted here, once its body is durable on W copies. */
export function writeVersion<Body>(deps: CoordinatorDeps<Body>, request: WriteRequest<Body>): Promise<WriteOutcome> {
  assert(Number.isInteger(request.size) && request.size >= 0, () => `size ${request.size} must be a non-negative integer`);
  const header: VersionHeader = {
    bucket: request.bucket,
    key: request.key,
    stamp: deps.hlc.mint(),
    size: request.size,
    contentType: request.contentType,
    userMeta: request.userMeta,
    deleted: false,
  };
  return writeStamped(deps, header, request.body, () => request.finish());
}

/** Delete an object: write a tombstone (a version with deleted = true and no body). */
export function deleteObject<Body>(deps: CoordinatorDeps<Body>, bucket: string, key: string): Promise<WriteOutcome> {
  const header: VersionHeader = { bucket, key, stamp: deps.hlc.mint(), size: 0, contentType: "", userMeta: {}, deleted: true };
  return writeStamped(deps, header, deps.emptyBody(), async () => ok({ etag: "", checksum: EMPTY_BODY_CHECKSUM, size: 0 }));
}

interface Side {
  readonly ring: Ring;
  readonly primaries: readonly NodeId[];
  /** The live placements on this ring: the nodes whose acknowledgements may count toward its W. */
  readonly placements: readonly Placement[];
  readonly needed: number;
}

async function writeStamped<Body>(
  deps: CoordinatorDeps<Body>,
  header: VersionHeader,
  body: Body,
  finish: () => Promise<Result<BodyDigest, string>>,
): Promise<WriteOutcome> {
  const view = deps.rings();
  const partition = partitionOf(view.current, header.bucket, header.key);
  const targets = new Map<NodeId, NodeId | undefined>(); // node → hintFor
  const standInsAllowed = standInsApply(view, deps.settings.sloppyQuorum);
  const sides: Side[] = (deps.faults?.writesOnlyToNewRing ? [view.current] : ringsOf(view)).map((ring) => {
    const placements = livePlacement(ring, partition, (n) => deps.isLive(n));
    for (const p of placements) {
      const hint = p.role === "handoff" ? p.hintFor : undefined;
      if (!targets.has(p.node)) targets.set(p.node, hint);
      else if (hint === undefined) targets.set(p.node, undefined); // a primary on either ring writes without a hint
    }
    return { ring, primaries: primariesOf(ring, partition), placements, needed: writeQuorumNeeded(ring, deps.settings.writeQuorum, deps.faults) };
  });
  // Handoffs that said, in their put reply, which down primary they stand in for, caught up (core/stand-in.ts).
  const claims = new Map<NodeId, NodeId>();
  // Nodes that refused this write's connection: down for this write (core/quorum.ts, "down for this request").
  const refused = new Set<NodeId>();
  /** Does `replied` make W on this side? Sloppy: any placement counts; strict: the rule of core/quorum.ts. */
  const countOn = (s: Side, replied: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>): QuorumCount => {
    if (deps.settings.sloppyQuorum) {
      const counted = s.placements.filter((p) => replied.has(p.node)).length;
      return { met: counted >= s.needed, counted, standIns: new Map() };
    }
    const replies = s.placements.filter((p) => replied.has(p.node)).map((p) => ({ node: p.node, standInFor: claims.get(p.node) }));
    return countTowardQuorum(s.primaries, s.needed, (n) => !deps.isLive(n) || refused.has(n), replies, standInsAllowed);
  };
  const failures: NodeFailure[] = [];
  /** The version, once the body is durable and its stamp minted (step 2). */
  let version: ObjectVersion | undefined;
  /** `counted`: the nodes whose copy counted in the phase that failed (none before the puts: only down primaries are missed). */
  const fail = (phase: "placement" | "put" | "commit", acks: readonly NodeId[], detail: string, background: Promise<void>, counted: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>): WriteOutcome => {
    const missed = missedPrimaries(sides.flatMap((s) => s.primaries), (n) => counted.has(n) || (phase === "placement" && deps.isLive(n)), (n) => deps.isLive(n), failures);
    deps.log.warn("write.quorum-failed", { bucket: header.bucket, key: header.key, stamp: (version ?? header).stamp, partition, phase, detail, acks: acks.length, missed, failures: describeFailures(failures) });
    deps.onQuorumFailed?.({ operation: "write", phase });
    const needed = Math.max(...sides.map((s) => s.needed));
    return { ...err({ kind: "quorum-failed", phase, needed, acks, failures, missed, detail }), background };
  };

  // Too few nodes to try: fewer live primaries than W, and (when stand-ins may count) fewer live placements.
  const mayCount = (s: Side) => s.placements.filter((p) => p.role === "primary" || deps.settings.sloppyQuorum || standInsAllowed).length;
  const short = sides.find((s) => mayCount(s) < s.needed);
  if (short) return fail("placement", [], `ring ${short.ring.epoch}: ${mayCount(short)} live placements, need ${short.needed}`, noBackground, new Set());

  const gate = new Gate();
  const putAcks = new Map<NodeId, { checksum: string; size: number }>();
  const matched = new Set<NodeId>();
  const committed = new Set<NodeId>();
  let commitsOpen = false;

  const sendCommit = (node: NodeId): void => {
    assert(version !== undefined, "commit before the version is known");
    const hintFor = targets.get(node);
    const rekeyed = version.stamp === header.stamp ? {} : { written: header.stamp };
    gate.track(safeSend(deps.transport, node, { kind: "commit", partition, version, ...(hintFor ? { hintFor } : {}), ...rekeyed }), (r) => {
      if (r.ok) committed.add(node);
      else {
        failures.push({ node, request: "commit", failure: r.error });
        if (r.error.kind === "unreachable") refused.add(node);
      }
    });
  };
  const onMatch = (node: NodeId, ack: { checksum: string; size: number }): void => {
    if (!version || ack.checksum !== version.checksum || ack.size !== version.size) return;
    matched.add(node);
    if (commitsOpen) sendCommit(node);
  };

  const putsFailed = new Set<NodeId>();
  for (const [node, hintFor] of targets) {
    gate.track(safeSend(deps.transport, node, { kind: "put", partition, header, body, ...(hintFor ? { hintFor } : {}) }), (r) => {
      if (!r.ok) {
        putsFailed.add(node);
        failures.push({ node, request: "put", failure: r.error });
        if (r.error.kind === "unreachable") refused.add(node);
        return;
      }
      if (r.value.standInFor !== undefined) claims.set(node, r.value.standInFor);
      putAcks.set(node, r.value);
      onMatch(node, r.value);
    });
  }
  const background = gate.settled();
  const enough = (set: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>) => sides.every((s) => countOn(s, set).met);

  // Once the puts still open cannot make W on some ring, the write has failed: say so now, so that the
  // caller stops streaming a body nobody can commit (replicas killed mid-PUT answer in seconds, not after
  // the survivors took the whole body). Counting every placement not yet failed is an upper bound on what
  // countTowardQuorum could count, so this never gives up on a write that could still succeed.
  const stillPossible = () => sides.every((s) => s.placements.filter((p) => !putsFailed.has(p.node)).length >= s.needed);

  // 1. The body has reached W replicas on every ring (so it has streamed through the caller's hashers).
  await gate.until(() => enough(putAcks) || !stillPossible());
  if (!enough(putAcks)) return fail("put", [], `${putAcks.size} of ${targets.size} puts acknowledged`, background, putAcks);

  // 2. The caller's digests: only copies whose checksum agrees with them count.
  const digest = await finish().catch((error: unknown) => err(`the body failed: ${error instanceof Error ? error.message : String(error)}`));
  if (!digest.ok) return { ...err({ kind: "body-rejected", detail: digest.error }), background };
  if (digest.value.size !== header.size) {
    return { ...err({ kind: "body-rejected", detail: `body has ${digest.value.size} bytes, ${header.size} declared` }), background };
  }
  // Last writer wins by completion (S3's rule): the version's stamp is minted now that the body is durable on W
  // copies, not when the PUT began, so of two overlapping PUTs of a key the one whose body finished last stays.
  // The copies hold it under the put's stamp until their commit re-keys it (BlobStore.commit).
  const completed = deps.faults?.stampAtStart ? header.stamp : deps.hlc.mint();
  assert(completed > header.stamp || deps.faults?.stampAtStart === true, () => `stamp ${completed} minted at completion must follow the put's ${header.stamp}`);
  version = { ...header, stamp: completed, etag: digest.value.etag, checksum: digest.value.checksum };
  for (const [node, ack] of putAcks) onMatch(node, ack);
  await gate.until(() => enough(matched));
  if (!enough(matched)) return fail("put", [], `${matched.size} copies with checksum ${version.checksum}`, background, matched);

  // 3. Commit on every matching copy (late ones too); success once W commits per ring.
  commitsOpen = true;
  for (const node of matched) sendCommit(node);
  await gate.until(() => enough(committed));
  const acks = [...committed];
  if (!enough(committed)) return fail("commit", acks, `${committed.size} commits`, background, committed);
  assert(
    sides.every((s) => countOn(s, committed).counted >= s.needed),
    "an acknowledged write must be committed on the write quorum of every ring",
  );
  return { ...ok({ version, acks, standIns: claims }), background };
}

/** One line per failed request, for the operator's log: which node, which request, why. */
export function describeFailures(failures: readonly NodeFailure[]): string[] {
  return failures.map((f) => `${f.node} ${f.request}: ${f.failure.kind} ${f.failure.detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// Read path

/** The newest version of an object among R answers per ring, walking on past failures. */
/**
 * The newest version of a key, by quorum. Once `signal` aborts, the head requests in flight are cut, no more
 * are sent, and the answer is "cancelled" (never a quorum failure: nothing is wrong with the nodes). Read
 * repair, once started, is the cluster's work and does not stop with the reader.
 */
export async function readObject<Body>(deps: CoordinatorDeps<Body>, bucket: string, key: string, signal?: CancelSignal, prefetch?: BodyPrefetch): Promise<Result<ReadAnswer<Body>, ReadError>> {
  const view = deps.rings();
  const partition = partitionOf(view.current, bucket, key);
  const asked = new Map<NodeId, Promise<boolean>>();
  const answers = new Map<NodeId, ObjectVersion | null>();
  // Handoffs that said, in their head answer, which down primary they stand in for, caught up (core/stand-in.ts).
  const claims = new Map<NodeId, NodeId>();
  const failures: NodeFailure[] = [];
  const standInsAllowed = standInsApply(view, deps.settings.sloppyQuorum);
  const standIns = new Map<NodeId, NodeId>();

  // Primaries that refused this request's connection are down for this request (core/quorum.ts, "down for
  // this request"), before the failure detector has noticed: their slot may then be filled by a stand-in.
  const refused = new Set<NodeId>();
  const liveNow = (node: NodeId): boolean => deps.isLive(node) && !refused.has(node);

  // With a prefetch, the first replica asked is asked for the body too ("read"); the others only for a head.
  let prefetched: PrefetchedBody<Body> | undefined;
  const send = (node: NodeId, request: "head" | "read") => {
    if (request === "head" || prefetch === undefined) return safeSend(deps.transport, node, { kind: "head", partition, bucket, key }, signal);
    return safeSend(deps.transport, node, { kind: "read", partition, bucket, key, ...(prefetch.range ? { range: prefetch.range } : {}) }, signal).then((r) => {
      if (r.ok && r.value.body !== undefined) prefetched = { ...r.value.body, from: node };
      return r;
    });
  };
  const ask = (node: NodeId): Promise<boolean> => {
    let pending = asked.get(node);
    if (!pending) {
      const request = prefetch !== undefined && asked.size === 0 ? "read" : "head";
      pending = send(node, request).then((r) => {
        if (r.ok) {
          answers.set(node, r.value.version);
          if (r.value.standInFor !== undefined) claims.set(node, r.value.standInFor);
        } else {
          failures.push({ node, request, failure: r.error });
          if (r.error.kind === "unreachable") refused.add(node);
        }
        return r.ok;
      });
      asked.set(node, pending);
    }
    return pending;
  };

  /**
   * R lanes, each walking the candidates until it gets one answer that may count: the live primaries (the whole
   * preference list with sloppy quorums); with fewer live primaries than R, then also the handoffs writes go
   * to, whose answers count only as stand-ins (core/quorum.ts decides, once every lane is done). The candidates
   * are recomputed at each step, so a primary that refuses the connection brings in the handoffs at once.
   */
  const quorumOn = async (ring: Ring): Promise<{ needed: number; got: number }> => {
    const needed = readQuorumNeeded(ring, deps.settings.readQuorum);
    const primaries = primariesOf(ring, partition);
    const candidatesNow = (): readonly NodeId[] => {
      if (deps.settings.sloppyQuorum) return preferenceList(ring, partition).filter(liveNow);
      const livePrimaries = primaries.filter(liveNow);
      return standInsAllowed && livePrimaries.length < needed ? livePlacement(ring, partition, liveNow).map((p) => p.node) : livePrimaries;
    };
    const mayCount = (node: NodeId): boolean => deps.settings.sloppyQuorum || primaries.includes(node) || claims.has(node);
    const taken = new Set<NodeId>();
    const lane = async (): Promise<void> => {
      while (signal?.aborted !== true && taken.size < deps.settings.readWalkMax) {
        const node = candidatesNow().find((n) => !taken.has(n));
        if (node === undefined) return;
        taken.add(node);
        if ((await ask(node)) && mayCount(node)) return;
      }
    };
    await Promise.all(Array.from({ length: needed }, lane));
    const repliedNodes = [...taken].filter((n) => answers.has(n));
    if (deps.settings.sloppyQuorum) return { needed, got: repliedNodes.length };
    const replies = repliedNodes.map((n) => ({ node: n, standInFor: claims.get(n) }));
    const count = countTowardQuorum(primaries, needed, (n) => !liveNow(n), replies, standInsAllowed);
    for (const [node, primary] of count.standIns) standIns.set(node, primary);
    return { needed, got: count.counted };
  };

  const quorums = await Promise.all(ringsOf(view).map(quorumOn));
  // Every request sent has settled by now (each lane awaited its own), so no body can arrive after this.
  const discardPrefetched = () => {
    if (prefetched !== undefined) deps.discardBody?.(prefetched.bytes);
  };
  if (signal?.aborted) {
    discardPrefetched();
    return err({ kind: "cancelled" });
  }
  const short = quorums.find((q) => q.got < q.needed);
  if (short) {
    discardPrefetched();
    const missed = missedPrimaries(ringsOf(view).flatMap((ring) => primariesOf(ring, partition)), (n) => answers.has(n), (n) => deps.isLive(n), failures);
    deps.log.warn("read.quorum-failed", { bucket, key, partition, needed: short.needed, got: short.got, missed, failures: describeFailures(failures) });
    deps.onQuorumFailed?.({ operation: "read" });
    return err({ kind: "quorum-failed", needed: short.needed, counted: short.got, answered: [...answers.keys()], failures, missed });
  }

  let version: ObjectVersion | null = null;
  for (const v of answers.values()) if (v && (!version || v.stamp > version.stamp)) version = v;
  const holders = [...answers].filter(([, v]) => version !== null && v?.stamp === version.stamp).map(([n]) => n);
  if (version) deps.hlc.observe(version.stamp);

  let background: Promise<readonly RepairedCopy[]> = noRepair;
  if (version && deps.settings.readRepair) {
    const stale = [...answers]
      .filter(([node, v]) => (!v || v.stamp < version.stamp) && isPrimary(view.current, partition, node))
      .map(([node]) => node);
    if (stale.length > 0) background = readRepair(deps, partition, version, holders, stale);
  }
  const body = await prefetchedBodyOf(deps, prefetched, version, answers, partition);
  return ok({ partition, version, holders, answers, standIns, failures, background, ...(body ? { body } : {}) });
}

/**
 * The prefetched body if it is the quorum's version (the replica that sent it answered with exactly that stamp
 * and checksum) and passes verifyBody, as openBody would check it; otherwise discarded.
 */
async function prefetchedBodyOf<Body>(
  deps: CoordinatorDeps<Body>,
  prefetched: PrefetchedBody<Body> | undefined,
  version: ObjectVersion | null,
  answers: ReadonlyMap<NodeId, ObjectVersion | null>,
  partition: PartitionId,
): Promise<PrefetchedBody<Body> | undefined> {
  if (prefetched === undefined) return undefined;
  // A node sends the body of the version it answered with: the body is the winner's when that answer is.
  const sent = answers.get(prefetched.from);
  if (version === null || version.deleted || sent?.stamp !== version.stamp || sent.checksum !== version.checksum) {
    deps.discardBody?.(prefetched.bytes);
    return undefined;
  }
  if (!deps.verifyBody || deps.faults?.skipReadChecksum) return prefetched;
  const verified = await deps.verifyBody(prefetched.bytes, version, prefetched.range);
  if (!verified.ok) {
    deps.log.error("read.corrupt-replica", { bucket: version.bucket, key: version.key, stamp: version.stamp, node: prefetched.from, partition, failure: verified.error });
    deps.discardBody?.(prefetched.bytes);
    return undefined;
  }
  return { ...prefetched, bytes: verified.value };
}

const noRepair: Promise<readonly RepairedCopy[]> = Promise.resolve([]);

async function readRepair<Body>(deps: CoordinatorDeps<Body>, partition: PartitionId, version: ObjectVersion, holders: readonly NodeId[], stale: readonly NodeId[]): Promise<readonly RepairedCopy[]> {
  const done: RepairedCopy[] = [];
  for (const node of stale) {
    // Planted bug readRepairNeverWritesBack: the copy is reported made and never sent.
    const copied = deps.faults?.readRepairNeverWritesBack ? ok(undefined) : await copyVersion(deps, partition, version, holders, node, undefined);
    deps.log.info("read.repair", { bucket: version.bucket, key: version.key, stamp: version.stamp, node, ok: copied.ok, ...(copied.ok ? {} : { failure: copied.error }) });
    done.push({ node, ok: copied.ok });
  }
  return done;
}

/**
 * Copy one committed version to `to` through the transport: the body from the first source that serves it
 * (none for a tombstone), then put and commit. Used by read repair.
 */
export async function copyVersion<Body>(
  deps: Pick<CoordinatorDeps<Body>, "transport" | "emptyBody" | "discardBody">,
  partition: PartitionId,
  version: ObjectVersion,
  sources: readonly NodeId[],
  to: NodeId,
  hintFor: NodeId | undefined,
): Promise<Result<void, TransportFailure>> {
  let body: Body | undefined;
  let lastFailure: TransportFailure = { kind: "not-found", detail: "no source" };
  if (version.deleted) body = deps.emptyBody();
  else {
    for (const source of sources) {
      if (source === to) continue;
      const got = await safeSend(deps.transport, source, { kind: "get", partition, bucket: version.bucket, key: version.key, stamp: version.stamp });
      if (got.ok && got.value.version.checksum === version.checksum) {
        body = got.value.body;
        break;
      }
      if (got.ok) deps.discardBody?.(got.value.body);
      lastFailure = got.ok ? { kind: "corrupt", detail: `${source} served checksum ${got.value.version.checksum}` } : got.error;
    }
  }
  if (body === undefined) return err(lastFailure);
  return putAndCommit(deps.transport, to, partition, version, body, hintFor);
}

/** Put a committed version's body on `to` and commit it there: the push half of repair and read repair. */
export async function putAndCommit<Body>(
  transport: Transport<Body>,
  to: NodeId,
  partition: PartitionId,
  version: ObjectVersion,
  body: Body,
  hintFor: NodeId | undefined,
): Promise<Result<void, TransportFailure>> {
  const { etag: _etag, checksum: _checksum, ...header } = version;
  const hint = hintFor ? { hintFor } : {};
  const put = await safeSend(transport, to, { kind: "put", partition, header, body, ...hint });
  if (!put.ok) return err(put.error);
  if (put.value.checksum !== version.checksum) {
    return err({ kind: "checksum-mismatch", detail: `${to} stored checksum ${put.value.checksum}, expected ${version.checksum}` });
  }
  const commit = await safeSend(transport, to, { kind: "commit", partition, version, ...hint });
  return commit.ok ? ok(undefined) : err(commit.error);
}

/** Which replicas a body read must not ask (they failed this body) and which to ask last (they failed it lately). */
export interface BodySourcing {
  readonly exclude?: readonly NodeId[];
  readonly last?: readonly NodeId[];
}

/**
 * The replicas to ask for a body, in order: the nodes that answered with the version, then the other live
 * nodes of its preference lists, then those in `last` (a recent read found their copy bad or lost them midway)
 * and holders this process counts as down by now (a resume comes seconds after the read): still worth a try
 * when nothing else serves. Never one in `exclude`; at most bodyAttemptsMax.
 */
export function bodyCandidates<Body>(deps: Pick<CoordinatorDeps<Body>, "rings" | "isLive" | "settings">, answer: Pick<ReadAnswer, "partition" | "holders">, sourcing: BodySourcing = {}): NodeId[] {
  const exclude = sourcing.exclude ?? [];
  const last = sourcing.last ?? [];
  const others = ringsOf(deps.rings())
    .flatMap((ring) => preferenceList(ring, answer.partition))
    .filter((n) => deps.isLive(n) && !answer.holders.includes(n));
  const ordered = [...new Set([...answer.holders, ...others])].filter((n) => !exclude.includes(n));
  const later = (n: NodeId) => last.includes(n) || !deps.isLive(n);
  return [...ordered.filter((n) => !later(n)), ...ordered.filter(later)].slice(0, deps.settings.bodyAttemptsMax);
}

/** The body of exactly `answer.version`, from one replica, switching replica on any failure. */
export async function openBody<Body>(
  deps: CoordinatorDeps<Body>,
  answer: Pick<ReadAnswer, "partition" | "version" | "holders">,
  range?: ByteRange,
  sourcing: BodySourcing = {},
  signal?: CancelSignal,
): Promise<Result<BodyAnswer<Body>, BodyError>> {
  const version = answer.version;
  assert(version !== null && !version.deleted, "openBody needs a live (non-tombstone) version");
  const candidates = bodyCandidates(deps, answer, sourcing);
  const failures: NodeFailure[] = [];
  for (const node of candidates) {
    // A reader gone: no more replicas asked (the one in flight was cut by the transport).
    if (signal?.aborted) return err({ kind: "cancelled" });
    const got = await safeSend(deps.transport, node, { kind: "get", partition: answer.partition, bucket: version.bucket, key: version.key, stamp: version.stamp, ...(range ? { range } : {}) }, signal);
    if (!got.ok) {
      failures.push({ node, request: "get", failure: got.error });
      continue;
    }
    const served = got.value.version;
    if (served.stamp !== version.stamp || served.checksum !== version.checksum) {
      failures.push({ node, request: "get", failure: { kind: "corrupt", detail: `served ${served.stamp}/${served.checksum}, wanted ${version.stamp}/${version.checksum}` } });
      deps.discardBody?.(got.value.body);
      continue;
    }
    let body = got.value.body;
    // PLANTED BUG skipReadChecksum: hand the bytes on without checking them.
    if (deps.verifyBody && !deps.faults?.skipReadChecksum) {
      const verified = await deps.verifyBody(body, version, range);
      if (!verified.ok) {
        failures.push({ node, request: "get", failure: verified.error });
        deps.log.error("read.corrupt-replica", { bucket: version.bucket, key: version.key, stamp: version.stamp, node, partition: answer.partition, failure: verified.error });
        continue;
      }
      body = verified.value;
    }
    return ok({ version, body, from: node, failures });
  }
  deps.log.warn("read.body-unavailable", { bucket: version.bucket, key: version.key, stamp: version.stamp, tried: candidates.length });
  return err({ kind: "unavailable", failures });
}

/**
 * The body of a read answer's version, whole or `range`: the prefetched one when it is exactly those bytes from a
 * replica not excluded (one round trip for the whole GET), else openBody's. A prefetched body not used is
 * discarded here, so a caller that opens the body through this never leaks one.
 */
export function openAnswerBody<Body>(
  deps: CoordinatorDeps<Body>,
  answer: Pick<ReadAnswer<Body>, "partition" | "version" | "holders" | "body">,
  range?: ByteRange,
  sourcing: BodySourcing = {},
  signal?: CancelSignal,
): Promise<Result<BodyAnswer<Body>, BodyError>> {
  const version = answer.version;
  assert(version !== null && !version.deleted, "openAnswerBody needs a live (non-tombstone) version");
  const prefetched = answer.body;
  if (prefetched !== undefined) {
    // A replica in `last` (its copy recently failed or broke midway) is not used first: openBody asks it last.
    const avoided = [...(sourcing.exclude ?? []), ...(sourcing.last ?? [])];
    if (sameBytes(prefetched.range, range) && !avoided.includes(prefetched.from) && signal?.aborted !== true) {
      return Promise.resolve(ok({ version, body: prefetched.bytes, from: prefetched.from, failures: [] }));
    }
    deps.discardBody?.(prefetched.bytes);
  }
  return openBody(deps, answer, range, sourcing, signal);
}

/** Do two ranges (undefined: the whole body) name the same bytes? Both are as served: clamped to the body. */
function sameBytes(a: ByteRange | undefined, b: ByteRange | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.start === b.start && a.endInclusive === b.endInclusive;
}

/**
 * The rest of a body that broke after `resume.deliveredBytes` bytes of `range` (whole body when undefined)
 * reached the reader: from another replica of the same version, starting at the first byte not delivered
 * (core/body-resume.ts decides the range and whom not to ask). The body returned covers that rest only.
 */
export async function resumeBody<Body>(
  deps: CoordinatorDeps<Body>,
  answer: Pick<ReadAnswer, "partition" | "version" | "holders">,
  range: ByteRange | undefined,
  resume: Omit<ResumeInput, "sizeBytes" | "range" | "resumesMax">,
  last: readonly NodeId[] = [],
  signal?: CancelSignal,
): Promise<Result<BodyAnswer<Body> & { readonly range: ByteRange }, BodyError | { readonly kind: "not-resumable"; readonly detail: string }>> {
  const version = answer.version;
  assert(version !== null && !version.deleted, "resumeBody needs a live (non-tombstone) version");
  const plan = planResume({ ...resume, sizeBytes: version.size, range, resumesMax: deps.settings.bodyAttemptsMax });
  if (!plan.ok) return err({ kind: "not-resumable", detail: plan.error });
  const opened = await openBody(deps, answer, plan.value.range, { exclude: plan.value.exclude, last }, signal);
  if (!opened.ok) return opened;
  deps.log.info("read.body-resumed", { bucket: version.bucket, key: version.key, stamp: version.stamp, from: opened.value.from, failed: plan.value.exclude, start: plan.value.range.start, endInclusive: plan.value.range.endInclusive });
  return ok({ ...opened.value, range: plan.value.range });
}
