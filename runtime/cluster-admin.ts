// Operator actions on a running cluster: a node joins, a node is decommissioned, and where a change stands.
// Guarantees:
//   - a change starts from the newest map any reachable node holds, never from a stale local file, and
//     makes exactly one epoch step (core/cluster-map.ts joinNode / decommissionNode);
//   - the new map is installed (a signed install-map request) on every reachable active node of the new
//     map and written to the local map file; gossip brings it to the processes it did not reach, routers too;
//   - status asks every node of the map for its health: epoch, ring transition, partitions still behind;
//     a decommissioned node may be stopped once every node runs the new epoch with no transition open.
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

export interface NodeStatus {
  readonly node: NodeId;
  readonly address: string;
  readonly state: "active" | "decommissioned";
  /** Null when the node did not answer. */
  readonly health: { readonly epoch: number; readonly inTransition: boolean; readonly behindPartitions: number } | null;
}

export async function clusterStatus(mapFile: string): Promise<{ map: ClusterMap; nodes: NodeStatus[]; settled: boolean }> {
  const map = readClusterMap(mapFile);
  const nodes = await Promise.all(
    map.nodes.map(async (n): Promise<NodeStatus> => {
      try {
        const response = await fetch(`http://${n.address}/-/health`, { signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS) });
        const body = (await response.json()) as { epoch: number; inTransition?: boolean; behindPartitions: number };
        return { node: n.id, address: n.address, state: n.state, health: response.ok ? { epoch: body.epoch, inTransition: body.inTransition === true, behindPartitions: body.behindPartitions } : null };
      } catch {
        return { node: n.id, address: n.address, state: n.state, health: null };
      }
    }),
  );
  // Settled: every active node answers, runs the map's epoch, has no transition open and nothing behind.
  const settled = nodes.filter((n) => n.state === "active").every((n) => n.health !== null && n.health.epoch >= map.epoch && !n.health.inTransition && n.health.behindPartitions === 0);
  return { map, nodes, settled };
}
