// The ringstore command line.
//   ringstore up       a local cluster (what `npm start` runs)
//   ringstore node     one storage node process
//   ringstore router   one S3 router process
//   ringstore cluster  operator actions on a running cluster: join, decommission, remove, status
//   ringstore deploy   the files to run a cluster on several hosts under systemd (runtime/deploy.ts)
import { Command } from "commander";
import { dirname, join } from "node:path";
import { integer } from "./cli-options.ts";

const program = new Command("ringstore").description("A distributed, S3-compatible object store for video files.").showHelpAfterError();

program
  .command("up")
  .description("start a local cluster: storage nodes, routers and (when installed) HAProxy, on 127.0.0.1")
  .option("--data-dir <dir>", "where every process keeps its data", "./data")
  .option("--port <port>", "the S3 endpoint's port", integer("--port", 1, 65535), 9000)
  .option("--nodes <count>", "storage nodes (first start only: a restart reuses the cluster map)", integer("--nodes", 1, 64), 5)
  .option("--routers <count>", "S3 routers", integer("--routers", 1, 16), 2)
  .option("--internal-base-port <port>", "first port of the internal ports (nodes from here, routers from here + 100)", integer("--internal-base-port", 1024, 65000), 9100)
  .option("--partition-bits <bits>", "2^bits partitions (first start only)", integer("--partition-bits", 4, 16), 10)
  .option("--replicas <n>", "copies of every object (first start only)", integer("--replicas", 1, 5), 3)
  .option("--no-haproxy", "serve --port from the first router even when haproxy is installed")
  .option("--domain <name>", "a domain whose subdomains name buckets (virtual-hosted style: bucket.<name>); repeatable (default: localhost)", (value: string, all: string[] = []) => [...all, value])
  .action(async (options) => {
    const { runUp } = await import("./launcher/run-up.ts");
    await runUp({
      dataDir: options.dataDir,
      port: options.port,
      nodes: options.nodes,
      routers: options.routers,
      internalBasePort: options.internalBasePort,
      partitionBits: options.partitionBits,
      replicas: options.replicas,
      host: "127.0.0.1",
      haproxy: options.haproxy,
      ...(options.domain ? { domains: options.domain } : {}),
    });
  });

program
  .command("node")
  .description("run one storage node")
  .requiredOption("--id <id>", "this node's id in the cluster map")
  .requiredOption("--data-dir <dir>", "this node's data folder")
  .requiredOption("--port <port>", "internal API port", integer("--port", 1, 65535))
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .requiredOption("--cluster-map <file>", "the cluster map (JSON)")
  .requiredOption("--secret-file <file>", "the cluster secret")
  .option("--pretty", "readable colored log lines for a terminal (pino-pretty) instead of JSON lines")
  .option("--new-cluster", "this start creates the cluster (its first start, with an empty data folder): nothing can have been missed, so it serves reads at once")
  .action(async (options) => {
    const { runNode } = await import("./node/main.ts");
    await runNode(options);
  });

program
  .command("router")
  .description("run one S3 router")
  .requiredOption("--id <id>", "this router's id (unique among routers)")
  .requiredOption("--port <port>", "S3 port", integer("--port", 1, 65535))
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .requiredOption("--cluster-map <file>", "the cluster map (JSON)")
  .requiredOption("--secret-file <file>", "the cluster secret")
  .option("--data-dir <dir>", "where generated S3 credentials are kept when RINGSTORE_ACCESS_KEY/RINGSTORE_SECRET_KEY are not set", "./data")
  .option("--pretty", "readable colored log lines for a terminal (pino-pretty) instead of JSON lines")
  .option("--domain <name>", "a domain whose subdomains name buckets (virtual-hosted style: bucket.<name>); repeatable (default: localhost and --host when it is a name)", (value: string, all: string[] = []) => [...all, value])
  .action(async (options) => {
    const { runRouter } = await import("./router/main.ts");
    await runRouter(options);
  });

const cluster = program.command("cluster").description("operator actions on a running cluster");
const mapOption = ["--cluster-map <file>", "the cluster map (JSON); the change is written back to it", "./data/cluster-map.json"] as const;
const secretOption = ["--secret-file <file>", "the cluster secret", "./data/cluster-secret"] as const;
const waitOption = ["--wait", "then show progress until the cluster has settled (exit 0) or --timeout passes (exit 3)"] as const;
const timeoutOption = ["--timeout <seconds>", "how long --wait waits", integer("--timeout", 1, 7 * 86_400), 1800] as const;
const jsonOption = ["--json", "figures as JSON (with --wait: one line per look)"] as const;

