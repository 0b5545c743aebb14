// Jepsen-style (issue 10 item 9a): several S3 clients write and read for RUN_MS through HAProxy while a nemesis
// SIGKILLs and restarts storage nodes, SIGSTOPs them, and cuts them off the network, symmetric (veth down,
// nftables drop both ways) and one-way (nobody reaches the node / the node reaches nobody), one node at a
// time. Then every fault is undone, and once `cluster status` says settled: no acknowledged write is lost,
// every key's newest copy sits on all N of its primaries, and the share of refused requests is printed.
// The seed (FAULTS_SEED, else the clock) decides the nemesis and the workload; it is printed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import seedrandom from "seedrandom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../integration/support/cluster.ts";
import { type Cut, type NetnsCluster, namespacesAvailable, startWithBucket } from "./support/netns-cluster.ts";
import { checkFinal, percent, refusalSummary, startWorkload } from "./support/workload.ts";

/** How long the clients write and read under faults (the issue asks for 60 s; CI's time limit allows it). */
const RUN_MS = 60_000;
const FAULT_HOLD_MS = [2_000, 6_000] as const;
const FAULT_GAP_MS = [1_500, 3_500] as const;
const SETTLE_TIMEOUT_MS = 150_000;
const BUCKET = "jepsen";

type Fault = "kill" | "pause" | Cut;
/** Every kind comes up once per round, in a shuffled order, so a run of 60 s sees each of them. */
const FAULTS: readonly Fault[] = ["kill", "link", "inbound", "pause", "both", "outbound", "kill"];

const runnable = namespacesAvailable("the jepsen-style fault case");
const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const rng = seedrandom(String(seed));
const between = ([low, high]: readonly [number, number]) => low + Math.floor(rng() * (high - low));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

let cluster: NetnsCluster;
let s3: S3Client;

describe.runIf(runnable)("jepsen-style: writes and reads while nodes die, hang and are cut off", () => {
  beforeAll(async () => {
    ({ cluster, s3 } = await startWithBucket({ nodes: 5, routers: 2 }, BUCKET));
  });

  afterAll(async ({}, suite) => {
    s3?.destroy();
    await cluster?.stop(suite);
  });

  it("loses no acknowledged write, and every object ends with N copies on its primaries", async () => {
    const haproxyLog = join(cluster.dir, "logs", "haproxy.log");
    const haproxyLogStart = readFileSync(haproxyLog, "utf8").length; // lines before the run are the start-up's
    const workload = startWorkload({ s3, bucket: BUCKET, clients: 4, keysPerClient: 12, durationMs: RUN_MS, bodyBytes: (r) => 1024 + Math.floor(r() * 48 * 1024), rng });
    const applied: string[] = [];
    const deadline = Date.now() + RUN_MS - FAULT_HOLD_MS[1];
    for (let round = 0; Date.now() < deadline; round++) {
      const order = [...FAULTS].sort(() => rng() - 0.5);
      for (const fault of order) {
        if (Date.now() >= deadline) break;
        const victim = cluster.nodes[Math.floor(rng() * cluster.nodes.length)]!;
        const hold = between(FAULT_HOLD_MS);
        applied.push(`${fault} ${victim} ${hold} ms`);
        if (fault === "kill") await cluster.kill(victim);
        else if (fault === "pause") cluster.pause(victim);
        else cluster.cut(victim, fault);
        await sleep(hold);
        if (fault === "kill") cluster.restart(victim);
        else if (fault === "pause") cluster.resume(victim);
        else cluster.heal(victim);
        await sleep(between(FAULT_GAP_MS));
      }
    }
    await workload.done;
    const settledMs = await cluster.waitSettled(SETTLE_TIMEOUT_MS);
    const final = await checkFinal(s3, BUCKET, workload.attempts);
    const copiesStarted = Date.now();
    let short: string[] = [];
    await eventually(async () => (short = await cluster.keysShortOfCopies(BUCKET, final.etags)).length === 0, { timeoutMs: 90_000, what: "every key's newest version on all its primaries", intervalMs: 2000 }).catch(() => undefined);
    const f = workload.figures;
    const acked = [...workload.attempts.values()].flat().filter((a) => a.acked).length;
    console.log(
      `faults jepsen: seed ${seed}, ${RUN_MS / 1000} s, ${applied.length} faults; ` +
        `PUT ${f.putsTotal} (${acked} acknowledged, refused ${percent(f.putsRefused, f.putsTotal)}), GET ${f.getsTotal} (refused ${percent(f.getsRefused, f.getsTotal)}); ` +
        `refusals: ${refusalSummary(f.refusals)}; stale reads ${f.staleReads.length}; lost ${final.lost.length}, unreadable ${final.unreadable.length} of ${final.etags.size + final.unreadable.length + final.lost.length} keys; ` +
        `settled ${(settledMs / 1000).toFixed(1)} s after the run, N copies on primaries ${short.length === 0 ? `${((Date.now() - copiesStarted) / 1000).toFixed(1)} s later` : `missing for ${short.length} keys`}`,
    );
    console.log(`faults jepsen: nemesis ${applied.join("; ")}`);
    // Why requests were refused by HAProxy itself ("503 Unknown": no router in service), if any were.
    const haproxyDowns = readFileSync(haproxyLog, "utf8").slice(haproxyLogStart).split("\n").filter((l) => / is DOWN/.test(l));
    const unhealthy = cluster.routers.flatMap((r) => readFileSync(cluster.logOf(r), "utf8").split("\n").filter((l) => l.includes('"router.unhealthy"')).map((l) => `${r}: ${l.slice(0, 300)}`));
    if (haproxyDowns.length + unhealthy.length > 0) console.log(`faults jepsen: routers out of service: ${[...haproxyDowns.slice(0, 6), ...unhealthy.slice(0, 6)].join(" | ")}`);
    if (f.staleReads.length > 0) console.log(`faults jepsen: stale reads: ${f.staleReads.slice(0, 10).join("; ")}`);
    expect(final.lost, "acknowledged writes lost").toEqual([]);
    expect(final.unreadable, "keys unreadable after the cluster settled").toEqual([]);
    expect(short, "keys without their newest version on every primary").toEqual([]);
    expect(f.staleReads, "reads older than an acknowledged write").toEqual([]);
    expect(acked).toBeGreaterThan(f.putsTotal / 4); // a run that acknowledged almost nothing proves nothing
  }, RUN_MS + SETTLE_TIMEOUT_MS + 120_000);
});
