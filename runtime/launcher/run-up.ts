// The foreground side of `ringstore up`: start, print how to connect, stop everything on Ctrl-C.
import { type UpOptions, startCluster } from "./up.ts";

export async function runUp(options: UpOptions): Promise<void> {
  console.log(`ringstore: starting ${options.nodes} storage nodes and ${options.routers} routers, data in ${options.dataDir} …`);
  let cluster;
  try {
    cluster = await startCluster(options);
  } catch (error) {
    console.error(`ringstore: the cluster did not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }
  const nodes = cluster.processes.filter((p) => p.role === "node").length;
  const routers = cluster.processes.filter((p) => p.role === "router");
  console.log(
    [
      "",
      `ringstore is up: ${nodes} storage nodes, ${routers.length} routers, ${cluster.frontedBy === "haproxy" ? "HAProxy in front" : "no HAProxy found: the first router serves the endpoint"}`,
      "",
      `  S3 endpoint        ${cluster.endpoint}`,
      `  access key id      ${cluster.accessKeyId}`,
      `  secret access key  ${cluster.secretAccessKey}`,
      `  region             us-east-1 (any region is accepted)`,
      "",
      "Try it with the aws cli:",
      `  export AWS_ACCESS_KEY_ID=${cluster.accessKeyId} AWS_SECRET_ACCESS_KEY=${cluster.secretAccessKey} AWS_DEFAULT_REGION=us-east-1`,
      `  aws --endpoint-url ${cluster.endpoint} s3 mb s3://videos`,
      `  aws --endpoint-url ${cluster.endpoint} s3 cp ./movie.mp4 s3://videos/movie.mp4`,
      "",
      "Watch it:",
      `  status page        ${cluster.statusPage}`,
      `  router metrics     ${cluster.endpoint}/-/metrics (Authorization: Bearer $(cat ${options.dataDir}/metrics-token))`,
      ...(cluster.haproxyStats ? [`  HAProxy stats      ${cluster.haproxyStats.page} (Prometheus: ${cluster.haproxyStats.metrics})`] : []),
      "",
      `Processes, their logs and restart commands: ${options.dataDir}/cluster.json. Ctrl-C stops the cluster.`,
    ].join("\n"),
  );
  await new Promise<void>((done) => {
    const stop = async (signal: string) => {
      console.log(`\nringstore: ${signal}: stopping every process …`);
      await cluster.stop();
      console.log("ringstore: stopped.");
      done();
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
  });
}
