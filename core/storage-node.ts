// The storage node's request handler: one ReplicaRequest in, one typed response (or failure) out, over the
// node's BlobStore. The runtime's HTTP server decodes a request and calls handleReplicaRequest; the
// simulator delivers a message and calls the same function.
// Guarantees:
//   - `head` answers "not-caught-up" for a partition this node is a primary of but has not synced since it
//     (re)started or gained the partition (core/catch-up.ts), so such a node never counts toward R.
//   - `head` and `put` replies of a handoff name the down primary it stands in for only when its stand-in
//     state says it is caught up there (core/stand-in.ts); the coordinator decides what that counts for.
//   - `get` hands out a body only after checking it against the stored version (verifyBody, when given;
//     the BlobStore may check as well); a failed check is reported as "corrupt" and to onCorrupt.
//   - `put` refuses a request whose partition is not the key's partition; `commit` is idempotent (a version
//     already committed here commits again without error).
//   - `list-bucket` answers "not-caught-up" while this node's disk lacks versions it acknowledged (a replaced
//     disk, lost rows) on any partition it is a primary of, so such a node never counts toward a listing.
//   - listings and digests cover committed versions only, never pending ones; a digest covers the newest
//     version of each key (tombstones included), so two replicas with the same live content agree whatever
//     superseded versions each still keeps.
//   - with a bucket table (core/bucket-table.ts), `put` and `commit` of a version of a bucket the table marks
//     deleting or deleted are refused, and a `buckets` change that stops writes to a bucket is answered only
//     once it is durable and the commits to that bucket already admitted have finished (core/bucket-write-gate.ts).
// Assumes: the BlobStore's writePending/writeCommitted of a stamp it already holds succeed (idempotent), and
// its listPartition orders by (bucket, key, stamp) and resumes from a PartitionCursor as core/ports.ts defines it.

import { type BucketEntry, type BucketTable, takesWrites } from "./bucket-table.ts";
import type { BucketWriteGate } from "./bucket-write-gate.ts";
import { DigestCachingStore } from "./digest-cache.ts";
import { isManifestObject } from "./manifest.ts";
import type { ForeignHoldings } from "./foreign-holdings.ts";
import { type PartitionDigest, computeDigestSum, renderDigest } from "./partition-digest.ts";
import type { CatchUpState } from "./catch-up.ts";
import type { StandInState } from "./stand-in.ts";
import type { ClusterMap } from "./cluster-map.ts";
import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import { type PeerReport, type RingView, ringsOf } from "./membership.ts";
import type { ObjectVersion, VersionStamp } from "./object-version.ts";
import { isPrimary, partitionOf } from "./placement.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import type {
  BlobStore,
  ByteRange,
  DigestAnswer,
  Log,
  PartitionCursor,
  PartitionEntry,
  ReplicaRequest,
  ReplicaResponse,
  RequestKind,
  RequestOf,
  StoreFailure,
  StoredVersion,
  TransportFailure,
} from "./ports.ts";
import { type Result, err, ok } from "./result.ts";
import { unreachable } from "./assert.ts";
import { afterVersion } from "./partition-cursor.ts";
import { type NodeListingRequest, nodeListingPage } from "./listing.ts";

export interface StorageNodeContext<Body> {
  readonly self: NodeId;
  readonly store: BlobStore<Body>;
  readonly catchUp: CatchUpState;
  /** Partitions this node holds for a down primary (core/stand-in.ts). Absent: it never claims to stand in. */
  readonly standIns?: StandInState;
  /** This node's membership (core/membership.ts Membership fits). */
  readonly membership: { readonly map: ClusterMap; readonly epoch: Epoch; readonly hash: string; readonly view: RingView };
  /** What this node holds of partitions it is not a primary of; reported in heartbeats. Absent: reported as nothing known. */
  readonly foreign?: ForeignHoldings;
  /** A heartbeat arrived: feed the failure detector and Membership.observe (and fetch the map if it says so). */
  onHeartbeat?(from: NodeId, report: PeerReport): void;
  /** Check a body read from the store against its version; see CoordinatorDeps.verifyBody. */
  verifyBody?(body: Body, version: ObjectVersion, range: ByteRange | undefined): Result<Body, TransportFailure> | Promise<Result<Body, TransportFailure>>;
  /** The operator hands this node a new map (Membership.adopt, then persist it); absent: the node refuses. */
  installMap?(map: ClusterMap): Result<ReplicaResponse<Body>["install-map"]["outcome"], string>;
  /** A stored copy failed its check: the host should queue core/repair.ts repairCorruptCopy for it. */
  onCorrupt?(partition: PartitionId, version: ObjectVersion, detail: string): void;
  readonly log: Log;
  readonly faults?: PlantedBugs;
  /** This node's copy of the bucket table and its commit gate. Absent (the simulator): no bucket is refused. */
  readonly buckets?: NodeBuckets;
  /** Cap on `limit` of list requests; default 1000. */
  readonly listLimitMax?: number;
}

