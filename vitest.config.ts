import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite needs root and network namespaces and runs on its own: npm run test:faults.
    // The scenario sweep runs its own pool of one simulator process per core: npm run test:sim.
    exclude: ["test/faults/**", "test/sim/scenarios.test.ts", "**/node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real clusters on fixed loopback port ranges; files run in parallel
    // processes (vitest: cores - 1 of them), each file picks its own ports. Two at a time on a 2-core machine
    // was tried: no faster (915 s against 872 s, CPU-bound) and timing-sensitive checks failed.
    pool: "forks",
  },
});
