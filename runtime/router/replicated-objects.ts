// The router's ObjectService: S3 operations carried out by the core coordinator over the HTTP transport.
// Guarantees: a PUT body streams once from the client to every replica through a tee (backpressure set by
// the slowest live one); a GET body that breaks midway goes on from another replica at the same byte; a client-side failure of the body (bad digest, short body) surfaces as that S3Error, not
// as a 503; a quorum failure is ServiceUnavailable; every failure an operator must act on is one log line.
import type { Readable } from "node:stream";
import { requestedBytes } from "../../core/body-resume.ts";
import { type BodyPrefetch, type CoordinatorDeps, type PrefetchedBody, deleteObject, describeFailures, openAnswerBody, readObject, resumeBody, writeVersion } from "../../core/coordinator.ts";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import { partitionOf } from "../../core/placement.ts";
import { readBucketListing } from "../../core/bucket-listing.ts";
import { routerHealth } from "../../core/router-health.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange, TransportFailure } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { S3Error, isS3Error } from "../s3/errors.ts";
import type { ObjectService, PutInput } from "./object-service.ts";
import { SuspectReplicas } from "./suspect-replicas.ts";
import { StreamTee } from "./tee.ts";
import { type ResumeFn, resumingBody } from "./resuming-body.ts";
import { verifyingStream } from "./verify-stream.ts";

/** What travels as a body inside the router: a tee to branch per replica (puts), or a stream (gets). */
export type RouterBody = Readable | StreamTee;

const CLIENT_ERROR_WAIT_MS = 100;

/**
 * Where `head` found a version, and the body that came with the answer (a prefetch) until `open` takes it or
 * `release` lets it go: carried on the returned object under a symbol, so it never serializes.
 */
const LOCATION: unique symbol = Symbol("ringstore.location");
interface Location {
  readonly partition: PartitionId;
  readonly holders: readonly NodeId[];
  body: PrefetchedBody<RouterBody> | undefined;
}
type Located = ObjectVersion & { readonly [LOCATION]?: Location };

/** The prefetched body a located version still holds, taken from it (so it is handed on or discarded once). */
function takeBody(version: ObjectVersion): PrefetchedBody<RouterBody> | undefined {
  const located = (version as Located)[LOCATION];
  const body = located?.body;
  if (located) located.body = undefined;
  return body;
}

export interface ReplicatedObjectsOptions {
  readonly coordinator: CoordinatorDeps<RouterBody>;
  /**
   * False until this router has heard from (or given up on) every node of its first map once. Asked only until
   * it first says true: a fresh router must not report healthy on the strength of the first node that answers,
   * but a later map (a join) must not take a running router out of the load balancer.
   */
  readonly startedUp?: () => boolean;
}

export class ReplicatedObjects implements ObjectService {
  /** The last health answer (undefined before the first), to log changes only. */
  private wasHealthy: boolean | undefined;
  private startUpDone = false;
  /** Replicas that failed a body lately: asked last (suspect-replicas.ts). */
  private readonly suspects = new SuspectReplicas();

  constructor(private readonly options: ReplicatedObjectsOptions) {}

  private get deps(): CoordinatorDeps<RouterBody> {
    return this.options.coordinator;
  }

