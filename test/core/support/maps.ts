// Generators of cluster maps for property tests of the ring and placement.
import fc from "fast-check";
import { type ClusterMap, type NewNode, createClusterMap, decommissionNode, joinNode } from "../../../core/cluster-map.ts";
import { nodeId, zoneId } from "../../../core/ids.ts";

export function newNodes(count: number, options: { zones?: number; weights?: readonly number[]; prefix?: string } = {}): NewNode[] {
  const zones = options.zones ?? 1;
  return Array.from({ length: count }, (_, i) => ({
    id: nodeId(`${options.prefix ?? "node"}-${i}`),
    address: `127.0.0.1:${7000 + i}`,
    zone: zoneId(`zone-${i % zones}`),
    weight: options.weights?.[i] ?? 1,
  }));
}

export function mapOf(nodes: readonly NewNode[], partitionBits = 10, replicas = 3): ClusterMap {
  return createClusterMap({ partitionBits, replicas, nodes });
}

export function mustJoin(map: ClusterMap, node: NewNode): ClusterMap {
  const next = joinNode(map, node);
  if (!next.ok) throw new Error(next.error);
  return next.value;
}

export function mustDecommission(map: ClusterMap, id: string): ClusterMap {
  const next = decommissionNode(map, nodeId(id));
  if (!next.ok) throw new Error(next.error);
  return next.value;
}

/** A node-id salt, so that properties see many different ring positions, not one fixed layout. */
export const saltArb = fc.stringMatching(/^[a-z0-9]{1,6}$/);

export type HistoryStep = { kind: "join"; zone: number } | { kind: "leave"; pick: number };

/** A random history: initial nodes then joins and decommissions; never fewer than `minActive` nodes. */
export function replayHistory(options: { salt: string; initial: number; zones: number; steps: readonly HistoryStep[]; minActive: number; partitionBits?: number }): ClusterMap {
  let map = mapOf(newNodes(options.initial, { zones: options.zones, prefix: options.salt }), options.partitionBits ?? 10);
  let next = options.initial;
  for (const step of options.steps) {
    const active = map.nodes.filter((n) => n.state === "active");
    if (step.kind === "join") {
      map = mustJoin(map, { id: nodeId(`${options.salt}-${next}`), address: `a${next}`, zone: zoneId(`zone-${step.zone % options.zones}`) });
      next += 1;
    } else if (active.length > options.minActive) {
      map = mustDecommission(map, active[step.pick % active.length]!.id);
    }
  }
  return map;
}
