// A real local cluster for integration tests: real processes on 127.0.0.1, real files in a temp folder.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import type { ClusterMap } from "../../../core/cluster-map.ts";
import { type RunningCluster, startCluster } from "../../../runtime/launcher/up.ts";
import { silentLog } from "../../../runtime/log.ts";
import { type HttpTransport, createHttpTransport } from "../../../runtime/transport/http-transport.ts";

export interface TestCluster extends RunningCluster {
  readonly dataDir: string;
  /** The cluster map as the launcher wrote it. */
  map(): ClusterMap;
  /** A signed internal-API client, to ask storage nodes directly what they hold. Close it after use. */
  internalTransport(): HttpTransport;
  client(overrides?: Partial<ConstructorParameters<typeof S3Client>[0]>): S3Client;
  /** The process record of one node or router, as cluster.json lists it. */
  process(id: string): RunningCluster["processes"][number];
  /**
   * Stops every process and removes the data folder. Pass the suite (afterAll's argument): if anything in it
   * failed, the warnings and errors of every process log are printed first, since the folder goes with them.
   */
  cleanup(suite?: SuiteLike): Promise<void>;
}

export async function startTestCluster(options: { basePort: number; nodes?: number; routers?: number; haproxy?: boolean; replicas?: number; partitionBits?: number }): Promise<TestCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), "ringstore-it-"));
  const cluster = await startCluster({
    dataDir,
    port: options.basePort,
    nodes: options.nodes ?? 5,
    routers: options.routers ?? 2,
    internalBasePort: options.basePort + 1,
    partitionBits: options.partitionBits ?? 8,
    replicas: options.replicas ?? 3,
    host: "127.0.0.1",
    haproxy: options.haproxy ?? false,
  });
  return {
    ...cluster,
    dataDir,
    client: (overrides = {}) =>
      new S3Client({
        endpoint: cluster.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey },
        ...overrides,
      }),
    map: () => JSON.parse(readFileSync(join(dataDir, "cluster-map.json"), "utf8")) as ClusterMap,
    internalTransport: () => internalTransportOf(join(dataDir, "cluster-map.json"), join(dataDir, "cluster-secret")),
    process: (id) => {
      const found = cluster.processes.find((p) => p.id === id);
      if (!found) throw new Error(`no process ${id} in the cluster`);
      return found;
    },
    cleanup: async (suite) => {
      await cluster.stop();
      if (suite && failedIn(suite)) printLogWarnings(join(dataDir, "logs"));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A signed internal-API client for the nodes of a map file (read once), with the cluster secret in `secretFile`. */
export function internalTransportOf(mapFile: string, secretFile: string): HttpTransport {
  const map = JSON.parse(readFileSync(mapFile, "utf8")) as ClusterMap;
  return createHttpTransport({
    resolveAddress: (node) => map.nodes.find((n) => n.id === node)?.address,
    secret: readFileSync(secretFile, "utf8").trim(),
    timeoutMs: 5000,
    log: silentLog,
  });
}

/** Polls until `check` returns a truthy value, or fails with the last error after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, options: { timeoutMs: number; what: string; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown = "never true";
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${options.what}: not true within ${options.timeoutMs} ms (last: ${last instanceof Error ? last.message : String(last)})`);
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 100));
  }
}

/** Resolves once process `pid` is gone (signal 0 fails), within 15 s. */
export async function exited(pid: number): Promise<void> {
  await eventually(async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true; // no such process any more
    }
  }, { timeoutMs: 15_000, what: `process ${pid} exited` });
}

/** Resident memory of a process in bytes, from /proc. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** The part of a vitest suite (afterAll's argument) that says whether it failed. */
export interface SuiteLike {
  readonly result?: { readonly state?: string };
  readonly tasks?: readonly SuiteLike[];
}

export function failedIn(task: SuiteLike): boolean {
  return task.result?.state === "fail" || (task.tasks ?? []).some(failedIn);
}

/** A failed test's cluster logs are gone once cleanup removes them: print what a diagnosis needs (warn and above). */
export function printLogWarnings(logDir: string): void {
  if (!existsSync(logDir)) return;
  const WARN = 40;
  const LINES_PER_LOG_MAX = 40;
  for (const file of readdirSync(logDir).sort()) {
    const lines = readFileSync(join(logDir, file), "utf8")
      .split("\n")
      .filter((line) => {
        try {
          return (JSON.parse(line) as { level?: number }).level! >= WARN;
        } catch {
          return line.trim().length > 0; // not JSON: stderr of the process (a crash's stack trace), keep it
        }
      });
    if (lines.length === 0) continue;
    const shown = lines.slice(0, LINES_PER_LOG_MAX).map((l) => (l.length > 800 ? `${l.slice(0, 800)}…` : l));
    console.error(`--- ${file}: ${lines.length} warning/error lines${lines.length > shown.length ? `, first ${shown.length}` : ""}\n${shown.join("\n")}`);
  }
}
