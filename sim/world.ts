// The simulated world: processes, their disks and clocks, the network, the operator's cluster map, and the
// fault actions scenarios call. Guarantees: every fault is traced and counted and marked for the chart; a
// crash silences the incarnation (sim/process.ts) and applies-or-loses in-flight disk writes (sim/disk.ts);
// healEverything() returns the world to a fault-free state (all links open, crashed nodes restarted, disks
// normal, no loss) so repair can quiesce; the replica census reads disks directly, outside simulated time.
// Assumes: node ids n1.., router ids r1..; the operator's map (adminMap) is the truth for the final ring.

import { assert } from "../core/assert.ts";
import { type ClusterMap, activeNodes, createClusterMap, decommissionNode, joinNode } from "../core/cluster-map.ts";
import { type NodeId, nodeId, zoneId } from "../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../core/object-version.ts";
import type { Log, LogFields, StoredVersion } from "../core/ports.ts";
import { partitionOf, primariesOf } from "../core/placement.ts";
import { type Ring, buildRing } from "../core/ring.ts";
import type { SimBody } from "./body.ts";
import { type DiskObserver, type DiskSettings, SimDisk } from "./disk.ts";
import type { EventLoop } from "./event-loop.ts";
import type { Logic, LogicContext, NodeInstance, QuorumSettings, RouterInstance } from "./logic.ts";
import { type NetworkSettings, SimNetwork } from "./network.ts";
import type { PlantedBugs } from "../core/planted-bugs.ts";
import { SimProcess } from "./process.ts";
import type { SimRng } from "./rng.ts";
import type { TimingSettings } from "./timing.ts";
import type { Trace } from "./trace.ts";
import { BUCKET } from "./workload.ts";

export interface ClusterSettings {
  readonly nodes: number;
  readonly zones: number;
  readonly routers: number;
  readonly partitionBits: number;
  readonly quorum: QuorumSettings;
}

export interface FaultMark {
  readonly atMs: number;
  readonly label: string;
}

interface Member {
  readonly process: SimProcess;
  readonly disk: SimDisk | undefined;
  node: NodeInstance | undefined;
  router: RouterInstance | undefined;
  /** Decommissioned and stopped for good: its disk no longer counts. */
  retired: boolean;
}

/**
 * Live copies per key and stamp, kept up to date by the disks, for the minimum-replica chart; and which
 * committed copies the logic itself ever dropped (the oracle's "destroyed by faults" must not cover those).
 */
class ReplicaCensus implements DiskObserver {
  readonly copies = new Map<string, Map<string, Set<NodeId>>>();
  private readonly droppedByLogic = new Set<string>();
  /** Told of every body a disk stores durably (the oracle's completion order). */
  onBodyStored: ((contentHash: string) => void) | undefined;

  bodyStored(_node: NodeId, contentHash: string): void {
    this.onBodyStored?.(contentHash);
  }

  everDroppedByLogic(key: string, stamp: VersionStamp): boolean {
    return this.droppedByLogic.has(`${key}\u0000${stamp}`);
  }

  committed(node: NodeId, version: ObjectVersion): void {
    if (version.deleted) return;
    let stamps = this.copies.get(version.key);
    if (stamps === undefined) {
      stamps = new Map();
      this.copies.set(version.key, stamps);
    }
    let holders = stamps.get(version.stamp);
    if (holders === undefined) {
      holders = new Set();
      stamps.set(version.stamp, holders);
    }
    holders.add(node);
  }

  /** Told of every committed copy a node's logic drops (the oracle's check of out-of-place drops). */
  onLogicDrop: ((node: NodeId, version: ObjectVersion) => void) | undefined;

  removed(node: NodeId, version: ObjectVersion, cause: "logic" | "wipe"): void {
    if (cause === "logic") {
      this.droppedByLogic.add(`${version.key}\u0000${version.stamp}`);
      this.onLogicDrop?.(node, version);
    }
    const stamps = this.copies.get(version.key);
    const holders = stamps?.get(version.stamp);
    if (!holders) return;
    holders.delete(node);
    if (holders.size === 0) stamps!.delete(version.stamp);
  }
}

