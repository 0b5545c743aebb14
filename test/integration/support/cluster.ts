// A real local cluster for integration tests: real processes on 127.0.0.1, real files in a temp folder.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
  cleanup(): Promise<void>;
}

export async function startTestCluster(options: { basePort: number; nodes?: number; routers?: number; haproxy?: boolean; replicas?: number }): Promise<TestCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), "ringstore-it-"));
  const cluster = await startCluster({
    dataDir,
    port: options.basePort,
    nodes: options.nodes ?? 5,
    routers: options.routers ?? 2,
    internalBasePort: options.basePort + 1,
    partitionBits: 8,
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
    internalTransport: () => {
      const map = JSON.parse(readFileSync(join(dataDir, "cluster-map.json"), "utf8")) as ClusterMap;
      return createHttpTransport({
        resolveAddress: (node) => map.nodes.find((n) => n.id === node)?.address,
        secret: readFileSync(join(dataDir, "cluster-secret"), "utf8").trim(),
        timeoutMs: 5000,
        log: silentLog,
      });
    },
    process: (id) => {
      const found = cluster.processes.find((p) => p.id === id);
      if (!found) throw new Error(`no process ${id} in the cluster`);
      return found;
    },
    cleanup: async () => {
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

/** Resident memory of a process in bytes, from /proc. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
