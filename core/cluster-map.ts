// The cluster map: the one piece of configuration every process agrees on by epoch.
// Guarantees: a map that passes validateClusterMap has unique node ids, positive weights and a history
// (joinedEpoch, removedEpoch) that the ring can replay; the ring is a pure function of it (core/ring.ts).
// Assumes: operators change it only through the admin actions below, each producing epoch + 1, and
// decommissioned nodes stay in the map as tombstones so that later rings can replay their departure.

import { assert } from "./assert.ts";
import { type Epoch, type NodeId, type ZoneId, epoch as toEpoch } from "./ids.ts";
import { type Result, err, ok } from "./result.ts";

export type NodeState = "active" | "decommissioned";

export interface NodeEntry {
  readonly id: NodeId;
  /** host:port of the node's internal API (runtime) or a simulated address. */
  readonly address: string;
  readonly zone: ZoneId;
  /** Relative capacity; shares of replica slots follow weights. */
  readonly weight: number;
  readonly state: NodeState;
  /** The epoch at which the node entered the ring. */
  readonly joinedEpoch: Epoch;
  /** The epoch at which it left; present exactly when state is "decommissioned". */
  readonly removedEpoch?: Epoch;
}

export interface ClusterMap {
  readonly epoch: Epoch;
  /** P: the key space is cut into 2^P partitions, fixed when the cluster is created. */
  readonly partitionBits: number;
  /** N: copies of every object. */
  readonly replicas: number;
  readonly nodes: readonly NodeEntry[];
}

export const partitionCountOf = (map: Pick<ClusterMap, "partitionBits">): number => 2 ** map.partitionBits;

export const activeNodes = (map: ClusterMap): readonly NodeEntry[] => map.nodes.filter((n) => n.state === "active");

export function validateClusterMap(map: ClusterMap): Result<ClusterMap, string> {
  if (!Number.isInteger(map.partitionBits) || map.partitionBits < 1 || map.partitionBits > 20) {
    return err(`partitionBits ${map.partitionBits} must be an integer in 1..20`);
  }
  if (!Number.isInteger(map.replicas) || map.replicas < 1 || map.replicas > 7) {
    return err(`replicas ${map.replicas} must be an integer in 1..7`);
  }
  const seen = new Set<string>();
  for (const node of map.nodes) {
    if (seen.has(node.id)) return err(`node ${node.id} appears twice`);
    seen.add(node.id);
    if (!(node.weight > 0) || !Number.isFinite(node.weight)) return err(`node ${node.id}: weight must be > 0`);
    if (node.joinedEpoch > map.epoch) return err(`node ${node.id} joined at epoch ${node.joinedEpoch}, after the map's ${map.epoch}`);
    if (node.state === "decommissioned") {
      if (node.removedEpoch === undefined) return err(`node ${node.id} is decommissioned without removedEpoch`);
      if (node.removedEpoch <= node.joinedEpoch || node.removedEpoch > map.epoch) {
        return err(`node ${node.id}: removedEpoch ${node.removedEpoch} must lie in (${node.joinedEpoch}, ${map.epoch}]`);
      }
    } else if (node.removedEpoch !== undefined) {
      return err(`node ${node.id} is active but has removedEpoch`);
    }
  }
  if (activeNodes(map).length === 0) return err("a cluster map needs at least one active node");
  return ok(map);
}

export interface NewNode {
  readonly id: NodeId;
  readonly address: string;
  readonly zone: ZoneId;
  readonly weight?: number;
}

/** The first map of a new cluster: every node joins at epoch 1. */
export function createClusterMap(options: { partitionBits: number; replicas: number; nodes: readonly NewNode[] }): ClusterMap {
  const map: ClusterMap = {
    epoch: toEpoch(1),
    partitionBits: options.partitionBits,
    replicas: options.replicas,
    nodes: options.nodes.map((n) => ({ id: n.id, address: n.address, zone: n.zone, weight: n.weight ?? 1, state: "active", joinedEpoch: toEpoch(1) })),
  };
  const checked = validateClusterMap(map);
  assert(checked.ok, checked.ok ? "" : checked.error);
  return map;
}

/** Admin action: a node joins; epoch + 1. */
export function joinNode(map: ClusterMap, node: NewNode): Result<ClusterMap, string> {
  if (map.nodes.some((n) => n.id === node.id)) return err(`node ${node.id} is already in the map`);
  const next = toEpoch(map.epoch + 1);
  return validateClusterMap({
    ...map,
    epoch: next,
    nodes: [...map.nodes, { id: node.id, address: node.address, zone: node.zone, weight: node.weight ?? 1, state: "active", joinedEpoch: next }],
  });
}

/** Admin action: a node leaves the ring for good; it stays in the map as a tombstone. epoch + 1. */
export function decommissionNode(map: ClusterMap, id: NodeId): Result<ClusterMap, string> {
  const target = map.nodes.find((n) => n.id === id);
  if (!target) return err(`node ${id} is not in the map`);
  if (target.state !== "active") return err(`node ${id} is already decommissioned`);
  if (activeNodes(map).length <= 1) return err(`node ${id} is the last active node`);
  const next = toEpoch(map.epoch + 1);
  return validateClusterMap({
    ...map,
    epoch: next,
    nodes: map.nodes.map((n) => (n.id === id ? { ...n, state: "decommissioned", removedEpoch: next } : n)),
  });
}

/** Admin action: a node's address changes (it moved hosts); placement is unaffected. */
export function readdressNode(map: ClusterMap, id: NodeId, address: string): Result<ClusterMap, string> {
  if (!map.nodes.some((n) => n.id === id)) return err(`node ${id} is not in the map`);
  return validateClusterMap({ ...map, epoch: toEpoch(map.epoch + 1), nodes: map.nodes.map((n) => (n.id === id ? { ...n, address } : n)) });
}
