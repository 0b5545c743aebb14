import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): clusters in network namespaces (test/faults/support/netns-cluster.ts).
// Files run one after another: they share the namespace names, the bridge and HAProxy's ports, and each
// cleans up what a crashed run left before it starts. Each case bounds its own time below these ceilings.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 150_000,
    pool: "forks",
    fileParallelism: false,
  },
});