cluster
  .command("join")
  .description("add a storage node to the ring (epoch + 1); start it with the printed command, before or after")
  .requiredOption("--id <id>", "the new node's id")
  .requiredOption("--address <host:port>", "its internal API address")
  .option("--zone <zone>", "its failure zone", "local")
  .option("--weight <n>", "its relative capacity", integer("--weight", 1, 1000), 1)
  .option("--data-dir <dir>", "the new node's data folder, for the start command printed", "")
  .option(...mapOption)
  .option(...secretOption)
  .option(...waitOption)
  .option(...timeoutOption)
  .option(...jsonOption)
  .action(async (options) => {
    const [{ changeCluster }, { joinNode }, { readSecret }, ids] = await Promise.all([import("./cluster-admin.ts"), import("../core/cluster-map.ts"), import("./cluster-files.ts"), import("../core/ids.ts")]);
    const outcome = await changeCluster({
      mapFile: options.clusterMap,
      secret: readSecret(options.secretFile),
      change: (map) => joinNode(map, { id: ids.nodeId(options.id), address: options.address, zone: ids.zoneId(options.zone), weight: options.weight }),
    });
    printChange(outcome);
    const [host, port] = [options.address.slice(0, options.address.lastIndexOf(":")), options.address.slice(options.address.lastIndexOf(":") + 1)];
    const dataDir = options.dataDir || join(dirname(options.clusterMap), options.id);
    // Quoted for a POSIX shell, so that the line runs as printed whatever the paths hold (a test runs it so).
    const { shellQuote } = await import("./launcher/processes.ts");
    const start = ["node", "--id", options.id, "--data-dir", dataDir, "--port", port, "--host", host, "--cluster-map", options.clusterMap, "--secret-file", options.secretFile];
    console.log(`start it (if not running yet): npx ringstore ${shellQuote(start)}`);
    console.log("its share of the data streams to it; `npx ringstore cluster status` shows when the cluster has settled");
    await waitIfAsked(options);
  });

/** A change that takes one node out of the ring (decommission, remove): the same options, the same map step. */
function nodeLeaving(name: string, description: string, idHelp: string): Command {
  return cluster.command(name).description(description).requiredOption("--id <id>", idHelp).option(...mapOption).option(...secretOption).option(...waitOption).option(...timeoutOption).option(...jsonOption);
}

async function takeOut(options: { clusterMap: string; secretFile: string; id: string }): Promise<void> {
  const [{ changeCluster }, { decommissionNode }, { readSecret }, ids] = await Promise.all([import("./cluster-admin.ts"), import("../core/cluster-map.ts"), import("./cluster-files.ts"), import("../core/ids.ts")]);
  printChange(await changeCluster({ mapFile: options.clusterMap, secret: readSecret(options.secretFile), change: (map) => decommissionNode(map, ids.nodeId(options.id)) }));
}

nodeLeaving("decommission", "take a storage node out of the ring (epoch + 1); its data moves to the others first", "the node to take out")
  .action(async (options) => {
    await takeOut(options);
    console.log(`keep ${options.id} running until the cluster has settled (\`npx ringstore cluster status\`, or --wait); then stop it`);
    await waitIfAsked(options);
  });

nodeLeaving("remove", "take a dead storage node out of the ring for good (epoch + 1): its partitions' new primaries copy from the copies that remain", "the node that will never return")
  .action(async (options) => {
    const [{ nodeAnswers }, ids] = await Promise.all([import("./cluster-admin.ts"), import("../core/ids.ts")]);
    if (await nodeAnswers(options.clusterMap, ids.nodeId(options.id))) {
      console.error(`${options.id} still answers: decommission it instead (\`npx ringstore cluster decommission --id ${options.id}\`), so that it hands its data over`);
      process.exitCode = 2;
      return;
    }
    // The same epoch step as a decommission: the node leaves every ring and its copies stop counting; the
    // difference is that nobody waits for it, and the new primaries catch up from the copies that remain.
    await takeOut(options);
    console.log(`${options.id} is out of the ring; its partitions are copied from the remaining replicas. Should it come back on its old disk, it drops its copies unpushed (they may be older than deletes since); to use the machine again, join it as a new node (\`npx ringstore cluster status\`, or --wait)`);
    await waitIfAsked(options);
  });

cluster
  .command("status")
  .description("every node's epoch, open ring transition and partitions still catching up; exit 0 once settled")
  .option(...mapOption)
  .option(...jsonOption)
  .action(async (options) => {
    const { clusterStatus, pendingOf } = await import("./cluster-admin.ts");
    const status = await clusterStatus(options.clusterMap);
    process.exitCode = status.settled ? 0 : 3;
    if (options.json) {
      console.log(JSON.stringify({ epoch: status.map.epoch, settled: status.settled, pending: pendingOf(status), nodes: status.nodes }, null, 2));
      return;
    }
    console.log(`map epoch ${status.map.epoch}, ${status.map.nodes.filter((n) => n.state === "active").length} active nodes`);
    for (const n of status.nodes) {
      const h = n.health;
      console.log(`  ${n.node.padEnd(12)} ${n.address.padEnd(22)} ${n.state.padEnd(15)} ${h ? `epoch ${h.epoch}${h.inTransition ? ", ring transition open" : ""}, ${h.behindPartitions} partitions behind${h.disk ? `, disk ${Math.round((100 * h.disk.usedBytes) / Math.max(1, h.disk.totalBytes))}% used` : ""}` : "no answer"}`);
    }
    const pending = pendingOf(status);
    if (!status.settled) console.log(`pending: ${pending.partitionsBehind} partitions behind, ${pending.nodesInTransition} nodes with a ring transition open, ${pending.nodesBehindEpoch} on an older epoch, ${pending.nodesNotAnswering} not answering`);
    console.log(status.settled ? "settled: every active node runs this epoch, no transition open, nothing behind" : "not settled yet");
  });


