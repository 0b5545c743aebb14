// A tiny in-memory cluster for core tests: storage nodes (core/storage-node.ts over MemoryStore) behind a
// Transport that routes a request straight to the target's handler, with switchable faults: a node can be
// down (unreachable), and any single request can be lost before it arrives or after it was applied.
// Everything is promise-based without timers, so a test is deterministic for a given fault plan.

import { CatchUpState, type NodeStart } from "../../../core/catch-up.ts";
import { type ClusterMap, createClusterMap, decommissionNode, joinNode } from "../../../core/cluster-map.ts";
import type { CoordinatorDeps } from "../../../core/coordinator.ts";
import { EMPTY_BODY_CHECKSUM } from "../../../core/coordinator.ts";
import { checksumHex, xxhash64 } from "../../../core/hash.ts";
import { type NodeId, type PartitionId, nodeId, zoneId } from "../../../core/ids.ts";
import { assert } from "../../../core/assert.ts";
import { ForeignHoldings } from "../../../core/foreign-holdings.ts";
import { Membership, type RingView } from "../../../core/membership.ts";
import type { ObjectVersion } from "../../../core/object-version.ts";
import { partitionOf, primariesOf } from "../../../core/placement.ts";
import type { PlantedBugs } from "../../../core/planted-bugs.ts";
import type { Clock, Log, ReplicaRequest, Transport, TransportFailure } from "../../../core/ports.ts";
import { RepairState, type RepairContext, type RepairReport, runRepairRound } from "../../../core/repair.ts";
import { StandInState } from "../../../core/stand-in.ts";
import { type Result, err, ok } from "../../../core/result.ts";
import { type ReplicationSettings, type RepairSettings, replicationSettings, repairSettings } from "../../../core/settings.ts";
import { handleReplicaRequest, heartbeatReport, type StorageNodeContext } from "../../../core/storage-node.ts";
import { HybridLogicalClock, formatStamp } from "../../../core/version.ts";
import { type MemBody, MemoryStore } from "./memory-store.ts";

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export function bodyOf(content: string): MemBody {
  return { size: content.length, checksum: checksumHex(xxhash64(content)) };
}

export const emptyMemBody: MemBody = { size: 0, checksum: EMPTY_BODY_CHECKSUM };

export function verifyMemBody(body: MemBody, version: ObjectVersion): Result<MemBody, TransportFailure> {
  return body.checksum === version.checksum ? ok(body) : err({ kind: "corrupt", detail: `body ${body.checksum} != ${version.checksum}` });
}

/** What happens to one request: delivered, lost on the way there, or applied and its answer lost. */
export type Fault = "deliver" | "lose-request" | "lose-response";

export interface TestNode {
  readonly id: NodeId;
  store: MemoryStore;
  readonly membership: Membership;
  catchUp: CatchUpState;
  /** New on every restart, like the process's memory. */
  standIns: StandInState;
  repair: RepairState;
  /** New on every restart (a new incarnation reports "unknown" until its first census). */
  foreign: ForeignHoldings;
  up: boolean;
  /** When the node last crashed (every process's view sees it down from then on: a perfect detector). */
  crashedAtMs: number | undefined;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly replicas?: number;
  readonly partitionBits?: number;
  readonly zones?: number;
  readonly initiallyCaughtUp?: boolean;
  readonly bugs?: PlantedBugs;
}

export class TestCluster {
  map: ClusterMap;
  readonly nodes = new Map<NodeId, TestNode>();
  nowMs = 1_000_000;
  bugs: PlantedBugs;
  /** Decides the fate of each request; default: deliver. */
  faultFor: (to: NodeId, request: ReplicaRequest<MemBody>) => Fault = () => "deliver";
  /**
   * Nodes hand out stored bodies without checking them first, as the runtime's do: its store checks blocks as
   * they stream, so a rotten copy starts to stream and breaks midway, and only the reader's write can refuse it.
   */
  servesUnchecked = false;
  /** Requests delivered, by kind (for tests that count work). */
  readonly delivered = new Map<string, number>();
  /** Where repair rounds log (tests of operator lines set a recording log). */
  repairLog: Log = silentLog;
  readonly routerMembership: Membership;

