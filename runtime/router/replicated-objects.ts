// The router's ObjectService: S3 operations carried out by the core coordinator over the HTTP transport.
// Guarantees: a PUT body streams once from the client to every replica through a tee (backpressure set by
// the slowest); a client-side failure of the body (bad digest, short body) surfaces as that S3Error, not
// as a 503; a quorum failure is ServiceUnavailable; every failure an operator must act on is one log line.
import type { Readable } from "node:stream";
import { type CoordinatorDeps, deleteObject, describeFailures, openBody, readObject, writeVersion } from "../../core/coordinator.ts";
import type { NodeId, PartitionId } from "../../core/ids.ts";
import { partitionOf } from "../../core/placement.ts";
import { listingComplete, mergeListingPages } from "../../core/listing.ts";
import { ringsOf } from "../../core/membership.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange, TransportFailure } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { S3Error, isS3Error } from "../s3/errors.ts";
import type { ObjectService, PutInput } from "./object-service.ts";
import { StreamTee } from "./tee.ts";
import { verifyingStream } from "./verify-stream.ts";

/** What travels as a body inside the router: a tee to branch per replica (puts), or a stream (gets). */
export type RouterBody = Readable | StreamTee;

const CLIENT_ERROR_WAIT_MS = 100;

/** Where `head` found a version: carried on the returned object under a symbol, so it never serializes. */
const LOCATION: unique symbol = Symbol("ringstore.location");
type Located = ObjectVersion & { readonly [LOCATION]?: { readonly partition: PartitionId; readonly holders: readonly NodeId[] } };

export interface ReplicatedObjectsOptions {
  readonly coordinator: CoordinatorDeps<RouterBody>;
  /** Nodes to ask for a listing page: every active node of the rings in force. */
  readonly listTargets: () => readonly NodeId[];
  /** False until this router has heard from (or given up on) every node once: no health before that. */
  readonly ready?: () => boolean;
  /** The most list-bucket requests a listing may send at once. */
  readonly listConcurrencyMax?: number;
}

export class ReplicatedObjects implements ObjectService {
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

  async head(bucket: string, key: string): Promise<ObjectVersion | null> {
    const answer = await this.read(bucket, key);
    if (!answer.version) return null;
    // Remember where the version was found, so that a GET opens the body without a second quorum read.
    return Object.assign({ ...answer.version }, { [LOCATION]: { partition: answer.partition, holders: answer.holders } });
  }

  private async read(bucket: string, key: string) {
    const answer = await readObject(this.deps, bucket, key);
    if (!answer.ok) throw new S3Error("ServiceUnavailable", `Only ${answer.error.answered.length} of ${answer.error.needed} replicas answered. Please retry.`);
    return answer.value;
  }

  async open(version: ObjectVersion, range?: ByteRange): Promise<Readable> {
    const located = (version as Located)[LOCATION];
    if (located) return this.openFrom(located.partition, version, located.holders, range);
    const answer = await this.read(version.bucket, version.key);
    const holders = answer.version?.stamp === version.stamp ? answer.holders : [];
    return this.openFrom(answer.partition, version, holders, range);
  }

  openVersion(version: ObjectVersion, range?: ByteRange): Promise<Readable> {
    return this.openFrom(partitionOf(this.deps.rings().current, version.bucket, version.key), version, [], range);
  }

  private async openFrom(partition: PartitionId, version: ObjectVersion, holders: readonly NodeId[], range: ByteRange | undefined): Promise<Readable> {
    const body = await openBody(this.deps, { partition, version, holders }, range);
    if (!body.ok) throw new S3Error("ServiceUnavailable", "No replica could serve the object's bytes. Please retry.", { cause: body.error });
    const stream = body.value.body;
    if (stream instanceof StreamTee) throw new Error("a get returned a tee");
    return stream;
  }

  async list(bucket: string, prefix: string, after: string, limit: number, signal?: AbortSignal, delimiter?: string): Promise<{ versions: readonly ObjectVersion[]; truncated: boolean }> {
    signal?.throwIfAborted();
    const asked = this.options.listTargets();
    const targets = asked.filter((n) => this.deps.isLive(n));
    const folding = delimiter ? { delimiter } : {};
    const answers = await Promise.all(targets.map((node) => this.deps.transport.send(node, { kind: "list-bucket", bucket, prefix, after, limit, ...folding })));
    const pages = answers.flatMap((a) => (a.ok ? [a.value] : []));
    if (!listingComplete(pages.length, asked.length, this.deps.settings.writeQuorum)) {
      throw new S3Error("ServiceUnavailable", `Only ${pages.length} of ${asked.length} storage nodes answered the listing. Please retry.`);
    }
    return mergeListingPages(pages, limit, delimiter ? { prefix, delimiter } : undefined);
  }

  healthy(): boolean {
    if (this.options.ready && !this.options.ready()) return false;
    const view = this.deps.rings();
    const live = view.current.nodes.filter((n) => this.deps.isLive(n.id)).length;
    return ringsOf(view).every((ring) => live >= Math.min(this.deps.settings.writeQuorum, ring.replicaCount));
  }
}

/** The router's check of a replica's bytes: whole-object reads are re-hashed with xxhash64 as they stream. */
export function verifyRouterBody(body: RouterBody, version: ObjectVersion, range: ByteRange | undefined): Result<RouterBody, TransportFailure> {
  if (body instanceof StreamTee) return err({ kind: "remote", detail: "a get returned a tee" });
  if (range) return ok(body); // the node verified each block it sent
  return ok(verifyingStream(body, version));
}
