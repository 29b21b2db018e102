import { defineConfig } from "vitest/config";

// The test infrastructure's own tests: plain Node, no database, no workerd.
export default defineConfig({ test: { include: ["test/**/*.test.ts"] } });
