// A deployment across machines: `ringstore deploy` writes, for a list of hosts, everything each host needs to
// run its processes under systemd: the cluster map, the cluster secret, the S3 credentials and the operator
// token (once, for all hosts), one unit file per storage node and router, and HAProxy's config for the
// routers' addresses.
// Guarantees:
//   - One zone per host unless a zone is given: replicas of a partition land on different hosts where the ring
//     can place them so (core/placement.ts), so a host lost is at most one copy of anything.
//   - Units never pass --new-cluster: a unit restarts a node on whatever disk it finds, and a node on a
//     replaced (empty) disk must catch up, never claim it missed nothing. A brand-new cluster's nodes, all
//     empty, catch up from one another (nothing to copy) before they serve reads.
//   - Secrets are written with mode 0600 and belong to the processes' user once a unit starts; units name them
//     by path (EnvironmentFile, --secret-file), never inline.
//   - Writing again over an existing folder refuses, unless asked to: a second secret or map would split a cluster.
// Assumes: the install path holds this checkout with its node_modules (tsx runs the TypeScript as is).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type ClusterMap, createClusterMap } from "../core/cluster-map.ts";
import { nodeId, zoneId } from "../core/ids.ts";
import { newClusterSecret, newCredentials, newOperatorToken } from "./cluster-files.ts";
import { haproxyConfig } from "./launcher/haproxy.ts";

export interface DeployHost {
  readonly name: string;
  readonly address: string;
  readonly zone?: string;
}

export interface DeployPlan {
  readonly hosts: readonly DeployHost[];
  readonly nodesPerHost: number;
  /** Hosts that also run a router (names). */
  readonly routerHosts: readonly string[];
  readonly replicas: number;
  readonly partitionBits: number;
  /** The first node's internal port on each host; further nodes on a host take the next ports. */
  readonly nodePort: number;
  readonly routerPort: number;
  /** Where HAProxy listens for S3 clients, and its local stats port. */
  readonly haproxyBind: { readonly host: string; readonly port: number };
  readonly haproxyStatsPort: number;
  /** Paths on the hosts. */
  readonly etcDir: string;
  readonly dataRoot: string;
  readonly installDir: string;
  readonly nodeBinary: string;
  readonly user: string;
}

export interface DeployFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface Deployment {
  readonly map: ClusterMap;
  readonly files: readonly DeployFile[];
  readonly units: readonly { readonly host: string; readonly name: string; readonly role: "node" | "router"; readonly id: string }[];
}

const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** Parses `--hosts a=10.0.0.1,b=10.0.0.2[@zone]`. */
export function parseHosts(text: string): DeployHost[] {
  const hosts = text.split(",").map((entry) => {
    const match = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(entry.trim());
    if (!match) throw new Error(`--hosts: "${entry}" is not name=address or name=address@zone`);
    const [, name, address, zone] = match;
    if (!HOST_NAME.test(name!)) throw new Error(`--hosts: host name "${name}" must be lower-case letters, digits and dashes`);
    return { name: name!, address: address!, ...(zone ? { zone } : {}) };
  });
  const names = new Set(hosts.map((h) => h.name));
  if (names.size !== hosts.length) throw new Error("--hosts: every host needs its own name");
  return hosts;
}

/** The files of a deployment; pure but for the secrets it draws. */
export function planDeployment(plan: DeployPlan): Deployment {
  if (plan.hosts.length === 0) throw new Error("a deployment needs at least one host");
  if (plan.nodesPerHost < 1) throw new Error("--nodes-per-host must be at least 1");
  for (const name of plan.routerHosts) if (!plan.hosts.some((h) => h.name === name)) throw new Error(`--routers: no host named ${name}`);
  if (plan.routerHosts.length === 0) throw new Error("a deployment needs at least one router host");

  const nodes = plan.hosts.flatMap((host) =>
    Array.from({ length: plan.nodesPerHost }, (_, i) => ({ host, id: nodeId(`${host.name}-node-${i + 1}`), port: plan.nodePort + i })),
  );
  const map = createClusterMap({
    partitionBits: plan.partitionBits,
    replicas: plan.replicas,
    nodes: nodes.map((n) => ({ id: n.id, address: `${n.host.address}:${n.port}`, zone: zoneId(n.host.zone ?? n.host.name) })),
  });
  const etc = (name: string) => join(plan.etcDir, name);
  const secret = newClusterSecret();
  const credentials = newCredentials();
  const operatorToken = newOperatorToken();

  const files: DeployFile[] = [
    { path: "cluster-map.json", content: `${JSON.stringify(map, null, 2)}\n`, mode: 0o644 },
    { path: "cluster-secret", content: `${secret}\n`, mode: 0o600 },
    { path: "credentials.env", content: `RINGSTORE_ACCESS_KEY=${credentials.accessKeyId}\nRINGSTORE_SECRET_KEY=${credentials.secretAccessKey}\n`, mode: 0o600 },
    { path: "metrics-token", content: `${operatorToken}\n`, mode: 0o600 },
  ];
  const units: Deployment["units"][number][] = [];
  const common = ["--cluster-map", etc("cluster-map.json"), "--secret-file", etc("cluster-secret")];
  for (const n of nodes) {
    const name = `ringstore-node-${n.id}.service`;
    const dataDir = join(plan.dataRoot, n.id);
    const args = ["node", "--id", n.id, "--data-dir", dataDir, "--port", String(n.port), "--host", n.host.address, ...common];
    files.push({ path: join("hosts", n.host.name, name), content: unitFile(plan, `ringstore storage node ${n.id}`, args, [ownedEtc(plan), ownedFolder(plan, dataDir)]), mode: 0o644 });
    units.push({ host: n.host.name, name, role: "node", id: n.id });
  }
  const routers = plan.routerHosts.map((hostName, i) => ({ host: plan.hosts.find((h) => h.name === hostName)!, id: `router-${i + 1}` }));
  for (const r of routers) {
    const name = `ringstore-router-${r.id}.service`;
    const dataDir = join(plan.dataRoot, r.id);
    const args = ["router", "--id", r.id, "--port", String(plan.routerPort), "--host", r.host.address, ...common, "--data-dir", dataDir];
    // The router reads its operator token from its data folder: the unit puts the shared one there first.
    const pre = [ownedEtc(plan), ownedFolder(plan, dataDir), `+/usr/bin/install -o ${plan.user} -m 0600 ${etc("metrics-token")} ${join(dataDir, "metrics-token")}`];
    files.push({ path: join("hosts", r.host.name, name), content: unitFile(plan, `ringstore S3 router ${r.id}`, args, pre, etc("credentials.env")), mode: 0o644 });
    units.push({ host: r.host.name, name, role: "router", id: r.id });
  }
  files.push({
    path: "haproxy.cfg",
    content: haproxyConfig({ bindHost: plan.haproxyBind.host, bindPort: plan.haproxyBind.port, statsPort: plan.haproxyStatsPort, routers: routers.map((r) => ({ id: r.id, host: r.host.address, port: plan.routerPort })) }),
    mode: 0o644,
  });
  files.push({ path: "README.txt", content: instructions(plan, units), mode: 0o644 });
  return { map, files, units };
}

