// The ring: partition → preference list (primaries, then handoffs), a pure function of the cluster map.
//
// Choice (issue 2 asks for it here): nodes take their place on a 32-bit hash ring by xxhash64 of their id,
// and the key space is cut into 2^P fixed partitions (Dynamo's strategy 3). Primaries are not the next N
// nodes clockwise, because with a few dozen nodes that gives shares that differ by 2x or more; instead a
// deterministic ring builder assigns the N primary slots of every partition:
//   - the builder replays the map's history (joins and decommissions in epoch order), which every map
//     carries: decommissioned nodes stay in the map as tombstones. Replaying history is what makes
//     movement minimal: a join only steals slots for the new node from nodes above their quota, and a
//     decommission hands the departed node's slots to nodes below theirs, then, if a node is still above its
//     quota, moves a few more slots (at most 0.1x the departed node's share: balance wins, finding R2). A history-free function of
//     the node set cannot have both exact balance and minimal movement (hashing alone leaves ±√share noise).
//   - quotas are the exact weighted shares of all replica slots (largest remainder), capped so that no node
//     and, when there are at least N zones, no zone holds more than one slot of a partition.
//   - ties are broken by clockwise distance on the hash ring from the partition's position, so placement
//     follows the hash ring wherever balance does not decide.
// Handoffs are the remaining active nodes in clockwise ring order from the partition's position, so the
// load of a down node spreads over the ring instead of landing on one neighbour.
//
// Guarantees: the same map gives the same ring in every process; a partition's primaries are
// min(N, active nodes) distinct nodes, in distinct zones whenever there are at least N zones; slot shares are
// within ~1 slot of the weighted quota whenever the zones allow it.
// Assumes: weights of a node do not change after it joins (a weight change is a later issue: it would be an
// event in the history like a join).

import type { PlantedBugs } from "./planted-bugs.ts";
import { assert } from "./assert.ts";
import { type ClusterMap, type NodeEntry, partitionCountOf } from "./cluster-map.ts";
import { mix32, ringPositionOfNode } from "./hash.ts";
import type { Epoch, NodeId, PartitionId, ZoneId } from "./ids.ts";

export interface Ring {
  readonly epoch: Epoch;
  readonly partitionBits: number;
  readonly partitionCount: number;
  /** min(N, active nodes): the number of primaries of every partition. */
  readonly replicaCount: number;
  /** The configured N, which replicaCount reaches once there are N active nodes. */
  readonly replicasWanted: number;
  /** Active nodes sorted by ring position (ties by id). */
  readonly nodes: readonly NodeEntry[];
  readonly positions: Uint32Array;
  /** primarySlots[p * replicaCount + i] = index into nodes of partition p's i-th primary. */
  readonly primarySlots: Int32Array;
  readonly indexOf: ReadonlyMap<NodeId, number>;
  readonly zoneCount: number;
}

const UNASSIGNED = -1;

interface Builder {
  readonly partitionCount: number;
  readonly replicasWanted: number;
  readonly shift: number;
  /** All nodes that ever joined, by id; indices are stable through the replay. */
  readonly all: readonly NodeEntry[];
  readonly positions: Uint32Array;
  readonly zoneIndex: Int32Array;
  readonly active: Uint8Array;
  readonly load: Int32Array;
  quota: Int32Array;
  /** slots[p * replicasWanted + i] = index into all, or UNASSIGNED. */
  readonly slots: Int32Array;
}