export class World {
  readonly members = new Map<NodeId, Member>();
  readonly network: SimNetwork;
  readonly census = new ReplicaCensus();
  /** Nodes whose disk was ever replaced or lost blob files in this run. */
  private readonly damagedDisks = new Set<NodeId>();
  /** Tombstones whose collection began with every primary holding them (sim: logicDropProblem). */
  private readonly tombstonesCollected = new Set<string>();
  readonly faultMarks: FaultMark[] = [];
  faultsInjected = 0;
  lastFaultMs = 0;
  adminMap: ClusterMap;
  private readonly storedMaps = new Map<NodeId, ClusterMap>();
  private nextNodeNumber: number;
  private readonly ringCache = new Map<number, Ring>();

  constructor(
    readonly loop: EventLoop,
    private readonly rng: SimRng,
    readonly trace: Trace,
    private readonly logic: Logic,
    readonly cluster: ClusterSettings,
    networkSettings: NetworkSettings,
    private readonly diskSettings: DiskSettings,
    private readonly bugs: PlantedBugs,
    private readonly timing: TimingSettings,
  ) {
    assert(cluster.nodes >= 1 && cluster.routers >= 1, "a world needs nodes and routers");
    this.network = new SimNetwork(loop, rng.fork("network"), trace, networkSettings);
    const nodes = Array.from({ length: cluster.nodes }, (_, i) => ({
      id: nodeId(`n${i + 1}`),
      address: `sim://n${i + 1}`,
      zone: zoneId(`z${(i % cluster.zones) + 1}`),
    }));
    this.adminMap = createClusterMap({ partitionBits: cluster.partitionBits, replicas: cluster.quorum.replicas, nodes });
    this.nextNodeNumber = cluster.nodes + 1;
    for (const n of nodes) this.addMember(n.id, "node");
    for (let i = 1; i <= cluster.routers; i++) this.addMember(nodeId(`r${i}`), "router");
  }

  ring(map: ClusterMap = this.adminMap): Ring {
    let ring = this.ringCache.get(map.epoch);
    if (ring === undefined) {
      // With the planted bug ringOnePrimaryFewer the oracle's ring is wrong too, as any bug in shared code would
      // leave it: only the count against the settings (replicationProblems) can tell.
      ring = buildRing(map, this.bugs);
      this.ringCache.set(map.epoch, ring);
    }
    return ring;
  }

  private addMember(id: NodeId, role: "node" | "router"): Member {
    const process = new SimProcess(id, role, this.loop);
    this.network.attach(process);
    const disk = role === "node" ? new SimDisk(id, process, this.loop, this.rng.fork(`disk/${id}`), this.trace, this.diskSettings, this.census) : undefined;
    const member: Member = { process, disk, node: undefined, router: undefined, retired: false };
    this.members.set(id, member);
    this.storedMaps.set(id, this.adminMap);
    return member;
  }

  private member(id: NodeId): Member {
    const m = this.members.get(id);
    assert(m !== undefined, () => `no process ${id}`);
    return m;
  }

  nodeIds(): NodeId[] {
    return [...this.members.entries()].filter(([, m]) => m.disk !== undefined && !m.retired).map(([id]) => id);
  }

  routerIds(): NodeId[] {
    return [...this.members.entries()].filter(([, m]) => m.disk === undefined).map(([id]) => id);
  }

  /** The incarnation of a process while it is up; undefined while it is down. */
  incarnationOf(id: NodeId): number | undefined {
    const process = this.members.get(id)?.process;
    return process?.up ? process.incarnation : undefined;
  }

  upNodeIds(): NodeId[] {
    return this.nodeIds().filter((id) => this.member(id).process.up);
  }

  liveRouters(): RouterInstance[] {
    const out: RouterInstance[] = [];
    for (const m of this.members.values()) if (m.router !== undefined && m.process.up) out.push(m.router);
    return out;
  }

  private log(id: NodeId): Log {
    const trace = this.trace;
    const line = (level: string, event: string, fields?: LogFields): void => trace.add(`log ${level} ${id} ${event}${fields ? ` ${safeJson(fields)}` : ""}`);
    return {
      debug: () => {},
      info: () => {},
      warn: (event, fields) => line("warn", event, fields),
      error: (event, fields) => line("error", event, fields),
    };
  }