export interface NodeBuckets {
  readonly table: BucketTable;
  readonly gate: BucketWriteGate;
  /** Make changed entries durable (the runtime writes the table file); resolves once they are. */
  persist(changed: readonly BucketEntry[]): Promise<void>;
}

export type HandlerResult<Body, K extends RequestKind> = Result<ReplicaResponse<Body>[K], TransportFailure>;

const defaultListLimitMax = 1000;

/** What this node's copy of a partition can vouch for, for a catching-up peer (core/repair.ts pullFromPeers). */
function vouching<Body>(ctx: StorageNodeContext<Body>, partition: PartitionId): { caughtUpPrimary: boolean; intactPrimary: boolean } {
  const primary = ringsOf(ctx.membership.view).some((ring) => isPrimary(ring, partition, ctx.self));
  return { caughtUpPrimary: primary && ctx.catchUp.isCaughtUp(partition), intactPrimary: primary && ctx.catchUp.isCaughtUpOrIntact(partition) };
}
/** Partitions one digests request may name: bounds the work one request can ask of a node. */
export const DIGESTS_PER_REQUEST_MAX = 256;

export async function handleReplicaRequest<Body, K extends RequestKind>(ctx: StorageNodeContext<Body>, request: RequestOf<K, Body>): Promise<HandlerResult<Body, K>> {
  // The switch narrows `request`; the response type follows K, which TypeScript cannot relate through the
  // narrowing, hence the one cast at the end.
  const r = request as ReplicaRequest<Body>;
  return (await dispatch(ctx, r)) as HandlerResult<Body, K>;
}

async function dispatch<Body>(ctx: StorageNodeContext<Body>, r: ReplicaRequest<Body>): Promise<Result<unknown, TransportFailure>> {
  switch (r.kind) {
    case "put":
      return put(ctx, r);
    case "commit":
      return commit(ctx, r);
    case "head":
      return head(ctx, r);
    case "read":
      return read(ctx, r);
    case "get":
      return get(ctx, r);
    case "drop": {
      const dropped = await ctx.store.drop(r.bucket, r.key, r.stamp);
      return dropped.ok ? ok({ dropped: dropped.value }) : storeErr(dropped.error);
    }
    case "list-partition":
      return listPartitionCommitted(ctx.store, r.partition, r.from, Math.min(r.limit, ctx.listLimitMax ?? defaultListLimitMax));
    case "digest": {
      const digest = await partitionDigest(ctx.store, r.partition);
      return digest.ok ? ok({ ...digest.value, ...vouching(ctx, r.partition) }) : storeErr(digest.error);
    }
    case "digests": {
      if (r.partitions.length > DIGESTS_PER_REQUEST_MAX) return err({ kind: "remote", detail: `at most ${DIGESTS_PER_REQUEST_MAX} partitions per digests request` });
      const digests: (DigestAnswer & { partition: PartitionId })[] = [];
      for (const partition of r.partitions) {
        const digest = await partitionDigest(ctx.store, partition);
        if (!digest.ok) return storeErr(digest.error);
        digests.push({ partition, ...digest.value, ...vouching(ctx, partition) });
      }
      return ok({ digests });
    }
    case "list-bucket":
      return listBucket(ctx, r.bucket, { prefix: r.prefix, after: r.after, limit: Math.min(r.limit, ctx.listLimitMax ?? defaultListLimitMax), ...(r.delimiter ? { delimiter: r.delimiter } : {}) });
    case "heartbeat":
      ctx.onHeartbeat?.(r.from, { epoch: r.epoch, mapHash: r.mapHash, ...(r.syncedEpoch !== undefined ? { syncedEpoch: r.syncedEpoch } : {}), ...(r.foreign ? { foreign: r.foreign } : {}) });
      return ok(heartbeatReport(ctx));
    case "buckets":
      return mergeBuckets(ctx, r.entries);
    case "get-map":
      return ok({ map: ctx.membership.map });
    case "install-map": {
      if (!ctx.installMap) return err({ kind: "remote", detail: `${ctx.self} does not take maps` });
      const installed = ctx.installMap(r.map);
      return installed.ok ? ok({ outcome: installed.value }) : err({ kind: "remote", detail: `map refused: ${installed.error}` });
    }
    default:
      return unreachable(r, "unknown replica request");
  }
}

