// The systemd units `ringstore deploy` writes, read and carried out as systemd would (ExecStartPre lines,
// EnvironmentFile, ExecStart), for tests that run a deployment without systemd: the deploy test on loopback
// addresses and the fault suite in network namespaces (test/faults/support/netns-cluster.ts).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Unit {
  /** The unit file's name, e.g. ringstore-node-east-node-1.service. */
  readonly name: string;
  readonly host: string;
  readonly pre: string[];
  readonly exec: string[];
  readonly environmentFile?: string;
  readonly workingDirectory: string;
}

export function readUnit(host: string, path: string): Unit {
  const lines = readFileSync(path, "utf8").split("\n");
  const values = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
  // Our units quote nothing (every argument is a plain word), so splitting on spaces is what systemd does here.
  const split = (command: string) => command.replace(/^\+/, "").split(" ");
  return {
    name: path.split("/").pop()!,
    host,
    pre: values("ExecStartPre"),
    exec: split(values("ExecStart")[0]!),
    ...(values("EnvironmentFile")[0] ? { environmentFile: values("EnvironmentFile")[0]! } : {}),
    workingDirectory: values("WorkingDirectory")[0]!,
  };
}

/** The variables of an EnvironmentFile (KEY=value lines). */
export function environmentOf(path: string | undefined): Record<string, string> {
  if (!path) return {};
  return Object.fromEntries(
    readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** Runs a unit's ExecStartPre commands in order (the "+" prefix: as root, which the tests are); throws on a failure. */
export function runPreStart(unit: Unit): void {
  for (const command of unit.pre) {
    const [program, ...args] = command.replace(/^\+/, "").split(" ");
    const ran = spawnSync(program!, args, { encoding: "utf8" });
    if (ran.status !== 0) throw new Error(`${unit.name}: ExecStartPre ${command} failed: ${ran.stderr}`);
  }
}

/** The value of `--flag` in a unit's ExecStart. */
export function execOption(unit: Unit, flag: string): string {
  const at = unit.exec.indexOf(flag);
  if (at < 0 || at + 1 >= unit.exec.length) throw new Error(`${unit.name}: no ${flag} in ExecStart`);
  return unit.exec[at + 1]!;
}
