// `ringstore up` (npm start): a whole local cluster on 127.0.0.1 with one command.
// Guarantees: every process it starts is stopped on Ctrl-C or SIGTERM; cluster.json lists every process
// with its role, id, port, pid and the command that restarts it; the endpoint is printed only once it
// answers /-/health through the same path clients will use.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ClusterMap, createClusterMap } from "../../core/cluster-map.ts";
import { nodeId, zoneId } from "../../core/ids.ts";
import { loadOrCreateCredentials, loadOrCreateMetricsToken, loadOrCreateSecret, readClusterMap, writeClusterMap, writeFileAtomic } from "../cluster-files.ts";
import { checkHaproxyConfig, findHaproxy, haproxyConfig } from "./haproxy.ts";
import { type Started, ringstoreCommand, shellQuote, startChild, stopChild } from "./processes.ts";
import { PARENT_PID_ENV } from "../parent-watch.ts";
import { waitForHealthy } from "./health.ts";
import { portsInUse } from "./ports.ts";

export interface UpOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly nodes: number;
  readonly routers: number;
  readonly internalBasePort: number;
  readonly partitionBits: number;
  readonly replicas: number;
  readonly host: string;
  readonly haproxy: boolean;
  /** Domains for virtual-hosted style, handed to every router (default: the router's own). */
  readonly domains?: readonly string[];
}

export interface ProcessRecord {
  readonly role: "node" | "router" | "haproxy";
  readonly id: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** The command that restarts it, for a shell, and as an argument vector. */
  readonly restart: string;
  readonly command: readonly string[];
  readonly log: string;
}

export interface RunningCluster {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly processes: readonly ProcessRecord[];
  readonly frontedBy: "haproxy" | "router";
  /** HAProxy's stats page and Prometheus exporter, on 127.0.0.1 (with HAProxy only). */
  readonly haproxyStats?: { readonly page: string; readonly metrics: string };
  /** Opens the routers' status page in a browser (it carries the operator token: treat it like a password). */
  readonly statusPage: string;
  stop(): Promise<void>;
}

/** The map of a cluster started here before, or a new one for `nodes` nodes on consecutive ports. */
function loadOrCreateMap(path: string, options: UpOptions): ClusterMap {
  if (existsSync(path)) return readClusterMap(path);
  const map = createClusterMap({
    partitionBits: options.partitionBits,
    replicas: options.replicas,
    nodes: Array.from({ length: options.nodes }, (_, i) => ({
      id: nodeId(`node-${i + 1}`),
      address: `${options.host}:${options.internalBasePort + i}`,
      zone: zoneId("local"),
    })),
  });
  writeClusterMap(path, map);
  return map;
}

