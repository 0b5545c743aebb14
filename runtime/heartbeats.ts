// The heartbeat loop every process runs: ask every node of the map how it is, feed the failure detector
// and map gossip, fetch and adopt a newer map when a peer has one.
// Guarantees: at most one heartbeat per node in flight; a node that answers is live in this process's view
// at once; a newer map is adopted (and written to `onMap`) only after it validates; every change of a node's
// liveness in this view is logged once (down: warn, up again: info), so an operator sees what a process saw.
import type { ClusterMap } from "../core/cluster-map.ts";
import type { NodeId } from "../core/ids.ts";
import type { Membership, PeerReport } from "../core/membership.ts";
import type { Log, Transport } from "../core/ports.ts";
import type { PeerLiveness } from "./liveness.ts";

export interface HeartbeatOptions<Body> {
  readonly self: string;
  readonly transport: Transport<Body>;
  readonly membership: Membership;
  readonly liveness: PeerLiveness;
  readonly log: Log;
  readonly intervalMs: number;
  /** Called after a newer map was adopted (to persist it). */
  readonly onMap?: (map: ClusterMap) => void;
  /** What a storage node reports about itself (synced epoch, foreign holdings); a router reports its map only. */
  readonly ownReport?: () => PeerReport;
  /** Called once per heartbeat round, before the heartbeats go out. */
  readonly onBeat?: () => void;
}

export interface HeartbeatLoop {
  /** Nodes that have answered at least once since start. */
  readonly everHeard: ReadonlySet<NodeId>;
  /**
   * True once every active node has answered a heartbeat, or failed FIRST_ROUND_FAILURES in a row: one failed
   * heartbeat (a start-up hiccup under load) does not count a node out, and a dead node delays health by a
   * few seconds only.
   */
  firstRoundDone(): boolean;
  stop(): void;
}

/** Consecutive failed heartbeats after which a node that never answered no longer holds up the first round. */
const FIRST_ROUND_FAILURES = 3;

export function startHeartbeats<Body>(options: HeartbeatOptions<Body>): HeartbeatLoop {
  const inFlight = new Set<NodeId>();
  const everHeard = new Set<NodeId>();
  const settledOnce = new Set<NodeId>();
  const failuresInARow = new Map<NodeId, number>();
  /** One more failed heartbeat in a row; returns how many. */
  const failedOnce = (node: NodeId): number => {
    const failures = (failuresInARow.get(node) ?? 0) + 1;
    failuresInARow.set(node, failures);
    if (failures >= FIRST_ROUND_FAILURES) settledOnce.add(node);
    return failures;
  };
  let fetching = false;
  const seenDown = new Set<NodeId>();
  const noteLiveness = (node: NodeId) => {
    const live = options.liveness.isLive(node);
    if (!live && !seenDown.has(node)) {
      seenDown.add(node);
      options.log.warn("node.down", { node, silentMs: Math.round(options.liveness.silentMs(node)) });
    } else if (live && seenDown.delete(node)) {
      options.log.info("node.up", { node });
    }
  };
  const beat = () => {
    const { membership } = options;
    options.onBeat?.();
    for (const node of membership.map.nodes) {
      if (node.state === "active" && node.id !== options.self) noteLiveness(node.id);
      if (node.state !== "active" || node.id === options.self || inFlight.has(node.id)) continue;
      inFlight.add(node.id);
      const report: PeerReport = options.ownReport?.() ?? { epoch: membership.epoch, mapHash: membership.hash };
      void options.transport
        .send(node.id, { kind: "heartbeat", from: options.self as NodeId, ...report })
        .then(async (answer) => {
          if (!answer.ok) {
            // Once per node that has never answered: after that, node.down says the rest.
            if (failedOnce(node.id) === 1 && !everHeard.has(node.id)) options.log.warn("node.unreachable", { node: node.id, failure: `${answer.error.kind}: ${answer.error.detail}` });
            return;
          }
          failuresInARow.set(node.id, 0);
          settledOnce.add(node.id);
          options.liveness.heard(node.id);
          noteLiveness(node.id);
          everHeard.add(node.id);
          const effect = membership.observe(node.id, answer.value);
          if (effect && !fetching) {
            fetching = true;
            try {
              const got = await options.transport.send(effect.from, { kind: "get-map" });
              if (got.ok) {
                const adopted = membership.adopt(got.value.map);
                if (adopted.ok && adopted.value !== "ignored-not-newer") options.onMap?.(got.value.map);
                if (!adopted.ok) options.log.error("membership.bad-map", { from: effect.from, cause: adopted.error });
              }
            } finally {
              fetching = false;
            }
          }
          membership.retireIfComplete();
        })
        .catch((error: unknown) => {
          options.log.error("heartbeat.failed", { node: node.id, cause: String(error) });
          failedOnce(node.id);
        })
        .finally(() => {
          inFlight.delete(node.id);
        });
    }
  };
  beat();
  const timer = setInterval(beat, options.intervalMs);
  timer.unref();
  const firstRoundDone = () => options.membership.map.nodes.every((n) => n.state !== "active" || n.id === options.self || settledOnce.has(n.id));
  return { everHeard, firstRoundDone, stop: () => clearInterval(timer) };
}
