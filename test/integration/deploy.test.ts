// A deployment across machines (`ringstore deploy`), with loopback addresses standing in for three hosts
// (127.0.0.1, .2, .3): every process is started from its generated systemd unit as systemd would (its
// ExecStartPre lines, EnvironmentFile and ExecStart), HAProxy from the generated config; S3 works through
// HAProxy, every partition's copies sit on three different hosts, and a host lost (its node and router
// killed) leaves every object readable.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterMap } from "../../core/cluster-map.ts";
import { primariesOf } from "../../core/placement.ts";
import { buildRing } from "../../core/ring.ts";
import type { PartitionId } from "../../core/ids.ts";
import { cliPath } from "../../runtime/launcher/processes.ts";
import { eventually } from "./support/cluster.ts";
import { runProgram } from "./support/run-program.ts";
import { type Unit, environmentOf, readUnit, runPreStart } from "./support/deploy-units.ts";
import { requireProgram } from "./support/system-programs.ts";

const NODE_PORT = 27600;
const ROUTER_PORT = 27610;
const HAPROXY_PORT = 27650;
const STATS_PORT = 27699;
const HOSTS = [
  { name: "east", address: "127.0.0.1" },
  { name: "west", address: "127.0.0.2" },
  { name: "north", address: "127.0.0.3" },
];

const runnable = requireProgram("haproxy", "the deployment test's load balancer");
const verifiable = requireProgram("systemd-analyze", "checking the generated unit files");
let dir: string;
const children: { name: string; child: ChildProcess }[] = [];

