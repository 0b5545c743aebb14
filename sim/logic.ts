// The seam between the simulated world and the logic it runs: what a storage node and a router are, seen
// from the simulator. sim/core-logic.ts implements it with core/ (coordinator, storage-node, repair,
// failure detector, membership); tests may implement it with deliberately broken logic.
// Guarantees (for implementations): everything time-, network- or disk-related goes through the context's
// ports, so a crash (a new incarnation) silences the old instance completely.

import type { ClusterMap } from "../core/cluster-map.ts";
import type { NodeId } from "../core/ids.ts";
import type { ListRequest, ListResult } from "../core/listing.ts";
import type { RequestedPart } from "../core/multipart.ts";
import type { ObjectVersion, VersionStamp } from "../core/object-version.ts";
import type { Log, Transport } from "../core/ports.ts";
import type { PlantedBugs } from "../core/planted-bugs.ts";
import type { SimBody } from "./body.ts";
import type { ReadRepairReport } from "./read-repair-check.ts";
import type { WriteQuorumReport } from "./write-quorum-check.ts";
import type { SimDisk } from "./disk.ts";
import type { Handler } from "./network.ts";
import type { SimProcess } from "./process.ts";
import type { SimRng } from "./rng.ts";
import type { TimingSettings } from "./timing.ts";

export interface QuorumSettings {
  readonly replicas: number;
  readonly writeQuorum: number;
  readonly readQuorum: number;
  /** Let handoffs count toward W and R (core/settings.ts sloppyQuorum); off by default. */
  readonly sloppyQuorum?: boolean;
}

export interface LogicContext {
  readonly process: SimProcess;
  readonly transport: Transport<SimBody>;
  readonly rng: SimRng;
  readonly log: Log;
  readonly quorum: QuorumSettings;
  readonly timing: TimingSettings;
  readonly bugs: PlantedBugs;
  /** Every process id that may exist (nodes and routers), for heartbeats. */
  readonly peers: () => readonly NodeId[];
  /** The newest cluster map this process has durably seen (it survives restarts, like a config file). */
  readonly storedMap: () => ClusterMap;
  readonly storeMap: (map: ClusterMap) => void;
}

export interface NodeContext extends LogicContext {
  readonly disk: SimDisk;
}

export interface NodeInstance {
  readonly handle: Handler;
  /** The operator hands this process a new cluster map (join, decommission). */
  installMap(map: ClusterMap): void;
  /** True while a ring this process still routes by (current or previous) places data on `node`. */
  routesTo?(node: NodeId): boolean;  /** True while this process still holds a ring change open (a previous ring beside the current one). */
  inTransition?(): boolean;
}

/** quorum: where the write had to land, for the oracle's check (sim/write-quorum-check.ts). */
export type WriteOutcome = { readonly ok: true; readonly stamp: VersionStamp; readonly quorum?: WriteQuorumReport } | { readonly ok: false; readonly reason: string };

/**
 * sloppy: the read quorum was met with fewer than R answers from primaries (handoffs' answers counted toward R),
 * so R+W>N no longer guarantees that it meets the write quorum.
 */
export type ReadOutcome =
  | { readonly ok: true; readonly found: true; readonly version: ObjectVersion; readonly body: SimBody; readonly sloppy?: boolean; readonly readRepair?: ReadRepairReport }
  /** No live version: never written, or the newest is a tombstone (its stamp when known). */
  | { readonly ok: true; readonly found: false; readonly tombstone?: VersionStamp; readonly sloppy?: boolean }
  | { readonly ok: false; readonly reason: string };

/** One S3 page of a bucket listing (core/listing.ts), or why the router could not cut it. */
export type ListOutcome = { readonly ok: true; readonly page: ListResult } | { readonly ok: false; readonly reason: string };

/** An operation that either happened or did not (why). */
export type DoneOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };
/** CreateBucket: created, or it existed already (S3's BucketAlreadyOwnedByYou), or why not. */
export type BucketOutcome = { readonly ok: true; readonly created: boolean } | { readonly ok: false; readonly reason: string };
export type UploadOutcome = { readonly ok: true; readonly uploadId: string } | { readonly ok: false; readonly reason: string };
export type PartOutcome = { readonly ok: true; readonly etag: string } | { readonly ok: false; readonly reason: string };

export interface RouterInstance {
  put(bucket: string, key: string, body: SimBody): Promise<WriteOutcome>;
  /** CreateBucket and DeleteBucket, by core/bucket-registry.ts over this router's coordinator. */
  createBucket(name: string): Promise<BucketOutcome>;
  deleteBucket(name: string): Promise<DoneOutcome>;
  /** Multipart uploads, by core/multipart.ts over this router's coordinator. */
  createUpload(bucket: string, key: string): Promise<UploadOutcome>;
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: SimBody): Promise<PartOutcome>;
  completeUpload(bucket: string, key: string, uploadId: string, parts: readonly RequestedPart[]): Promise<WriteOutcome>;
  abortUpload(bucket: string, key: string, uploadId: string): Promise<DoneOutcome>;
  /** One page of ListObjects: the router's listing fan-out and page cut (core/bucket-listing.ts). */
  list(bucket: string, request: ListRequest): Promise<ListOutcome>;
  get(bucket: string, key: string): Promise<ReadOutcome>;
  delete(bucket: string, key: string): Promise<WriteOutcome>;
  installMap(map: ClusterMap): void;
  /** Requests a router answers (heartbeat, get-map), if any. */
  readonly handle?: Handler;
  /** True while a ring this router still routes by (current or previous) places data on `node`. */
  routesTo?(node: NodeId): boolean;  /** True while this process still holds a ring change open (a previous ring beside the current one). */
  inTransition?(): boolean;
}

export interface Logic {
  readonly name: string;
  /** Start one incarnation of a storage node; background loops run through ctx.process.sleep. */
  startNode(ctx: NodeContext): NodeInstance;
  /** Start one incarnation of a router (the coordinator). */
  startRouter(ctx: LogicContext): RouterInstance;
}
