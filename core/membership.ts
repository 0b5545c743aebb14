// Membership: which cluster map this process follows, the ring transition it is in, and map gossip.
// Guarantees:
//   - mapHash is the same for equal maps in every process (canonical JSON, nodes sorted by id).
//   - A process only moves forward: it adopts a map with a higher epoch (or, at the same epoch, a higher
//     hash, so two conflicting maps converge on one), never an older one.
//   - Adopting a map whose placement differs starts a transition: `view.previous` is the ring data is moving
//     away from. Writes go to both rings (each needing W), reads consult both (each needing R).
//   - While a transition is open a newer map keeps the OLDEST unretired ring as `previous`: every write
//     acknowledged since it opened is on W primaries of that ring, so reads consulting it stay correct.
//   - The previous ring is retired only when every active node of the current map has reported (by
//     heartbeat) that it runs at least the current epoch and has synced every partition it is a primary of
//     under it (`syncedEpoch`, core/catch-up.ts).
// Assumes: heartbeats carry (epoch, mapHash, syncedEpoch); the host fetches a map when `observe` says so
// and hands it to `adopt`, asks `retireIfComplete` after each report, and a node also feeds its own report to
// `observe` so that it counts itself. core/heartbeats.ts is that host, in both worlds.

import { assert } from "./assert.ts";
import { type ClusterMap, activeNodes, validateClusterMap } from "./cluster-map.ts";
import { type ForeignReport, isNewerForeignReport } from "./foreign-holdings.ts";
import { checksumHex, xxhash64 } from "./hash.ts";
import { primariesOf } from "./placement.ts";
import type { Epoch, NodeId, PartitionId } from "./ids.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import type { Log } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";
import { type Ring, buildRing } from "./ring.ts";

/** The rings a request must satisfy: the current one, and the one being moved away from during a transition. */
export interface RingView {
  readonly current: Ring;
  readonly previous?: Ring;
}

export function ringsOf(view: RingView): readonly Ring[] {
  return view.previous ? [view.current, view.previous] : [view.current];
}

/** A stable hash of a map's content: 16 hex digits of xxhash64 over canonical JSON. */
/** Every node of the rings in force (current and previous), once each: who a listing asks, who a bucket change reaches. */
export function viewNodeIds(view: RingView): NodeId[] {
  return [...new Set(ringsOf(view).flatMap((ring) => ring.nodes.map((n) => n.id)))];
}

export function mapHash(map: ClusterMap): string {
  const nodes = [...map.nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => [n.id, n.address, n.zone, n.weight, n.state, n.joinedEpoch, n.removedEpoch ?? null]);
  return checksumHex(xxhash64(JSON.stringify([map.epoch, map.partitionBits, map.replicas, nodes])));
}

/** True when both rings give every partition the same primaries in the same order. */
export function samePlacement(a: Ring, b: Ring): boolean {
  if (a.partitionCount !== b.partitionCount || a.replicaCount !== b.replicaCount) return false;
  for (let i = 0; i < a.primarySlots.length; i++) {
    if (a.nodes[a.primarySlots[i]!]!.id !== b.nodes[b.primarySlots[i]!]!.id) return false;
  }
  return true;
}

/**
 * Partitions whose primaries (as a set) differ between the ring being moved away from and the current one:
 * the data still moving in a transition, as far as placement says. 0 outside a transition.
 */
export function partitionsInTransition(view: RingView): number {
  const previous = view.previous;
  if (previous === undefined) return 0;
  assert(previous.partitionCount === view.current.partitionCount, "both rings of a view cut the same partitions");
  let moving = 0;
  for (let p = 0; p < view.current.partitionCount; p++) {
    const now = new Set(primariesOf(view.current, p as PartitionId));
    const before = primariesOf(previous, p as PartitionId);
    if (now.size !== before.length || before.some((node) => !now.has(node))) moving++;
  }
  return moving;
}

/** What a heartbeat tells about its sender. */
export interface PeerReport {
  readonly epoch: Epoch;
  readonly mapHash: string;
  /** The newest epoch under which the sender has synced every partition it is a primary of. */
  readonly syncedEpoch?: Epoch;
  /** Storage nodes: the partitions the sender holds data of without being a primary (core/foreign-holdings.ts). */
  readonly foreign?: ForeignReport;
  /** The hash of the sender's bucket table (core/bucket-table.ts): a different one starts a bucket gossip exchange. */
  readonly bucketsHash?: string;
}

/** What the host should do after a heartbeat: fetch the sender's map (get-map) and `adopt` it. */
export type GossipEffect = { readonly kind: "fetch-map"; readonly from: NodeId; readonly epoch: Epoch };

export type AdoptOutcome = "adopted-with-transition" | "adopted" | "ignored-not-newer";

