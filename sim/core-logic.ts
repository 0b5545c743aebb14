// The logic the simulator runs by default: core/ itself. A storage node is core/storage-node.ts's handler
// over the simulated disk, driven by the same drivers the runtime's node runs: heartbeats, map gossip,
// failure detection and ring-change retirement (core/heartbeats.ts), repair rounds (core/repair-loop.ts), and
// the scrubber with the corrupt-copy queue (core/scrub-loop.ts, core/corrupt-copies.ts). A router is
// sim/core-router.ts (core/coordinator.ts, core/heartbeats.ts).
// Guarantees: this file only wires core's drivers to the simulated ports; every decision and loop is core's. A restarted or joined node
// starts "behind" on every partition (core/catch-up.ts); only the nodes of a brand-new cluster start caught up.
// Assumes: the previous ring of a transition is not persisted across a restart (the map is): a node that
// restarts mid-transition follows the current ring only until gossip and repair settle it.

import { BucketTable } from "../core/bucket-table.ts";
import { BucketWriteGate } from "../core/bucket-write-gate.ts";
import { CatchUpState, type NodeStart } from "../core/catch-up.ts";
import { DigestCachingStore } from "../core/digest-cache.ts";
import { ForeignHoldings } from "../core/foreign-holdings.ts";
import { Membership, ringsOf } from "../core/membership.ts";
import { type RepairContext, RepairState } from "../core/repair.ts";
import { CorruptCopyQueue } from "../core/corrupt-copies.ts";
import { runRepairLoop } from "../core/repair-loop.ts";
import { StandInState } from "../core/stand-in.ts";
import { repairSettings } from "../core/settings.ts";
import { type NodeBuckets, type StorageNodeContext, handleReplicaRequest, heartbeatReport, onRingViewChange } from "../core/storage-node.ts";
import { err, ok } from "../core/result.ts";
import type { SimBody } from "./body.ts";
import { type ScrubPacing, runScrubLoop } from "../core/scrub-loop.ts";
import { simEmptyBody, simHeartbeats, startCoreRouter, verifySimBody } from "./core-router.ts";
import type { Logic, NodeContext, NodeInstance } from "./logic.ts";

/** A step of 64 bodies every interval: bytes never hold a step back (the disk's bandwidth is in its latency). */
const SCRUB_PACING = (intervalMs: number): ScrubPacing => ({
  limits: { versionsMax: 64, bytesMax: Number.MAX_SAFE_INTEGER },
  bytesPerSecond: Number.MAX_SAFE_INTEGER,
  stepPauseMsMin: intervalMs,
  passPauseMs: 0,
  failurePauseMs: intervalMs,
  drainIntervalMs: intervalMs,
});

export function startCoreNode(ctx: NodeContext): NodeInstance {
  const clock = ctx.process.clock;
  const self = ctx.process.id;
  const storedMap = ctx.storedMap();
  const membership = new Membership(storedMap, ctx.log, { bugs: ctx.bugs });
  // The bucket table this node keeps and gossips, and the gate DeleteBucket's mark closes (as in the runtime).
  const bucketTable = new BucketTable(ctx.disk.bucketEntries);
  const buckets: NodeBuckets = {
    table: bucketTable,
    gate: new BucketWriteGate(bucketTable),
    persist: async () => {
      ctx.disk.bucketEntries = bucketTable.entries();
    },
  };
  // Heartbeats, map gossip, failure detection and ring-change retirement: core's driver, as in the runtime.
  const heartbeats = simHeartbeats(ctx, membership, {
    ownReport: () => heartbeatReport(nodeCtx),
    onViewChange: (view) => onRingViewChange(nodeCtx, view),
    buckets: { table: bucketTable, onLearned: (changed) => buckets.persist(changed) },
  });
  const entry = storedMap.nodes.find((n) => n.id === self);
  const brandNewCluster = ctx.process.incarnation === 1 && storedMap.epoch === 1 && entry?.joinedEpoch === 1;
  const start: NodeStart = brandNewCluster ? "new-cluster" : ctx.disk.formatted ? "restart-with-data" : "empty";
  ctx.disk.formatted = true;
  // Copies that lost versions on this disk vouch for nothing until caught up (core/catch-up.ts), as in the runtime.
  const catchUp = new CatchUpState(self, membership.view, start, ctx.disk.lostPartitions, ctx.bugs);
  const liveness = heartbeats.livenessOn(() => clock.nowMs());
  const standIns = new StandInState(self, liveness);
  const repairState = new RepairState();
  // The same queue as the runtime's (core/corrupt-copies.ts): limits, de-duplication and retries.
  const corruptQueue = new CorruptCopyQueue();
  // The node's store as the runtime would build it: the disk behind core's digest cache (per incarnation).
  const store = new DigestCachingStore(ctx.disk, storedMap.partitionBits);
  const foreign = new ForeignHoldings(ctx.process.incarnation);

  const nodeCtx: StorageNodeContext<SimBody> = {
    self,
    store,
    catchUp,
    standIns,
    membership,
    foreign,
    buckets,
    onHeartbeat: (from, report) => heartbeats.onHeartbeat(from, report),
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
    ...liveness,
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
        // The disk forgets, durably, the lost partitions that have caught up (the runtime rewrites its file).
        onRound: () => {
          if (ctx.disk.lostPartitions.size > catchUp.lostBehind().length) ctx.disk.lostPartitions = new Set(catchUp.lostBehind());
        },
        onThrow: (error) => {
          throw error; // a round that throws is a bug found: the run fails
        },
      },
      // Spread the nodes' rounds over the interval.
      ctx.rng.between(0, catchingUp() ? ctx.timing.catchUpIntervalMs : ctx.timing.repairIntervalMs),
    );

  // The scrubber and the corrupt-copy queue's drain: core's loop (core/scrub-loop.ts), as in the runtime. A
  // step every scrubIntervalMs reads up to 64 bodies in one disk operation (one event), however large.
  const scrubLoop = (): Promise<void> =>
    runScrubLoop(
      {
        scrub: {
          store: ctx.disk,
          checkBody: async (body, version) => {
            const verified = verifySimBody(body, version);
            return verified.ok ? ok(true) : err(verified.error.detail);
          },
          readBodies: (versions) => ctx.disk.readBodies(versions),
        },
        repair: repairCtx,
        queue: corruptQueue,
        pacing: SCRUB_PACING(ctx.timing.scrubIntervalMs),
        log: ctx.log,
        sleep: (ms) => ctx.process.sleep(ms),
        running: () => true, // a crash ends the incarnation and every loop of it with it
        onThrow: (error) => {
          throw error; // a step that throws is a bug found: the run fails
        },
      },
      ctx.timing.scrubIntervalMs,
    );

  const fail = (error: unknown): void => {
    throw error;
  };
  heartbeats.start();
  repairLoop().catch(fail);
  scrubLoop().catch(fail);

  return {
    handle: (_from, request) => handleReplicaRequest(nodeCtx, request),
    installMap: (map) => void heartbeats.adopt(map),
    routesTo: (node) => ringsOf(membership.view).some((ring) => ring.indexOf.has(node)),
    inTransition: () => membership.view.previous !== undefined,
  };
}

export const coreLogic: Logic = { name: "core", startNode: startCoreNode, startRouter: startCoreRouter };