export function buildRing(map: ClusterMap, bugs?: PlantedBugs): Ring {
  if (bugs?.ringOnePrimaryFewer && map.replicas > 1) return buildRing({ ...map, replicas: map.replicas - 1 });
  const partitionCount = partitionCountOf(map);
  const all = [...map.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const zones = new Map<ZoneId, number>();
  for (const node of all) if (!zones.has(node.zone)) zones.set(node.zone, zones.size);
  const builder: Builder = {
    partitionCount,
    replicasWanted: map.replicas,
    shift: 32 - map.partitionBits,
    all,
    positions: Uint32Array.from(all, (n) => ringPositionOfNode(n.id)),
    zoneIndex: Int32Array.from(all, (n) => zones.get(n.zone)!),
    active: new Uint8Array(all.length),
    load: new Int32Array(all.length),
    quota: new Int32Array(all.length),
    slots: new Int32Array(partitionCount * map.replicas).fill(UNASSIGNED),
  };

  for (const step of historyOf(all)) {
    if (step.kind === "remove") {
      const departedSlots = builder.load[step.index]!;
      builder.active[step.index] = 0;
      recomputeQuotas(builder);
      unassignAll(builder, step.index);
      fillUnassigned(builder, { scarceFirst: true });
      rebalance(builder, Math.floor(departedSlots * DECOMMISSION_EXTRA_MOVES_SHARE));
    } else {
      const firstNodes = builder.active.every((a) => a === 0);
      for (const index of step.indices) builder.active[index] = 1;
      recomputeQuotas(builder);
      fillUnassigned(builder);
      if (!firstNodes) for (const index of step.indices) stealFor(builder, index);
    }
    repairZones(builder);
  }
  return freeze(map, builder);
}

type Step = { kind: "join"; indices: number[] } | { kind: "remove"; index: number };

/** Events in epoch order; in one epoch, departures before arrivals, and the joins of one epoch together. */
function historyOf(all: readonly NodeEntry[]): Step[] {
  const epochs = new Set<number>();
  for (const node of all) {
    epochs.add(node.joinedEpoch);
    if (node.removedEpoch !== undefined) epochs.add(node.removedEpoch);
  }
  const steps: Step[] = [];
  for (const at of [...epochs].sort((a, b) => a - b)) {
    all.forEach((node, index) => {
      if (node.removedEpoch === at) steps.push({ kind: "remove", index });
    });
    const joiners = all.flatMap((node, index) => (node.joinedEpoch === at ? [index] : []));
    if (joiners.length > 0) steps.push({ kind: "join", indices: joiners });
  }
  return steps;
}

function activeIndices(b: Builder): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.all.length; i++) if (b.active[i]) out.push(i);
  return out;
}

function distinctZoneCount(b: Builder): number {
  const zones = new Set<number>();
  for (const i of activeIndices(b)) zones.add(b.zoneIndex[i]!);
  return zones.size;
}

/** Distinct zones are required exactly when there are at least as many zones as copies. */
function zonesMustDiffer(b: Builder): boolean {
  return distinctZoneCount(b) >= effectiveReplicas(b);
}

function effectiveReplicas(b: Builder): number {
  return Math.min(b.replicasWanted, activeIndices(b).length);
}

/**
 * Largest-remainder shares of `total` by weight, no share above `cap`; a capped member's surplus is
 * spread over the others in proportion to their weights.
 */
export function cappedShares(weights: readonly number[], total: number, cap: number): number[] {
  assert(weights.length * cap >= total, () => `cannot place ${total} slots on ${weights.length} holders of at most ${cap}`);
  const shares = new Array<number>(weights.length).fill(0);
  let open = weights.map((_, i) => i);
  let remaining = total;
  for (;;) {
    const weightSum = open.reduce((s, i) => s + weights[i]!, 0);
    const over = open.filter((i) => (remaining * weights[i]!) / weightSum > cap);
    if (over.length === 0) {
      const exact = open.map((i) => (remaining * weights[i]!) / weightSum);
      const floors = exact.map(Math.floor);
      let left = remaining - floors.reduce((s, f) => s + f, 0);
      const byRemainder = open.map((_, k) => k).sort((x, y) => exact[y]! - floors[y]! - (exact[x]! - floors[x]!) || x - y);
      open.forEach((i, k) => (shares[i] = floors[k]!));
      for (const k of byRemainder) {
        if (left === 0) break;
        shares[open[k]!]! += 1;
        left -= 1;
      }
      return shares;
    }
    for (const i of over) shares[i] = cap;
    remaining -= over.length * cap;
    open = open.filter((i) => !over.includes(i));
  }
}

