// A simulated router: core/coordinator.ts over the simulated ports, with core's heartbeat driver
// (core/heartbeats.ts: failure detection, map gossip, ring-change retirement), as the runtime router runs it.
// Guarantees: the coordinator sees exactly what the runtime router would: a Transport, a ring view, a
// liveness view, an HLC on this process's skewed clock; bodies are verified against the version's checksum
// (SimBody.contentHash), so a corrupt replica is skipped unless the planted bug skipReadChecksum is on.
// Assumes: heartbeat answers carry (epoch, mapHash, syncedEpoch) as core/ports.ts defines them.

import { EMPTY_BODY_CHECKSUM, type CoordinatorDeps, deleteObject, openAnswerBody, readObject, writeVersion } from "../core/coordinator.ts";
import { listBucketPage, readBucketListing } from "../core/bucket-listing.ts";
import { type BucketRecordObjects, BucketRegistry, pushBucketEntries } from "../core/bucket-registry.ts";
import { BucketTable } from "../core/bucket-table.ts";
import { MANIFEST_META, type Manifest, PARTS_BUCKET, UPLOADS_BUCKET, parseManifest, partKey } from "../core/manifest.ts";
import { type UploadObjects, type UploadRef, abortUpload, collectReplacedUpload, completeUpload } from "../core/multipart.ts";
import { type HeartbeatHost, Heartbeats } from "../core/heartbeats.ts";
import { Membership, ringsOf } from "../core/membership.ts";
import { primariesOf } from "../core/placement.ts";
import type { ObjectVersion, VersionStamp } from "../core/object-version.ts";
import type { TransportFailure } from "../core/ports.ts";
import { type Result, err, ok } from "../core/result.ts";
import { replicationSettings } from "../core/settings.ts";
import { HybridLogicalClock } from "../core/version.ts";
import { SIM_MANIFEST_META, type SimBody, etagOf, multipartBody } from "./body.ts";
import type { WriteQuorumReport } from "./write-quorum-check.ts";
import type { BucketOutcome, DoneOutcome, ListOutcome, LogicContext, PartOutcome, ReadOutcome, RouterInstance, UploadOutcome, WriteOutcome } from "./logic.ts";

/** Simulated parts are small (sim/workload.ts sizes), so S3's 5 MiB minimum is scaled down with them. */
const SIM_PART_BYTES_MIN = 1;

export const simEmptyBody: SimBody = Object.freeze({ size: 0, contentHash: EMPTY_BODY_CHECKSUM });

/** What a node (or the runtime's verifying stream) does: compare the bytes' hash with the version's checksum. */
export function verifySimBody(body: SimBody, version: ObjectVersion): Result<SimBody, TransportFailure> {
  if (body.contentHash !== version.checksum) return err({ kind: "corrupt", detail: `body hash ${body.contentHash} != checksum ${version.checksum}` });
  return ok(body);
}

/** A simulated process's heartbeat driver (core/heartbeats.ts, the runtime's too) on the simulated ports. */
export function simHeartbeats(ctx: LogicContext, membership: Membership, hooks: Pick<HeartbeatHost<SimBody>, "ownReport" | "onViewChange" | "buckets"> = {}): Heartbeats<SimBody> {
  const process = ctx.process;
  return new Heartbeats<SimBody>({
    self: process.id,
    transport: ctx.transport,
    membership,
    clock: { nowMs: () => process.clock.nowMs(), sleep: (ms) => process.sleep(ms) },
    settings: { downAfterMs: ctx.timing.failureTimeoutMs, heartbeatIntervalMs: ctx.timing.heartbeatIntervalMs },
    log: ctx.log,
    onMap: () => ctx.storeMap(membership.map),
    bugs: ctx.bugs,
    ...hooks,
  });
}

