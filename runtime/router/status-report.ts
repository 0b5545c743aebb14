// What a router's status page shows, as JSON (GET /-/status.json): the ring of the map this router follows,
// each node's liveness (this router's view, and whether it answers its health check), disk, partitions behind,
// the repair and rebalance progress, and the router's recent warnings.
// Guarantees: the node figures and what is pending come from cluster-admin.ts (clusterStatusOf, pendingOf),
// the same code `ringstore cluster status` runs, never computed a second way; concurrent requests share one
// round of health checks, and a round is reused for ROUND_REUSE_MS, so open pages cannot flood the nodes.
import type { ClusterMap } from "../../core/cluster-map.ts";
import type { NodeId } from "../../core/ids.ts";
import { type RingView, partitionsInTransition } from "../../core/membership.ts";
import { primaryCounts } from "../../core/placement.ts";
import type { Ring } from "../../core/ring.ts";
import { type ClusterPending, type ClusterStatus, type NodeHealth, clusterStatusOf, pendingOf } from "../cluster-admin.ts";
import type { RecentWarnings, WarningLine } from "../recent-warnings.ts";

/** One ring of the drawing: for each replica rank, runs of consecutive partitions with the same primary. */
export interface RingDrawing {
  readonly partitionCount: number;
  readonly replicaCount: number;
  /** rows[rank] = [index into nodes, partitions in the run], in partition order, covering every partition. */
  readonly rows: readonly (readonly (readonly [number, number])[])[];
}

export interface StatusReport {
  readonly router: { readonly id: string; readonly healthy: boolean };
  readonly generatedAt: string;
  readonly epoch: number;
  readonly settled: boolean;
  readonly pending: ClusterPending;
  readonly transition: { readonly open: boolean; readonly partitionsMoving: number };
  readonly nodes: readonly {
    readonly id: NodeId;
    readonly address: string;
    readonly zone: string;
    readonly weight: number;
    readonly state: "active" | "decommissioned";
    /** Partitions this node is a primary of in the current ring. */
    readonly partitions: number;
    /** This router's heartbeat view. */
    readonly live: boolean;
    /** What the node answered on /-/health; null when it did not answer. */
    readonly health: NodeHealth | null;
  }[];
  readonly ring: RingDrawing;
  readonly warnings: readonly WarningLine[];
  readonly warningsSeenTotal: number;
}

/** A health round is reused this long: a page refreshes every few seconds, several may be open. */
const ROUND_REUSE_MS = 1000;
/** A node that does not answer its health check within this is shown as not answering. */
const HEALTH_TIMEOUT_MS = 2000;

export function ringDrawing(ring: Ring): RingDrawing {
  const rows: [number, number][][] = [];
  for (let rank = 0; rank < ring.replicaCount; rank++) {
    const row: [number, number][] = [];
    for (let p = 0; p < ring.partitionCount; p++) {
      const node = ring.primarySlots[p * ring.replicaCount + rank]!;
      const last = row[row.length - 1];
      if (last !== undefined && last[0] === node) last[1]++;
      else row.push([node, 1]);
    }
    rows.push(row);
  }
  return { partitionCount: ring.partitionCount, replicaCount: ring.replicaCount, rows };
}

export interface StatusSources {
  readonly routerId: string;
  map(): ClusterMap;
  view(): RingView;
  isLive(node: NodeId): boolean;
  healthy(): boolean;
  readonly warnings: RecentWarnings;
}

/** Builds reports, sharing one round of node health checks between requests that come close together. */
export class StatusReporter {
  private round: { readonly startedMs: number; readonly status: Promise<ClusterStatus> } | undefined;

  constructor(private readonly sources: StatusSources) {}

  async report(): Promise<StatusReport> {
    const { sources } = this;
    const map = sources.map();
    if (this.round === undefined || performance.now() - this.round.startedMs > ROUND_REUSE_MS || (await this.round.status).map.epoch !== map.epoch) {
      this.round = { startedMs: performance.now(), status: clusterStatusOf(map, { timeoutMs: HEALTH_TIMEOUT_MS }) };
    }
    const status = await this.round.status;
    const view = sources.view();
    const ring = view.current;
    const counts = primaryCounts(ring);
    const drawing = ringDrawing(ring);
    // Drawing rows index ring.nodes; the report lists those first, in that order, then the others of the map.
    const ordered = [...ring.nodes, ...status.map.nodes.filter((n) => !ring.indexOf.has(n.id))];
    const healthOf = new Map(status.nodes.map((n) => [n.node, n.health]));
    return {
      router: { id: sources.routerId, healthy: sources.healthy() },
      generatedAt: new Date().toISOString(),
      epoch: status.map.epoch,
      settled: status.settled,
      pending: pendingOf(status),
      transition: { open: view.previous !== undefined, partitionsMoving: partitionsInTransition(view) },
      nodes: ordered.map((n) => ({
        id: n.id,
        address: n.address,
        zone: n.zone,
        weight: n.weight,
        state: n.state,
        partitions: counts.get(n.id) ?? 0,
        live: sources.isLive(n.id),
        health: healthOf.get(n.id) ?? null,
      })),
      ring: drawing,
      warnings: sources.warnings.list(),
      warningsSeenTotal: sources.warnings.seenTotal,
    };
  }
}