export class Membership {
  private currentMap: ClusterMap;
  private currentHash: string;
  private ringView: RingView;
  private readonly bugs: PlantedBugs | undefined;
  private readonly reports = new Map<NodeId, PeerReport>();
  /** Kept apart from `reports`: foreign holdings are ordered by their own (boot, seq), not by epochs. */
  private readonly foreignReports = new Map<NodeId, ForeignReport>();

  constructor(
    map: ClusterMap,
    private readonly log?: Log,
    options: { previousMap?: ClusterMap; bugs?: PlantedBugs } = {},
  ) {
    this.bugs = options.bugs;
    const checked = validateClusterMap(map);
    assert(checked.ok, () => `invalid cluster map: ${checked.ok ? "" : checked.error}`);
    this.currentMap = map;
    this.currentHash = mapHash(map);
    const current = buildRing(map, this.bugs);
    const previous = options.previousMap ? buildRing(options.previousMap, this.bugs) : undefined;
    this.ringView = previous && !samePlacement(previous, current) ? { current, previous } : { current };
  }

  get map(): ClusterMap {
    return this.currentMap;
  }

  get epoch(): Epoch {
    return this.currentMap.epoch;
  }

  get hash(): string {
    return this.currentHash;
  }

  get view(): RingView {
    return this.ringView;
  }

  get inTransition(): boolean {
    return this.ringView.previous !== undefined;
  }

  /** The last report heard from a node (its own included, if fed). */
  reportOf(node: NodeId): PeerReport | undefined {
    return this.reports.get(node);
  }

  /** The newest report of a node's foreign holdings; undefined if none was heard. */
  foreignReportOf(node: NodeId): ForeignReport | undefined {
    return this.foreignReports.get(node);
  }

  /** Record a heartbeat's report; says whether the sender's map should be fetched. */
  observe(from: NodeId, report: PeerReport): GossipEffect | null {
    if (report.foreign && isNewerForeignReport(report.foreign, this.foreignReports.get(from))) this.foreignReports.set(from, report.foreign);
    const before = this.reports.get(from);
    // Reports only move forward: a delayed heartbeat must not undo a newer one.
    if (!before || report.epoch > before.epoch || (report.epoch === before.epoch && (report.syncedEpoch ?? -1) >= (before.syncedEpoch ?? -1))) {
      this.reports.set(from, report);
    }
    if (report.epoch > this.epoch) return { kind: "fetch-map", from, epoch: report.epoch };
    if (report.epoch === this.epoch && report.mapHash !== this.currentHash) {
      this.log?.error("membership.map-conflict", { epoch: this.epoch, ours: this.currentHash, theirs: report.mapHash, from });
      if (report.mapHash > this.currentHash) return { kind: "fetch-map", from, epoch: report.epoch };
    }
    return null;
  }

  /** Follow a newer map; opens a ring transition when placement changes. */
  adopt(map: ClusterMap): Result<AdoptOutcome, string> {
    const checked = validateClusterMap(map);
    if (!checked.ok) return err(checked.error);
    if (map.partitionBits !== this.currentMap.partitionBits) return err(`map changes partitionBits ${this.currentMap.partitionBits} → ${map.partitionBits}`);
    const hash = mapHash(map);
    const newer = map.epoch > this.epoch || (map.epoch === this.epoch && hash > this.currentHash);
    if (!newer) return ok("ignored-not-newer");
    const current = buildRing(map, this.bugs);
    const previous = this.ringView.previous ?? this.ringView.current;
    this.currentMap = map;
    this.currentHash = hash;
    if (samePlacement(previous, current)) {
      this.ringView = { current };
      this.log?.info("membership.adopted", { epoch: map.epoch, hash, transition: false });
      return ok("adopted");
    }
    this.ringView = { current, previous };
    this.log?.info("membership.adopted", { epoch: map.epoch, hash, transition: true, previousEpoch: previous.epoch });
    return ok("adopted-with-transition");
  }

  /** Active nodes of the current map that have not yet reported being synced at the current epoch. */
  nodesNotSynced(): NodeId[] {
    return activeNodes(this.currentMap)
      .filter((n) => {
        const r = this.reports.get(n.id);
        return !r || r.epoch < this.epoch || (r.syncedEpoch ?? -1) < this.epoch;
      })
      .map((n) => n.id);
  }

  /** Retire the previous ring when every active node is synced under the current epoch. */
  retireIfComplete(): boolean {
    if (!this.ringView.previous || this.bugs?.neverRetireTransition) return false;
    const waiting = this.nodesNotSynced();
    if (waiting.length > 0) return false;
    this.log?.info("membership.transition-retired", { epoch: this.epoch, previousEpoch: this.ringView.previous.epoch });
    this.ringView = { current: this.ringView.current };
    return true;
  }
}
