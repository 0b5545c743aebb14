// What clients behind HAProxy see under load (issue 10 item 9c and 9e), on the fault suite's hosts:
// - a router SIGKILLed: the errors within HAProxy's retry window (health check every 1 s, out after 2
//   failures), and none after it;
// - a node joined, then one decommissioned (and stopped once the cluster has settled): 0 failed reads, and
//   HAProxy's stats show every router UP throughout.
import type { S3Client } from "@aws-sdk/client-s3";
import seedrandom from "seedrandom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../integration/support/cluster.ts";
import { type NetnsCluster, namespacesAvailable, startWithBucket } from "./support/netns-cluster.ts";
import { type Workload, percent, refusalSummary, startWorkload } from "./support/workload.ts";

const BUCKET = "haproxy";
/** HAProxy's health check (runtime/launcher/haproxy.ts: inter 1s fall 2) takes a router out within ~3 s. */
const RETRY_WINDOW_MS = 3_000;
const STATS_POLL_MS = 250;
const LOAD_MAX_MS = 200_000;

const runnable = namespacesAvailable("the cases behind HAProxy (router killed, join and decommission)");
let cluster: NetnsCluster;
let s3: S3Client;

/** Load from a few clients until stopped, and HAProxy's view of the routers polled meanwhile. */
function underLoad(seed: string): { workload: Workload; notUp: string[]; polls: () => number; stop: () => Promise<void> } {
  const workload = startWorkload({ s3, bucket: BUCKET, clients: 3, keysPerClient: 10, durationMs: LOAD_MAX_MS, bodyBytes: (r) => 512 + Math.floor(r() * 16 * 1024), rng: seedrandom(seed), writeShare: 0.3, keyPrefix: `${seed}/` });
  const notUp: string[] = [];
  let polls = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const states = await cluster.haproxyServerStates().catch((error: Error) => new Map([["stats", `unreadable: ${error.message}`]]));
      polls += 1;
      for (const [router, state] of states) if (!state.startsWith("UP")) notUp.push(`${router} ${state} at ${new Date().toISOString()}`);
      await new Promise((done) => setTimeout(done, STATS_POLL_MS));
    }
  })();
  return {
    workload,
    notUp,
    polls: () => polls,
    stop: async () => {
      workload.stop();
      polling = false;
      await Promise.all([workload.done, poller]);
    },
  };
}

describe.runIf(runnable)("behind HAProxy, under load", () => {
  beforeAll(async () => {
    ({ cluster, s3 } = await startWithBucket({ nodes: 4, routers: 2 }, BUCKET));
    await eventually(async () => [...(await cluster.haproxyServerStates()).values()].every((s) => s === "UP"), { timeoutMs: 20_000, what: "both routers UP in HAProxy" });
  });

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.stop(suite);
  });

  it("a router killed: errors only within HAProxy's retry window", async () => {
    const load = underLoad("router-killed");
    await new Promise((done) => setTimeout(done, 3_000));
    const victim = cluster.routers[0]!;
    const killedAt = Date.now(); // before the kill: requests it breaks fail before kill() has seen the exit
    await cluster.kill(victim);
    await eventually(async () => (await cluster.haproxyServerStates()).get(victim)?.startsWith("DOWN") === true, { timeoutMs: 10_000, what: `HAProxy marks ${victim} DOWN` });
    const downAfterMs = Date.now() - killedAt;
    await new Promise((done) => setTimeout(done, 5_000));
    await load.stop();
    const f = load.workload.figures;
    const before = f.refused.filter((r) => r.atMs < killedAt);
    const within = f.refused.filter((r) => r.atMs >= killedAt && r.atMs < killedAt + RETRY_WINDOW_MS);
    const after = f.refused.filter((r) => r.atMs >= killedAt + RETRY_WINDOW_MS);
    console.log(
      `faults router killed: ${victim} SIGKILLed under load, HAProxy DOWN after ${(downAfterMs / 1000).toFixed(1)} s; ` +
        `errors before ${before.length}, within the ${RETRY_WINDOW_MS / 1000} s retry window ${within.length} (${refusalSummary(new Map(within.map((r) => [`${r.op} ${r.name}`, within.filter((w) => w.op === r.op && w.name === r.name).length])))}), after ${after.length}; ` +
        `${f.putsTotal} PUT, ${f.getsTotal} GET in all`,
    );
    cluster.restart(victim);
    await eventually(async () => (await cluster.haproxyServerStates()).get(victim) === "UP", { timeoutMs: 30_000, what: `${victim} UP again in HAProxy` });
    expect(before).toEqual([]);
    expect(after).toEqual([]);
    expect(f.getsTotal + f.putsTotal).toBeGreaterThan(20);
  }, 90_000);

  it("a node joined and another decommissioned: 0 failed reads, every router UP in HAProxy throughout", async () => {
    const load = underLoad("membership");
    await new Promise((done) => setTimeout(done, 2_000));
    const joiner = cluster.plannedNode(cluster.nodes.length + 1);
    const started = Date.now();
    const joined = await cluster.clusterCli(["join", "--id", joiner.id, "--address", joiner.address, "--zone", joiner.id.split("-")[0]!]);
    expect(joined.status, joined.stderr).toBe(0);
    cluster.startJoiningNode(cluster.nodes.length + 1);
    const joinSettledMs = await cluster.waitSettled(120_000);
    const leaving = cluster.nodes[0]!;
    const decommissioned = await cluster.clusterCli(["decommission", "--id", leaving]);
    expect(decommissioned.status, decommissioned.stderr).toBe(0);
    const leaveSettledMs = await cluster.waitSettled(120_000);
    await cluster.kill(leaving);
    await new Promise((done) => setTimeout(done, 3_000));
    await load.stop();
    const f = load.workload.figures;
    console.log(
      `faults join and decommission: ${joiner.id} joined (settled in ${(joinSettledMs / 1000).toFixed(1)} s), ${leaving} decommissioned (settled in ${(leaveSettledMs / 1000).toFixed(1)} s) then stopped, ${((Date.now() - started) / 1000).toFixed(0)} s under load; ` +
        `GET ${f.getsTotal}, failed ${f.getsRefused}; PUT ${f.putsTotal}, refused ${f.putsRefused} (${percent(f.putsRefused, f.putsTotal)}); refusals: ${refusalSummary(f.refusals)}; stale reads ${f.staleReads.length}; ` +
        `HAProxy polls ${load.polls()}, a router not UP in ${load.notUp.length}`,
    );
    expect(load.notUp).toEqual([]);
    expect(f.getsRefused).toBe(0);
    expect(f.staleReads).toEqual([]);
    expect(f.getsTotal).toBeGreaterThan(20);
  }, 330_000);
});
