// Loading a scenario program and the logic it runs, by path and name, for the CLI and the workers.
// Guarantees: a scenario module's default export (or its `scenario` export) is returned, checked for shape.

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logic } from "./logic.ts";
import type { Scenario } from "./scenario.ts";

export async function loadScenario(path: string): Promise<Scenario> {
  const url = pathToFileURL(isAbsolute(path) ? path : resolve(process.cwd(), path)).href;
  const mod = (await import(url)) as { default?: Scenario; scenario?: Scenario };
  const scenario = mod.default ?? mod.scenario;
  if (!scenario || typeof scenario.faults !== "function" || typeof scenario.name !== "string") throw new Error(`${path} does not export a scenario (default export from defineScenario)`);
  return scenario;
}

export type LogicName = "core" | "naive";

export async function loadLogic(name: LogicName): Promise<Logic> {
  if (name === "naive") return (await import("./naive-node.ts")).naiveLogic;
  return (await import("./core-logic.ts")).coreLogic;
}