  start(id: NodeId): void {
    const m = this.member(id);
    assert(!m.process.up, () => `${id} is already up`);
    assert(!m.retired, () => `${id} is retired`);
    m.process.start();
    const ctx: LogicContext = {
      process: m.process,
      transport: this.network.transportFor(m.process),
      rng: this.rng.fork(`logic/${id}/${m.process.incarnation}`),
      log: this.log(id),
      quorum: this.cluster.quorum,
      timing: this.timing,
      bugs: this.bugs,
      peers: () => [...this.members.entries()].filter(([, x]) => !x.retired).map(([pid]) => pid),
      storedMap: () => this.storedMaps.get(id)!,
      storeMap: (map) => {
        const current = this.storedMaps.get(id)!;
        if (map.epoch > current.epoch) this.storedMaps.set(id, map);
      },
    };
    if (m.disk !== undefined) {
      m.node = this.logic.startNode({ ...ctx, disk: m.disk });
      this.network.serve(id, m.node.handle);
    } else {
      const router = this.logic.startRouter(ctx);
      if (router.handle !== undefined) this.network.serve(id, router.handle);
      m.router = clientSide(router, m.process, () => this.onRouterRequest(id));
    }
    this.trace.add(`proc start ${id} inc=${m.process.incarnation}`);
  }

  startAll(): void {
    for (const id of this.members.keys()) this.start(id);
  }

  private fault(label: string): void {
    this.faultsInjected += 1;
    this.lastFaultMs = this.loop.nowMs;
    this.faultMarks.push({ atMs: this.loop.nowMs, label });
    this.trace.add(`fault ${label}`);
  }

  // ---- faults ----

  crash(id: NodeId): void {
    const m = this.member(id);
    if (!m.process.up) return;
    m.process.crash();
    m.disk?.crash();
    m.node = undefined;
    m.router = undefined;
    this.fault(`crash ${id}`);
  }

  /** The node crashes and its disk is replaced by an empty one (a lost disk); it restarts when told to. */
  wipeDisk(id: NodeId): void {
    this.damagedDisks.add(id);
    const lost = this.crashedDiskOf(id).wipe();
    this.fault(`wipe-disk ${id} (${lost} records lost)`);
    this.onDiskWiped?.();
  }

  /**
   * Partial disk loss: `id` crashes if up, and the bytes of the committed versions `which` picks are gone from its
   * disk (blob files lost); its next start drops their records and knows which partitions lost copies.
   */
  loseBlobs(id: NodeId, which: (version: StoredVersion) => boolean): number {
    this.damagedDisks.add(id);
    const disk = this.crashedDiskOf(id);
    const lost = disk.loseBytesOf(which);
    this.fault(`lose-blobs ${id} (${lost} versions lost, partitions ${[...disk.lostPartitions].join(",")})`);
    return lost;
  }

  /** The disk of node `id`, which crashes first if it is up (a disk is damaged only while its node is down). */
  private crashedDiskOf(id: NodeId): SimDisk {
    const m = this.member(id);
    assert(m.disk !== undefined, () => `${id} has no disk`);
    if (m.process.up) {
      m.process.crash();
      m.disk.crash();
      m.node = undefined;
    }
    return m.disk;
  }

  restart(id: NodeId): void {
    const m = this.member(id);
    if (m.process.up || m.retired) return;
    this.fault(`restart ${id}`);
    this.start(id);
  }

  /** Symmetric partition: no message between the two sides. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) for (const b of sideB) {
      this.network.block(a, b);
      this.network.block(b, a);
    }
    this.fault(`partition [${sideA.join(",")}] | [${sideB.join(",")}]`);
  }

  /** One-way partition: messages from `from` to `to` are lost; the other direction works. */
  oneWay(from: readonly NodeId[], to: readonly NodeId[]): void {
    for (const a of from) for (const b of to) this.network.block(a, b);
    this.fault(`one-way [${from.join(",")}] -> [${to.join(",")}]`);
  }

