import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/postgres/worker.ts",
  globalSetup: "./test/postgres/global-setup.ts",
  include: ["test/postgres/*.test.ts"],
});