  constructor(options: ClusterOptions) {
    const zones = options.zones ?? options.nodes;
    this.map = createClusterMap({
      partitionBits: options.partitionBits ?? 3,
      replicas: options.replicas ?? 3,
      nodes: Array.from({ length: options.nodes }, (_, i) => ({ id: nodeId(`n${i}`), address: `sim:n${i}`, zone: zoneId(`z${i % zones}`) })),
    });
    this.bugs = options.bugs ?? {};
    this.routerMembership = new Membership(this.map);
    for (const entry of this.map.nodes) this.addNode(entry.id, (options.initiallyCaughtUp ?? true) ? "new-cluster" : "restart-with-data");
  }

  private addNode(id: NodeId, start: NodeStart): void {
    const membership = new Membership(this.map);
    this.nodes.set(id, { id, store: new MemoryStore(), membership, catchUp: new CatchUpState(id, membership.view, start), standIns: this.standInState(id), repair: new RepairState(), foreign: new ForeignHoldings(0), up: true, crashedAtMs: undefined });
  }

  /** A node's stand-in state over this harness's perfect failure detector. */
  standInState(id: NodeId): StandInState {
    return new StandInState(id, {
      isLive: (n) => this.nodes.get(n)?.up === true,
      downSinceMs: (n) => (this.nodes.get(n)?.up === true ? null : (this.nodes.get(n)?.crashedAtMs ?? this.nowMs)),
      nowMs: () => this.nowMs,
    });
  }

