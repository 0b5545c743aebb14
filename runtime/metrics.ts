// Prometheus metrics of one process (prom-client): what an operator graphs and alerts on.
// Guarantees: every metric name starts with ringstore_; labels take values from small fixed sets (operation
// names from the S3 table, status codes, node ids, request kinds, failure kinds), never from keys or buckets,
// so the series count stays bounded. Process metrics (CPU, memory, event-loop lag) come from prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { QuorumFailure } from "../core/coordinator.ts";
import { type RingView, partitionsInTransition } from "../core/membership.ts";
import type { Transport } from "../core/ports.ts";

export function createRegistry(role: "router" | "node", id: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role, id });
  collectDefaultMetrics({ register: registry, prefix: "ringstore_process_" });
  return registry;
}

export interface RouterMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"operation" | "status">;
  readonly requestSeconds: Histogram<"operation">;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly inFlight: Gauge;
  readonly replicaRequests: Counter<"peer" | "kind" | "outcome">;
  readonly quorumFailures: Counter<"operation" | "phase">;
}

/** Latency buckets from a cached small read (1 ms) to a large upload (2 min). */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createRouterMetrics(registry: Registry): RouterMetrics {
  return {
    registry,
    requests: new Counter({ name: "ringstore_s3_requests_total", help: "S3 requests answered, by operation and HTTP status", labelNames: ["operation", "status"], registers: [registry] }),
    requestSeconds: new Histogram({ name: "ringstore_s3_request_duration_seconds", help: "S3 request latency until the response ended", labelNames: ["operation"], buckets: SECONDS_BUCKETS, registers: [registry] }),
    bytesIn: new Counter({ name: "ringstore_s3_received_bytes_total", help: "Request body bytes declared by S3 clients (Content-Length)", registers: [registry] }),
    bytesOut: new Counter({ name: "ringstore_s3_sent_bytes_total", help: "Response body bytes sent to S3 clients", registers: [registry] }),
    inFlight: new Gauge({ name: "ringstore_s3_requests_in_flight", help: "S3 requests being served (response bodies included)", registers: [registry] }),
    replicaRequests: replicaRequestCounter(registry),
    quorumFailures: new Counter({ name: "ringstore_quorum_failures_total", help: "Writes (put, delete, copy, commit) and reads that fell short of their quorum, by phase (placement, put, commit; answers for reads)", labelNames: ["operation", "phase"], registers: [registry] }),
  };
}

/** core's quorum-failure hook, counted: a read has one phase, "answers" (too few replicas answered). */
export function countQuorumFailure(counter: Counter<"operation" | "phase">, failure: QuorumFailure): void {
  counter.inc({ operation: failure.operation, phase: failure.operation === "write" ? failure.phase : "answers" });
}

/** Where this process's ring view stands: a transition open or not, and how many partitions it moves. */
export function ringGauges(registry: Registry, view: () => RingView): void {
  new Gauge({ name: "ringstore_ring_epoch", help: "Epoch of the cluster map this process follows", registers: [registry], collect() { this.set(view().current.epoch); } });
  new Gauge({ name: "ringstore_ring_in_transition", help: "1 while this process writes to an old and a new ring (a join or decommission moving data)", registers: [registry], collect() { this.set(view().previous === undefined ? 0 : 1); } });
  new Gauge({ name: "ringstore_partitions_in_transition", help: "Partitions whose primaries differ between the old and the new ring of an open transition", registers: [registry], collect() { this.set(partitionsInTransition(view())); } });
}

function replicaRequestCounter(registry: Registry): Counter<"peer" | "kind" | "outcome"> {
  return new Counter({ name: "ringstore_replica_requests_total", help: "Requests to storage nodes, by peer, kind and outcome (ok or the failure kind)", labelNames: ["peer", "kind", "outcome"], registers: [registry] });
}

/** A transport that counts every request it sends by peer, kind and outcome. */
export function countingTransport<Body>(inner: Transport<Body>, counter: Counter<"peer" | "kind" | "outcome">): Transport<Body> {
  return {
    send: async (to, request, signal) => {
      const answer = await inner.send(to, request, signal);
      counter.inc({ peer: to, kind: request.kind, outcome: answer.ok ? "ok" : answer.error.kind });
      return answer;
    },
  };
}

export interface NodeMetrics {
  readonly registry: Registry;
  readonly served: Counter<"kind" | "outcome">;
  readonly servedSeconds: Histogram<"kind">;
  readonly replicaRequests: Counter<"peer" | "kind" | "outcome">;
  readonly repairBytes: Counter<"direction">;
  readonly scrubVersions: Counter;
  readonly scrubBytes: Counter;
  readonly scrubPasses: Counter;
  readonly corruptFound: Counter<"source">;
  readonly corruptRepaired: Counter<"outcome">;
  readonly statementSeconds: Histogram<"statement">;
  readonly fsyncSeconds: Histogram<"target">;
}