/** This node's own heartbeat fields: send them, and feed them to its own Membership.observe. */
/**
 * What a node does when its ring view changes (a map adopted, a transition retired): partitions gained become
 * behind (core/catch-up.ts), and its foreign-holdings report starts over under the new view. Both hosts call it
 * from the heartbeat driver's onViewChange (core/heartbeats.ts).
 */
export function onRingViewChange<Body>(ctx: Pick<StorageNodeContext<Body>, "catchUp" | "foreign">, view: RingView): void {
  ctx.catchUp.onRingChange(view);
  ctx.foreign?.forget();
}

export function heartbeatReport<Body>(ctx: Pick<StorageNodeContext<Body>, "membership" | "catchUp" | "foreign" | "buckets">): PeerReport {
  const synced = ctx.catchUp.syncedEpoch;
  return {
    epoch: ctx.membership.epoch,
    mapHash: ctx.membership.hash,
    ...(synced !== undefined ? { syncedEpoch: synced } : {}),
    ...(ctx.foreign ? { foreign: ctx.foreign.report() } : {}),
    ...(ctx.buckets ? { bucketsHash: ctx.buckets.table.hash } : {}),
  };
}

/**
 * Bucket gossip and DeleteBucket's mark: merge, make it durable, and wait out the commits of every bucket the
 * change stopped, before answering with the whole table.
 */
async function mergeBuckets<Body>(ctx: StorageNodeContext<Body>, entries: readonly BucketEntry[]): Promise<HandlerResult<Body, "buckets">> {
  const buckets = ctx.buckets;
  if (!buckets) return err({ kind: "remote", detail: `${ctx.self} keeps no bucket table` });
  const changed = buckets.table.merge(entries);
  if (changed.length > 0) await buckets.persist(changed);
  // Every bucket named that now takes no writes, not only those this request changed: the mark may have come
  // by gossip a moment ago while a commit it let in before is still running.
  await Promise.all(entries.filter((e) => !takesWrites(buckets.table.get(e.name))).map((e) => buckets.gate.settled(e.name)));
  return ok({ entries: buckets.table.entries() });
}

/** The bucket table and gate that new versions are checked against (none under the planted bug nodeIgnoresBucketMark). */
function writeGuard<Body>(ctx: StorageNodeContext<Body>): NodeBuckets | undefined {
  return ctx.faults?.nodeIgnoresBucketMark ? undefined : ctx.buckets;
}

/** A write to a bucket this node's table marks deleting or deleted: refused, so DeleteBucket's listing is complete. */
function refusedBucket<Body>(ctx: StorageNodeContext<Body>, bucket: string): TransportFailure | null {
  const entry = writeGuard(ctx)?.table.get(bucket);
  if (takesWrites(entry)) return null;
  return { kind: "remote", detail: `bucket ${bucket} is ${entry!.state} on ${ctx.self}: no new versions` };
}

async function put<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"put", Body>): Promise<HandlerResult<Body, "put">> {
  const expected = partitionOf(ctx.membership.view.current, r.header.bucket, r.header.key);
  if (expected !== r.partition) return err({ kind: "remote", detail: `key ${r.header.bucket}/${r.header.key} is in partition ${expected}, not ${r.partition}` });
  const refused = r.header.deleted ? null : refusedBucket(ctx, r.header.bucket);
  if (refused) return err(refused);
  // Noted before the write, so no heartbeat can report this partition clean while the copy exists.
  if (ctx.foreign && !ringsOf(ctx.membership.view).some((ring) => isPrimary(ring, r.partition, ctx.self))) ctx.foreign.noteForeignWrite(r.partition);
  const written = await ctx.store.writePending(r.partition, r.header, r.body, r.hintFor);
  if (!written.ok) {
    ctx.log.error("node.put-failed", { node: ctx.self, partition: r.partition, bucket: r.header.bucket, key: r.header.key, failure: written.error });
    return storeErr(written.error);
  }
  return ok({ ...written.value, ...standInClaim(ctx, r.partition) });
}

/** The reply field naming the primary this node stands in for, caught up, on the partition; empty if none. */
function standInClaim<Body>(ctx: StorageNodeContext<Body>, partition: PartitionId): { standInFor?: NodeId } {
  const primary = ctx.standIns?.claim(partition, ctx.membership.view);
  return primary === undefined ? {} : { standInFor: primary };
}

