// The endpoints a run measures: the subject (a local ringstore cluster, or --endpoint), peers (--vs swift)
// and the limit pipeline (--limit). Each comes with what stops it, when this run started it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { startCluster } from "../../runtime/launcher/up.ts";
import { startLimitPipeline } from "../limit/pipeline.ts";
import type { Target } from "./client.ts";

export type TargetRole = "subject" | "peer" | "limit";

export interface BenchTarget {
  readonly name: string;
  readonly role: TargetRole;
  readonly target: Target;
  /** Router processes whose resident memory is sampled during every job (empty when not ours). */
  readonly routerPids: readonly number[];
  /** A line for the report: what it is and how it ran. */
  readonly description: string;
  stop(): Promise<void>;
}

export const SWIFT_DIR = "/work/shared/swift";
export const SWIFT_ENDPOINT = "http://127.0.0.1:8080";

export interface ClusterShape {
  readonly nodes: number;
  readonly replicas: number;
  readonly partitionBits: number;
}
export const DEFAULT_CLUSTER: ClusterShape = { nodes: 5, replicas: 3, partitionBits: 10 };

/** The default local cluster, as `npm start` runs it but with one router and no HAProxy, data in a temp folder. */
export async function startLocalRingstore(port: number, bucket: string, region: string): Promise<BenchTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), "ringstore-bench-"));
  try {
    const cluster = await startCluster({ dataDir, port, internalBasePort: port + 1, nodes: DEFAULT_CLUSTER.nodes, routers: 1, partitionBits: DEFAULT_CLUSTER.partitionBits, replicas: DEFAULT_CLUSTER.replicas, host: "127.0.0.1", haproxy: false });
    return {
      name: "ringstore",
      role: "subject",
      target: { endpoint: cluster.endpoint, bucket, credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey, region } },
      routerPids: cluster.processes.filter((p) => p.role === "router" && p.pid !== undefined).map((p) => p.pid!),
      description: `ringstore, started by the bench: ${DEFAULT_CLUSTER.nodes} storage nodes, 1 router (no HAProxy), N=${DEFAULT_CLUSTER.replicas} W=2 R=2, 2^${DEFAULT_CLUSTER.partitionBits} partitions, fsync on every write, data under ${tmpdir()}`,
      stop: async () => {
        await cluster.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

export function externalEndpoint(endpoint: string, accessKeyId: string, secretAccessKey: string, bucket: string, region: string): BenchTarget {
  return {
    name: new URL(endpoint).host,
    role: "subject",
    target: { endpoint, bucket, credentials: { accessKeyId, secretAccessKey, region } },
    routerPids: [],
    description: `the S3 endpoint ${endpoint} (not started by the bench)`,
    stop: async () => {},
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Runs a shell script with its output on our stderr, without blocking the event loop (a cluster starts meanwhile). */
function runScript(path: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { stdio: ["ignore", process.stderr, process.stderr] });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
}

/** OpenStack Swift from /work/shared/swift: used as it is when it answers, else started and stopped after. */
export async function swiftPeer(bucket: string): Promise<BenchTarget> {
  const info = `${SWIFT_ENDPOINT}/info`;
  let startedHere = false;
  if (!(await answers(info))) {
    const up = join(SWIFT_DIR, "up.sh");
    if (!existsSync(up)) throw new Error(`Swift does not answer on ${SWIFT_ENDPOINT} and ${up} is missing`);
    console.error(`starting Swift with ${up} …`);
    const status = await runScript(up);
    if (status !== 0) throw new Error(`${up} failed (exit ${status})`);
    startedHere = true;
    const deadline = Date.now() + 60_000;
    while (!(await answers(info))) {
      if (Date.now() > deadline) throw new Error(`Swift started but ${info} does not answer after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const version = await fetch(info).then((r) => r.json() as Promise<{ swift?: { version?: string } }>).then((j) => j.swift?.version ?? "?", () => "?");
  return {
    name: "swift",
    role: "peer",
    target: { endpoint: SWIFT_ENDPOINT, bucket, credentials: { accessKeyId: "test:tester", secretAccessKey: "testing", region: "us-east-1" } },
    routerPids: [],
    description: `OpenStack Swift ${version} (${SWIFT_DIR}/up.sh: proxy with s3api on ${SWIFT_ENDPOINT}, 4 object servers, 3 replicas)${startedHere ? ", started and stopped by the bench" : ", already running"}`,
    stop: async () => {
      if (startedHere) await runScript(join(SWIFT_DIR, "down.sh"));
    },
  };
}

export async function limitTarget(port: number, bucket: string): Promise<BenchTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), "ringstore-bench-limit-"));
  const pipeline = await startLimitPipeline(port, dataDir);
  return {
    name: "limit",
    role: "limit",
    target: { endpoint: pipeline.endpoint, bucket, credentials: { accessKeyId: "limit", secretAccessKey: "limit", region: "us-east-1" } },
    routerPids: [],
    description: "the limit pipeline (bench/limit/): plain Node, client → 1 forwarding process → 3 processes that each write, fsync and rename a file (PUT answered when all 3 have it); GET: 1 process reads the file → forwarder → client; same disk as the cluster",
    stop: async () => {
      await pipeline.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resident memory of a process in bytes (VmRSS in /proc/<pid>/status), undefined when it is gone. */
export function residentBytesOf(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
