import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite needs root and network namespaces and runs on its own: npm run test:faults.
    exclude: ["test/faults/**", "**/node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real clusters on fixed loopback port ranges; files run in parallel
    // processes (2 cores), each file picks its own ports.
    pool: "forks",
  },
});