/** What a node's gauges read when scraped. */
export interface NodeGaugeSources {
  diskBytes(): { free: number; total: number; used: number };
  /** Committed versions (tombstones left out) and their bytes; the source caches it (a full index scan). */
  stored(): { versions: number; bytes: number };
  partitionsBehind(): number;
  liveNodes(): Record<string, boolean>;
  repairObjects(): { objectsPulled: number; objectsPushed: number };
  repairTasksOpen(): number;
  corruptQueue(): { length: number; droppedTotal: number };
  scrubPassVersionsChecked(): number;
  view(): RingView;
}

/** Durable steps take from ~20 µs (a cached SQLite read) to seconds (an fsync on a loaded disk). */
const STORE_SECONDS_BUCKETS = [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createNodeMetrics(registry: Registry, gauges: NodeGaugeSources): NodeMetrics {
  new Gauge({
    name: "ringstore_repair_objects_copied",
    help: "Copies repair pulled to or pushed from this node since it started",
    labelNames: ["direction"],
    registers: [registry],
    collect() {
      const totals = gauges.repairObjects();
      this.set({ direction: "pulled" }, totals.objectsPulled);
      this.set({ direction: "pushed" }, totals.objectsPushed);
    },
  });
  const gauge = (name: string, help: string, read: () => number) => new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge("ringstore_disk_free_bytes", "Free bytes on the node's data file system (for unprivileged writers)", () => gauges.diskBytes().free);
  gauge("ringstore_disk_total_bytes", "Size of the node's data file system", () => gauges.diskBytes().total);
  gauge("ringstore_disk_used_bytes", "Bytes in use on the node's data file system (by anything)", () => gauges.diskBytes().used);
  gauge("ringstore_stored_versions", "Committed object versions this node holds, tombstones left out", () => gauges.stored().versions);
  gauge("ringstore_stored_bytes", "Bytes of the committed object versions this node holds", () => gauges.stored().bytes);
  gauge("ringstore_partitions_behind", "Partitions this node is a primary of and has not caught up on", () => gauges.partitionsBehind());
  gauge("ringstore_repair_tasks_open", "Partition syncs repair has begun and not finished (resumed in later rounds)", () => gauges.repairTasksOpen());
  gauge("ringstore_corrupt_queue_length", "Corrupt copies waiting to be replaced from a good replica", () => gauges.corruptQueue().length);
  gauge("ringstore_corrupt_queue_dropped", "Corrupt-copy reports dropped because the queue was full, since start (the scrubber finds them again)", () => gauges.corruptQueue().droppedTotal);
  gauge("ringstore_scrub_pass_versions_checked", "Versions the scrubber has checked in its current pass over the disk", () => gauges.scrubPassVersionsChecked());
  livenessGauge(registry, () => gauges.liveNodes());
  ringGauges(registry, () => gauges.view());
  return {
    registry,
    served: new Counter({ name: "ringstore_replica_requests_served_total", help: "Internal requests this node answered, by kind and outcome", labelNames: ["kind", "outcome"], registers: [registry] }),
    servedSeconds: new Histogram({ name: "ringstore_replica_request_duration_seconds", help: "Time to answer an internal request (the reply's start for streamed bodies)", labelNames: ["kind"], buckets: SECONDS_BUCKETS, registers: [registry] }),
    replicaRequests: replicaRequestCounter(registry),
    repairBytes: new Counter({ name: "ringstore_repair_copied_bytes_total", help: "Body bytes repair copied: pulled into this node, or pushed from it to a primary", labelNames: ["direction"], registers: [registry] }),
    scrubVersions: new Counter({ name: "ringstore_scrub_versions_checked_total", help: "Stored versions the scrubber re-read and checked", registers: [registry] }),
    scrubBytes: new Counter({ name: "ringstore_scrub_read_bytes_total", help: "Body bytes the scrubber re-read", registers: [registry] }),
    scrubPasses: new Counter({ name: "ringstore_scrub_passes_total", help: "Walks of the scrubber over the whole disk completed", registers: [registry] }),
    corruptFound: new Counter({ name: "ringstore_corrupt_copies_found_total", help: "Corrupt copies queued for replacement, by who found them (scrub, read, stream)", labelNames: ["source"], registers: [registry] }),
    corruptRepaired: new Counter({ name: "ringstore_corrupt_copies_repaired_total", help: "Corrupt copies the repair loop dealt with, by outcome (replaced, intact, gone, unrepaired, givenUp)", labelNames: ["outcome"], registers: [registry] }),
    statementSeconds: new Histogram({ name: "ringstore_sqlite_statement_duration_seconds", help: "Time of one metadata-index statement (run, get or all), by statement", labelNames: ["statement"], buckets: STORE_SECONDS_BUCKETS, registers: [registry] }),
    fsyncSeconds: new Histogram({ name: "ringstore_fsync_duration_seconds", help: "Time of one fsync of a body file or a directory", labelNames: ["target"], buckets: STORE_SECONDS_BUCKETS, registers: [registry] }),
  };
}

/** 1 for each node this process counts as live, 0 for the others it knows. */
export function livenessGauge(registry: Registry, liveNodes: () => Record<string, boolean>): Gauge<"node"> {
  return new Gauge({
    name: "ringstore_node_live",
    help: "Whether this process counts the node as live (heartbeats)",
    labelNames: ["node"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [node, live] of Object.entries(liveNodes())) this.set({ node }, live ? 1 : 0);
    },
  });
}
