import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real clusters on fixed loopback port ranges; files run in parallel
    // processes (vitest: cores - 1 of them), each file picks its own ports. Two at a time on a 2-core machine
    // was tried: no faster (915 s against 872 s, CPU-bound) and timing-sensitive checks failed.
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: ["test/**/*.test.ts"],
          // The fault suite needs root and network namespaces and runs on its own: npm run test:faults.
          exclude: ["test/faults/**", "test/sim/scenarios.test.ts", "**/node_modules/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The scenario sweep (every scenario over 100 CI seeds on a pool of one simulator process per core) runs
        // after the rest, alone, so that it does not compete with the cluster tests for CPU (218 s alone against
        // 524 s beside them). `npm run test:sim` runs only this.
        extends: true,
        test: {
          name: "sim-sweep",
          include: ["test/sim/scenarios.test.ts"],
          testTimeout: 600_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