async function commit<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"commit", Body>): Promise<HandlerResult<Body, "commit">> {
  const gate = writeGuard(ctx)?.gate;
  if (!gate) return commitAdmitted(ctx, r);
  // A tombstone (a DELETE of a key) may still land: it adds nothing a listing could miss.
  if (!r.version.deleted && !gate.admit(r.version.bucket)) return err(refusedBucket(ctx, r.version.bucket) ?? { kind: "remote", detail: `bucket ${r.version.bucket} takes no writes` });
  if (r.version.deleted) return commitAdmitted(ctx, r);
  try {
    return await commitAdmitted(ctx, r);
  } finally {
    gate.done(r.version.bucket);
  }
}

async function commitAdmitted<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"commit", Body>): Promise<HandlerResult<Body, "commit">> {
  const done = await ctx.store.commit(r.partition, r.version, r.hintFor, r.written);
  if (done.ok) return ok({ committed: true });
  if (done.error.kind === "not-found") {
    // A retried commit (or a repair push of a version already here): committed is committed.
    const current = await ctx.store.headCommitted(r.version.bucket, r.version.key);
    if (current.ok && current.value?.stamp === r.version.stamp && current.value.checksum === r.version.checksum) return ok({ committed: true });
  }
  return storeErr(done.error);
}

async function head<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"head", Body>): Promise<HandlerResult<Body, "head">> {
  if (!ctx.catchUp.isCaughtUp(r.partition)) return err({ kind: "not-caught-up", detail: `${ctx.self} has not synced partition ${r.partition}` });
  const found = await ctx.store.headCommitted(r.bucket, r.key);
  if (!found.ok) return storeErr(found.error);
  return ok({ version: found.value ? toObjectVersion(found.value) : null, ...standInClaim(ctx, r.partition) });
}

/**
 * A head, and the body of the version it found when that is live: the same checks as head and get, in one round
 * trip. A body that cannot be served (gone since the head, or bad: get logs it and queues the copy's repair)
 * leaves the head answer without one; it still counts toward the reader's quorum, and the reader opens the body
 * from another holder.
 */
async function read<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"read", Body>): Promise<HandlerResult<Body, "read">> {
  const found = await head(ctx, { kind: "head", partition: r.partition, bucket: r.bucket, key: r.key });
  if (!found.ok) return found;
  const version = found.value.version;
  if (version === null || version.deleted) return found;
  // A manifest is read whole: the client's range is over the parts it names.
  const asked = isManifestObject(version) ? undefined : r.range;
  if (asked !== undefined && asked.start >= version.size) return found;
  // The range as served: clamped to the body, as the stores clamp it, so the reader knows exactly which bytes came.
  const range = asked === undefined ? undefined : { start: asked.start, endInclusive: Math.min(asked.endInclusive, version.size - 1) };
  const got = await get(ctx, { kind: "get", partition: r.partition, bucket: r.bucket, key: r.key, stamp: version.stamp, ...(range ? { range } : {}) });
  if (!got.ok) return found;
  return ok({ ...found.value, body: { bytes: got.value.body, ...(range ? { range } : {}) } });
}

async function get<Body>(ctx: StorageNodeContext<Body>, r: RequestOf<"get", Body>): Promise<HandlerResult<Body, "get">> {
  const read = await ctx.store.readBody(r.bucket, r.key, r.stamp, r.range);
  if (!read.ok) {
    if (read.error.kind === "corrupt") {
      ctx.log.error("node.corrupt-copy", { node: ctx.self, partition: r.partition, bucket: r.bucket, key: r.key, stamp: r.stamp, detail: read.error.detail });
      // The store found the bytes bad before sending any: replace the copy, as when the node's own check fails.
      const found = await ctx.store.headCommitted(r.bucket, r.key);
      if (found.ok && found.value?.stamp === r.stamp) ctx.onCorrupt?.(r.partition, toObjectVersion(found.value), read.error.detail);
    }
    return storeErr(read.error);
  }
  const stored = read.value.version;
  if (!stored.committed) return err({ kind: "not-found", detail: `${r.bucket}/${r.key}@${r.stamp} is not committed on ${ctx.self}` });
  const version = toObjectVersion(stored);
  let body = read.value.body;
  // PLANTED BUG skipReadChecksum: serve stored bytes without checking them.
  if (ctx.verifyBody && !ctx.faults?.skipReadChecksum) {
    const verified = await ctx.verifyBody(body, version, r.range);
    if (!verified.ok) {
      ctx.log.error("node.corrupt-copy", { node: ctx.self, partition: r.partition, bucket: r.bucket, key: r.key, stamp: r.stamp, detail: verified.error.detail });
      ctx.onCorrupt?.(r.partition, version, verified.error.detail);
      return err({ kind: "corrupt", detail: verified.error.detail });
    }
    body = verified.value;
  }
  return ok({ version, body });
}