export function startCoreRouter(ctx: LogicContext): RouterInstance {
  const clock = ctx.process.clock;
  const membership = new Membership(ctx.storedMap(), ctx.log, { bugs: ctx.bugs });
  // The bucket table: learned from the nodes on heartbeats, never stored (as the runtime router's).
  const bucketTable = new BucketTable();
  const heartbeats = simHeartbeats(ctx, membership, { buckets: { table: bucketTable } });
  const deps: CoordinatorDeps<SimBody> = {
    transport: ctx.transport,
    rings: () => membership.view,
    isLive: (node) => heartbeats.isLive(node),
    hlc: new HybridLogicalClock(clock, ctx.process.id),
    log: ctx.log,
    settings: replicationSettings({ replicas: ctx.quorum.replicas, writeQuorum: ctx.quorum.writeQuorum, readQuorum: ctx.quorum.readQuorum, sloppyQuorum: ctx.quorum.sloppyQuorum ?? false }),
    emptyBody: () => simEmptyBody,
    verifyBody: (body, version) => verifySimBody(body, version),
    faults: ctx.bugs,
  };
  heartbeats.start();

  type Written = { readonly ok: true; readonly stamp: VersionStamp; readonly version: ObjectVersion; readonly quorum: WriteQuorumReport } | { readonly ok: false; readonly reason: string };
  const writeBody = async (bucket: string, key: string, body: SimBody, userMeta: Record<string, string>): Promise<Written> => {
    const rings = ringsOf(membership.view); // the view the coordinator routes this write by (it reads it at once)
    const outcome = await writeVersion(deps, { bucket, key, size: body.size, contentType: "video/mp4", userMeta, body, finish: async () => ok({ etag: etagOf(body), checksum: body.contentHash, size: body.size }) });
    if (!outcome.ok) return { ok: false, reason: outcome.error.kind === "quorum-failed" ? `quorum-failed/${outcome.error.phase}` : outcome.error.kind };
    const version = outcome.value.version;
    return { ok: true, stamp: version.stamp, version, quorum: { bucket, key, stamp: version.stamp, rings, standIns: outcome.value.standIns } };
  };

  // The replicated object service multipart runs on (core/multipart.ts UploadObjects), as the runtime's
  // ObjectService gives it: a failed quorum rejects. The bucket registry's records live on the same service.
  const objects: UploadObjects & Pick<BucketRecordObjects, "head" | "remove" | "list"> = {
    async head(bucket, key) {
      const answer = await readObject(deps, bucket, key);
      if (!answer.ok) throw new Error(`head ${bucket}/${key}: read ${answer.error.kind}`);
      return answer.value.version;
    },
    async remove(bucket, key) {
      const outcome = await deleteObject(deps, bucket, key);
      if (!outcome.ok) throw new Error(`remove ${bucket}/${key}: ${outcome.error.kind}`);
      return outcome.value.version;
    },
    async list(bucket, prefix, after, limit) {
      const page = await readBucketListing(deps, { bucket, prefix, after, limit });
      if (!page.ok) throw new Error(`list ${bucket}/${prefix}: ${page.error.kind}`);
      return page.value;
    },
  };
  const failure = (error: unknown): string => (error instanceof Error ? error.message : String(error));
  const readManifest = async (v: ObjectVersion): Promise<Manifest> => parseManifest(v.userMeta[SIM_MANIFEST_META] ?? "");
  /** What the runtime does around every write of a key: ask what it replaces, and collect that if it was multipart. */
  const replacing = async <T extends WriteOutcome>(bucket: string, key: string, write: () => Promise<T>): Promise<T> => {
    const previous = objects.head(bucket, key).catch((error: unknown) => (ctx.log.warn("multipart.previous-unknown", { bucket, key, cause: failure(error) }), null));
    const written = await write();
    if (written.ok) {
      void previous.then(async (old) => {
        const report = await collectReplacedUpload(objects, old, written.stamp, readManifest).catch((error: unknown) => ({ dropped: 0, failure: failure(error) }));
        if (report.failure !== undefined) ctx.log.warn("multipart.collect-replaced-failed", { bucket, key, cause: report.failure });
      });
    }
    return written;
  };
  /** The upload's record (in UPLOADS_BUCKET), or why the upload is not open. */
  const requireUpload = async (bucket: string, key: string, uploadId: string): Promise<Result<UploadRef, string>> => {
    const record = `${bucket}/${key}/${uploadId}`;
    const found = await objects.head(UPLOADS_BUCKET, record);
    return found && !found.deleted ? ok({ uploadId, record }) : err("NoSuchUpload");
  };
  let uploadsCreated = 0;

  // The bucket registry (core/bucket-registry.ts) over this router's coordinator, as the runtime router's. Simulated
  // buckets carry no settings (CORS and lifecycle rules are the runtime's), so records have empty bodies.
  const records: BucketRecordObjects = {
    ...objects,
    async writeText(target, text) {
      if (text !== "") throw new Error(`simulated bucket records carry no settings (${text.length} characters given)`);
      const written = await writeBody(target.bucket, target.key, simEmptyBody, target.metadata);
      if (!written.ok) throw new Error(`write ${target.bucket}/${target.key}: ${written.reason}`);
      return written.version;
    },
    readText: async (version) => {
      throw new Error(`simulated bucket records carry no settings (${version.key} has ${version.size} bytes)`);
    },
  };
  const buckets = new BucketRegistry({
    objects: records,
    table: bucketTable,
    push: (entries) => pushBucketEntries(ctx.transport, membership.view, entries),
    writeQuorum: deps.settings.writeQuorum,
    nowMs: () => Math.floor(clock.nowMs()), // whole ms, as Date.now gives the runtime's
    onPushIncomplete: (bucket, state, missing) => ctx.log.warn("bucket.push-incomplete", { bucket, state, missing }),
    onPushFailed: (bucket, state, cause) => ctx.log.error("bucket.push-failed", { bucket, state, cause: failure(cause) }),
  });
  /** What the runtime's app does before every object request: the bucket must exist (NoSuchBucket), or be told. */
  const bucketRefusal = async (bucket: string): Promise<string | undefined> => {
    // The internal buckets (names no client may use) are the simulator's own reads (sim/multipart-check.ts).
    if (bucket.startsWith("-")) return undefined;
    try {
      return (await buckets.find(bucket)) ? undefined : "NoSuchBucket";
    } catch (error) {
      return `bucket unknown: ${failure(error)}`;
    }
  };
  /** `op`, once the bucket is known to exist; otherwise the failure that says why not. */
  const inBucket = async <T>(bucket: string, op: () => Promise<T>): Promise<T | { readonly ok: false; readonly reason: string }> => {
    const refused = await bucketRefusal(bucket);
    return refused === undefined ? op() : { ok: false, reason: refused };
  };

  return {
    routesTo: (node) => ringsOf(membership.view).some((ring) => ring.indexOf.has(node)),
    inTransition: () => membership.view.previous !== undefined,
    put: (bucket, key, body) => inBucket(bucket, () => replacing(bucket, key, () => writeBody(bucket, key, body, {}))),
    async createBucket(name): Promise<BucketOutcome> {
      try {
        const outcome = await buckets.create(name);
        return outcome === "too-many" ? { ok: false, reason: "TooManyBuckets" } : { ok: true, created: outcome === "created" };
      } catch (error) {
        return { ok: false, reason: failure(error) };
      }
    },
    async deleteBucket(name): Promise<DoneOutcome> {
      try {
        const outcome = await buckets.remove(name);
        if (outcome.ok) return { ok: true };
        return { ok: false, reason: outcome.error.kind === "mark-not-held" ? `mark-not-held (${outcome.error.missing.join(", ")} missed it)` : outcome.error.kind };
      } catch (error) {
        return { ok: false, reason: failure(error) };
      }
    },
    async createUpload(bucket, key): Promise<UploadOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      // Unique across routers and incarnations: this process's id, its clock's reading and a counter.
      const uploadId = `${ctx.process.id}-${deps.hlc.mint()}-${(uploadsCreated += 1)}`;
      const written = await writeBody(UPLOADS_BUCKET, `${bucket}/${key}/${uploadId}`, simEmptyBody, {});
      return written.ok ? { ok: true, uploadId } : written;
    },
    async uploadPart(bucket, key, uploadId, partNumber, body): Promise<PartOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      try {
        const upload = await requireUpload(bucket, key, uploadId);
        if (!upload.ok) return { ok: false, reason: upload.error };
        const written = await writeBody(PARTS_BUCKET, partKey(uploadId, partNumber), body, {});
        return written.ok ? { ok: true, etag: etagOf(body) } : written;
      } catch (error) {
        return { ok: false, reason: failure(error) };
      }
    },
    async completeUpload(bucket, key, uploadId, parts): Promise<WriteOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      try {
        const upload = await requireUpload(bucket, key, uploadId);
        if (!upload.ok) return { ok: false, reason: upload.error };
        return await replacing(bucket, key, async (): Promise<WriteOutcome> => {
          const done = await completeUpload(
            objects,
            upload.value,
            parts,
            async (manifest) => {
              const written = await writeBody(bucket, key, multipartBody(manifest.uploadId, manifest.parts), { [MANIFEST_META]: "1", [SIM_MANIFEST_META]: JSON.stringify(manifest) });
              if (!written.ok) throw new Error(`complete ${bucket}/${key}: ${written.reason}`);
              return written.version;
            },
            { partBytesMin: SIM_PART_BYTES_MIN, bugs: ctx.bugs },
          );
          if (!done.ok) return { ok: false, reason: done.error.kind === "invalid-part" ? `InvalidPart ${done.error.partNumber}` : `EntityTooSmall ${done.error.partNumber}` };
          void done.value.dropUnnamed().then((report) => report.failure !== undefined && ctx.log.warn("multipart.drop-parts-failed", { uploadId, after: "complete", cause: report.failure }));
          return { ok: true, stamp: done.value.version.stamp };
        });
      } catch (error) {
        return { ok: false, reason: failure(error) };
      }
    },
    async abortUpload(bucket, key, uploadId): Promise<DoneOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      try {
        const upload = await requireUpload(bucket, key, uploadId);
        if (!upload.ok) return { ok: false, reason: upload.error };
        const aborted = await abortUpload(objects, upload.value);
        return aborted.ok ? { ok: true } : { ok: false, reason: `parts left: ${aborted.error.failure}` };
      } catch (error) {
        return { ok: false, reason: failure(error) };
      }
    },
    async list(bucket, request): Promise<ListOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      const page = await listBucketPage(deps, bucket, request);
      if (page.ok) return { ok: true, page: page.value };
      return { ok: false, reason: page.error.kind === "cancelled" ? "cancelled" : `listing ${page.error.answered} of ${page.error.asked} answered` };
    },
    delete: (bucket, key) =>
      inBucket(bucket, () =>
        replacing(bucket, key, async (): Promise<WriteOutcome> => {
          const outcome = await deleteObject(deps, bucket, key);
          return outcome.ok ? { ok: true, stamp: outcome.value.version.stamp } : { ok: false, reason: outcome.error.kind === "quorum-failed" ? `quorum-failed/${outcome.error.phase}` : outcome.error.kind };
        }),
      ),
    async get(bucket, key): Promise<ReadOutcome> {
      const refused = await bucketRefusal(bucket);
      if (refused !== undefined) return { ok: false, reason: refused };
      const view = membership.view;
      // As the runtime's router reads a whole object: the first replica sends the body with its answer.
      const answer = await readObject(deps, bucket, key, undefined, {});
      if (!answer.ok) return { ok: false, reason: `read ${answer.error.kind}` };
      // Did R primaries (or stand-ins the coordinator counted in place of down ones, core/quorum.ts) answer on
      // every ring, or did handoffs' answers make up the quorum? Only the latter is finding F1's sloppy quorum:
      // a stale read through a counted stand-in is a violation of its own, never excused as F1.
      const sloppy = ringsOf(view).some((ring) => {
        const primaries = primariesOf(ring, answer.value.partition);
        const fromPrimaries = [...answer.value.answers.keys()].filter((n) => primaries.includes(n)).length;
        const fromStandIns = [...answer.value.standIns.values()].filter((n) => primaries.includes(n)).length;
        return fromPrimaries + fromStandIns < Math.min(ctx.quorum.readQuorum, primaries.length);
      });
      const version = answer.value.version;
      if (version === null) return { ok: true, found: false, sloppy };
      if (version.deleted) return { ok: true, found: false, tombstone: version.stamp, sloppy };
      // What this read saw, for the oracle's read repair check: primaries of the current ring behind the answer.
      const primaries = primariesOf(view.current, answer.value.partition);
      const stale = [...answer.value.answers].filter(([n, v]) => primaries.includes(n) && (v === null || v.stamp < version.stamp)).map(([n]) => n);
      const body = await openAnswerBody(deps, answer.value);
      if (!body.ok) return { ok: false, reason: `body ${body.error.kind}` };
      return { ok: true, found: true, version: body.value.version, body: body.value.body, sloppy, readRepair: { stale, done: answer.value.background } };
    },
    // A router answers heartbeats and map requests, so a map the operator handed it spreads by gossip.
    handle: async (from, request) => {
      if (request.kind === "heartbeat") {
        heartbeats.onHeartbeat(from, { epoch: request.epoch, mapHash: request.mapHash });
        return ok({ epoch: membership.epoch, mapHash: membership.hash });
      }
      if (request.kind === "get-map") return ok({ map: membership.map });
      return err({ kind: "remote", detail: `a router does not serve ${request.kind}` });
    },
    installMap(map): void {
      heartbeats.adopt(map);
    },
  };
}
