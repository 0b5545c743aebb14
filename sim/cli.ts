// The simulator's command line.
//   npx tsx sim/cli.ts scenarios/node-failure.ts --seed 42            one seed: verdict, figures, trace hash
//   npx tsx sim/cli.ts scenarios/node-failure.ts --seeds 1..500       many seeds on all cores, report written
//   options: --trace out.txt (full trace of one seed), --bug <planted bug>, --profile full|ci,
//            --workers N, --logic core|naive, --trace-messages, --report-dir reports/sim
// Exit status: 0 when every seed passed, 1 when one failed, 2 on a usage error.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
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

export function parseSeeds(text: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (to < from || to - from > 10_000_000) throw new Error(`bad seed range ${text}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  if (/^\d+$/.test(text)) return Array.from({ length: Number(text) }, (_, i) => i + 1);
  return text.split(",").map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`bad seed ${s}`);
    return Number(s);
  });
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const positional: string[] = [];
  const options: CliOptions = { scenarioPath: "", traceMessages: false, profile: "full", workers: defaultWorkerCount(), logic: "core", reportDir: "reports/sim", quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "--seed":
        options.seed = Number(value());
        if (!Number.isInteger(options.seed) || options.seed < 0) throw new Error("--seed must be a non-negative integer");
        break;
      case "--seeds":
        options.seedsLabel = value();
        options.seeds = parseSeeds(options.seedsLabel);
        break;
      case "--trace":
        options.trace = value();
        break;
      case "--trace-messages":
        options.traceMessages = true;
        break;
      case "--bug": {
        const bug = value();
        if (!(plantedBugNames as readonly string[]).includes(bug)) throw new Error(`--bug must be one of ${plantedBugNames.join(", ")}`);
        options.bug = bug;
        break;
      }
      case "--profile": {
        const p = value();
        if (p !== "full" && p !== "ci") throw new Error("--profile must be full or ci");
        options.profile = p;
        break;
      }
      case "--workers":
        options.workers = Math.max(1, Number(value()));
        break;
      case "--logic": {
        const l = value();
        if (l !== "core" && l !== "naive") throw new Error("--logic must be core or naive");
        options.logic = l;
        break;
      }
      case "--report-dir":
        options.reportDir = value();
        break;
      case "--quiet":
        options.quiet = true;
        break;
      default:
        if (arg.startsWith("--")) throw new Error(`unknown option ${arg}`);
        positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new Error("usage: sim <scenario.ts> (--seed N | --seeds A..B) [--trace out.txt] [--bug name] [--profile full|ci] [--workers N]");
  options.scenarioPath = positional[0]!;
  if (options.seed === undefined && options.seeds === undefined) options.seed = 1;
  return options;
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
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  return options.seeds !== undefined ? runMany(options) : runOne(options);
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.ts$/.test(process.argv[1]);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
