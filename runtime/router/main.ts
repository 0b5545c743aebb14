// One S3 router process: the S3 front end, the coordinator, heartbeats to every node.
import { createServer } from "node:http";
import { livenessClock, runtimeFailureDetectorSettings } from "../liveness.ts";
import { type NodeId, nodeId } from "../../core/ids.ts";
import { Membership, ringsOf } from "../../core/membership.ts";
import { replicationSettings } from "../../core/settings.ts";
import { HybridLogicalClock } from "../../core/version.ts";
import { loadOrCreateCredentials, loadOrCreateMetricsToken, readClusterMap, readSecret, writeClusterMap } from "../cluster-files.ts";
import { Heartbeats } from "../../core/heartbeats.ts";
import { createLog } from "../log.ts";
import { countQuorumFailure, countingTransport, createRegistry, createRouterMetrics, livenessGauge, ringGauges } from "../metrics.ts";
import { RecentWarnings } from "../recent-warnings.ts";
import { StatusReporter } from "./status-report.ts";
import { exitWithParent } from "../parent-watch.ts";
import { watchForStalls } from "../stall-watch.ts";
import { realClock } from "../real-clock.ts";
import { createHttpTransport } from "../transport/http-transport.ts";
import { DOMAINS_DEFAULT, createRouterApp } from "./app.ts";
import { BucketRegistry } from "./buckets.ts";
import { BucketTable } from "../../core/bucket-table.ts";
import { pushBucketEntries } from "../../core/bucket-registry.ts";
import { emptyBody } from "../empty-body.ts";
import { ReplicatedObjects, verifyRouterBody, discardRouterBody } from "./replicated-objects.ts";
import { teeingTransport } from "./tee-transport.ts";
import { S3_SERVER_OPTIONS, S3_SOCKET_IDLE_MS } from "./slow-clients.ts";
import { UPLOAD_AGE_MAX_MS_DEFAULT, UPLOAD_SWEEP_INTERVAL_MS_DEFAULT } from "./upload-expiry.ts";
import { integerFromEnv } from "../cli-options.ts";

export interface RouterOptions {
  readonly id: string;
  readonly port: number;
  readonly host: string;
  readonly clusterMap: string;
  readonly secretFile: string;
  readonly dataDir: string;
  /** Domains for virtual-hosted style requests (`bucket.<domain>`). */
  readonly domain?: readonly string[];
  /** Readable colored log lines for a terminal (pino-pretty) instead of JSON lines. */
  readonly pretty?: boolean;
}

/** Internal requests get this long to produce response headers; bodies may stream for as long as they flow. */
const INTERNAL_HEADERS_TIMEOUT_MS = 10_000;

