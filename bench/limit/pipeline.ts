// The limit pipeline: what this machine allows for the same S3 load, built in plain Node so that every
// ringstore figure can be printed as a fraction of it, measured in the same run.
//   PUT: client → forwarder → 3 stores that each write, fsync and rename a file (answered when all 3 have it)
//   GET: 1 store reads the file → forwarder → client (a bare two-hop HTTP pipeline for small objects)
// It ignores authentication and answers only what the load generator asks (PUT bucket, PUT/GET object).
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { stopChild } from "../../runtime/launcher/processes.ts";

export const LIMIT_STORE_COUNT = 3;

export interface LimitPipeline {
  readonly endpoint: string;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

function started(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`${what} exited (code ${code}) before it listened`)));
  });
}

/** Starts 3 stores on basePort+1.. (files under dataDir) and the forwarder on basePort. */
export async function startLimitPipeline(basePort: number, dataDir: string): Promise<LimitPipeline> {
  const options = { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] as ("ignore" | "inherit" | "ipc")[] };
  const children: ChildProcess[] = [];
  try {
    const storePorts = Array.from({ length: LIMIT_STORE_COUNT }, (_, i) => basePort + 1 + i);
    for (const [i, port] of storePorts.entries()) {
      const child = fork(join(import.meta.dirname, "store.ts"), [String(port), join(dataDir, `store-${i + 1}`)], options);
      children.push(child);
      await started(child, `limit store ${i + 1}`);
    }
    const forwarder = fork(join(import.meta.dirname, "forwarder.ts"), [String(basePort), ...storePorts.map(String)], options);
    children.push(forwarder);
    await started(forwarder, "limit forwarder");
  } catch (error) {
    await Promise.all(children.map(stopChild));
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${basePort}`,
    pids: children.map((c) => c.pid!),
    stop: async () => {
      await Promise.all(children.map(stopChild));
    },
  };
}
