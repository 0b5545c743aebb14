// Reading a ring back as plain data for assertions.
import type { NodeId } from "../../../core/ids.ts";
import { primariesOf } from "../../../core/placement.ts";
import type { Ring } from "../../../core/ring.ts";
import type { PartitionId } from "../../../core/ids.ts";

export function primaryTable(ring: Ring): NodeId[][] {
  return Array.from({ length: ring.partitionCount }, (_, p) => [...primariesOf(ring, p as PartitionId)]);
}

export function slotLoads(ring: Ring): Map<NodeId, number> {
  const loads = new Map<NodeId, number>(ring.nodes.map((n) => [n.id, 0]));
  for (const row of primaryTable(ring)) for (const id of row) loads.set(id, loads.get(id)! + 1);
  return loads;
}

/** Slots (partition, node) present in `after` but not in `before`: the copies a change makes move. */
export function movedSlots(before: Ring, after: Ring): { partition: number; to: NodeId }[] {
  const a = primaryTable(before);
  const b = primaryTable(after);
  const moved: { partition: number; to: NodeId }[] = [];
  b.forEach((row, p) => {
    const old = new Set(a[p]);
    for (const id of row) if (!old.has(id)) moved.push({ partition: p, to: id });
  });
  return moved;
}
