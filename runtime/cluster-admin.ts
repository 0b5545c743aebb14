// Operator actions on a running cluster: a node joins, a node is decommissioned or removed, and where a change stands.
// Guarantees:
//   - a change starts from the newest map any reachable node holds, never from a stale local file, and
//     makes exactly one epoch step (core/cluster-map.ts joinNode / decommissionNode);
//   - the new map is installed (a signed install-map request) on every reachable active node of the new
//     map and written to the local map file; gossip brings it to the processes it did not reach, routers too;
//   - status asks every node of the map for its health: epoch, ring transition, partitions still behind,
//     copies moved; a decommissioned node may be stopped once every node runs the new epoch with no
//     transition open; waitUntilSettled polls it until then.
// Assumes: the operator holds the cluster secret; a joining node is started (with the new map) by the
// operator, before or after the change: until it runs, its partitions are served by the others.
import type { ClusterMap } from "../core/cluster-map.ts";
import type { NodeId } from "../core/ids.ts";
import type { Result } from "../core/result.ts";
import { readClusterMap, writeClusterMap } from "./cluster-files.ts";
import { silentLog } from "./log.ts";
import { type HttpTransport, createHttpTransport } from "./transport/http-transport.ts";

const ADMIN_TIMEOUT_MS = 5_000;

export interface ChangeOutcome {
  readonly map: ClusterMap;
  readonly installedOn: readonly NodeId[];
  readonly failed: readonly { readonly node: NodeId; readonly detail: string }[];
}

function transportFor(map: () => ClusterMap, secret: string): HttpTransport {
  return createHttpTransport({ resolveAddress: (node) => map().nodes.find((n) => n.id === node)?.address, secret, timeoutMs: ADMIN_TIMEOUT_MS, log: silentLog });
}

/** Apply `change` to the cluster's newest map and hand the result to every reachable node. */
export async function changeCluster(options: { mapFile: string; secret: string; change: (map: ClusterMap) => Result<ClusterMap, string> }): Promise<ChangeOutcome> {
  const local = readClusterMap(options.mapFile);
  let newest = local;
  let target = local;
  const transport = transportFor(() => target, options.secret);
  try {
    for (const node of local.nodes.filter((n) => n.state === "active")) {
      const got = await transport.send(node.id, { kind: "get-map" });
      if (got.ok && got.value.map.epoch > newest.epoch) newest = got.value.map;
    }
    const changed = options.change(newest);
    if (!changed.ok) throw new Error(changed.error);
    target = changed.value;
    writeClusterMap(options.mapFile, target);
    const installedOn: NodeId[] = [];
    const failed: { node: NodeId; detail: string }[] = [];
    for (const node of target.nodes.filter((n) => n.state === "active" || n.removedEpoch === target.epoch)) {
      const answer = await transport.send(node.id, { kind: "install-map", map: target });
      if (answer.ok) installedOn.push(node.id);
      else failed.push({ node: node.id, detail: `${answer.error.kind}: ${answer.error.detail}` });
    }
    return { map: target, installedOn, failed };
  } finally {
    await transport.close();
  }
}

export interface NodeHealth {
  readonly epoch: number;
  readonly inTransition: boolean;
  readonly behindPartitions: number;
  /** Copies the node's repair moved since it started (absent from nodes that predate the figure). */
  readonly repair?: { readonly objectsPulled: number; readonly objectsPushed: number };
  /** The data folder's file system (absent from nodes that predate the figure). */
  readonly disk?: { readonly freeBytes: number; readonly totalBytes: number; readonly usedBytes: number };
  /** Committed versions held, tombstones left out, and their bytes. */
  readonly stored?: { readonly versions: number; readonly bytes: number };
  /** Corrupt copies waiting for a good replica. */
  readonly corruptQueueLength?: number;
}

export interface NodeStatus {
  readonly node: NodeId;
  readonly address: string;
  readonly state: "active" | "decommissioned";
  /** Null when the node did not answer. */
  readonly health: NodeHealth | null;
}

