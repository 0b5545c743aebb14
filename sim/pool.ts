// The worker pool for multi-seed runs: one child process per core (node:child_process fork with tsx), seeds
// handed out one at a time to whichever worker is free, results collected in seed order. A SeedPool keeps its
// workers for many runs.
// Guarantees: every seed is run exactly once; a worker that dies fails its seed loudly rather than losing it;
// results are independent of the number of workers (each seed is a pure function of its inputs).
// Assumes: `node --import tsx` can run sim/worker.ts (tsx is a dependency).

import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { assert } from "../core/assert.ts";
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

/** One worker process: a seed at a time, its answer awaited. */
class Worker {
  private readonly child: ChildProcess;
  private readonly started: Promise<void>;
  private waiting: { resolve: (s: SeedSummary) => void; reject: (e: Error) => void; seed: number } | undefined;
  private dead: Error | undefined;

  constructor() {
    this.child = fork(workerPath, [], { execArgv: ["--import", "tsx", ...(process.env.SIM_WORKER_EXEC_ARGV ?? "").split(" ").filter(Boolean)], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let onReady!: () => void;
    this.started = new Promise((resolve) => (onReady = resolve));
    this.child.on("message", (raw) => {
      const message = raw as WorkerMessage;
      if (message.kind === "ready") return onReady();
      const waiting = this.waiting;
      this.waiting = undefined;
      if (message.kind === "error") waiting?.reject(new Error(`seed ${message.seed} crashed its worker: ${message.message}`));
      else waiting?.resolve(message.summary);
    });
    const die = (error: Error): void => {
      this.dead ??= error;
      onReady();
      this.waiting?.reject(new Error(`${error.message} while running seed ${this.waiting.seed}`));
      this.waiting = undefined;
    };
    this.child.on("exit", (code) => die(new Error(`worker exited (code ${code})`)));
    this.child.on("error", die);
  }

  async run(request: Extract<WorkerRequest, { kind: "run" }>): Promise<SeedSummary> {
    await this.started;
    if (this.dead) throw new Error(`${this.dead.message} before seed ${request.seed}`);
    assert(this.waiting === undefined, "one seed at a time per worker");
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, seed: request.seed };
      this.child.send(request);
    });
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) this.child.send({ kind: "stop" } satisfies WorkerRequest);
    else if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }
}

/**
 * Worker processes kept for many runs (of any scenarios): a test that sweeps every scenario pays each worker's
 * start (tsx compiling the tree) and its JIT warm-up once, not once per scenario.
 */
export class SeedPool {
  private readonly workers: Worker[];

  constructor(workerCount = defaultWorkerCount()) {
    this.workers = Array.from({ length: Math.max(1, workerCount) }, () => new Worker());
  }

  async run(options: Omit<PoolOptions, "workers">): Promise<SeedSummary[]> {
    const results = new Map<number, SeedSummary>();
    let next = 0;
    let failed = false;
    const lane = async (worker: Worker): Promise<void> => {
      while (next < options.seeds.length && !(failed && options.stopOnFailure)) {
        const seed = options.seeds[next++]!;
        const summary = await worker.run({ kind: "run", scenarioPath: options.scenarioPath, logic: options.logic, bugs: options.bugs ?? {}, profile: options.profile ?? "full", seed });
        results.set(seed, summary);
        if (!summary.ok) failed = true;
        options.onResult?.(summary);
      }
    };
    await Promise.all(this.workers.slice(0, Math.max(1, Math.min(this.workers.length, options.seeds.length))).map(lane));
    return options.seeds.filter((s) => results.has(s)).map((s) => results.get(s)!);
  }

  close(): void {
    for (const worker of this.workers) worker.stop();
  }
}

export async function runPool(options: PoolOptions): Promise<SeedSummary[]> {
  const pool = new SeedPool(Math.min(options.workers ?? defaultWorkerCount(), options.seeds.length));
  try {
    return await pool.run(options);
  } finally {
    pool.close();
  }
}
