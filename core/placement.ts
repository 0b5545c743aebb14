// Placement: which nodes hold a partition, and where writes go while some of them are down.
// Guarantees: primaries are distinct; livePlacement returns at most N distinct live nodes, primaries first
// in preference order, and every handoff names exactly one down primary it stands in for (its hint), each
// down primary named at most once.
// Assumes: the ring comes from core/ring.ts; liveness is this process's own view (core/failure-detector).

import { assert } from "./assert.ts";
import { partitionOfKey } from "./hash.ts";
import type { NodeId, PartitionId } from "./ids.ts";
import { type Ring, partitionPosition } from "./ring.ts";

export function partitionOf(ring: Ring, bucket: string, key: string): PartitionId {
  return partitionOfKey(bucket, key, ring.partitionBits);
}

export function primariesOf(ring: Ring, partition: PartitionId): readonly NodeId[] {
  assert(partition >= 0 && partition < ring.partitionCount, () => `partition ${partition} outside ring of ${ring.partitionCount}`);
  const base = partition * ring.replicaCount;
  const primaries: NodeId[] = new Array(ring.replicaCount);
  for (let i = 0; i < ring.replicaCount; i++) {
    const slot = ring.primarySlots[base + i]!;
    // N is small: a pairwise check is cheaper than a Set on this hot path.
    for (let j = 0; j < i; j++) assert(ring.primarySlots[base + j] !== slot, "primaries must be distinct nodes");
    primaries[i] = ring.nodes[slot]!.id;
  }
  return primaries;
}

/** How many partitions each active node of the ring is a primary of (every node of the ring is listed). */
export function primaryCounts(ring: Ring): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(ring.nodes.map((n) => [n.id, 0]));
  for (const slot of ring.primarySlots) {
    const id = ring.nodes[slot]!.id;
    counts.set(id, counts.get(id)! + 1);
  }
  assert([...counts.values()].reduce((a, b) => a + b, 0) === ring.partitionCount * ring.replicaCount, "every primary slot belongs to one node");
  return counts;
}

export function isPrimary(ring: Ring, partition: PartitionId, node: NodeId): boolean {
  const index = ring.indexOf.get(node);
  if (index === undefined) return false;
  const base = partition * ring.replicaCount;
  for (let i = 0; i < ring.replicaCount; i++) if (ring.primarySlots[base + i] === index) return true;
  return false;
}

/** Handoff nodes of a partition: the non-primaries, clockwise on the hash ring from the partition's position. */
export function* handoffsOf(ring: Ring, partition: PartitionId): Generator<NodeId> {
  const primaries = new Set(primariesOf(ring, partition));
  const start = lowerBound(ring.positions, partitionPosition(ring, partition));
  for (let k = 0; k < ring.nodes.length; k++) {
    const node = ring.nodes[(start + k) % ring.nodes.length]!;
    if (!primaries.has(node.id)) yield node.id;
  }
}

/** The whole preference list: primaries, then handoffs. */
export function preferenceList(ring: Ring, partition: PartitionId): NodeId[] {
  return [...primariesOf(ring, partition), ...handoffsOf(ring, partition)];
}

export type Placement =
  | { readonly node: NodeId; readonly role: "primary" }
  | { readonly node: NodeId; readonly role: "handoff"; readonly hintFor: NodeId };

/**
 * The first N live nodes of the preference list. A live handoff stands in for the first down primary not
 * yet covered; when fewer than N nodes are live, fewer placements come back and the caller decides.
 */
export function livePlacement(ring: Ring, partition: PartitionId, isLive: (node: NodeId) => boolean): Placement[] {
  const primaries = primariesOf(ring, partition);
  const placements: Placement[] = [];
  const downPrimaries: NodeId[] = [];
  for (const node of primaries) {
    if (isLive(node)) placements.push({ node, role: "primary" });
    else downPrimaries.push(node);
  }
  if (downPrimaries.length > 0) {
    for (const node of handoffsOf(ring, partition)) {
      if (downPrimaries.length === 0) break;
      if (isLive(node)) placements.push({ node, role: "handoff", hintFor: downPrimaries.shift()! });
    }
  }
  assert(placements.length <= ring.replicaCount, "livePlacement returned more than N nodes");
  return placements;
}

function lowerBound(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo % Math.max(sorted.length, 1);
}