  async put(input: PutInput): Promise<ObjectVersion> {
    const tee = new StreamTee(input.body);
    let clientError: unknown;
    const digests = input.digests.then(
      (d) => ok({ etag: d.md5Hex, checksum: d.checksum, size: d.size }),
      (error: unknown) => {
        clientError = error;
        return err(error instanceof Error ? error.message : String(error));
      },
    );
    const outcome = await writeVersion(this.deps, {
      bucket: input.bucket,
      key: input.key,
      size: input.size,
      contentType: input.contentType,
      userMeta: input.metadata,
      body: tee,
      finish: () => digests,
    });
    if (outcome.ok) return outcome.value.version;
    // The client's own failure (bad digest, short body) explains a failed write better than the replicas'
    // view of it; it is known at once when it caused the failure, so wait only briefly for it.
    await Promise.race([digests, new Promise((done) => setTimeout(done, CLIENT_ERROR_WAIT_MS))]);
    input.body.destroy();
    if (outcome.error.kind === "quorum-failed") {
      this.deps.log.warn("s3.put-failed", {
        clientError: clientError === undefined ? undefined : String(clientError),
        bucket: input.bucket,
        key: input.key,
        phase: outcome.error.phase,
        missed: outcome.error.missed,
        failures: describeFailures(outcome.error.failures),
      });
    }
    if (isS3Error(clientError)) throw clientError;
    if (outcome.error.kind === "body-rejected") throw new S3Error("IncompleteBody", outcome.error.detail);
    throw new S3Error("ServiceUnavailable", `Fewer than ${outcome.error.needed} replicas stored the object (${outcome.error.detail}); nothing was committed. Please retry.`, { cause: outcome.error });
  }

  async remove(bucket: string, key: string): Promise<ObjectVersion> {
    const outcome = await deleteObject(this.deps, bucket, key);
    if (outcome.ok) return outcome.value.version;
    throw new S3Error("ServiceUnavailable", `The delete reached too few replicas (${outcome.error.kind === "quorum-failed" ? outcome.error.detail : outcome.error.detail}). Please retry.`);
  }

  async head(bucket: string, key: string, signal?: AbortSignal, prefetch?: BodyPrefetch): Promise<ObjectVersion | null> {
    const answer = await this.read(bucket, key, signal, prefetch);
    if (!answer.version) return null;
    // Remember where the version was found (and the body that came with it), so that a GET opens the body
    // without a second quorum read, or without any further round trip.
    const location: Location = { partition: answer.partition, holders: answer.holders, body: answer.body };
    return Object.assign({ ...answer.version }, { [LOCATION]: location });
  }

  release(version: ObjectVersion): void {
    const body = takeBody(version);
    if (body !== undefined) discardRouterBody(body.bytes);
  }

  private async read(bucket: string, key: string, signal?: AbortSignal, prefetch?: BodyPrefetch) {
    const answer = await readObject(this.deps, bucket, key, signal, prefetch);
    if (!answer.ok) {
      if (answer.error.kind === "cancelled") throw clientGoneError(signal);
      throw new S3Error("ServiceUnavailable", `Only ${answer.error.counted} of ${answer.error.needed} replicas answered. Please retry.`);
    }
    return answer.value;
  }

  async open(version: ObjectVersion, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const located = (version as Located)[LOCATION];
    if (located) return this.openFrom(located.partition, version, located.holders, range, signal, takeBody(version));
    const answer = await this.read(version.bucket, version.key, signal);
    const holders = answer.version?.stamp === version.stamp ? answer.holders : [];
    return this.openFrom(answer.partition, version, holders, range, signal);
  }

  openVersion(version: ObjectVersion, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    return this.openFrom(partitionOf(this.deps.rings().current, version.bucket, version.key), version, [], range, signal);
  }

