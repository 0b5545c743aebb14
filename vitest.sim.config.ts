import { defineConfig } from "vitest/config";

// The scenario sweep (`npm run test:sim`): every scenario over 100 CI seeds on a pool of one simulator
// process per core. It runs alone, after `npm test`, so it does not compete with the cluster tests for CPU.
export default defineConfig({
  test: {
    include: ["test/sim/scenarios.test.ts"],
    testTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
  },
});
