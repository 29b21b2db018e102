import { defineAdapterTestConfig } from "@hyperdrive-kit/testing/vitest-config";

export default defineAdapterTestConfig({
  main: "./test/mysql/worker.ts",
  globalSetup: "./test/mysql/global-setup.ts",
  include: ["test/mysql/*.test.ts"],
});
