// Prometheus metrics of one process (prom-client): what an operator graphs and alerts on.
// Guarantees: every metric name starts with ringstore_; labels take values from small fixed sets (operation
// names from the S3 table, status codes, node ids, request kinds, failure kinds), never from keys or buckets,
// so the series count stays bounded. Process metrics (CPU, memory, event-loop lag) come from prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
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
  };
}

function replicaRequestCounter(registry: Registry): Counter<"peer" | "kind" | "outcome"> {
  return new Counter({ name: "ringstore_replica_requests_total", help: "Requests to storage nodes, by peer, kind and outcome (ok or the failure kind)", labelNames: ["peer", "kind", "outcome"], registers: [registry] });
}

/** A transport that counts every request it sends by peer, kind and outcome. */
export function countingTransport<Body>(inner: Transport<Body>, counter: Counter<"peer" | "kind" | "outcome">): Transport<Body> {
  return {
    send: async (to, request) => {
      const answer = await inner.send(to, request);
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
}

export function createNodeMetrics(
  registry: Registry,
  gauges: { diskBytes: () => { free: number; total: number }; partitionsBehind: () => number; liveNodes: () => Record<string, boolean>; repairObjects: () => { objectsPulled: number; objectsPushed: number } },
): NodeMetrics {
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
  new Gauge({ name: "ringstore_disk_free_bytes", help: "Free bytes on the node's data file system", registers: [registry], collect() { this.set(gauges.diskBytes().free); } });
  new Gauge({ name: "ringstore_disk_total_bytes", help: "Size of the node's data file system", registers: [registry], collect() { this.set(gauges.diskBytes().total); } });
  new Gauge({ name: "ringstore_partitions_behind", help: "Partitions this node is a primary of and has not caught up on", registers: [registry], collect() { this.set(gauges.partitionsBehind()); } });
  livenessGauge(registry, gauges.liveNodes);
  return {
    registry,
    served: new Counter({ name: "ringstore_replica_requests_served_total", help: "Internal requests this node answered, by kind and outcome", labelNames: ["kind", "outcome"], registers: [registry] }),
    servedSeconds: new Histogram({ name: "ringstore_replica_request_duration_seconds", help: "Time to answer an internal request (the reply's start for streamed bodies)", labelNames: ["kind"], buckets: SECONDS_BUCKETS, registers: [registry] }),
    replicaRequests: replicaRequestCounter(registry),
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
