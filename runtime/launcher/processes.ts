// Child processes of a local cluster: how each role is started, and how its restart command reads.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const cliPath = join(repoRoot, "runtime", "cli.ts");

/**
 * node --import tsx runtime/cli.ts …: one process, no tsx wrapper process in between. Extra Node flags for
 * every process (a heap limit, --cpu-prof for profiling) come from RINGSTORE_NODE_ARGS.
 */
export function ringstoreCommand(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.RINGSTORE_NODE_ARGS ?? "").split(/\s+/).filter((a) => a.length > 0);
  return [process.execPath, ...extra, "--import", "tsx", cliPath, ...args];
}

export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

export interface Started {
  readonly child: ChildProcess;
  readonly command: string[];
  readonly logPath: string;
}

/**
 * Starts a child with its stdout and stderr appended to a log file (JSON lines from our processes). Each start
 * first appends one marker line, in the processes' own JSON format, so that the runs in a file can be told apart.
 */
export function startChild(command: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env): Started {
  mkdirSync(dirname(logPath), { recursive: true });
  const out = createWriteStream(logPath, { flags: "a" });
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  out.write(`${startMarkerLine(child.pid, command)}\n`);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.once("exit", () => setTimeout(() => out.end(), 50));
  return { child, command: [...command], logPath };
}

/** The line that opens each run in a log file: level info, the launcher's event, the pid and the command. */
export function startMarkerLine(pid: number | undefined, command: readonly string[]): string {
  return JSON.stringify({ level: 30, time: new Date().toISOString(), role: "launcher", event: "launcher.process-started", pid: pid ?? null, command: shellQuote(command) });
}

export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
