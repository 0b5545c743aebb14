// Keeps the S3 load tool working: `npm run bench -- s3 --quick --limit` against a cluster it starts and the
// limit pipeline, then the report files must be there with figures above zero and no errors.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import type { Summary } from "../../bench/s3/figures.ts";

const BASE_PORT = 25200; // cluster 25200..25205, limit pipeline 25400..25403
const out = mkdtempSync(join(tmpdir(), "ringstore-bench-quick-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it("npm run bench -- s3 --quick --limit writes a report with every figure above zero and no errors", { timeout: 150_000 }, async () => {
  const started = performance.now();
  const { stdout } = await promisify(execFile)("npm", ["run", "--silent", "bench", "--", "s3", "--quick", "--limit", "--port", String(BASE_PORT), "--out", out], { cwd: join(import.meta.dirname, "..", ".."), maxBuffer: 16 * 1024 * 1024 });
  console.log(`bench s3 --quick took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  expect(stdout).toContain("Targets (issue 11)");
  for (const file of ["s3.md", "s3.json", "s3-throughput.svg", "s3-latency.svg"]) expect(existsSync(join(out, file)), file).toBe(true);
  const report = JSON.parse(readFileSync(join(out, "s3.json"), "utf8")) as { summaries: Summary[]; targets: { name: string }[] };
  expect(report.targets.map((t) => t.name)).toEqual(["ringstore", "limit"]);
  // Every workload at every quick size, on both targets.
  expect(report.summaries).toHaveLength(4 * 2 * 2);
  for (const s of report.summaries) {
    const what = `${s.target} ${s.job.workload} ${s.job.sizeBytes}`;
    expect(s.errors, what).toBe(0);
    expect(s.ops, what).toBeGreaterThan(0);
    expect(s.mibPerSecond, what).toBeGreaterThan(0);
    expect(s.latency.p50Ms, what).toBeGreaterThan(0);
    expect(s.latency.p999Ms, what).toBeGreaterThanOrEqual(s.latency.p50Ms);
    expect(s.clientCpuUsPerOp, what).toBeGreaterThan(0);
  }
  for (const s of report.summaries.filter((s) => s.target === "ringstore")) expect(s.routerRssMaxBytes).toBeGreaterThan(0);
  const markdown = readFileSync(join(out, "s3.md"), "utf8");
  expect(markdown).toMatch(/\| 4 KiB \| put \| 4 \| ringstore \|.*\| 0\.\d\d × \|/);
  for (const svg of ["s3-throughput.svg", "s3-latency.svg"]) expect(readFileSync(join(out, svg), "utf8")).toMatch(/^<svg[\s\S]*(<rect|<polyline)[\s\S]*<\/svg>\n$/);
});
