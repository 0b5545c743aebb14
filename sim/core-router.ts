// A simulated router: core/coordinator.ts over the simulated ports, with core's heartbeat driver
// (core/heartbeats.ts: failure detection, map gossip, ring-change retirement), as the runtime router runs it.
// Guarantees: the coordinator sees exactly what the runtime router would: a Transport, a ring view, a
// liveness view, an HLC on this process's skewed clock; bodies are verified against the version's checksum
// (SimBody.contentHash), so a corrupt replica is skipped unless the planted bug skipReadChecksum is on.
// Assumes: heartbeat answers carry (epoch, mapHash, syncedEpoch) as core/ports.ts defines them.

import { EMPTY_BODY_CHECKSUM, type CoordinatorDeps, deleteObject, openBody, readObject, writeVersion } from "../core/coordinator.ts";
import { listBucketPage } from "../core/bucket-listing.ts";
import { type HeartbeatHost, Heartbeats } from "../core/heartbeats.ts";
import { Membership, ringsOf } from "../core/membership.ts";
import { primariesOf } from "../core/placement.ts";
import type { ObjectVersion } from "../core/object-version.ts";
import type { TransportFailure } from "../core/ports.ts";
import { type Result, err, ok } from "../core/result.ts";
import { replicationSettings } from "../core/settings.ts";
import { HybridLogicalClock } from "../core/version.ts";
import { type SimBody, etagOf } from "./body.ts";
import type { ListOutcome, LogicContext, ReadOutcome, RouterInstance, WriteOutcome } from "./logic.ts";

export const simEmptyBody: SimBody = Object.freeze({ size: 0, contentHash: EMPTY_BODY_CHECKSUM });

/** What a node (or the runtime's verifying stream) does: compare the bytes' hash with the version's checksum. */
export function verifySimBody(body: SimBody, version: ObjectVersion): Result<SimBody, TransportFailure> {
  if (body.contentHash !== version.checksum) return err({ kind: "corrupt", detail: `body hash ${body.contentHash} != checksum ${version.checksum}` });
  return ok(body);
}

/** A simulated process's heartbeat driver (core/heartbeats.ts, the runtime's too) on the simulated ports. */
export function simHeartbeats(ctx: LogicContext, membership: Membership, hooks: Pick<HeartbeatHost<SimBody>, "ownReport" | "onViewChange"> = {}): Heartbeats<SimBody> {
  const process = ctx.process;
  return new Heartbeats<SimBody>({
    self: process.id,
    transport: ctx.transport,
    membership,
    clock: { nowMs: () => process.clock.nowMs(), sleep: (ms) => process.sleep(ms) },
    settings: { downAfterMs: ctx.timing.failureTimeoutMs, heartbeatIntervalMs: ctx.timing.heartbeatIntervalMs },
    log: ctx.log,
    onMap: () => ctx.storeMap(membership.map),
    ...hooks,
  });
}

export function startCoreRouter(ctx: LogicContext): RouterInstance {
  const clock = ctx.process.clock;
  const membership = new Membership(ctx.storedMap(), ctx.log, { bugs: ctx.bugs });
  const heartbeats = simHeartbeats(ctx, membership);
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

  return {
    routesTo: (node) => ringsOf(membership.view).some((ring) => ring.indexOf.has(node)),
    inTransition: () => membership.view.previous !== undefined,
    async put(bucket, key, body): Promise<WriteOutcome> {
      const outcome = await writeVersion(deps, {
        bucket,
        key,
        size: body.size,
        contentType: "video/mp4",
        userMeta: {},
        body,
        finish: async () => ok({ etag: etagOf(body), checksum: body.contentHash, size: body.size }),
      });
      return outcome.ok ? { ok: true, stamp: outcome.value.version.stamp } : { ok: false, reason: outcome.error.kind === "quorum-failed" ? `quorum-failed/${outcome.error.phase}` : outcome.error.kind };
    },
    async list(bucket, request): Promise<ListOutcome> {
      const page = await listBucketPage(deps, bucket, request);
      if (page.ok) return { ok: true, page: page.value };
      return { ok: false, reason: page.error.kind === "cancelled" ? "cancelled" : `listing ${page.error.answered} of ${page.error.asked} answered` };
    },
    async delete(bucket, key): Promise<WriteOutcome> {
      const outcome = await deleteObject(deps, bucket, key);
      return outcome.ok ? { ok: true, stamp: outcome.value.version.stamp } : { ok: false, reason: outcome.error.kind === "quorum-failed" ? `quorum-failed/${outcome.error.phase}` : outcome.error.kind };
    },
    async get(bucket, key): Promise<ReadOutcome> {
      const view = membership.view;
      const answer = await readObject(deps, bucket, key);
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
      const body = await openBody(deps, answer.value);
      if (!body.ok) return { ok: false, reason: `body ${body.error.kind}` };
      return { ok: true, found: true, version: body.value.version, body: body.value.body, sloppy };
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
