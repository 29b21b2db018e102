import { defineConfig } from "vitest/config";

// The doctor is a Node CLI: its tests run in plain Node against real PostgreSQL and MariaDB servers the tests start.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The lint fixtures hold a test file of a fixture Worker, which is input, not a test.
    exclude: ["test/fixtures/**"],
    // Server start-up (initdb, mariadb-install-db) on a busy 2-core machine.
    hookTimeout: 180_000,
    testTimeout: 60_000,
  },
});
