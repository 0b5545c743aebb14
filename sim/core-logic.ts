// The logic the simulator runs by default: core/ itself. A storage node is core/storage-node.ts's handler
// over the simulated disk, plus the host loops the runtime also runs: heartbeats (failure detector and map
// gossip, core/membership.ts), repair rounds (core/repair.ts), and a scrubber that re-reads stored bodies
// at a bounded rate and hands corrupt ones to core's corrupt-copy queue (core/corrupt-copies.ts, the runtime's
// too), which repairCorruptCopy (core/repair.ts) drains. A router is
// sim/core-router.ts (core/coordinator.ts).
// Guarantees: the host loops only sequence core calls; every decision is core's. A restarted or joined node
// starts "behind" on every partition (core/catch-up.ts); only the nodes of a brand-new cluster start caught up.
// Assumes: the previous ring of a transition is not persisted across a restart (the map is): a node that
// restarts mid-transition follows the current ring only until gossip and repair settle it.

import { CatchUpState, type NodeStart } from "../core/catch-up.ts";
import { DigestCachingStore } from "../core/digest-cache.ts";
import { FailureDetector } from "../core/failure-detector.ts";
import { ForeignHoldings } from "../core/foreign-holdings.ts";
import type { PartitionId } from "../core/ids.ts";
import { Membership, ringsOf } from "../core/membership.ts";
import type { ObjectVersion } from "../core/object-version.ts";
import { type RepairContext, RepairState } from "../core/repair.ts";
import { CorruptCopyQueue } from "../core/corrupt-copies.ts";
import { runRepairLoop } from "../core/repair-loop.ts";
import { StandInState } from "../core/stand-in.ts";
import { repairSettings } from "../core/settings.ts";
import { type StorageNodeContext, handleReplicaRequest, heartbeatReport, toObjectVersion } from "../core/storage-node.ts";
import type { ClusterMap } from "../core/cluster-map.ts";
import { err, ok } from "../core/result.ts";
import type { SimBody } from "./body.ts";
import type { ScrubCursor } from "./disk.ts";
import { mapFetcher, simEmptyBody, startCoreRouter, verifySimBody } from "./core-router.ts";
import type { Logic, NodeContext, NodeInstance } from "./logic.ts";

/** Bodies the scrubber re-reads per pass. */
const SCRUB_BODIES_PER_PASS = 64;