function recomputeQuotas(b: Builder): void {
  const members = activeIndices(b);
  const replicas = effectiveReplicas(b);
  const total = b.partitionCount * replicas;
  const quota = new Int32Array(b.all.length);
  if (zonesMustDiffer(b)) {
    // Two levels: a zone holds at most one copy of each partition, then its nodes share the zone's slots.
    const zoneIds = [...new Set(members.map((i) => b.zoneIndex[i]!))].sort((x, y) => x - y);
    const zoneWeights = zoneIds.map((z) => members.filter((i) => b.zoneIndex[i] === z).reduce((s, i) => s + b.all[i]!.weight, 0));
    const zoneShares = cappedShares(zoneWeights, total, b.partitionCount);
    zoneIds.forEach((z, k) => {
      const inZone = members.filter((i) => b.zoneIndex[i] === z);
      const shares = cappedShares(inZone.map((i) => b.all[i]!.weight), zoneShares[k]!, b.partitionCount);
      inZone.forEach((i, j) => (quota[i] = shares[j]!));
    });
  } else {
    const shares = cappedShares(members.map((i) => b.all[i]!.weight), total, b.partitionCount);
    members.forEach((i, j) => (quota[i] = shares[j]!));
  }
  b.quota = quota;
}

function unassignAll(b: Builder, index: number): void {
  for (let s = 0; s < b.slots.length; s++) {
    if (b.slots[s] === index) {
      b.slots[s] = UNASSIGNED;
      b.load[index]! -= 1;
    }
  }
  assert(b.load[index] === 0, () => `node ${b.all[index]!.id} still holds slots after removal`);
}

/** May node `candidate` hold slot `slot` of partition p (whoever holds it now steps aside)? */
function eligible(b: Builder, p: number, slot: number, candidate: number, zonesDiffer: boolean): boolean {
  const base = p * b.replicasWanted;
  for (let i = 0; i < b.replicasWanted; i++) {
    if (i === slot) continue;
    const holder = b.slots[base + i]!;
    if (holder === UNASSIGNED) continue;
    if (holder === candidate) return false;
    if (zonesDiffer && b.zoneIndex[holder] === b.zoneIndex[candidate]) return false;
  }
  return true;
}

function usesZone(b: Builder, p: number, slot: number, zone: number): boolean {
  const base = p * b.replicasWanted;
  for (let i = 0; i < b.replicasWanted; i++) {
    const holder = b.slots[base + i]!;
    if (i !== slot && holder !== UNASSIGNED && b.zoneIndex[holder] === zone) return true;
  }
  return false;
}

/**
 * The best node for slot `slot` of p: below quota first, then a zone p lacks, then (with `scarcity`) the
 * node with the fewest open slots left that it could still take beyond its deficit, then most below quota,
 * then nearest clockwise.
 */
function bestCandidate(b: Builder, p: number, slot: number, members: readonly number[], zonesDiffer: boolean, scarcity?: Int32Array): number {
  const partitionPosition = (p << b.shift) >>> 0;
  let best = UNASSIGNED;
  let bestKey: [number, number, number, number, number] = [-1, -1, -Infinity, -Infinity, Infinity];
  for (const candidate of members) {
    if (!eligible(b, p, slot, candidate, zonesDiffer)) continue;
    const deficit = b.quota[candidate]! - b.load[candidate]!;
    const key: [number, number, number, number, number] = [
      deficit > 0 ? 1 : 0,
      usesZone(b, p, slot, b.zoneIndex[candidate]!) ? 0 : 1,
      scarcity ? deficit - scarcity[candidate]! : 0,
      deficit,
      (b.positions[candidate]! - partitionPosition) >>> 0,
    ];
    if (lexicallyBetter(key, bestKey)) {
      best = candidate;
      bestKey = key;
    }
  }
  return best;
}

