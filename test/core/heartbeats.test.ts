// The heartbeat driver (core/heartbeats.ts) over a hand-driven clock and a scripted transport: liveness,
// map gossip and ring-change retirement, as both the runtime and the simulator run them.
import { describe, expect, it } from "vitest";
import type { ClusterMap } from "../../core/cluster-map.ts";
import { Heartbeats } from "../../core/heartbeats.ts";
import { type Epoch, type NodeId, nodeId } from "../../core/ids.ts";
import { Membership, type PeerReport, type RingView } from "../../core/membership.ts";
import type { Clock, Log, Transport, TransportFailure } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { mapOf, mustJoin, newNodes } from "./support/maps.ts";

const SETTINGS = { heartbeatIntervalMs: 100, downAfterMs: 300 };
const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** A clock whose time moves only when the test says; sleeps end when their time is reached. */
class ManualClock implements Clock {
  private now = 0;
  private sleepers: { untilMs: number; wake: () => void }[] = [];
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ untilMs: this.now + ms, wake }));
  }
  async advance(ms: number): Promise<void> {
    this.now += ms;
    const due = this.sleepers.filter((s) => s.untilMs <= this.now);
    this.sleepers = this.sleepers.filter((s) => s.untilMs > this.now);
    for (const s of due) s.wake();
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

interface Peer {
  up: boolean;
  report: PeerReport;
  map: ClusterMap;
}

function scriptedTransport(peers: Map<NodeId, Peer>, sent: string[]): Transport<never> {
  return {
    async send(to, request): Promise<Result<never, TransportFailure>> {
      sent.push(`${request.kind} ${to}`);
      const peer = peers.get(to);
      if (!peer?.up) return err({ kind: "unreachable", detail: `${to} is down` });
      if (request.kind === "heartbeat") return ok(peer.report as never);
      if (request.kind === "get-map") return ok({ map: peer.map } as never);
      return err({ kind: "remote", detail: "not scripted" });
    },
  } as Transport<never>;
}

function setUp(map: ClusterMap, log: Log = silentLog) {
  const self = map.nodes[0]!.id;
  const membership = new Membership(map);
  const clock = new ManualClock();
  const sent: string[] = [];
  const peers = new Map<NodeId, Peer>(map.nodes.slice(1).map((n) => [n.id, { up: true, report: { epoch: membership.epoch, mapHash: membership.hash }, map }]));
  const views: RingView[] = [];
  const maps: ClusterMap[] = [];
  let synced: Epoch | undefined;
  const heartbeats = new Heartbeats<never>({
    self,
    transport: scriptedTransport(peers, sent),
    membership,
    clock,
    settings: SETTINGS,
    log,
    ownReport: () => ({ epoch: membership.epoch, mapHash: membership.hash, ...(synced !== undefined ? { syncedEpoch: synced } : {}) }),
    onMap: (m) => maps.push(m),
    onViewChange: (v) => views.push(v),
  });
  return { self, membership, clock, sent, peers, views, maps, heartbeats, setSynced: (e: Epoch) => (synced = e) };
}

describe("heartbeat driver", () => {
  it("a peer is live only once it has answered, and down after downAfterMs of silence", async () => {
    const t = setUp(mapOf(newNodes(3), 4, 3));
    const [a, b] = [...t.peers.keys()] as [NodeId, NodeId];
    t.peers.get(b)!.up = false;
    expect(t.heartbeats.isLive(a)).toBe(false); // never reached yet: not live, whatever the detector's start says
    expect(t.heartbeats.isLive(t.self)).toBe(true);
    t.heartbeats.start();
    await settle();
    expect(t.heartbeats.isLive(a)).toBe(true);
    expect(t.heartbeats.isLive(b)).toBe(false);
    t.peers.get(a)!.up = false;
    await t.clock.advance(SETTINGS.downAfterMs);
    expect(t.heartbeats.isLive(a)).toBe(true); // heard at 0, silent for exactly downAfterMs
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.heartbeats.isLive(a)).toBe(false);
    expect(t.heartbeats.downSinceMs(a, t.clock.nowMs())).toBe(SETTINGS.downAfterMs);
    t.peers.get(a)!.up = true;
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.heartbeats.isLive(a)).toBe(true);
    t.heartbeats.stop();
  });

  it("a peer that is not up yet while the cluster starts is no warning; one never heard from for downAfterMs is, once", async () => {
    const lines: { level: string; event: string }[] = [];
    const log: Log = {
      debug: (event) => lines.push({ level: "debug", event }),
      info: (event) => lines.push({ level: "info", event }),
      warn: (event) => lines.push({ level: "warn", event }),
      error: (event) => lines.push({ level: "error", event }),
    };
    const t = setUp(mapOf(newNodes(4), 4, 3), log);
    const [a, b] = [...t.peers.keys()] as [NodeId, NodeId];
    t.peers.get(a)!.up = false; // starts a moment later
    t.peers.get(b)!.up = false; // never starts
    t.heartbeats.start();
    await settle();
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    t.peers.get(a)!.up = true;
    for (let i = 0; i < 6; i++) await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    const warnings = lines.filter((l) => l.level === "warn" || l.level === "error").map((l) => l.event);
    expect(warnings).toEqual(["node.unreachable"]); // b only, once, after downAfterMs / heartbeatIntervalMs failures
    expect(lines.filter((l) => l.event === "node.not-yet-reachable")).toHaveLength(2); // a and b, at debug
    t.heartbeats.stop();
  });

  it("the first round is done once every active peer answered or failed three times in a row", async () => {
    const t = setUp(mapOf(newNodes(3), 4, 3));
    const [, b] = [...t.peers.keys()] as [NodeId, NodeId];
    t.peers.get(b)!.up = false;
    t.heartbeats.start();
    await settle();
    expect(t.heartbeats.firstRoundDone()).toBe(false);
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.heartbeats.firstRoundDone()).toBe(false);
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.heartbeats.firstRoundDone()).toBe(true);
    t.heartbeats.stop();
  });

  it("a peer's newer map is fetched, adopted, persisted and opens a transition; retirement waits for every node's synced epoch", async () => {
    const base = mapOf(newNodes(3), 4, 3);
    const t = setUp(base);
    const joined = mustJoin(base, { id: nodeId("node-new"), address: "127.0.0.1:7999", zone: base.nodes[0]!.zone, weight: 1 });
    const next = new Membership(joined);
    const [a] = [...t.peers.keys()] as [NodeId];
    t.peers.get(a)!.report = { epoch: next.epoch, mapHash: next.hash };
    t.peers.get(a)!.map = joined;
    t.heartbeats.start();
    await settle();
    expect(t.sent).toContain(`get-map ${a}`);
    expect(t.maps).toEqual([joined]);
    expect(t.membership.epoch).toBe(joined.epoch);
    expect(t.membership.inTransition).toBe(true);
    expect(t.views).toHaveLength(1);
    // The new node is watched from now on; the transition stays open until every active node reports synced.
    const newcomer = nodeId("node-new");
    t.peers.set(newcomer, { up: true, report: { epoch: next.epoch, mapHash: next.hash }, map: joined });
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.sent).toContain(`heartbeat ${newcomer}`);
    expect(t.membership.inTransition).toBe(true);
    for (const peer of t.peers.values()) peer.report = { epoch: next.epoch, mapHash: next.hash, syncedEpoch: next.epoch };
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.membership.inTransition).toBe(true); // this node itself has not synced yet
    t.setSynced(next.epoch);
    await t.clock.advance(SETTINGS.heartbeatIntervalMs);
    expect(t.membership.inTransition).toBe(false);
    expect(t.views).toHaveLength(2);
    expect(t.views[1]!.previous).toBeUndefined();
    t.heartbeats.stop();
  });

  it("an inbound heartbeat makes its sender live and its newer map is fetched", async () => {
    const base = mapOf(newNodes(3), 4, 3);
    const t = setUp(base);
    const [a] = [...t.peers.keys()] as [NodeId];
    for (const peer of t.peers.values()) peer.up = false;
    t.heartbeats.start();
    await settle();
    expect(t.heartbeats.isLive(a)).toBe(false);
    const joined = mustJoin(base, { id: nodeId("node-new"), address: "127.0.0.1:7999", zone: base.nodes[0]!.zone, weight: 1 });
    const next = new Membership(joined);
    t.peers.get(a)!.up = true;
    t.peers.get(a)!.map = joined;
    t.heartbeats.onHeartbeat(a, { epoch: next.epoch, mapHash: next.hash });
    await settle();
    expect(t.heartbeats.isLive(a)).toBe(true);
    expect(t.membership.epoch).toBe(joined.epoch);
    t.heartbeats.stop();
  });
});
