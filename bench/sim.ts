// Simulator speed on issue 3's yardstick: one seed of node-failure at full size (5 nodes, 2,000 objects,
// 10 simulated minutes), run several times in one process; the first run includes the JIT's warm-up.
// Target (issue 3): under 0.5 s per seed on one core, 100,000 simulated events/s or more.
// The machine is shared, and its speed moves by up to 2x between minutes: the report records the load
// average before and after, and the CPU time beside the wall time, so a slow run can be told from a slow
// simulator. Compare builds only by runs made back to back.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { loadLogic, loadScenario } from "../sim/load-scenario.ts";
import { runSeed } from "../sim/run.ts";
import { withProfile } from "../sim/scenario.ts";

const SCENARIO = "scenarios/node-failure.ts";
const SEED = 42;
const RUNS = Number(process.env.SIM_BENCH_RUNS ?? 5);

export async function main(): Promise<void> {
  const logic = await loadLogic("core");
  const scenario = withProfile(await loadScenario(SCENARIO), "full");
  const loadBefore = loadavg()[0]!;
  const runs: { wallMs: number; cpuMs: number; events: number; traceHash: string; ok: boolean }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu0 = process.cpuUsage();
    const result = await runSeed(scenario, SEED, { logic });
    const cpu = process.cpuUsage(cpu0);
    runs.push({ wallMs: result.figures.wallMs, cpuMs: (cpu.user + cpu.system) / 1000, events: result.figures.events, traceHash: result.traceHash, ok: result.ok });
    console.log(`sim bench: run ${i + 1}: ${result.figures.events} events in ${result.figures.wallMs.toFixed(0)} ms wall (${Math.round(result.figures.eventsPerSecond).toLocaleString("en-US")} events/s), trace ${result.traceHash}`);
  }
  const loadAfter = loadavg()[0]!;
  if (new Set(runs.map((r) => r.traceHash)).size !== 1) throw new Error("the same seed gave different traces");
  const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const sortedWall = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  const median = sortedWall[Math.floor(sortedWall.length / 2)]!;
  const rate = (r: { events: number; wallMs: number }): string => Math.round(r.events / (r.wallMs / 1000)).toLocaleString("en-US");
  const report = [
    "# Simulator benchmark",
    "",
    `Produced by \`npm run bench -- sim\` on ${new Date().toISOString()} (Node ${process.version}, ${cpus()[0]?.model ?? "unknown cpu"}, one core; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after).`,
    "",
    `One seed (${SEED}) of \`${SCENARIO}\` at full size, ${RUNS} runs in one process; the first includes the JIT's warm-up.`,
    "Target (issue 3): under 0.5 s per seed on one core; 100,000 simulated events/s or more.",
    "",
    "| run | verdict | events | wall ms | CPU ms | events/s (wall) |",
    "|---:|---|---:|---:|---:|---:|",
    ...runs.map((r, i) => `| ${i + 1} | ${r.ok ? "pass" : "FAIL"} | ${r.events.toLocaleString("en-US")} | ${r.wallMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${rate(r)} |`),
    "",
    `Best run: ${best.wallMs.toFixed(0)} ms, ${rate(best)} events/s; median ${median.toFixed(0)} ms. Trace hash ${best.traceHash} on every run.`,
    "",
  ].join("\n");
  const dir = join(import.meta.dirname, "..", "reports", "bench");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "sim.md"), report);
  console.log(`wrote ${join("reports", "bench", "sim.md")}`);
}