/** Holders first in each partition's slots, and no more than the effective N (it shrinks below N nodes). */
/** Greater on the first four keys (in order), then smaller on the last (clockwise distance). */
function lexicallyBetter(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length - 1; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return a[a.length - 1]! < b[b.length - 1]!;
}

function compactSlots(b: Builder, replicas: number): void {
  for (let p = 0; p < b.partitionCount; p++) {
    const base = p * b.replicasWanted;
    let write = 0;
    for (let i = 0; i < b.replicasWanted; i++) {
      const holder = b.slots[base + i]!;
      if (holder === UNASSIGNED) continue;
      b.slots[base + i] = UNASSIGNED;
      if (write < replicas) b.slots[base + write++] = holder;
      else b.load[holder]! -= 1;
    }
  }
}

/**
 * Fills every empty slot. With scarceFirst (the slots a decommissioned node left), a node that can take few of
 * the open slots gets them before nodes that could take any: a greedy fill otherwise spends a scarce node's
 * few chances on others and leaves it below its share while the others go above theirs.
 */
function fillUnassigned(b: Builder, options: { scarceFirst?: boolean } = {}): void {
  const members = activeIndices(b);
  const replicas = effectiveReplicas(b);
  const zonesDiffer = zonesMustDiffer(b);
  compactSlots(b, replicas);
  // For each member: open slots it could take (an upper bound; it shrinks as slots fill).
  let openFor: Int32Array | undefined;
  if (options.scarceFirst) {
    openFor = new Int32Array(b.all.length);
    for (let p = 0; p < b.partitionCount; p++) {
      for (let i = 0; i < replicas; i++) {
        if (b.slots[p * b.replicasWanted + i] !== UNASSIGNED) continue;
        for (const c of members) if (eligible(b, p, i, c, zonesDiffer)) openFor[c]! += 1;
      }
    }
  }
  for (let p = 0; p < b.partitionCount; p++) {
    for (let i = 0; i < replicas; i++) {
      const s = p * b.replicasWanted + i;
      if (b.slots[s] !== UNASSIGNED) continue;
      if (openFor) for (const c of members) if (eligible(b, p, i, c, zonesDiffer)) openFor[c]! -= 1;
      const chosen = bestCandidate(b, p, i, members, zonesDiffer, openFor);
      assert(chosen !== UNASSIGNED, () => `no node can take a copy of partition ${p}`);
      b.slots[s] = chosen;
      b.load[chosen]! += 1;
    }
  }
}

/** A joining node takes slots, up to its quota, only from nodes above theirs: nothing else moves. */
function stealFor(b: Builder, joiner: number): void {
  const zonesDiffer = zonesMustDiffer(b);
  const salt = b.positions[joiner]!;
  // Visit partitions in an order particular to the joiner, so its slots spread over the whole key space.
  const order = Array.from({ length: b.partitionCount }, (_, p) => p).sort((x, y) => mix32(x, salt) - mix32(y, salt) || x - y);
  for (const p of order) {
    if (b.load[joiner]! >= b.quota[joiner]!) return;
    let donorSlot = -1;
    let donorExcess = 0;
    for (let i = 0; i < b.replicasWanted; i++) {
      const holder = b.slots[p * b.replicasWanted + i]!;
      if (holder === UNASSIGNED || holder === joiner) continue;
      const excess = b.load[holder]! - b.quota[holder]!;
      if (excess > donorExcess && eligible(b, p, i, joiner, zonesDiffer)) {
        donorSlot = i;
        donorExcess = excess;
      }
    }
    if (donorSlot < 0) continue;
    const s = p * b.replicasWanted + donorSlot;
    b.load[b.slots[s]!]! -= 1;
    b.slots[s] = joiner;
    b.load[joiner]! += 1;
  }
}

/**
 * Balance wins over minimal movement on a decommission (the team's decision, finding R2): when the departed
 * node's partitions are mostly co-held by a few nodes, handing over only its slots can leave a node well
 * above its share. Then other slots move too, from the most loaded nodes to nodes below their quota, but
 * never more than this share of the departed node's slots on top of them (1.1x its share in all).
 */
