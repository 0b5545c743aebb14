// Router health on real processes (issue 10, item 6): a join takes no router out of the load balancer. The
// operator runs `cluster join`, the routers adopt the new map at once, and the new node starts a little later:
// in between, the routers have not heard from a node of their map, which used to turn their health to 503.
import { spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ringstoreCommand, startChild, stopChild } from "../../runtime/launcher/processes.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";

const BASE_PORT = 24500;
const NEW_NODE_PORT = BASE_PORT + 50;

let cluster: TestCluster;
const started: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: BASE_PORT, nodes: 3, routers: 1 });
});

afterAll(async ({}, suite) => {
  await Promise.all(started.map((child) => stopChild(child)));
  await cluster?.cleanup(suite);
});

function admin(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const files = ["--cluster-map", join(cluster.dataDir, "cluster-map.json"), "--secret-file", join(cluster.dataDir, "cluster-secret")];
  const [command, ...rest] = ringstoreCommand(["cluster", ...args, ...files]);
  const run = spawnSync(command!, rest, { encoding: "utf8", timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("router health", () => {
  it("stays 200 through a join, before and after the new node first answers", async () => {
    const statuses: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        statuses.push((await fetch(`${cluster.endpoint}/-/health`)).status);
        await new Promise((done) => setTimeout(done, 100));
      }
    })();
    const joined = admin(["join", "--id", "node-4", "--address", `127.0.0.1:${NEW_NODE_PORT}`]);
    expect(joined.stderr).toBe("");
    // The router adopts epoch 2 by gossip within a heartbeat or two; the new node is not running yet.
    const routerLog = join(cluster.dataDir, "logs", "router-1.log");
    const adopted = () => readFileSync(routerLog, "utf8").split("\n").some((line) => line.includes("membership.adopted") && line.includes('"epoch":2'));
    await eventually(async () => adopted(), { timeoutMs: 10_000, what: "the router adopts epoch 2" });
    await new Promise((done) => setTimeout(done, 3000)); // the window in which health used to drop
    const args = ["node", "--id", "node-4", "--data-dir", join(cluster.dataDir, "node-4"), "--port", String(NEW_NODE_PORT), "--host", "127.0.0.1", "--cluster-map", join(cluster.dataDir, "cluster-map.json"), "--secret-file", join(cluster.dataDir, "cluster-secret")];
    started.push(startChild(ringstoreCommand(args), join(cluster.dataDir, "logs", "node-4.log")).child);
    await new Promise((done) => setTimeout(done, 3000));
    polling = false;
    await poll;
    const refused = statuses.filter((s) => s !== 200).length;
    console.log(`router health during a join: ${refused} of ${statuses.length} checks answered other than 200`);
    expect(refused).toBe(0);
    expect(readFileSync(routerLog, "utf8")).not.toContain("router.unhealthy");
  }, 60_000);

  it("turns 503 when it can no longer write most partitions, and logs why", async () => {
    process.kill(cluster.process("node-1").pid!, "SIGKILL");
    process.kill(cluster.process("node-2").pid!, "SIGKILL");
    const started = Date.now();
    await eventually(async () => (await fetch(`${cluster.endpoint}/-/health`)).status === 503, { timeoutMs: 15_000, what: "health 503 with two of four nodes gone" });
    // The router's log reaches its file through the launcher's pipe, a moment after the answer it explains.
    const line = await eventually(async () => readFileSync(join(cluster.dataDir, "logs", "router-1.log"), "utf8").split("\n").find((l) => l.includes("router.unhealthy")), { timeoutMs: 5_000, what: "router-1 logs why it is unhealthy" });
    console.log(`router health: 503 ${Date.now() - started} ms after two kills; ${line}`);
    expect(line).toMatch(/"reason":"\d+ of 256 partitions have 2 live primaries.*2 of 4 nodes live"/);
  }, 30_000);
});
