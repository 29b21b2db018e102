import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/pg/worker.ts",
  globalSetup: "./test/pg/global-setup.ts",
  include: ["test/pg/*.test.ts"],
});