export async function startCluster(options: UpOptions): Promise<RunningCluster> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const mapPath = join(dataDir, "cluster-map.json");
  const secretPath = join(dataDir, "cluster-secret");
  const newCluster = !existsSync(mapPath);
  const map = loadOrCreateMap(mapPath, options);
  loadOrCreateSecret(secretPath);
  const credentials = loadOrCreateCredentials(dataDir);
  // Made before any router starts, so that routers started together all read the same token.
  const operatorToken = loadOrCreateMetricsToken(dataDir);
  const credentialsEnv = { ...process.env, RINGSTORE_ACCESS_KEY: credentials.accessKeyId, RINGSTORE_SECRET_KEY: credentials.secretAccessKey };

  let stopping = false;
  const started: { record: Omit<ProcessRecord, "pid" | "command">; process: Started }[] = [];
  const stopAll = async () => {
    stopping = true;
    await Promise.all(started.map((s) => stopChild(s.process.child)));
  };

  const childEnv = { ...process.env, [PARENT_PID_ENV]: String(process.pid) };
  const activeNodes = map.nodes.filter((n) => n.state === "active");
  const haproxyBinary = options.haproxy ? findHaproxy() : null;
  const routerBase = options.internalBasePort + 100;
  const routerPorts = Array.from({ length: options.routers }, (_, i) => (haproxyBinary || i > 0 ? routerBase + i : options.port));
  const nodePorts = activeNodes.map((n) => Number(n.address.split(":").pop()));
  // Below the routers' ports, above any node's (at most 64 nodes from the base).
  const haproxyStatsPort = haproxyBinary ? routerBase - 1 : undefined;
  const busy = await portsInUse(options.host, [...new Set([options.port, ...nodePorts, ...routerPorts, ...(haproxyStatsPort === undefined ? [] : [haproxyStatsPort])])]);
  if (busy.length > 0) throw new Error(`port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} on ${options.host} ${busy.length > 1 ? "are" : "is"} in use (another cluster still running?)`);

  try {
    for (const node of activeNodes) {
      const port = Number(node.address.split(":").pop());
      const args = ["node", "--id", node.id, "--data-dir", join(dataDir, node.id), "--port", String(port), "--host", options.host, "--cluster-map", mapPath, "--secret-file", secretPath];
      // The restart command never says --new-cluster: a node restarted on a replaced (empty) disk must catch up.
      const command = ringstoreCommand(args);
      const firstStart = newCluster ? ringstoreCommand([...args, "--new-cluster"]) : command;
      const log = join(dataDir, "logs", `${node.id}.log`);
      started.push({ record: { role: "node", id: node.id, port, restart: shellQuote(command), log }, process: { ...startChild(firstStart, log, childEnv), command } });
    }
    routerPorts.forEach((port, i) => {
      const id = `router-${i + 1}`;
      const args = ["router", "--id", id, "--port", String(port), "--host", options.host, "--cluster-map", mapPath, "--secret-file", secretPath, "--data-dir", dataDir, ...(options.domains ?? []).flatMap((d) => ["--domain", d])];
      const command = ringstoreCommand(args);
      const log = join(dataDir, "logs", `${id}.log`);
      started.push({ record: { role: "router", id, port, restart: shellQuote(command), log }, process: startChild(command, log, { ...credentialsEnv, ...childEnv }) });
    });
    let frontedBy: "haproxy" | "router" = "router";
    if (haproxyBinary) {
      const configPath = join(dataDir, "haproxy.cfg");
      writeFileAtomic(configPath, haproxyConfig({ bindHost: options.host, bindPort: options.port, statsPort: haproxyStatsPort, routers: routerPorts.map((port, i) => ({ id: `router-${i + 1}`, host: options.host, port })) }));
      const invalid = checkHaproxyConfig(haproxyBinary, configPath);
      if (invalid) throw new Error(`haproxy rejected ${configPath}: ${invalid}`);
      const command = [haproxyBinary, "-db", "-f", configPath];
      const log = join(dataDir, "logs", "haproxy.log");
      started.push({ record: { role: "haproxy", id: "haproxy", port: options.port, restart: shellQuote(command), log }, process: startChild(command, log) });
      frontedBy = "haproxy";
    }
    for (const s of started) {
      s.process.child.once("exit", (code, signal) => {
        if (!stopping) console.error(`ringstore: ${s.record.role} ${s.record.id} exited (${signal ?? `code ${code}`}); its log: ${s.record.log}`);
      });
    }
    const endpoint = `http://${options.host}:${options.port}`;
    const nodeRecords = started.filter((s) => s.record.role === "node");
    await Promise.all(nodeRecords.map((s) => waitForHealthy(`http://${options.host}:${s.record.port}/-/health`, { timeoutMs: 60_000, exited: () => s.process.child.exitCode !== null, what: `${s.record.id} (log: ${s.record.log})` })));
    const routerRecords = started.filter((s) => s.record.role === "router");
    await Promise.all(routerRecords.map((s) => waitForHealthy(`http://${options.host}:${s.record.port}/-/health`, { timeoutMs: 60_000, exited: () => s.process.child.exitCode !== null, what: `${s.record.id} (log: ${s.record.log})` })));
    await waitForHealthy(`${endpoint}/-/health`, { timeoutMs: 30_000, exited: () => false, what: `the endpoint ${endpoint}` });

    const processes: ProcessRecord[] = started.map((s) => ({ ...s.record, command: s.process.command, pid: s.process.child.pid }));
    writeFileAtomic(join(dataDir, "cluster.json"), `${JSON.stringify({ endpoint, frontedBy, dataDir, processes }, null, 2)}\n`);
    const statsBase = haproxyStatsPort === undefined || frontedBy !== "haproxy" ? undefined : `http://127.0.0.1:${haproxyStatsPort}`;
    return {
      endpoint,
      ...(statsBase ? { haproxyStats: { page: `${statsBase}/stats`, metrics: `${statsBase}/metrics` } } : {}),
      statusPage: `${endpoint}/-/status?token=${operatorToken}`,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      processes,
      frontedBy,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
