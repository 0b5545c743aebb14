// One storage node process: the durable store, the internal API (core/storage-node.ts behind HTTP),
// heartbeats and map gossip, and the background repair loop (core/repair.ts).
// Guarantees: the node answers nothing before its store has finished start-up recovery; a node that
// restarts counts toward read quorums for a partition only after repair synced it; repair runs in rounds
// of bounded work, one round at a time, and every round that did something writes one log line.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { CatchUpState, type NodeStart } from "../../core/catch-up.ts";
import { ForeignHoldings } from "../../core/foreign-holdings.ts";
import { PeerLiveness, runtimeFailureDetectorSettings } from "../liveness.ts";
import { type NodeId, nodeId } from "../../core/ids.ts";
import { Membership } from "../../core/membership.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { PartitionId } from "../../core/ids.ts";
import { RepairState, repairCorruptCopy, runRepairRound, type RepairContext } from "../../core/repair.ts";
import { StandInState } from "../../core/stand-in.ts";
import { repairSettings } from "../../core/settings.ts";
import { type StorageNodeContext, handleReplicaRequest, heartbeatReport, toObjectVersion } from "../../core/storage-node.ts";
import { readClusterMap, readSecret, writeClusterMap, writeFileAtomic } from "../cluster-files.ts";
import { startHeartbeats } from "../heartbeats.ts";
import { createLog } from "../log.ts";
import { exitWithParent } from "../parent-watch.ts";
import { watchForStalls } from "../stall-watch.ts";
import { emptyBody } from "../empty-body.ts";
import { createHttpTransport } from "../transport/http-transport.ts";
import { startReplicaServer } from "../transport/http-server.ts";
import { CorruptBlobError, FsBlobStore } from "./fs-blob-store.ts";
import { type ScrubCursor, scrubStep } from "../../core/scrub.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { DigestCachingStore } from "../../core/digest-cache.ts";

export interface NodeOptions {
  readonly id: string;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly clusterMap: string;
  readonly secretFile: string;
  /** Given by the launcher on the very first start of a new cluster only (see nodeStart). */
  readonly newCluster?: boolean;
}

/** Pause between repair rounds while a round finds nothing to do; a round that did work is followed at once. */
const REPAIR_IDLE_INTERVAL_MS = Number(process.env.RINGSTORE_REPAIR_INTERVAL_MS ?? 2000);
/** Partitions visited per round: small rounds keep the event loop responsive to client requests. */
const REPAIR_PARTITIONS_PER_ROUND = 64;
const CORRUPT_QUEUE_MAX = 1000;
/**
 * The scrubber re-reads stored bodies at this many bytes per second at most (the store checks every block's
 * checksum as it streams), and rests this long after each walk over the whole disk.
 */
const SCRUB_BYTES_PER_SECOND = Number(process.env.RINGSTORE_SCRUB_BYTES_PER_SECOND ?? 32 * 1024 * 1024);
const SCRUB_PASS_PAUSE_MS = Number(process.env.RINGSTORE_SCRUB_PASS_PAUSE_MS ?? 6 * 60 * 60_000);
const SCRUB_STEP_LIMITS = { versionsMax: 64, bytesMax: 64 * 1024 * 1024 };

/** Reads a stored body to its end: the store's own block checks fail the stream on bytes that do not match. */
async function checkStoredBody(body: Readable): Promise<Result<true, string>> {
  try {
    for await (const _chunk of body);
    return ok(true);
  } catch (error) {
    if (error instanceof CorruptBlobError) return err(error.message);
    throw error;
  }
}

