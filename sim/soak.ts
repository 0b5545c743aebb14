// Long campaigns: `npm run sim:soak -- --seeds 10000 [--scenarios node-failure,chaos] [--profile full|ci]
// [--workers N] [--from S]`. Runs every scenario in scenarios/ (or the ones named) over the seeds on all cores,
// prints each failing seed with its replay command as it is found, writes reports/sim/<scenario>.md for each,
// and ends with one summary line per scenario. Exit status 1 if any seed failed, 2 on a usage error; --help lists
// the options.

import { readdirSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { integer } from "../runtime/cli-options.ts";
import { exitStatusOfUsageError, profileOption, reportDirOption, seedCountMax, usageProgram, workersOption } from "./cli.ts";
import { loadScenario } from "./load-scenario.ts";
import { runPool } from "./pool.ts";
import { replayCommand, writeReport } from "./report.ts";
import type { ProfileName } from "./scenario.ts";

export interface SoakOptions {
  seeds: number;
  from: number;
  scenarios: string[];
  profile: ProfileName;
  workers: number;
  reportDir: string;
}

function scenarioNames(text: string): string[] {
  const names = text.split(",");
  if (names.some((n) => n.trim() === "")) throw new InvalidArgumentError("--scenarios takes a comma-separated list of scenario names or paths");
  return names;
}

/** Throws a CommanderError on a usage error (and on --help, after printing the help). */
export function parse(argv: readonly string[]): SoakOptions {
  const program = usageProgram("soak", "Run every scenario (or the ones named) over many seeds on all cores, and write a report for each.")
    .option("--seeds <count>", "seeds per scenario", integer("--seeds", 1, seedCountMax), 1_000)
    .option("--from <seed>", "the first seed", integer("--from", 0, Number.MAX_SAFE_INTEGER - seedCountMax), 1)
    .option("--scenarios <names>", "comma-separated names in scenarios/ (node-failure,chaos) or paths (default: all of scenarios/)", scenarioNames)
    .addOption(profileOption())
    .addOption(workersOption())
    .addOption(reportDirOption())
    .parse(argv, { from: "user" });
  const o = program.opts<{ seeds: number; from: number; scenarios?: string[]; profile: ProfileName; workers: number; reportDir: string }>();
  const names = o.scenarios ?? readdirSync("scenarios").filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, "")).sort();
  return { seeds: o.seeds, from: o.from, scenarios: names.map((n) => (n.includes("/") ? n : `scenarios/${n}.ts`)), profile: o.profile, workers: o.workers, reportDir: o.reportDir };
}

async function main(): Promise<number> {
  let o: SoakOptions;
  try {
    o = parse(process.argv.slice(2));
  } catch (error) {
    return exitStatusOfUsageError(error);
  }
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.from + i);
  const lines: string[] = [];
  let anyFailed = false;
  console.log(`soak: ${o.scenarios.length} scenario(s) x ${o.seeds} seeds (${o.from}..${o.from + o.seeds - 1}), profile ${o.profile}, ${o.workers} workers`);
  for (const scenarioPath of o.scenarios) {
    const started = performance.now();
    let done = 0;
    const summaries = await runPool({
      scenarioPath,
      seeds,
      logic: "core",
      profile: o.profile,
      workers: o.workers,
      onResult: (s) => {
        done += 1;
        if (!s.ok) console.log(`FAIL ${s.scenario} seed ${s.seed}: ${s.violations[0]?.what.split("\n")[0] ?? "?"}\n  replay: ${replayCommand(scenarioPath, s.seed, undefined, o.profile)}`);
        if (done % 500 === 0) console.log(`  ${scenarioPath}: ${done}/${seeds.length}`);
      },
    });
    const wallMs = performance.now() - started;
    const failed = summaries.filter((s) => !s.ok);
    anyFailed ||= failed.length > 0;
    const { description } = await loadScenario(scenarioPath);
    writeReport(o.reportDir, scenarioPath, summaries, { wallMs, workers: o.workers, seedsLabel: `${o.from}..${o.from + o.seeds - 1}`, profile: o.profile, description });
    lines.push(`${scenarioPath}: ${summaries.length} seeds, ${failed.length} failed${failed.length ? ` (seeds ${failed.slice(0, 20).map((s) => s.seed).join(", ")}${failed.length > 20 ? ", ..." : ""})` : ""}, ${(wallMs / 1000).toFixed(1)} s`);
  }
  console.log(`\n${lines.join("\n")}`);
  return anyFailed ? 1 : 0;
}

// Run only as a script, so that a test can import parse.
const invokedDirectly = process.argv[1] !== undefined && /soak\.ts$/.test(process.argv[1]);
if (invokedDirectly) process.exitCode = await main();
