// Long campaigns: `npm run sim:soak -- --seeds 10000 [--scenarios node-failure,chaos] [--profile full|ci]
// [--workers N] [--from S]`. Runs every scenario in scenarios/ (or the ones named) over the seeds on all cores,
// prints each failing seed with its replay command as it is found, writes reports/sim/<scenario>.md for each,
// and ends with one summary line per scenario. Exit status 1 if any seed failed.

import { readdirSync } from "node:fs";
import { loadScenario } from "./load-scenario.ts";
import { defaultWorkerCount, runPool } from "./pool.ts";
import { replayCommand, writeReport } from "./report.ts";
import type { ProfileName } from "./scenario.ts";

function parse(argv: readonly string[]): { seeds: number; from: number; scenarios: string[]; profile: ProfileName; workers: number; reportDir: string } {
  let seeds = 1_000;
  let from = 1;
  let scenarios: string[] | undefined;
  let profile: ProfileName = "full";
  let workers = defaultWorkerCount();
  let reportDir = "reports/sim";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--seeds") seeds = Number(value());
    else if (arg === "--from") from = Number(value());
    else if (arg === "--scenarios") scenarios = value().split(",");
    else if (arg === "--profile") profile = value() === "ci" ? "ci" : "full";
    else if (arg === "--workers") workers = Math.max(1, Number(value()));
    else if (arg === "--report-dir") reportDir = value();
    else throw new Error(`unknown option ${arg}`);
  }
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error("--seeds must be a positive integer");
  const names = scenarios ?? readdirSync("scenarios").filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, "")).sort();
  return { seeds, from, scenarios: names.map((n) => (n.includes("/") ? n : `scenarios/${n}.ts`)), profile, workers, reportDir };
}

async function main(): Promise<number> {
  let o: ReturnType<typeof parse>;
  try {
    o = parse(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
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

process.exitCode = await main();
