// The simulator's command line.
//   npx tsx sim/cli.ts scenarios/node-failure.ts --seed 42            one seed: verdict, figures, trace hash
//   npx tsx sim/cli.ts scenarios/node-failure.ts --seeds 1..500       many seeds on all cores, report written
//   options: --trace out.txt (full trace of one seed), --bug <planted bug>, --profile full|ci,
//            --workers N, --logic core|naive, --trace-messages, --report-dir reports/sim, --quiet; --help lists them
// Exit status: 0 when every seed passed, 1 when one failed, 2 on a usage error.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { integer } from "../runtime/cli-options.ts";
import type { PlantedBugs } from "../core/planted-bugs.ts";
import { plantedBugNames } from "../core/planted-bugs.ts";
import { type LogicName, loadLogic, loadScenario } from "./load-scenario.ts";
import { defaultWorkerCount, runPool, type SeedSummary } from "./pool.ts";
import { replayCommand, summaryTable, writeReport } from "./report.ts";
import { runSeed } from "./run.ts";
import { type ProfileName, withProfile } from "./scenario.ts";

export interface CliOptions {
  scenarioPath: string;
  seed?: number;
  seeds?: number[];
  seedsLabel?: string;
  trace?: string;
  traceMessages: boolean;
  bug?: string;
  profile: ProfileName;
  workers: number;
  logic: LogicName;
  reportDir: string;
  quiet: boolean;
}

/** The most seeds one command runs: a seed list is built in memory before the first seed starts. */
export const seedCountMax = 10_000_000;
/** Each worker is a Node process; more than this is a typo, not a machine. */
export const workerCountMax = 1_024;

