import { defineConfig } from "vitest/config";

// The simulator's own parts (statement analysis, cache, pool, CLI) and the drivers from Node, against a real server.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
