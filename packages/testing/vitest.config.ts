import { defineConfig } from "vitest/config";

// The test infrastructure's own tests: plain Node, no database, no workerd.
// Generous timeouts: the proxy moves 16 MB through delays, and the suite must pass with both cores busy.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 60_000 } });