/** What is still pending, summed over the nodes: what `cluster status` shows and `--wait` waits for. */
export interface ClusterPending {
  readonly partitionsBehind: number;
  readonly nodesInTransition: number;
  readonly nodesBehindEpoch: number;
  readonly nodesNotAnswering: number;
  /** Copies pulled by repair on the answering nodes since each started. */
  readonly objectsCopied: number;
}

export function pendingOf(status: { map: ClusterMap; nodes: readonly NodeStatus[] }): ClusterPending {
  const active = status.nodes.filter((n) => n.state === "active");
  const answering = active.flatMap((n) => (n.health ? [n.health] : []));
  return {
    partitionsBehind: answering.reduce((sum, h) => sum + h.behindPartitions, 0),
    nodesInTransition: answering.filter((h) => h.inTransition).length,
    nodesBehindEpoch: answering.filter((h) => h.epoch < status.map.epoch).length,
    nodesNotAnswering: active.length - answering.length,
    objectsCopied: status.nodes.reduce((sum, n) => sum + (n.health?.repair?.objectsPulled ?? 0), 0),
  };
}

/**
 * Polls the cluster until it has settled or `timeoutMs` passed, reporting each look. The map file is re-read
 * every time, so a change made meanwhile (and gossiped back) is followed.
 */
export async function waitUntilSettled(mapFile: string, options: { timeoutMs: number; intervalMs?: number; onStatus: (status: Awaited<ReturnType<typeof clusterStatus>>, pending: ClusterPending) => void }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const status = await clusterStatus(mapFile);
    options.onStatus(status, pendingOf(status));
    if (status.settled) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
  }
}

export interface ClusterStatus {
  readonly map: ClusterMap;
  readonly nodes: NodeStatus[];
  readonly settled: boolean;
}

export async function clusterStatus(mapFile: string): Promise<ClusterStatus> {
  return clusterStatusOf(readClusterMap(mapFile));
}

/** Asks every node of `map` for its health (what `cluster status` shows, and a router's status page). */
export async function clusterStatusOf(map: ClusterMap, options: { timeoutMs?: number } = {}): Promise<ClusterStatus> {
  const nodes = await Promise.all(
    map.nodes.map(async (n): Promise<NodeStatus> => {
      try {
        const response = await fetch(`http://${n.address}/-/health`, { signal: AbortSignal.timeout(options.timeoutMs ?? ADMIN_TIMEOUT_MS) });
        const body = (await response.json()) as Omit<NodeHealth, "inTransition"> & { inTransition?: boolean };
        const health: NodeHealth = {
          epoch: body.epoch,
          inTransition: body.inTransition === true,
          behindPartitions: body.behindPartitions,
          ...(body.repair ? { repair: body.repair } : {}),
          ...(body.disk ? { disk: body.disk } : {}),
          ...(body.stored ? { stored: body.stored } : {}),
          ...(body.corruptQueueLength !== undefined ? { corruptQueueLength: body.corruptQueueLength } : {}),
        };
        return { node: n.id, address: n.address, state: n.state, health: response.ok ? health : null };
      } catch {
        return { node: n.id, address: n.address, state: n.state, health: null };
      }
    }),
  );
  // Settled: every active node answers, runs the map's epoch, has no transition open and nothing behind.
  const settled = nodes.filter((n) => n.state === "active").every((n) => n.health !== null && n.health.epoch >= map.epoch && !n.health.inTransition && n.health.behindPartitions === 0);
  return { map, nodes, settled };
}

/**
 * Is `id` still answering (its health endpoint)? `cluster remove` is for a node that will never return: one
 * that answers must be decommissioned instead, so that it hands its data over rather than being written off.
 */
export async function nodeAnswers(mapFile: string, id: NodeId, timeoutMs = 2_000): Promise<boolean> {
  const status = await clusterStatusOf(readClusterMap(mapFile), { timeoutMs });
  return status.nodes.some((n) => n.node === id && n.health !== null);
}

