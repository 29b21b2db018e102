import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

// The same suites on Postgres.js 4 (`vitest.config.ts` runs them on 3.4.x).
export default defineAdapterTestConfig({
  main: "./test/worker.ts",
  globalSetup: "./test/global-setup.ts",
  handlerKinds: true,
  postgresJs: 4,
});