/** `--seeds`: a range `A..B`, a count `N` (seeds 1..N), or a list `1,2,3`. */
export function parseSeeds(text: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (to < from || to - from >= seedCountMax || !Number.isSafeInteger(to)) throw new InvalidArgumentError(`bad seed range ${text}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  if (/^\d+$/.test(text)) {
    const count = Number(text);
    if (count < 1 || count > seedCountMax) throw new InvalidArgumentError(`bad seed count ${text}: must be in 1..${seedCountMax}`);
    return Array.from({ length: count }, (_, i) => i + 1);
  }
  return text.split(",").map((s) => {
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new InvalidArgumentError(`bad seed ${s}`);
    return Number(s);
  });
}

// Options that sim/soak.ts shares; fresh objects each time, because commander keeps parsed values on them.
export const profileOption = (): Option => new Option("--profile <name>", "scenario size; ci is the smaller one").choices(["full", "ci"] satisfies ProfileName[]).default("full");
export const workersOption = (): Option =>
  new Option("--workers <count>", "worker processes for many seeds").argParser(integer("--workers", 1, workerCountMax)).default(defaultWorkerCount(), "one per core");
export const reportDirOption = (): Option => new Option("--report-dir <dir>", "where reports are written").default("reports/sim");

/**
 * A commander program that never exits the process and prints no errors itself: a usage error or --help
 * comes back as a thrown CommanderError, which exitStatusOfUsageError turns into the exit status.
 */
export function usageProgram(name: string, description: string): Command {
  return new Command(name).description(description).exitOverride().configureOutput({ outputError: () => {} });
}

/** Prints a usage error as one line to stderr and returns 2; --help, already printed by commander, returns 0. */
export function exitStatusOfUsageError(error: unknown): number {
  if (error instanceof CommanderError && error.code === "commander.helpDisplayed") return 0;
  const message = error instanceof Error ? error.message : String(error);
  console.error(message.replace(/\n/g, " ")); // commander puts "(Did you mean --seed?)" on a line of its own
  return 2;
}

function simProgram(): Command {
  return usageProgram("sim", "Run a scenario in the deterministic simulator: one seed in detail, or many seeds on all cores.")
    .argument("<scenario>", "the scenario file, e.g. scenarios/node-failure.ts")
    .option("--seed <seed>", "run one seed: verdict, figures, trace hash (default: 1 when --seeds is not given)", integer("--seed", 0, Number.MAX_SAFE_INTEGER))
    .option("--seeds <seeds>", "run many seeds and write a report: A..B, a count N (seeds 1..N), or a list 1,2,3", (text: string) => ({ label: text, seeds: parseSeeds(text) }))
    .option("--trace <file>", "write the full trace of the one seed to this file")
    .option("--trace-messages", "put every message sent into the trace")
    .addOption(new Option("--bug <name>", "turn on one planted bug").choices(plantedBugNames))
    .addOption(profileOption())
    .addOption(workersOption())
    .addOption(new Option("--logic <name>", "the node logic under test").choices(["core", "naive"] satisfies LogicName[]).default("core"))
    .addOption(reportDirOption())
    .option("--quiet", "no progress lines while many seeds run");
}

/** Throws a CommanderError on a usage error (and on --help, after printing the help). */
export function parseArgs(argv: readonly string[]): CliOptions {
  const program = simProgram().parse(argv, { from: "user" });
  const o = program.opts<{
    seed?: number;
    seeds?: { label: string; seeds: number[] };
    trace?: string;
    traceMessages?: true;
    bug?: string;
    profile: ProfileName;
    workers: number;
    logic: LogicName;
    reportDir: string;
    quiet?: true;
  }>();
  return {
    scenarioPath: program.args[0]!,
    seed: o.seed ?? (o.seeds === undefined ? 1 : undefined),
    seeds: o.seeds?.seeds,
    seedsLabel: o.seeds?.label,
    trace: o.trace,
    traceMessages: o.traceMessages === true,
    bug: o.bug,
    profile: o.profile,
    workers: o.workers,
    logic: o.logic,
    reportDir: o.reportDir,
    quiet: o.quiet === true,
  };
}

const bugsOf = (bug: string | undefined): PlantedBugs => (bug ? ({ [bug]: true } as PlantedBugs) : {});

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function formatFigures(s: Pick<SeedSummary, "figures" | "traceHash">): string {
  const f = s.figures;
  return [
    `  writes acknowledged      ${f.writesAcknowledged} (refused: ${f.writesFailed}, of which deletes acked: ${f.deletesAcknowledged})`,
    ...(f.writesDestroyedByFaults > 0 ? [`  acknowledged writes whose every copy the faults destroyed  ${f.writesDestroyedByFaults}`] : []),
    `  reads checked            ${f.readsChecked} (unavailable: ${f.readsFailed})`,
    `  faults injected          ${f.faultsInjected}`,
    `  simulated time           ${sec(f.simulatedMs)}`,
    `  full replication after the last fault  ${f.fullReplicationAfterFaultsMs === null ? "never" : sec(f.fullReplicationAfterFaultsMs)}`,
    `  events                   ${f.events} in ${f.wallMs.toFixed(0)} ms wall = ${f.eventsPerSecond} simulated events/s`,
    `  trace hash               ${s.traceHash} (${f.traceLines} lines)`,
  ].join("\n");
}

async function runOne(o: CliOptions): Promise<number> {
  const scenario = withProfile(await loadScenario(o.scenarioPath), o.profile);
  const logic = await loadLogic(o.logic);
  const seed = o.seed!;
  const result = await runSeed(scenario, seed, { logic, bugs: bugsOf(o.bug), keepTrace: o.trace !== undefined, traceMessages: o.traceMessages });
  console.log(`${scenario.name} seed ${seed}${o.bug ? ` (planted bug ${o.bug})` : ""}: ${result.ok ? "PASS" : "FAIL"}`);
  console.log(formatFigures(result));
  if (o.trace !== undefined) {
    mkdirSync(dirname(o.trace), { recursive: true });
    writeFileSync(o.trace, `${(result.traceAll ?? []).join("\n")}\n`);
    console.log(`  full trace written to ${o.trace}`);
  }
  if (!result.ok) {
    console.log("\nviolations:");
    for (const v of result.violations.slice(0, 10)) console.log(`  at ${sec(v.atMs)} key ${v.key}: ${v.what}`);
    console.log("\ntrace tail:");
    for (const line of result.traceTail.slice(-60)) console.log(`  ${line}`);
    console.log(`\nreplay: ${replayCommand(o.scenarioPath, seed, o.bug, o.profile)}`);
    return 1;
  }
  return 0;
}

async function runMany(o: CliOptions): Promise<number> {
  const seeds = o.seeds!;
  const scenarioPath = o.scenarioPath;
  const base = await loadScenario(scenarioPath);
  const started = performance.now();
  let done = 0;
  const summaries = await runPool({
    scenarioPath,
    seeds,
    logic: o.logic,
    bugs: bugsOf(o.bug),
    profile: o.profile,
    workers: o.workers,
    onResult: (s) => {
      done += 1;
      if (!s.ok) console.log(`FAIL ${s.scenario} seed ${s.seed}: ${s.violations[0]?.what.split("\n")[0] ?? "?"}  (replay: ${replayCommand(scenarioPath, s.seed, o.bug, o.profile)})`);
      else if (!o.quiet && done % 50 === 0) console.log(`  ... ${done}/${seeds.length} seeds`);
    },
  });
  const wallMs = performance.now() - started;
  const failed = summaries.filter((s) => !s.ok);
  console.log(`\n${base.name}: ${summaries.length} seeds, ${failed.length} failed, ${sec(wallMs)} wall on ${Math.min(o.workers, seeds.length)} workers`);
  console.log(summaryTable(summaries));
  const path = writeReport(o.reportDir, scenarioPath, summaries, { wallMs, workers: Math.min(o.workers, seeds.length), seedsLabel: o.seedsLabel ?? String(seeds.length), ...(o.bug ? { bug: o.bug } : {}), description: base.description, profile: o.profile });
  console.log(`report: ${path}`);
  return failed.length > 0 ? 1 : 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    return exitStatusOfUsageError(error);
  }
  return options.seeds !== undefined ? runMany(options) : runOne(options);
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.ts$/.test(process.argv[1]);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