export async function runRouter(options: RouterOptions): Promise<void> {
  const warnings = new RecentWarnings();
  const log = createLog({ role: "router", id: options.id }, { recent: warnings, ...(options.pretty ? { pretty: true } : {}) });
  const membership = new Membership(readClusterMap(options.clusterMap), log);
  const secret = readSecret(options.secretFile);
  const credentials = loadOrCreateCredentials(options.dataDir);
  const heartbeatClock = livenessClock();
  const http = createHttpTransport({
    resolveAddress: (node: NodeId) => membership.map.nodes.find((n) => n.id === node)?.address,
    secret,
    timeoutMs: INTERNAL_HEADERS_TIMEOUT_MS,
    log,
  });
  const registry = createRegistry("router", options.id);
  const routerMetrics = createRouterMetrics(registry);
  const transport = countingTransport(teeingTransport(http), routerMetrics.replicaRequests);
  // The bucket table: learned from the nodes on heartbeats (core/heartbeats.ts), never read from a disk of its own.
  const bucketTable = new BucketTable();
  // Heartbeats, map gossip and failure detection: core's driver, as in the simulator and the storage nodes.
  // Until a node has answered once, this router does not count it as live: a fresh router must not report
  // healthy, or route writes, on the strength of nodes it has never reached.
  const heartbeats = new Heartbeats({
    self: nodeId(options.id),
    transport: http,
    membership,
    clock: heartbeatClock,
    settings: runtimeFailureDetectorSettings,
    log,
    onMap: (map) => writeClusterMap(options.clusterMap, map),
    buckets: { table: bucketTable },
  });
  heartbeats.start();
  const isLive = (node: NodeId) => heartbeats.isLive(node);
  livenessGauge(registry, () => Object.fromEntries(membership.map.nodes.map((n) => [n.id, isLive(n.id)])));
  ringGauges(registry, () => membership.view);
  const replication = replicationSettings({ replicas: membership.map.replicas });
  const objects = new ReplicatedObjects({
    coordinator: {
      transport,
      rings: () => membership.view,
      isLive,
      hlc: new HybridLogicalClock(realClock, options.id),
      log,
      settings: replication,
      emptyBody,
      verifyBody: verifyRouterBody,
      discardBody: discardRouterBody,
      onQuorumFailed: (failure) => countQuorumFailure(routerMetrics.quorumFailures, failure),
    },
    startedUp: () => heartbeats.firstRoundDone(),
  });
  const app = createRouterApp({
    log,
    objects,
    buckets: new BucketRegistry({
      objects,
      table: bucketTable,
      push: (entries) => pushBucketEntries(http, membership.view, entries),
      writeQuorum: replication.writeQuorum,
      onPushIncomplete: (bucket, state, missing) => log.warn("bucket.push-incomplete", { bucket, state, missing, then: "gossip carries it on heartbeats" }),
      onPushFailed: (bucket, state, cause) => log.error("bucket.push-failed", { bucket, state, cause: cause instanceof Error ? cause.message : String(cause), then: "gossip carries it on heartbeats" }),
    }),
    lookupSecret: (accessKey) => (accessKey === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    metrics: { router: routerMetrics, token: loadOrCreateMetricsToken(options.dataDir) },
    status: new StatusReporter({ routerId: options.id, map: () => membership.map, view: () => membership.view, isLive, healthy: () => objects.healthy(), warnings }),
    domains: domainsOf(options),
    accessLogShare: integerFromEnv("RINGSTORE_ACCESS_LOG_PERCENT", 0, 100, 100) / 100,
    uploadExpiry: {
      ageMaxMs: integerFromEnv("RINGSTORE_MULTIPART_UPLOAD_AGE_MAX_MS", 1000, 3650 * 86_400_000, UPLOAD_AGE_MAX_MS_DEFAULT),
      sweepIntervalMs: integerFromEnv("RINGSTORE_MULTIPART_SWEEP_INTERVAL_MS", 100, 86_400_000, UPLOAD_SWEEP_INTERVAL_MS_DEFAULT),
    },
  });
  // Health is asked by HAProxy; asked here too, so that a router turning unhealthy is logged (with why) even
  // when nothing polls it.
  const healthTimer = setInterval(() => objects.healthy(), runtimeFailureDetectorSettings.heartbeatIntervalMs);
  healthTimer.unref();
  const server = createServer(S3_SERVER_OPTIONS, app.callback());
  server.setTimeout(S3_SOCKET_IDLE_MS); // an idle socket (a stalled body, an unread response) is destroyed
  // Any Expect value other than 100-continue: answer the request normally instead of Node's automatic 417.
  server.on("checkExpectation", (req, res) => server.emit("request", req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  log.info("router.started", { port: options.port, host: options.host, epoch: membership.epoch, nodes: membership.map.nodes.length });
  const shutdown = (signal: string) => {
    log.info("router.stopping", { signal });
    heartbeats.stop();
    heartbeatClock.stop();
    server.close();
    server.closeAllConnections();
    void http.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  exitWithParent(() => shutdown("launcher gone"));
  watchForStalls(log);
}

/** `--domain` values, else localhost and the listening host when it is a name (an address is never a domain). */
function domainsOf(options: RouterOptions): readonly string[] {
  if (options.domain !== undefined && options.domain.length > 0) return options.domain;
  const isAddress = /^[\d.]+$/.test(options.host) || options.host.includes(":");
  return isAddress || options.host === "localhost" ? DOMAINS_DEFAULT : [...DOMAINS_DEFAULT, options.host];
}
