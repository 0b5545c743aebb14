// Heartbeats, map gossip and failure detection of one process, storage node or router: the one driver both
// worlds run (runtime/node, runtime/router, sim/core-logic.ts, sim/core-router.ts), over the ports.
// Guarantees:
//   - Every heartbeatIntervalMs a round goes to every peer this process's view still routes to (the active
//     nodes of its map and every node of a ring of its view, so a decommissioned node is watched until its
//     ring is retired), at most one heartbeat in flight per peer.
//   - A peer that answers, or sends a heartbeat, is heard at once (core/failure-detector.ts). isLive: this
//     process itself, or a peer heard at least once since start and within downAfterMs since: a fresh process
//     does not route to, or repair against, a peer it has never reached.
//   - A report that names a newer map (Membership.observe) has it fetched from its sender, one fetch at a
//     time; it is adopted only after it validates (Membership.adopt), and a map that does not is logged.
//   - Ring-change retirement is decided by Membership.retireIfComplete alone; this driver asks it after its own
//     report and after every report it hears. Every change of the ring view, by adoption or retirement, is
//     passed to onViewChange exactly once, and a newly adopted map to onMap (to persist it).
//   - With a bucket table (core/bucket-table.ts): every heartbeat carries its hash; an answer naming another
//     hash starts one exchange with that peer (at most one in flight per peer): read its table, merge it, send
//     back what it lacks. The side that sends heartbeats starts it, so a router (which no node can call) pulls
//     and pushes; two nodes each start one, and either is enough.
//   - Each change of a peer's liveness in this view is logged once (node.down: warn, node.up: info); a peer
//     that never answered is logged once as unreachable.
// Assumes: clock.nowMs is the failure detector's scale (the runtime's awake clock, the simulator's process
// clock); clock.sleep ends with its process (a crashed simulated incarnation never wakes).

import { assert } from "./assert.ts";
import { type BucketEntry, type BucketTable, entriesNewerThan } from "./bucket-table.ts";
import type { ClusterMap } from "./cluster-map.ts";
import { FailureDetector, type FailureDetectorSettings } from "./failure-detector.ts";
import type { NodeId } from "./ids.ts";
import { type AdoptOutcome, type Membership, type PeerReport, type RingView, ringsOf } from "./membership.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import type { Clock, Log, Transport } from "./ports.ts";
import type { Result } from "./result.ts";
import type { StandInLiveness } from "./stand-in.ts";

/** Consecutive failed heartbeats after which a peer that never answered no longer holds up the first round. */
const FIRST_ROUND_FAILURES = 3;

export interface HeartbeatHost<Body> {
  readonly self: NodeId;
  readonly transport: Transport<Body>;
  readonly membership: Membership;
  /** Time for the failure detector and the pause between rounds. */
  readonly clock: Clock;
  readonly settings: FailureDetectorSettings;
  readonly log: Log;
  /** A storage node's report of itself (synced epoch, foreign holdings); a router reports its map only. */
  ownReport?(): PeerReport;
  /** A newer map was adopted: persist it. */
  onMap?(map: ClusterMap): void;
  /** The ring view changed (a map adopted, or a transition retired). */
  onViewChange?(view: RingView): void;
  /** This process's bucket table, gossiped with every peer it beats to. */
  readonly buckets?: BucketGossipHost;
  /** Only the simulator sets these (core/planted-bugs.ts). */
  readonly bugs?: PlantedBugs;
}

export interface BucketGossipHost {
  readonly table: BucketTable;
  /** Entries learned from a peer changed the table (a node persists them); resolves once done. */
  onLearned?(changed: readonly BucketEntry[]): Promise<void> | void;
}

/** Characters of entries sent in one `buckets` request: well under the wire's request bound (1 MiB). */
const BUCKET_BATCH_CHARS_MAX = 256 * 1024;

