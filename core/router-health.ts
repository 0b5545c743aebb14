// Whether a router can serve requests, for the load balancer's health check.
// Guarantees: healthy exactly when, on every ring in force, more than `servableShareMin` of the partitions
// have at least W live primaries in this router's view (any W live nodes of the preference list with sloppy
// quorums). A node this router has not heard from yet does not count as live, and nothing else about a map
// change matters: a join only takes the partitions where the joiner is a new primary *and* another primary
// is down out of the count, so with at most one node down of four or more it never turns a router unhealthy
// (test/core/router-health.test.ts). The answer says why, in a line an operator can act on.
// Assumes: every router computes this from its own view; a router that reaches too few nodes to write most
// objects is better out of the load balancer, where another router may reach them.
import { type NodeId, partitionId } from "./ids.ts";
import { type RingView, ringsOf } from "./membership.ts";
import { preferenceList, primariesOf } from "./placement.ts";
import type { ReplicationSettings } from "./settings.ts";

export interface RouterHealth {
  readonly healthy: boolean;
  /** Partitions with W live primaries on every ring in force. */
  readonly servablePartitions: number;
  readonly partitionCount: number;
  /** Active nodes of the current ring this router counts as live. */
  readonly liveNodes: number;
  readonly activeNodes: number;
  /** Active nodes of the current ring this router does not count as live: who the operator should look at. */
  readonly downNodes: readonly NodeId[];
  /** Why not healthy; empty when healthy. */
  readonly reason: string;
}

/** "Most partitions": more than half. */
export const SERVABLE_SHARE_MIN = 0.5;

export function routerHealth(view: RingView, isLive: (node: NodeId) => boolean, settings: Pick<ReplicationSettings, "writeQuorum" | "sloppyQuorum">, servableShareMin = SERVABLE_SHARE_MIN): RouterHealth {
  const rings = ringsOf(view);
  const partitionCount = view.current.partitionCount;
  let servablePartitions = 0;
  for (let index = 0; index < partitionCount; index++) {
    const p = partitionId(index, partitionCount);
    const servable = rings.every((ring) => {
      // A previous ring may have another partition count only if the map's bits changed, which they never do.
      const nodes = settings.sloppyQuorum ? preferenceList(ring, p) : primariesOf(ring, p);
      const needed = Math.min(settings.writeQuorum, ring.replicaCount);
      let live = 0;
      for (const node of nodes) if (isLive(node) && ++live >= needed) return true;
      return false;
    });
    if (servable) servablePartitions += 1;
  }
  const activeNodes = view.current.nodes.length;
  const downNodes = view.current.nodes.filter((n) => !isLive(n.id)).map((n) => n.id).sort();
  const liveNodes = activeNodes - downNodes.length;
  const healthy = servablePartitions > servableShareMin * partitionCount;
  const reason = healthy
    ? ""
    : `${servablePartitions} of ${partitionCount} partitions have ${settings.writeQuorum} live ${settings.sloppyQuorum ? "nodes" : "primaries"} (need more than ${Math.round(servableShareMin * 100)} %); ${liveNodes} of ${activeNodes} nodes live`;
  return { healthy, servablePartitions, partitionCount, liveNodes, activeNodes, downNodes, reason };
}