  /**
   * The body from one replica, resumed from another at the same byte when it breaks midway (resuming-body.ts);
   * a whole-object read is re-hashed end to end over the spliced bytes, so a resume cannot hide a bad byte.
   */
  private async openFrom(
    partition: PartitionId,
    version: ObjectVersion,
    holders: readonly NodeId[],
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    prefetched?: PrefetchedBody<RouterBody>,
  ): Promise<Readable> {
    const answer = { partition, version, holders };
    const body = await openAnswerBody(this.deps, { ...answer, ...(prefetched ? { body: prefetched } : {}) }, range, { last: this.suspects.of(version) }, signal);
    if (!body.ok && body.error.kind === "cancelled") throw clientGoneError(signal);
    if (!body.ok) throw new S3Error("ServiceUnavailable", "No replica could serve the object's bytes. Please retry.", { cause: body.error });
    for (const f of body.value.failures) if (f.failure.kind === "corrupt") this.suspects.note(version, f.node);
    const failedBeforeStart = body.value.failures.map((f) => f.node);
    const resume: ResumeFn = async (deliveredBytes, failedNodes, resumesDone) => {
      // The replica that just failed midway is asked last by the next reads of this version, too.
      this.suspects.note(version, failedNodes[failedNodes.length - 1]!);
      const next = await resumeBody(this.deps, answer, range, { deliveredBytes, failedNodes: [...failedBeforeStart, ...failedNodes], resumesDone }, this.suspects.of(version), signal);
      if (!next.ok) {
        const detail = next.error.kind === "not-resumable" ? next.error.detail : next.error.kind === "cancelled" ? "the client went away" : describeFailures(next.error.failures).join("; ") || "no replica left to ask";
        this.deps.log.warn("read.body-resume-failed", { bucket: version.bucket, key: version.key, stamp: version.stamp, deliveredBytes, failedNodes, detail });
        return { failed: detail };
      }
      return { body: streamOf(next.value.body), from: next.value.from };
    };
    if (requestedBytes(version.size, range) === 0) return streamOf(body.value.body);
    const spliced = resumingBody({ body: streamOf(body.value.body), from: body.value.from }, requestedBytes(version.size, range), resume);
    return range ? spliced : verifyingStream(spliced, version);
  }

  async list(bucket: string, prefix: string, after: string, limit: number, signal?: AbortSignal, delimiter?: string): Promise<{ versions: readonly ObjectVersion[]; truncated: boolean }> {
    signal?.throwIfAborted();
    const page = await readBucketListing(this.deps, { bucket, prefix, after, limit, ...(delimiter ? { delimiter } : {}) }, signal);
    if (page.ok) return page.value;
    if (page.error.kind === "cancelled") throw clientGoneError(signal);
    this.deps.log.warn("s3.list-failed", { bucket, prefix, answered: page.error.answered, asked: page.error.asked, missed: page.error.missed });
    throw new S3Error("ServiceUnavailable", `Only ${page.error.answered} of ${page.error.asked} storage nodes answered the listing. Please retry.`);
  }

  /** Core decides (core/router-health.ts); a change of the answer is one log line, with the reason. */
  healthy(): boolean {
    if (!this.startUpDone) {
      if (this.options.startedUp && !this.options.startedUp()) return false;
      this.startUpDone = true;
    }
    const health = routerHealth(this.deps.rings(), (n) => this.deps.isLive(n), this.deps.settings);
    if (health.healthy !== this.wasHealthy) {
      const fields = { servablePartitions: health.servablePartitions, partitionCount: health.partitionCount, liveNodes: health.liveNodes, activeNodes: health.activeNodes, downNodes: health.downNodes };
      if (health.healthy) this.deps.log.info("router.healthy", fields);
      // Not yet healthy after start is the normal state until the first heartbeats land: not worth a warning.
      else if (this.wasHealthy !== undefined) this.deps.log.warn("router.unhealthy", { ...fields, reason: health.reason });
      this.wasHealthy = health.healthy;
    }
    return health.healthy;
  }
}

/**
 * The router's check of one replica's body: only that it is a stream. The node checks every block it sends;
 * the end-to-end xxhash64 of a whole-object read runs over the spliced body in openFrom, not per replica,
 * since a body may come from several replicas.
 */
export function verifyRouterBody(body: RouterBody, _version: ObjectVersion, _range: ByteRange | undefined): Result<RouterBody, TransportFailure> {
  if (body instanceof StreamTee) return err({ kind: "remote", detail: "a get returned a tee" });
  return ok(body);
}

/** A body the router received and will not hand on: cut, so the connection it came on is let go. */
export function discardRouterBody(body: RouterBody): void {
  if (!(body instanceof StreamTee)) body.destroy();
}

/** What a read whose client went away fails with: the signal's reason (nobody is left to read an S3 error). */
function clientGoneError(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new Error("the client went away");
}

function streamOf(body: RouterBody): Readable {
  if (body instanceof StreamTee) throw new Error("a get returned a tee");
  return body;
}