  node(id: NodeId | string): TestNode {
    const n = this.nodes.get(id as NodeId);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  view(): RingView {
    return this.routerMembership.view;
  }

  partitionOf(bucket: string, key: string): PartitionId {
    return partitionOf(this.view().current, bucket, key);
  }

  primaries(bucket: string, key: string): readonly NodeId[] {
    return primariesOf(this.view().current, this.partitionOf(bucket, key));
  }

  clock(): Clock {
    return { nowMs: () => this.nowMs, sleep: async () => {} };
  }

  storageContext(node: TestNode): StorageNodeContext<MemBody> {
    return {
      self: node.id,
      store: node.store,
      catchUp: node.catchUp,
      standIns: node.standIns,
      membership: node.membership,
      foreign: node.foreign,
      ...(this.servesUnchecked ? {} : { verifyBody: (body: MemBody, version: ObjectVersion) => verifyMemBody(body, version) }),
      log: silentLog,
      faults: this.bugs,
    };
  }

  transport(): Transport<MemBody> {
    return {
      send: async (to, request) => {
        const node = this.nodes.get(to);
        if (!node || !node.up) return err({ kind: "unreachable", detail: `${to} is down` });
        const fault = this.faultFor(to, request as ReplicaRequest<MemBody>);
        if (fault === "lose-request") return err({ kind: "timeout", detail: "request lost" });
        this.delivered.set(request.kind, (this.delivered.get(request.kind) ?? 0) + 1);
        const result = await handleReplicaRequest(this.storageContext(node), request);
        if (fault === "lose-response") return err({ kind: "timeout", detail: "response lost" });
        return result;
      },
    } as Transport<MemBody>;
  }

  /**
   * One clock per writer, as a router keeps one: a clock made afresh for each coordinator, over a clock that
   * does not move, handed two writes of one key the same stamp (a store then rightly keeps the first).
   */
  private readonly hlcs = new Map<string, HybridLogicalClock>();

  private hlcOf(writer: string): HybridLogicalClock {
    let hlc = this.hlcs.get(writer);
    if (hlc === undefined) {
      hlc = new HybridLogicalClock(this.clock(), writer);
      this.hlcs.set(writer, hlc);
    }
    return hlc;
  }

  /** The router's liveness: a perfect detector unless `liveness` says otherwise. */
  coordinator(settings: Partial<ReplicationSettings> = {}, liveness?: (node: NodeId) => boolean, writer = "router1"): CoordinatorDeps<MemBody> {
    return {
      transport: this.transport(),
      rings: () => this.view(),
      isLive: liveness ?? ((n) => this.nodes.get(n)?.up === true),
      hlc: this.hlcOf(writer),
      log: silentLog,
      // A coordinator given only R (a reader in a test) pairs it with the W that intersects it: settings
      // whose strict quorums cannot intersect do not exist (core/settings.ts).
      settings: replicationSettings({
        replicas: this.map.replicas,
        ...(settings.readQuorum !== undefined && settings.writeQuorum === undefined ? { writeQuorum: Math.max(1, this.map.replicas - settings.readQuorum + 1) } : {}),
        ...settings,
      }),
      emptyBody: () => emptyMemBody,
      verifyBody: (body, version) => verifyMemBody(body, version),
      faults: this.bugs,
    };
  }

  repairContext(node: TestNode, settings: Partial<RepairSettings> = {}): RepairContext<MemBody> {
    return {
      self: node.id,
      store: node.store,
      transport: this.transport(),
      catchUp: node.catchUp,
      standIns: node.standIns,
      foreign: node.foreign,
      // Gossip is instant here: a node's current report, as its next heartbeat would carry it. A down node's
      // report is whatever it said last, which this harness does not keep: none.
      foreignReportOf: (n) => (this.nodes.get(n)?.up ? this.nodes.get(n)!.foreign.report() : undefined),
      rings: () => node.membership.view,
      isLive: (n) => this.nodes.get(n)?.up === true,
      downSinceMs: (n) => (this.nodes.get(n)?.up === true ? null : (this.nodes.get(n)?.crashedAtMs ?? this.nowMs)),
      nowMs: () => this.nowMs,
      emptyBody: () => emptyMemBody,
      checkStoredBody: async (body, version) => (body.checksum === version.checksum ? ok(true) : err(`body ${body.checksum} != ${version.checksum}`)),
      verifyBody: (body, version) => verifyMemBody(body, version),
      settings: repairSettings({ tombstoneGraceMs: 10 * 24 * 3600_000, ...settings }),
      log: this.repairLog,
      faults: this.bugs,
    };
  }

  /** One repair round on every live node, in id order. */
  async repairRound(settings: Partial<RepairSettings> = {}): Promise<RepairReport[]> {
    const reports: RepairReport[] = [];
    for (const node of this.nodes.values()) if (node.up) reports.push(await runRepairRound(this.repairContext(node, settings), node.repair));
    return reports;
  }

  /** Repair rounds until one changes nothing (or `roundsMax`); returns the number of rounds run. */
  async repairUntilQuiet(settings: Partial<RepairSettings> = {}, roundsMax = 30): Promise<number> {
    for (let round = 1; round <= roundsMax; round++) {
      const reports = await this.repairRound(settings);
      const busy = reports.some((r) => r.pulled + r.pushed + r.handoffDropped + r.supersededDropped + r.tombstonesCollected + r.caughtUp.length > 0);
      if (!busy) return round;
    }
    return roundsMax;
  }

  crash(id: NodeId | string): void {
    const node = this.node(id);
    node.up = false;
    node.crashedAtMs = this.nowMs;
  }

  /** A restart keeps the disk; the node is behind on all its partitions until repair syncs them. */
  restart(id: NodeId | string): void {
    const node = this.node(id);
    node.up = true;
    node.catchUp = new CatchUpState(node.id, node.membership.view, "restart-with-data");
    node.standIns = this.standInState(node.id);
    node.repair = new RepairState();
    node.foreign = new ForeignHoldings(node.foreign.boot + 1);
  }

  /**
   * A down node lost the blob files of some committed versions; its start-up drops their rows (the runtime's
   * runtime/node/startup.ts) and it restarts on the rest of its disk. `rule`: the start tells catch-up which
   * partitions lost copies (core/catch-up.ts lostCopies); false starts it as if nothing was lost (the old runtime).
   */
  restartAfterLosing(id: NodeId | string, lost: readonly { bucket: string; key: string; stamp: string }[], rule = true): void {
    const node = this.node(id);
    assert(!node.up, `${id} loses files only while it is down`);
    const partitions = new Set<PartitionId>();
    for (const v of lost) {
      const entry = node.store.entries.get(`${v.bucket}\u0000${v.key}\u0000${v.stamp}`) ?? [...node.store.entries.values()].find((e) => e.version.bucket === v.bucket && e.version.key === v.key && e.version.stamp === v.stamp);
      assert(entry?.version.committed === true, `${id} holds ${v.bucket}/${v.key}@${v.stamp} committed`);
      partitions.add(entry.version.partition);
      for (const [k, e] of node.store.entries) if (e === entry) node.store.entries.delete(k);
    }
    node.up = true;
    node.catchUp = new CatchUpState(node.id, node.membership.view, "restart-with-data", rule ? partitions : []);
    node.standIns = this.standInState(node.id);
    node.repair = new RepairState();
    node.foreign = new ForeignHoldings(node.foreign.boot + 1);
  }

  /** A down node gets a new, empty disk and restarts on it: behind everywhere, intact nowhere. */
  replaceDisk(id: NodeId | string): void {
    const node = this.node(id);
    assert(!node.up, `replace the disk of ${id} only while it is down`);
    node.store = new MemoryStore();
    node.up = true;
    node.catchUp = new CatchUpState(node.id, node.membership.view, "empty");
    node.standIns = this.standInState(node.id);
    node.repair = new RepairState();
    node.foreign = new ForeignHoldings(node.foreign.boot + 1);
  }

  /** Every process adopts `map` (a join or decommission). */
  adopt(map: ClusterMap): void {
    this.map = map;
    this.routerMembership.adopt(map);
    for (const entry of map.nodes) if (!this.nodes.has(entry.id)) this.addNode(entry.id, "empty");
    for (const node of this.nodes.values()) {
      node.membership.adopt(map);
      node.catchUp.onRingChange(node.membership.view);
      node.foreign.forget();
    }
  }

  join(name: string): NodeId {
    const id = nodeId(name);
    const next = joinNode(this.map, { id, address: `sim:${name}`, zone: zoneId(`z-${name}`) });
    if (!next.ok) throw new Error(next.error);
    this.adopt(next.value);
    return id;
  }

  decommission(id: NodeId): void {
    const next = decommissionNode(this.map, id);
    if (!next.ok) throw new Error(next.error);
    this.adopt(next.value);
  }

  /** Heartbeats between all live nodes and the router, then retire transitions that are complete. */
  gossip(): void {
    const reports = [...this.nodes.values()].filter((n) => n.up).map((n) => [n.id, heartbeatReport({ membership: n.membership, catchUp: n.catchUp })] as const);
    for (const node of [...this.nodes.values(), null]) {
      const membership = node ? node.membership : this.routerMembership;
      for (const [from, report] of reports) membership.observe(from, report);
      if (membership.retireIfComplete() && node) {
        node.catchUp.onRingChange(node.membership.view);
        node.foreign.forget();
      }
    }
  }
}

/** A stamp for hand-placed versions: physical ms and a writer. */
export function stampFor(physicalMs: number, writer = "w"): ObjectVersion["stamp"] {
  return formatStamp({ physicalMs, logical: 0, writer });
}

export function versionOf(bucket: string, key: string, stamp: ObjectVersion["stamp"], content: string | null): ObjectVersion {
  const body = content === null ? emptyMemBody : bodyOf(content);
  return { bucket, key, stamp, size: body.size, etag: content === null ? "" : "e", checksum: body.checksum, contentType: "x/y", userMeta: {}, deleted: content === null };
}
