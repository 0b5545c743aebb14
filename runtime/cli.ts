// The ringstore command line.
//   ringstore up       a local cluster (what `npm start` runs)
//   ringstore node     one storage node process
//   ringstore router   one S3 router process
import { Command, InvalidArgumentError } from "commander";

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

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
  .action(async (options) => {
    const { runRouter } = await import("./router/main.ts");
    await runRouter(options);
  });

await program.parseAsync(process.argv);
