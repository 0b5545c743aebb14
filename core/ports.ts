// Ports: the only way time, randomness, the network and the disk reach core/.
// The runtime implements them with real time, crypto randomness, HTTP (undici) and the file system; the
// simulator with a virtual clock, a seeded RNG, a simulated network and simulated disks.
// Bodies are a type parameter: the runtime passes streams, the simulator sizes with a content hash, and
// core never looks inside one. That is what lets the same coordinator run in both worlds.

import type { BucketEntry } from "./bucket-table.ts";
import type { ForeignReport } from "./foreign-holdings.ts";
import type { ClusterMap } from "./cluster-map.ts";
import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import type { ObjectVersion, VersionStamp } from "./object-version.ts";
import type { Result } from "./result.ts";

export interface Clock {
  /** Milliseconds since the epoch of this process's clock; may be skewed between processes. */
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export interface Rng {
  /** Uniform in [0, 1). */
  nextFloat(): number;
  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

export type LogFields = Readonly<Record<string, unknown>>;

/** Structured log: one event name and its fields; the runtime writes one JSON line per call. */
export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** An inclusive byte range, as HTTP Range gives it. */
export interface ByteRange {
  readonly start: number;
  readonly endInclusive: number;
}

// ---- Transport: request/response between processes (router → node, node → node) ----

export type TransportFailureKind =
  | "unreachable" // connection refused or reset: the process is down or partitioned away
  | "timeout" // no answer in time: the process may still act on the request
  | "not-caught-up" // the node has not synced this partition since it (re)joined; ask another
  | "corrupt" // the node found its copy fails its checksum
  | "checksum-mismatch" // the bytes a node received do not match what the sender computed
  | "disk-full"
  | "not-found" // no such version on that node
  | "forbidden" // the cluster secret did not verify
  | "stale-epoch" // the receiver holds a newer cluster map; the sender must refresh
  | "cancelled" // the sender gave the request up (its client went away) before the answer came
  | "remote"; // anything else the other side reported

export interface TransportFailure {
  readonly kind: TransportFailureKind;
  readonly detail: string;
}

/** What a writer knows before the body has streamed: everything but the body's digests. */
export type VersionHeader = Omit<ObjectVersion, "etag" | "checksum">;

export interface PartitionEntry {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: VersionStamp;
  readonly deleted: boolean;
  readonly checksum: string;
}

/**
 * Where a partition listing resumes, in (bucket, key, stamp) order: at the first version of a key (a key whose
 * versions must be seen whole, so a page that may have cut them is read again from the key's start), or just
 * after one version. Never a made-up stamp: every field is a real name or a real stamp, so the wire can check it.
 */
export type PartitionCursor =
  | { readonly kind: "key-start"; readonly bucket: string; readonly key: string }
  | { readonly kind: "after"; readonly bucket: string; readonly key: string; readonly stamp: VersionStamp };

/** The node-internal API. Each kind is one HTTP route in the runtime and one message in the simulator. */
export type ReplicaRequest<Body> =
  /** Store a version's body durably, not yet visible (pending). `hintFor` names the primary a handoff stands in for. */
  | { readonly kind: "put"; readonly partition: PartitionId; readonly header: VersionHeader; readonly hintFor?: NodeId; readonly body: Body }
  /**
   * Make a pending version visible, once the coordinator has W durable copies whose checksums agree. The version's
   * stamp is minted when the body is durable (last writer wins by completion, as S3 does), after the put that
   * carried it: `written` names the stamp the body was put under; absent, it is the version's own stamp.
   */
  | { readonly kind: "commit"; readonly partition: PartitionId; readonly version: ObjectVersion; readonly hintFor?: NodeId; readonly written?: VersionStamp }
  /** The newest committed version (tombstones included) this node holds for a key. */
  | { readonly kind: "head"; readonly partition: PartitionId; readonly bucket: string; readonly key: string }
  /**
   * A head and the body of the version it finds, in one round trip: what the first replica of a GET is asked
   * (core/coordinator.ts readObject with a prefetch), so a small object is one round trip per replica. The body
   * (a range of it, when asked) comes with a live version only; a multipart object's manifest comes whole, since
   * a client's range is over the parts, not the manifest.
   */
  | { readonly kind: "read"; readonly partition: PartitionId; readonly bucket: string; readonly key: string; readonly range?: ByteRange }
  /** The body of one committed version, whole or a range; the node verifies the checksum as it reads. */
  | { readonly kind: "get"; readonly partition: PartitionId; readonly bucket: string; readonly key: string; readonly stamp: VersionStamp; readonly range?: ByteRange }
  /** Drop one copy (handoff clean-up, surplus removal, tombstone collection). */
  | { readonly kind: "drop"; readonly partition: PartitionId; readonly bucket: string; readonly key: string; readonly stamp: VersionStamp }
  /** Committed versions of a partition in (bucket, key, stamp) order, after a cursor: for repair. */
  | { readonly kind: "list-partition"; readonly partition: PartitionId; readonly from?: PartitionCursor; readonly limit: number }
  /** A digest of a partition's committed (key, stamp) pairs, tombstones included. */
  | { readonly kind: "digest"; readonly partition: PartitionId }
  /** Digests of many partitions in one round trip: what a repair round compares first. */
  | { readonly kind: "digests"; readonly partitions: readonly PartitionId[] }
  /**
   * Newest version per key of a bucket, in key order after `after`: the listing fan-out. With a delimiter the
   * node jumps past a common prefix once it has returned a live key under it (core/listing.ts nodeListingPage).
   */
  | { readonly kind: "list-bucket"; readonly bucket: string; readonly prefix: string; readonly after: string; readonly limit: number; readonly delimiter?: string }
  /** Liveness and map gossip. */
  | { readonly kind: "heartbeat"; readonly from: NodeId; readonly epoch: Epoch; readonly mapHash: string; readonly syncedEpoch?: Epoch; readonly foreign?: ForeignReport; readonly bucketsHash?: string }
  /**
   * Bucket-table gossip (core/bucket-table.ts): the receiver merges `entries` (none: a plain read) and answers
   * with its whole table once the merge is durable and commits it stopped have finished (core/bucket-write-gate.ts).
   */
  | { readonly kind: "buckets"; readonly entries: readonly BucketEntry[] }
  | { readonly kind: "get-map" }
  /** The operator's new map (a join, a decommission): the node adopts it if newer; gossip spreads it from there. */
  | { readonly kind: "install-map"; readonly map: ClusterMap };

/** A node's digest of one partition, and whether its copy is one a catching-up primary may trust as complete. */
export interface DigestAnswer {
  readonly hash: string;
  readonly count: number;
  /** The answering node is a primary of the partition (in a ring of its view) and is not behind on it. */
  readonly caughtUpPrimary: boolean;
  /** The answering node is a primary of the partition whose copy is caught up or intact (core/catch-up.ts). */
  readonly intactPrimary: boolean;
}

export type ReplicaResponse<Body> = {
  /** standInFor (put and head, handoffs only): the down primary this node stands in for, caught up (core/stand-in.ts). */
  put: { readonly checksum: string; readonly size: number; readonly standInFor?: NodeId };
  commit: { readonly committed: true };
  head: { readonly version: ObjectVersion | null; readonly standInFor?: NodeId };
  get: { readonly version: ObjectVersion; readonly body: Body };
  /** A head answer; with `body` when the node holds the version live and could read it (range: what it served; absent: whole). */
  read: { readonly version: ObjectVersion | null; readonly standInFor?: NodeId; readonly body?: ServedBody<Body> };
  drop: { readonly dropped: boolean };
  "list-partition": { readonly entries: readonly PartitionEntry[]; readonly done: boolean };
  digest: DigestAnswer;
  digests: { readonly digests: readonly (DigestAnswer & { readonly partition: PartitionId })[] };
  "list-bucket": { readonly versions: readonly ObjectVersion[]; readonly done: boolean };
  /** syncedEpoch: the newest epoch at which the node had synced every partition it is a primary of (core/catch-up.ts); ring transitions retire on it. */
  heartbeat: { readonly epoch: Epoch; readonly mapHash: string; readonly syncedEpoch?: Epoch; readonly foreign?: ForeignReport; readonly bucketsHash?: string };
  buckets: { readonly entries: readonly BucketEntry[] };
  "get-map": { readonly map: ClusterMap };
  "install-map": { readonly outcome: "adopted-with-transition" | "adopted" | "ignored-not-newer" };
};

/** The bytes a read answer carries, and which of them: the range served (absent: the whole body). */
export interface ServedBody<Body> {
  readonly bytes: Body;
  readonly range?: ByteRange;
}

export type RequestKind = ReplicaRequest<unknown>["kind"];
export type RequestOf<K extends RequestKind, Body> = Extract<ReplicaRequest<Body>, { kind: K }>;

/**
 * A request's cancellation, as core sees it: the part of AbortSignal that core uses (the runtime passes the
 * AbortSignal of the client's request; the simulator its own), so core stays free of the world's types.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export interface Transport<Body> {
  /**
   * With `signal`: once it aborts, the request is given up at once (failure "cancelled"): not sent when already
   * aborted, cut on the wire when in flight (a body stream the receiver was reading ends there too).
   */
  send<K extends RequestKind>(to: NodeId, request: RequestOf<K, Body>, signal?: CancelSignal): Promise<Result<ReplicaResponse<Body>[K], TransportFailure>>;
}

// ---- BlobStore: one node's durable storage (blobs and their metadata index) ----

export interface StoredVersion extends ObjectVersion {
  readonly partition: PartitionId;
  readonly committed: boolean;
  /** The primary this copy is held for, when this node holds it as a handoff. */
  readonly hintFor?: NodeId;
}

export type StoreFailureKind = "not-found" | "corrupt" | "disk-full" | "io";

export interface StoreFailure {
  readonly kind: StoreFailureKind;
  readonly detail: string;
}

/**
 * One node's storage. The contract every store keeps (test/contract/blob-store-contract.ts runs it against the
 * simulated disk, the file-system store and core's in-memory test store): keys in UTF-8 byte order
 * (core/key-order.ts), as S3 lists them; listings, head and reads show committed versions only; a stamp already
 * committed is never overwritten by a write (only replaceCommitted puts other bytes in its place); every
 * acknowledged call survives a crash of the process, and a call in flight at a crash is applied whole or not at all.
 */
export interface BlobStore<Body> {
  /**
   * Write the body and a pending record durably; resolves with the xxhash64 and size of what was written. A
   * pending record of the same stamp is replaced; a committed one is kept, and the answer is its checksum and size.
   */
  writePending(partition: PartitionId, header: VersionHeader, body: Body, hintFor: NodeId | undefined): Promise<Result<{ checksum: string; size: number }, StoreFailure>>;
  /**
   * Make a pending version visible, durably; fails ("corrupt") if the stored checksum, size or deletion differs
   * from the version's, committed or not; committing a committed version again succeeds. The pending record is
   * the one put under `written` (default: the version's stamp); when the version's stamp is a later one, the
   * record takes it in the same atomic step (it is re-keyed, never copied), so the version exists under one
   * stamp only: the pending one before, the committed one after, and a crash leaves one or the other.
   */
  commit(partition: PartitionId, version: ObjectVersion, hintFor: NodeId | undefined, written?: VersionStamp): Promise<Result<void, StoreFailure>>;
  /**
   * Store a committed copy in one step (repair and handoff delivery). A committed copy of the stamp already held
   * is kept as it is; a pending one is replaced; a body whose bytes do not match the version is refused.
   */
  writeCommitted(partition: PartitionId, version: ObjectVersion, body: Body, hintFor: NodeId | undefined): Promise<Result<void, StoreFailure>>;
  /**
   * Replace the committed copy of `version` held here (one whose bytes failed their check) with `body`: the body
   * is written alongside, checked against the version's checksum and size, and only then put in the old copy's
   * place in one atomic step (a rename over it), keeping its row (partition, hint). Any failure leaves the old
   * copy exactly as it was: a replacement never passes through "no copy". With no committed copy of that stamp
   * held, it stores one as writeCommitted does; a tombstone has no bytes to replace and is left as it is.
   */
  replaceCommitted(partition: PartitionId, version: ObjectVersion, body: Body): Promise<Result<void, StoreFailure>>;
  headCommitted(bucket: string, key: string): Promise<Result<StoredVersion | null, StoreFailure>>;
  readBody(bucket: string, key: string, stamp: VersionStamp, range?: ByteRange): Promise<Result<{ version: StoredVersion; body: Body }, StoreFailure>>;
  drop(bucket: string, key: string, stamp: VersionStamp): Promise<Result<boolean, StoreFailure>>;
  /** Committed versions of a partition in (bucket, key, stamp) order from the cursor (undefined: the start), at most `limit`. */
  listPartition(partition: PartitionId, from: PartitionCursor | undefined, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>>;
  /** Partitions of which this store holds any version, pending ones included, ascending. */
  partitionsHeld(): Promise<Result<readonly PartitionId[], StoreFailure>>;
  /** The newest committed version (tombstones included) of each key of a bucket under `prefix` after `after`, in key order, at most `limit` keys. */
  listBucket(bucket: string, prefix: string, after: string, limit: number): Promise<Result<readonly StoredVersion[], StoreFailure>>;
  /** Remove pending records older than a cut-off (writes whose coordinator never committed them). */
  dropPendingBefore(stampCutoff: VersionStamp): Promise<Result<number, StoreFailure>>;
}