program
  .command("deploy")
  .description("write what each host needs to run the cluster under systemd: map, secret, credentials, one unit per process, HAProxy's config")
  .requiredOption("--hosts <list>", "the hosts, as name=address[@zone],… (one zone per host unless given)")
  .requiredOption("--out <dir>", "where to write the deployment")
  .option("--nodes-per-host <n>", "storage nodes on each host (one disk each)", integer("--nodes-per-host", 1, 64), 1)
  .option("--routers <names>", "hosts that also run a router (default: every host)")
  .option("--replicas <n>", "copies of every object", integer("--replicas", 1, 7), 3)
  .option("--partition-bits <n>", "2^n partitions", integer("--partition-bits", 4, 16), 10)
  .option("--node-port <port>", "the first node's internal port on each host", integer("--node-port", 1, 65535), 7100)
  .option("--router-port <port>", "each router's S3 port", integer("--router-port", 1, 65535), 8080)
  .option("--haproxy-bind <host:port>", "where HAProxy takes S3 clients", "0.0.0.0:9000")
  .option("--haproxy-stats-port <port>", "HAProxy's stats and Prometheus port on 127.0.0.1", integer("--haproxy-stats-port", 1, 65535), 9099)
  .option("--etc-dir <dir>", "where the map and secrets live on every host", "/etc/ringstore")
  .option("--data-root <dir>", "where each process's data folder lives on its host (one per node: mount its disk there)", "/var/lib/ringstore")
  .option("--install-dir <dir>", "this checkout's path on the hosts (default: here)")
  .option("--node-binary <path>", "Node 20 on the hosts (default: the one running this)")
  .option("--user <name>", "the user the processes run as", "ringstore")
  .option("--force", "write over an existing deployment (a new secret: only before the cluster first starts)")
  .action(async (options) => {
    const { parseHosts, planDeployment, writeDeployment } = await import("./deploy.ts");
    const hosts = parseHosts(options.hosts);
    const [bindHost, bindPort] = splitHostPort(options.haproxyBind);
    const deployment = planDeployment({
      hosts,
      nodesPerHost: options.nodesPerHost,
      routerHosts: options.routers ? String(options.routers).split(",") : hosts.map((h) => h.name),
      replicas: options.replicas,
      partitionBits: options.partitionBits,
      nodePort: options.nodePort,
      routerPort: options.routerPort,
      haproxyBind: { host: bindHost, port: bindPort },
      haproxyStatsPort: options.haproxyStatsPort,
      etcDir: options.etcDir,
      dataRoot: options.dataRoot,
      installDir: options.installDir ?? join(dirname(new URL(import.meta.url).pathname), ".."),
      nodeBinary: options.nodeBinary ?? process.execPath,
      user: options.user,
    });
    writeDeployment(options.out, deployment, { overwrite: options.force === true });
    console.log(`wrote a deployment of ${deployment.map.nodes.length} nodes and ${deployment.units.filter((u) => u.role === "router").length} routers on ${hosts.length} hosts to ${options.out}; see ${join(options.out, "README.txt")}`);
  });

function splitHostPort(text: string): [string, number] {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--haproxy-bind: "${text}" is not host:port`);
  return [text.slice(0, at), port];
}

async function waitIfAsked(options: { wait?: boolean; timeout: number; json?: boolean; clusterMap: string }): Promise<void> {
  if (!options.wait) return;
  const { waitWithProgress } = await import("./cluster-progress.ts");
  const settled = await waitWithProgress(options.clusterMap, { timeoutMs: options.timeout * 1000, json: options.json === true });
  if (!options.json) console.log(settled ? "settled: every active node runs the new epoch, no transition open, nothing behind" : `not settled after ${options.timeout} s`);
  if (!settled) process.exitCode = 3;
}

function printChange(outcome: { map: { epoch: number }; installedOn: readonly string[]; failed: readonly { node: string; detail: string }[] }): void {
  console.log(`map epoch ${outcome.map.epoch} installed on ${outcome.installedOn.join(", ") || "no node"}`);
  for (const f of outcome.failed) console.log(`  not reached: ${f.node} (${f.detail}); it will get the map by gossip`);
  if (outcome.installedOn.length === 0) process.exitCode = 1;
}

await program.parseAsync(process.argv);