function unitFile(plan: DeployPlan, description: string, args: readonly string[], preStart: readonly string[], environmentFile?: string): string {
  const exec = [plan.nodeBinary, "--import", "tsx", join(plan.installDir, "runtime", "cli.ts"), ...args].map(systemdQuote).join(" ");
  return [
    "# Generated by `ringstore deploy`.",
    "[Unit]",
    `Description=${description}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `User=${plan.user}`,
    `WorkingDirectory=${plan.installDir}`,
    ...(environmentFile ? [`EnvironmentFile=${environmentFile}`] : []),
    ...preStart.map((command) => `ExecStartPre=${command}`),
    `ExecStart=${exec}`,
    // SIGTERM: the process finishes the requests in flight, then exits (runtime/node/main.ts shutdown).
    "KillSignal=SIGTERM",
    "TimeoutStopSec=30",
    "Restart=on-failure",
    "RestartSec=2",
    "LimitNOFILE=65536",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The map and secrets belong to the processes' user: they read the secret (mode 0600) and write every newer
 * map they adopt back to the map file, so that a restart begins from it (runtime/node/main.ts onMap).
 */
function ownedEtc(plan: DeployPlan): string {
  return `+/bin/chown -R ${plan.user} ${plan.etcDir}`;
}

/** An ExecStartPre that makes a process's data folder, owned by its user ("+": run as root, before User= applies). */
function ownedFolder(plan: DeployPlan, dir: string): string {
  return `+/usr/bin/install -d -o ${plan.user} -m 0750 ${dir}`;
}

function systemdQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function instructions(plan: DeployPlan, units: Deployment["units"]): string {
  const byHost = new Map<string, string[]>();
  for (const u of units) byHost.set(u.host, [...(byHost.get(u.host) ?? []), u.name]);
  return [
    "ringstore deployment",
    "",
    `On every host: this checkout with its node_modules at ${plan.installDir}, Node 20 at ${plan.nodeBinary}, a user ${plan.user},`,
    `and these files in ${plan.etcDir}: cluster-map.json, cluster-secret, credentials.env and metrics-token (keep the modes: 0600 for secrets).`,
    `Then copy hosts/<host>/*.service to /etc/systemd/system/ on that host and run: systemctl daemon-reload && systemctl enable --now <units>.`,
    `The new nodes catch up from one another (seconds) before they serve reads: wait until \`ringstore cluster status --cluster-map ${join(plan.etcDir, "cluster-map.json")}\` exits 0.`,
    "",
    ...[...byHost].map(([host, names]) => `${host}: ${names.join(" ")}`),
    "",
    `HAProxy (on the host clients reach): haproxy.cfg as /etc/haproxy/haproxy.cfg; S3 on ${plan.haproxyBind.host}:${plan.haproxyBind.port}, its stats on 127.0.0.1:${plan.haproxyStatsPort}.`,
    "S3 credentials: credentials.env. Status page and metrics on any router: /-/status and /-/metrics with the token in metrics-token.",
    "",
  ].join("\n");
}

/** Writes a deployment into `outDir`; refuses a folder that already holds one unless `overwrite`. */
export function writeDeployment(outDir: string, deployment: Deployment, options: { overwrite: boolean }): void {
  const root = resolve(outDir);
  if (existsSync(join(root, "cluster-secret")) && !options.overwrite) {
    throw new Error(`${root} already holds a deployment (a second secret and map would split the cluster); pass --force to write a new one`);
  }
  for (const file of deployment.files) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.mode });
    chmodSync(path, file.mode); // the mode of a file that was already there, too
  }
}
