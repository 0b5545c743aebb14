// The simulator's command lines (sim/cli.ts, sim/soak.ts), parsed in-process: a good command gives the options
// the runs use, a bad one throws the usage error that main turns into exit status 2.
import { CommanderError } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { exitStatusOfUsageError, parseArgs, parseSeeds } from "../../sim/cli.ts";
import { defaultWorkerCount } from "../../sim/pool.ts";
import { parse as parseSoak } from "../../sim/soak.ts";

const scenario = "scenarios/node-failure.ts";

/** The error a parse throws, so a test can check both its kind and its message. */
function usageErrorOf(parse: () => unknown): CommanderError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(CommanderError);
    return error as CommanderError;
  }
  throw new Error("expected a usage error, the parse succeeded");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("parseSeeds", () => {
  it("reads a range, a count and a list", () => {
    expect(parseSeeds("3..6")).toEqual([3, 4, 5, 6]);
    expect(parseSeeds("4")).toEqual([1, 2, 3, 4]);
    expect(parseSeeds("7,2,9")).toEqual([7, 2, 9]);
  });

  it.each(["6..3", "0", "1,,2", "1,x", "-3", "1..20000000", "abc"])("refuses %j", (text) => {
    expect(() => parseSeeds(text)).toThrow(CommanderError);
  });
});

describe("sim/cli.ts parseArgs", () => {
  it("defaults to seed 1 with the full profile, core logic and reports/sim", () => {
    expect(parseArgs([scenario])).toEqual({
      scenarioPath: scenario,
      seed: 1,
      traceMessages: false,
      profile: "full",
      workers: defaultWorkerCount(),
      logic: "core",
      reportDir: "reports/sim",
      quiet: false,
    });
  });

  it("reads every option, before or after the scenario", () => {
    const options = parseArgs(["--seed", "42", "--trace", "out.txt", "--trace-messages", scenario, "--bug", "skipReadChecksum", "--profile", "ci", "--workers", "3", "--logic", "naive", "--report-dir", "/tmp/r", "--quiet"]);
    expect(options).toMatchObject({ scenarioPath: scenario, seed: 42, trace: "out.txt", traceMessages: true, bug: "skipReadChecksum", profile: "ci", workers: 3, logic: "naive", reportDir: "/tmp/r", quiet: true });
    expect(options.seeds).toBeUndefined();
  });

  it("keeps the --seeds text as the report's label and leaves --seed unset", () => {
    const options = parseArgs([scenario, "--seeds", "1..500"]);
    expect(options.seeds).toHaveLength(500);
    expect(options.seedsLabel).toBe("1..500");
    expect(options.seed).toBeUndefined();
    expect(parseArgs([scenario, "--seeds", "1,2,3"]).seeds).toEqual([1, 2, 3]);
    expect(parseArgs([scenario, "--seeds=5"]).seeds).toEqual([1, 2, 3, 4, 5]);
  });

  it.each([
    [["--profile", "bogus"], /--profile/],
    [["--seed", "-1"], /--seed/],
    [["--seed", "1.5"], /--seed/],
    [["--seed"], /--seed/],
    [["--seeds", "9..2"], /seed range/],
    [["--bug", "nope"], /--bug/],
    [["--workers", "0"], /--workers/],
    [["--workers", "many"], /--workers/],
    [["--logic", "smart"], /--logic/],
    [["--sed", "3"], /unknown option '--sed'/],
    [["other.ts"], /too many arguments/],
  ])("refuses %j", (extra, message) => {
    const error = usageErrorOf(() => parseArgs([scenario, ...extra]));
    expect(error.message).toMatch(message);
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(exitStatusOfUsageError(error)).toBe(2);
  });

  it("refuses a command without a scenario", () => {
    expect(usageErrorOf(() => parseArgs(["--seed", "1"])).message).toMatch(/missing required argument 'scenario'/);
  });

  it("prints the usage for --help and exits 0", () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const error = usageErrorOf(() => parseArgs(["--help"]));
    expect(exitStatusOfUsageError(error)).toBe(0);
    expect(written.join("")).toMatch(/Usage: sim \[options\] <scenario>/);
  });
});

describe("sim/soak.ts parse", () => {
  it("defaults to 1000 seeds from 1 over every scenario in scenarios/", () => {
    const options = parseSoak([]);
    expect(options).toMatchObject({ seeds: 1_000, from: 1, profile: "full", workers: defaultWorkerCount(), reportDir: "reports/sim" });
    expect(options.scenarios).toContain(scenario);
    expect(options.scenarios.every((s) => s.startsWith("scenarios/") && s.endsWith(".ts"))).toBe(true);
  });

  it("reads every option; a name means scenarios/<name>.ts, a path stays as it is", () => {
    const options = parseSoak(["--seeds", "20", "--from", "100", "--scenarios", "node-failure,test/sim/support/x.ts", "--profile", "ci", "--workers", "2", "--report-dir", "/tmp/soak"]);
    expect(options).toEqual({ seeds: 20, from: 100, scenarios: [scenario, "test/sim/support/x.ts"], profile: "ci", workers: 2, reportDir: "/tmp/soak" });
  });

  it.each([
    [["--profile", "bogus"], /--profile/],
    [["--seeds", "0"], /--seeds/],
    [["--seeds", "ten"], /--seeds/],
    [["--from", "-1"], /--from/],
    [["--workers", "0"], /--workers/],
    [["--scenarios", "a,,b"], /--scenarios/],
    [["--seed", "3"], /unknown option '--seed'/],
    [["node-failure"], /too many arguments/],
  ])("refuses %j", (argv, message) => {
    expect(usageErrorOf(() => parseSoak(argv)).message).toMatch(message);
  });
});