  heal(): void {
    if (this.network.blockedLinks === 0) return;
    this.network.healAll();
    this.fault("heal network");
  }

  setLoss(probability: number): void {
    this.network.settings = { ...this.network.settings, lossProbability: probability };
    this.fault(`loss ${probability}`);
  }

  setSkew(id: NodeId, skewMs: number, driftMsPerSecond = 0): void {
    const m = this.member(id);
    m.process.skewMs = skewMs;
    m.process.driftMsPerSecond = driftMsPerSecond;
    this.fault(`skew ${id} ${skewMs}ms drift ${driftMsPerSecond}ms/s`);
  }

  slowDisk(id: NodeId, factor: number): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    disk.slowFactor = factor;
    this.fault(`slow-disk ${id} x${factor}`);
  }

  fillDisk(id: NodeId): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    disk.capacityBytes = disk.usedBytes;
    this.fault(`full-disk ${id}`);
  }

  /** The full disk gets its room back (the operator freed space): writes succeed again. */
  freeDisk(id: NodeId): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    disk.capacityBytes = this.diskSettings.capacityBytes;
    this.fault(`free-disk ${id}`);
  }

  flipBits(id: NodeId, count: number): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    const hit: string[] = [];
    for (let i = 0; i < count; i++) {
      const what = disk.flipRandomBody();
      if (what !== null) hit.push(what);
    }
    this.fault(`bit-flip ${id} ${hit.length} bodies${hit.length > 0 ? ` (${hit.slice(0, 3).join(" ")}${hit.length > 3 ? " ..." : ""})` : ""}`);
  }

  /** Routers armed to crash `afterMs` after their next request begins (crashMidRequest). */
  private readonly crashArmed = new Map<NodeId, { afterMs: number; downMs: number }>();

  /**
   * The router crashes `afterMs` after its next client request begins (so that one is mid-flight: its body
   * on some replicas, pending or committed, or not yet), and restarts `downMs` later.
   */
  crashMidRequest(router: NodeId, afterMs: number, downMs: number): void {
    this.crashArmed.set(router, { afterMs, downMs });
  }

  private onRouterRequest(router: NodeId): void {
    const armed = this.crashArmed.get(router);
    if (armed === undefined) return;
    this.crashArmed.delete(router);
    this.loop.after(armed.afterMs, () => {
      this.crash(router);
      this.loop.after(armed.downMs, () => this.restart(router));
    });
  }

  /** SIGSTOP for `ms` of virtual time: the process runs nothing until then, its peers see it go silent. */
  pause(id: NodeId, ms: number): void {
    const m = this.member(id);
    if (!m.process.up) return;
    m.process.pause(this.loop.nowMs + ms);
    this.fault(`pause ${id} ${Math.round(ms)}ms`);
  }

  /** The node's disk stops completing operations (they wait, none fails) until unhangDisk. */
  hangDisk(id: NodeId): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    disk.hang();
    this.fault(`hang-disk ${id}`);
  }

  unhangDisk(id: NodeId): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    if (!disk.hung) return;
    disk.unhang();
    this.fault(`unhang-disk ${id}`);
  }

  /** A share of the node's disk operations fail with an I/O error (0 ends it). */
  ioErrors(id: NodeId, probability: number): void {
    const disk = this.member(id).disk;
    assert(disk !== undefined, () => `${id} has no disk`);
    disk.ioErrorProbability = probability;
    this.fault(`io-errors ${id} ${probability}`);
  }

  /** Get replies' bodies are damaged on the way back with this probability (0 ends it). */
  corruptReplies(probability: number): void {
    this.network.settings = { ...this.network.settings, replyCorruptProbability: probability };
    this.fault(`corrupt-replies ${probability}`);
  }

  /** Operator: a new node joins (epoch + 1); it starts empty and the map is handed to it and one live node. */
  join(): NodeId {
    const id = nodeId(`n${this.nextNodeNumber++}`);
    const zone = zoneId(`z${((this.nextNodeNumber - 2) % this.cluster.zones) + 1}`);
    const next = joinNode(this.adminMap, { id, address: `sim://${id}`, zone });
    assert(next.ok, next.ok ? "" : next.error);
    this.adminMap = next.value;
    this.addMember(id, "node");
    this.storedMaps.set(id, this.adminMap);
    this.fault(`join ${id} epoch ${this.adminMap.epoch}`);
    this.start(id);
    this.handOutMap(id);
    return id;
  }

  /** Operator: a node leaves (epoch + 1); it keeps running until its data has moved, then it is retired. */
  decommission(id: NodeId): void {
    const next = decommissionNode(this.adminMap, id);
    assert(next.ok, next.ok ? "" : next.error);
    this.adminMap = next.value;
    this.fault(`decommission ${id} epoch ${this.adminMap.epoch}`);
    this.handOutMap(id);
    this.retireWhenEmpty(id);
  }

  /**
   * Operator: a dead node is removed for good (`ringstore cluster remove`): the same epoch step as a
   * decommission, but its machine is gone: it never runs again and its disk no longer counts.
   */
  remove(id: NodeId): void {
    const m = this.member(id);
    assert(!m.process.up, () => `${id} is up: a live node is decommissioned, not removed`);
    const next = decommissionNode(this.adminMap, id);
    assert(next.ok, next.ok ? "" : next.error);
    this.adminMap = next.value;
    this.fault(`remove ${id} epoch ${this.adminMap.epoch}`);
    m.node = undefined;
    m.retired = true;
    this.handOutMap(id);
  }

  /**
   * Routers the operator hands a new map to: every one (false), or only the first, the others learning it by
   * gossip, so that routers hold different maps while a change spreads.
   */
  mapToOneRouter = false;

  /** The operator's map goes to the changed node and to one live node and the routers; gossip does the rest. */
  private handOutMap(changed: NodeId): void {
    const routers = this.mapToOneRouter ? this.routerIds().slice(0, 1) : this.routerIds();
    const receivers = [changed, ...this.upNodeIds().filter((n) => n !== changed).slice(0, 1), ...routers];
    for (const id of receivers) {
      const m = this.member(id);
      this.storedMaps.set(id, this.adminMap);
      if (!m.process.up) continue;
      m.node?.installMap(this.adminMap);
      m.router?.installMap(this.adminMap);
    }
  }

  /** The live processes that still hold a ring change open: once faults end and repair is done, none may. */
  openTransitions(): string[] {
    const open: string[] = [];
    for (const [id, m] of this.members) {
      if (m.retired || !m.process.up) continue;
      if ((m.node?.inTransition?.() ?? false) || (m.router?.inTransition?.() ?? false)) open.push(id);
    }
    return open;
  }

  private retireWhenEmpty(id: NodeId): void {
    const m = this.member(id);
    const check = (): void => {
      if (m.retired) return;
      const empty = m.disk !== undefined && [...m.disk.records()].length === 0;
      // An operator stops a decommissioned node only once no process still routes by a ring that places
      // data on it (DESIGN.md: the old ring is retired first); stopping it earlier strands reads and writes
      // that still need its ring's quorum (decommission seed 1563 of the 2,000-seed soak).
      const stillRouted = [...this.members.entries()].some(([other, x]) => other !== id && !x.retired && x.process.up && ((x.node?.routesTo?.(id) ?? false) || (x.router?.routesTo?.(id) ?? false)));
      if (empty && m.process.up && !stillRouted) {
        m.process.crash();
        m.node = undefined;
        m.retired = true;
        this.trace.add(`proc retired ${id}`);
        return;
      }
      this.loop.after(1_000, check);
    };
    this.loop.after(1_000, check);
  }

  /** End of faults: open every link, stop loss, restart crashed nodes, disks back to normal. */
  healEverything(): void {
    const diskFaulty = (d: SimDisk): boolean => d.slowFactor !== 1 || d.capacityBytes !== this.diskSettings.capacityBytes || d.hung || d.ioErrorProbability > 0;
    const anythingToHeal =
      this.network.blockedLinks > 0 ||
      this.network.settings.lossProbability > 0 ||
      this.network.settings.replyCorruptProbability > 0 ||
      [...this.members.values()].some((m) => (!m.process.up && !m.retired) || m.process.paused || (m.disk !== undefined && diskFaulty(m.disk)));
    if (anythingToHeal) this.lastFaultMs = this.loop.nowMs;
    this.network.healAll();
    this.network.settings = { ...this.network.settings, lossProbability: 0, bodyCorruptProbability: 0, replyCorruptProbability: 0 };
    for (const [id, m] of this.members) {
      if (m.disk !== undefined) {
        m.disk.slowFactor = 1;
        m.disk.capacityBytes = this.diskSettings.capacityBytes;
        m.disk.ioErrorProbability = 0;
        m.disk.unhang();
      }
      if (!m.process.up && !m.retired) this.start(id);
    }
    this.trace.add("heal everything");
  }

  // ---- census (outside simulated time) ----

  /** Called after every disk wipe (the oracle takes note of writes whose every copy is gone). */
  onDiskWiped: (() => void) | undefined;

  /** Stamps of every copy, committed or pending, by key, in one pass over the disks. */
  stampIndex(): Map<string, VersionStamp[]> {
    const index = new Map<string, VersionStamp[]>();
    for (const m of this.members.values()) {
      if (m.disk === undefined || m.retired) continue;
      for (const r of m.disk.records()) {
        const list = index.get(r.version.key);
        if (list === undefined) index.set(r.version.key, [r.version.stamp]);
        else list.push(r.version.stamp);
      }
    }
    return index;
  }

  /** Index of committed copies by key, in one pass over the disks. */
  copyIndex(): Map<string, { version: ObjectVersion; body: SimBody; node: NodeId }[]> {
    const index = new Map<string, { version: ObjectVersion; body: SimBody; node: NodeId }[]>();
    for (const [id, m] of this.members) {
      if (m.disk === undefined || m.retired) continue;
      for (const r of m.disk.records()) {
        if (!r.version.committed) continue;
        let list = index.get(r.version.key);
        if (list === undefined) {
          list = [];
          index.set(r.version.key, list);
        }
        list.push({ version: r.version, body: r.body, node: id });
      }
    }
    return index;
  }

  /**
   * A committed copy a node's logic dropped that nothing else stood for: a live version on a node that is no
   * primary of its key (a handoff's or an out-of-place copy), or a tombstone anywhere (collection). Unless a newer
   * version of the key exists somewhere, every primary must hold this version (or a newer one) committed at that
   * moment: core/repair.ts drops such a copy only once every primary confirmed it, and collects a tombstone only
   * once every primary holds it (the first drop of a tombstone is checked, the others follow it). Not checked
   * while a ring change is open (two rings decide), when a primary is down or ever lost its disk (the copy
   * may then be gone from it since it confirmed), or on a node the map no longer lists as active.
   */
  logicDropProblem(node: NodeId, version: ObjectVersion): string | undefined {
    const ring = this.ring();
    const primaries = primariesOf(ring, partitionOf(ring, version.bucket, version.key));
    if (!version.deleted && primaries.includes(node)) return undefined;
    // A node the map no longer lists as active (decommissioned, removed) writes its copies off by design.
    if (!activeNodes(this.adminMap).some((n) => n.id === node)) return undefined;
    const id = `${version.bucket}\u0000${version.key}\u0000${version.stamp}`;
    if (version.deleted && this.tombstonesCollected.has(id)) return undefined;
    if (this.openTransitions().length > 0) return undefined;
    if (primaries.some((p) => this.damagedDisks.has(p) || !this.member(p).process.up)) return undefined;
    const copies: { node: NodeId; stamp: string }[] = [];
    for (const [member, m] of this.members) if (m.disk !== undefined) for (const r of m.disk.committedRecords(version.bucket, version.key)) copies.push({ node: member, stamp: r.version.stamp });
    if (copies.some((c) => c.stamp > version.stamp)) return undefined; // superseded: nothing depends on this copy
    const missing = primaries.filter((p) => p !== node && !copies.some((c) => c.node === p && c.stamp >= version.stamp));
    if (missing.length === 0) {
      if (version.deleted) this.tombstonesCollected.add(id);
      return undefined;
    }
    const what = version.deleted ? "collected the tombstone" : "dropped its out-of-place copy";
    return `${node} ${what} ${version.bucket}/${version.key}@${version.stamp} while primaries ${missing.join(",")} (of ${primaries.join(",")}) did not hold it`;
  }

  /**
   * Replication problems in the final ring: a live object's newest version missing (or corrupt) on a primary,
   * or any copy of a key on a node that is not one of its primaries. Empty means fully replicated.
   */
  replicationProblems(keys: Iterable<string>, problemsMax = 10): string[] {
    const ring = this.ring();
    const disks = [...this.members].filter(([, m]) => m.disk !== undefined && !m.retired).map(([id, m]) => [id, m.disk!] as const);
    const replicasWanted = Math.min(this.cluster.quorum.replicas, activeNodes(this.adminMap).length);
    const problems: string[] = [];
    for (const key of keys) {
      if (problems.length >= problemsMax) break;
      // Key by key, straight from each disk's index: the check stops at its first problems without a census.
      const copies: { version: ObjectVersion; body: SimBody; node: NodeId }[] = [];
      for (const [node, disk] of disks) for (const r of disk.committedRecords(BUCKET, key)) copies.push({ version: r.version, body: r.body, node });
      if (copies.length === 0) continue;
      const primaries = primariesOf(ring, partitionOf(ring, BUCKET, key));
      // Counted against the settings, not the ring: a ring that places fewer copies than N is a problem even
      // when every copy it asks for is there.
      if (new Set(primaries).size !== replicasWanted) problems.push(`${key}: the ring names ${primaries.length} distinct primaries (${primaries.join(",")}), the settings ask for ${replicasWanted}`);
      let newest = copies[0]!.version;
      for (const c of copies) if (c.version.stamp > newest.stamp) newest = c.version;
      for (const c of copies) {
        if (!primaries.includes(c.node)) problems.push(`${key}@${c.version.stamp} left on ${c.node}, not a primary (${primaries.join(",")})`);
      }
      if (newest.deleted) continue;
      for (const p of primaries) {
        const good = copies.some((c) => c.node === p && c.version.stamp === newest.stamp && c.body.contentHash === c.version.checksum);
        if (!good) problems.push(`${key}@${newest.stamp} has no good copy on primary ${p}`);
      }
    }
    return problems;
  }

  /**
   * Minimum number of copies on up nodes of the newest acknowledged (or newer) version, over live keys.
   * Sampled every few simulated seconds over every key, so written with forEach: no iterator or entry
   * array per key and stamp.
   */
  minLiveReplicas(forEachAcked: (visit: (key: string, acked: { stamp: string; kind: string }) => void) => void): number {
    const up = new Set<NodeId>();
    for (const [id, m] of this.members) if (m.process.up && !m.retired) up.add(id);
    const copies = this.census.copies;
    let min = Infinity;
    forEachAcked((key, acked) => {
      if (min === 0 || acked.kind !== "put") return; // min can go no lower than 0
      let best = 0;
      copies.get(key)?.forEach((holders, stamp) => {
        if (stamp < acked.stamp || holders.size <= best) return;
        let live = 0;
        holders.forEach((h) => {
          if (up.has(h)) live += 1;
        });
        if (live > best) best = live;
      });
      if (best < min) min = best;
    });
    return min === Infinity ? 0 : min;
  }

  activeNodeCount(): number {
    return activeNodes(this.adminMap).length;
  }
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return "{unserializable}";
  }
}

/**
 * A router as its clients see it: if the router crashes while a request is in flight, the client's connection
 * is reset and the request fails ("router crashed"), whatever the crashed incarnation had done with it by then
 * (a crashed incarnation's promises never settle, sim/process.ts). Methods that answer at once pass through.
 */
function clientSide(router: RouterInstance, process: SimProcess, onRequest: () => void): RouterInstance {
  return new Proxy(router, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const answer = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(answer instanceof Promise)) return answer;
        onRequest();
        return new Promise((resolve, reject) => {
          const forget = process.onCrash(() => resolve({ ok: false, reason: "router crashed" }));
          answer.then(
            (value) => {
              forget();
              resolve(value);
            },
            (error: unknown) => {
              forget();
              reject(error);
            },
          );
        });
      };
    },
  });
}