export function startCoreNode(ctx: NodeContext): NodeInstance {
  const clock = ctx.process.clock;
  const self = ctx.process.id;
  const storedMap = ctx.storedMap();
  const membership = new Membership(storedMap, ctx.log);
  const detector = new FailureDetector({ downAfterMs: ctx.timing.failureTimeoutMs, heartbeatIntervalMs: ctx.timing.heartbeatIntervalMs }, clock.nowMs());
  const entry = storedMap.nodes.find((n) => n.id === self);
  const brandNewCluster = ctx.process.incarnation === 1 && storedMap.epoch === 1 && entry?.joinedEpoch === 1;
  const start: NodeStart = brandNewCluster ? "new-cluster" : ctx.disk.formatted ? "restart-with-data" : "empty";
  ctx.disk.formatted = true;
  const catchUp = new CatchUpState(self, membership.view, start);
  const standIns = new StandInState(
    self,
    { isLive: (node) => detector.isLive(node, clock.nowMs()), downSinceMs: (node) => detector.downSinceMs(node, clock.nowMs()), nowMs: () => clock.nowMs() },
  );
  const repairState = new RepairState();
  // The same queue as the runtime's (core/corrupt-copies.ts): limits, de-duplication and retries.
  const corruptQueue = new CorruptCopyQueue();
  // The node's store as the runtime would build it: the disk behind core's digest cache (per incarnation).
  const store = new DigestCachingStore(ctx.disk, storedMap.partitionBits);
  const foreign = new ForeignHoldings(ctx.process.incarnation);

  const adopt = (map: ClusterMap): void => {
    const adopted = membership.adopt(map);
    if (adopted.ok && adopted.value !== "ignored-not-newer") {
      catchUp.onRingChange(membership.view);
      foreign.forget();
      ctx.storeMap(membership.map);
    }
  };
  const fetchMap = mapFetcher(ctx.transport, adopt);
  const retire = (): void => {
    if (membership.retireIfComplete()) {
      catchUp.onRingChange(membership.view);
      foreign.forget();
    }
  };

  const nodeCtx: StorageNodeContext<SimBody> = {
    self,
    store,
    catchUp,
    standIns,
    membership,
    foreign,
    onHeartbeat: (from, report) => {
      detector.heard(from, clock.nowMs());
      const effect = membership.observe(from, report);
      if (effect !== null) void fetchMap(effect.from);
      retire();
    },
    verifyBody: (body, version) => verifySimBody(body, version),
    onCorrupt: (partition, version) => {
      corruptQueue.add(partition, version, clock.nowMs());
    },
    log: ctx.log,
    faults: ctx.bugs,
  };

  const repairCtx: RepairContext<SimBody> = {
    self,
    store,
    transport: ctx.transport,
    catchUp,
    standIns,
    foreign,
    foreignReportOf: (node) => membership.foreignReportOf(node),
    rings: () => membership.view,
    isLive: (node) => detector.isLive(node, clock.nowMs()),
    downSinceMs: (node) => detector.downSinceMs(node, clock.nowMs()),
    nowMs: () => clock.nowMs(),
    emptyBody: () => simEmptyBody,
    checkStoredBody: async (body, version) => {
      const verified = verifySimBody(body, version);
      return verified.ok ? ok(true) : err(verified.error.detail);
    },
    verifyBody: (body, version) => verifySimBody(body, version),
    settings: repairSettings({
      reReplicateAfterMs: ctx.timing.reReplicateAfterMs,
      tombstoneGraceMs: ctx.timing.tombstoneGraceMs,
      pendingMaxAgeMs: ctx.timing.pendingMaxAgeMs,
      writeQuorum: ctx.quorum.writeQuorum,
      strictQuorum: !ctx.quorum.sloppyQuorum,
    }),
    log: ctx.log,
    faults: ctx.bugs,
  };

  const heartbeatLoop = async (): Promise<void> => {
    for (;;) {
      const report = heartbeatReport(nodeCtx);
      membership.observe(self, report);
      retire();
      for (const node of membership.map.nodes) {
        if (node.id === self) continue;
        void ctx.transport.send(node.id, { kind: "heartbeat", from: self, ...report }).then((r) => {
          if (!r.ok) return;
          detector.heard(node.id, clock.nowMs());
          const effect = membership.observe(node.id, r.value);
          if (effect !== null) void fetchMap(effect.from);
          retire();
        });
      }
      await ctx.process.sleep(ctx.timing.heartbeatIntervalMs);
    }
  };

  // The loop and its pacing are core's (core/repair-loop.ts), as in the runtime. A failing round backs off from
  // the shorter of the catch-up and repair intervals up to the longer, so a node that is not behind paces as
  // before (the busy interval is the floor) and one that is behind no longer retries a failing pass every second.
  const catchingUp = (): boolean => catchUp.behindPartitions().length > 0;
  const repairLoop = (): Promise<void> =>
    runRepairLoop(
      {
        repair: repairCtx,
        state: repairState,
        pacing: {
          catchUpIntervalMs: ctx.timing.catchUpIntervalMs,
          busyIntervalMs: ctx.timing.repairIntervalMs,
          idleIntervalMs: ctx.timing.repairQuietIntervalMs,
          // Scenarios may set either interval the longer one; the range spans both whichever it is.
          failureBackoffMsMin: Math.min(ctx.timing.catchUpIntervalMs, ctx.timing.repairIntervalMs),
          failureBackoffMsMax: Math.max(ctx.timing.catchUpIntervalMs, ctx.timing.repairIntervalMs),
          logIntervalMs: 60_000,
        },
        rng: ctx.rng.fork("repair-pacing"), // its own stream: jitter draws shift no other draw of the node
        sleep: (ms) => ctx.process.sleep(ms),
        running: () => true, // a crash ends the incarnation and every loop of it with it
        behind: catchingUp,
        onThrow: (error) => {
          throw error; // a round that throws is a bug found: the run fails
        },
      },
      // Spread the nodes' rounds over the interval.
      ctx.rng.between(0, catchingUp() ? ctx.timing.catchUpIntervalMs : ctx.timing.repairIntervalMs),
    );

  /**
   * The scrubber: every pass, first replace the copies that reads found corrupt (storage-node onCorrupt) and
   * those due for another attempt, then re-read a bounded number of stored bodies, in (partition, key) order
   * from where the last pass stopped, and replace the corrupt ones. It walks in the order of the runtime's scrubber (core/scrub.ts scrubStep),
   * but reads a pass's bodies in one disk operation, one event, where scrubStep reads them one by one.
   */
  const scrubLoop = async (): Promise<void> => {
    let cursor: ScrubCursor | undefined;
    for (;;) {
      await ctx.process.sleep(ctx.timing.scrubIntervalMs);
      await corruptQueue.drain(repairCtx);
      const batch = ctx.disk.scrubSlice(cursor, SCRUB_BODIES_PER_PASS);
      cursor = batch.next;
      const reads = await ctx.disk.readBodies(batch.versions);
      if (!reads.ok) continue;
      for (const [i, read] of reads.value.entries()) {
        const v = batch.versions[i]!;
        if (read.ok && verifySimBody(read.value.body, read.value.version).ok === false) {
          ctx.log.warn("scrub.corrupt-copy", { node: self, key: v.key, stamp: v.stamp });
          corruptQueue.add(v.partition, toObjectVersion(v), clock.nowMs());
        }
      }
      // What this pass found is replaced in the same pass, as before the queue was core's.
      await corruptQueue.drain(repairCtx);
    }
  };

  const fail = (error: unknown): void => {
    throw error;
  };
  heartbeatLoop().catch(fail);
  repairLoop().catch(fail);
  scrubLoop().catch(fail);

  return {
    handle: (_from, request) => handleReplicaRequest(nodeCtx, request),
    installMap: adopt,
    routesTo: (node) => ringsOf(membership.view).some((ring) => ring.indexOf.has(node)),
  };
}

export const coreLogic: Logic = { name: "core", startNode: startCoreNode, startRouter: startCoreRouter };
