// What the S3 front end needs from the replicated store, in S3's terms. The router implements it with the
// core coordinator over the HTTP transport (runtime/router/replicated-objects.ts).
// Guarantees of any implementation: `put` resolves only once the version is committed on W replicas and
// rejects (nothing visible) otherwise; `head` and `get` return the newest committed version that a read
// quorum knows of, tombstones included (callers turn them into NoSuchKey).
import type { Readable } from "node:stream";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange } from "../../core/ports.ts";
import type { BodyPrefetch } from "../../core/coordinator.ts";

export interface BodyDigests {
  /** hex MD5 of the decoded body: the ETag. */
  readonly md5Hex: string;
  /** xxhash64 of the decoded body, 16 hex digits: what replicas verify. */
  readonly checksum: string;
  readonly size: number;
}

export interface PutInput {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  /** Response headers stored with the object: x-amz-meta-*, content-encoding, cache-control, … */
  readonly metadata: Readonly<Record<string, string>>;
  /** Declared size of the decoded body (Content-Length or x-amz-decoded-content-length). */
  readonly size: number;
  /** The decoded body. */
  readonly body: Readable;
  /** Resolves once the body has streamed and every check on it passed; rejects with an S3Error otherwise. */
  readonly digests: Promise<BodyDigests>;
}

export interface ObjectService {
  put(input: PutInput): Promise<ObjectVersion>;
  /** Writes a tombstone. */
  remove(bucket: string, key: string): Promise<ObjectVersion>;
  /**
   * With `signal`: once it aborts (the client went away), the requests to the nodes in flight are cut. With
   * `prefetch`: the body (whole, or the range) comes with the answer when it can, for `open` to hand on without
   * another round trip; whoever asks for it must `open` the version or `release` it.
   */
  head(bucket: string, key: string, signal?: AbortSignal, prefetch?: BodyPrefetch): Promise<ObjectVersion | null>;
  /** Lets go of a body `head` prefetched for this version and `open` did not take (no-op otherwise). */
  release(version: ObjectVersion): void;
  /** The body of the given version (as `head` returned it), whole or a range. */
  open(version: ObjectVersion, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /** The body of an exact version known from elsewhere (a manifest), without a metadata read first. */
  openVersion(version: ObjectVersion, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /**
   * Newest version per key, tombstones included, in key order after `after`; refuses to start once `signal` is
   * aborted. With a delimiter, keys under a common prefix past its first live one may be left out (the nodes
   * jump past it): for callers that fold them (core/listing.ts listPage).
   */
  list(bucket: string, prefix: string, after: string, limit: number, signal?: AbortSignal, delimiter?: string): Promise<{ versions: readonly ObjectVersion[]; truncated: boolean }>;
  /** True once a write quorum of nodes is reachable. */
  healthy(): boolean;
}
