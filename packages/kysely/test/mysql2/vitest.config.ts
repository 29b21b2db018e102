import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/mysql2/worker.ts",
  globalSetup: "./test/mysql2/global-setup.ts",
  include: ["test/mysql2/*.test.ts"],
});
