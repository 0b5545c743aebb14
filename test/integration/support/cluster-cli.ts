// `ringstore cluster …` as an operator runs it against a test cluster: its map and secret files.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ringstoreCommand } from "../../../runtime/launcher/processes.ts";
import type { TestCluster } from "./cluster.ts";

export function clusterCli(cluster: Pick<TestCluster, "dataDir">, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const files = ["--cluster-map", join(cluster.dataDir, "cluster-map.json")];
  const secret = args[0] === "status" ? [] : ["--secret-file", join(cluster.dataDir, "cluster-secret")];
  const [command, ...rest] = ringstoreCommand(["cluster", ...args, ...files, ...secret]);
  const run = spawnSync(command!, rest, { encoding: "utf8", timeout: 150_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
