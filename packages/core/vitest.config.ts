import { defineConfig } from "vitest/config";

// Core has no driver and no I/O of its own: its unit tests run in Node with fake error objects.
export default defineConfig({ test: { include: ["test/**/*.test.ts"] } });