/** Committed entries of a partition after a cursor; pending records are skipped without shortening the page. */
export async function listPartitionCommitted<Body>(
  store: BlobStore<Body>,
  partition: PartitionId,
  from: PartitionCursor | undefined,
  limit: number,
): Promise<Result<{ entries: PartitionEntry[]; done: boolean }, TransportFailure>> {
  const entries: PartitionEntry[] = [];
  let cursor = from;
  for (;;) {
    const page = await store.listPartition(partition, cursor, limit);
    if (!page.ok) return storeErr(page.error);
    for (const v of page.value) {
      if (!v.committed) continue;
      // A committed entry beyond a full page: the listing goes on.
      if (entries.length === limit) return ok({ entries, done: false });
      entries.push({ bucket: v.bucket, key: v.key, stamp: v.stamp, deleted: v.deleted, checksum: v.checksum });
    }
    if (page.value.length < limit) return ok({ entries, done: true });
    cursor = afterVersion(page.value[page.value.length - 1]!);
  }
}

async function listBucket<Body>(ctx: StorageNodeContext<Body>, bucket: string, request: NodeListingRequest): Promise<HandlerResult<Body, "list-bucket">> {
  // A listing counts each answering node as holding what it acknowledged (core/listing.ts listingComplete):
  // a node whose disk lost acknowledged versions (replaced, or rows dropped at start) must not answer until
  // it has caught up, or a listing could miss a key that only it and the missing nodes acknowledged.
  if (!ctx.catchUp.holdsAllItAcknowledged()) {
    return err({ kind: "not-caught-up", detail: `${ctx.self} lost acknowledged versions on partitions ${ctx.catchUp.behindPartitions().filter((p) => !ctx.catchUp.isCaughtUpOrIntact(p)).join(", ")} and has not caught up` });
  }
  // A store lists committed versions only (core/ports.ts); the filter keeps one that broke that from answering a pending version.
  const read = async (after: string, limit: number) => {
    const page = await ctx.store.listBucket(bucket, request.prefix, after, limit);
    if (!page.ok) return page;
    return ok({ versions: page.value.filter((v) => v.committed).map(toObjectVersion), exhausted: page.value.length < limit, lastKey: page.value[page.value.length - 1]?.key });
  };
  const page = await nodeListingPage(read, request);
  return page.ok ? ok(page.value) : storeErr(page.error);
}

/**
 * The digest of a partition: xxhash64 over (bucket, key, stamp, deleted) of the newest committed version of
 * every key, in key order, plus the number of keys. Reads the whole partition in pages.
 */
export async function partitionDigest<Body>(store: BlobStore<Body>, partition: PartitionId, pageSize = 512): Promise<Result<PartitionDigest, StoreFailure>> {
  const compute = (p: PartitionId) => computeDigestSum(store, p, pageSize);
  // A store that keeps digests current (core/digest-cache.ts) answers from its cache.
  if (store instanceof DigestCachingStore) return store.digestCache.get(partition, compute);
  const computed = await compute(partition);
  return computed.ok ? ok(renderDigest(computed.value)) : computed;
}

export function toObjectVersion(v: StoredVersion | ObjectVersion): ObjectVersion {
  return {
    bucket: v.bucket,
    key: v.key,
    stamp: v.stamp,
    size: v.size,
    etag: v.etag,
    checksum: v.checksum,
    contentType: v.contentType,
    userMeta: v.userMeta,
    deleted: v.deleted,
  };
}

export function storeFailureToTransport(failure: StoreFailure): TransportFailure {
  switch (failure.kind) {
    case "not-found":
      return { kind: "not-found", detail: failure.detail };
    case "corrupt":
      return { kind: "corrupt", detail: failure.detail };
    case "disk-full":
      return { kind: "disk-full", detail: failure.detail };
    case "io":
      return { kind: "remote", detail: `io: ${failure.detail}` };
    default:
      return unreachable(failure.kind, "unknown store failure");
  }
}

function storeErr(failure: StoreFailure): Result<never, TransportFailure> {
  return err(storeFailureToTransport(failure));
}
