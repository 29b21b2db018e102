import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

// The same tests on Postgres.js 4 (`vitest.config.ts` runs them on 3.4.x).
export default defineAdapterTestConfig({
  main: "./test/postgres/worker.ts",
  globalSetup: "./test/postgres/global-setup.ts",
  include: ["test/postgres/*.test.ts"],
  postgresJs: 4,
});