export async function runNode(options: NodeOptions): Promise<void> {
  const self = nodeId(options.id);
  const log = createLog({ role: "node", id: options.id });
  const membership = new Membership(readClusterMap(options.clusterMap), log);
  if (!membership.map.nodes.some((n) => n.id === self && n.state === "active")) {
    throw new Error(`node ${self} is not an active node of the cluster map ${options.clusterMap}`);
  }
  const secret = readSecret(options.secretFile);
  // Only the first start of a new cluster cannot have missed a write, and may answer reads before repair
  // synced it; a restart on its own data starts behind but intact; an empty data folder (a join, or a replaced
  // disk: the launcher's restart command never says --new-cluster) starts behind with nothing to vouch for.
  const markerPath = join(options.dataDir, "node.json");
  const start: NodeStart = existsSync(markerPath) ? "restart-with-data" : options.newCluster && membership.epoch === 1 ? "new-cluster" : "empty";
  // Copies found corrupt (by a read, by the store while streaming, by the scrubber), replaced by the repair
  // loop; a copy already queued is not queued twice.
  const corruptQueue: { partition: PartitionId; version: ObjectVersion }[] = [];
  const queueCorrupt = (partition: PartitionId, version: ObjectVersion): void => {
    if (corruptQueue.length >= CORRUPT_QUEUE_MAX) return;
    if (corruptQueue.some((q) => q.version.bucket === version.bucket && q.version.key === version.key && q.version.stamp === version.stamp)) return;
    corruptQueue.push({ partition, version });
  };
  const fsStore = await FsBlobStore.open({ dataDir: options.dataDir, log, onCorruptWhileStreaming: (version) => queueCorrupt(version.partition, toObjectVersion(version)) });
  const store = new DigestCachingStore(fsStore, membership.map.partitionBits);
  writeFileAtomic(markerPath, `${JSON.stringify({ id: self, firstStartEpoch: membership.epoch })}\n`);
  const catchUp = new CatchUpState(self, membership.view, start);
  // Boot: this start's wall time orders its foreign-holdings reports after the previous incarnation's.
  const foreign = new ForeignHoldings(Date.now());
  const liveness = new PeerLiveness();
  const transport = createHttpTransport({
    resolveAddress: (node: NodeId) => membership.map.nodes.find((n) => n.id === node)?.address,
    secret,
    timeoutMs: 10_000,
    log,
  });

  let viewSeen = membership.view;
  const noticeViewChange = () => {
    if (membership.view !== viewSeen) {
      viewSeen = membership.view;
      catchUp.onRingChange(membership.view);
      foreign.forget();
    }
  };
  // Liveness is the repair loop's (defined below): sessions only begin in a repair round, and until one has,
  // the state claims nothing without asking.
  const standIns = new StandInState(self, { isLive: (node) => repair.isLive(node), downSinceMs: (node) => repair.downSinceMs(node), nowMs: () => Date.now() });
  const context: StorageNodeContext<Readable> = {
    self,
    store,
    catchUp,
    standIns,
    membership,
    foreign,
    log,
    onHeartbeat: (from, report) => {
      liveness.heard(from);
      membership.observe(from, report);
      // A newer map is fetched by our own heartbeat loop, which sees the same epoch on its next beat.
    },
    onCorrupt: (partition, version) => {
      queueCorrupt(partition, version);
    },
    installMap: (map) => {
      const adopted = membership.adopt(map);
      if (adopted.ok && adopted.value !== "ignored-not-newer") {
        writeClusterMap(options.clusterMap, map);
        noticeViewChange();
        log.info("membership.map-installed", { epoch: map.epoch, outcome: adopted.value });
      }
      return adopted;
    },
  };
  const server = await startReplicaServer({
    host: options.host,
    port: options.port,
    secret,
    log,
    handle: (request) => handleReplicaRequest(context, request),
    configure: (router) => {
      router.get("/-/health", (ctx) => {
        ctx.body = { status: "ok", node: self, epoch: membership.epoch, behindPartitions: catchUp.behindPartitions().length, inTransition: membership.inTransition };
      });
    },
  });
  const heartbeats = startHeartbeats({
    self,
    transport,
    membership,
    liveness,
    log,
    intervalMs: runtimeFailureDetectorSettings.heartbeatIntervalMs,
    ownReport: () => heartbeatReport(context),
    onMap: (map) => {
      writeClusterMap(options.clusterMap, map);
      noticeViewChange();
    },
    onBeat: () => {
      membership.observe(self, heartbeatReport(context));
      membership.retireIfComplete();
      noticeViewChange();
    },
  });
  const repair: RepairContext<Readable> = {
    self,
    store,
    transport,
    catchUp,
    standIns,
    foreign,
    foreignReportOf: (node) => membership.foreignReportOf(node),
    rings: () => membership.view,
    isLive: (node) => node === self || (heartbeats.everHeard.has(node) && liveness.isLive(node)),
    downSinceMs: (node) => (node === self ? null : liveness.downSinceWallMs(node)),
    nowMs: () => Date.now(),
    emptyBody,
    settings: repairSettings({
      reReplicateAfterMs: Number(process.env.RINGSTORE_RE_REPLICATE_AFTER_MS ?? 10 * 60_000),
      partitionsPerRoundMax: REPAIR_PARTITIONS_PER_ROUND,
    }),
    log,
  };
  const repairState = new RepairState();
  let stopping = false;
  const repairLoop = async () => {
    // Let the first heartbeats land, so that repair does not count every peer as down.
    await new Promise((done) => setTimeout(done, runtimeFailureDetectorSettings.heartbeatIntervalMs * 2));
    let busy = false;
    while (!stopping) {
      const started = Date.now();
      try {
        for (const item of corruptQueue.splice(0, corruptQueue.length)) await repairCorruptCopy(repair, item.partition, item.version);
        const report = await runRepairRound(repair, repairState);
        const did = report.pulled + report.pushed + report.handoffDropped + report.tombstonesCollected + report.pendingDropped + report.caughtUp.length;
        if (did > 0 || report.failures > 0) log.info("repair.round", { ...report, caughtUp: report.caughtUp.length, behind: catchUp.behindPartitions().length, ms: Date.now() - started });
        busy = did > 0 || catchUp.behindPartitions().length > 0;
      } catch (error) {
        log.error("repair.round-failed", { cause: error instanceof Error ? error.stack ?? error.message : String(error) });
        busy = false;
      }
      await new Promise((done) => setTimeout(done, busy ? 10 : REPAIR_IDLE_INTERVAL_MS));
    }
  };
  void repairLoop();

  // The scrubber: walks the disk a step at a time at a bounded rate and queues corrupt copies for the repair
  // loop, which replaces them from a good replica (core/scrub.ts, core/repair.ts repairCorruptCopy).
  const scrubLoop = async () => {
    await new Promise((done) => setTimeout(done, runtimeFailureDetectorSettings.heartbeatIntervalMs * 2));
    let cursor: ScrubCursor | undefined;
    let passStarted = Date.now();
    let passChecked = 0;
    while (!stopping) {
      const started = Date.now();
      let pauseMs = 10_000;
      try {
        const step = await scrubStep({ store: fsStore, checkBody: checkStoredBody }, cursor, SCRUB_STEP_LIMITS);
        if (!step.ok) log.error("scrub.step-failed", { failure: step.error });
        else {
          for (const c of step.value.corrupt) {
            log.warn("scrub.corrupt-copy", { partition: c.partition, bucket: c.version.bucket, key: c.version.key, stamp: c.version.stamp, detail: c.detail });
            queueCorrupt(c.partition, c.version);
          }
          passChecked += step.value.checked;
          cursor = step.value.next;
          // Spread the reads: a step that read B bytes is followed by a pause that keeps to the rate.
          pauseMs = Math.max(10, (step.value.bytes / SCRUB_BYTES_PER_SECOND) * 1000 - (Date.now() - started));
          if (cursor === undefined) {
            log.info("scrub.pass-done", { versions: passChecked, ms: Date.now() - passStarted });
            pauseMs = Math.max(pauseMs, SCRUB_PASS_PAUSE_MS);
            passStarted = Date.now() + pauseMs;
            passChecked = 0;
          }
        }
      } catch (error) {
        log.error("scrub.step-failed", { cause: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
      await new Promise((done) => setTimeout(done, pauseMs));
    }
  };
  void scrubLoop();
  log.info("node.started", { port: server.port, epoch: membership.epoch, start, behindPartitions: catchUp.behindPartitions().length });

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("node.stopping", { signal });
    heartbeats.stop();
    const hardStop = setTimeout(() => process.exit(0), 12_000);
    hardStop.unref();
    await server.close(5000);
    await transport.close();
    await fsStore.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  exitWithParent(() => void shutdown("launcher gone"));
  watchForStalls(log);
}
