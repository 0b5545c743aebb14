// Tests that need a system program skip with a printed reason when it is missing, and fail under CI=true.
import { spawnSync } from "node:child_process";

export function hasProgram(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/** True when the test may run; prints why it is skipped otherwise; throws under CI=true. */
export function requireProgram(name: string, forWhat: string): boolean {
  if (hasProgram(name)) return true;
  const reason = `${name} is not installed: skipping ${forWhat} (apt-get install ${name === "aws" ? "awscli" : name})`;
  if (process.env.CI === "true") throw new Error(`CI=true and ${reason}`);
  console.warn(`SKIP: ${reason}`);
  return false;
}
