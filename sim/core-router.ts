// A simulated router: core/coordinator.ts over the simulated ports, with its own failure detector and
// membership fed by pinging every node of its map (the ping's answer is the heartbeat it learns from).
// Guarantees: the coordinator sees exactly what the runtime router would: a Transport, a ring view, a
// liveness view, an HLC on this process's skewed clock; bodies are verified against the version's checksum
// (SimBody.contentHash), so a corrupt replica is skipped unless the planted bug skipReadChecksum is on.
// Assumes: heartbeat answers carry (epoch, mapHash, syncedEpoch) as core/ports.ts defines them.

import type { ClusterMap } from "../core/cluster-map.ts";
import { EMPTY_BODY_CHECKSUM, type CoordinatorDeps, deleteObject, openBody, readObject, writeVersion } from "../core/coordinator.ts";
import { FailureDetector } from "../core/failure-detector.ts";
import type { NodeId } from "../core/ids.ts";
import { Membership, ringsOf } from "../core/membership.ts";
import { primariesOf } from "../core/placement.ts";
import type { ObjectVersion } from "../core/object-version.ts";
import type { TransportFailure } from "../core/ports.ts";
import { type Result, err, ok } from "../core/result.ts";
import { replicationSettings } from "../core/settings.ts";
import { HybridLogicalClock } from "../core/version.ts";
import { type SimBody, etagOf } from "./body.ts";
import type { LogicContext, ReadOutcome, RouterInstance, WriteOutcome } from "./logic.ts";

export const simEmptyBody: SimBody = Object.freeze({ size: 0, contentHash: EMPTY_BODY_CHECKSUM });

/** What a node (or the runtime's verifying stream) does: compare the bytes' hash with the version's checksum. */
export function verifySimBody(body: SimBody, version: ObjectVersion): Result<SimBody, TransportFailure> {
  if (body.contentHash !== version.checksum) return err({ kind: "corrupt", detail: `body hash ${body.contentHash} != checksum ${version.checksum}` });
  return ok(body);
}

/** Fetches a peer's map for `adopt`, one fetch at a time per process: a request while one is in flight is dropped. */
export function mapFetcher(transport: LogicContext["transport"], adopt: (map: ClusterMap) => void): (from: NodeId) => Promise<void> {
  let fetching = false;
  return async (from) => {
    if (fetching) return;
    fetching = true;
    try {
      const got = await transport.send(from, { kind: "get-map" });
      if (got.ok) adopt(got.value.map);
    } finally {
      fetching = false;
    }
  };
}

/** Ping every node of the map each interval; answers feed the failure detector and map gossip. */
export function startPinger(ctx: LogicContext, membership: Membership, detector: FailureDetector, selfReport: () => { syncedEpoch?: number } = () => ({})): void {
  const clock = ctx.process.clock;
  const self = ctx.process.id;
  const fetchMap = mapFetcher(ctx.transport, (map) => {
    const adopted = membership.adopt(map);
    if (adopted.ok && adopted.value !== "ignored-not-newer") ctx.storeMap(membership.map);
  });
  const pingOnce = (to: NodeId): void => {
    void ctx.transport
      .send(to, { kind: "heartbeat", from: self, epoch: membership.epoch, mapHash: membership.hash, ...selfReport() } as never)
      .then((r) => {
        if (!r.ok) return;
        detector.heard(to, clock.nowMs());
        const value = r.value as { epoch: never; mapHash: string; syncedEpoch?: never };
        const effect = membership.observe(to, value);
        if (effect !== null) void fetchMap(effect.from);
        membership.retireIfComplete();
      });
  };
  const loop = async (): Promise<void> => {
    for (;;) {
      for (const node of membership.map.nodes) if (node.id !== self) pingOnce(node.id);
      await ctx.process.sleep(ctx.timing.heartbeatIntervalMs);
    }
  };
  void loop();
}

export function startCoreRouter(ctx: LogicContext): RouterInstance {
  const clock = ctx.process.clock;
  const membership = new Membership(ctx.storedMap(), ctx.log);
  const detector = new FailureDetector({ downAfterMs: ctx.timing.failureTimeoutMs, heartbeatIntervalMs: ctx.timing.heartbeatIntervalMs }, clock.nowMs());
  const deps: CoordinatorDeps<SimBody> = {
    transport: ctx.transport,
    rings: () => membership.view,
    isLive: (node) => detector.isLive(node, clock.nowMs()),
    hlc: new HybridLogicalClock(clock, ctx.process.id),
    log: ctx.log,
    settings: replicationSettings({ replicas: ctx.quorum.replicas, writeQuorum: ctx.quorum.writeQuorum, readQuorum: ctx.quorum.readQuorum, sloppyQuorum: ctx.quorum.sloppyQuorum ?? false }),
    emptyBody: () => simEmptyBody,
    verifyBody: (body, version) => verifySimBody(body, version),
    faults: ctx.bugs,
  };
  startPinger(ctx, membership, detector);

  return {
    routesTo: (node) => ringsOf(membership.view).some((ring) => ring.indexOf.has(node)),
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
        detector.heard(from, clock.nowMs());
        return ok({ epoch: membership.epoch, mapHash: membership.hash });
      }
      if (request.kind === "get-map") return ok({ map: membership.map });
      return err({ kind: "remote", detail: `a router does not serve ${request.kind}` });
    },
    installMap(map): void {
      const adopted = membership.adopt(map);
      if (adopted.ok && adopted.value !== "ignored-not-newer") ctx.storeMap(membership.map);
    },
  };
}