/** Entries cut into batches of at most BUCKET_BATCH_CHARS_MAX characters of JSON (one entry alone may exceed it). */
export function bucketBatches(entries: readonly BucketEntry[]): BucketEntry[][] {
  const batches: BucketEntry[][] = [];
  let batch: BucketEntry[] = [];
  let chars = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry).length;
    if (batch.length > 0 && chars + size > BUCKET_BATCH_CHARS_MAX) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(entry);
    chars += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export class Heartbeats<Body> {
  private readonly detector: FailureDetector;
  private readonly heardOnce = new Set<NodeId>();
  private readonly inFlight = new Set<NodeId>();
  private readonly settled = new Set<NodeId>();
  private readonly failuresInARow = new Map<NodeId, number>();
  private readonly seenDown = new Set<NodeId>();
  private readonly bucketExchanges = new Set<NodeId>();
  private fetching = false;
  private running = false;
  private viewSeen: RingView;

  constructor(private readonly host: HeartbeatHost<Body>) {
    assert(host.settings.heartbeatIntervalMs > 0, "heartbeatIntervalMs must be positive");
    assert(host.settings.heartbeatIntervalMs < host.settings.downAfterMs, "heartbeats must come more often than a peer is counted down");
    this.detector = new FailureDetector(host.settings, host.clock.nowMs());
    this.viewSeen = host.membership.view;
  }

  /** Beats until stop(): the first round at once, then one every heartbeatIntervalMs. */
  start(): void {
    assert(!this.running, "heartbeats started twice");
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
  }

  isLive(node: NodeId): boolean {
    return node === this.host.self || (this.heardOnce.has(node) && this.detector.isLive(node, this.host.clock.nowMs()));
  }

  /** Since when `node` counts as down in this view, on the scale of `nowMs` (the caller's clock); null while the detector counts it live. */
  downSinceMs(node: NodeId, nowMs: number): number | null {
    if (node === this.host.self) return null;
    const now = this.host.clock.nowMs();
    return this.detector.isLive(node, now) ? null : nowMs - this.detector.downForMs(node, now);
  }

  /**
   * This view's liveness on the caller's clock (the runtime's wall clock, the simulator's process clock): what
   * core/stand-in.ts and the repair context (core/repair.ts) take.
   */
  livenessOn(nowMs: () => number): StandInLiveness {
    return { isLive: (node) => this.isLive(node), downSinceMs: (node) => this.downSinceMs(node, nowMs()), nowMs };
  }

  /** Silence of `node` on the detector's clock. */
  silentMs(node: NodeId): number {
    return this.host.clock.nowMs() - this.detector.lastHeard(node);
  }

  /**
   * True once every active node has answered a heartbeat, or failed FIRST_ROUND_FAILURES in a row: one failed
   * heartbeat (a start-up hiccup under load) does not count a node out, and a dead node delays health by a
   * few seconds only.
   */
  firstRoundDone(): boolean {
    return this.host.membership.map.nodes.every((n) => n.state !== "active" || n.id === this.host.self || this.settled.has(n.id));
  }

  /** A peer's heartbeat arrived (the storage node's handler, a router's): it is heard, its report observed. */
  onHeartbeat(from: NodeId, report: PeerReport): void {
    this.heard(from);
    this.observe(from, report);
  }

  /** The operator's map (install-map, or the simulator's operator): adopted if newer and valid. */
  adopt(map: ClusterMap): Result<AdoptOutcome, string> {
    const adopted = this.host.membership.adopt(map);
    if (adopted.ok && adopted.value !== "ignored-not-newer") {
      this.host.onMap?.(map);
      this.noticeViewChange();
    }
    return adopted;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.beat();
      await this.host.clock.sleep(this.host.settings.heartbeatIntervalMs);
    }
  }

  /** Peers this view routes to: active nodes of the map, and every node of a ring still in the view. */
  private peers(): NodeId[] {
    const { membership, self } = this.host;
    const peers = new Set<NodeId>();
    for (const node of membership.map.nodes) if (node.state === "active") peers.add(node.id);
    if (membership.inTransition) for (const ring of ringsOf(membership.view)) for (const node of ring.nodes) peers.add(node.id);
    peers.delete(self);
    return [...peers];
  }

  private beat(): void {
    const { membership, transport, self } = this.host;
    const own = this.host.ownReport?.();
    if (own !== undefined) membership.observe(self, own);
    this.retireIfComplete();
    const buckets = this.host.buckets;
    const report: PeerReport = { ...(own ?? { epoch: membership.epoch, mapHash: membership.hash }), ...(buckets ? { bucketsHash: buckets.table.hash } : {}) };
    for (const peer of this.peers()) {
      this.noteLiveness(peer);
      if (this.inFlight.has(peer)) continue;
      this.inFlight.add(peer);
      void transport
        .send(peer, { kind: "heartbeat", from: self, ...report })
        .then((answer) => {
          if (!answer.ok) {
            // A peer that has never answered: while the cluster starts, its peers come up seconds apart, so the
            // first failures are routine (debug); once it has failed for as long as a live peer may stay silent,
            // it is worth an operator's look, once (after that, node.down says the rest).
            const failures = this.failedOnce(peer);
            if (!this.heardOnce.has(peer)) {
              const failure = `${answer.error.kind}: ${answer.error.detail}`;
              if (failures === 1) this.host.log.debug("node.not-yet-reachable", { node: peer, failure });
              if (failures === this.unreachableAfterFailures()) this.host.log.warn("node.unreachable", { node: peer, failure, failures });
            }
            return;
          }
          this.failuresInARow.set(peer, 0);
          this.settled.add(peer);
          this.heard(peer);
          this.noteLiveness(peer);
          this.observe(peer, answer.value);
          if (buckets && answer.value.bucketsHash !== undefined && answer.value.bucketsHash !== buckets.table.hash) void this.exchangeBuckets(peer, buckets);
        })
        .catch((error: unknown) => {
          this.host.log.error("heartbeat.failed", { node: peer, cause: error instanceof Error ? error.message : String(error) });
          this.failedOnce(peer);
        })
        .finally(() => {
          this.inFlight.delete(peer);
        });
    }
  }

  private heard(node: NodeId): void {
    this.detector.heard(node, this.host.clock.nowMs());
    this.heardOnce.add(node);
  }

  private observe(from: NodeId, report: PeerReport): void {
    const effect = this.host.membership.observe(from, report);
    if (effect !== null) void this.fetchMap(effect.from);
    this.retireIfComplete();
  }

  private retireIfComplete(): void {
    if (this.host.bugs?.driverForgetsRetire) return;
    if (this.host.membership.retireIfComplete()) this.noticeViewChange();
  }

  /** One fetch at a time per process: a request while one is in flight is dropped (the next report asks again). */
  private async fetchMap(from: NodeId): Promise<void> {
    if (this.fetching) return;
    this.fetching = true;
    try {
      const got = await this.host.transport.send(from, { kind: "get-map" });
      if (!got.ok) return;
      const adopted = this.adopt(got.value.map);
      if (!adopted.ok) this.host.log.error("membership.bad-map", { from, cause: adopted.error });
    } finally {
      this.fetching = false;
    }
  }

  /** Read a peer's bucket table, merge it, and send it what it lacks. One exchange per peer at a time. */
  private async exchangeBuckets(peer: NodeId, buckets: BucketGossipHost): Promise<void> {
    if (this.bucketExchanges.has(peer)) return;
    this.bucketExchanges.add(peer);
    try {
      const theirs = await this.host.transport.send(peer, { kind: "buckets", entries: [] });
      if (!theirs.ok) {
        this.host.log.debug("buckets.exchange-failed", { node: peer, failure: `${theirs.error.kind}: ${theirs.error.detail}` });
        return;
      }
      const changed = buckets.table.merge(theirs.value.entries);
      if (changed.length > 0) await buckets.onLearned?.(changed);
      for (const batch of bucketBatches(entriesNewerThan(buckets.table.entries(), theirs.value.entries))) {
        const sent = await this.host.transport.send(peer, { kind: "buckets", entries: batch });
        if (!sent.ok) {
          this.host.log.debug("buckets.exchange-failed", { node: peer, failure: `${sent.error.kind}: ${sent.error.detail}` });
          return;
        }
      }
    } catch (error: unknown) {
      this.host.log.error("buckets.exchange-failed", { node: peer, cause: error instanceof Error ? error.message : String(error) });
    } finally {
      this.bucketExchanges.delete(peer);
    }
  }

  private noticeViewChange(): void {
    const view = this.host.membership.view;
    if (view === this.viewSeen) return;
    this.viewSeen = view;
    this.host.onViewChange?.(view);
  }

  /** One more failed heartbeat in a row; returns how many. */
  /** Failed heartbeats in a row after which a peer never heard from is reported: those that span downAfterMs. */
  private unreachableAfterFailures(): number {
    return Math.ceil(this.host.settings.downAfterMs / this.host.settings.heartbeatIntervalMs);
  }

  private failedOnce(node: NodeId): number {
    const failures = (this.failuresInARow.get(node) ?? 0) + 1;
    this.failuresInARow.set(node, failures);
    if (failures >= FIRST_ROUND_FAILURES) this.settled.add(node);
    return failures;
  }

  private noteLiveness(node: NodeId): void {
    const live = this.isLive(node);
    if (!live && this.heardOnce.has(node) && !this.seenDown.has(node)) {
      this.seenDown.add(node);
      this.host.log.warn("node.down", { node, silentMs: Math.round(this.silentMs(node)) });
    } else if (live && this.seenDown.delete(node)) {
      this.host.log.info("node.up", { node });
    }
  }
}