const DECOMMISSION_EXTRA_MOVES_SHARE = 0.1;

/**
 * Moves single slots from the node most above its quota to an eligible node below its own, most below first,
 * until no node is above its quota, no such move exists, or `movesMax` slots moved. Deterministic: partitions
 * in order, ties by the candidate order of bestCandidate.
 */
function rebalance(b: Builder, movesMax: number): void {
  const members = activeIndices(b);
  const replicas = effectiveReplicas(b);
  const zonesDiffer = zonesMustDiffer(b);
  for (let moves = 0; moves < movesMax; moves++) {
    let donor = UNASSIGNED;
    for (const m of members) if (b.load[m]! > b.quota[m]! && (donor === UNASSIGNED || b.load[m]! - b.quota[m]! > b.load[donor]! - b.quota[donor]!)) donor = m;
    if (donor === UNASSIGNED) return;
    let moved = false;
    for (let p = 0; p < b.partitionCount && !moved; p++) {
      for (let i = 0; i < replicas; i++) {
        const s = p * b.replicasWanted + i;
        if (b.slots[s] !== donor) continue;
        const chosen = bestCandidate(b, p, i, members.filter((m) => m !== donor && b.load[m]! < b.quota[m]!), zonesDiffer);
        if (chosen === UNASSIGNED) continue;
        b.slots[s] = chosen;
        b.load[donor]! -= 1;
        b.load[chosen]! += 1;
        moved = true;
        break;
      }
    }
    if (!moved) return;
  }
}

/** When zones must differ (e.g. a third zone just appeared), move copies that share a zone. */
function repairZones(b: Builder): void {
  if (!zonesMustDiffer(b)) return;
  const members = activeIndices(b);
  for (let p = 0; p < b.partitionCount; p++) {
    for (let i = 0; i < b.replicasWanted; i++) {
      const s = p * b.replicasWanted + i;
      const holder = b.slots[s]!;
      if (holder === UNASSIGNED || !usesZone(b, p, i, b.zoneIndex[holder]!)) continue;
      b.load[holder]! -= 1;
      b.slots[s] = UNASSIGNED;
      const chosen = bestCandidate(b, p, i, members, true);
      assert(chosen !== UNASSIGNED, () => `no node in a free zone for partition ${p}`);
      b.slots[s] = chosen;
      b.load[chosen]! += 1;
    }
  }
}

function freeze(map: ClusterMap, b: Builder): Ring {
  const activeAll = activeIndices(b);
  const byPosition = [...activeAll].sort((x, y) => b.positions[x]! - b.positions[y]! || (b.all[x]!.id < b.all[y]!.id ? -1 : 1));
  const nodes = byPosition.map((i) => b.all[i]!);
  const remap = new Int32Array(b.all.length).fill(UNASSIGNED);
  byPosition.forEach((i, k) => (remap[i] = k));
  const replicaCount = effectiveReplicas(b);
  const primarySlots = new Int32Array(b.partitionCount * replicaCount);
  for (let p = 0; p < b.partitionCount; p++) {
    for (let i = 0; i < replicaCount; i++) {
      const holder = b.slots[p * b.replicasWanted + i]!;
      assert(holder !== UNASSIGNED && b.active[holder] === 1, () => `partition ${p} slot ${i} has no active holder`);
      primarySlots[p * replicaCount + i] = remap[holder]!;
    }
  }
  return {
    epoch: map.epoch,
    partitionBits: map.partitionBits,
    partitionCount: b.partitionCount,
    replicaCount,
    replicasWanted: map.replicas,
    nodes,
    positions: Uint32Array.from(byPosition, (i) => b.positions[i]!),
    primarySlots,
    indexOf: new Map(nodes.map((n, k) => [n.id, k])),
    zoneCount: distinctZoneCount(b),
  };
}

export function partitionPosition(ring: Ring, partition: PartitionId): number {
  return (partition << (32 - ring.partitionBits)) >>> 0;
}
