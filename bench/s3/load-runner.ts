// The launcher's side of the load process (bench/s3/load-process.ts): forks it once for a run, hands it one
// job at a time over IPC, passes its progress on, and stops it.
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { Target } from "./client.ts";
import type { FromLoad, Job, JobFigures, ScaleFigures, ScaleJob, ToLoad } from "./job.ts";
import type { BenchTarget } from "./peers.ts";

export type Progress = Extract<FromLoad, { type: "progress" }>;

/** The load process: one for the whole run, one job at a time. */
export class LoadProcess {
  private readonly child: ChildProcess;
  constructor() {
    this.child = fork(join(import.meta.dirname, "load-process.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  }

  run(target: BenchTarget, job: Job, onProgress: (p: Progress) => void): Promise<JobFigures> {
    return this.ask({ type: "run", target: target.target, job }, target.name, onProgress).then((m) => {
      if (m.type !== "done") throw new Error(`the load process answered ${m.type} to a run`);
      return m.figures;
    });
  }

  scale(target: Target, job: ScaleJob, onProgress: (p: Progress) => void): Promise<ScaleFigures> {
    return this.ask({ type: "scale", target, job }, target.endpoint, onProgress).then((m) => {
      if (m.type !== "scaled") throw new Error(`the load process answered ${m.type} to a scale job`);
      return m.figures;
    });
  }

  private ask(message: ToLoad, what: string, onProgress: (p: Progress) => void): Promise<Exclude<FromLoad, Progress | { type: "failed" }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (answer: FromLoad) => {
        if (answer.type === "progress") return onProgress(answer);
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
        if (answer.type === "failed") reject(new Error(`${what}: ${answer.error}`));
        else resolve(answer);
      };
      const onExit = (code: number | null) => reject(new Error(`the load process exited (code ${code})`));
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ type: "exit" } satisfies ToLoad);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