function start(unit: Unit): void {
  runPreStart(unit);
  const log = createWriteStream(join(dir, "logs", `${unit.name}.log`), { flags: "a" });
  const child = spawn(unit.exec[0]!, unit.exec.slice(1), { cwd: unit.workingDirectory, env: { ...process.env, ...environmentOf(unit.environmentFile) }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  children.push({ name: unit.name, child });
}

let s3: S3Client;
let map: ClusterMap;
let units: Unit[];

describe.runIf(runnable)("ringstore deploy: three hosts under systemd units", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ringstore-deploy-"));
    spawnSync("mkdir", ["-p", join(dir, "logs")]);
    const out = join(dir, "deployment");
    const user = process.env.USER ?? "root";
    const args = [
      "--import", "tsx", cliPath, "deploy",
      "--hosts", HOSTS.map((h) => `${h.name}=${h.address}`).join(","),
      "--out", out, "--etc-dir", out, "--data-root", join(dir, "data"),
      "--partition-bits", "6", "--node-port", String(NODE_PORT), "--router-port", String(ROUTER_PORT),
      "--routers", "east,west",
      "--haproxy-bind", `127.0.0.1:${HAPROXY_PORT}`, "--haproxy-stats-port", String(STATS_PORT), "--user", user,
    ];
    const ran = await runProgram(process.execPath, args, { timeoutMs: 60_000 });
    expect(ran.status, ran.stderr).toBe(0);
    // Writing again over it refuses: a second secret would split the cluster.
    const again = await runProgram(process.execPath, args, { timeoutMs: 60_000 });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("already holds a deployment");

    map = JSON.parse(readFileSync(join(out, "cluster-map.json"), "utf8")) as ClusterMap;
    units = HOSTS.flatMap((h) => readdirSync(join(out, "hosts", h.name)).map((f) => readUnit(h.name, join(out, "hosts", h.name, f))));
    for (const unit of units) start(unit);
    const haproxy = spawn("haproxy", ["-db", "-f", join(out, "haproxy.cfg")], { stdio: ["ignore", "pipe", "pipe"] });
    haproxy.stderr!.pipe(createWriteStream(join(dir, "logs", "haproxy.log")));
    children.push({ name: "haproxy", child: haproxy });
    const credentials = environmentOf(join(out, "credentials.env"));
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${HAPROXY_PORT}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: credentials.RINGSTORE_ACCESS_KEY!, secretAccessKey: credentials.RINGSTORE_SECRET_KEY! },
    });
    // A brand-new cluster's nodes all start empty and catch up from one another before they serve reads: the
    // operator waits for `cluster status` to exit 0, as README.txt says.
    await eventually(async () => (await fetch(`http://127.0.0.1:${HAPROXY_PORT}/-/health`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, what: "a router healthy behind HAProxy" });
    await eventually(async () => (await runProgram(process.execPath, ["--import", "tsx", cliPath, "cluster", "status", "--cluster-map", join(out, "cluster-map.json")], { timeoutMs: 30_000 })).status === 0, { timeoutMs: 90_000, what: "cluster status: settled", intervalMs: 1000 });
  }, 150_000);

  afterAll(async () => {
    s3?.destroy();
    for (const { child } of children) if (child.exitCode === null) child.kill("SIGTERM");
    await new Promise((done) => setTimeout(done, 500));
    for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("writes one unit per process, secrets readable only by their owner, one zone per host", () => {
    expect(units.map((u) => `${u.host}/${u.name}`).sort()).toEqual([
      "east/ringstore-node-east-node-1.service",
      "east/ringstore-router-router-1.service",
      "north/ringstore-node-north-node-1.service",
      "west/ringstore-node-west-node-1.service",
      "west/ringstore-router-router-2.service",
    ]);
    for (const secret of ["cluster-secret", "credentials.env", "metrics-token"]) expect(statSync(join(dir, "deployment", secret)).mode & 0o777).toBe(0o600);
    for (const unit of units) {
      expect(unit.exec.join(" ")).not.toContain("--new-cluster"); // a restart on a replaced disk must catch up
      expect(unit.exec.join(" ")).not.toMatch(/RINGSTORE_SECRET_KEY|[A-Za-z0-9_-]{40,}/); // secrets by path only
    }
    if (verifiable) {
      // systemd's own check of each unit: no warning (it exits 0 even for an unparsable line, so read what it says).
      const unitPaths = HOSTS.flatMap((h) => readdirSync(join(dir, "deployment", "hosts", h.name)).map((f) => join(dir, "deployment", "hosts", h.name, f)));
      const verified = spawnSync("systemd-analyze", ["verify", ...unitPaths], { encoding: "utf8", timeout: 30_000 });
      expect(verified.status, verified.stderr).toBe(0);
      expect(verified.stderr.trim()).toBe("");
    }
    expect(new Set(map.nodes.map((n) => n.zone)).size).toBe(3);
    const ring = buildRing(map);
    const hostOf = (id: string) => map.nodes.find((n) => n.id === id)!.address.split(":")[0];
    for (let p = 0; p < 2 ** map.partitionBits; p++) expect(new Set(primariesOf(ring, p as PartitionId).map(hostOf)).size).toBe(3);
  });

  it("serves S3 through HAProxy, and every object stays readable when a host is lost", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "deployed" }));
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 12; i++) {
      const body = randomBytes(i === 0 ? 3 * 1024 * 1024 : 10_000 + i);
      bodies.set(`clip-${i}.mp4`, body);
      await s3.send(new PutObjectCommand({ Bucket: "deployed", Key: `clip-${i}.mp4`, Body: body }));
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "deployed" }));
    expect(listed.Contents?.map((c) => c.Key).sort()).toEqual([...bodies.keys()].sort());
    // The host "east" goes away: its node and its router.
    for (const { name, child } of children) if (name.includes("east")) child.kill("SIGKILL");
    for (const [key, body] of bodies) {
      const got = await eventually(
        async () => {
          const answer = await s3.send(new GetObjectCommand({ Bucket: "deployed", Key: key })).catch(() => undefined);
          return answer ? Buffer.from(await answer.Body!.transformToByteArray()) : undefined;
        },
        { timeoutMs: 30_000, what: `${key} read after east is lost` },
      );
      expect(got.equals(body)).toBe(true);
    }
  });
});
