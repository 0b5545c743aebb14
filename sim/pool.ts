// The worker pool for multi-seed runs: one child process per core (node:child_process fork with tsx), seeds
// handed out one at a time to whichever worker is free, results collected in seed order.
// Guarantees: every seed is run exactly once; a worker that dies fails its seed loudly rather than losing it;
// results are independent of the number of workers (each seed is a pure function of its inputs).
// Assumes: `node --import tsx` can run sim/worker.ts (tsx is a dependency).

import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { PlantedBugs } from "../core/planted-bugs.ts";
import type { LogicName } from "./load-scenario.ts";
import type { RunResult } from "./run.ts";
import type { ProfileName } from "./scenario.ts";

export type WorkerRequest =
  | { readonly kind: "run"; readonly scenarioPath: string; readonly logic: LogicName; readonly bugs: PlantedBugs; readonly profile: ProfileName; readonly seed: number }
  | { readonly kind: "stop" };

export type WorkerMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "result"; readonly summary: SeedSummary }
  | { readonly kind: "error"; readonly seed: number; readonly message: string };

/** What a seed sends back: everything but the full trace. */
export type SeedSummary = Omit<RunResult, "traceAll" | "requestsByKind">;

export function summarize(r: RunResult): SeedSummary {
  return { scenario: r.scenario, seed: r.seed, ok: r.ok, violations: r.violations, figures: r.figures, traceHash: r.traceHash, traceTail: r.traceTail, series: r.series, faultMarks: r.faultMarks };
}

export interface PoolOptions {
  readonly scenarioPath: string;
  readonly seeds: readonly number[];
  readonly logic: LogicName;
  readonly bugs?: PlantedBugs;
  readonly profile?: ProfileName;
  readonly workers?: number;
  /** Called as each seed finishes (in completion order). */
  readonly onResult?: (summary: SeedSummary) => void;
  /** Stop handing out seeds after the first failure. */
  readonly stopOnFailure?: boolean;
}

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));

export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

export async function runPool(options: PoolOptions): Promise<SeedSummary[]> {
  const workerCount = Math.max(1, Math.min(options.workers ?? defaultWorkerCount(), options.seeds.length));
  const results = new Map<number, SeedSummary>();
  let next = 0;
  let failed = false;
  const children: ChildProcess[] = [];

  const runOn = (child: ChildProcess): Promise<void> =>
    new Promise((resolve, reject) => {
      let running: number | undefined;
      const handOut = (): void => {
        if (next >= options.seeds.length || (failed && options.stopOnFailure)) {
          running = undefined;
          child.send({ kind: "stop" } satisfies WorkerRequest);
          return;
        }
        running = options.seeds[next++]!;
        child.send({ kind: "run", scenarioPath: options.scenarioPath, logic: options.logic, bugs: options.bugs ?? {}, profile: options.profile ?? "full", seed: running } satisfies WorkerRequest);
      };
      child.on("message", (raw) => {
        const message = raw as WorkerMessage;
        if (message.kind === "ready") return handOut();
        if (message.kind === "error") return reject(new Error(`seed ${message.seed} crashed its worker: ${message.message}`));
        results.set(message.summary.seed, message.summary);
        if (!message.summary.ok) failed = true;
        options.onResult?.(message.summary);
        handOut();
      });
      child.on("exit", (code) => {
        if (running !== undefined) reject(new Error(`worker exited (code ${code}) while running seed ${running}`));
        else resolve();
      });
      child.on("error", reject);
    });

  try {
    const lanes: Promise<void>[] = [];
    for (let i = 0; i < workerCount; i++) {
      const child = fork(workerPath, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(child);
      lanes.push(runOn(child));
    }
    await Promise.all(lanes);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
  }
  return options.seeds.filter((s) => results.has(s)).map((s) => results.get(s)!);
}
