// One storage node process: the durable store, the internal API (core/storage-node.ts behind HTTP),
// heartbeats and map gossip, and the background repair loop (core/repair.ts).
// Guarantees: the node answers nothing before its store has finished start-up recovery; a node that
// restarts counts toward read quorums for a partition only after repair synced it; repair runs in rounds
// of bounded work, one round at a time, and every round that did something writes one log line.
import { existsSync, statfsSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { CatchUpState, type NodeStart } from "../../core/catch-up.ts";
import { ForeignHoldings } from "../../core/foreign-holdings.ts";
import { livenessClock, runtimeFailureDetectorSettings } from "../liveness.ts";
import { type NodeId, nodeId } from "../../core/ids.ts";
import { Membership } from "../../core/membership.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { PartitionId } from "../../core/ids.ts";
import { RepairState, type RepairContext } from "../../core/repair.ts";
import { CorruptCopyQueue } from "../../core/corrupt-copies.ts";
import { type RepairPacing, madeProgress, runRepairLoop } from "../../core/repair-loop.ts";
import { StandInState } from "../../core/stand-in.ts";
import { repairSettings, replicationSettings } from "../../core/settings.ts";
import { integerFromEnv } from "../cli-options.ts";
import { type StorageNodeContext, handleReplicaRequest, heartbeatReport, onRingViewChange, toObjectVersion } from "../../core/storage-node.ts";
import { readClusterMap, readSecret, writeClusterMap, writeFileAtomic } from "../cluster-files.ts";
import { Heartbeats } from "../../core/heartbeats.ts";
import { createLog } from "../log.ts";
import { type NodeMetrics, countingTransport, createNodeMetrics, createRegistry } from "../metrics.ts";
import { countingPulls, countingPushes } from "./repair-bytes.ts";
import { exitWithParent } from "../parent-watch.ts";
import { watchForStalls } from "../stall-watch.ts";
import { emptyBody } from "../empty-body.ts";
import { cryptoRng } from "../crypto-rng.ts";
import { realClock } from "../real-clock.ts";
import { createHttpTransport } from "../transport/http-transport.ts";
import { startReplicaServer } from "../transport/http-server.ts";
import { CorruptBlobError, FsBlobStore } from "./fs-blob-store.ts";
import { LostPartitionsFile } from "./lost-partitions.ts";
import { verifyPulledBody } from "./verified-body.ts";
import { type ScrubPacing, runScrubLoop } from "../../core/scrub-loop.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { DigestCachingStore } from "../../core/digest-cache.ts";
import { BucketWriteGate } from "../../core/bucket-write-gate.ts";
import type { NodeBuckets } from "../../core/storage-node.ts";
import { loadBucketTable, persistBucketTable } from "./bucket-file.ts";

export interface NodeOptions {
  readonly id: string;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly clusterMap: string;
  readonly secretFile: string;
  /** Given by the launcher on the very first start of a new cluster only (see nodeStart). */
  readonly newCluster?: boolean;
  /** Readable colored log lines for a terminal (pino-pretty) instead of JSON lines. */
  readonly pretty?: boolean;
}

/**
 * Pauses between repair rounds (core/repair-loop.ts): a round that did work is followed almost at once, an idle
 * one after RINGSTORE_REPAIR_INTERVAL_MS; failing rounds back off from half a second to half a minute.
 */
const REPAIR_PACING: RepairPacing = {
  catchUpIntervalMs: 10,
  busyIntervalMs: 10,
  idleIntervalMs: integerFromEnv("RINGSTORE_REPAIR_INTERVAL_MS", 1, 3_600_000, 2000),
  failureBackoffMsMin: 500,
  failureBackoffMsMax: 30_000,
  logIntervalMs: 60_000,
};
/** Partitions visited per round: small rounds keep the event loop responsive to client requests. */
const REPAIR_PARTITIONS_PER_ROUND = 64;
/**
 * The scrubber's pacing (core/scrub-loop.ts): stored bodies re-read at RINGSTORE_SCRUB_BYTES_PER_SECOND at most
 * (the store checks every block's checksum as it streams), a rest of RINGSTORE_SCRUB_PASS_PAUSE_MS after each
 * walk over the whole disk.
 */
const SCRUB_PACING: ScrubPacing = {
  limits: { versionsMax: 64, bytesMax: 64 * 1024 * 1024 },
  bytesPerSecond: integerFromEnv("RINGSTORE_SCRUB_BYTES_PER_SECOND", 1024, 16 * 1024 ** 3, 32 * 1024 * 1024),
  stepPauseMsMin: 10,
  passPauseMs: integerFromEnv("RINGSTORE_SCRUB_PASS_PAUSE_MS", 0, 30 * 86_400_000, 6 * 60 * 60_000),
  failurePauseMs: 10_000,
  // Copies reads report wait at most this long, also while the scrubber rests between walks.
  drainIntervalMs: 1000,
};

/** The index's totals are a full scan: a scrape or a health check reads them at most this often. */
const STORED_TOTALS_CACHE_MS = 5000;

/** The data folder's file system: free for unprivileged writers, total, and in use by anything. */
function diskBytesOf(dataDir: string): { free: number; total: number; used: number } {
  const fs = statfsSync(dataDir);
  return { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize };
}

/** `read`, called at most once per `ms`; callers in between get the last value. */
function cachedFor<T>(ms: number, read: () => T): () => T {
  let value: T | undefined;
  let readAtMs = -Infinity;
  return () => {
    if (value === undefined || performance.now() - readAtMs >= ms) {
      value = read();
      readAtMs = performance.now();
    }
    return value;
  };
}

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
  const log = createLog({ role: "node", id: options.id }, options.pretty ? { pretty: true } : {});
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
  // loop: core's queue (core/corrupt-copies.ts), with the simulator's limits and de-duplication.
  const corruptQueue = new CorruptCopyQueue();
  const registry = createRegistry("node", self);
  // Filled in below, once the state its gauges read exists; nothing scrapes before the server starts.
  let nodeMetrics: NodeMetrics | undefined;
  const queueCorrupt = (source: "scrub" | "read" | "stream", partition: PartitionId, version: ObjectVersion): void => {
    if (corruptQueue.add(partition, version, Date.now())) nodeMetrics?.corruptFound.inc({ source });
  };
  const lostPartitions = new LostPartitionsFile(options.dataDir);
  const fsStore = await FsBlobStore.open({
    dataDir: options.dataDir,
    log,
    recordLostPartitions: (partitions) => lostPartitions.add(partitions),
    onCorruptWhileStreaming: (version) => queueCorrupt("stream", version.partition, toObjectVersion(version)),
    timings: {
      statement: (name, seconds) => nodeMetrics?.statementSeconds.observe({ statement: name }, seconds),
      fsync: (target, seconds) => nodeMetrics?.fsyncSeconds.observe({ target }, seconds),
    },
  });
  const store = new DigestCachingStore(fsStore, membership.map.partitionBits);
  writeFileAtomic(markerPath, `${JSON.stringify({ id: self, firstStartEpoch: membership.epoch })}\n`);
  // Copies that lost versions on this disk (at this start, or at one that did not catch up on them) vouch for
  // nothing until caught up (core/catch-up.ts); the file forgets each once it is.
  let lostRecorded = lostPartitions.read();
  const catchUp = new CatchUpState(self, membership.view, start, lostRecorded);
  if (lostRecorded.length > 0) log.warn("catch-up.lost-copies", { partitions: catchUp.lostBehind(), recorded: lostRecorded });
  const forgetCaughtUpLosses = (): void => {
    if (lostRecorded.length === 0) return;
    const still = catchUp.lostBehind(); // a subset of what is recorded
    if (still.length === lostRecorded.length) return;
    lostPartitions.write(still);
    log.info("catch-up.lost-copies-forgotten", { partitions: lostRecorded.filter((p) => !still.includes(p)), stillBehind: still });
    lostRecorded = still;
  };
  // The bucket table this node keeps and gossips (core/bucket-table.ts); written whole on every change.
  const bucketTable = loadBucketTable(options.dataDir);
  const buckets: NodeBuckets = {
    table: bucketTable,
    gate: new BucketWriteGate(bucketTable),
    persist: async (changed) => {
      persistBucketTable(options.dataDir, bucketTable);
      // The first few by name: a node that learns a whole table at once writes one line, not thousands.
      log.info("buckets.changed", { count: changed.length, entries: changed.slice(0, 20).map((e) => ({ bucket: e.name, state: e.state, stamp: e.stamp })) });
    },
  };
  // Boot: this start's wall time orders its foreign-holdings reports after the previous incarnation's.
  const foreign = new ForeignHoldings(Date.now());
  const heartbeatClock = livenessClock();
  /** Copies repair moved since this process started: what `cluster status` and `--wait` show as progress. */
  const repairTotals = { objectsPulled: 0, objectsPushed: 0 };
  const stored = cachedFor(STORED_TOTALS_CACHE_MS, () => fsStore.storedTotals());
  let scrubPassChecked = 0;
  const metrics = createNodeMetrics(registry, {
    diskBytes: () => diskBytesOf(options.dataDir),
    stored,
    partitionsBehind: () => catchUp.behindPartitions().length,
    repairTasksOpen: () => repairState.tasks.size,
    corruptQueue: () => ({ length: corruptQueue.length, droppedTotal: corruptQueue.droppedTotal }),
    scrubPassVersionsChecked: () => scrubPassChecked,
    view: () => membership.view,
    repairObjects: () => repairTotals,
    // Scraped only once the node runs; before its heartbeats start there is no view to report.
    liveNodes: () => (heartbeatsStarted ? Object.fromEntries(membership.map.nodes.map((n) => [n.id, heartbeats.isLive(nodeId(n.id))])) : {}),
  });
  nodeMetrics = metrics;
  let heartbeatsStarted = false;
  const http = createHttpTransport({
    resolveAddress: (node: NodeId) => membership.map.nodes.find((n) => n.id === node)?.address,
    secret,
    timeoutMs: 10_000,
    log,
  });
  const transport = countingTransport(http, metrics.replicaRequests);

  // Heartbeats, map gossip, failure detection and ring-change retirement: core's driver, as in the simulator.
  const heartbeats: Heartbeats<Readable> = new Heartbeats({
    self,
    transport,
    membership,
    clock: heartbeatClock,
    settings: runtimeFailureDetectorSettings,
    log,
    ownReport: () => heartbeatReport(context),
    onMap: (map) => writeClusterMap(options.clusterMap, map),
    onViewChange: (view) => onRingViewChange(context, view),
    buckets: { table: bucketTable, onLearned: (changed) => buckets.persist(changed) },
  });
  const liveness = heartbeats.livenessOn(() => Date.now());
  const standIns = new StandInState(self, liveness);
  const context: StorageNodeContext<Readable> = {
    self,
    store,
    catchUp,
    standIns,
    membership,
    foreign,
    buckets,
    log,
    onHeartbeat: (from, report) => heartbeats.onHeartbeat(from, report),
    onCorrupt: (partition, version) => {
      queueCorrupt("read", partition, version);
    },
    installMap: (map) => {
      const adopted = heartbeats.adopt(map);
      if (adopted.ok && adopted.value !== "ignored-not-newer") log.info("membership.map-installed", { epoch: map.epoch, outcome: adopted.value });
      return adopted;
    },
  };
  const server = await startReplicaServer({
    host: options.host,
    port: options.port,
    secret,
    log,
    handle: async (request) => {
      const started = performance.now();
      const answer = await handleReplicaRequest(context, request);
      metrics.served.inc({ kind: request.kind, outcome: answer.ok ? "ok" : answer.error.kind });
      metrics.servedSeconds.observe({ kind: request.kind }, (performance.now() - started) / 1000);
      return answer;
    },
    configure: (router) => {
      // Unsigned like /-/health: the internal port is the cluster's own network (issue 12: scraped there).
      router.get("/-/metrics", async (ctx) => {
        ctx.type = registry.contentType;
        ctx.body = await registry.metrics();
      });
      router.get("/-/health", (ctx) => {
        const disk = diskBytesOf(options.dataDir);
        ctx.body = {
          status: "ok",
          node: self,
          epoch: membership.epoch,
          behindPartitions: catchUp.behindPartitions().length,
          inTransition: membership.inTransition,
          repair: repairTotals,
          disk: { freeBytes: disk.free, totalBytes: disk.total, usedBytes: disk.used },
          stored: stored(),
          corruptQueueLength: corruptQueue.length,
        };
      });
    },
  });
  heartbeats.start();
  heartbeatsStarted = true;
  const repair: RepairContext<Readable> = {
    self,
    store: countingPulls(store, metrics.repairBytes),
    transport: countingPushes(transport, metrics.repairBytes),
    catchUp,
    standIns,
    foreign,
    foreignReportOf: (node) => membership.foreignReportOf(node),
    rings: () => membership.view,
    ...liveness,
    emptyBody,
    // A copy reported corrupt is read again whole before it is replaced, and a replacement is checked as it
    // streams in (the store checks it again before its rename over the rotten copy).
    checkStoredBody: async (body) => {
      try {
        return await checkStoredBody(body);
      } catch (error) {
        // Unreadable for another reason (an I/O error): replacing it with a verified good body is safe.
        return err(error instanceof Error ? error.message : String(error));
      }
    },
    verifyBody: verifyPulledBody,
    settings: repairSettings({
      reReplicateAfterMs: integerFromEnv("RINGSTORE_RE_REPLICATE_AFTER_MS", 1000, 30 * 86_400_000, 10 * 60_000),
      // Catch-up trusts N−W+1 intact primaries: W must be the routers' W for this N, decided in one place.
      writeQuorum: replicationSettings({ replicas: membership.map.replicas }).writeQuorum,
      partitionsPerRoundMax: REPAIR_PARTITIONS_PER_ROUND,
    }),
    log,
  };
  const repairState = new RepairState();
  let stopping = false;
  // The loop and its pacing are core's (core/repair-loop.ts); the node adds its corrupt-copy queue and a log
  // line per round that did something (failures are logged by cause, at most once a minute each).
  void runRepairLoop(
    {
      repair,
      state: repairState,
      pacing: REPAIR_PACING,
      rng: cryptoRng,
      sleep: realClock.sleep,
      running: () => !stopping,
      behind: () => catchUp.behindPartitions().length > 0,
      onRound: (report, elapsedMs) => {
        forgetCaughtUpLosses();
        repairTotals.objectsPulled += report.pulled;
        repairTotals.objectsPushed += report.pushed;
        if (!madeProgress(report)) return;
        const { failuresByCause, ...counts } = report;
        // What failed, by cause (`step:kind`) with the latest peer and partition; the repair.failure line (core's,
        // at most once a minute per cause) carries the error itself.
        const failed = Object.entries(failuresByCause).map(([cause, t]) => ({ cause, count: t.count, peer: t.latest.peer, partition: t.latest.partition }));
        log.info("repair.round", { ...counts, ...(failed.length > 0 ? { failed } : {}), caughtUp: report.caughtUp.length, behind: catchUp.behindPartitions().length, ms: elapsedMs });
      },
      onThrow: (error) => log.error("repair.round-failed", { cause: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    },
    // Let the first heartbeats land, so that repair does not count every peer as down.
    runtimeFailureDetectorSettings.heartbeatIntervalMs * 2,
  );

  // The scrubber and the corrupt-copy queue's drain: core's loop (core/scrub-loop.ts), as in the simulator. It
  // walks the disk a step at a time at a bounded rate; the copies it, reads and the store find corrupt are
  // replaced from a good replica (core/repair.ts repairCorruptCopy).
  void runScrubLoop(
    {
      scrub: { store: fsStore, checkBody: checkStoredBody },
      repair,
      queue: corruptQueue,
      pacing: SCRUB_PACING,
      log,
      sleep: realClock.sleep,
      running: () => !stopping,
      onThrow: () => {}, // logged by the loop, which waits failurePauseMs and goes on
      onStep: (step) => {
        scrubPassChecked = step.passChecked;
        nodeMetrics?.scrubVersions.inc(step.checked);
        nodeMetrics?.scrubBytes.inc(step.bytes);
        if (step.corruptQueued > 0) nodeMetrics?.corruptFound.inc({ source: "scrub" }, step.corruptQueued);
        if (step.walkEnded) nodeMetrics?.scrubPasses.inc();
      },
      onDrained: (drained) => {
        for (const [outcome, count] of Object.entries(drained)) if (count > 0) nodeMetrics?.corruptRepaired.inc({ outcome }, count);
      },
    },
    // Let the first heartbeats land, so that a replacement does not count every peer as down.
    runtimeFailureDetectorSettings.heartbeatIntervalMs * 2,
  );
  log.info("node.started", { port: server.port, epoch: membership.epoch, start, behindPartitions: catchUp.behindPartitions().length });

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("node.stopping", { signal });
    heartbeats.stop();
    heartbeatClock.stop();
    const hardStop = setTimeout(() => process.exit(0), 12_000);
    hardStop.unref();
    await server.close(5000);
    await http.close();
    await fsStore.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  exitWithParent(() => void shutdown("launcher gone"));
  watchForStalls(log);
}
